//! Runs a parsed definition: the state types, input/output processing in AWS's order,
//! Retry/Catch, Map and Parallel, timeouts, and the history events each step writes.
//!
//! Time is a per-branch cursor: in virtual mode a Wait or a retry interval moves the cursor
//! instead of sleeping; a Parallel or Map ends at the latest of its branches' cursors.

use crate::choice;
use crate::definition::{
    ErrorSource, Io, Jitter, Kind, Limit, MapSpec, PathField, Retrier, Seconds, State,
    StateMachine, TaskSpec, Transition, WaitFor, parse_timestamp, type_name,
};
use crate::env::{Context, Env, Vars};
use crate::executor::{Callback, ExecutionShared, Inner, TimeMode};
use crate::intrinsic::{IntrinsicError, Resolve};
use crate::path::Path;
use crate::task::{
    Pattern, ResourceKind, SyncMode, TaskError, TaskRequest, classify, lambda_function_name,
    lambda_invoke_result,
};
use crate::template::{Template, TemplateError};
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The most iterations an inline Map runs at once on AWS.
const INLINE_MAP_CONCURRENCY: usize = 40;

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

/// Matches an error name against one `ErrorEquals` entry.
pub(crate) fn error_matches(pattern: &str, error: Option<&str>) -> bool {
    match pattern {
        "States.ALL" => error != Some("States.DataLimitExceeded"),
        "States.TaskFailed" => error.is_some_and(|e| {
            e != "States.Timeout" && e != "States.HeartbeatTimeout" && e != "States.Runtime"
        }),
        p => error == Some(p),
    }
}

