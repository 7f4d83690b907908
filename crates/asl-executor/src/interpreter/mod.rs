//! Runs a parsed definition: the state types, input/output processing in AWS's order,
//! Retry/Catch, Map and Parallel, timeouts, and the history events each step writes.
//!
//! Time is a per-branch cursor: in virtual mode a Wait or a retry interval moves the cursor
//! instead of sleeping; a Parallel or Map ends at the latest of its branches' cursors.
//!
//! Its parts: `run` starts an execution and writes its first and last events, this module
//! runs a machine's states one after another, `io` is the input/output processing,
//! `retry` is Retry and Catch, `task` calls a Task's resource (and waits for callbacks and
//! child executions), `fanout` is Parallel and Map.

mod fanout;
mod io;
mod jsonata;
mod retry;
mod run;
mod task;

pub(crate) use run::start;

use crate::choice;
use crate::definition::{
    ErrorSource, Kind, MapSpec, State, StateMachine, TaskSpec, Transition, WaitFor,
    parse_timestamp, state_event_types,
};
use crate::env::{Context, Env, Vars};
use crate::execution::{ExecutionShared, Inner, TimeMode};
use crate::history::{Details, payload_text};
use crate::intrinsic::{IntrinsicError, Resolve};
use crate::limits::{DATA_LIMIT_EXCEEDED, Payload, history_full_cause, over_limit, payload_bytes};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

/// Why a state (and so perhaps the execution) failed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub(crate) error: Option<String>,
    pub(crate) cause: Option<String>,
    pub(crate) kind: FailKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailKind {
    /// An error that Retry and Catch may handle.
    Error,
    /// `States.Runtime`: never retried or caught.
    Runtime,
    /// The execution's own `TimeoutSeconds` ran out.
    ExecutionTimeout,
}

impl Failure {
    /// A failure whose error name may be absent (a Fail state without `Error`).
    pub(crate) fn error_opt(error: Option<String>, cause: Option<String>) -> Failure {
        Failure {
            error,
            cause,
            kind: FailKind::Error,
        }
    }

    pub(crate) fn error(error: impl Into<String>, cause: impl Into<Option<String>>) -> Failure {
        Failure {
            error: Some(error.into()),
            cause: cause.into(),
            kind: FailKind::Error,
        }
    }

    fn output(&self) -> Value {
        let mut m = Map::new();
        if let Some(e) = &self.error {
            m.insert("Error".into(), json!(e));
        }
        if let Some(c) = &self.cause {
            m.insert("Cause".into(), json!(c));
        }
        Value::Object(m)
    }
}

/// Where one branch of the execution stands: its clock and its last history event.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cursor {
    pub(crate) now: DateTime<Utc>,
    pub(crate) prev: u64,
}

