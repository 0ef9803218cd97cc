#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vantage_warts::json::fuzzing::warts_json(data));
