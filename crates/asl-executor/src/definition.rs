//! The typed form of an Amazon States Language definition, and the parser that checks the
//! spec's static rules while building it.
//!
//! Every error names the state (qualified by the Map or Parallel that holds it) and the field,
//! so a platform engineer can find the mistake without reading the executor.

use crate::path::Path;
use crate::template::{Expr, Template};
use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
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
    pub(crate) name: String,
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
}

#[derive(Debug)]
pub(crate) struct TaskSpec {
    pub(crate) resource: String,
    pub(crate) timeout: Option<Seconds>,
    pub(crate) heartbeat: Option<Seconds>,
    pub(crate) io: Io,
}

/// A number of seconds given literally or by a path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seconds {
    Fixed(u64),
    Path(Path),
}

#[derive(Debug)]
pub(crate) struct MapSpec {
    pub(crate) processor: Arc<StateMachine>,
    pub(crate) items_path: Option<Path>,
    pub(crate) item_selector: Option<Template>,
    pub(crate) max_concurrency: Limit,
    pub(crate) tolerated_count: Option<Limit>,
    pub(crate) tolerated_percentage: Option<Limit>,
    pub(crate) io: Io,
}

/// A numeric limit given literally or by a path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Limit {
    Fixed(f64),
    Path(Path),
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
}

#[derive(Debug)]
pub(crate) struct ChoiceBranch {
    pub(crate) rule: Rule,
    pub(crate) next: usize,
    pub(crate) assign: Option<Template>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Compare {
        variable: Path,
        op: Op,
        operand: Operand,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Literal(Value),
    Path(Path),
}

/// A Choice comparison operator (without its `Path` suffix, which lives in [`Operand`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    StringEquals,
    StringLessThan,
    StringGreaterThan,
    StringLessThanEquals,
    StringGreaterThanEquals,
    StringMatches,
    NumericEquals,
    NumericLessThan,
    NumericGreaterThan,
    NumericLessThanEquals,
    NumericGreaterThanEquals,
    BooleanEquals,
    TimestampEquals,
    TimestampLessThan,
    TimestampGreaterThan,
    TimestampLessThanEquals,
    TimestampGreaterThanEquals,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

const OPS: &[(&str, Op)] = &[
    ("StringEquals", Op::StringEquals),
    ("StringLessThan", Op::StringLessThan),
    ("StringGreaterThan", Op::StringGreaterThan),
    ("StringLessThanEquals", Op::StringLessThanEquals),
    ("StringGreaterThanEquals", Op::StringGreaterThanEquals),
    ("StringMatches", Op::StringMatches),
    ("NumericEquals", Op::NumericEquals),
    ("NumericLessThan", Op::NumericLessThan),
    ("NumericGreaterThan", Op::NumericGreaterThan),
    ("NumericLessThanEquals", Op::NumericLessThanEquals),
    ("NumericGreaterThanEquals", Op::NumericGreaterThanEquals),
    ("BooleanEquals", Op::BooleanEquals),
    ("TimestampEquals", Op::TimestampEquals),
    ("TimestampLessThan", Op::TimestampLessThan),
    ("TimestampGreaterThan", Op::TimestampGreaterThan),
    ("TimestampLessThanEquals", Op::TimestampLessThanEquals),
    ("TimestampGreaterThanEquals", Op::TimestampGreaterThanEquals),
    ("IsNull", Op::IsNull),
    ("IsPresent", Op::IsPresent),
    ("IsNumeric", Op::IsNumeric),
    ("IsString", Op::IsString),
    ("IsBoolean", Op::IsBoolean),
    ("IsTimestamp", Op::IsTimestamp),
];

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
        if let Some(ql) = top.get("QueryLanguage") {
            match ql.as_str() {
                Some("JSONPath") => {}
                Some("JSONata") => {
                    return Err(problem(
                        "",
                        "QueryLanguage",
                        "JSONata is not supported yet by the local executor",
                    ));
                }
                _ => {
                    return Err(problem(
                        "",
                        "QueryLanguage",
                        "must be \"JSONPath\" or \"JSONata\"",
                    ));
                }
            }
        }
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
        parse_machine(top, "").map(|m| StateMachine {
            timeout_seconds,
            ..m
        })
    }

    /// The names of the top-level states, in definition order.
    pub fn state_names(&self) -> impl Iterator<Item = &str> {
        self.states.iter().map(|s| s.name.as_str())
    }
}

fn problem(state: &str, field: &str, message: impl Into<String>) -> DefinitionProblem {
    DefinitionProblem {
        state: state.to_owned(),
        field: field.to_owned(),
        message: message.into(),
    }
}

