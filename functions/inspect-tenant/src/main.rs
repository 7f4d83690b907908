//! The inspect-tenant Lambda function: wiring only (see `lib.rs` for the drift check).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use vending_aws::{Clients, DynamoRegistry, MemberAccounts};
use vending_gitops::Destination;

/// The git destination's bare clone, kept in `/tmp` between invocations (as HandOff's).
const GIT_CACHE: &str = "/tmp/tenant-vending-gitops.git";

#[tokio::main]
async fn main() -> Result<(), Error> {
    vending_runtime::init_tracing();
    let env = vending_runtime::FunctionEnv::read()?;
    let clients = Clients::from_env();
    let config = &vending_runtime::load_config(&clients.config, &env.config).await?;
    let registry = &DynamoRegistry::new(clients.dynamodb.clone(), env.registry_table.clone());
    let accounts = &MemberAccounts::new(clients.config.clone(), &config.member_role_name);
    let destination =
        &Destination::from_config(config, &clients.config, std::path::Path::new(GIT_CACHE)).await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(
            inspect_tenant::handle(registry, accounts, destination, config, event.payload).await,
        )
    }))
    .await
}
