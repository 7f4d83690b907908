//! The AWS adapters of tenant vending: the only crate that imports the AWS SDK.
//!
//! Each adapter implements a port of `vending_domain::ports` with the real SDK client and
//! turns AWS errors into `StepError`s by their error code, never by message text.

// First, so that its macro is in scope in the modules below.
#[cfg(test)]
#[macro_use]
mod mocks;

pub mod accounts;
pub mod backup;
mod classify;
pub mod clients;
pub mod ec2;
pub mod eks;
pub mod events;
pub mod iam;
pub mod manifests;
pub mod organizations;
pub mod parameters;
pub mod recording;
pub mod registry;
pub mod seed;
mod service_role;
pub mod sso;
pub mod workflow;

pub use accounts::MemberAccounts;
pub use clients::Clients;
pub use events::EventBridgeBus;
pub use manifests::S3Manifests;
pub use organizations::OrganizationsAdapter;
pub use registry::DynamoRegistry;
pub use sso::IdentityCenter;
pub use workflow::StepFunctionsWorkflow;
