//! States whose `QueryLanguage` is JSONata: their fields hold JSONata expressions
//! (`"{% ... %}"`) instead of paths, they read `$states.input` and write `Output` and
//! `Assign`, and JSONPath's fields (`InputPath`, `Parameters`, `ResultPath`, ...) are refused.
//! Pass, Succeed, Fail, Wait and Choice are states of their own here (`Kind::Jsonata`); Task,
//! Parallel and Map share the JSONPath states' kinds, with their JSONata fields in
//! [`JsonataIo`], `Seconds::Expr`, `Limit::Expr` and `Items::Jsonata`.

use super::fields::{check_fields, fixed_limit, fixed_seconds, problem, req_str, within};
use super::graph::{Scope, transition};
use super::recovery::{catchers, retriers};
use super::states::{branches, choice_default, choice_rules, item_processor, resource};
use super::{
    DefinitionProblem, Io, Items, Kind, Limit, MapSpec, PathField, Seconds, TaskSpec, Transition,
};
use crate::jsonata::template::{JTemplate, expression_text};
use serde_json::{Map, Value};

/// The JSONata fields of a Task, Parallel or Map state, or of one of its catchers.
#[derive(Debug, Default)]
pub(crate) struct JsonataIo {
    /// `Arguments` (Task and Parallel): the input when absent.
    pub(crate) arguments: Option<JTemplate>,
    /// `Output`: the result (or a catcher's error output) when absent.
    pub(crate) output: Option<JTemplate>,
    pub(crate) assign: Option<JTemplate>,
}

/// The JSONPath fields a JSONata state may not have.
const JSONPATH_FIELDS: [&str; 15] = [
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "ItemsPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "MaxConcurrencyPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
    "SecondsPath",
    "TimestampPath",
    "ErrorPath",
    "CausePath",
];

/// A JSONata state.
#[derive(Debug)]
pub(crate) struct JsonataState {
    pub(crate) kind: JKind,
    pub(crate) output: Option<JTemplate>,
    pub(crate) assign: Option<JTemplate>,
}

#[derive(Debug)]
pub(crate) enum JKind {
    Pass {
        next: Transition,
    },
    Succeed,
    Fail {
        error: Option<JTemplate>,
        cause: Option<JTemplate>,
    },
    Wait {
        until: JWait,
        next: Transition,
    },
    Choice {
        choices: Vec<JChoice>,
        default: Option<usize>,
    },
}

/// How long a JSONata Wait state waits.
#[derive(Debug)]
pub(crate) enum JWait {
    Seconds(JTemplate),
    Timestamp(JTemplate),
}

/// One rule of a JSONata Choice state.
#[derive(Debug)]
pub(crate) struct JChoice {
    pub(crate) condition: JTemplate,
    pub(crate) next: usize,
    pub(crate) output: Option<JTemplate>,
    pub(crate) assign: Option<JTemplate>,
}

impl JKind {
    pub(crate) fn event_types(&self) -> (&'static str, &'static str) {
        match self {
            JKind::Pass { .. } => ("PassStateEntered", "PassStateExited"),
            JKind::Succeed => ("SucceedStateEntered", "SucceedStateExited"),
            JKind::Fail { .. } => ("FailStateEntered", "FailStateExited"),
            JKind::Wait { .. } => ("WaitStateEntered", "WaitStateExited"),
            JKind::Choice { .. } => ("ChoiceStateEntered", "ChoiceStateExited"),
        }
    }
}

fn field(
    obj: &Map<String, Value>,
    q: &str,
    key: &str,
) -> Result<Option<JTemplate>, DefinitionProblem> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => JTemplate::compile(v).map(Some).map_err(|(k, reason)| {
            let f = if k.is_empty() {
                key.to_owned()
            } else {
                format!("{key}.{k}")
            };
            problem(q, &f, reason)
        }),
    }
}

