//! The local Step Functions service and EventBridge delivery: what AWS does between the
//! functions, on the sandbox and the local executor.
//!
//! The sandbox's Step Functions (moto) holds the state machine and its executions, so
//! `StartExecution` is the real API, authorized against the caller's policy and with AWS's
//! name rules. The dispatcher runs each new execution on the local executor and reports its
//! end back to the sandbox. The template's EventBridge rules are put on the sandbox's buses
//! with their own patterns, targeting a queue (the sandbox cannot invoke Step Functions from a
//! rule); the dispatcher starts an execution for each event that arrives there, as the rule's
//! Step Functions target would, with the event as input and a generated name.

use crate::sandbox::SandboxControl;
use crate::template::Rule;
use asl_executor::{ExecutionResult, Executor, HistoryEvent};
use aws_config::SdkConfig;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A state machine the sandbox holds and the dispatcher runs.
#[derive(Debug, Clone, Copy)]
pub struct Machine<'a> {
    /// Its logical id in the template (what a rule targets).
    pub logical: &'a str,
    /// Its name.
    pub name: &'a str,
    /// Its definition, with `${...}` where SAM substitutes.
    pub definition: &'a Value,
    /// What SAM would substitute.
    pub substitutions: &'a std::collections::HashMap<String, String>,
}

/// The queue the template's rules for the vending state machine deliver to; another state
/// machine's rules deliver to `<TRIGGER_QUEUE>-<its name>`.
pub const TRIGGER_QUEUE: &str = "tenant-vending-triggers";

/// A queue the rules of one state machine deliver to, and that state machine.
#[derive(Debug, Clone)]
pub struct Trigger {
    /// The queue.
    pub queue_url: String,
    /// The state machine an event there starts.
    pub state_machine_arn: String,
}

/// How often the dispatcher looks for new executions and events.
const TICK: Duration = Duration::from_millis(15);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The service's shared state: executions dispatched, and which are still running.
#[derive(Debug, Default)]
struct Ledger {
    /// Every execution dispatched, in the order it started: (arn, input).
    started: Vec<(String, Value)>,
    /// Those not yet ended.
    running: BTreeSet<String>,
    /// Triggers taken from the queue and not yet started.
    in_flight: usize,
}

/// The local Step Functions service and EventBridge delivery (stopped on drop).
#[derive(Debug)]
pub struct Service {
    ledger: Arc<Mutex<Ledger>>,
    task: tokio::task::JoinHandle<()>,
    sfn: aws_sdk_sfn::Client,
    sqs: aws_sdk_sqs::Client,
    triggers: Vec<Trigger>,
    state_machine_arn: String,
    machines: Vec<String>,
}

impl Drop for Service {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Sets up the sandbox's side: the state machines, a trigger queue for each state machine that
/// rules start, and the rules.
pub async fn prepare(
    root: &SdkConfig,
    machines: &[Machine<'_>],
    rules: &[Rule],
    account_id: &str,
) -> Result<(Vec<String>, Vec<Trigger>), String> {
    let sfn = aws_sdk_sfn::Client::new(root);
    let sqs = aws_sdk_sqs::Client::new(root);
    let events = aws_sdk_eventbridge::Client::new(root);
    let mut arns = Vec::new();
    for machine in machines {
        let mut text = machine.definition.to_string();
        for (k, v) in machine.substitutions {
            text = text.replace(&format!("${{{k}}}"), v);
        }
        let made = sfn
            .create_state_machine()
            .name(machine.name)
            .definition(text)
            .role_arn(format!(
                "arn:aws:iam::{account_id}:role/{}-workflow",
                machine.name
            ))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "creating the state machine {} in the sandbox: {e:?}",
                    machine.name
                )
            })?;
        arns.push(made.state_machine_arn().to_owned());
    }
    sqs.create_queue()
        .queue_name("tenant-vending-trigger-dlq")
        .send()
        .await
        .map_err(|e| format!("creating the dead-letter queue: {e:?}"))?;
    let mut triggers: Vec<(String, Trigger, String)> = Vec::new();
    for rule in rules {
        let Some(index) = machines.iter().position(|m| m.logical == rule.machine) else {
            return Err(format!(
                "the rule {} starts {}, which the local platform does not run",
                rule.name, rule.machine
            ));
        };
        if !triggers
            .iter()
            .any(|(logical, ..)| *logical == rule.machine)
        {
            let queue_name = if index == 0 {
                TRIGGER_QUEUE.to_owned()
            } else {
                format!("{TRIGGER_QUEUE}-{}", machines[index].name)
            };
            let (queue_url, queue_arn) = queue(&sqs, &queue_name).await?;
            triggers.push((
                rule.machine.clone(),
                Trigger {
                    queue_url,
                    state_machine_arn: arns[index].clone(),
                },
                queue_arn,
            ));
        }
        let queue_arn = triggers
            .iter()
            .find(|(logical, ..)| *logical == rule.machine)
            .map(|(.., arn)| arn.clone())
            .unwrap_or_default();
        let mut put = events
            .put_rule()
            .name(&rule.name)
            .event_pattern(rule.pattern.to_string());
        let mut targets = events.put_targets().rule(&rule.name);
        if let Some(bus) = &rule.bus {
            put = put.event_bus_name(bus);
            targets = targets.event_bus_name(bus);
        }
        put.send()
            .await
            .map_err(|e| format!("putting the rule {}: {e:?}", rule.name))?;
        targets
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("vending")
                    .arn(&queue_arn)
                    .build()
                    .map_err(|e| e.to_string())?,
            )
            .send()
            .await
            .map_err(|e| format!("targeting the rule {}: {e:?}", rule.name))?;
    }
    Ok((arns, triggers.into_iter().map(|(_, t, _)| t).collect()))
}

