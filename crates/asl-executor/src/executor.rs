//! The local Step Functions service: state machines, executions started by name, task-token
//! callbacks, and the handlers Task states resolve to.

use crate::definition::{DefinitionProblem, StateMachine, resources};
use crate::env::{ExecutionInfo, Vars};
use crate::history::{History, HistoryEvent};
use crate::interpreter::{Cursor, FailKind, Run};
use crate::intrinsic::json_eq;
use crate::task::{ResourceKind, TaskHandler, classify};
use chrono::{DateTime, SecondsFormat, SubsecRound as _, Utc};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Errors of the executor's API (not of the workflows it runs).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The definition breaks a rule of the Amazon States Language.
    #[error("invalid definition: {0}")]
    InvalidDefinition(DefinitionProblem),
    /// A Task names a resource that has no handler.
    #[error(
        "invalid definition: the resource '{0}' has no local handler; register a function or resource for it"
    )]
    UnknownResource(String),
    /// No state machine has this ARN.
    #[error("state machine does not exist: {0}")]
    StateMachineDoesNotExist(String),
    /// No execution has this ARN.
    #[error("execution does not exist: {0}")]
    ExecutionDoesNotExist(String),
    /// An execution with this name already ran with a different input.
    #[error("execution already exists with a different input: {0}")]
    ExecutionAlreadyExists(String),
    /// The name breaks AWS's naming rules.
    #[error(
        "invalid name '{0}': use 1 to 80 characters without whitespace, brackets, wildcards or the characters \"#%\\^|~`$&,;:/"
    )]
    InvalidName(String),
    /// The task token is unknown or its task already finished.
    #[error("task token does not exist or its task is closed")]
    TaskDoesNotExist,
}

impl Error {
    /// AWS's exception name for this error, used inside `StepFunctions.*` task errors.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidDefinition(_) | Error::UnknownResource(_) => "InvalidDefinitionException",
            Error::StateMachineDoesNotExist(_) => "StateMachineDoesNotExistException",
            Error::ExecutionDoesNotExist(_) => "ExecutionDoesNotExistException",
            Error::ExecutionAlreadyExists(_) => "ExecutionAlreadyExistsException",
            Error::InvalidName(_) => "InvalidNameException",
            Error::TaskDoesNotExist => "TaskDoesNotExistException",
        }
    }
}

/// How time passes for Wait states, retry intervals and timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeMode {
    /// A clock that jumps: a 15-second poll loop finishes in microseconds.
    #[default]
    Virtual,
    /// The wall clock, for demos.
    Real,
    /// The virtual clock, with each virtual second of a Wait or a Retry's interval taking this
    /// much real time: executions that wait on each other through AWS (a queue for a shared
    /// slot, say) then wait in proportion, instead of one spinning through its waits while the
    /// others' AWS calls are still on their way.
    Paced(Duration),
}

/// Settings of a local executor.
#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    /// Virtual or real time.
    pub time: TimeMode,
    /// The region in ARNs.
    pub region: String,
    /// The account id in ARNs.
    pub account_id: String,
    /// In virtual time, how long (real time) a `.waitForTaskToken` task waits for its callback
    /// before its `TimeoutSeconds` or `HeartbeatSeconds` is taken to have passed.
    pub callback_grace: Duration,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig {
            time: TimeMode::Virtual,
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            callback_grace: Duration::from_secs(5),
        }
    }
}

/// The status of an execution, as AWS names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Still going.
    Running,
    /// Ended in a Succeed state or an End.
    Succeeded,
    /// Ended with an error.
    Failed,
    /// Ran past its `TimeoutSeconds`.
    TimedOut,
}

