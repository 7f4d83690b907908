//! Shared set-up of the end-to-end tests: a sandbox seeded like a platform team's organization.
//! These tests need the project's virtualenv (`make setup`); `make test` creates it first.

use aws_config::SdkConfig;
use vend::sandbox::Sandbox;
use vending_aws::clients::sandbox_config;
use vending_aws::seed::{SeedSpec, SeededPlatform, seed};

/// The region the sandbox runs in.
pub const REGION: &str = "eu-west-1";

/// A running, seeded sandbox.
#[derive(Debug)]
pub struct World {
    /// The sandbox process (stopped on drop).
    pub sandbox: Sandbox,
    /// Management-account configuration pointing at it.
    pub config: SdkConfig,
    /// What seeding created.
    pub platform: SeededPlatform,
}

/// Starts a sandbox in which a new account needs `account_polls` status polls, and seeds it.
pub async fn world(account_polls: u32) -> World {
    let sandbox =
        Sandbox::start(account_polls).expect("the sandbox starts (run `make setup` first)");
    let config = sandbox_config(&sandbox.endpoint(), REGION).await;
    let spec = SeedSpec {
        environments: vec!["dev".into(), "prod".into()],
        clusters: vec!["shared-1".into(), "shared-2".into()],
        member_role_name: "OrganizationAccountAccessRole".into(),
    };
    let platform = seed(&config, &spec).await.expect("seeding works");
    World {
        sandbox,
        config,
        platform,
    }
}
