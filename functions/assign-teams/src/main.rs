//! The assign-teams Lambda function: wiring only (see `lib.rs` for the step).

use lambda_runtime::Error;
use vending_aws::{Clients, IdentityCenter, MemberAccounts};
use vending_domain::steps::AssignTeams;

#[tokio::main]
async fn main() -> Result<(), Error> {
    vending_runtime::init_tracing();
    let env = vending_runtime::FunctionEnv::read()?;
    let clients = Clients::from_env();
    let config = &vending_runtime::load_config(&clients.config, &env.config).await?;
    let accounts = &MemberAccounts::new(clients.config.clone(), &config.member_role_name);
    let teams = &IdentityCenter::for_config(&clients.config, config);
    vending_runtime::serve::<AssignTeams, _, _>(|input| {
        assign_teams::handle(teams, accounts, config, input)
    })
    .await
}