impl Status {
    /// `RUNNING`, `SUCCEEDED`, `FAILED` or `TIMED_OUT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
        }
    }
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionResult {
    /// The execution ARN.
    pub execution_arn: String,
    /// The execution name.
    pub name: String,
    /// How it ended.
    pub status: Status,
    /// The output, when it succeeded.
    pub output: Option<Value>,
    /// The error name, when it failed.
    pub error: Option<String>,
    /// The cause, when it failed.
    pub cause: Option<String>,
    /// When it started.
    pub start: DateTime<Utc>,
    /// When it stopped (virtual time in the default mode).
    pub stop: DateTime<Utc>,
}

impl ExecutionResult {
    /// The result in the shape `vend states run` prints.
    pub fn to_json(&self) -> Value {
        json!({"status": self.status.as_str(), "output": self.output, "error": self.error, "cause": self.cause})
    }
}

pub(crate) enum Callback {
    Success(Value),
    Failure {
        error: String,
        cause: Option<String>,
    },
    Heartbeat,
}

struct Machine {
    arn: String,
    name: String,
    definition: Arc<StateMachine>,
}

pub(crate) struct ExecutionShared {
    pub(crate) info: ExecutionInfo,
    pub(crate) history: History,
    pub(crate) deadline: Option<DateTime<Utc>>,
    machine: Arc<Machine>,
    done: watch::Sender<Option<ExecutionResult>>,
}

pub(crate) struct Inner {
    pub(crate) config: ExecutorConfig,
    machines: Mutex<HashMap<String, Arc<Machine>>>,
    functions: Mutex<HashMap<String, Arc<dyn TaskHandler>>>,
    resources: Mutex<HashMap<String, Arc<dyn TaskHandler>>>,
    executions: Mutex<HashMap<String, Arc<ExecutionShared>>>,
    tokens: Mutex<HashMap<String, mpsc::UnboundedSender<Callback>>>,
    counter: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A started execution.
#[derive(Clone)]
pub struct ExecutionHandle {
    shared: Arc<ExecutionShared>,
}

impl std::fmt::Debug for ExecutionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutionHandle")
            .field("arn", &self.shared.info.id)
            .finish()
    }
}

impl ExecutionHandle {
    /// The execution ARN.
    pub fn arn(&self) -> &str {
        &self.shared.info.id
    }

    /// Waits for the execution to end.
    pub async fn wait(&self) -> ExecutionResult {
        let mut rx = self.shared.done.subscribe();
        loop {
            if let Some(r) = rx.borrow_and_update().clone() {
                return r;
            }
            if rx.changed().await.is_err() {
                // The sender lives in `shared`, which we hold: this cannot happen.
                continue;
            }
        }
    }

    /// The history so far.
    pub fn history(&self) -> Vec<HistoryEvent> {
        self.shared.history.snapshot()
    }
}

/// Checks a state machine or execution name against AWS's rules.
fn valid_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=80).contains(&n)
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c))
}

impl Inner {
    pub(crate) fn function(&self, name: &str) -> Option<Arc<dyn TaskHandler>> {
        lock(&self.functions).get(name).cloned()
    }

    pub(crate) fn resource(&self, resource: &str) -> Option<Arc<dyn TaskHandler>> {
        lock(&self.resources).get(resource).cloned()
    }

    fn next_id(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn new_token(&self) -> String {
        format!("{}-{:016x}", uuid::Uuid::new_v4().simple(), self.next_id())
    }

    pub(crate) fn new_request_id(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }

    pub(crate) fn register_token(&self, token: &str) -> mpsc::UnboundedReceiver<Callback> {
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.tokens).insert(token.to_owned(), tx);
        rx
    }

    pub(crate) fn forget_token(&self, token: &str) {
        lock(&self.tokens).remove(token);
    }

    fn callback(&self, token: &str, cb: Callback) -> Result<(), Error> {
        let tokens = lock(&self.tokens);
        let tx = tokens.get(token).ok_or(Error::TaskDoesNotExist)?;
        tx.send(cb).map_err(|_| Error::TaskDoesNotExist)
    }

