//! In-memory fakes of the ports, for handler tests (feature `fakes`). They keep state like the
//! real services do, follow the same rules the sandbox holds AWS to (an email used twice fails
//! the creation, a boundary must exist, an alias is global), count calls, and can be told to
//! fail.

mod accounts;
mod backup;
mod network;
mod organization;
mod recording;
mod registry;
mod services;
mod teams;

pub use accounts::{FakeAccounts, FakeClusters, FakeIdentity};
pub use backup::FakeBackups;
pub use network::{FakeHub, FakeNetwork};
pub use organization::{FakeOrganization, MANAGEMENT_ACCOUNT};
pub use recording::{CONTROL_TOWER_RECORDER, FakeRecording};
pub use registry::FakeRegistry;
pub use services::{FakeBus, FakeDestination, FakeWorkflow};
pub use teams::FakeTeamAccess;

use crate::error::StepError;
use std::collections::BTreeMap;
use std::sync::Mutex;

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Calls made to a fake, by operation, and errors to answer the next calls with.
#[derive(Debug, Default)]
pub struct Calls {
    made: Mutex<Vec<String>>,
    failures: Mutex<BTreeMap<String, Vec<StepError>>>,
}

impl Calls {
    /// Makes the next call of `op` fail with `err` (errors queued for one operation are used
    /// in the order given).
    pub fn fail_next(&self, op: &str, err: StepError) {
        lock(&self.failures)
            .entry(op.into())
            .or_default()
            .insert(0, err);
    }

    /// How many times `op` was called.
    pub fn count(&self, op: &str) -> usize {
        lock(&self.made).iter().filter(|c| *c == op).count()
    }

    /// Every call, in order.
    pub fn all(&self) -> Vec<String> {
        lock(&self.made).clone()
    }

    /// Records a call of `op`; its queued failure, if any.
    pub(crate) fn enter(&self, op: &str) -> Result<(), StepError> {
        lock(&self.made).push(op.into());
        match lock(&self.failures).get_mut(op).and_then(Vec::pop) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The repository's example platform config (`infra/platform-config.json`), for handler tests.
pub fn example_config() -> crate::PlatformConfig {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/platform-config.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    crate::PlatformConfig::from_json(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `config` with `environment`'s AWS Config and trail left to Control Tower (its recorder and
/// organization trail), as an organization under Control Tower would configure them.
pub fn leave_recording_to_control_tower(config: &mut crate::PlatformConfig, environment: &str) {
    use crate::config::BaselineMode;
    let baseline = config
        .environments
        .get_mut(environment)
        .and_then(|e| e.baseline.as_mut())
        .unwrap_or_else(|| panic!("{environment} has a baseline"));
    if let Some(c) = baseline.config.as_mut() {
        c.mode = BaselineMode::ControlTower;
        c.delivery_bucket = None;
    }
    if let Some(t) = baseline.trail.as_mut() {
        t.mode = BaselineMode::ControlTower;
        t.bucket = None;
    }
}

/// A valid spec of `tenant` in prod under the example config, as Normalize hands it to the
/// account steps (its JSON is what the workflow passes them as `spec`).
pub fn example_spec(tenant: &str) -> crate::TenantSpec {
    let request = serde_json::json!({
        "requestId": format!("req-{tenant}"), "tenantId": tenant, "environment": "prod",
        "owners": [format!("arn:aws:iam::123456789012:role/{tenant}-leads")],
        "tags": {"CostCenter": "cc-1"}
    });
    crate::request::TenantRequest::from_value(&request)
        .and_then(|r| r.validate(&example_config()))
        .unwrap_or_else(|e| panic!("the example spec of {tenant}: {e}"))
}
