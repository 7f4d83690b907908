//! States whose `QueryLanguage` is JSONata: their fields hold JSONata expressions
//! (`"{% ... %}"`) instead of paths, they read `$states.input` and write `Output` and
//! `Assign`, and JSONPath's fields (`InputPath`, `Parameters`, `ResultPath`, ...) are refused.
//! Pass, Succeed, Fail, Wait and Choice are run by the local executor; Task, Parallel and Map
//! are refused as not supported yet.

use super::fields::{check_fields, opt_str, problem, req_str, within};
use super::graph::{Scope, transition};
use super::{DefinitionProblem, Kind, Transition};
use crate::jsonata::template::JTemplate;
use serde_json::{Map, Value};

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
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            JKind::Pass { .. } => "Pass",
            JKind::Succeed => "Succeed",
            JKind::Fail { .. } => "Fail",
            JKind::Wait { .. } => "Wait",
            JKind::Choice { .. } => "Choice",
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
            if [
                "InputPath",
                "OutputPath",
                "Parameters",
                "ResultSelector",
                "ResultPath",
                "ItemsPath",
            ]
            .contains(&p.field.as_str())
            {
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
            let list = match obj.get("Choices") {
                Some(Value::Array(a)) if !a.is_empty() => a,
                _ => return Err(problem(q, "Choices", "must be a non-empty array")),
            };
            let mut choices = Vec::new();
            for (i, c) in list.iter().enumerate() {
                let f = format!("Choices[{i}]");
                let c = c
                    .as_object()
                    .ok_or_else(|| problem(q, &f, "must be an object"))?;
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
            let default = opt_str(obj, q, "Default")?
                .map(|d| scope.target(q, "Default", d))
                .transpose()?;
            JKind::Choice { choices, default }
        }
        "Task" | "Parallel" | "Map" => {
            return Err(problem(
                q,
                "QueryLanguage",
                format!("JSONata {ty} states are not supported yet by the local executor"),
            ));
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

fn assign(obj: &Map<String, Value>, q: &str) -> Result<Option<JTemplate>, DefinitionProblem> {
    if obj.get("Assign").is_some_and(|a| !a.is_object()) {
        return Err(problem(q, "Assign", "must be a JSON object"));
    }
    field(obj, q, "Assign")
}
