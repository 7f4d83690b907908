//! The provision-network Lambda function: wiring only (see `lib.rs` for the step).

use lambda_runtime::Error;
use vending_aws::{Clients, DynamoRegistry, MemberAccounts};
use vending_domain::steps::ProvisionNetwork;

#[tokio::main]
async fn main() -> Result<(), Error> {
    vending_runtime::init_tracing();
    let env = vending_runtime::FunctionEnv::read()?;
    let clients = Clients::from_env();
    let config = &vending_runtime::load_config(&clients.config, &env.config).await?;
    let accounts = &MemberAccounts::new(clients.config.clone(), &config.member_role_name);
    let registry = &DynamoRegistry::new(clients.dynamodb.clone(), env.registry_table.clone());
    vending_runtime::serve::<ProvisionNetwork, _, _>(|input| {
        provision_network::handle(accounts, registry, config, input)
    })
    .await
}
