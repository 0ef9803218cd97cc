#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vantage_probe::fuzzing::probe_rx(data));
