//! The JSONata engine against the reference implementation (`jsonata@2.0.6` from npm).
//!
//! `tests/jsonata/corpus.json` holds expressions on three datasets (`$states` is bound to the
//! dataset too, as the executor binds it), each with the reference's answer: a value, nothing
//! (`undefined`), or an error code. Cases marked `aws` are AWS's own functions, which the
//! reference lacks; their answers come from AWS's documentation. Where Node and the reference
//! are installed (`make setup` puts the reference in `.venv/jsonata`), the recorded answers are checked
//! against the reference itself first, so the corpus cannot drift from it.

use asl_executor::jsonata::{Expression, SystemHost};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

fn corpus() -> Value {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/jsonata/corpus.json"),
    )
    .expect("the corpus");
    serde_json::from_str(&text).expect("the corpus is JSON")
}

/// Two answers agree: the same JSON (numbers by value, keys in the same order) or the same
/// error code.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
        }
        _ => a == b,
    }
}

fn ours(expr: &str, data: Option<&Value>) -> Value {
    let bindings: Vec<(&str, &Value)> = data.map(|d| ("states", d)).into_iter().collect();
    match Expression::parse(expr).and_then(|e| e.evaluate(data, &bindings, &SystemHost)) {
        Ok(Some(v)) => json!({"value": v}),
        Ok(None) => json!({"undefined": true}),
        Err(e) => json!({"error": e.code}),
    }
}

#[test]
fn every_expression_of_the_corpus_gives_the_references_answer() {
    let corpus = corpus();
    let mut wrong = Vec::new();
    let cases = corpus["cases"].as_array().expect("cases");
    for case in cases {
        let expr = case["expr"].as_str().expect("expr");
        let data = case["data"].as_str().map(|d| &corpus["datasets"][d]);
        let got = ours(expr, data);
        if !same(&got, &case["expected"]) {
            wrong.push(format!(
                "{expr}\n    reference: {}\n    ours:      {got}",
                case["expected"]
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} expressions differ from the reference:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

#[test]
fn the_recorded_answers_are_the_references() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let module = root.join(".venv/jsonata/node_modules/jsonata");
    let node_ok = Command::new("node").arg("--version").output().is_ok();
    if !module.exists() || !node_ok {
        eprintln!(
            "skipping: the reference JSONata is not installed ({} missing or no node); `make setup` installs it",
            module.display()
        );
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/jsonata");
    let out = Command::new("node")
        .arg(dir.join("reference.js"))
        .arg(dir.join("corpus.json"))
        .env("JSONATA", &module)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let corpus = corpus();
    let answers: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let cases = corpus["cases"].as_array().expect("cases");
    assert_eq!(answers.len(), cases.len());
    for (case, answer) in cases.iter().zip(&answers) {
        if case["aws"] == json!(true) {
            continue;
        }
        assert!(
            same(answer, &case["expected"]),
            "{}: recorded {}, the reference says {answer}",
            case["expr"],
            case["expected"]
        );
    }
}

#[test]
fn no_expression_exhausts_the_stack() {
    let deep = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    let e = Expression::parse(&deep).expect_err("too deep");
    assert_eq!(e.code, "S0201");
    let recursive = "($f := function($n){ $f($n + 1) }; $f(0))";
    let e = Expression::parse(recursive)
        .and_then(|x| x.evaluate(None, &[], &SystemHost))
        .expect_err("endless recursion");
    assert_eq!(e.code, "U1001");
    // Huge numbers in pictures neither hang nor overflow.
    let e = asl_executor::jsonata::evaluate("$formatInteger(1e300, 'I')", None)
        .expect_err("too large for roman numerals");
    assert_eq!(e.code, "D3001");
    let words = asl_executor::jsonata::evaluate("$formatInteger(1e300, 'w')", None)
        .expect("words for a huge number");
    assert!(words.is_some_and(|w| w.as_str().is_some_and(|w| w.ends_with("trillion"))));
}

#[test]
fn a_time_zone_by_name_is_refused_rather_than_answered_wrongly() {
    let e = asl_executor::jsonata::evaluate("$fromMillis(0, '[Y]', 'Europe/Paris')", None)
        .expect_err("a named zone");
    assert_eq!(e.code, "U0001", "{e}");
    assert!(
        e.message
            .contains("not supported by the local executor yet"),
        "{e}"
    );
}

/// A fixed clock, as the executor's virtual one is.
struct At(chrono::DateTime<chrono::Utc>);

impl asl_executor::jsonata::Host for At {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0
    }

    fn random(&self, _: Option<f64>) -> f64 {
        0.5
    }

    fn uuid(&self) -> String {
        String::new()
    }
}

#[test]
fn what_a_picture_leaves_out_comes_from_the_hosts_clock() {
    let host = At("2026-12-04T15:30:00Z".parse().expect("a time"));
    let eval = |text: &str| {
        Expression::parse(text)
            .and_then(|e| e.evaluate(None, &[], &host))
            .expect(text)
    };
    // A time alone takes the host's date; a date alone is midnight.
    assert_eq!(
        eval("$fromMillis($toMillis('10:45', '[H01]:[m01]'))"),
        Some(json!("2026-12-04T10:45:00.000Z"))
    );
    assert_eq!(
        eval("$toMillis('11-07', '[M01]-[D01]') = $toMillis('2026-11-07')"),
        Some(json!(true))
    );
    assert_eq!(
        eval("$now('[FNn] [D1o] [MNn]', '+0100')"),
        Some(json!("Friday 4th December"))
    );
}

#[test]
fn odd_pictures_answer_or_fail_cleanly() {
    // Each either answers or fails with a code; none panics, loops or builds a huge string
    // (the reference loops forever on the first two).
    for (expr, answer) in [
        ("$formatNumber(0, '0.0e0')", Some(json!("0.0e0"))),
        ("$formatNumber(-5, '0.0e0')", Some(json!("-5.0e0"))),
        ("$formatInteger(5, '0,')", Some(json!("5,"))),
        ("$parseInteger('abc', '٠')", Some(Value::Null)),
        ("$formatNumber(1, '0.0', {'decimal-separator': '0'})", None),
        ("$fromMillis(0, '[Y]', '+99999999999999')", None),
        ("$fromMillis(0, '[Y,*-99999999]')", None),
        ("$toMillis('2017', '[Y,99999999]')", None),
    ] {
        match asl_executor::jsonata::evaluate(expr, None) {
            Ok(v) => {
                if let Some(a) = answer {
                    assert_eq!(v, Some(a), "{expr}");
                }
            }
            Err(e) => {
                assert!(answer.is_none(), "{expr}: {e}");
                assert!(!e.code.is_empty(), "{expr}");
            }
        }
    }
}
