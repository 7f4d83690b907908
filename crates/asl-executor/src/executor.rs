//! The local Step Functions service: state machines, executions started by name, task-token
//! callbacks, and the handlers Task states resolve to.

use crate::definition::{StateMachine, resources};
use crate::execution::{
    Callback, Error, ExecutionHandle, ExecutionResult, ExecutorConfig, Inner, Machine, lock,
    valid_name,
};
use crate::history::HistoryEvent;
use crate::interpreter;
use crate::task::{ResourceKind, TaskHandler, classify};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

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
        interpreter::start(&self.inner, state_machine_arn, name, input, None)
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
