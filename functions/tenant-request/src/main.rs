//! The tenant-request Lambda function: wiring only (see `lib.rs` for the handler).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use vending_aws::{Clients, DynamoRegistry, StepFunctionsWorkflow};

#[tokio::main]
async fn main() -> Result<(), Error> {
    vending_runtime::init_tracing();
    let table = std::env::var("REGISTRY_TABLE").map_err(|_| "REGISTRY_TABLE is not set")?;
    let machine = std::env::var("STATE_MACHINE_ARN").map_err(|_| "STATE_MACHINE_ARN is not set")?;
    let clients = Clients::from_env();
    let config = &vending_runtime::load_config(&clients.config).await?;
    let registry = &DynamoRegistry::new(clients.dynamodb.clone(), table);
    let workflow = &StepFunctionsWorkflow::new(clients.stepfunctions.clone(), machine);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(tenant_request::handle(registry, workflow, config, event.payload).await)
    }))
    .await
}
