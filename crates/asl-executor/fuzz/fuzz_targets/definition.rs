//! Parsing and validating any definition text must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    asl_executor::fuzzing::parse_definition(data);
});
