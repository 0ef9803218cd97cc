#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vantage_probe::fuzz_session::probe_session(data));
