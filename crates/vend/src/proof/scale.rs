//! Faults at scale and load: many tenants requested at once through the portal, with a share
//! of every AWS call failing at random (throttling or a 5xx, in each service's wire shape), or
//! with the sandbox as it is; each tenant must end READY with exactly one of everything, and no
//! two tenants' blocks may overlap.

use super::state::tenant_state;
use super::{portal_request, started_execution};
use crate::local::Local;
use asl_executor::Status;
use futures::future::join_all;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use vending_domain::ports::Registry as _;

/// What one tenant's request came to.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The tenant.
    pub tenant: String,
    /// The execution the portal started, if it answered 202.
    pub execution: Option<String>,
    /// How the execution ended.
    pub status: Option<Status>,
    /// Its error, when it failed.
    pub error: Option<String>,
    /// Task attempts that failed and were retried by the workflow.
    pub retried_tasks: usize,
    /// Portal answers other than 202 before one was (a client retries a 503).
    pub refused_posts: usize,
}

/// Posts a request as a portal client does (again after a 5xx), and waits for its execution.
async fn request(local: &Local, tenant: &str, request_id: &str) -> Outcome {
    let mut outcome = Outcome {
        tenant: tenant.to_owned(),
        execution: None,
        status: None,
        error: None,
        retried_tasks: 0,
        refused_posts: 0,
    };
    for _ in 0..20 {
        let answer = local.request(portal_request(tenant, request_id)).await;
        if let Some(arn) = started_execution(&answer) {
            outcome.execution = Some(arn);
            break;
        }
        outcome.refused_posts += 1;
        if answer["statusCode"].as_u64().unwrap_or(500) < 500 {
            outcome.error = Some(answer["body"].to_string());
            return outcome;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let Some(arn) = &outcome.execution else {
        outcome.error = Some("the portal never accepted it".into());
        return outcome;
    };
    match local.wait(arn).await {
        Ok((result, history)) => {
            outcome.status = Some(result.status);
            outcome.error = result
                .error
                .as_ref()
                .map(|e| format!("{e}: {}", result.cause.as_deref().unwrap_or_default()));
            outcome.retried_tasks = history
                .iter()
                .filter(|e| e.event_type.ends_with("Failed") && e.event_type != "ExecutionFailed")
                .count();
        }
        Err(e) => outcome.error = Some(e.to_string()),
    }
    outcome
}

/// Everything checked of a batch of tenants once they ended.
#[derive(Debug, Clone, Default)]
pub struct BatchReport {
    /// Tenants requested.
    pub tenants: usize,
    /// Tenants READY with exactly one account, VPC, attachment and block, roles and entries.
    pub ready: usize,
    /// Pairs of tenants whose blocks overlap.
    pub overlaps: usize,
    /// Task attempts the workflow retried, in all.
    pub retried_tasks: usize,
    /// Portal answers a client had to post again after.
    pub refused_posts: usize,
    /// Real time from the first request to the last end.
    pub wall: Duration,
    /// CPU time the sandbox process used meanwhile.
    pub sandbox_cpu: Duration,
    /// CPU time this process (executor, handlers, SDK) used meanwhile.
    pub vend_cpu: Duration,
    /// What went wrong, per tenant.
    pub failures: Vec<String>,
}

/// Requests `tenants` tenants at once and checks each end state.
pub async fn batch(local: &Local, prefix: &str, tenants: usize) -> Result<BatchReport, String> {
    let (outcomes, report) = run(local, prefix, tenants).await;
    check(local, outcomes, report).await
}

/// Requests the tenants at once and waits for every execution to end.
async fn run(local: &Local, prefix: &str, tenants: usize) -> (Vec<Outcome>, BatchReport) {
    let (cpu0, self0) = (local.sandbox.cpu_time(), self_cpu_time());
    let started = Instant::now();
    let outcomes = join_all((0..tenants).map(|i| {
        let tenant = format!("{prefix}-{i}");
        async move { request(local, &tenant, &format!("r-{tenant}")).await }
    }))
    .await;
    let report = BatchReport {
        tenants,
        wall: started.elapsed(),
        sandbox_cpu: local.sandbox.cpu_time().saturating_sub(cpu0),
        vend_cpu: self_cpu_time().saturating_sub(self0),
        ..BatchReport::default()
    };
    (outcomes, report)
}

/// Reads each tenant's end state (with the sandbox as it is: no faults) and checks it.
async fn check(
    local: &Local,
    outcomes: Vec<Outcome>,
    mut report: BatchReport,
) -> Result<BatchReport, String> {
    local.settle().await.map_err(|e| e.to_string())?;
    let mut blocks = Vec::new();
    for o in &outcomes {
        report.retried_tasks += o.retried_tasks;
        report.refused_posts += o.refused_posts;
        if o.status != Some(Status::Succeeded) {
            report.failures.push(format!(
                "{}: {:?} {:?}, after {} failed task attempts",
                o.tenant, o.status, o.error, o.retried_tasks
            ));
            continue;
        }
        let s = tenant_state(local, &o.tenant).await?;
        let one = s.accounts == 1
            && s.vpcs.len() == 1
            && s.attachments == 1
            && s.flow_logs == 1
            && s.status == "Ready"
            && s.lease.is_none()
            && s.commits == 1;
        if one {
            report.ready += 1;
        } else {
            report.failures.push(format!("{}: {s:?}", o.tenant));
        }
        let id = vending_domain::TenantId::parse(&o.tenant).map_err(|e| e.to_string())?;
        if let Some(cidr) = local
            .platform
            .registry
            .get(&id)
            .await
            .map_err(|e| e.to_string())?
            .and_then(|e| e.cidr)
        {
            blocks.push(cidr);
        }
    }
    for (i, a) in blocks.iter().enumerate() {
        report.overlaps += blocks[i + 1..].iter().filter(|b| a.overlaps(**b)).count();
    }
    Ok(report)
}

/// What identical requests at once came to.
#[derive(Debug, Clone, Default)]
pub struct SameReport {
    /// Requests posted.
    pub requests: usize,
    /// Distinct executions the portal answered with.
    pub executions: usize,
    /// Accounts tagged for the tenant at the end.
    pub accounts: usize,
    /// True when the tenant ended READY.
    pub ready: bool,
}

/// Posts the same request `n` times at once.
pub async fn identical(local: &Local, tenant: &str, n: usize) -> Result<SameReport, String> {
    let request_id = format!("r-{tenant}");
    let outcomes = join_all((0..n).map(|_| request(local, tenant, &request_id))).await;
    local.settle().await.map_err(|e| e.to_string())?;
    let mut executions: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.execution.clone())
        .collect();
    executions.sort();
    executions.dedup();
    let s = tenant_state(local, tenant).await?;
    Ok(SameReport {
        requests: n,
        executions: executions.len(),
        accounts: s.accounts,
        ready: s.status == "Ready",
    })
}

/// Faults at random in `rate` of the IAM principals' calls (seeded), for one batch.
pub async fn with_chaos(
    local: &Local,
    tenants: usize,
    rate: f64,
    seed: u64,
) -> Result<(BatchReport, Value), String> {
    local
        .sandbox
        .configure(&json!({"chaos": {"rate": rate, "seed": seed}}))
        .map_err(|e| e.to_string())?;
    let (outcomes, report) = run(local, "chaos", tenants).await;
    let injected = local.sandbox.chaos_injected().map_err(|e| e.to_string())?;
    local
        .sandbox
        .configure(&json!({"chaos": null}))
        .map_err(|e| e.to_string())?;
    Ok((check(local, outcomes, report).await?, injected))
}

/// This process's CPU time (user and system), from `/proc/self/stat`.
pub fn self_cpu_time() -> Duration {
    crate::sandbox::cpu_time_of("self")
}
