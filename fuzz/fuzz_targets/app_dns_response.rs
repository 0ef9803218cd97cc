#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vantage_app::fuzzing::app_dns_response(data));