fn secs(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// One running execution.
pub(crate) struct Run {
    pub(crate) inner: Arc<Inner>,
    pub(crate) exec: Arc<ExecutionShared>,
}

/// The states that Retry and Catch apply to.
#[derive(Clone, Copy)]
enum Attempt<'a> {
    Task(&'a TaskSpec),
    Parallel(&'a [Arc<StateMachine>]),
    Map(&'a MapSpec),
}

/// What a state resolved to.
struct Step {
    output: Value,
    next: Transition,
}

/// The fixed facts of the state being run, for errors and history.
#[derive(Clone, Copy)]
struct At<'a> {
    state: &'a State,
    entered_id: u64,
    entered_time: DateTime<Utc>,
}

impl Run {
    fn push(
        &self,
        cur: &mut Cursor,
        event_type: impl Into<Cow<'static, str>>,
        details: Option<(&'static str, Value)>,
    ) -> u64 {
        let details = details.map(|(key, fields)| Details::fields(key, fields));
        self.push_details(cur, event_type, details)
    }

    fn push_details(
        &self,
        cur: &mut Cursor,
        event_type: impl Into<Cow<'static, str>>,
        details: Option<Details>,
    ) -> u64 {
        let id = self
            .exec
            .history
            .push(cur.prev, cur.now, event_type, details);
        cur.prev = id;
        id
    }

    fn runtime(&self, at: At<'_>, detail: impl std::fmt::Display) -> Failure {
        in_state(at, "States.Runtime", FailKind::Runtime, detail)
    }

    fn context<'a>(
        &'a self,
        at: At<'a>,
        retry_count: Option<u32>,
        task_token: Option<&'a str>,
    ) -> Context<'a> {
        Context {
            execution: &self.exec.info,
            state_name: &at.state.name,
            entered_time: at.entered_time,
            retry_count,
            task_token,
            map_item: None,
        }
    }

    /// Moves the cursor forward by `d`, sleeping in real-time mode; fails when the execution's
    /// own timeout falls inside the wait.
    async fn advance(&self, cur: &mut Cursor, d: Duration) -> Result<(), Failure> {
        let target = cur.now + secs(d);
        if let Some(deadline) = self.exec.deadline
            && target > deadline
        {
            if self.inner.config.time == TimeMode::Real {
                let left = (deadline - cur.now).to_std().unwrap_or_default();
                tokio::time::sleep(left).await;
            }
            cur.now = deadline;
            return Err(execution_timeout());
        }
        match self.inner.config.time {
            TimeMode::Real => tokio::time::sleep(d).await,
            TimeMode::Paced(per_second) => {
                tokio::time::sleep(per_second.mul_f64(d.as_secs_f64())).await;
            }
            TimeMode::Virtual => {}
        }
        cur.now = target;
        Ok(())
    }

    /// Runs a state machine (the top level, a Parallel branch or a Map iteration) to its end.
    pub(crate) fn run_machine<'a>(
        &'a self,
        sm: &'a StateMachine,
        input: Value,
        vars: &'a mut Vars,
        cur: &'a mut Cursor,
    ) -> BoxFuture<'a, Result<Value, Failure>> {
        let fut = async move {
            let mut idx = sm.start_at;
            let mut input = input;
            // The JSON text of the state's input, for its entered event: the previous state's
            // output text, written once for its exited event and the payload limit.
            let mut buf = Vec::new();
            let mut input_text = payload_text(&input, &mut buf);
            loop {
                if let Some(deadline) = self.exec.deadline
                    && cur.now > deadline
                {
                    return Err(execution_timeout());
                }
                if self.inner.config.time == TimeMode::Real {
                    cur.now = cur.now.max(Utc::now());
                }
                let state = &sm.states[idx];
                let (entered, exited) = state_event_types(&state.kind);
                let entered_id = self.push_details(
                    cur,
                    entered,
                    Some(Details::state(
                        "stateEnteredEventDetails",
                        state.name.clone(),
                        "input",
                        input_text,
                    )),
                );
                // A state the full history could not enter does not run.
                if self.exec.history.is_full() {
                    return Err(history_full());
                }
                let at = At {
                    state,
                    entered_id,
                    entered_time: cur.now,
                };
                let step = self.run_state(at, input, vars, cur).await?;
                let output_text = payload_text(&step.output, &mut buf);
                check_size(
                    output_text.len(),
                    Payload::StateOutput { state: &state.name },
                )?;
                self.push_details(
                    cur,
                    exited,
                    Some(Details::state(
                        "stateExitedEventDetails",
                        state.name.clone(),
                        "output",
                        output_text.clone(),
                    )),
                );
                match step.next {
                    Transition::End => return Ok(step.output),
                    Transition::Next(i) => {
                        idx = i;
                        input = step.output;
                        input_text = output_text;
                    }
                }
            }
        };
        Box::pin(fut)
    }

    async fn run_state(
        &self,
        at: At<'_>,
        raw_input: Value,
        vars: &mut Vars,
        cur: &mut Cursor,
    ) -> Result<Step, Failure> {
        let state = at.state;
        match &state.kind {
            Kind::Pass { result, io } => {
                let effective = self.input_view(at, vars, &raw_input)?;
                let res = match result {
                    Some(r) => r.clone(),
                    None => self.apply_template(
                        at,
                        io.parameters.as_ref(),
                        effective.into_owned(),
                        vars,
                    )?,
                };
                self.finish(at, io, raw_input, res, vars)
            }
            Kind::Succeed => {
                let effective = self.apply_input_path(at, vars, raw_input)?;
                let output = self.apply_output_path(at, vars, effective)?;
                Ok(Step {
                    output,
                    next: Transition::End,
                })
            }
            Kind::Fail { error, cause } => {
                let env = Env {
                    data: &raw_input,
                    context: self.context(at, None, None),
                    vars,
                };
                let eval = |src: &Option<ErrorSource>| -> Result<Option<String>, Failure> {
                    match src {
                        None => Ok(None),
                        Some(ErrorSource::Literal(s)) => Ok(Some(s.clone())),
                        Some(ErrorSource::Expr { field, expr }) => match expr.eval(&env) {
                            Ok(Value::String(s)) => Ok(Some(s)),
                            Ok(other) => Ok(Some(other.to_string())),
                            Err(IntrinsicError::PathNotFound(p)) => Err(self.runtime(
                                at,
                                format_args!("The JSONPath '{p}' specified for the field '{field}' could not be found in the input '{raw_input}'"),
                            )),
                            Err(IntrinsicError::Invalid(m)) => Err(self.runtime(at, format_args!("The field '{field}' ({}) failed: {m}", expr.text()))),
                        },
                    }
                };
                let (error, cause) = (eval(error)?, eval(cause)?);
                Err(Failure {
                    error,
                    cause,
                    kind: FailKind::Error,
                })
            }
            Kind::Choice { choices, default } => {
                let effective = self.apply_input_path(at, vars, raw_input)?;
                let env = Env {
                    data: &effective,
                    context: self.context(at, None, None),
                    vars,
                };
                let mut chosen = None;
                for c in choices {
                    if choice::eval(&c.rule, &env).map_err(|m| self.runtime(at, m))? {
                        chosen = Some((c.next, c.assign.as_ref()));
                        break;
                    }
                }
                let (next, assign) = match (chosen, default) {
                    (Some(c), _) => c,
                    (None, Some(d)) => (*d, state.assign.as_ref()),
                    (None, None) => {
                        return Err(Failure::error(
                            "States.NoChoiceMatched",
                            Some("No Matches!".to_owned()),
                        ));
                    }
                };
                self.pass_on(at, assign, effective, vars, Transition::Next(next))
            }
            Kind::Wait { how, next } => {
                let effective = self.apply_input_path(at, vars, raw_input)?;
                let env = Env {
                    data: &effective,
                    context: self.context(at, None, None),
                    vars,
                };
                let delay = match how {
                    WaitFor::Seconds(s) => Duration::from_secs(*s),
                    WaitFor::Timestamp(t) => (t.with_timezone(&Utc) - cur.now)
                        .to_std()
                        .unwrap_or_default(),
                    WaitFor::SecondsPath(p) => {
                        let v = env.resolve(p).ok_or_else(|| self.runtime(at, format_args!("The SecondsPath parameter does not reference an input value: {p}")))?;
                        match v.as_i64() {
                            Some(n) if n >= 0 => Duration::from_secs(n.cast_unsigned()),
                            Some(_) => return Err(self.runtime(at, format_args!("The SecondsPath parameter references a negative value: {p} == {v}"))),
                            None => return Err(self.runtime(at, format_args!("The SecondsPath parameter cannot be parsed as a long value: {p} == {}", plain(&v)))),
                        }
                    }
                    WaitFor::TimestampPath(p) => {
                        let v = env.resolve(p).ok_or_else(|| self.runtime(at, format_args!("The TimestampPath parameter does not reference an input value: {p}")))?;
                        let t = v.as_str().and_then(parse_timestamp).ok_or_else(|| {
                            self.runtime(at, format_args!("The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {p} == {}", plain(&v)))
                        })?;
                        (t.with_timezone(&Utc) - cur.now)
                            .to_std()
                            .unwrap_or_default()
                    }
                };
                self.advance(cur, delay).await?;
                self.pass_on(at, state.assign.as_ref(), effective, vars, *next)
            }
            Kind::Task(spec) => {
                self.with_retry(at, &spec.io, Attempt::Task(spec), raw_input, vars, cur)
                    .await
            }
            Kind::Parallel { branches, io } => {
                self.with_retry(at, io, Attempt::Parallel(branches), raw_input, vars, cur)
                    .await
            }
            Kind::Jsonata(j) => self.run_jsonata(at, j, raw_input, vars, cur).await,
            Kind::Map(spec) => {
                self.with_retry(at, &spec.io, Attempt::Map(spec), raw_input, vars, cur)
                    .await
            }
        }
    }
}

