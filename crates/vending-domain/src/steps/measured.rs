//! Whom each step's input names (`Traced`) and what each step's result says to the platform
//! team (`Measured`): see `crate::telemetry`.

use super::{
    AccessRecord, AccountInput, AccountProgress, AssignTeamsInput, CheckAccountInput, GrantInput,
    HandOffInput, HandedOff, IdentityRecord, NetworkRecord, NormalizeInput, OffboardInput,
    OffboardProgress, Placement, RecordFailureInput, Recorded, TeamsRecord, TenantInput,
};
use crate::ports::Publication;
use crate::request::{AccountTarget, TenantSpec};
use crate::telemetry::{Measured, Metric, Trace, Traced};
use crate::trigger::Normalized;

/// The tenant and, when the request names one, the account of a validated request.
fn of_spec(spec: &TenantSpec, execution: &str, account: Option<&str>) -> Trace {
    let adopted = match &spec.account {
        AccountTarget::Adopt { account_id, .. } => Some(account_id.as_str()),
        AccountTarget::Create { .. } => None,
    };
    Trace::of(
        Some(spec.tenant_id.as_str()),
        execution,
        account.or(adopted),
    )
}

impl Traced for NormalizeInput {
    fn trace(&self) -> Trace {
        Trace::of(None, &self.execution_name, None)
    }
}

impl Traced for TenantInput {
    fn trace(&self) -> Trace {
        of_spec(&self.spec, &self.execution_name, None)
    }
}

impl Traced for CheckAccountInput {
    fn trace(&self) -> Trace {
        of_spec(&self.spec, &self.execution_name, None)
    }
}

impl Traced for AccountInput {
    fn trace(&self) -> Trace {
        of_spec(&self.spec, &self.execution_name, Some(&self.account_id))
    }
}

impl Traced for AssignTeamsInput {
    fn trace(&self) -> Trace {
        match self {
            AssignTeamsInput::Assign {
                spec,
                account_id,
                execution_name,
            } => of_spec(spec, execution_name, Some(account_id)),
            AssignTeamsInput::Check {
                teams,
                tenant_id,
                execution_name,
            } => Trace::of(
                Some(tenant_id.as_str()).filter(|t| !t.is_empty()),
                execution_name,
                Some(&teams.account_id),
            ),
        }
    }
}

impl Traced for GrantInput {
    fn trace(&self) -> Trace {
        of_spec(
            &self.spec,
            &self.execution_name,
            Some(&self.teams.account_id),
        )
    }
}

impl Traced for HandOffInput {
    fn trace(&self) -> Trace {
        of_spec(&self.spec, &self.execution_name, Some(&self.account_id))
    }
}

impl Traced for RecordFailureInput {
    fn trace(&self) -> Trace {
        match &self.state.spec {
            Some(spec) => of_spec(spec, &self.execution_name, None),
            None => Trace::of(None, &self.execution_name, None),
        }
    }
}

impl Traced for OffboardInput {
    fn trace(&self) -> Trace {
        match self {
            OffboardInput::Begin {
                trigger,
                execution_name,
            } => Trace::of(
                trigger
                    .get("tenantId")
                    .or_else(|| trigger.pointer("/detail/tenantId"))
                    .and_then(serde_json::Value::as_str),
                execution_name,
                None,
            ),
            OffboardInput::Finish {
                offboarding,
                execution_name,
            }
            | OffboardInput::CheckClosure {
                offboarding,
                execution_name,
            } => Trace::of(None, execution_name, None).or(offboarding.trace()),
            OffboardInput::RecordFailure {
                state,
                execution_name,
            } => Trace::of(None, execution_name, None).or(state
                .offboarding
                .as_ref()
                .map(Measured::trace)
                .unwrap_or_default()),
        }
    }
}

impl Measured for Normalized {
    fn metrics(&self) -> Vec<Metric> {
        match self {
            Normalized::Vend { .. } => Vec::new(),
            Normalized::Skip { .. } => vec![Metric::count("TriggersSkipped", 1, &[])],
        }
    }

    fn trace(&self) -> Trace {
        match self {
            Normalized::Vend { spec } => of_spec(spec, "", None),
            Normalized::Skip { skipped } => Trace::of(None, "", Some(&skipped.account_id)),
        }
    }
}

impl Measured for AccountProgress {
    /// A tenant queued for an account-creation slot, with how many creations hold them all
    /// (the config's cap): the alarm's signal that tenants wait on the cap.
    fn metrics(&self) -> Vec<Metric> {
        match self {
            AccountProgress::Queued { creating, .. } => vec![
                Metric::count("AccountCreationsQueued", 1, &[]),
                Metric::count("AccountsCreating", creating.len(), &[]),
            ],
            AccountProgress::Restart { .. } => {
                vec![Metric::count("AccountCreationsRestarted", 1, &[])]
            }
            _ => Vec::new(),
        }
    }

    fn trace(&self) -> Trace {
        match self {
            AccountProgress::Succeeded { account_id } => Trace::of(None, "", Some(account_id)),
            _ => Trace::default(),
        }
    }
}

impl Measured for Placement {}
impl Measured for NetworkRecord {}
impl Measured for IdentityRecord {}
impl Measured for TeamsRecord {}
impl Measured for AccessRecord {}

impl Measured for HandedOff {
    /// A tenant handed off; a re-run is one whose record had been handed off before (its
    /// generation is past the first).
    fn metrics(&self) -> Vec<Metric> {
        let environment = [("Environment", self.record.environment.as_str())];
        let mut out = vec![Metric::count("TenantsVended", 1, &environment)];
        if self.record.generation > 1 {
            out.push(Metric::count("TenantReruns", 1, &environment));
        }
        if matches!(self.publication, Publication::Unchanged { .. }) {
            out.push(Metric::count("TenantsUnchanged", 1, &environment));
        }
        out
    }

    fn trace(&self) -> Trace {
        Trace::of(
            Some(self.record.tenant_id.as_str()),
            "",
            Some(&self.record.account.id),
        )
    }
}

/// RecordFailure emits `TenantsFailed` itself: the failed step is in its input.
impl Measured for Recorded {}

impl Measured for OffboardProgress {
    fn metrics(&self) -> Vec<Metric> {
        match self {
            OffboardProgress::Closed { .. } => vec![Metric::count("TenantsOffboarded", 1, &[])],
            OffboardProgress::Failed { error, .. } => vec![Metric::count(
                "OffboardingsFailed",
                1,
                &[("Error", error.as_str())],
            )],
            _ => Vec::new(),
        }
    }

    fn trace(&self) -> Trace {
        let account = match self {
            OffboardProgress::Grace { account_id, .. }
            | OffboardProgress::Closing { account_id, .. }
            | OffboardProgress::Closed { account_id, .. } => Some(account_id.as_str()),
            _ => None,
        };
        Trace::of(self.tenant().map(|t| t.as_str()), "", account)
    }
}
