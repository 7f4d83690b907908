//! The offboard-tenant Lambda function: wiring only (see `lib.rs` for the step).

use lambda_runtime::Error;
use vending_aws::{Clients, DynamoRegistry, EventBridgeBus, MemberAccounts, OrganizationsAdapter};
use vending_domain::steps::Offboard;
use vending_gitops::Destination;

/// The git destination's bare clone, in Lambda's only writable folder (as HandOff's).
const GIT_CACHE: &str = "/tmp/tenant-vending-gitops.git";

#[tokio::main]
async fn main() -> Result<(), Error> {
    vending_runtime::init_tracing();
    let env = vending_runtime::FunctionEnv::read()?;
    let clients = Clients::from_env();
    let config = &vending_runtime::load_config(&clients.config, &env.config).await?;
    let org = OrganizationsAdapter::new(clients.organizations.clone());
    let registry = DynamoRegistry::new(clients.dynamodb.clone(), env.registry_table.clone());
    let bus = EventBridgeBus::new(clients.eventbridge.clone(), env.event_bus_name.clone());
    let accounts = MemberAccounts::new(clients.config.clone(), &config.member_role_name);
    let destination =
        Destination::from_config(config, &clients.config, std::path::Path::new(GIT_CACHE)).await?;
    let services = &offboard_tenant::Services {
        org: &org,
        registry: &registry,
        bus: &bus,
        accounts: &accounts,
        destination: &destination,
    };
    vending_runtime::serve::<Offboard, _, _>(|input| {
        offboard_tenant::handle(services, config, input)
    })
    .await
}
