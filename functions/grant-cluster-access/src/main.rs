//! The grant-cluster-access Lambda function: wiring only (see `lib.rs` for the step).

use lambda_runtime::Error;
use vending_aws::{Clients, MemberAccounts};
use vending_domain::steps::GrantClusterAccess;

#[tokio::main]
async fn main() -> Result<(), Error> {
    vending_runtime::init_tracing();
    let env = vending_runtime::FunctionEnv::read()?;
    let clients = Clients::from_env();
    let config = &vending_runtime::load_config(&clients.config, &env.config).await?;
    let accounts = &MemberAccounts::new(clients.config.clone(), &config.member_role_name);
    vending_runtime::serve::<GrantClusterAccess, _, _>(|input| {
        grant_cluster_access::handle(accounts, config, input)
    })
    .await
}