/// Parses the JSONata state `q` of type `ty`.
pub(super) fn parse(
    ty: &str,
    obj: &Map<String, Value>,
    q: &str,
    scope: &Scope<'_>,
) -> Result<Kind, DefinitionProblem> {
    const COMMON: [&str; 5] = ["Type", "Comment", "QueryLanguage", "Output", "Assign"];
    let allowed = |extra: &[&str]| -> Result<(), DefinitionProblem> {
        let all: Vec<&str> = COMMON.iter().chain(extra).copied().collect();
        check_fields(obj, q, &all).map_err(|mut p| {
            if JSONPATH_FIELDS.contains(&p.field.as_str()) {
                p.message = "this JSONPath field is not supported in a JSONata state".into();
            }
            p
        })
    };
    let kind = match ty {
        "Pass" => {
            allowed(&["Next", "End"])?;
            JKind::Pass {
                next: transition(obj, q, scope)?,
            }
        }
        "Succeed" => {
            allowed(&[])?;
            JKind::Succeed
        }
        "Fail" => {
            check_fields(
                obj,
                q,
                &["Type", "Comment", "QueryLanguage", "Error", "Cause"],
            )?;
            JKind::Fail {
                error: field(obj, q, "Error")?,
                cause: field(obj, q, "Cause")?,
            }
        }
        "Wait" => {
            allowed(&["Seconds", "Timestamp", "Next", "End"])?;
            let until = match (field(obj, q, "Seconds")?, field(obj, q, "Timestamp")?) {
                (Some(s), None) => JWait::Seconds(s),
                (None, Some(t)) => JWait::Timestamp(t),
                _ => {
                    return Err(problem(
                        q,
                        "Seconds",
                        "exactly one of Seconds and Timestamp is required",
                    ));
                }
            };
            JKind::Wait {
                until,
                next: transition(obj, q, scope)?,
            }
        }
        "Choice" => {
            allowed(&["Choices", "Default"])?;
            let mut choices = Vec::new();
            for (f, c) in choice_rules(obj, q)? {
                check_fields(c, q, &["Condition", "Next", "Output", "Assign", "Comment"])
                    .map_err(within(&f))?;
                let condition = field(c, q, "Condition")?
                    .ok_or_else(|| problem(q, &format!("{f}.Condition"), "is required"))?;
                let next = req_str(c, q, "Next").map_err(within(&f))?;
                choices.push(JChoice {
                    condition,
                    next: scope.target(q, &format!("{f}.Next"), next)?,
                    output: field(c, q, "Output")?,
                    assign: assign(c, q)?,
                });
            }
            JKind::Choice {
                choices,
                default: choice_default(obj, q, scope)?,
            }
        }
        "Task" => {
            allowed(&[
                "Resource",
                "Arguments",
                "TimeoutSeconds",
                "HeartbeatSeconds",
                "Credentials",
                "Retry",
                "Catch",
                "Next",
                "End",
            ])?;
            let timeout = seconds(obj, q, "TimeoutSeconds")?;
            let heartbeat = seconds(obj, q, "HeartbeatSeconds")?;
            if let (Some(Seconds::Fixed(t)), Some(Seconds::Fixed(h))) = (&timeout, &heartbeat)
                && h >= t
            {
                return Err(problem(
                    q,
                    "HeartbeatSeconds",
                    "must be smaller than TimeoutSeconds",
                ));
            }
            return Ok(Kind::Task(Box::new(TaskSpec {
                resource: resource(obj, q)?,
                timeout,
                heartbeat,
                io: io(obj, q, scope, true)?,
            })));
        }
        "Parallel" => {
            allowed(&["Branches", "Arguments", "Retry", "Catch", "Next", "End"])?;
            return Ok(Kind::Parallel {
                branches: branches(obj, q, scope)?,
                io: io(obj, q, scope, true)?,
            });
        }
        "Map" => {
            allowed(&[
                "ItemProcessor",
                "Iterator",
                "Items",
                "ItemSelector",
                "MaxConcurrency",
                "ToleratedFailureCount",
                "ToleratedFailurePercentage",
                "Label",
                "ItemReader",
                "ItemBatcher",
                "ResultWriter",
                "Retry",
                "Catch",
                "Next",
                "End",
            ])?;
            let processor = item_processor(obj, q, scope)?;
            let items = field(obj, q, "Items")?;
            if let Some(JTemplate::Literal(v)) = &items
                && !v.is_array()
            {
                return Err(problem(
                    q,
                    "Items",
                    "must be a JSON array or a JSONata expression",
                ));
            }
            return Ok(Kind::Map(Box::new(MapSpec {
                processor,
                items: Items::Jsonata {
                    items,
                    selector: field(obj, q, "ItemSelector")?,
                },
                max_concurrency: limit(obj, q, "MaxConcurrency", None)?
                    .unwrap_or(Limit::Fixed(0.0)),
                tolerated_count: limit(obj, q, "ToleratedFailureCount", None)?,
                tolerated_percentage: limit(obj, q, "ToleratedFailurePercentage", Some(100.0))?,
                io: io(obj, q, scope, false)?,
            })));
        }
        other => return Err(problem(q, "Type", format!("unknown state type '{other}'"))),
    };
    Ok(Kind::Jsonata(Box::new(JsonataState {
        kind,
        output: if ty == "Fail" {
            None
        } else {
            field(obj, q, "Output")?
        },
        assign: if ty == "Fail" { None } else { assign(obj, q)? },
    })))
}

