//! Each Task state of the vending workflow as a type: what its `Parameters` pass the step
//! (`Input`) and what the step returns, written at its `ResultPath` (`Output`). A handler
//! takes and gives these types; [`call`] is the one place their JSON is read and written, for
//! Lambda (`vending_runtime::serve`) and for the local executor (`vend::local`) alike.
//! `tests/workflow.rs` runs the definition with handlers that read each `Input` and give an
//! `Output`, so a state that reads what the state before it did not write fails there.
//!
//! From a state name in `workflows/tenant-vending.asl.json`: its type here is the state's name
//! (`EnsureAccount`), its handler is `functions/<kebab-name>/src/lib.rs` (`handle`), and its
//! tests are in that crate's `tests/`.

use super::{
    AccessRecord, AccountProgress, AssignTeamsInput, IdentityRecord, NetworkRecord, TeamsRecord,
};
use crate::error::StepError;
use crate::ports::Publication;
use crate::record::TenantRecord;
use crate::request::TenantSpec;
use crate::telemetry::{self, Measured, StepMeasure, Trace, Traced};
use crate::trigger::Normalized;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Instant;
use tracing::Instrument;

/// A workflow step: the Task state that runs it, and the JSON it reads and writes.
pub trait Step {
    /// The Task state's name (its function is `<STATE>Function` in the template).
    const STATE: &'static str;
    /// What the state's `Parameters` pass.
    type Input: DeserializeOwned + Serialize + Traced + Send + 'static;
    /// What the step returns.
    type Output: Serialize + DeserializeOwned + Measured + Send + 'static;
}

/// Runs a typed handler on a workflow payload: the payload read as `S::Input` (one that does
/// not read is an `Internal` error naming what is wrong: the definition and the code disagree),
/// the result written as JSON.
pub async fn call<S, F, Fut>(handler: F, payload: Value) -> Result<Value, StepError>
where
    S: Step,
    F: FnOnce(S::Input) -> Fut,
    Fut: Future<Output = Result<S::Output, StepError>>,
{
    call_measured::<S, F, Fut>(handler, payload, None).await.0
}

/// [`call`], inside a `step` span whose fields say whom the call is about (`step`, `tenant`,
/// `execution`, `account`, and `trace_id` when the caller knows the execution's X-Ray trace:
/// every log line of the handler carries them), and measured: how long the handler took, its
/// error's name, and what its result says (`telemetry`).
pub async fn call_measured<S, F, Fut>(
    handler: F,
    payload: Value,
    trace_id: Option<String>,
) -> (Result<Value, StepError>, StepMeasure)
where
    S: Step,
    F: FnOnce(S::Input) -> Fut,
    Fut: Future<Output = Result<S::Output, StepError>>,
{
    let started = Instant::now();
    let mut measure = StepMeasure {
        step: S::STATE,
        trace: Trace {
            trace_id,
            ..Trace::default()
        },
        duration_ms: 0.0,
        error: None,
        metrics: Vec::new(),
    };
    let input: S::Input = match super::decode(payload) {
        Ok(input) => input,
        Err(e) => {
            measure.error = Some(e.error_type().to_owned());
            return (Err(e), measure);
        }
    };
    measure.trace = input.trace().or(std::mem::take(&mut measure.trace));
    let t = &measure.trace;
    let span = tracing::info_span!(
        "step",
        step = S::STATE,
        tenant = t.tenant.as_deref(),
        execution = t.execution.as_deref(),
        account = t.account.as_deref(),
        trace_id = t.trace_id.as_deref(),
        error = tracing::field::Empty,
    );
    let (collecting, emitted) = telemetry::Collecting::new(handler(input));
    let result = collecting.instrument(span.clone()).await;
    measure.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let result = match result {
        Ok(output) => {
            let more = output.trace();
            if measure.trace.account.is_none()
                && let Some(account) = &more.account
            {
                span.record("account", account.as_str());
            }
            measure.trace = std::mem::take(&mut measure.trace).or(more);
            measure.metrics = output.metrics();
            super::encode(&output)
        }
        Err(e) => Err(e),
    };
    measure.metrics.extend(telemetry::drain(&emitted));
    if let Err(e) = &result {
        measure.error = Some(e.error_type().to_owned());
        span.record("error", e.error_type());
        span.in_scope(|| tracing::warn!(error = e.error_type(), "{e}"));
    }
    (result, measure)
}

