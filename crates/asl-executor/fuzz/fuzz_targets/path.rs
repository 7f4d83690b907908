//! Parsing and evaluating any JSONPath or intrinsic call, on any document, must never panic.
//! The input's first line is the expression; the rest, when it is JSON, is the document.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (expr, doc) = text.split_once('\n').unwrap_or((text, "{\"a\": [1, {\"b\": \"c\"}], \"d\": \"x,y\"}"));
    let doc = serde_json::from_str(doc).unwrap_or(serde_json::Value::Null);
    asl_executor::fuzzing::eval_path(expr, &doc);
});
