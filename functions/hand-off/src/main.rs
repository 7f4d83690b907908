//! The hand-off Lambda function: wiring only (see `lib.rs` for the step).

use lambda_runtime::Error;
use vending_aws::{Clients, DynamoRegistry, EventBridgeBus};
use vending_domain::steps::HandOff;
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
    vending_runtime::serve::<HandOff, _, _>(|input| {
        hand_off::handle(registry, bus, destination, config, input)
    })
    .await
}
