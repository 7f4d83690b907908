//! The provision-network Lambda function: wiring only (see `lib.rs` for the step).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use vending_aws::{Clients, DynamoRegistry, MemberAccounts};

#[tokio::main]
async fn main() -> Result<(), Error> {
    vending_runtime::init_tracing();
    let env = vending_runtime::FunctionEnv::read()?;
    let clients = Clients::from_env();
    let config = &vending_runtime::load_config(&clients.config, &env.config).await?;
    let accounts = &MemberAccounts::new(clients.config.clone(), &config.member_role_name);
    let registry = &DynamoRegistry::new(clients.dynamodb.clone(), env.registry_table.clone());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        provision_network::handle(accounts, registry, config, event.payload)
            .await
            .map_err(vending_runtime::diagnostic)
    }))
    .await
}
