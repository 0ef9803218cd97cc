#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vantage_policy::fuzzing::policy_dnp(data));
