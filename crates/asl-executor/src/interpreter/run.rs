//! Starting an execution (by name, idempotently, within AWS's limits) and running it from
//! its `ExecutionStarted` event to the event that ends it.

use super::{Cursor, FailKind, Run, history_full};
use crate::env::{ExecutionInfo, Vars};
use crate::execution::{
    Error, ExecutionHandle, ExecutionResult, ExecutionShared, Inner, Status, lock, valid_name,
};
use crate::history::{Details, History};
use crate::intrinsic::json_eq;
use chrono::{DateTime, SecondsFormat, SubsecRound as _, Utc};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::watch;

/// Starts an execution (or returns the one that ran under this name with the same input).
pub(crate) fn start(
    inner: &Arc<Inner>,
    machine_arn: &str,
    name: Option<&str>,
    input: Value,
    at: Option<DateTime<Utc>>,
) -> Result<ExecutionHandle, Error> {
    let machine = lock(&inner.machines)
        .get(machine_arn)
        .cloned()
        .ok_or_else(|| Error::StateMachineDoesNotExist(machine_arn.to_owned()))?;
    let size = crate::limits::payload_bytes(&input);
    if size > crate::limits::MAX_PAYLOAD_BYTES {
        return Err(Error::InputTooLarge(size));
    }
    let name = match name {
        Some(n) if !valid_name(n) => return Err(Error::InvalidName(n.to_owned())),
        Some(n) => n.to_owned(),
        None => uuid::Uuid::new_v4().to_string(),
    };
    let arn = format!(
        "arn:aws:states:{}:{}:execution:{}:{name}",
        inner.config.region, inner.config.account_id, machine.name
    );
    // AWS keeps timestamps to the millisecond.
    let start = at.unwrap_or_else(Utc::now).trunc_subsecs(3);
    let shared = {
        let mut execs = lock(&inner.executions);
        if let Some(existing) = execs.get(&arn) {
            if json_eq(&existing.info.input, &input) {
                return Ok(ExecutionHandle {
                    shared: existing.clone(),
                });
            }
            return Err(Error::ExecutionAlreadyExists(arn));
        }
        let shared = Arc::new(ExecutionShared {
            info: ExecutionInfo {
                id: arn.clone(),
                name: name.clone(),
                input: input.clone(),
                start_time: start.to_rfc3339_opts(SecondsFormat::Millis, true),
                role_arn: format!(
                    "arn:aws:iam::{}:role/local-states-execution",
                    inner.config.account_id
                ),
                state_machine_id: machine.arn.clone(),
                state_machine_name: machine.name.clone(),
                redrive_count: 0,
            },
            history: History::default(),
            deadline: machine
                .definition
                .timeout_seconds
                .map(|t| start + chrono::Duration::seconds(i64::try_from(t).unwrap_or(i64::MAX))),
            machine: machine.clone(),
            done: watch::channel(None).0,
        });
        execs.insert(arn, shared.clone());
        shared
    };
    let run = Run {
        inner: inner.clone(),
        exec: shared.clone(),
    };
    tokio::spawn(async move { execute(run, start).await });
    Ok(ExecutionHandle { shared })
}

async fn execute(run: Run, start: DateTime<Utc>) {
    let mut cur = Cursor {
        now: start,
        prev: 0,
    };
    let input = run.exec.info.input.clone();
    run.exec.history.push(
        0,
        start,
        "ExecutionStarted",
        Some(Details::fields(
            "executionStartedEventDetails",
            json!({"input": input, "roleArn": run.exec.info.role_arn}),
        )),
    );
    cur.prev = 1;
    let definition = run.exec.machine.definition.clone();
    let mut vars = Vars::default();
    let outcome = run
        .run_machine(&definition, input, &mut vars, &mut cur)
        .await;
    // An event the full history refused fails the execution, even one that then ended well.
    let outcome = match outcome {
        Ok(_) if run.exec.history.is_full() => Err(history_full()),
        other => other,
    };
    let info = &run.exec.info;
    let result = match outcome {
        Ok(output) => {
            run.exec.history.push(
                cur.prev,
                cur.now,
                "ExecutionSucceeded",
                Some(Details::fields(
                    "executionSucceededEventDetails",
                    json!({"output": output}),
                )),
            );
            ExecutionResult {
                execution_arn: info.id.clone(),
                name: info.name.clone(),
                status: Status::Succeeded,
                output: Some(output),
                error: None,
                cause: None,
                start,
                stop: cur.now,
            }
        }
        Err(f) => {
            let (status, ev, key) = if f.kind == FailKind::ExecutionTimeout {
                (
                    Status::TimedOut,
                    "ExecutionTimedOut",
                    "executionTimedOutEventDetails",
                )
            } else {
                (
                    Status::Failed,
                    "ExecutionFailed",
                    "executionFailedEventDetails",
                )
            };
            let mut details = serde_json::Map::new();
            if let Some(e) = &f.error {
                details.insert("error".into(), json!(e));
            }
            if let Some(c) = &f.cause {
                details.insert("cause".into(), json!(c));
            }
            run.exec.history.push(
                cur.prev,
                cur.now,
                ev,
                Some(Details::fields(key, Value::Object(details))),
            );
            ExecutionResult {
                execution_arn: info.id.clone(),
                name: info.name.clone(),
                status,
                output: None,
                error: f.error,
                cause: f.cause,
                start,
                stop: cur.now,
            }
        }
    };
    run.exec.done.send_replace(Some(result));
}
