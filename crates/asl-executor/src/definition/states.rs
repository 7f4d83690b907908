//! One parser per state type, and the fields every state shares.

use super::fields::{
    check_fields, error_source, limit, opt_path, opt_str, opt_u64, path_field, problem,
    query_language, req_str, result_path, seconds, template, within,
};
use super::graph::{Scope, parse_machine, transition};
use super::recovery::{catchers, retriers};
use super::{
    ChoiceBranch, DefinitionProblem, Io, Items, Kind, Limit, MapSpec, Seconds, State, StateMachine,
    TaskSpec, WaitFor, parse_timestamp,
};
use crate::choice::rule;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The fields every state may have.
const COMMON: &[&str] = &[
    "Type",
    "Comment",
    "InputPath",
    "OutputPath",
    "Assign",
    "QueryLanguage",
];

/// The fields of a state that takes a result: Task, Parallel and Map.
const IO_FIELDS: [&str; 7] = [
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Retry",
    "Catch",
    "Next",
    "End",
];

/// Parses the state `name` of `scope`.
pub(super) fn parse_state(
    name: &str,
    obj: &Map<String, Value>,
    scope: &Scope<'_>,
) -> Result<State, DefinitionProblem> {
    let q = &scope.qualified(name);
    let ty = req_str(obj, q, "Type")?;
    if query_language(obj, q)?.unwrap_or(scope.jsonata) {
        return Ok(State {
            name: name.into(),
            kind: super::jsonata::parse(ty, obj, q, scope)?,
            input_path: super::PathField::Default,
            output_path: super::PathField::Default,
            assign: None,
        });
    }
    let parse = match ty {
        "Pass" => pass,
        "Task" => task,
        "Choice" => choice,
        "Wait" => wait,
        "Succeed" => succeed,
        "Fail" => fail,
        "Parallel" => parallel,
        "Map" => map,
        other => return Err(problem(q, "Type", format!("unknown state type '{other}'"))),
    };
    Ok(State {
        name: name.into(),
        kind: parse(obj, q, scope)?,
        input_path: path_field(obj, q, "InputPath")?,
        output_path: path_field(obj, q, "OutputPath")?,
        assign: template(obj, q, "Assign")?,
    })
}

/// Refuses any field beyond the common ones and `extra`.
fn allowed(obj: &Map<String, Value>, q: &str, extra: &[&str]) -> Result<(), DefinitionProblem> {
    let all: Vec<&str> = COMMON.iter().chain(extra).copied().collect();
    check_fields(obj, q, &all)
}

/// The I/O, Retry, Catch and transition fields of a Pass, Task, Parallel or Map state.
fn io(obj: &Map<String, Value>, q: &str, scope: &Scope<'_>) -> Result<Io, DefinitionProblem> {
    Ok(Io {
        parameters: template(obj, q, "Parameters")?,
        result_selector: template(obj, q, "ResultSelector")?,
        result_path: result_path(obj, q, "ResultPath")?,
        retry: retriers(obj, q)?,
        catch: catchers(obj, q, scope, false)?,
        next: transition(obj, q, scope)?,
        jsonata: None,
    })
}

/// A Pass state: its input (or `Result`) passed on, with the usual I/O fields.
fn pass(obj: &Map<String, Value>, q: &str, scope: &Scope<'_>) -> Result<Kind, DefinitionProblem> {
    allowed(
        obj,
        q,
        &["Result", "Parameters", "ResultPath", "Next", "End"],
    )?;
    Ok(Kind::Pass {
        result: obj.get("Result").cloned(),
        io: io(obj, q, scope)?,
    })
}

/// A Task state: its resource (an ARN or a `${Substitution}`), timeouts and I/O fields.
fn task(obj: &Map<String, Value>, q: &str, scope: &Scope<'_>) -> Result<Kind, DefinitionProblem> {
    let mut f = IO_FIELDS.to_vec();
    f.extend([
        "Resource",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
        "Credentials",
    ]);
    allowed(obj, q, &f)?;
    let resource = resource(obj, q)?;
    let timeout = seconds(obj, q, "TimeoutSeconds", "TimeoutSecondsPath")?;
    let heartbeat = seconds(obj, q, "HeartbeatSeconds", "HeartbeatSecondsPath")?;
    if let (Some(Seconds::Fixed(t)), Some(Seconds::Fixed(h))) = (&timeout, &heartbeat)
        && h >= t
    {
        return Err(problem(
            q,
            "HeartbeatSeconds",
            "must be smaller than TimeoutSeconds",
        ));
    }
    Ok(Kind::Task(Box::new(TaskSpec {
        resource,
        timeout,
        heartbeat,
        io: io(obj, q, scope)?,
    })))
}

/// A Task's `Resource`: an ARN or a `${Substitution}`.
pub(super) fn resource(obj: &Map<String, Value>, q: &str) -> Result<String, DefinitionProblem> {
    let resource = req_str(obj, q, "Resource")?.to_owned();
    let substitution = resource.starts_with("${") && resource.ends_with('}');
    if !resource.starts_with("arn:") && !substitution {
        return Err(problem(
            q,
            "Resource",
            "must be an ARN or a ${Substitution}",
        ));
    }
    Ok(resource)
}

