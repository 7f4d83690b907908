//! The Normalize Lambda function: wiring only (see `lib.rs` for the step).

use lambda_runtime::Error;
use vending_aws::{Clients, DynamoRegistry, OrganizationsAdapter};
use vending_domain::steps::Normalize;

#[tokio::main]
async fn main() -> Result<(), Error> {
    vending_runtime::init_tracing();
    let env = vending_runtime::FunctionEnv::read()?;
    let clients = Clients::from_env();
    let config = &vending_runtime::load_config(&clients.config, &env.config).await?;
    let org = &OrganizationsAdapter::new(clients.organizations.clone());
    let registry = &DynamoRegistry::new(clients.dynamodb.clone(), env.registry_table.clone());
    vending_runtime::serve::<Normalize, _, _>(|input| {
        normalize::handle(org, registry, config, input)
    })
    .await
}
