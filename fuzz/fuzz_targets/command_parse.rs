#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vantage_command::fuzzing::command_parse(data));
