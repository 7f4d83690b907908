//! The typed form of an Amazon States Language definition, and the parser that checks the
//! spec's static rules while building it.
//!
//! Every error names the state (qualified by the Map or Parallel that holds it) and the field,
//! so a platform engineer can find the mistake without reading the executor.
//!
//! The parser's parts: `fields` reads and checks single fields, `graph` parses a machine's
//! states and checks their transitions and reachability, `recovery` parses `Retry` and
//! `Catch`, `states` holds one parser per state type. A Choice rule is parsed beside its
//! evaluator, in `crate::choice`.

mod fields;
mod graph;
mod jsonata;
mod recovery;
mod states;

pub(crate) use jsonata::{JKind, JWait, JsonataIo, JsonataState};

pub(crate) use crate::choice::Rule;
use crate::jsonata::template::JTemplate;
use crate::path::Path;
use crate::template::{Expr, Template};
use chrono::{DateTime, FixedOffset};
use fields::{check_fields, opt_u64, query_language};
pub(crate) use fields::{opt_str, problem};
use serde_json::Value;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

/// A problem found in a definition: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionProblem {
    /// The state, qualified by its enclosing states (`Outer/Inner`); empty for top-level fields.
    pub state: String,
    /// The field at fault.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for DefinitionProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.state.is_empty() {
            write!(f, "field '{}': {}", self.field, self.message)
        } else {
            write!(
                f,
                "state '{}', field '{}': {}",
                self.state, self.field, self.message
            )
        }
    }
}

/// A parsed, validated state machine (or a Parallel branch, or a Map's item processor).
#[derive(Debug)]
pub struct StateMachine {
    pub(crate) start_at: usize,
    pub(crate) states: Vec<State>,
    pub(crate) timeout_seconds: Option<u64>,
}

/// How a state path field was written: absent (use `$`), `null`, or a path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PathField {
    Default,
    Null,
    Path(Path),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transition {
    Next(usize),
    End,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) name: Arc<str>,
    pub(crate) kind: Kind,
    pub(crate) input_path: PathField,
    pub(crate) output_path: PathField,
    pub(crate) assign: Option<Template>,
}

#[derive(Debug)]
pub(crate) struct Io {
    pub(crate) parameters: Option<Template>,
    pub(crate) result_selector: Option<Template>,
    pub(crate) result_path: PathField,
    pub(crate) retry: Vec<Retrier>,
    pub(crate) catch: Vec<Catcher>,
    pub(crate) next: Transition,
    /// A JSONata state's `Arguments`, `Output` and `Assign`; its JSONPath fields above are
    /// then empty.
    pub(crate) jsonata: Option<Box<JsonataIo>>,
}

#[derive(Debug)]
pub(crate) enum Kind {
    Pass {
        result: Option<Value>,
        io: Io,
    },
    Task(Box<TaskSpec>),
    Choice {
        choices: Vec<ChoiceBranch>,
        default: Option<usize>,
    },
    Wait {
        how: WaitFor,
        next: Transition,
    },
    Succeed,
    Fail {
        error: Option<ErrorSource>,
        cause: Option<ErrorSource>,
    },
    Parallel {
        branches: Vec<Arc<StateMachine>>,
        io: Io,
    },
    Map(Box<MapSpec>),
    /// A state whose query language is JSONata.
    Jsonata(Box<JsonataState>),
}

#[derive(Debug)]
pub(crate) struct TaskSpec {
    pub(crate) resource: String,
    pub(crate) timeout: Option<Seconds>,
    pub(crate) heartbeat: Option<Seconds>,
    pub(crate) io: Io,
}

/// A number of seconds given literally, by a path or by a JSONata expression.
#[derive(Debug, Clone)]
pub(crate) enum Seconds {
    Fixed(u64),
    Path(Path),
    Expr(JTemplate),
}

#[derive(Debug)]
pub(crate) struct MapSpec {
    pub(crate) processor: Arc<StateMachine>,
    pub(crate) items: Items,
    pub(crate) max_concurrency: Limit,
    pub(crate) tolerated_count: Option<Limit>,
    pub(crate) tolerated_percentage: Option<Limit>,
    pub(crate) io: Io,
}

/// Where a Map's items come from, and what each iteration gets.
#[derive(Debug)]
pub(crate) enum Items {
    /// `ItemsPath` (the effective input when absent) and `ItemSelector` (or `Parameters`).
    Path {
        items_path: Option<Path>,
        selector: Option<Template>,
    },
    /// JSONata's `Items` (the input when absent) and `ItemSelector`.
    Jsonata {
        items: Option<JTemplate>,
        selector: Option<JTemplate>,
    },
}