/// The I/O, Retry, Catch and transition fields of a JSONata Task, Parallel or Map state;
/// `arguments` when the state takes `Arguments`.
fn io(
    obj: &Map<String, Value>,
    q: &str,
    scope: &Scope<'_>,
    arguments: bool,
) -> Result<Io, DefinitionProblem> {
    let mut jsonata = outputs(obj, q, "")?;
    if arguments {
        jsonata.arguments = field(obj, q, "Arguments")?;
    }
    Ok(Io {
        parameters: None,
        result_selector: None,
        result_path: PathField::Default,
        retry: retriers(obj, q)?,
        catch: catchers(obj, q, scope, true)?,
        next: transition(obj, q, scope)?,
        jsonata: Some(Box::new(jsonata)),
    })
}

/// `Output` and `Assign` of a state, or of its catcher at `prefix` (`Catch[0]`).
pub(super) fn outputs(
    obj: &Map<String, Value>,
    q: &str,
    prefix: &str,
) -> Result<JsonataIo, DefinitionProblem> {
    let under = |p: DefinitionProblem| {
        if prefix.is_empty() {
            p
        } else {
            within(prefix)(p)
        }
    };
    Ok(JsonataIo {
        arguments: None,
        output: field(obj, q, "Output").map_err(under)?,
        assign: assign(obj, q).map_err(under)?,
    })
}

/// A number field (`TimeoutSeconds`, `MaxConcurrency`, ...): a number, checked by `fixed`, or a
/// JSONata expression, kept by `expr`.
fn number_or_expression<T>(
    obj: &Map<String, Value>,
    q: &str,
    key: &str,
    fixed: impl FnOnce(&Value) -> Result<T, DefinitionProblem>,
    expr: fn(JTemplate) -> T,
) -> Result<Option<T>, DefinitionProblem> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::String(s)) if expression_text(s).is_some() => Ok(field(obj, q, key)?.map(expr)),
        Some(v) => fixed(v).map(Some),
    }
}

/// A number of seconds: a positive integer or a JSONata expression.
fn seconds(
    obj: &Map<String, Value>,
    q: &str,
    key: &str,
) -> Result<Option<Seconds>, DefinitionProblem> {
    number_or_expression(obj, q, key, |v| fixed_seconds(v, q, key), Seconds::Expr)
}

/// A Map's limit: a number or a JSONata expression.
fn limit(
    obj: &Map<String, Value>,
    q: &str,
    key: &str,
    max: Option<f64>,
) -> Result<Option<Limit>, DefinitionProblem> {
    number_or_expression(obj, q, key, |v| fixed_limit(v, q, key, max), Limit::Expr)
}

fn assign(obj: &Map<String, Value>, q: &str) -> Result<Option<JTemplate>, DefinitionProblem> {
    if obj.get("Assign").is_some_and(|a| !a.is_object()) {
        return Err(problem(q, "Assign", "must be a JSON object"));
    }
    field(obj, q, "Assign")
}