/// A queue by name: its URL and ARN.
async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> Result<(String, String), String> {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| format!("creating the queue {name}: {e:?}"))?
        .queue_url()
        .unwrap_or_default()
        .to_owned();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| format!("reading the queue {name}: {e:?}"))?;
    let arn = attrs
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .cloned()
        .unwrap_or_default();
    Ok((url, arn))
}

impl Service {
    /// Starts the dispatcher for `machines` (the first is the vending workflow, which events
    /// and the console start); with `mirror_history`, each execution's history reaches the
    /// sandbox as it grows (so GetExecutionHistory shows a running execution's state).
    pub fn start(
        root: &SdkConfig,
        executor: Executor,
        control: SandboxControl,
        machines: Vec<String>,
        triggers: Vec<Trigger>,
        mirror_history: bool,
    ) -> Service {
        let state_machine_arn = machines.first().cloned().unwrap_or_default();
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let sfn = aws_sdk_sfn::Client::new(root);
        let sqs = aws_sdk_sqs::Client::new(root);
        let task = tokio::spawn(dispatch(Dispatcher {
            sfn: sfn.clone(),
            sqs: sqs.clone(),
            executor,
            control,
            machines: machines.clone(),
            triggers: triggers.clone(),
            ledger: ledger.clone(),
            mirror_history,
        }));
        Service {
            ledger,
            task,
            sfn,
            sqs,
            triggers,
            state_machine_arn,
            machines,
        }
    }

    /// Starts an execution as the console does (`StartExecution` as the operator).
    pub async fn start_execution(
        &self,
        name: Option<&str>,
        input: &Value,
    ) -> Result<String, String> {
        let out = self
            .sfn
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .set_name(name.map(str::to_owned))
            .input(input.to_string())
            .send()
            .await
            .map_err(|e| format!("StartExecution: {e:?}"))?;
        Ok(out.execution_arn().to_owned())
    }

    /// Every execution dispatched so far, in order, with its input.
    pub fn started(&self) -> Vec<(String, Value)> {
        lock(&self.ledger).started.clone()
    }

    /// Waits until no trigger waits in the queue and no execution runs (at most `limit`).
    pub async fn settle(&self, limit: Duration) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut quiet = 0;
        while tokio::time::Instant::now() < deadline {
            let busy = {
                let l = lock(&self.ledger);
                !l.running.is_empty() || l.in_flight > 0
            };
            let waiting = self.queued().await?;
            let unseen = self.unseen_running().await?;
            quiet = if busy || waiting > 0 || unseen {
                0
            } else {
                quiet + 1
            };
            // Quiet for a few ticks: an event put by the last step may be on its way.
            if quiet >= 4 {
                return Ok(());
            }
            tokio::time::sleep(TICK).await;
        }
        Err(format!("executions still ran after {} s", limit.as_secs()))
    }

    async fn queued(&self) -> Result<usize, String> {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let mut total = 0;
        for trigger in &self.triggers {
            let out = self
                .sqs
                .get_queue_attributes()
                .queue_url(&trigger.queue_url)
                .attribute_names(A::ApproximateNumberOfMessages)
                .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
                .send()
                .await
                .map_err(|e| format!("GetQueueAttributes: {e:?}"))?;
            let attrs = out.attributes();
            let n = |k: A| {
                attrs
                    .and_then(|a| a.get(&k))
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0)
            };
            total +=
                n(A::ApproximateNumberOfMessages) + n(A::ApproximateNumberOfMessagesNotVisible);
        }
        Ok(total)
    }

    async fn unseen_running(&self) -> Result<bool, String> {
        for machine in &self.machines {
            let running = running_executions(&self.sfn, machine).await?;
            let l = lock(&self.ledger);
            if running
                .iter()
                .any(|arn| !l.started.iter().any(|(s, _)| s == arn))
            {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

async fn running_executions(
    sfn: &aws_sdk_sfn::Client,
    state_machine_arn: &str,
) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut pages = sfn
        .list_executions()
        .state_machine_arn(state_machine_arn)
        .status_filter(aws_sdk_sfn::types::ExecutionStatus::Running)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("ListExecutions: {e:?}"))?;
        out.extend(
            page.executions()
                .iter()
                .map(|e| e.execution_arn().to_owned()),
        );
    }
    Ok(out)
}

