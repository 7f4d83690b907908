//! The hand-off Lambda function: wiring only (see `lib.rs` for the step).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use vending_aws::{Clients, DynamoRegistry, EventBridgeBus};
use vending_gitops::Destination;

/// The git destination's bare clone: Lambda's only writable folder is `/tmp`, kept between
/// invocations of one instance, so a warm instance fetches only what is new.
const GIT_CACHE: &str = "/tmp/tenant-vending-gitops.git";

#[tokio::main]
async fn main() -> Result<(), Error> {
    vending_runtime::init_tracing();
    let env = vending_runtime::FunctionEnv::read()?;
    let clients = Clients::from_env();
    let config = &vending_runtime::load_config(&clients.config, &env.config).await?;
    let registry = &DynamoRegistry::new(clients.dynamodb.clone(), env.registry_table.clone());
    let bus = &EventBridgeBus::new(clients.eventbridge.clone(), env.event_bus_name.clone());
    let destination =
        &Destination::from_config(config, &clients.config, std::path::Path::new(GIT_CACHE)).await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        hand_off::handle(registry, bus, destination, config, event.payload)
            .await
            .map_err(vending_runtime::diagnostic)
    }))
    .await
}
