//! A Task state's call: its resource (a Lambda function, `lambda:invoke`, a child execution
//! or a registered handler), its timeouts, and the callback a `.waitForTaskToken` task
//! waits for.

use super::jsonata::{JEnv, query_failure};
use super::{At, Cursor, FailKind, Failure, Run, check_payload};
use crate::definition::{Seconds, TaskSpec};
use crate::env::{Env, Vars};
use crate::execution::{Callback, TimeMode};
use crate::intrinsic::Resolve as _;
use crate::limits::Payload;
use crate::task::{
    Pattern, ResourceKind, SyncMode, TaskError, TaskRequest, classify, lambda_function_name,
    lambda_invoke_result,
};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde_json::{Value, json};
use std::time::Duration;

impl Run {
    pub(super) fn resolve_seconds(
        &self,
        at: At<'_>,
        env: &Env<'_>,
        now: DateTime<Utc>,
        s: Option<&Seconds>,
        field: &str,
    ) -> Result<Option<u64>, Failure> {
        match s {
            None => Ok(None),
            Some(Seconds::Fixed(n)) => Ok(Some(*n)),
            Some(Seconds::Expr(t)) => {
                let v = JEnv::new(at, env, now).eval(t, field)?;
                v.as_u64().filter(|n| *n > 0).map(Some).ok_or_else(|| {
                    query_failure(
                        at,
                        format_args!(
                            "The {field} field must evaluate to a positive integer, but was: {v}"
                        ),
                    )
                })
            }
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

    pub(super) async fn task(
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
        let arguments = spec.io.jsonata.as_ref().and_then(|j| j.arguments.as_ref());
        let params = match (&spec.io.parameters, arguments) {
            (Some(t), _) => t
                .eval(&env)
                .map_err(|e| self.template_failure(at, e, &effective))?,
            (None, Some(t)) => JEnv::new(at, &env, cur.now).eval(t, "Arguments")?,
            (None, None) => effective.clone(),
        };
        check_payload(
            &params,
            Payload::TaskInput {
                state: &at.state.name,
            },
        )?;
        let timeout =
            self.resolve_seconds(at, &env, cur.now, spec.timeout.as_ref(), "TimeoutSeconds")?;
        let heartbeat = self.resolve_seconds(
            at,
            &env,
            cur.now,
            spec.heartbeat.as_ref(),
            "HeartbeatSeconds",
        )?;
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
            state_name: at.state.name.to_string(),
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
        let outcome = outcome.and_then(|output| {
            check_payload(
                &output,
                Payload::TaskResult {
                    resource: &spec.resource,
                },
            )
            .map(|()| output)
        });
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

    pub(super) fn call_resource<'a>(
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

    pub(super) async fn start_child(
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
        let handle =
            super::start(&self.inner, arn, name, input.clone(), Some(cur.now)).map_err(|e| {
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

    pub(super) async fn await_callback(
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