/// What the dispatcher works with.
struct Dispatcher {
    sfn: aws_sdk_sfn::Client,
    sqs: aws_sdk_sqs::Client,
    executor: Executor,
    control: SandboxControl,
    machines: Vec<String>,
    triggers: Vec<Trigger>,
    ledger: Arc<Mutex<Ledger>>,
    mirror_history: bool,
}

/// The dispatcher: events from the queue become executions; new executions run on the
/// executor, and their ends are reported to the sandbox.
async fn dispatch(d: Dispatcher) {
    let Dispatcher {
        sfn,
        sqs,
        executor,
        control,
        machines,
        triggers,
        ledger,
        mirror_history,
    } = d;
    loop {
        for Trigger {
            queue_url,
            state_machine_arn,
        } in &triggers
        {
            let Ok(got) = sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .send()
                .await
            else {
                continue;
            };
            lock(&ledger).in_flight += got.messages().len();
            for m in got.messages() {
                let input: Value =
                    serde_json::from_str(m.body().unwrap_or("null")).unwrap_or(Value::Null);
                let started = sfn
                    .start_execution()
                    .state_machine_arn(state_machine_arn)
                    .input(input.to_string())
                    .send()
                    .await;
                if started.is_ok() {
                    let _ = sqs
                        .delete_message()
                        .queue_url(queue_url)
                        .receipt_handle(m.receipt_handle().unwrap_or_default())
                        .send()
                        .await;
                }
                lock(&ledger).in_flight -= 1;
            }
        }
        for machine in &machines {
            let Ok(running) = running_executions(&sfn, machine).await else {
                continue;
            };
            for arn in running {
                if lock(&ledger).started.iter().any(|(s, _)| *s == arn) {
                    continue;
                }
                let Ok(described) = sfn.describe_execution().execution_arn(&arn).send().await
                else {
                    continue;
                };
                let input: Value = serde_json::from_str(described.input().unwrap_or("null"))
                    .unwrap_or(Value::Null);
                let name = described.name().unwrap_or_default().to_owned();
                let handle = match executor.start_execution(machine, Some(&name), input.clone()) {
                    Ok(h) => h,
                    Err(e) => {
                        let report = json!({"executionArn": arn, "status": "FAILED", "error": "States.Runtime", "cause": e.to_string()});
                        let _ = control.close_execution(&report);
                        continue;
                    }
                };
                {
                    let mut l = lock(&ledger);
                    l.started.push((arn.clone(), input));
                    l.running.insert(arn.clone());
                }
                let (control, ledger) = (control.clone(), ledger.clone());
                tokio::spawn(async move {
                    let result = if mirror_history {
                        mirrored(&handle, &control).await
                    } else {
                        handle.wait().await
                    };
                    let report = json!({
                        "executionArn": arn,
                        "status": result.status.as_str(),
                        "output": result.output.as_ref().map(Value::to_string),
                        "error": result.error,
                        "cause": result.cause,
                    });
                    let _ =
                        tokio::task::spawn_blocking(move || control.close_execution(&report)).await;
                    lock(&ledger).running.remove(&arn);
                });
            }
        }
        tokio::time::sleep(TICK).await;
    }
}

/// How often a running execution's new history events are sent to the sandbox.
const MIRROR_EVERY: Duration = Duration::from_millis(100);