    /// Starts an execution (or returns the one that ran under this name with the same input).
    pub(crate) fn start(
        self: &Arc<Self>,
        machine_arn: &str,
        name: Option<&str>,
        input: Value,
        at: Option<DateTime<Utc>>,
    ) -> Result<ExecutionHandle, Error> {
        let machine = lock(&self.machines)
            .get(machine_arn)
            .cloned()
            .ok_or_else(|| Error::StateMachineDoesNotExist(machine_arn.to_owned()))?;
        let name = match name {
            Some(n) if !valid_name(n) => return Err(Error::InvalidName(n.to_owned())),
            Some(n) => n.to_owned(),
            None => uuid::Uuid::new_v4().to_string(),
        };
        let arn = format!(
            "arn:aws:states:{}:{}:execution:{}:{name}",
            self.config.region, self.config.account_id, machine.name
        );
        // AWS keeps timestamps to the millisecond.
        let start = at.unwrap_or_else(Utc::now).trunc_subsecs(3);
        let shared = {
            let mut execs = lock(&self.executions);
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
                        self.config.account_id
                    ),
                    state_machine_id: machine.arn.clone(),
                    state_machine_name: machine.name.clone(),
                    redrive_count: 0,
                },
                history: History::default(),
                deadline: machine.definition.timeout_seconds.map(|t| {
                    start + chrono::Duration::seconds(i64::try_from(t).unwrap_or(i64::MAX))
                }),
                machine: machine.clone(),
                done: watch::channel(None).0,
            });
            execs.insert(arn, shared.clone());
            shared
        };
        let run = Run {
            inner: self.clone(),
            exec: shared.clone(),
        };
        tokio::spawn(async move { execute(run, start).await });
        Ok(ExecutionHandle { shared })
    }
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
        Some((
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
    let info = &run.exec.info;
    let result = match outcome {
        Ok(output) => {
            run.exec.history.push(
                cur.prev,
                cur.now,
                "ExecutionSucceeded",
                Some(("executionSucceededEventDetails", json!({"output": output}))),
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
            run.exec
                .history
                .push(cur.prev, cur.now, ev, Some((key, Value::Object(details))));
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

/// A local AWS Step Functions: create state machines, start executions, answer callbacks.
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Default for Executor {
    fn default() -> Self {
        Executor::new(ExecutorConfig::default())
    }
}

impl Executor {
    /// A new executor with no state machines and no handlers.
    pub fn new(config: ExecutorConfig) -> Executor {
        Executor {
            inner: Arc::new(Inner {
                config,
                machines: Mutex::default(),
                functions: Mutex::default(),
                resources: Mutex::default(),
                executions: Mutex::default(),
                tokens: Mutex::default(),
                counter: AtomicU64::new(0),
            }),
        }
    }

    /// The executor's settings.
    pub fn config(&self) -> &ExecutorConfig {
        &self.inner.config
    }

    /// Registers a Lambda function by name (or ARN): Task states reach it through its ARN or
    /// through `arn:aws:states:::lambda:invoke` with `FunctionName`.
    pub fn register_function(&self, name_or_arn: &str, handler: Arc<dyn TaskHandler>) {
        let name = crate::task::lambda_function_name(name_or_arn)
            .unwrap_or_else(|| name_or_arn.to_owned());
        lock(&self.inner.functions).insert(name, handler);
    }

    /// Registers a handler for one exact resource string (an ARN or an unsubstituted `${Name}`).
    pub fn register_resource(&self, resource: &str, handler: Arc<dyn TaskHandler>) {
        lock(&self.inner.resources).insert(resource.to_owned(), handler);
    }

    /// The ARN a state machine of this name gets.
    pub fn state_machine_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:states:{}:{}:stateMachine:{name}",
            self.inner.config.region, self.inner.config.account_id
        )
    }

    /// Creates (or replaces) a state machine from a definition, after replacing every
    /// `${Name}` found in its strings with `substitutions[Name]`, as SAM's
    /// `DefinitionSubstitutions` does. Returns its ARN.
    pub fn create_state_machine(
        &self,
        name: &str,
        definition: &Value,
        substitutions: &HashMap<String, String>,
    ) -> Result<String, Error> {
        if !valid_name(name) {
            return Err(Error::InvalidName(name.to_owned()));
        }
        let mut definition = definition.clone();
        substitute(&mut definition, substitutions);
        let parsed = StateMachine::from_value(&definition).map_err(Error::InvalidDefinition)?;
        let mut used = HashSet::new();
        resources(&parsed, &mut used);
        for r in used {
            let resolvable = match classify(&r).0 {
                ResourceKind::LambdaInvoke | ResourceKind::StartExecution { .. } => true,
                ResourceKind::LambdaArn { function } => {
                    self.inner.function(&function).is_some() || self.inner.resource(&r).is_some()
                }
                ResourceKind::Other => self.inner.resource(&r).is_some(),
            };
            if !resolvable {
                return Err(Error::UnknownResource(r));
            }
        }
        let arn = self.state_machine_arn(name);
        lock(&self.inner.machines).insert(
            arn.clone(),
            Arc::new(Machine {
                arn: arn.clone(),
                name: name.to_owned(),
                definition: Arc::new(parsed),
            }),
        );
        Ok(arn)
    }

    /// Starts an execution. With a name that already ran with the same input, returns that
    /// execution; with a different input, fails with [`Error::ExecutionAlreadyExists`].
    pub fn start_execution(
        &self,
        state_machine_arn: &str,
        name: Option<&str>,
        input: Value,
    ) -> Result<ExecutionHandle, Error> {
        self.inner.start(state_machine_arn, name, input, None)
    }

    /// Starts an execution and waits for its end.
    pub async fn run(
        &self,
        state_machine_arn: &str,
        name: Option<&str>,
        input: Value,
    ) -> Result<(ExecutionResult, Vec<HistoryEvent>), Error> {
        let handle = self.start_execution(state_machine_arn, name, input)?;
        let result = handle.wait().await;
        Ok((result, handle.history()))
    }

    /// The execution with this ARN.
    pub fn execution(&self, execution_arn: &str) -> Result<ExecutionHandle, Error> {
        lock(&self.inner.executions)
            .get(execution_arn)
            .cloned()
            .map(|shared| ExecutionHandle { shared })
            .ok_or_else(|| Error::ExecutionDoesNotExist(execution_arn.to_owned()))
    }

    /// `SendTaskSuccess`: completes a `.waitForTaskToken` task with `output`.
    pub fn send_task_success(&self, token: &str, output: Value) -> Result<(), Error> {
        self.inner.callback(token, Callback::Success(output))
    }

    /// `SendTaskFailure`: fails a `.waitForTaskToken` task.
    pub fn send_task_failure(
        &self,
        token: &str,
        error: &str,
        cause: Option<&str>,
    ) -> Result<(), Error> {
        self.inner.callback(
            token,
            Callback::Failure {
                error: error.to_owned(),
                cause: cause.map(str::to_owned),
            },
        )
    }

    /// `SendTaskHeartbeat`: tells a waiting task its worker is alive.
    pub fn send_task_heartbeat(&self, token: &str) -> Result<(), Error> {
        self.inner.callback(token, Callback::Heartbeat)
    }
}

/// Replaces `${Name}` in every string of `v`.
fn substitute(v: &mut Value, subs: &HashMap<String, String>) {
    match v {
        Value::String(s) if s.contains("${") => {
            for (k, val) in subs {
                let needle = format!("${{{k}}}");
                if s.contains(&needle) {
                    *s = s.replace(&needle, val);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, subs)),
        Value::Object(m) => m.values_mut().for_each(|x| substitute(x, subs)),
        _ => {}
    }
}
