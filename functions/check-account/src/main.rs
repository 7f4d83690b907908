//! The check-account Lambda function: wiring only (see `lib.rs` for the step).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use vending_aws::{Clients, DynamoRegistry, OrganizationsAdapter};

#[tokio::main]
async fn main() -> Result<(), Error> {
    vending_runtime::init_tracing();
    let env = vending_runtime::FunctionEnv::read()?;
    let clients = Clients::from_env();
    let org = &OrganizationsAdapter::new(clients.organizations.clone());
    let registry = &DynamoRegistry::new(clients.dynamodb.clone(), env.registry_table.clone());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        check_account::handle(org, registry, event.payload)
            .await
            .map_err(vending_runtime::diagnostic)
    }))
    .await
}