/// The delay before retry number `attempt` (0-based) of `r`, with `random` in `[0, 1)` for jitter.
pub(crate) fn retry_delay(r: &Retrier, attempt: u32, random: f64) -> Duration {
    let mut secs = r.interval_seconds as f64
        * r.backoff_rate
            .powi(i32::try_from(attempt).unwrap_or(i32::MAX));
    if let Some(max) = r.max_delay_seconds {
        secs = secs.min(max as f64);
    }
    if r.jitter == Jitter::Full {
        secs *= random;
    }
    Duration::from_secs_f64(secs.clamp(0.0, 99_999_999.0))
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
    Parallel(&'a [Arc<StateMachine>], Option<&'a Template>),
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
        event_type: impl Into<String>,
        details: Option<(&'static str, Value)>,
    ) -> u64 {
        let id = self
            .exec
            .history
            .push(cur.prev, cur.now, event_type, details);
        cur.prev = id;
        id
    }

    fn runtime(&self, at: At<'_>, detail: impl std::fmt::Display) -> Failure {
        Failure {
            error: Some("States.Runtime".into()),
            cause: Some(format!(
                "An error occurred while executing the state '{}' (entered at the event id #{}). {detail}",
                at.state.name, at.entered_id
            )),
            kind: FailKind::Runtime,
        }
    }

    fn template_failure(&self, at: At<'_>, e: TemplateError, input: &Value) -> Failure {
        match e {
            TemplateError::PathNotFound { key, path } => self.runtime(
                at,
                format_args!("The JSONPath '{path}' specified for the field '{key}' could not be found in the input '{input}'"),
            ),
            TemplateError::Intrinsic { key, message } => Failure::error(
                "States.IntrinsicFailure",
                format!(
                    "An error occurred while executing the state '{}' (entered at the event id #{}). The function in the field '{key}' failed: {message}",
                    at.state.name, at.entered_id
                ),
            ),
        }
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
                let ty = type_name(&state.kind);
                let entered_id = self.push(
                    cur,
                    format!("{ty}StateEntered"),
                    Some((
                        "stateEnteredEventDetails",
                        details([
                            ("name", Value::String(state.name.clone())),
                            ("input", input.clone()),
                        ]),
                    )),
                );
                let at = At {
                    state,
                    entered_id,
                    entered_time: cur.now,
                };
                let step = self.run_state(at, input, vars, cur).await?;
                self.push(
                    cur,
                    format!("{ty}StateExited"),
                    Some((
                        "stateExitedEventDetails",
                        details([
                            ("name", Value::String(state.name.clone())),
                            ("output", step.output.clone()),
                        ]),
                    )),
                );
                match step.next {
                    Transition::End => return Ok(step.output),
                    Transition::Next(i) => {
                        idx = i;
                        input = step.output;
                    }
                }
            }
        };
        Box::pin(fut)
    }

    fn apply_input_path(&self, at: At<'_>, vars: &Vars, input: &Value) -> Result<Value, Failure> {
        match &at.state.input_path {
            PathField::Default => Ok(input.clone()),
            PathField::Null => Ok(json!({})),
            PathField::Path(p) => {
                let env = Env {
                    data: input,
                    context: self.context(at, None, None),
                    vars,
                };
                env.resolve(p).ok_or_else(|| self.runtime(at, format_args!("Invalid path '{p}' : No results for path: the InputPath does not match the input '{input}'")))
            }
        }
    }

    fn apply_output_path(&self, at: At<'_>, vars: &Vars, output: Value) -> Result<Value, Failure> {
        match &at.state.output_path {
            PathField::Default => Ok(output),
            PathField::Null => Ok(json!({})),
            PathField::Path(p) => {
                let env = Env {
                    data: &output,
                    context: self.context(at, None, None),
                    vars,
                };
                env.resolve(p).ok_or_else(|| self.runtime(at, format_args!("Invalid path '{p}' : No results for path: the OutputPath does not match the output '{output}'")))
            }
        }
    }

    fn apply_result_path(
        &self,
        at: At<'_>,
        field: &PathField,
        raw_input: Value,
        result: Value,
    ) -> Result<Value, Failure> {
        match field {
            PathField::Default => Ok(result),
            PathField::Null => Ok(raw_input),
            PathField::Path(p) => {
                if p.is_root() {
                    return Ok(result);
                }
                let mut doc = raw_input;
                if p.write(&mut doc, result).is_err() {
                    return Err(self.runtime(
                        at,
                        format_args!("Unable to apply ReferencePath {p} to input {doc}"),
                    ));
                }
                Ok(doc)
            }
        }
    }

    fn eval_assign(
        &self,
        at: At<'_>,
        assign: Option<&Template>,
        data: &Value,
        vars: &Vars,
    ) -> Result<Option<Map<String, Value>>, Failure> {
        let Some(t) = assign else { return Ok(None) };
        let env = Env {
            data,
            context: self.context(at, None, None),
            vars,
        };
        t.eval_object(&env)
            .map(Some)
            .map_err(|e| self.template_failure(at, e, data))
    }

    /// Applies an optional template with `$` naming `data`; without one, `data` passes through.
    fn apply_template(
        &self,
        at: At<'_>,
        template: Option<&Template>,
        data: Value,
        vars: &Vars,
    ) -> Result<Value, Failure> {
        let Some(t) = template else { return Ok(data) };
        let env = Env {
            data: &data,
            context: self.context(at, None, None),
            vars,
        };
        t.eval(&env)
            .map_err(|e| self.template_failure(at, e, &data))
    }

    /// Ends a state that passes its effective input on (Choice, Wait): Assign sees the old
    /// variables, OutputPath applies, then the new variables take effect.
    fn pass_on(
        &self,
        at: At<'_>,
        assign: Option<&Template>,
        effective: Value,
        vars: &mut Vars,
        next: Transition,
    ) -> Result<Step, Failure> {
        let assigned = self.eval_assign(at, assign, &effective, vars)?;
        let output = self.apply_output_path(at, vars, effective)?;
        if let Some(a) = assigned {
            vars.assign(a);
        }
        Ok(Step { output, next })
    }

    /// Finishes a state that produced `result`: ResultSelector, Assign, ResultPath, OutputPath.
    fn finish(
        &self,
        at: At<'_>,
        io: &Io,
        raw_input: Value,
        result: Value,
        vars: &mut Vars,
    ) -> Result<Step, Failure> {
        let result = self.apply_template(at, io.result_selector.as_ref(), result, vars)?;
        let assigned = self.eval_assign(at, at.state.assign.as_ref(), &result, vars)?;
        let output = self.apply_result_path(at, &io.result_path, raw_input, result)?;
        let output = self.apply_output_path(at, vars, output)?;
        if let Some(a) = assigned {
            vars.assign(a);
        }
        Ok(Step {
            output,
            next: io.next,
        })
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
                let effective = self.apply_input_path(at, vars, &raw_input)?;
                let res = match result {
                    Some(r) => r.clone(),
                    None => self.apply_template(at, io.parameters.as_ref(), effective, vars)?,
                };
                self.finish(at, io, raw_input, res, vars)
            }
            Kind::Succeed => {
                let effective = self.apply_input_path(at, vars, &raw_input)?;
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
                let effective = self.apply_input_path(at, vars, &raw_input)?;
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
                let effective = self.apply_input_path(at, vars, &raw_input)?;
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
                self.with_retry(
                    at,
                    io,
                    Attempt::Parallel(branches, io.parameters.as_ref()),
                    raw_input,
                    vars,
                    cur,
                )
                .await
            }
            Kind::Map(spec) => {
                self.with_retry(at, &spec.io, Attempt::Map(spec), raw_input, vars, cur)
                    .await
            }
        }
    }

    /// Runs one attempt of a Task, Parallel or Map state under its Retry and Catch rules.
    async fn with_retry(
        &self,
        at: At<'_>,
        io: &Io,
        what: Attempt<'_>,
        raw_input: Value,
        vars: &mut Vars,
        cur: &mut Cursor,
    ) -> Result<Step, Failure> {
        let effective = self.apply_input_path(at, vars, &raw_input)?;
        let mut counts = vec![0u32; io.retry.len()];
        let mut retries = 0u32;
        loop {
            let outcome = match what {
                // Boxed so that the common path (Pass, Choice, Wait) carries a small future.
                Attempt::Task(spec) => {
                    Box::pin(self.task(at, spec, effective.clone(), vars, cur, retries)).await
                }
                Attempt::Parallel(branches, parameters) => {
                    Box::pin(self.parallel(at, branches, parameters, effective.clone(), vars, cur))
                        .await
                }
                Attempt::Map(spec) => {
                    Box::pin(self.map(at, spec, effective.clone(), vars, cur)).await
                }
            };
            let failure = match outcome {
                Ok(result) => {
                    return self.finish(at, io, raw_input, result, vars);
                }
                Err(f) => f,
            };
            if failure.kind != FailKind::Error {
                return Err(failure);
            }
            let retrier = io.retry.iter().position(|r| {
                r.error_equals
                    .iter()
                    .any(|p| error_matches(p, failure.error.as_deref()))
            });
            if let Some(i) = retrier
                && counts[i] < io.retry[i].max_attempts
            {
                let delay = retry_delay(&io.retry[i], counts[i], rand::random::<f64>());
                counts[i] += 1;
                retries += 1;
                self.advance(cur, delay).await?;
                continue;
            }
            let Some(catcher) = io.catch.iter().find(|c| {
                c.error_equals
                    .iter()
                    .any(|p| error_matches(p, failure.error.as_deref()))
            }) else {
                return Err(failure);
            };
            let error_output = failure.output();
            let assigned = self.eval_assign(at, catcher.assign.as_ref(), &error_output, vars)?;
            let output =
                self.apply_result_path(at, &catcher.result_path, raw_input, error_output)?;
            if let Some(a) = assigned {
                vars.assign(a);
            }
            return Ok(Step {
                output,
                next: Transition::Next(catcher.next),
            });
        }
    }

    fn resolve_seconds(
        &self,
        at: At<'_>,
        env: &Env<'_>,
        s: Option<&Seconds>,
        field: &str,
    ) -> Result<Option<u64>, Failure> {
        match s {
            None => Ok(None),
            Some(Seconds::Fixed(n)) => Ok(Some(*n)),
            Some(Seconds::Path(p)) => {
                let v = env.resolve(p).ok_or_else(|| {
                    self.runtime(
                        at,
                        format_args!(
                            "The {field}Path parameter does not reference an input value: {p}"
                        ),
                    )
                })?;
                v.as_u64()
                    .filter(|n| *n > 0)
                    .map(Some)
                    .ok_or_else(|| self.runtime(at, format_args!("The {field}Path parameter does not reference a positive integer: {p} == {v}")))
            }
        }
    }

    async fn task(
        &self,
        at: At<'_>,
        spec: &TaskSpec,
        effective: Value,
        vars: &Vars,
        cur: &mut Cursor,
        retry: u32,
    ) -> Result<Value, Failure> {
        let (kind, pattern) = classify(&spec.resource);
        let token = (pattern == Pattern::WaitForTaskToken).then(|| self.inner.new_token());
        let ctx = self.context(at, Some(retry), token.as_deref());
        let env = Env {
            data: &effective,
            context: ctx,
            vars,
        };
        let params = match &spec.io.parameters {
            Some(t) => t
                .eval(&env)
                .map_err(|e| self.template_failure(at, e, &effective))?,
            None => effective.clone(),
        };
        let timeout = self.resolve_seconds(at, &env, spec.timeout.as_ref(), "TimeoutSeconds")?;
        let heartbeat =
            self.resolve_seconds(at, &env, spec.heartbeat.as_ref(), "HeartbeatSeconds")?;
        let (rtype, rname) = resource_names(&spec.resource, &kind);
        let lambda_events = matches!(kind, ResourceKind::LambdaArn { .. });
        let prefix = if lambda_events {
            "LambdaFunction"
        } else {
            "Task"
        };
        let mut scheduled = if lambda_events {
            json!({"resource": spec.resource, "input": params})
        } else {
            json!({"resourceType": rtype, "resource": rname, "region": self.inner.config.region, "parameters": params})
        };
        if let Some(t) = timeout {
            scheduled["timeoutInSeconds"] = json!(t);
        }
        if let Some(h) = heartbeat.filter(|_| !lambda_events) {
            scheduled["heartbeatInSeconds"] = json!(h);
        }
        let details_key = |suffix: &str| -> &'static str {
            match (lambda_events, suffix) {
                (true, "Scheduled") => "lambdaFunctionScheduledEventDetails",
                (true, "Succeeded") => "lambdaFunctionSucceededEventDetails",
                (true, "Failed") => "lambdaFunctionFailedEventDetails",
                (true, _) => "lambdaFunctionTimedOutEventDetails",
                (false, "Scheduled") => "taskScheduledEventDetails",
                (false, "Started") => "taskStartedEventDetails",
                (false, "Submitted") => "taskSubmittedEventDetails",
                (false, "Succeeded") => "taskSucceededEventDetails",
                (false, "Failed") => "taskFailedEventDetails",
                (false, _) => "taskTimedOutEventDetails",
            }
        };
        self.push(
            cur,
            format!("{prefix}Scheduled"),
            Some((details_key("Scheduled"), scheduled)),
        );
        let started = if lambda_events {
            None
        } else {
            Some((
                details_key("Started"),
                json!({"resourceType": rtype, "resource": rname}),
            ))
        };
        self.push(cur, format!("{prefix}Started"), started);

        let request = TaskRequest {
            payload: params.clone(),
            execution_arn: self.exec.info.id.clone(),
            execution_name: self.exec.info.name.clone(),
            state_name: at.state.name.clone(),
            task_token: token.clone(),
        };
        let callback = token.as_ref().map(|t| self.inner.register_token(t));
        let call = self.call_resource(&spec.resource, &kind, params, request, cur);
        let outcome = match timeout {
            Some(t) if self.inner.config.time == TimeMode::Real || callback.is_none() => {
                match tokio::time::timeout(Duration::from_secs(t), call).await {
                    Ok(r) => r,
                    Err(_) => Err(Failure::error("States.Timeout", None)),
                }
            }
            _ => call.await,
        };
        let outcome = match (outcome, callback) {
            (Ok(submitted), Some(mut rx)) => {
                if !lambda_events {
                    self.push(
                        cur,
                        "TaskSubmitted",
                        Some((
                            details_key("Submitted"),
                            json!({"resourceType": rtype, "resource": rname, "output": submitted}),
                        )),
                    );
                }
                let r = self.await_callback(&mut rx, timeout, heartbeat, cur).await;
                if let Some(t) = &token {
                    self.inner.forget_token(t);
                }
                r
            }
            (r, cb) => {
                if let (Some(_), Some(t)) = (cb, &token) {
                    self.inner.forget_token(t);
                }
                r
            }
        };
        match outcome {
            Ok(output) => {
                let mut d = json!({"output": output});
                if !lambda_events {
                    d["resourceType"] = json!(rtype);
                    d["resource"] = json!(rname);
                }
                self.push(
                    cur,
                    format!("{prefix}Succeeded"),
                    Some((details_key("Succeeded"), d)),
                );
                Ok(output)
            }
            Err(f) => {
                let timed_out = matches!(
                    f.error.as_deref(),
                    Some("States.Timeout" | "States.HeartbeatTimeout")
                );
                let mut d = json!({"error": f.error, "cause": f.cause});
                if !lambda_events {
                    d["resourceType"] = json!(rtype);
                    d["resource"] = json!(rname);
                }
                let (suffix, key) = if timed_out {
                    ("TimedOut", details_key("TimedOut"))
                } else {
                    ("Failed", details_key("Failed"))
                };
                if f.kind == FailKind::Error {
                    self.push(cur, format!("{prefix}{suffix}"), Some((key, d)));
                }
                Err(f)
            }
        }
    }

    fn call_resource<'a>(
        &'a self,
        resource: &'a str,
        kind: &'a ResourceKind,
        params: Value,
        mut request: TaskRequest,
        cur: &'a Cursor,
    ) -> BoxFuture<'a, Result<Value, Failure>> {
        Box::pin(async move {
            let lambda_failure =
                |e: TaskError| Failure::error(e.error_type.clone(), Some(e.lambda_cause()));
            match kind {
                ResourceKind::LambdaArn { function } => {
                    let handler = self
                        .inner
                        .function(function)
                        .or_else(|| self.inner.resource(resource))
                        .ok_or_else(|| {
                            Failure::error(
                                "Lambda.ResourceNotFoundException",
                                Some(format!("Function not found: {resource}")),
                            )
                        })?;
                    handler.invoke(request).await.map_err(lambda_failure)
                }
                ResourceKind::LambdaInvoke => {
                    let name = params
                        .get("FunctionName")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let handler = lambda_function_name(name)
                        .and_then(|f| self.inner.function(&f))
                        .ok_or_else(|| {
                            Failure::error(
                                "Lambda.ResourceNotFoundException",
                                Some(format!("Function not found: {name}")),
                            )
                        })?;
                    request.payload = params.get("Payload").cloned().unwrap_or_else(|| json!({}));
                    let payload = handler.invoke(request).await.map_err(lambda_failure)?;
                    Ok(lambda_invoke_result(payload, &self.inner.new_request_id()))
                }
                // A host that runs child executions itself (the local platform starts them
                // through its Step Functions API) registers the resource; else they run here.
                ResourceKind::StartExecution { sync } => match self.inner.resource(resource) {
                    Some(handler) => {
                        request.payload = params;
                        handler
                            .invoke(request)
                            .await
                            .map_err(|e| Failure::error(e.error_type, Some(e.error_message)))
                    }
                    None => self.start_child(&params, *sync, cur).await,
                },
                ResourceKind::Other => {
                    let handler = self.inner.resource(resource).ok_or_else(|| {
                        Failure::error(
                            "States.TaskFailed",
                            Some(format!(
                                "No local handler is registered for the resource '{resource}'."
                            )),
                        )
                    })?;
                    handler
                        .invoke(request)
                        .await
                        .map_err(|e| Failure::error(e.error_type, Some(e.error_message)))
                }
            }
        })
    }

    async fn start_child(
        &self,
        params: &Value,
        sync: SyncMode,
        cur: &Cursor,
    ) -> Result<Value, Failure> {
        let invalid =
            |m: &str| Failure::error("StepFunctions.InvalidArnException", Some(m.to_owned()));
        let arn = params
            .get("StateMachineArn")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("The parameter StateMachineArn is required."))?;
        let input = match params.get("Input") {
            None => json!({}),
            Some(Value::String(s)) => serde_json::from_str(s).map_err(|e| {
                Failure::error(
                    "StepFunctions.InvalidExecutionInputException",
                    Some(format!("Invalid execution input: {e}")),
                )
            })?,
            Some(v) => v.clone(),
        };
        let name = params.get("Name").and_then(Value::as_str);
        let handle = self
            .inner
            .start(arn, name, input.clone(), Some(cur.now))
            .map_err(|e| {
                Failure::error(format!("StepFunctions.{}", e.code()), Some(e.to_string()))
            })?;
        if sync == SyncMode::No {
            return Ok(
                json!({"ExecutionArn": handle.arn(), "StartDate": cur.now.timestamp_millis()}),
            );
        }
        let done = handle.wait().await;
        crate::task::ChildExecution {
            execution_arn: done.execution_arn,
            name: done.name,
            state_machine_arn: arn.to_owned(),
            status: done.status.as_str().to_owned(),
            input,
            output: done.output,
            error: done.error,
            cause: done.cause,
            start_millis: done.start.timestamp_millis(),
            stop_millis: done.stop.timestamp_millis(),
        }
        .task_result(sync == SyncMode::V2)
        .map_err(|e| Failure::error(e.error_type, Some(e.error_message)))
    }

    async fn await_callback(
        &self,
        rx: &mut tokio::sync::mpsc::UnboundedReceiver<Callback>,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
        cur: &mut Cursor,
    ) -> Result<Value, Failure> {
        let start = tokio::time::Instant::now();
        let virtual_start = cur.now;
        let mut last_beat = start;
        loop {
            let real = self.inner.config.time == TimeMode::Real;
            let wait = if real {
                let to_timeout = timeout.map(|t| {
                    (start + Duration::from_secs(t))
                        .saturating_duration_since(tokio::time::Instant::now())
                });
                let to_beat = heartbeat.map(|h| {
                    (last_beat + Duration::from_secs(h))
                        .saturating_duration_since(tokio::time::Instant::now())
                });
                match (to_timeout, to_beat) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            } else if timeout.is_some() || heartbeat.is_some() {
                Some(self.inner.config.callback_grace)
            } else {
                None
            };
            let msg = match wait {
                Some(d) => tokio::time::timeout(d, rx.recv()).await.ok(),
                None => Some(rx.recv().await),
            };
            match msg {
                Some(Some(Callback::Success(v))) => {
                    if real {
                        cur.now = Utc::now();
                    }
                    return Ok(v);
                }
                Some(Some(Callback::Failure { error, cause })) => {
                    if real {
                        cur.now = Utc::now();
                    }
                    return Err(Failure {
                        error: Some(error),
                        cause,
                        kind: FailKind::Error,
                    });
                }
                Some(Some(Callback::Heartbeat)) => last_beat = tokio::time::Instant::now(),
                Some(None) => {
                    return Err(Failure::error(
                        "States.TaskFailed",
                        Some("The task token was discarded.".to_owned()),
                    ));
                }
                None => {
                    // Nothing arrived in time: the earlier of the two limits fires.
                    let beat_first = match (heartbeat, timeout) {
                        (Some(h), Some(t)) => h < t,
                        (Some(_), None) => true,
                        _ => false,
                    };
                    let (limit, error) = if beat_first {
                        (heartbeat, "States.HeartbeatTimeout")
                    } else {
                        (timeout, "States.Timeout")
                    };
                    cur.now = if real {
                        Utc::now()
                    } else {
                        virtual_start
                            + chrono::Duration::seconds(
                                i64::try_from(limit.unwrap_or(0)).unwrap_or(i64::MAX),
                            )
                    };
                    return Err(Failure::error(error, None));
                }
            }
        }
    }

    async fn parallel(
        &self,
        at: At<'_>,
        branches: &[Arc<StateMachine>],
        parameters: Option<&Template>,
        effective: Value,
        vars: &Vars,
        cur: &mut Cursor,
    ) -> Result<Value, Failure> {
        let input = self.apply_template(at, parameters, effective, vars)?;
        self.push(cur, "ParallelStateStarted", None);
        let start = *cur;
        let futures = branches.iter().map(|b| {
            let input = input.clone();
            let mut branch_vars = vars.child();
            async move {
                let mut c = start;
                let r = self.run_machine(b, input, &mut branch_vars, &mut c).await;
                (r, c)
            }
        });
        let results = futures::future::join_all(futures).await;
        let mut outputs = Vec::with_capacity(results.len());
        let mut failure = None;
        for (r, c) in results {
            cur.now = cur.now.max(c.now);
            match r {
                Ok(v) => outputs.push(v),
                Err(f) => {
                    if failure.is_none() {
                        failure = Some(f);
                    }
                }
            }
        }
        if let Some(f) = failure {
            self.push(cur, "ParallelStateFailed", None);
            return Err(f);
        }
        self.push(cur, "ParallelStateSucceeded", None);
        Ok(Value::Array(outputs))
    }

    fn resolve_limit(
        &self,
        at: At<'_>,
        env: &Env<'_>,
        limit: &Limit,
        field: &str,
        float: bool,
    ) -> Result<f64, Failure> {
        match limit {
            Limit::Fixed(n) => Ok(*n),
            Limit::Path(p) => {
                let v = env.resolve(p).ok_or_else(|| {
                    self.runtime(
                        at,
                        format_args!(
                            "The {field}Path field refers to a value that does not exist: {p}"
                        ),
                    )
                })?;
                let parsed = match &v {
                    Value::Number(n) if float => n.as_f64(),
                    Value::Number(n) => n.as_i64().map(|i| i as f64),
                    Value::String(s) if float => s.trim().parse::<f64>().ok(),
                    Value::String(s) => s.trim().parse::<i64>().ok().map(|i| i as f64),
                    _ => None,
                };
                let kind = if float { "float" } else { "integer" };
                parsed.ok_or_else(|| self.runtime(at, format_args!("The {field}Path field refers to value \"{v}\" which is not a valid {kind}: {p}")))
            }
        }
    }

    async fn map(
        &self,
        at: At<'_>,
        spec: &MapSpec,
        effective: Value,
        vars: &Vars,
        cur: &mut Cursor,
    ) -> Result<Value, Failure> {
        let env = Env {
            data: &effective,
            context: self.context(at, None, None),
            vars,
        };
        let items = match &spec.items_path {
            None => effective.clone(),
            Some(p) => env.resolve(p).ok_or_else(|| self.runtime(at, format_args!("Invalid path '{p}' : No results for path: the ItemsPath does not match the input '{effective}'")))?,
        };
        let Value::Array(items) = items else {
            let shown = spec
                .items_path
                .as_ref()
                .map_or_else(|| "$".to_owned(), Path::to_string);
            return Err(self.runtime(
                at,
                format_args!("Item selector {shown} does not reference a JSON array in the input"),
            ));
        };
        let max_conc =
            self.resolve_limit(at, &env, &spec.max_concurrency, "MaxConcurrency", false)?;
        if max_conc < 0.0 {
            return Err(self.runtime(at, "MaxConcurrency cannot be negative."));
        }
        let tolerated_count = spec
            .tolerated_count
            .as_ref()
            .map(|l| self.resolve_limit(at, &env, l, "ToleratedFailureCount", false))
            .transpose()?;
        if tolerated_count.is_some_and(|c| c < 0.0) {
            return Err(self.runtime(at, "ToleratedFailureCount cannot be negative."));
        }
        let tolerated_pct = spec
            .tolerated_percentage
            .as_ref()
            .map(|l| self.resolve_limit(at, &env, l, "ToleratedFailurePercentage", true))
            .transpose()?;
        if tolerated_pct.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
            return Err(self.runtime(at, "ToleratedFailurePercentage must be between 0 and 100."));
        }
        let tolerant = tolerated_count.is_some() || tolerated_pct.is_some();

        // Every item's input, computed before any iteration runs, as AWS does.
        let mut inputs = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            inputs.push(match &spec.item_selector {
                Some(sel) => {
                    let mut ctx = self.context(at, None, None);
                    ctx.map_item = Some((index, item));
                    let env = Env {
                        data: &effective,
                        context: ctx,
                        vars,
                    };
                    sel.eval(&env)
                        .map_err(|e| self.template_failure(at, e, &effective))?
                }
                None => item.clone(),
            });
        }
        let total = inputs.len();
        self.push(
            cur,
            "MapStateStarted",
            Some(("mapStateStartedEventDetails", json!({"length": total}))),
        );
        let start = *cur;
        // An inline Map runs at most 40 iterations at once on AWS, whatever MaxConcurrency says
        // ("Inline mode supports up to 40 concurrent iterations").
        let requested = usize::try_from(max_conc as u64)
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or(INLINE_MAP_CONCURRENCY);
        let slots = requested.min(INLINE_MAP_CONCURRENCY).min(total).max(1);
        let free_at: Mutex<BinaryHeap<Reverse<DateTime<Utc>>>> =
            Mutex::new((0..slots).map(|_| Reverse(start.now)).collect());
        let name = &at.state.name;
        let processor = &spec.processor;
        let iterations = inputs.into_iter().enumerate().map(|(index, input)| {
            let free_at = &free_at;
            let mut it_vars = vars.child();
            async move {
                let begin = free_at
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .pop()
                    .map_or(start.now, |Reverse(t)| t);
                let mut c = Cursor {
                    now: begin,
                    prev: start.prev,
                };
                self.push(
                    &mut c,
                    "MapIterationStarted",
                    Some((
                        "mapIterationStartedEventDetails",
                        details([
                            ("name", Value::String(name.clone())),
                            ("index", Value::from(index)),
                        ]),
                    )),
                );
                let r = self
                    .run_machine(processor, input, &mut it_vars, &mut c)
                    .await;
                let ev = if r.is_ok() {
                    "MapIterationSucceeded"
                } else {
                    "MapIterationFailed"
                };
                let key = if r.is_ok() {
                    "mapIterationSucceededEventDetails"
                } else {
                    "mapIterationFailedEventDetails"
                };
                self.push(
                    &mut c,
                    ev,
                    Some((
                        key,
                        details([
                            ("name", Value::String(name.clone())),
                            ("index", Value::from(index)),
                        ]),
                    )),
                );
                free_at
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(Reverse(c.now));
                (r, c.now)
            }
        });
        let mut stream = futures::stream::iter(iterations).buffered(slots);
        let mut outputs = Vec::with_capacity(total);
        let mut failures = 0usize;
        let mut end = start.now;
        while let Some((r, t)) = stream.next().await {
            end = end.max(t);
            match r {
                Ok(v) => outputs.push(v),
                Err(f) if f.kind != FailKind::Error || !tolerant => {
                    drop(stream);
                    cur.now = end;
                    self.push(cur, "MapStateFailed", None);
                    return Err(f);
                }
                Err(f) => {
                    failures += 1;
                    outputs.push(f.output());
                    let over_count = tolerated_count.is_none_or(|c| failures as f64 > c);
                    let over_pct =
                        tolerated_pct.is_none_or(|p| failures as f64 * 100.0 / total as f64 > p);
                    if over_count && over_pct {
                        drop(stream);
                        cur.now = end;
                        self.push(cur, "MapStateFailed", None);
                        return Err(Failure::error(
                            "States.ExceedToleratedFailureThreshold",
                            Some(
                                "The specified tolerated failure threshold was exceeded".to_owned(),
                            ),
                        ));
                    }
                }
            }
        }
        cur.now = end;
        self.push(cur, "MapStateSucceeded", None);
        Ok(Value::Array(outputs))
    }
}

