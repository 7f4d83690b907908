//! A machine's states: parsed in their scope, with transitions that must name a state of that
//! scope and every state reachable from `StartAt`.

use super::fields::{opt_str, problem, req_str};
use super::states::parse_state;
use super::{DefinitionProblem, Io, JKind, Kind, State, StateMachine, Transition};
use serde_json::{Map, Value};
use std::collections::HashMap;

pub(super) struct Scope<'a> {
    names: &'a HashMap<String, usize>,
    prefix: &'a str,
    /// The machine's query language is JSONata (a state may choose otherwise).
    pub(super) jsonata: bool,
}

impl Scope<'_> {
    pub(super) fn qualified(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }

    pub(super) fn target(
        &self,
        state: &str,
        field: &str,
        name: &str,
    ) -> Result<usize, DefinitionProblem> {
        self.names.get(name).copied().ok_or_else(|| {
            problem(
                state,
                field,
                format!("names the state '{name}', which does not exist in this scope"),
            )
        })
    }
}

pub(super) fn parse_machine(
    obj: &Map<String, Value>,
    prefix: &str,
    jsonata: bool,
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
        jsonata,
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

pub(super) fn successors(s: &State) -> Vec<usize> {
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
        Kind::Jsonata(j) => match &j.kind {
            JKind::Pass { next } | JKind::Wait { next, .. } => tr(next),
            JKind::Choice { choices, default } => {
                extra = choices.iter().map(|c| c.next).chain(*default).collect();
            }
            JKind::Succeed | JKind::Fail { .. } => {}
        },
        Kind::Succeed | Kind::Fail { .. } => {}
    }
    out.extend(extra);
    out
}

pub(super) fn check_reachable(m: &StateMachine, prefix: &str) -> Result<(), DefinitionProblem> {
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
            name.to_string()
        } else {
            format!("{prefix}/{name}")
        };
        return Err(problem(&q, "", "this state is unreachable from StartAt"));
    }
    Ok(())
}

pub(super) fn transition(
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
