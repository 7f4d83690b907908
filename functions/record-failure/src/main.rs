//! The record-failure Lambda function: wiring only (see `lib.rs` for the step).

use lambda_runtime::Error;
use vending_aws::{Clients, DynamoRegistry, EventBridgeBus};
use vending_domain::steps::RecordFailure;

#[tokio::main]
async fn main() -> Result<(), Error> {
    vending_runtime::init_tracing();
    let env = vending_runtime::FunctionEnv::read()?;
    let clients = Clients::from_env();
    let registry = &DynamoRegistry::new(clients.dynamodb.clone(), env.registry_table.clone());
    let bus = &EventBridgeBus::new(clients.eventbridge.clone(), env.event_bus_name.clone());
    vending_runtime::serve::<RecordFailure, _, _>(|input| {
        record_failure::handle(registry, bus, input)
    })
    .await
}
