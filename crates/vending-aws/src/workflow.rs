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

/// The ARN an execution called `name` of `machine` has.
fn execution_arn(machine: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        machine.replacen(":stateMachine:", ":execution:", 1)
    )
}

/// The `Workflow` port on the vending state machine (and the batch re-run one).
#[derive(Debug, Clone)]
pub struct StepFunctionsWorkflow {
    client: Client,
    state_machine_arn: String,
    batch_state_machine_arn: Option<String>,
    offboarding_state_machine_arn: Option<String>,
}

impl StepFunctionsWorkflow {
    /// Starts executions of `state_machine_arn`.
    pub fn new(client: Client, state_machine_arn: impl Into<String>) -> StepFunctionsWorkflow {
        StepFunctionsWorkflow {
            client,
            state_machine_arn: state_machine_arn.into(),
            batch_state_machine_arn: None,
            offboarding_state_machine_arn: None,
        }
    }

    /// Starts batch re-runs as executions of `arn`.
    pub fn with_batch(mut self, arn: impl Into<String>) -> StepFunctionsWorkflow {
        self.batch_state_machine_arn = Some(arn.into());
        self
    }

    /// Starts offboardings as executions of `arn`.
    pub fn with_offboarding(mut self, arn: impl Into<String>) -> StepFunctionsWorkflow {
        self.offboarding_state_machine_arn = Some(arn.into());
        self
    }

    /// Starts execution `name` of `machine`; one of that name that exists counts as started.
    async fn start_on(
        &self,
        machine: &str,
        name: &str,
        input: &serde_json::Value,
    ) -> Result<String, StepError> {
        let result = self
            .client
            .start_execution()
            .state_machine_arn(machine)
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
                Ok(execution_arn(machine, name))
            }
            Err(e) => Err(classify("StartExecution", &e)),
        }
    }

    /// The ARN an execution called `name` of the vending state machine has.
    pub fn execution_arn(&self, name: &str) -> String {
        execution_arn(&self.state_machine_arn, name)
    }
}

impl Workflow for StepFunctionsWorkflow {
    async fn start(&self, name: &str, input: &serde_json::Value) -> Result<String, StepError> {
        self.start_on(&self.state_machine_arn, name, input).await
    }

    async fn start_batch(
        &self,
        name: &str,
        input: &serde_json::Value,
    ) -> Result<String, StepError> {
        let machine = self.batch_state_machine_arn.as_deref().ok_or_else(|| {
            StepError::Internal(
                "no batch re-run state machine is configured (RERUN_STATE_MACHINE_ARN)".into(),
            )
        })?;
        self.start_on(machine, name, input).await
    }

    async fn start_offboarding(
        &self,
        name: &str,
        input: &serde_json::Value,
    ) -> Result<String, StepError> {
        let machine = self
            .offboarding_state_machine_arn
            .as_deref()
            .ok_or_else(|| {
                StepError::Internal(
                    "no offboarding state machine is configured (OFFBOARDING_STATE_MACHINE_ARN)"
                        .into(),
                )
            })?;
        self.start_on(machine, name, input).await
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
