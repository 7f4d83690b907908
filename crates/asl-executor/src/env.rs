//! What a path can reach while a state runs: the state's data (`$`), the context object (`$$`)
//! and the workflow variables (`$name`), with the variable scopes of Map and Parallel.

use crate::intrinsic::Resolve;
use crate::path::{Path, Root};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Variables visible to a running branch: its own, then those of the enclosing scopes.
///
/// A Map iteration or Parallel branch reads the variables of the state machine around it but
/// writes only its own scope, as in AWS.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    parent: Option<Arc<Frozen>>,
    local: Map<String, Value>,
}

#[derive(Debug)]
struct Frozen {
    parent: Option<Arc<Frozen>>,
    vars: Map<String, Value>,
}

impl Vars {
    /// Looks a variable up, innermost scope first.
    pub fn get(&self, name: &str) -> Option<&Value> {
        if let Some(v) = self.local.get(name) {
            return Some(v);
        }
        let mut scope = self.parent.as_deref();
        while let Some(s) = scope {
            if let Some(v) = s.vars.get(name) {
                return Some(v);
            }
            scope = s.parent.as_deref();
        }
        None
    }

    /// Sets variables in the innermost scope.
    pub fn assign(&mut self, values: Map<String, Value>) {
        self.local.extend(values);
    }

    /// A new inner scope that reads a snapshot of this one.
    /// Every variable in scope, the innermost value of each name.
    pub fn visible(&self) -> Map<String, Value> {
        let mut frames = vec![&self.local];
        let mut scope = self.parent.as_deref();
        while let Some(s) = scope {
            frames.push(&s.vars);
            scope = s.parent.as_deref();
        }
        let mut out = Map::new();
        for frame in frames.into_iter().rev() {
            out.extend(frame.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        out
    }

    pub fn child(&self) -> Vars {
        if self.local.is_empty() {
            return Vars {
                parent: self.parent.clone(),
                local: Map::new(),
            };
        }
        Vars {
            parent: Some(Arc::new(Frozen {
                parent: self.parent.clone(),
                vars: self.local.clone(),
            })),
            local: Map::new(),
        }
    }
}

/// The parts of the context object that stay fixed for a whole execution.
#[derive(Debug, Clone)]
pub struct ExecutionInfo {
    /// The execution ARN.
    pub id: String,
    /// The execution name.
    pub name: String,
    /// The execution input.
    pub input: Value,
    /// When it started, ISO-8601 with milliseconds.
    pub start_time: String,
    /// The role the execution runs as.
    pub role_arn: String,
    /// The state machine ARN.
    pub state_machine_id: String,
    /// The state machine name.
    pub state_machine_name: String,
    /// How many times the execution was redriven.
    pub redrive_count: u32,
}

/// The context object as one state sees it; built into JSON only when a `$$` path is read.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Execution-wide facts.
    pub execution: &'a ExecutionInfo,
    /// The current state's name.
    pub state_name: &'a str,
    /// When the state was entered.
    pub entered_time: DateTime<Utc>,
    /// Retries so far of this state.
    pub retry_count: Option<u32>,
    /// The task token, for `.waitForTaskToken` tasks.
    pub task_token: Option<&'a str>,
    /// The Map item, inside a Map iteration's `ItemSelector`.
    pub map_item: Option<(usize, &'a Value)>,
}

impl Context<'_> {
    /// The context object as JSON.
    pub fn to_json(self) -> Value {
        let e = self.execution;
        let entered = self
            .entered_time
            .to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut state = json!({"Name": self.state_name, "EnteredTime": entered});
        if let Some(r) = self.retry_count {
            state["RetryCount"] = json!(r);
        }
        let mut ctx = json!({
            "Execution": {
                "Id": e.id, "Input": e.input, "StartTime": e.start_time, "Name": e.name,
                "RoleArn": e.role_arn, "RedriveCount": e.redrive_count,
            },
            "StateMachine": {"Id": e.state_machine_id, "Name": e.state_machine_name},
            "State": state,
        });
        if let Some(t) = self.task_token {
            ctx["Task"] = json!({"Token": t});
        }
        if let Some((index, value)) = self.map_item {
            ctx["Map"] = json!({"Item": {"Index": index, "Value": value}});
        }
        ctx
    }
}

/// Everything a path can reach while a state runs.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    /// The document `$` names.
    pub data: &'a Value,
    /// The context object.
    pub context: Context<'a>,
    /// The variables in scope.
    pub vars: &'a Vars,
}

impl Resolve for Env<'_> {
    fn resolve(&self, path: &Path) -> Option<Value> {
        match path.root() {
            Root::Data => path.select(self.data),
            Root::Context => path.select(&self.context.to_json()),
            Root::Variable(name) => path.select(self.vars.get(name)?),
        }
    }
}