/// A history details object. Built by hand: `json!` would re-serialize the payloads instead of
/// cloning them, which costs more than the state itself on the hot path.
fn details<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// A failure of the state at `at`, its cause in AWS's words: "An error occurred while executing
/// the state 'S' (entered at the event id #N). " and then `detail`.
fn in_state(at: At<'_>, error: &str, kind: FailKind, detail: impl std::fmt::Display) -> Failure {
    Failure {
        error: Some(error.to_owned()),
        cause: Some(format!(
            "An error occurred while executing the state '{}' (entered at the event id #{}). {detail}",
            at.state.name, at.entered_id
        )),
        kind,
    }
}

/// A value as AWS prints it in cause texts: strings without quotes.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn execution_timeout() -> Failure {
    Failure {
        error: Some("States.Timeout".into()),
        cause: Some("The execution timed out.".into()),
        kind: FailKind::ExecutionTimeout,
    }
}

/// `Ok` when `value` fits in a payload, else the `States.DataLimitExceeded` failure.
fn check_payload(value: &Value, at: Payload<'_>) -> Result<(), Failure> {
    check_size(payload_bytes(value), at)
}

/// `Ok` when a payload of `size` bytes of JSON fits, else the `States.DataLimitExceeded`
/// failure.
fn check_size(size: usize, at: Payload<'_>) -> Result<(), Failure> {
    match over_limit(size, at) {
        None => Ok(()),
        Some(cause) => Err(Failure::error(DATA_LIMIT_EXCEEDED, Some(cause))),
    }
}

/// The failure of an execution whose history filled up before its end.
fn history_full() -> Failure {
    Failure {
        error: Some("States.Runtime".into()),
        cause: Some(history_full_cause()),
        kind: FailKind::Runtime,
    }
}
