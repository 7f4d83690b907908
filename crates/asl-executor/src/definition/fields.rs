//! Reading one field of a state (or of the definition's top level) with its static checks.

use super::{DefinitionProblem, ErrorSource, Limit, PathField, Seconds};
use crate::path::Path;
use crate::template::{Expr, Template};
use serde_json::{Map, Value};

/// Moves a problem found inside `prefix` (`Branches[0]`, `Catch[1]`) under it:
/// `Next` becomes `Catch[1].Next`.
pub(super) fn within(prefix: &str) -> impl FnOnce(DefinitionProblem) -> DefinitionProblem + '_ {
    move |mut p| {
        p.field = if p.field.is_empty() {
            prefix.to_owned()
        } else {
            format!("{prefix}.{}", p.field)
        };
        p
    }
}

pub(crate) fn problem(state: &str, field: &str, message: impl Into<String>) -> DefinitionProblem {
    DefinitionProblem {
        state: state.to_owned(),
        field: field.to_owned(),
        message: message.into(),
    }
}

pub(super) fn check_fields(
    obj: &Map<String, Value>,
    state: &str,
    allowed: &[&str],
) -> Result<(), DefinitionProblem> {
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(problem(state, k, "this field is not supported here"));
        }
    }
    Ok(())
}

pub(crate) fn opt_str<'a>(
    obj: &'a Map<String, Value>,
    state: &str,
    key: &str,
) -> Result<Option<&'a str>, DefinitionProblem> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(problem(state, key, "must be a string")),
    }
}

pub(super) fn req_str<'a>(
    obj: &'a Map<String, Value>,
    state: &str,
    key: &str,
) -> Result<&'a str, DefinitionProblem> {
    opt_str(obj, state, key)?.ok_or_else(|| problem(state, key, "is required"))
}

pub(super) fn opt_u64(
    obj: &Map<String, Value>,
    state: &str,
    key: &str,
) -> Result<Option<u64>, DefinitionProblem> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| problem(state, key, "must be a non-negative integer")),
    }
}

pub(super) fn opt_path(
    obj: &Map<String, Value>,
    state: &str,
    key: &str,
) -> Result<Option<Path>, DefinitionProblem> {
    opt_str(obj, state, key)?
        .map(|s| Path::parse(s).map_err(|e| problem(state, key, e.to_string())))
        .transpose()
}

pub(super) fn path_field(
    obj: &Map<String, Value>,
    state: &str,
    key: &str,
) -> Result<PathField, DefinitionProblem> {
    match obj.get(key) {
        None => Ok(PathField::Default),
        Some(Value::Null) => Ok(PathField::Null),
        Some(Value::String(s)) => Path::parse(s)
            .map(PathField::Path)
            .map_err(|e| problem(state, key, e.to_string())),
        Some(_) => Err(problem(state, key, "must be a path string or null")),
    }
}

pub(super) fn result_path(
    obj: &Map<String, Value>,
    state: &str,
    key: &str,
) -> Result<PathField, DefinitionProblem> {
    let f = path_field(obj, state, key)?;
    if let PathField::Path(p) = &f
        && !p.is_reference()
    {
        return Err(problem(
            state,
            key,
            "must be a reference path on '$' (names and indexes only)",
        ));
    }
    Ok(f)
}

pub(super) fn template(
    obj: &Map<String, Value>,
    state: &str,
    key: &str,
) -> Result<Option<Template>, DefinitionProblem> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => {
            if key == "Assign" && !v.is_object() {
                return Err(problem(state, key, "must be a JSON object"));
            }
            Template::compile(v)
                .map(Some)
                .map_err(|(k, reason)| problem(state, &format!("{key}.{k}"), reason))
        }
    }
}

pub(super) fn seconds(
    obj: &Map<String, Value>,
    q: &str,
    key: &str,
    path_key: &str,
) -> Result<Option<Seconds>, DefinitionProblem> {
    match (obj.get(key), opt_path(obj, q, path_key)?) {
        (Some(_), Some(_)) => Err(problem(
            q,
            key,
            format!("cannot be used together with '{path_key}'"),
        )),
        (Some(v), None) => fixed_seconds(v, q, key).map(Some),
        (None, Some(p)) => Ok(Some(Seconds::Path(p))),
        (None, None) => Ok(None),
    }
}

/// A number of seconds written as a number: a positive integer.
pub(super) fn fixed_seconds(v: &Value, q: &str, key: &str) -> Result<Seconds, DefinitionProblem> {
    v.as_u64()
        .filter(|n| *n >= 1)
        .map(Seconds::Fixed)
        .ok_or_else(|| problem(q, key, "must be a positive integer"))
}

pub(super) fn limit(
    obj: &Map<String, Value>,
    q: &str,
    key: &str,
    path_key: &str,
    max: Option<f64>,
) -> Result<Option<Limit>, DefinitionProblem> {
    match (obj.get(key), opt_path(obj, q, path_key)?) {
        (Some(_), Some(_)) => Err(problem(
            q,
            key,
            format!("cannot be used together with '{path_key}'"),
        )),
        (Some(v), None) => fixed_limit(v, q, key, max).map(Some),
        (None, Some(p)) => Ok(Some(Limit::Path(p))),
        (None, None) => Ok(None),
    }
}

/// A limit written as a number: a non-negative integer, or a number up to `max`.
pub(super) fn fixed_limit(
    v: &Value,
    q: &str,
    key: &str,
    max: Option<f64>,
) -> Result<Limit, DefinitionProblem> {
    let n = v.as_f64().filter(|n| {
        *n >= 0.0 && max.is_none_or(|m| *n <= m) && (max.is_some() || n.fract() == 0.0)
    });
    let range = max.map_or_else(
        || "a non-negative integer".to_owned(),
        |m| format!("a number between 0 and {m}"),
    );
    n.map(Limit::Fixed)
        .ok_or_else(|| problem(q, key, format!("must be {range}")))
}

pub(super) fn error_source(
    obj: &Map<String, Value>,
    q: &str,
    key: &'static str,
    path_key: &'static str,
) -> Result<Option<ErrorSource>, DefinitionProblem> {
    match (opt_str(obj, q, key)?, opt_str(obj, q, path_key)?) {
        (Some(_), Some(_)) => Err(problem(
            q,
            key,
            format!("cannot be used together with '{path_key}'"),
        )),
        (Some(s), None) => Ok(Some(ErrorSource::Literal(s.to_owned()))),
        (None, Some(p)) => Expr::parse(p)
            .map(|expr| {
                Some(ErrorSource::Expr {
                    field: path_key,
                    expr,
                })
            })
            .map_err(|e| problem(q, path_key, e)),
        (None, None) => Ok(None),
    }
}

/// `QueryLanguage`, at the top level or on a state: `Some(true)` for JSONata, `Some(false)`
/// for JSONPath, `None` when not given.
pub(super) fn query_language(
    obj: &Map<String, Value>,
    state: &str,
) -> Result<Option<bool>, DefinitionProblem> {
    match obj.get("QueryLanguage").map(Value::as_str) {
        None => Ok(None),
        Some(Some("JSONPath")) => Ok(Some(false)),
        Some(Some("JSONata")) => Ok(Some(true)),
        Some(_) => Err(problem(
            state,
            "QueryLanguage",
            "must be \"JSONPath\" or \"JSONata\"",
        )),
    }
}
