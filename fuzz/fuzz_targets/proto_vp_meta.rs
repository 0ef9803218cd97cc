#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vantage_proto::fuzzing::proto_vp_meta(data));