/// A history details object. Built by hand: `json!` would re-serialize the payloads instead of
/// cloning them, which costs more than the state itself on the hot path.
fn details<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
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

/// `resourceType` and `resource` as the history shows them (`lambda` / `invoke`).
fn resource_names(resource: &str, kind: &ResourceKind) -> (String, String) {
    if let Some(rest) = resource.strip_prefix("arn:aws:states:::")
        && let Some((service, action)) = rest.split_once(':')
    {
        return (service.to_owned(), action.to_owned());
    }
    match kind {
        ResourceKind::LambdaArn { .. } => ("lambda".into(), resource.to_owned()),
        _ => ("local".into(), resource.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retrier(interval: u64, backoff: f64, max_delay: Option<u64>, jitter: Jitter) -> Retrier {
        Retrier {
            error_equals: vec!["X".into()],
            interval_seconds: interval,
            max_attempts: 5,
            backoff_rate: backoff,
            max_delay_seconds: max_delay,
            jitter,
        }
    }

    #[test]
    fn backoff_arithmetic_matches_the_documentation() {
        // IntervalSeconds 3, BackoffRate 2 waits 3, 6, 12, 24 seconds (AWS error-handling guide).
        let r = retrier(3, 2.0, None, Jitter::None);
        let waits: Vec<u64> = (0..4).map(|a| retry_delay(&r, a, 0.5).as_secs()).collect();
        assert_eq!(waits, [3, 6, 12, 24]);
        // MaxDelaySeconds caps the growth.
        let capped = retrier(3, 2.0, Some(10), Jitter::None);
        let waits: Vec<u64> = (0..4)
            .map(|a| retry_delay(&capped, a, 0.5).as_secs())
            .collect();
        assert_eq!(waits, [3, 6, 10, 10]);
        // Full jitter scales the delay by a random factor in [0, 1).
        let jittered = retrier(3, 2.0, Some(10), Jitter::Full);
        assert_eq!(retry_delay(&jittered, 2, 0.5), Duration::from_secs(5));
        assert_eq!(retry_delay(&jittered, 2, 0.0), Duration::ZERO);
    }

    #[test]
    fn error_names_match_as_aws_documents() {
        assert!(error_matches("States.ALL", Some("Anything")));
        assert!(error_matches("States.ALL", None));
        assert!(!error_matches(
            "States.ALL",
            Some("States.DataLimitExceeded")
        ));
        assert!(error_matches(
            "States.TaskFailed",
            Some("Lambda.ServiceException")
        ));
        assert!(!error_matches("States.TaskFailed", Some("States.Timeout")));
        assert!(error_matches("Throttled", Some("Throttled")));
        assert!(!error_matches("State.ALL", Some("Throttled")));
    }
}
