//! Helpers shared by the executor's integration tests.

use asl_executor::{ExecutionResult, Executor, HistoryEvent};
use serde_json::Value;
use std::collections::HashMap;

/// Creates a state machine of `definition` on `executor` and runs it to its end on `input`.
pub async fn run_on(
    executor: &Executor,
    definition: Value,
    input: Value,
) -> (ExecutionResult, Vec<HistoryEvent>) {
    let arn = executor
        .create_state_machine("test", &definition, &HashMap::new())
        .expect("valid definition");
    executor
        .run(&arn, None, input)
        .await
        .expect("execution starts")
}
