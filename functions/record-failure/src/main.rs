//! The record-failure Lambda function: wiring only (see `lib.rs` for the step).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use vending_aws::{Clients, DynamoRegistry, EventBridgeBus};

#[tokio::main]
async fn main() -> Result<(), Error> {
    vending_runtime::init_tracing();
    let env = vending_runtime::FunctionEnv::read()?;
    let clients = Clients::from_env();
    let registry = &DynamoRegistry::new(clients.dynamodb.clone(), env.registry_table.clone());
    let bus = &EventBridgeBus::new(clients.eventbridge.clone(), env.event_bus_name.clone());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        record_failure::handle(registry, bus, event.payload)
            .await
            .map_err(vending_runtime::diagnostic)
    }))
    .await
}
