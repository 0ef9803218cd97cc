#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vantage_engine::fuzzing::engine_packets(data));
