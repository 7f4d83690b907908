//! The tenant-request Lambda function: wiring only (see `lib.rs` for the handler).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use vending_aws::{Clients, DynamoRegistry, StepFunctionsWorkflow};

#[tokio::main]
async fn main() -> Result<(), Error> {
    vending_runtime::init_tracing();
    let env = vending_runtime::FunctionEnv::read()?;
    let clients = Clients::from_env();
    let config = &vending_runtime::load_config(&clients.config, &env.config).await?;
    let registry = &DynamoRegistry::new(clients.dynamodb.clone(), env.registry_table.clone());
    let mut workflow =
        StepFunctionsWorkflow::new(clients.stepfunctions.clone(), env.state_machine_arn()?);
    if let Some(batch) = env.rerun_state_machine_arn.clone() {
        workflow = workflow.with_batch(batch);
    }
    if let Some(offboarding) = env.offboarding_state_machine_arn.clone() {
        workflow = workflow.with_offboarding(offboarding);
    }
    let workflow = &workflow;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(tenant_request::handle(registry, workflow, config, event.payload).await)
    }))
    .await
}