/// A Choice state: its rules in order and the `Default` state.
fn choice(obj: &Map<String, Value>, q: &str, scope: &Scope<'_>) -> Result<Kind, DefinitionProblem> {
    allowed(obj, q, &["Choices", "Default"])?;
    let mut choices = Vec::new();
    for (field, c) in choice_rules(obj, q)? {
        let next = opt_str(c, q, "Next")?
            .ok_or_else(|| problem(q, &format!("{field}.Next"), "is required"))?;
        choices.push(ChoiceBranch {
            rule: rule(c, q, &field, true)?,
            next: scope.target(q, &format!("{field}.Next"), next)?,
            assign: template(c, q, "Assign")?,
        });
    }
    let default = choice_default(obj, q, scope)?;
    if obj.contains_key("Next") || obj.contains_key("End") {
        return Err(problem(
            q,
            "Next",
            "a Choice state cannot have 'Next' or 'End'",
        ));
    }
    Ok(Kind::Choice { choices, default })
}

/// One rule of a Choice state as written, with its field name (`Choices[0]`).
pub(super) type RuleObject<'a> = (String, &'a Map<String, Value>);

/// A Choice state's rules: a non-empty array of objects.
pub(super) fn choice_rules<'a>(
    obj: &'a Map<String, Value>,
    q: &str,
) -> Result<Vec<RuleObject<'a>>, DefinitionProblem> {
    let list = match obj.get("Choices") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        _ => return Err(problem(q, "Choices", "must be a non-empty array")),
    };
    list.iter()
        .enumerate()
        .map(|(i, c)| {
            let field = format!("Choices[{i}]");
            let c = c
                .as_object()
                .ok_or_else(|| problem(q, &field, "must be an object"))?;
            Ok((field, c))
        })
        .collect()
}

/// A Choice state's `Default` state, if it has one.
pub(super) fn choice_default(
    obj: &Map<String, Value>,
    q: &str,
    scope: &Scope<'_>,
) -> Result<Option<usize>, DefinitionProblem> {
    opt_str(obj, q, "Default")?
        .map(|d| scope.target(q, "Default", d))
        .transpose()
}

/// A Wait state: exactly one of `Seconds`, `Timestamp`, `SecondsPath`, `TimestampPath`.
fn wait(obj: &Map<String, Value>, q: &str, scope: &Scope<'_>) -> Result<Kind, DefinitionProblem> {
    allowed(
        obj,
        q,
        &[
            "Seconds",
            "Timestamp",
            "SecondsPath",
            "TimestampPath",
            "Next",
            "End",
        ],
    )?;
    let given: Vec<&str> = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"]
        .into_iter()
        .filter(|k| obj.contains_key(*k))
        .collect();
    if given.len() != 1 {
        return Err(problem(
            q,
            "Seconds",
            "exactly one of Seconds, Timestamp, SecondsPath and TimestampPath is required",
        ));
    }
    let how = match given[0] {
        "Seconds" => WaitFor::Seconds(opt_u64(obj, q, "Seconds")?.unwrap_or_default()),
        "Timestamp" => {
            let s = req_str(obj, q, "Timestamp")?;
            WaitFor::Timestamp(parse_timestamp(s).ok_or_else(|| {
                problem(
                    q,
                    "Timestamp",
                    "must be an ISO-8601 extended offset date-time",
                )
            })?)
        }
        "SecondsPath" => WaitFor::SecondsPath(
            opt_path(obj, q, "SecondsPath")?
                .ok_or_else(|| problem(q, "SecondsPath", "is required"))?,
        ),
        _ => WaitFor::TimestampPath(
            opt_path(obj, q, "TimestampPath")?
                .ok_or_else(|| problem(q, "TimestampPath", "is required"))?,
        ),
    };
    Ok(Kind::Wait {
        how,
        next: transition(obj, q, scope)?,
    })
}

/// A Succeed state: nothing but the common fields.
fn succeed(
    obj: &Map<String, Value>,
    q: &str,
    _scope: &Scope<'_>,
) -> Result<Kind, DefinitionProblem> {
    allowed(obj, q, &[])?;
    Ok(Kind::Succeed)
}

/// A Fail state: its error and cause, literal or from a path.
fn fail(obj: &Map<String, Value>, q: &str, _scope: &Scope<'_>) -> Result<Kind, DefinitionProblem> {
    check_fields(
        obj,
        q,
        &[
            "Type",
            "Comment",
            "Error",
            "Cause",
            "ErrorPath",
            "CausePath",
            "QueryLanguage",
        ],
    )?;
    Ok(Kind::Fail {
        error: error_source(obj, q, "Error", "ErrorPath")?,
        cause: error_source(obj, q, "Cause", "CausePath")?,
    })
}

/// A Parallel state: its branches, each a machine of its own scope.
fn parallel(
    obj: &Map<String, Value>,
    q: &str,
    scope: &Scope<'_>,
) -> Result<Kind, DefinitionProblem> {
    let mut f = IO_FIELDS.to_vec();
    f.push("Branches");
    allowed(obj, q, &f)?;
    Ok(Kind::Parallel {
        branches: branches(obj, q, scope)?,
        io: io(obj, q, scope)?,
    })
}

