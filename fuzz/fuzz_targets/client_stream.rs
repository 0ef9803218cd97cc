#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vantage_client::fuzzing::client_stream(data));
