//! A local interpreter of the Amazon States Language, faithful to AWS Step Functions.
//!
//! It parses and validates a definition ([`StateMachine`]), runs executions of it on an
//! [`Executor`] whose Task states reach in-process handlers ([`TaskHandler`]), keeps an
//! execution history with AWS's event types ([`HistoryEvent`]), and runs on a virtual clock so
//! Wait states and retry intervals cost nothing. [`conformance`] scores it against executions
//! recorded on real AWS.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use asl_executor::{Executor, Status};
//! use serde_json::json;
//!
//! let executor = Executor::default();
//! let definition = json!({"StartAt": "Hello", "States": {
//!     "Hello": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('Hello, {}!', $.name)"}, "End": true}
//! }});
//! let arn = executor.create_state_machine("hello", &definition, &Default::default()).unwrap();
//! let (result, _history) = executor.run(&arn, None, json!({"name": "tenant"})).await.unwrap();
//! assert_eq!(result.status, Status::Succeeded);
//! assert_eq!(result.output, Some(json!({"greeting": "Hello, tenant!"})));
//! # });
//! ```

mod choice;
pub mod conformance;
mod definition;
mod env;
mod execution;
mod executor;
mod history;
mod interpreter;
mod intrinsic;
pub mod jsonata;
pub mod limits;
mod path;
mod task;
mod template;

pub use definition::{DefinitionProblem, StateMachine};
pub use execution::{Error, ExecutionHandle, ExecutionResult, ExecutorConfig, Status, TimeMode};
pub use executor::Executor;
pub use history::{Details, HistoryEvent};
pub use task::{ChildExecution, TaskError, TaskHandler, TaskRequest, handler_fn};

/// Entry points for fuzzing: parse untrusted text without running anything.
pub mod fuzzing {
    /// Parses a definition; must never panic.
    pub fn parse_definition(data: &[u8]) {
        if let Ok(text) = std::str::from_utf8(data) {
            let _ = crate::StateMachine::from_json(text);
        }
    }

    /// Parses `path` as a JSONPath (or an intrinsic call), and as a JSONata expression, and
    /// evaluates it on `doc`; must never panic.
    pub fn eval_path(path: &str, doc: &serde_json::Value) {
        if let Ok(e) = crate::jsonata::Expression::parse(path) {
            let _ = e.evaluate(Some(doc), &[("states", doc)], &crate::jsonata::SystemHost);
        }
        if let Ok(p) = crate::path::Path::parse(path) {
            let _ = p.select(doc);
            let mut copy = doc.clone();
            let _ = p.write(&mut copy, serde_json::Value::Null);
        }
        if let Ok(call) = crate::intrinsic::Call::parse(path) {
            struct Doc<'a>(&'a serde_json::Value);
            impl crate::intrinsic::Resolve for Doc<'_> {
                fn resolve(&self, path: &crate::path::Path) -> Option<serde_json::Value> {
                    path.select(self.0)
                }
            }
            let _ = call.eval(&Doc(doc));
        }
    }
}
