#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vantage_testbed::fuzzing::nfqueue_messages(data));
