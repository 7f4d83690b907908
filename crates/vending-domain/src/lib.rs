//! The tenant-vending domain: what a tenant is, what a valid request looks like, how network
//! ranges are allocated, what the platform team configures, and how steps fail.
//!
//! This crate knows nothing about AWS SDKs: adapters turn AWS responses into these types, and
//! handlers reach AWS through port traits that speak them.

pub mod api;
pub mod cidr;
pub mod config;
pub mod drift;
pub mod error;
#[cfg(feature = "fakes")]
pub mod fakes;
pub mod kube;
pub mod names;
pub mod plan;
pub mod ports;
pub mod record;
pub mod registry;
pub mod request;
#[cfg(feature = "schema")]
mod schema;
pub mod scope;
pub mod steps;
pub mod telemetry;
pub mod trigger;

pub use cidr::{CidrPool, Ipv4Cidr};
pub use config::PlatformConfig;
pub use error::{StepError, ValidationError, ValidationErrors};
pub use names::{AccountEmail, PrincipalArn, Tags, TenantId};
pub use record::TenantRecord;
pub use request::{TenantRequest, TenantSpec};