/// Waits for an execution to end, sending its history to the sandbox as it grows.
async fn mirrored(
    handle: &asl_executor::ExecutionHandle,
    control: &SandboxControl,
) -> ExecutionResult {
    let mut sent = 0;
    let send = |sent: usize| {
        let events: Vec<Value> = handle
            .history_after(sent)
            .iter()
            .map(|e| e.to_json())
            .collect();
        let (control, arn, n) = (control.clone(), handle.arn().to_owned(), events.len());
        async move {
            if n > 0 {
                let _ = tokio::task::spawn_blocking(move || {
                    control.record_history(&arn, sent, &events)
                })
                .await;
            }
            sent + n
        }
    };
    loop {
        tokio::select! {
            result = handle.wait() => {
                send(sent).await;
                return result;
            }
            () = tokio::time::sleep(MIRROR_EVERY) => sent = send(sent).await,
        }
    }
}

/// Waits for the execution `arn` (started through the sandbox) to be dispatched and to end.
pub async fn wait(
    executor: &Executor,
    arn: &str,
    limit: Duration,
) -> Result<(ExecutionResult, Vec<HistoryEvent>), String> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Ok(handle) = executor.execution(arn) {
            let result = handle.wait().await;
            return Ok((result, handle.history()));
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("execution {arn} was never dispatched"));
        }
        tokio::time::sleep(TICK).await;
    }
}

/// How often a `.sync` child's end is looked for.
const CHILD_POLL: Duration = Duration::from_millis(100);

/// The `startExecution.sync:2` integration as Step Functions runs it for a parent on the local
/// platform: the child is started through the sandbox's Step Functions API (so the dispatcher
/// runs it like any other execution, and the registry, `GET /tenants/{id}` and the console see
/// it), then followed with DescribeExecution until it ends. A child of that name that exists
/// already is followed rather than started (a retried parent). The dispatcher acts as the
/// service here, with the sandbox's root credentials.
pub fn child_executions(root: &SdkConfig) -> Arc<dyn asl_executor::TaskHandler> {
    let sfn = aws_sdk_sfn::Client::new(root);
    asl_executor::handler_fn(move |request: asl_executor::TaskRequest| {
        let sfn = sfn.clone();
        async move { start_and_follow(&sfn, &request.payload).await }
    })
}

async fn start_and_follow(
    sfn: &aws_sdk_sfn::Client,
    params: &Value,
) -> Result<Value, asl_executor::TaskError> {
    use asl_executor::TaskError;
    use aws_sdk_sfn::error::ProvideErrorMetadata as _;
    let machine = params["StateMachineArn"].as_str().ok_or_else(|| {
        TaskError::new(
            "StepFunctions.InvalidArnException",
            "The parameter StateMachineArn is required.",
        )
    })?;
    let input = match &params["Input"] {
        Value::Null => json!({}),
        Value::String(text) => serde_json::from_str(text).map_err(|e| {
            TaskError::new(
                "StepFunctions.InvalidExecutionInputException",
                format!("Invalid execution input: {e}"),
            )
        })?,
        other => other.clone(),
    };
    let name = params["Name"].as_str().map(str::to_owned);
    let started = sfn
        .start_execution()
        .state_machine_arn(machine)
        .set_name(name.clone())
        .input(input.to_string())
        .send()
        .await;
    let arn = match started {
        Ok(out) => out.execution_arn().to_owned(),
        Err(e) if e.code() == Some("ExecutionAlreadyExists") => format!(
            "{}:{}",
            machine.replacen(":stateMachine:", ":execution:", 1),
            name.unwrap_or_default()
        ),
        Err(e) => {
            return Err(TaskError::new(
                format!("StepFunctions.{}", e.code().unwrap_or("SdkClientException")),
                e.message().unwrap_or("StartExecution failed").to_owned(),
            ));
        }
    };
    loop {
        let described = sfn
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .map_err(|e| {
                TaskError::new(
                    format!("StepFunctions.{}", e.code().unwrap_or("SdkClientException")),
                    e.message().unwrap_or("DescribeExecution failed").to_owned(),
                )
            })?;
        let status = described.status().as_str().to_owned();
        if status == "RUNNING" {
            tokio::time::sleep(CHILD_POLL).await;
            continue;
        }
        let json_of = |text: Option<&str>| text.and_then(|t| serde_json::from_str(t).ok());
        let millis = |d: Option<&aws_sdk_sfn::primitives::DateTime>| {
            d.and_then(|d| d.to_millis().ok()).unwrap_or_default()
        };
        return asl_executor::ChildExecution {
            execution_arn: arn.clone(),
            name: described.name().unwrap_or_default().to_owned(),
            state_machine_arn: machine.to_owned(),
            status,
            input: input.clone(),
            output: json_of(described.output()),
            error: described.error().map(str::to_owned),
            cause: described.cause().map(str::to_owned),
            start_millis: millis(Some(described.start_date())),
            stop_millis: millis(described.stop_date()),
        }
        .task_result(true);
    }
}