/// A Parallel state's `Branches`, each a machine of its own scope.
pub(super) fn branches(
    obj: &Map<String, Value>,
    q: &str,
    scope: &Scope<'_>,
) -> Result<Vec<Arc<StateMachine>>, DefinitionProblem> {
    let list = match obj.get("Branches") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        _ => return Err(problem(q, "Branches", "must be a non-empty array")),
    };
    let mut branches = Vec::new();
    for (i, b) in list.iter().enumerate() {
        let b = b
            .as_object()
            .ok_or_else(|| problem(q, &format!("Branches[{i}]"), "must be an object"))?;
        check_fields(b, q, &["StartAt", "States", "Comment"])
            .map_err(within(&format!("Branches[{i}]")))?;
        branches.push(Arc::new(parse_machine(
            b,
            &format!("{q}/Branches[{i}]"),
            scope.jsonata,
        )?));
    }
    Ok(branches)
}

/// A Map state: its item processor (inline, or distributed over the state input), item
/// selection, concurrency and failure tolerance.
fn map(obj: &Map<String, Value>, q: &str, scope: &Scope<'_>) -> Result<Kind, DefinitionProblem> {
    let mut f = IO_FIELDS.to_vec();
    f.extend([
        "ItemProcessor",
        "Iterator",
        "ItemsPath",
        "ItemSelector",
        "MaxConcurrency",
        "MaxConcurrencyPath",
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
        "Label",
        "ItemReader",
        "ItemBatcher",
        "ResultWriter",
    ]);
    allowed(obj, q, &f)?;
    let processor = item_processor(obj, q, scope)?;
    let (item_selector, parameters) = (
        template(obj, q, "ItemSelector")?,
        template(obj, q, "Parameters")?,
    );
    if item_selector.is_some() && parameters.is_some() {
        return Err(problem(
            q,
            "Parameters",
            "cannot be used together with 'ItemSelector'",
        ));
    }
    let mut io = io(obj, q, scope)?;
    io.parameters = None;
    Ok(Kind::Map(Box::new(MapSpec {
        processor,
        items: Items::Path {
            items_path: opt_path(obj, q, "ItemsPath")?,
            selector: item_selector.or(parameters),
        },
        max_concurrency: limit(obj, q, "MaxConcurrency", "MaxConcurrencyPath", None)?
            .unwrap_or(Limit::Fixed(0.0)),
        tolerated_count: limit(
            obj,
            q,
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            None,
        )?,
        tolerated_percentage: limit(
            obj,
            q,
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            Some(100.0),
        )?,
        io,
    })))
}

/// A Map's `ItemProcessor` (or the older `Iterator`); a distributed Map that reads its items
/// from S3 is refused.
pub(super) fn item_processor(
    obj: &Map<String, Value>,
    q: &str,
    scope: &Scope<'_>,
) -> Result<Arc<StateMachine>, DefinitionProblem> {
    for distributed in ["ItemReader", "ItemBatcher", "ResultWriter"] {
        if obj.contains_key(distributed) {
            return Err(problem(
                q,
                distributed,
                "reading items from S3 (distributed Map) is not supported yet by the local executor",
            ));
        }
    }
    let (key, proc) = match (obj.get("ItemProcessor"), obj.get("Iterator")) {
        (Some(_), Some(_)) => {
            return Err(problem(
                q,
                "Iterator",
                "cannot be used together with 'ItemProcessor'",
            ));
        }
        (Some(p), None) => ("ItemProcessor", p),
        (None, Some(p)) => ("Iterator", p),
        (None, None) => return Err(problem(q, "ItemProcessor", "is required")),
    };
    let proc = proc
        .as_object()
        .ok_or_else(|| problem(q, key, "must be an object"))?;
    check_fields(
        proc,
        q,
        &["StartAt", "States", "Comment", "ProcessorConfig"],
    )
    .map_err(within(key))?;
    if let Some(cfg) = proc.get("ProcessorConfig") {
        // A distributed Map that reads its items from the state input runs here like an
        // inline one: each item still gets its own scope and history events.
        match cfg.get("Mode").and_then(Value::as_str).unwrap_or("INLINE") {
            "INLINE" | "DISTRIBUTED" => {}
            _ => {
                return Err(problem(
                    q,
                    &format!("{key}.ProcessorConfig.Mode"),
                    "must be \"INLINE\" or \"DISTRIBUTED\"",
                ));
            }
        }
        if let Some(t) = cfg.get("ExecutionType").and_then(Value::as_str)
            && !matches!(t, "STANDARD" | "EXPRESS")
        {
            return Err(problem(
                q,
                &format!("{key}.ProcessorConfig.ExecutionType"),
                "must be \"STANDARD\" or \"EXPRESS\"",
            ));
        }
    }
    Ok(Arc::new(parse_machine(
        proc,
        &format!("{q}/{key}"),
        scope.jsonata,
    )?))
}