fn check_fields(
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

fn opt_str<'a>(
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

fn req_str<'a>(
    obj: &'a Map<String, Value>,
    state: &str,
    key: &str,
) -> Result<&'a str, DefinitionProblem> {
    opt_str(obj, state, key)?.ok_or_else(|| problem(state, key, "is required"))
}

fn opt_u64(
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

fn opt_path(
    obj: &Map<String, Value>,
    state: &str,
    key: &str,
) -> Result<Option<Path>, DefinitionProblem> {
    opt_str(obj, state, key)?
        .map(|s| Path::parse(s).map_err(|e| problem(state, key, e.to_string())))
        .transpose()
}

fn path_field(
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

fn result_path(
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

fn template(
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

struct Scope<'a> {
    names: &'a HashMap<String, usize>,
    prefix: &'a str,
}

impl Scope<'_> {
    fn qualified(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }

    fn target(&self, state: &str, field: &str, name: &str) -> Result<usize, DefinitionProblem> {
        self.names.get(name).copied().ok_or_else(|| {
            problem(
                state,
                field,
                format!("names the state '{name}', which does not exist in this scope"),
            )
        })
    }
}

fn parse_machine(
    obj: &Map<String, Value>,
    prefix: &str,
) -> Result<StateMachine, DefinitionProblem> {
    let start = req_str(obj, prefix, "StartAt")?;
    let states = match obj.get("States") {
        Some(Value::Object(m)) if !m.is_empty() => m,
        Some(Value::Object(_)) => {
            return Err(problem(prefix, "States", "must hold at least one state"));
        }
        Some(_) => return Err(problem(prefix, "States", "must be a JSON object")),
        None => return Err(problem(prefix, "States", "is required")),
    };
    let names: HashMap<String, usize> = states
        .keys()
        .enumerate()
        .map(|(i, k)| (k.clone(), i))
        .collect();
    let scope = Scope {
        names: &names,
        prefix,
    };
    let start_at = scope.target(prefix, "StartAt", start)?;
    let mut parsed = Vec::with_capacity(states.len());
    for (name, body) in states {
        let q = scope.qualified(name);
        if name.is_empty() || name.chars().count() > 80 {
            return Err(problem(&q, "", "a state name must have 1 to 80 characters"));
        }
        let body = body
            .as_object()
            .ok_or_else(|| problem(&q, "", "a state must be a JSON object"))?;
        parsed.push(parse_state(name, body, &scope)?);
    }
    let machine = StateMachine {
        start_at,
        states: parsed,
        timeout_seconds: None,
    };
    check_reachable(&machine, prefix)?;
    Ok(machine)
}

fn successors(s: &State) -> Vec<usize> {
    let mut out = Vec::new();
    let mut tr = |t: &Transition| {
        if let Transition::Next(i) = t {
            out.push(*i);
        }
    };
    let catches = |io: &Io| io.catch.iter().map(|c| c.next).collect::<Vec<_>>();
    let mut extra = Vec::new();
    match &s.kind {
        Kind::Pass { io, .. } => tr(&io.next),
        Kind::Wait { next, .. } => tr(next),
        Kind::Task(t) => {
            tr(&t.io.next);
            extra = catches(&t.io);
        }
        Kind::Parallel { io, .. } => {
            tr(&io.next);
            extra = catches(io);
        }
        Kind::Map(m) => {
            tr(&m.io.next);
            extra = catches(&m.io);
        }
        Kind::Choice { choices, default } => {
            extra = choices.iter().map(|c| c.next).chain(*default).collect();
        }
        Kind::Succeed | Kind::Fail { .. } => {}
    }
    out.extend(extra);
    out
}

fn check_reachable(m: &StateMachine, prefix: &str) -> Result<(), DefinitionProblem> {
    let mut seen = vec![false; m.states.len()];
    let mut stack = vec![m.start_at];
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        stack.extend(successors(&m.states[i]));
    }
    if let Some(i) = seen.iter().position(|s| !s) {
        let name = &m.states[i].name;
        let q = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        return Err(problem(&q, "", "this state is unreachable from StartAt"));
    }
    Ok(())
}

fn transition(
    obj: &Map<String, Value>,
    q: &str,
    scope: &Scope<'_>,
) -> Result<Transition, DefinitionProblem> {
    let next = opt_str(obj, q, "Next")?;
    let end = match obj.get("End") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(problem(q, "End", "must be a boolean")),
    };
    match (next, end) {
        (Some(_), true) => Err(problem(
            q,
            "End",
            "a state cannot have both 'Next' and 'End'",
        )),
        (Some(n), false) => scope.target(q, "Next", n).map(Transition::Next),
        (None, true) => Ok(Transition::End),
        (None, false) => Err(problem(q, "Next", "is required unless 'End' is true")),
    }
}

