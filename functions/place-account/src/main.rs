//! The place-account Lambda function: wiring only (see `lib.rs` for the step).

use lambda_runtime::Error;
use vending_aws::{Clients, MemberAccounts, OrganizationsAdapter};
use vending_domain::steps::PlaceAccount;

#[tokio::main]
async fn main() -> Result<(), Error> {
    vending_runtime::init_tracing();
    let env = vending_runtime::FunctionEnv::read()?;
    let clients = Clients::from_env();
    let config = &vending_runtime::load_config(&clients.config, &env.config).await?;
    let org = &OrganizationsAdapter::new(clients.organizations.clone());
    let accounts = &MemberAccounts::new(clients.config.clone(), &config.member_role_name);
    vending_runtime::serve::<PlaceAccount, _, _>(|input| {
        place_account::handle(org, accounts, config, input)
    })
    .await
}
