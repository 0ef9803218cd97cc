#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| _native::fuzzing::python_text(data));