fn error_equals(
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

fn check_states_all_last(
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

fn retriers(obj: &Map<String, Value>, q: &str) -> Result<Vec<Retrier>, DefinitionProblem> {
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

fn catchers(
    obj: &Map<String, Value>,
    q: &str,
    scope: &Scope<'_>,
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
        for k in c.keys() {
            if !["ErrorEquals", "Next", "ResultPath", "Assign", "Comment"].contains(&k.as_str()) {
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
            result_path: result_path(c, q, "ResultPath").map_err(|mut p| {
                p.field = format!("{field}.ResultPath");
                p
            })?,
            assign: template(c, q, "Assign")?,
        });
    }
    check_states_all_last(
        &out.iter().map(|c| &c.error_equals).collect::<Vec<_>>(),
        q,
        "Catch",
    )?;
    Ok(out)
}

fn io(obj: &Map<String, Value>, q: &str, scope: &Scope<'_>) -> Result<Io, DefinitionProblem> {
    Ok(Io {
        parameters: template(obj, q, "Parameters")?,
        result_selector: template(obj, q, "ResultSelector")?,
        result_path: result_path(obj, q, "ResultPath")?,
        retry: retriers(obj, q)?,
        catch: catchers(obj, q, scope)?,
        next: transition(obj, q, scope)?,
    })
}

fn seconds(
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
        (Some(v), None) => v
            .as_u64()
            .filter(|n| *n >= 1)
            .map(|n| Some(Seconds::Fixed(n)))
            .ok_or_else(|| problem(q, key, "must be a positive integer")),
        (None, Some(p)) => Ok(Some(Seconds::Path(p))),
        (None, None) => Ok(None),
    }
}

fn limit(
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
        (Some(v), None) => {
            let n = v.as_f64().filter(|n| {
                *n >= 0.0 && max.is_none_or(|m| *n <= m) && (max.is_some() || n.fract() == 0.0)
            });
            let range = max.map_or_else(
                || "a non-negative integer".to_owned(),
                |m| format!("a number between 0 and {m}"),
            );
            n.map(|n| Some(Limit::Fixed(n)))
                .ok_or_else(|| problem(q, key, format!("must be {range}")))
        }
        (None, Some(p)) => Ok(Some(Limit::Path(p))),
        (None, None) => Ok(None),
    }
}

