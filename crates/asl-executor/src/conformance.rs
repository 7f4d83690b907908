//! Scores the executor against recorded AWS executions (the format of
//! `shared/asl-conformance/cases.jsonl`: one JSON case per line).
//!
//! A case passes when the status matches and, when it succeeded, the output equals the
//! recorded one as JSON (numbers by value); failed cases compare the error name. Causes are
//! compared too but reported apart, because AWS's cause texts are read by people. A case whose
//! definition the executor refuses as "not supported yet" (a distributed Map that reads its
//! items from S3) is skipped; the public cases have none.

use crate::execution::ExecutorConfig;
use crate::executor::Executor;
use crate::intrinsic::json_eq;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// One recorded execution.
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    /// Stable identifier.
    pub id: String,
    /// Area of the spec.
    #[serde(default)]
    pub group: String,
    /// `JSONPath` or `JSONata`.
    pub query_language: String,
    /// The definition that ran.
    pub definition: Value,
    /// The execution input.
    #[serde(default)]
    pub input: Value,
    /// The recorded result.
    pub expected: Expected,
    /// True when the output holds values that differ per run.
    #[serde(default)]
    pub nondeterministic: bool,
}

/// A recorded result.
#[derive(Debug, Clone, Deserialize)]
pub struct Expected {
    /// `SUCCEEDED`, `FAILED`, ...
    pub status: String,
    /// The output of a successful run.
    #[serde(default)]
    pub output: Value,
    /// The error of a failed run.
    #[serde(default)]
    pub error: Option<String>,
    /// The cause of a failed run.
    #[serde(default)]
    pub cause: Option<String>,
}

/// How one case went.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Status and output (or error) as recorded.
    Passed {
        /// For failed executions: the cause differs from the recorded one (expected, got).
        cause_mismatch: Option<(Option<String>, Option<String>)>,
    },
    /// Something differs.
    Failed {
        /// What was recorded.
        expected: Value,
        /// What the executor produced.
        got: Value,
    },
    /// Not run.
    Skipped {
        /// Why.
        reason: String,
    },
}

/// Parses a JSONL file of cases.
pub fn parse_cases(text: &str) -> Result<Vec<Case>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

/// Runs one case on a fresh executor (virtual time, so recorded Wait states cost nothing).
pub async fn run_case(case: &Case) -> Outcome {
    let executor = Executor::new(ExecutorConfig::default());
    let expected_json = serde_json::json!({
        "status": case.expected.status, "output": case.expected.output,
        "error": case.expected.error, "cause": case.expected.cause,
    });
    let arn =
        match executor.create_state_machine("conformance", &case.definition, &Default::default()) {
            Ok(arn) => arn,
            // What the executor does not run yet is skipped, not failed.
            Err(e) if e.to_string().contains("not supported yet") => {
                return Outcome::Skipped {
                    reason: e.to_string(),
                };
            }
            Err(e) => {
                return Outcome::Failed {
                    expected: expected_json,
                    got: serde_json::json!({"definition_error": e.to_string()}),
                };
            }
        };
    let run = executor.run(&arn, Some("case"), case.input.clone());
    let result = match tokio::time::timeout(Duration::from_secs(30), run).await {
        Ok(Ok((r, _))) => r,
        Ok(Err(e)) => {
            return Outcome::Failed {
                expected: expected_json,
                got: serde_json::json!({"start_error": e.to_string()}),
            };
        }
        Err(_) => {
            return Outcome::Failed {
                expected: expected_json,
                got: serde_json::json!({"timeout": "no result after 30 s"}),
            };
        }
    };
    let got = result.to_json();
    let status_ok = result.status.as_str() == case.expected.status;
    if !status_ok {
        return Outcome::Failed {
            expected: expected_json,
            got,
        };
    }
    if case.nondeterministic {
        return Outcome::Passed {
            cause_mismatch: None,
        };
    }
    if case.expected.status == "SUCCEEDED" {
        let ok = result
            .output
            .as_ref()
            .is_some_and(|o| json_eq(o, &case.expected.output));
        return if ok {
            Outcome::Passed {
                cause_mismatch: None,
            }
        } else {
            Outcome::Failed {
                expected: expected_json,
                got,
            }
        };
    }
    if result.error != case.expected.error {
        return Outcome::Failed {
            expected: expected_json,
            got,
        };
    }
    let cause_ok = match (&case.expected.cause, &result.cause) {
        (Some(e), Some(g)) => placeholder_match(e, g),
        (e, g) => e == g,
    };
    Outcome::Passed {
        cause_mismatch: (!cause_ok).then(|| (case.expected.cause.clone(), result.cause.clone())),
    }
}

/// Compares a recorded text with ours, where `<...>` in the recording stands for a value the
/// recording normalised away (an input document, an ARN part).
pub fn placeholder_match(expected: &str, got: &str) -> bool {
    let mut parts = Vec::new();
    let mut rest = expected;
    while let Some(open) = rest.find('<') {
        match rest[open..].find('>') {
            Some(close) if !rest[open + 1..open + close].contains(['<', ' ']) => {
                parts.push(&rest[..open]);
                rest = &rest[open + close + 1..];
            }
            _ => break,
        }
    }
    if parts.is_empty() {
        return expected == got;
    }
    parts.push(rest);
    let Some(mut remaining) = got.strip_prefix(parts[0]) else {
        return false;
    };
    let last = parts.len() - 1;
    for (i, p) in parts.iter().enumerate().skip(1) {
        if i == last {
            return remaining.ends_with(p);
        }
        match remaining.find(p) {
            Some(pos) => remaining = &remaining[pos + p.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_stand_for_any_text() {
        assert!(placeholder_match(
            "in the input '<json-input:1>'",
            "in the input '{\"a\":1}'"
        ));
        assert!(placeholder_match("a <x> b <y> c", "a 1 b 2 c"));
        assert!(!placeholder_match("a <x> b", "a 1 c"));
        assert!(placeholder_match("no placeholders", "no placeholders"));
        assert!(!placeholder_match("no placeholders", "other"));
    }
}
