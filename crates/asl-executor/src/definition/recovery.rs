//! `Retry` and `Catch`: their error names (`States.ALL` last and alone), intervals, backoff
//! and jitter, and the states catchers fall back to.

use super::fields::{opt_str, problem, result_path, template, within};
use super::graph::Scope;
use super::{Catcher, DefinitionProblem, Jitter, Retrier};
use serde_json::{Map, Value};

pub(super) fn error_equals(
    obj: &Map<String, Value>,
    q: &str,
    field: &str,
) -> Result<Vec<String>, DefinitionProblem> {
    let list = match obj.get("ErrorEquals") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        _ => {
            return Err(problem(
                q,
                field,
                "'ErrorEquals' must be a non-empty array of error names",
            ));
        }
    };
    list.iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| problem(q, field, "'ErrorEquals' entries must be strings"))
        })
        .collect()
}

pub(super) fn check_states_all_last(
    lists: &[&Vec<String>],
    q: &str,
    field: &str,
) -> Result<(), DefinitionProblem> {
    for (i, names) in lists.iter().enumerate() {
        if names.iter().any(|n| n == "States.ALL") {
            if names.len() != 1 {
                return Err(problem(
                    q,
                    field,
                    "'States.ALL' must appear alone in its 'ErrorEquals'",
                ));
            }
            if i + 1 != lists.len() {
                return Err(problem(
                    q,
                    field,
                    "the entry with 'States.ALL' must be the last one",
                ));
            }
        }
    }
    Ok(())
}

pub(super) fn retriers(
    obj: &Map<String, Value>,
    q: &str,
) -> Result<Vec<Retrier>, DefinitionProblem> {
    let Some(list) = obj.get("Retry") else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| problem(q, "Retry", "must be an array"))?;
    let mut out = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let field = format!("Retry[{i}]");
        let r = r
            .as_object()
            .ok_or_else(|| problem(q, &field, "must be an object"))?;
        for k in r.keys() {
            if ![
                "ErrorEquals",
                "IntervalSeconds",
                "MaxAttempts",
                "BackoffRate",
                "MaxDelaySeconds",
                "JitterStrategy",
                "Comment",
            ]
            .contains(&k.as_str())
            {
                return Err(problem(
                    q,
                    &format!("{field}.{k}"),
                    "this field is not supported here",
                ));
            }
        }
        let interval_seconds = match r.get("IntervalSeconds") {
            None => 1,
            Some(v) => v.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
                problem(
                    q,
                    &format!("{field}.IntervalSeconds"),
                    "must be a positive integer",
                )
            })?,
        };
        let max_attempts = match r.get("MaxAttempts") {
            None => 3,
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    problem(
                        q,
                        &format!("{field}.MaxAttempts"),
                        "must be a non-negative integer",
                    )
                })?,
        };
        let backoff_rate = match r.get("BackoffRate") {
            None => 2.0,
            Some(v) => v.as_f64().filter(|b| *b >= 1.0).ok_or_else(|| {
                problem(
                    q,
                    &format!("{field}.BackoffRate"),
                    "must be a number >= 1.0",
                )
            })?,
        };
        let max_delay_seconds = match r.get("MaxDelaySeconds") {
            None => None,
            Some(v) => Some(v.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
                problem(
                    q,
                    &format!("{field}.MaxDelaySeconds"),
                    "must be a positive integer",
                )
            })?),
        };
        let jitter = match r.get("JitterStrategy").map(Value::as_str) {
            None | Some(Some("NONE")) => Jitter::None,
            Some(Some("FULL")) => Jitter::Full,
            _ => {
                return Err(problem(
                    q,
                    &format!("{field}.JitterStrategy"),
                    "must be \"FULL\" or \"NONE\"",
                ));
            }
        };
        out.push(Retrier {
            error_equals: error_equals(r, q, &field)?,
            interval_seconds,
            max_attempts,
            backoff_rate,
            max_delay_seconds,
            jitter,
        });
    }
    check_states_all_last(
        &out.iter().map(|r| &r.error_equals).collect::<Vec<_>>(),
        q,
        "Retry",
    )?;
    Ok(out)
}

/// `Catch`: in a JSONata state (`jsonata`) a catcher has `Output` and `Assign` expressions
/// instead of `ResultPath` and a JSONPath `Assign`.
pub(super) fn catchers(
    obj: &Map<String, Value>,
    q: &str,
    scope: &Scope<'_>,
    jsonata: bool,
) -> Result<Vec<Catcher>, DefinitionProblem> {
    let Some(list) = obj.get("Catch") else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| problem(q, "Catch", "must be an array"))?;
    let mut out = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let field = format!("Catch[{i}]");
        let c = c
            .as_object()
            .ok_or_else(|| problem(q, &field, "must be an object"))?;
        let fields: &[&str] = if jsonata {
            &["ErrorEquals", "Next", "Output", "Assign", "Comment"]
        } else {
            &["ErrorEquals", "Next", "ResultPath", "Assign", "Comment"]
        };
        for k in c.keys() {
            if !fields.contains(&k.as_str()) {
                return Err(problem(
                    q,
                    &format!("{field}.{k}"),
                    "this field is not supported here",
                ));
            }
        }
        let next_name = opt_str(c, q, "Next")?
            .ok_or_else(|| problem(q, &format!("{field}.Next"), "is required"))?;
        out.push(Catcher {
            error_equals: error_equals(c, q, &field)?,
            next: scope.target(q, &format!("{field}.Next"), next_name)?,
            result_path: result_path(c, q, "ResultPath").map_err(within(&field))?,
            assign: if jsonata {
                None
            } else {
                template(c, q, "Assign")?
            },
            jsonata: if jsonata {
                Some(Box::new(super::jsonata::outputs(c, q, &field)?))
            } else {
                None
            },
        });
    }
    check_states_all_last(
        &out.iter().map(|c| &c.error_equals).collect::<Vec<_>>(),
        q,
        "Catch",
    )?;
    Ok(out)
}
