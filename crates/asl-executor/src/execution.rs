//! What the executor's service facade and the interpreter share: the registered machines
//! and handlers, each execution's record (history, deadline, the channel its end is sent on),
//! task tokens, and the API's types. Neither the facade (`crate::executor`) nor the
//! interpreter is imported here, so the dependencies run one way: executor, then
//! interpreter, then this.

use crate::definition::{DefinitionProblem, StateMachine};
use crate::env::ExecutionInfo;
use crate::history::{History, HistoryEvent};
use crate::task::TaskHandler;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
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
    /// The execution's input is larger than AWS takes (`limits::MAX_PAYLOAD_BYTES`).
    #[error(
        "the execution input is {0} bytes of JSON, over the limit of {max} bytes",
        max = crate::limits::MAX_PAYLOAD_BYTES
    )]
    InputTooLarge(usize),
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
            Error::InputTooLarge(_) => "ValidationException",
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

pub(crate) struct Machine {
    pub(crate) arn: String,
    pub(crate) name: String,
    pub(crate) definition: Arc<StateMachine>,
}

pub(crate) struct ExecutionShared {
    pub(crate) info: ExecutionInfo,
    pub(crate) history: History,
    pub(crate) deadline: Option<DateTime<Utc>>,
    pub(crate) machine: Arc<Machine>,
    pub(crate) done: watch::Sender<Option<ExecutionResult>>,
}

pub(crate) struct Inner {
    pub(crate) config: ExecutorConfig,
    pub(crate) machines: Mutex<HashMap<String, Arc<Machine>>>,
    pub(crate) functions: Mutex<HashMap<String, Arc<dyn TaskHandler>>>,
    pub(crate) resources: Mutex<HashMap<String, Arc<dyn TaskHandler>>>,
    pub(crate) executions: Mutex<HashMap<String, Arc<ExecutionShared>>>,
    pub(crate) tokens: Mutex<HashMap<String, mpsc::UnboundedSender<Callback>>>,
    pub(crate) counter: AtomicU64,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A started execution.
#[derive(Clone)]
pub struct ExecutionHandle {
    pub(crate) shared: Arc<ExecutionShared>,
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
        self.shared.history.snapshot(0)
    }

    /// The events after the first `seen` (what a caller that already has `seen` events lacks).
    pub fn history_after(&self, seen: usize) -> Vec<HistoryEvent> {
        self.shared.history.snapshot(seen)
    }
}

/// Checks a state machine or execution name against AWS's rules.
pub(crate) fn valid_name(name: &str) -> bool {
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

    pub(crate) fn next_id(&self) -> u64 {
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

    pub(crate) fn callback(&self, token: &str, cb: Callback) -> Result<(), Error> {
        let tokens = lock(&self.tokens);
        let tx = tokens.get(token).ok_or(Error::TaskDoesNotExist)?;
        tx.send(cb).map_err(|_| Error::TaskDoesNotExist)
    }
}
