#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vantage_warts::fuzzing::warts_read(data));
