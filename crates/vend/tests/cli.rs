//! The `vend states` subcommands as a user runs them: exit codes, output shape, messages.

use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Command, Output};

fn vend(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vend"))
        .args(args)
        .output()
        .expect("vend runs")
}

fn example(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../asl-executor/examples")
        .join(name)
        .display()
        .to_string()
}

fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vend-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write");
    path
}

#[test]
fn states_run_prints_the_result_and_history() {
    let input = format!("@{}", example("account-poll.input.json"));
    let out = vend(&[
        "states",
        "run",
        "--definition",
        &example("account-poll.asl.json"),
        "--input",
        &input,
        "--history",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(result["status"], json!("SUCCEEDED"));
    assert_eq!(result["output"]["polls"], json!(4));
    let history = result["history"].as_array().expect("history");
    assert_eq!(
        history.first().map(|e| e["type"].clone()),
        Some(json!("ExecutionStarted"))
    );
    assert_eq!(
        history.last().map(|e| e["type"].clone()),
        Some(json!("ExecutionSucceeded"))
    );
}

#[test]
fn a_failed_execution_exits_non_zero_with_error_and_cause() {
    let def = temp_file(
        "fail.json",
        r#"{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Nope", "Cause": "because"}}}"#,
    );
    let out = vend(&["states", "run", "--definition", &def.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    let result: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(
        (
            result["status"].clone(),
            result["error"].clone(),
            result["cause"].clone()
        ),
        (json!("FAILED"), json!("Nope"), json!("because"))
    );
}

#[test]
fn an_invalid_definition_names_the_state_and_field() {
    let def = temp_file(
        "bad.json",
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Missing"}}}"#,
    );
    let out = vend(&["states", "run", "--definition", &def.display().to_string()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("state 'A', field 'Next'") && err.contains("Missing"),
        "{err}"
    );
}

#[test]
fn states_test_counts_and_fails_on_a_wrong_case() {
    let cases = [
        json!({"id": "ok", "query_language": "JSONPath", "definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "input": {"a": 1}, "expected": {"status": "SUCCEEDED", "output": {"a": 1.0}}}),
        json!({"id": "wrong", "query_language": "JSONPath", "definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "input": {"a": 1}, "expected": {"status": "SUCCEEDED", "output": {"a": 2}}}),
        json!({"id": "later", "query_language": "JSONPath", "definition": {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "b"}}, "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}}, "input": {}, "expected": {"status": "SUCCEEDED", "output": []}}),
    ];
    let file = temp_file(
        "cases.jsonl",
        &cases
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let out = vend(&["states", "test", "--cases", &file.display().to_string()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL wrong"), "{stdout}");
    assert!(
        stdout.trim_end().ends_with("1 passed, 1 failed, 1 skipped"),
        "{stdout}"
    );
}