/// A numeric limit given literally, by a path or by a JSONata expression.
#[derive(Debug, Clone)]
pub(crate) enum Limit {
    Fixed(f64),
    Path(Path),
    Expr(JTemplate),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ErrorSource {
    Literal(String),
    Expr { field: &'static str, expr: Expr },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WaitFor {
    Seconds(u64),
    Timestamp(DateTime<FixedOffset>),
    SecondsPath(Path),
    TimestampPath(Path),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Jitter {
    Full,
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Retrier {
    pub(crate) error_equals: Vec<String>,
    pub(crate) interval_seconds: u64,
    pub(crate) max_attempts: u32,
    pub(crate) backoff_rate: f64,
    pub(crate) max_delay_seconds: Option<u64>,
    pub(crate) jitter: Jitter,
}

#[derive(Debug)]
pub(crate) struct Catcher {
    pub(crate) error_equals: Vec<String>,
    pub(crate) next: usize,
    pub(crate) result_path: PathField,
    pub(crate) assign: Option<Template>,
    /// A JSONata state's catcher: its `Output` and `Assign`.
    pub(crate) jsonata: Option<Box<JsonataIo>>,
}

#[derive(Debug)]
pub(crate) struct ChoiceBranch {
    pub(crate) rule: Rule,
    pub(crate) next: usize,
    pub(crate) assign: Option<Template>,
}

/// Parses an ISO-8601 extended offset date-time, the only timestamp form AWS accepts.
pub(crate) fn parse_timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    // RFC 3339 with a mandatory 'T' separator and offset (AWS rejects "2016-12-05 21:29:29Z").
    if s.as_bytes().get(10) != Some(&b'T') {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok()
}

impl StateMachine {
    /// Parses and validates a definition given as JSON text.
    pub fn from_json(text: &str) -> Result<StateMachine, DefinitionProblem> {
        let value: Value = serde_json::from_str(text).map_err(|e| DefinitionProblem {
            state: String::new(),
            field: String::new(),
            message: format!("the definition is not valid JSON: {e}"),
        })?;
        StateMachine::from_value(&value)
    }

    /// Parses and validates a definition given as a JSON value.
    pub fn from_value(value: &Value) -> Result<StateMachine, DefinitionProblem> {
        let top = value
            .as_object()
            .ok_or_else(|| problem("", "", "the definition must be a JSON object"))?;
        let jsonata = query_language(top, "")?.unwrap_or(false);
        check_fields(
            top,
            "",
            &[
                "Comment",
                "StartAt",
                "States",
                "TimeoutSeconds",
                "Version",
                "QueryLanguage",
            ],
        )?;
        let timeout_seconds = opt_u64(top, "", "TimeoutSeconds")?;
        graph::parse_machine(top, "", jsonata).map(|m| StateMachine {
            timeout_seconds,
            ..m
        })
    }

    /// The names of the top-level states, in definition order.
    pub fn state_names(&self) -> impl Iterator<Item = &str> {
        self.states.iter().map(|s| &*s.name)
    }
}

/// The event types a state of this kind writes when it is entered and when it exits, for
/// example `PassStateEntered` and `PassStateExited`.
pub(crate) fn state_event_types(kind: &Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Pass { .. } => ("PassStateEntered", "PassStateExited"),
        Kind::Task(_) => ("TaskStateEntered", "TaskStateExited"),
        Kind::Choice { .. } => ("ChoiceStateEntered", "ChoiceStateExited"),
        Kind::Wait { .. } => ("WaitStateEntered", "WaitStateExited"),
        Kind::Succeed => ("SucceedStateEntered", "SucceedStateExited"),
        Kind::Fail { .. } => ("FailStateEntered", "FailStateExited"),
        Kind::Parallel { .. } => ("ParallelStateEntered", "ParallelStateExited"),
        Kind::Map(_) => ("MapStateEntered", "MapStateExited"),
        Kind::Jsonata(j) => j.kind.event_types(),
    }
}

/// Every Task resource named in a definition, nested states included.
pub(crate) fn resources(m: &StateMachine, out: &mut HashSet<String>) {
    for s in &m.states {
        match &s.kind {
            Kind::Task(t) => {
                out.insert(t.resource.clone());
            }
            Kind::Parallel { branches, .. } => branches.iter().for_each(|b| resources(b, out)),
            Kind::Map(m) => resources(&m.processor, out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(def: Value) -> DefinitionProblem {
        StateMachine::from_value(&def).expect_err("should be rejected")
    }

    #[test]
    fn a_valid_definition_parses() {
        let def = json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEqualsPath": "$.y", "Next": "C"},
                                                  {"And": [{"Variable": "$.a", "IsPresent": true}, {"Not": {"Variable": "$.b", "StringMatches": "x*"}}], "Next": "D"}],
                  "Default": "E"},
            "C": {"Type": "Wait", "Seconds": 5, "Next": "D"},
            "D": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Retry": [{"ErrorEquals": ["X"]}, {"ErrorEquals": ["States.ALL"]}],
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F"}], "End": true},
            "E": {"Type": "Map", "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}}, "End": true},
            "F": {"Type": "Fail", "Error": "E", "Cause": "C"}
        }});
        let m = StateMachine::from_value(&def).expect("valid");
        assert_eq!(
            m.state_names().collect::<Vec<_>>(),
            ["A", "B", "C", "D", "E", "F"]
        );
    }

    #[test]
    fn static_rules_name_the_state_and_field() {
        let cases = [
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Bogus", "End": true}}}),
                "A",
                "Type",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass"}}}),
                "A",
                "Next",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Z"}}}),
                "A",
                "Next",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B", "End": true}, "B": {"Type": "Succeed"}}}),
                "A",
                "End",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "B": {"Type": "Succeed"}}}),
                "B",
                "",
            ),
            (
                json!({"StartAt": "Z", "States": {"A": {"Type": "Succeed"}}}),
                "",
                "StartAt",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:x", "End": true,
                    "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]}}}),
                "A",
                "Retry",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:x", "End": true,
                    "Catch": [{"ErrorEquals": ["States.ALL", "X"], "Next": "A"}]}}}),
                "A",
                "Catch",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "Foo": 1}}}),
                "A",
                "Foo",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Wait", "End": true}}}),
                "A",
                "Seconds",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": true}}}),
                "A",
                "Seconds",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "ResultPath": "$.a[*]", "End": true}}}),
                "A",
                "ResultPath",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"x.$": "nope"}, "End": true}}}),
                "A",
                "Parameters.x.$",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Fail", "Error": "e", "ErrorPath": "$.e"}}}),
                "A",
                "Error",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Succeed", "Next": "A"}}}),
                "A",
                "Next",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "Next": "A"}]}}}),
                "A",
                "Choices[0]",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEquals": "1", "Next": "A"}]}}}),
                "A",
                "Choices[0].NumericEquals",
            ),
            (
                json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass"}}}}}}),
                "M/ItemProcessor/I",
                "Next",
            ),
            (
                json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ToleratedFailurePercentage": 101,
                    "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}}}}}),
                "M",
                "ToleratedFailurePercentage",
            ),
            (
                json!({"StartAt": "A", "QueryLanguage": "JSONPath2", "States": {"A": {"Type": "Succeed"}}}),
                "",
                "QueryLanguage",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Parallel", "QueryLanguage": "JSONata", "End": true,
                    "Parameters": {"x": 1}, "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}]}}}),
                "A",
                "Parameters",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:x", "TimeoutSeconds": 5, "HeartbeatSeconds": 5, "End": true}}}),
                "A",
                "HeartbeatSeconds",
            ),
        ];
        for (def, state, field) in cases {
            let p = err(def.clone());
            assert_eq!(
                (p.state.as_str(), p.field.as_str()),
                (state, field),
                "{def}: {p}"
            );
        }
    }

    #[test]
    fn jsonata_states_parse_and_jsonpath_fields_are_refused_clearly() {
        let ok = json!({"StartAt": "A", "QueryLanguage": "JSONata", "States": {"A": {"Type": "Pass", "Output": "{% $states.input %}", "Next": "B"},
            "B": {"Type": "Succeed", "QueryLanguage": "JSONPath", "OutputPath": "$.x"}}});
        assert!(StateMachine::from_value(&ok).is_ok());
        let task = json!({"StartAt": "A", "QueryLanguage": "JSONata", "States": {"A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
            "Arguments": {"x": "{% $states.input %}"}, "TimeoutSeconds": "{% 5 %}", "Catch": [{"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput %}", "Next": "B"}], "End": true},
            "B": {"Type": "Succeed"}}});
        assert!(StateMachine::from_value(&task).is_ok());
        let p = err(
            json!({"StartAt": "A", "QueryLanguage": "JSONata", "States": {"A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.e", "Next": "A"}], "End": true}}}),
        );
        assert_eq!(p.field, "Catch[0].ResultPath", "{p}");
        let p = err(
            json!({"StartAt": "A", "QueryLanguage": "JSONata", "States": {"A": {"Type": "Map", "ItemsPath": "$.x", "End": true,
                "ItemProcessor": {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}}}}),
        );
        assert!(p.to_string().contains("JSONPath field"), "{p}");
        let p = err(
            json!({"StartAt": "A", "QueryLanguage": "JSONata", "States": {"A": {"Type": "Map", "Items": 3, "End": true,
                "ItemProcessor": {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}}}}),
        );
        assert_eq!(p.field, "Items", "{p}");
        let p = err(
            json!({"StartAt": "A", "QueryLanguage": "JSONata", "States": {"A": {"Type": "Pass", "ResultPath": "$.x", "End": true}}}),
        );
        assert!(p.to_string().contains("JSONPath field"), "{p}");
        let p = err(
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input. %}", "End": true}}}),
        );
        assert_eq!(p.field, "Output", "{p}");
    }

    #[test]
    fn timestamps_must_be_iso_8601_with_t_and_offset() {
        assert!(parse_timestamp("2016-12-05T21:29:29Z").is_some());
        assert!(parse_timestamp("2016-12-05T21:29:29.123+02:00").is_some());
        for bad in [
            "2016-12-05 21:29:29Z",
            "05-12-2016T21:29:29Z",
            "2016-12-05T25:29:29Z",
            "2016-12-05T21:29:29",
        ] {
            assert!(parse_timestamp(bad).is_none(), "{bad}");
        }
    }
}
