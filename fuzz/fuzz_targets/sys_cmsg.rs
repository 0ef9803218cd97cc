#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vantage_sys::fuzzing::sys_cmsg(data));