macro_rules! steps {
    ($($(#[$doc:meta])* $name:ident: $input:ty => $output:ty;)*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub struct $name;

            impl Step for $name {
                const STATE: &'static str = stringify!($name);
                type Input = $input;
                type Output = $output;
            }
        )*

        /// Every step's state name, in the order of the definition.
        pub const STATES: &[&str] = &[$(stringify!($name)),*];
    };
}

steps! {
    /// Recognises the trigger and validates the request.
    Normalize: NormalizeInput => Normalized;
    /// Creates or adopts the tenant's account, taking its lease.
    EnsureAccount: TenantInput => AccountProgress;
    /// Polls the account's creation.
    CheckAccount: CheckAccountInput => AccountProgress;
    /// Puts the account in its OU, with its tags and alias.
    PlaceAccount: AccountInput => Placement;
    /// The tenant's VPC, attached to the hub.
    ProvisionNetwork: AccountInput => NetworkRecord;
    /// The tenant's roles.
    ProvisionIdentity: AccountInput => IdentityRecord;
    /// The tenant's teams' Identity Center assignments, made and polled.
    AssignTeams: AssignTeamsInput => TeamsRecord;
    /// The roles' access entries on the shared clusters.
    GrantClusterAccess: GrantInput => AccessRecord;
    /// The record to the GitOps destination and the registry, and `TenantReady`.
    HandOff: HandOffInput => HandedOff;
    /// A caught failure to the registry, and `TenantFailed`.
    RecordFailure: RecordFailureInput => Recorded;
}

/// The offboarding workflow's step (`workflows/tenant-offboarding.asl.json`): every Task
/// state of that workflow runs it with an `action`.
#[derive(Debug, Clone, Copy)]
pub struct Offboard;

impl Step for Offboard {
    const STATE: &'static str = "Offboard";
    type Input = super::OffboardInput;
    type Output = super::OffboardProgress;
}

/// Normalize's input: the execution's input, whatever it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NormalizeInput {
    /// The execution's input.
    pub trigger: Value,
    /// The execution's name.
    pub execution_name: String,
}

/// A step on the validated request alone (EnsureAccount).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantInput {
    /// The validated request.
    pub spec: TenantSpec,
    /// The execution, which takes the tenant's lease.
    pub execution_name: String,
}

/// CheckAccount's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckAccountInput {
    /// The validated request.
    pub spec: TenantSpec,
    /// What EnsureAccount (or the previous poll) said.
    pub account: AccountProgress,
    /// The execution (for its span only).
    #[serde(default)]
    pub execution_name: String,
}

/// A step on the tenant's account (PlaceAccount, ProvisionNetwork, ProvisionIdentity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountInput {
    /// The validated request.
    pub spec: TenantSpec,
    /// The account.
    pub account_id: String,
    /// The execution, for the assumed-role session name.
    pub execution_name: String,
}

/// Where PlaceAccount put the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    /// The account.
    pub account_id: String,
    /// Its OU.
    pub ou_id: String,
    /// True when this run moved it.
    pub moved: bool,
    /// The account alias in effect (the tenant's, or the one an adopted account kept).
    pub alias: String,
}

/// GrantClusterAccess's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantInput {
    /// The validated request.
    pub spec: TenantSpec,
    /// ProvisionIdentity's roles.
    pub identity: IdentityRecord,
    /// AssignTeams' assignments, whose permission sets' roles may get cluster access.
    pub teams: TeamsRecord,
    /// The execution, for the assumed-role session name.
    pub execution_name: String,
}

/// HandOff's input: every step's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandOffInput {
    /// The validated request.
    pub spec: TenantSpec,
    /// The account.
    pub account_id: String,
    /// ProvisionNetwork's result.
    pub network: NetworkRecord,
    /// ProvisionIdentity's result.
    pub identity: IdentityRecord,
    /// AssignTeams' result.
    pub teams: TeamsRecord,
    /// GrantClusterAccess's result.
    pub access: AccessRecord,
    /// The execution, whose tenant lease is given back.
    pub execution_name: String,
}

/// What HandOff returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandedOff {
    /// The record handed off.
    pub record: TenantRecord,
    /// What the destination did.
    pub publication: Publication,
}

/// RecordFailure's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordFailureInput {
    /// The whole state.
    pub state: FailedState,
    /// The execution, whose tenant lease is given back.
    pub execution_name: String,
}

/// The workflow state as a Catch left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedState {
    /// The validated request, when Normalize got that far.
    pub spec: Option<TenantSpec>,
    /// The caught error, keyed by the step that failed.
    pub failure: BTreeMap<String, CaughtError>,
}

/// An error as Step Functions' Catch hands it over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaughtError {
    /// The error name.
    #[serde(rename = "Error")]
    pub error: String,
    /// The cause (for a Lambda error, its JSON).
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

impl CaughtError {
    /// The cause to show: a Lambda error's cause is `{"errorMessage", "errorType"}`, whose
    /// message is kept; any other cause as it is.
    pub fn readable_cause(&self) -> String {
        serde_json::from_str::<Value>(&self.cause)
            .ok()
            .and_then(|v| v.get("errorMessage")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| self.cause.clone())
    }
}

/// The error and cause the Fail state reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    /// The error name.
    pub error: String,
    /// The cause, readable.
    pub cause: String,
}