fn error_source(
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

const COMMON: &[&str] = &[
    "Type",
    "Comment",
    "InputPath",
    "OutputPath",
    "Assign",
    "QueryLanguage",
];

fn parse_state(
    name: &str,
    obj: &Map<String, Value>,
    scope: &Scope<'_>,
) -> Result<State, DefinitionProblem> {
    let q = &scope.qualified(name);
    let ty = req_str(obj, q, "Type")?;
    if let Some(ql) = obj.get("QueryLanguage") {
        match ql.as_str() {
            Some("JSONPath") => {}
            Some("JSONata") => {
                return Err(problem(
                    q,
                    "QueryLanguage",
                    "JSONata is not supported yet by the local executor",
                ));
            }
            _ => {
                return Err(problem(
                    q,
                    "QueryLanguage",
                    "must be \"JSONPath\" or \"JSONata\"",
                ));
            }
        }
    }
    let allowed = |extra: &[&str]| -> Result<(), DefinitionProblem> {
        let all: Vec<&str> = COMMON.iter().chain(extra).copied().collect();
        check_fields(obj, q, &all)
    };
    let io_fields = [
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "Retry",
        "Catch",
        "Next",
        "End",
    ];
    let kind = match ty {
        "Pass" => {
            allowed(&["Result", "Parameters", "ResultPath", "Next", "End"])?;
            Kind::Pass {
                result: obj.get("Result").cloned(),
                io: io(obj, q, scope)?,
            }
        }
        "Task" => {
            let mut f = io_fields.to_vec();
            f.extend([
                "Resource",
                "TimeoutSeconds",
                "TimeoutSecondsPath",
                "HeartbeatSeconds",
                "HeartbeatSecondsPath",
                "Credentials",
            ]);
            allowed(&f)?;
            let resource = req_str(obj, q, "Resource")?.to_owned();
            let substitution = resource.starts_with("${") && resource.ends_with('}');
            if !resource.starts_with("arn:") && !substitution {
                return Err(problem(
                    q,
                    "Resource",
                    "must be an ARN or a ${Substitution}",
                ));
            }
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
            Kind::Task(Box::new(TaskSpec {
                resource,
                timeout,
                heartbeat,
                io: io(obj, q, scope)?,
            }))
        }
        "Choice" => {
            allowed(&["Choices", "Default"])?;
            let list = match obj.get("Choices") {
                Some(Value::Array(a)) if !a.is_empty() => a,
                _ => return Err(problem(q, "Choices", "must be a non-empty array")),
            };
            let mut choices = Vec::new();
            for (i, c) in list.iter().enumerate() {
                let field = format!("Choices[{i}]");
                let c = c
                    .as_object()
                    .ok_or_else(|| problem(q, &field, "must be an object"))?;
                let next = opt_str(c, q, "Next")?
                    .ok_or_else(|| problem(q, &format!("{field}.Next"), "is required"))?;
                choices.push(ChoiceBranch {
                    rule: rule(c, q, &field, true)?,
                    next: scope.target(q, &format!("{field}.Next"), next)?,
                    assign: template(c, q, "Assign")?,
                });
            }
            let default = opt_str(obj, q, "Default")?
                .map(|d| scope.target(q, "Default", d))
                .transpose()?;
            if obj.contains_key("Next") || obj.contains_key("End") {
                return Err(problem(
                    q,
                    "Next",
                    "a Choice state cannot have 'Next' or 'End'",
                ));
            }
            Kind::Choice { choices, default }
        }
        "Wait" => {
            allowed(&[
                "Seconds",
                "Timestamp",
                "SecondsPath",
                "TimestampPath",
                "Next",
                "End",
            ])?;
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
            Kind::Wait {
                how,
                next: transition(obj, q, scope)?,
            }
        }
        "Succeed" => {
            allowed(&[])?;
            Kind::Succeed
        }
        "Fail" => {
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
            Kind::Fail {
                error: error_source(obj, q, "Error", "ErrorPath")?,
                cause: error_source(obj, q, "Cause", "CausePath")?,
            }
        }
        "Parallel" => {
            let mut f = io_fields.to_vec();
            f.push("Branches");
            allowed(&f)?;
            let list = match obj.get("Branches") {
                Some(Value::Array(a)) if !a.is_empty() => a,
                _ => return Err(problem(q, "Branches", "must be a non-empty array")),
            };
            let mut branches = Vec::new();
            for (i, b) in list.iter().enumerate() {
                let b = b
                    .as_object()
                    .ok_or_else(|| problem(q, &format!("Branches[{i}]"), "must be an object"))?;
                check_fields(b, q, &["StartAt", "States", "Comment"]).map_err(|mut p| {
                    p.field = format!("Branches[{i}].{}", p.field);
                    p
                })?;
                branches.push(Arc::new(parse_machine(b, &format!("{q}/Branches[{i}]"))?));
            }
            Kind::Parallel {
                branches,
                io: io(obj, q, scope)?,
            }
        }
        "Map" => {
            let mut f = io_fields.to_vec();
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
            allowed(&f)?;
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
            .map_err(|mut p| {
                p.field = format!("{key}.{}", p.field);
                p
            })?;
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
            let processor = Arc::new(parse_machine(proc, &format!("{q}/{key}"))?);
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
            Kind::Map(Box::new(MapSpec {
                processor,
                items_path: opt_path(obj, q, "ItemsPath")?,
                item_selector: item_selector.or(parameters),
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
            }))
        }
        other => return Err(problem(q, "Type", format!("unknown state type '{other}'"))),
    };
    Ok(State {
        name: name.to_owned(),
        kind,
        input_path: path_field(obj, q, "InputPath")?,
        output_path: path_field(obj, q, "OutputPath")?,
        assign: template(obj, q, "Assign")?,
    })
}

fn rule(
    obj: &Map<String, Value>,
    q: &str,
    field: &str,
    top: bool,
) -> Result<Rule, DefinitionProblem> {
    let allowed_extra: &[&str] = if top {
        &["Next", "Assign", "Comment"]
    } else {
        &["Comment"]
    };
    let mut found: Vec<&str> = Vec::new();
    for k in obj.keys() {
        let k = k.as_str();
        if allowed_extra.contains(&k) || k == "Variable" {
            continue;
        }
        let base = k.strip_suffix("Path").unwrap_or(k);
        let known = ["And", "Or", "Not"].contains(&k)
            || OPS
                .iter()
                .any(|(n, _)| *n == k || (*n == base && !n.starts_with("Is")));
        if !known {
            return Err(problem(
                q,
                &format!("{field}.{k}"),
                "this field is not supported in a choice rule",
            ));
        }
        found.push(k);
    }
    if !top && obj.contains_key("Next") {
        return Err(problem(
            q,
            &format!("{field}.Next"),
            "a nested choice rule cannot have 'Next'",
        ));
    }
    let [op] = found.as_slice() else {
        return Err(problem(
            q,
            field,
            "a choice rule needs exactly one comparison operator, 'And', 'Or' or 'Not'",
        ));
    };
    let sub = |key: &str| -> Result<Vec<Rule>, DefinitionProblem> {
        let list = match obj.get(key) {
            Some(Value::Array(a)) if !a.is_empty() => a,
            _ => {
                return Err(problem(
                    q,
                    &format!("{field}.{key}"),
                    "must be a non-empty array of rules",
                ));
            }
        };
        list.iter()
            .enumerate()
            .map(|(i, r)| {
                let f = format!("{field}.{key}[{i}]");
                let r = r
                    .as_object()
                    .ok_or_else(|| problem(q, &f, "must be an object"))?;
                rule(r, q, &f, false)
            })
            .collect()
    };
    match *op {
        "And" => return sub("And").map(Rule::And),
        "Or" => return sub("Or").map(Rule::Or),
        "Not" => {
            let f = format!("{field}.Not");
            let r = obj
                .get("Not")
                .and_then(Value::as_object)
                .ok_or_else(|| problem(q, &f, "must be an object"))?;
            return Ok(Rule::Not(Box::new(rule(r, q, &f, false)?)));
        }
        _ => {}
    }
    let variable = opt_str(obj, q, "Variable")?
        .ok_or_else(|| problem(q, &format!("{field}.Variable"), "is required"))?;
    let variable = Path::parse(variable)
        .map_err(|e| problem(q, &format!("{field}.Variable"), e.to_string()))?;
    let value = &obj[*op];
    let opf = format!("{field}.{op}");
    let (op_enum, operand) = if let Some((_, o)) = OPS.iter().find(|(n, _)| n == op) {
        let o = *o;
        let ok = match o {
            Op::StringEquals
            | Op::StringLessThan
            | Op::StringGreaterThan
            | Op::StringLessThanEquals
            | Op::StringGreaterThanEquals
            | Op::StringMatches => value.is_string(),
            Op::NumericEquals
            | Op::NumericLessThan
            | Op::NumericGreaterThan
            | Op::NumericLessThanEquals
            | Op::NumericGreaterThanEquals => value.is_number(),
            Op::TimestampEquals
            | Op::TimestampLessThan
            | Op::TimestampGreaterThan
            | Op::TimestampLessThanEquals
            | Op::TimestampGreaterThanEquals => {
                value.as_str().is_some_and(|s| parse_timestamp(s).is_some())
            }
            _ => value.is_boolean(),
        };
        if !ok {
            return Err(problem(
                q,
                &opf,
                "the operand has the wrong type for this operator",
            ));
        }
        (o, Operand::Literal(value.clone()))
    } else {
        let base = op.strip_suffix("Path").unwrap_or(op);
        let o = OPS
            .iter()
            .find(|(n, _)| *n == base)
            .map(|(_, o)| *o)
            .ok_or_else(|| problem(q, &opf, "unknown operator"))?;
        let p = value
            .as_str()
            .ok_or_else(|| problem(q, &opf, "must be a path string"))?;
        (
            o,
            Operand::Path(Path::parse(p).map_err(|e| problem(q, &opf, e.to_string()))?),
        )
    };
    Ok(Rule::Compare {
        variable,
        op: op_enum,
        operand,
    })
}

/// Names used by the executor when it reports where a state sits.
pub(crate) fn type_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::Pass { .. } => "Pass",
        Kind::Task(_) => "Task",
        Kind::Choice { .. } => "Choice",
        Kind::Wait { .. } => "Wait",
        Kind::Succeed => "Succeed",
        Kind::Fail { .. } => "Fail",
        Kind::Parallel { .. } => "Parallel",
        Kind::Map(_) => "Map",
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
                json!({"StartAt": "A", "QueryLanguage": "JSONata", "States": {"A": {"Type": "Succeed"}}}),
                "",
                "QueryLanguage",
            ),
            (
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "QueryLanguage": "JSONata", "End": true}}}),
                "A",
                "QueryLanguage",
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
    fn jsonata_is_refused_with_a_clear_message() {
        let p = err(
            json!({"StartAt": "A", "QueryLanguage": "JSONata", "States": {"A": {"Type": "Succeed"}}}),
        );
        assert!(p.to_string().contains("not supported yet"), "{p}");
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
