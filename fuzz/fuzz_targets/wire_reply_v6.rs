#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vantage_wire::fuzzing::wire_reply_v6(data));
