//! Step Functions behind the `Workflow` port: the portal's request function starts vending.

use crate::classify::classify;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionError;
use aws_sdk_sfn::operation::start_execution::StartExecutionError;
use vending_domain::StepError;
use vending_domain::ports::{ExecutionProgress, Workflow};

/// How many of the newest history events are read for the state a running execution is in:
/// a state's own events (entered, scheduled, started, succeeded) come first, so the newest
/// `StateEntered` is well within them.
const RECENT_EVENTS: i32 = 20;

/// The `Workflow` port on the vending state machine.
#[derive(Debug, Clone)]
pub struct StepFunctionsWorkflow {
    client: Client,
    state_machine_arn: String,
}

impl StepFunctionsWorkflow {
    /// Starts executions of `state_machine_arn`.
    pub fn new(client: Client, state_machine_arn: impl Into<String>) -> StepFunctionsWorkflow {
        StepFunctionsWorkflow {
            client,
            state_machine_arn: state_machine_arn.into(),
        }
    }

    /// The ARN an execution called `name` of the state machine has.
    pub fn execution_arn(&self, name: &str) -> String {
        format!(
            "{}:{name}",
            self.state_machine_arn
                .replacen(":stateMachine:", ":execution:", 1)
        )
    }
}

impl Workflow for StepFunctionsWorkflow {
    async fn start(&self, name: &str, input: &serde_json::Value) -> Result<String, StepError> {
        let result = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.execution_arn().to_owned()),
            // The same request submitted again: its execution runs or ran already.
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(StartExecutionError::ExecutionAlreadyExists(_))
                ) =>
            {
                Ok(self.execution_arn(name))
            }
            Err(e) => Err(classify("StartExecution", &e)),
        }
    }

    async fn progress(&self, name: &str) -> Result<Option<ExecutionProgress>, StepError> {
        let arn = self.execution_arn(name);
        let described = match self
            .client
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DescribeExecutionError::ExecutionDoesNotExist(_))
                ) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(classify("DescribeExecution", &e)),
        };
        let status = described.status().as_str().to_owned();
        let history = self
            .client
            .get_execution_history()
            .execution_arn(&arn)
            .reverse_order(true)
            .max_results(RECENT_EVENTS)
            .include_execution_data(false)
            .send()
            .await
            .map_err(|e| classify("GetExecutionHistory", &e))?;
        let state = history
            .events()
            .iter()
            .find_map(|e| e.state_entered_event_details())
            .map(|d| d.name().to_owned());
        Ok(Some(ExecutionProgress {
            execution_arn: arn,
            status,
            state,
        }))
    }
}
