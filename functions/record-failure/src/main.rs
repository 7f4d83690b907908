//! The record-failure Lambda function: wiring only (see `lib.rs` for the step).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use vending_aws::{Clients, DynamoRegistry, EventBridgeBus};

#[tokio::main]
async fn main() -> Result<(), Error> {
    vending_runtime::init_tracing();
    let table = std::env::var("REGISTRY_TABLE").map_err(|_| "REGISTRY_TABLE is not set")?;
    let bus_name = std::env::var("EVENT_BUS_NAME").map_err(|_| "EVENT_BUS_NAME is not set")?;
    let clients = Clients::from_env();
    let registry = &DynamoRegistry::new(clients.dynamodb.clone(), table);
    let bus = &EventBridgeBus::new(clients.eventbridge.clone(), bus_name);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        record_failure::handle(registry, bus, event.payload)
            .await
            .map_err(vending_runtime::diagnostic)
    }))
    .await
}
