//! The figures of `make bench-vend`, all from one run on one sandbox: a tenant's wall time
//! through the whole workflow, its state transitions and what Step Functions would charge for
//! them, its AWS calls, the workflow's overhead over the same calls made bare, tenants at once,
//! and the local executor against moto's own Step Functions interpreter on the same definition.
//!
//! *Bare* is the same handlers called one after another by plain code, with the data the
//! definition would pass them: the same AWS calls (checked, call by call), without the portal
//! starting an execution, the executor, its history or its polling. The ratio of the two is
//! what the workflow costs over the calls it makes.

use crate::local::{Local, definition};
use crate::proof::{portal_request, scale, started_execution};
use asl_executor::{Executor, Status};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use vending_domain::StepError;
use vending_domain::ports::{ExecutionProgress, Workflow};
use vending_domain::steps::{
    AccountInput, AccountProgress, CheckAccountInput, GrantInput, HandOffInput, NormalizeInput,
    TenantInput,
};
use vending_domain::trigger::Normalized;

/// What Step Functions (Standard) charges per state transition, in US dollars: $0.025 per
/// 1,000 transitions (us-east-1 and most regions, December 2026), after the free tier.
pub const DOLLARS_PER_TRANSITION: f64 = 0.025 / 1000.0;

/// One tenant's vending, measured.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// Real time from the request to the tenant READY.
    pub wall: Duration,
    /// States entered (the workflow's state transitions); none when bare.
    pub transitions: usize,
    /// The functions' AWS calls, `service:Operation`, in order.
    pub calls: Vec<String>,
    /// Time the sandbox spent serving them.
    pub served: Duration,
}

/// The functions' (not the operator's) calls the sandbox answered after the `from`-th.
fn calls_since(local: &Local, from: usize) -> Result<(Vec<String>, Duration, usize), String> {
    let all = local.sandbox.calls().map_err(|e| e.to_string())?;
    let mut served = Duration::ZERO;
    let mut calls = Vec::new();
    for c in all.iter().skip(from).filter(|c| c["root"] != json!(true)) {
        calls.push(format!(
            "{}:{}",
            c["service"].as_str().unwrap_or_default(),
            c["operation"].as_str().unwrap_or_default()
        ));
        served += Duration::from_secs_f64(c["seconds"].as_f64().unwrap_or(0.0));
    }
    Ok((calls, served, all.len()))
}

fn call_count(local: &Local) -> Result<usize, String> {
    Ok(local.sandbox.calls().map_err(|e| e.to_string())?.len())
}

/// A tenant through the portal and the workflow, as a user's request goes.
pub async fn end_to_end(local: &Local, tenant: &str) -> Result<Run, String> {
    let from = call_count(local)?;
    let started = Instant::now();
    let answer = local
        .request(portal_request(tenant, &format!("r-{tenant}")))
        .await;
    let arn = started_execution(&answer).ok_or_else(|| format!("the portal answered {answer}"))?;
    let (result, history) = local.wait(&arn).await.map_err(|e| e.to_string())?;
    // The local executor paces waits (`LocalOptions::wait_pace` of real time per virtual
    // second); on the virtual clock only waits move time, so the execution's virtual span is
    // its waiting. That pacing is the local platform's, not the workflow's: left out.
    let virtual_span = match (history.first(), history.last()) {
        (Some(a), Some(b)) => (b.timestamp - a.timestamp).to_std().unwrap_or_default(),
        _ => Duration::ZERO,
    };
    let paced = local.wait_pace.mul_f64(virtual_span.as_secs_f64());
    let wall = started.elapsed().saturating_sub(paced);
    if result.status != Status::Succeeded {
        return Err(format!("{tenant}: {:?} {:?}", result.error, result.cause));
    }
    let (calls, served, _) = calls_since(local, from)?;
    Ok(Run {
        wall,
        transitions: history
            .iter()
            .filter(|e| e.event_type.ends_with("StateEntered"))
            .count(),
        calls,
        served,
    })
}

/// The workflow port of a bare run: keeps the execution's name and input instead of starting it.
#[derive(Debug, Default)]
struct Kept(Mutex<Option<(String, Value)>>);

impl Workflow for Kept {
    async fn start(&self, name: &str, input: &Value) -> Result<String, StepError> {
        if let Ok(mut kept) = self.0.lock() {
            *kept = Some((name.to_owned(), input.clone()));
        }
        Ok(format!("bare:{name}"))
    }

    async fn start_batch(&self, name: &str, _input: &Value) -> Result<String, StepError> {
        Err(StepError::Internal(format!(
            "a bare run has no batch workflow (asked for {name})"
        )))
    }

    async fn start_offboarding(&self, name: &str, _input: &Value) -> Result<String, StepError> {
        Err(StepError::Internal(format!(
            "a bare run has no offboarding workflow (asked for {name})"
        )))
    }

    async fn progress(&self, _name: &str) -> Result<Option<ExecutionProgress>, StepError> {
        Ok(None)
    }
}

fn step_failed(state: &str) -> impl Fn(StepError) -> String + '_ {
    move |e| format!("{state}: {e}")
}

/// A step called again while it answers `NotReady` (a new account's services in their first
/// moments), as the definition's Retry does, without its wait.
async fn until_ready<T, F, Fut>(state: &str, step: F) -> Result<T, String>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, StepError>>,
{
    let mut attempts = 0;
    loop {
        attempts += 1;
        match step().await {
            Err(StepError::NotReady(_)) if attempts < 10 => continue,
            other => return other.map_err(step_failed(state)),
        }
    }
}

/// The same tenant's handlers, called one after another with the typed inputs the definition
/// passes (the happy path: no Retry, Catch or Wait), each on its function's own credentials.
pub async fn bare(local: &Local, tenant: &str) -> Result<Run, String> {
    let from = call_count(local)?;
    let f = |name: &str| local.functions[&format!("{name}Function")].clone();
    let started = Instant::now();

    let portal = f("TenantRequest");
    let kept = Kept::default();
    let answer = tenant_request::handle(
        &portal.registry,
        &kept,
        &portal.config,
        portal_request(tenant, &format!("r-{tenant}")),
    )
    .await;
    let (name, trigger) = kept
        .0
        .lock()
        .ok()
        .and_then(|mut k| k.take())
        .ok_or_else(|| format!("the portal answered {answer}"))?;

    let execution_name = name;
    let p = f("Normalize");
    let normalized = normalize::handle(
        &p.org,
        &p.registry,
        &p.config,
        NormalizeInput {
            trigger,
            execution_name: execution_name.clone(),
        },
    )
    .await
    .map_err(step_failed("Normalize"))?;
    let Normalized::Vend { spec } = normalized else {
        return Err(format!("{tenant}: Normalize skipped it: {normalized:?}"));
    };
    let spec = *spec;

    let p = f("EnsureAccount");
    let tenant_input = TenantInput {
        spec: spec.clone(),
        execution_name: execution_name.clone(),
    };
    let mut account = ensure_account::handle(&p.org, &p.registry, &p.config, tenant_input)
        .await
        .map_err(step_failed("EnsureAccount"))?;
    let p = f("CheckAccount");
    let account_id = loop {
        match account {
            AccountProgress::Succeeded { account_id } => break account_id,
            AccountProgress::InProgress { .. } => {
                let input = CheckAccountInput {
                    spec: spec.clone(),
                    account,
                    execution_name: String::new(),
                };
                account = check_account::handle(&p.org, &p.registry, input)
                    .await
                    .map_err(step_failed("CheckAccount"))?;
            }
            other => return Err(format!("{tenant}: the account is {other:?}")),
        }
    };
    let input = AccountInput {
        spec: spec.clone(),
        account_id: account_id.clone(),
        execution_name: execution_name.clone(),
    };

    let p = f("PlaceAccount");
    until_ready("PlaceAccount", || {
        place_account::handle(&p.org, &p.accounts, &p.config, input.clone())
    })
    .await?;

    let (pn, pi, pt) = (
        f("ProvisionNetwork"),
        f("ProvisionIdentity"),
        f("AssignTeams"),
    );
    let (network, identity, teams) = tokio::join!(
        until_ready("ProvisionNetwork", || {
            provision_network::handle(&pn.accounts, &pn.registry, &pn.config, input.clone())
        }),
        until_ready("ProvisionIdentity", || {
            provision_identity::handle(&pi.accounts, &pi.config, input.clone())
        }),
        assigned(&pt, &spec, &account_id, &execution_name),
    );
    let (network, identity, teams) = (network?, identity?, teams?);

    let p = f("GrantClusterAccess");
    let granted = GrantInput {
        spec: spec.clone(),
        identity: identity.clone(),
        teams: teams.clone(),
        execution_name: execution_name.clone(),
    };
    let access = until_ready("GrantClusterAccess", || {
        grant_cluster_access::handle(&p.accounts, &p.config, granted.clone())
    })
    .await?;

    let p = f("HandOff");
    let destination = p
        .destination
        .as_ref()
        .ok_or("the HandOff function has no destination")?;
    let handed = HandOffInput {
        spec,
        account_id,
        network,
        identity,
        teams,
        access,
        execution_name,
    };
    hand_off::handle(&p.registry, &p.bus, destination, &p.config, handed)
        .await
        .map_err(step_failed("HandOff"))?;

    let wall = started.elapsed();
    let (calls, served, _) = calls_since(local, from)?;
    Ok(Run {
        wall,
        transitions: 0,
        calls,
        served,
    })
}

/// AssignTeams as the workflow runs it: `assign`, then `check` until every assignment is made
/// (without the workflow's wait between polls).
async fn assigned(
    p: &crate::local::Platform,
    spec: &vending_domain::TenantSpec,
    account_id: &str,
    execution_name: &str,
) -> Result<vending_domain::steps::TeamsRecord, String> {
    use vending_domain::steps::{AssignTeamsInput, TeamsState};
    let mut input = AssignTeamsInput::Assign {
        spec: Box::new(spec.clone()),
        account_id: account_id.to_owned(),
        execution_name: execution_name.to_owned(),
    };
    loop {
        let teams = until_ready("AssignTeams", || {
            assign_teams::handle(&p.teams, &p.accounts, &p.config, input.clone())
        })
        .await?;
        if teams.state == TeamsState::Assigned {
            return Ok(teams);
        }
        input = AssignTeamsInput::Check {
            teams,
            tenant_id: spec.tenant_id.as_str().to_owned(),
            execution_name: execution_name.to_owned(),
        };
    }
}

/// The calls of `a` not in `b` and of `b` not in `a`, as `service:Operation ×n`.
pub fn call_difference(a: &[String], b: &[String]) -> (Vec<String>, Vec<String>) {
    let count = |calls: &[String]| {
        let mut m: BTreeMap<String, i64> = BTreeMap::new();
        for c in calls {
            *m.entry(c.clone()).or_default() += 1;
        }
        m
    };
    let (ca, cb) = (count(a), count(b));
    let side = |x: &BTreeMap<String, i64>, y: &BTreeMap<String, i64>| {
        x.iter()
            .filter_map(|(k, n)| {
                let extra = n - y.get(k).copied().unwrap_or(0);
                (extra > 0).then(|| format!("{k} ×{extra}"))
            })
            .collect()
    };
    (side(&ca, &cb), side(&cb, &ca))
}

/// The vending definition with each Task a Pass whose result steers the happy path (one
/// account poll, one assignment poll) and each Wait of zero seconds: the same states, transitions and data flow,
/// with nothing outside the interpreter.
pub fn passes_only(definition: &Value) -> Value {
    fn result(state: &str) -> Value {
        match state {
            "Normalize" => json!({"spec": {"tenantId": "bench"}}),
            "EnsureAccount" => json!({"state": "IN_PROGRESS", "createAccountRequestId": "car-1"}),
            "CheckAccount" => json!({"state": "SUCCEEDED", "accountId": "111122223333"}),
            "AssignTeams" => json!({"state": "IN_PROGRESS", "pending": ["assignment-1"]}),
            "CheckAssignments" => json!({"state": "ASSIGNED", "assignments": []}),
            "HandOff" => json!({"record": {"tenantId": "bench"}}),
            _ => json!({}),
        }
    }
    fn rewrite(states: &mut serde_json::Map<String, Value>) {
        for (name, state) in states.iter_mut() {
            match state["Type"].as_str() {
                Some("Task") => {
                    let mut pass = json!({"Type": "Pass", "Result": result(name)});
                    for key in [
                        "Parameters",
                        "ResultPath",
                        "ResultSelector",
                        "OutputPath",
                        "InputPath",
                        "Next",
                        "End",
                    ] {
                        if let Some(v) = state.get(key) {
                            pass[key] = v.clone();
                        }
                    }
                    *state = pass;
                }
                Some("Wait") => {
                    if let Some(wait) = state.as_object_mut() {
                        wait.remove("SecondsPath");
                        wait.insert("Seconds".into(), json!(0));
                    }
                }
                _ => {}
            }
            if let Some(branches) = state.get_mut("Branches").and_then(Value::as_array_mut) {
                for branch in branches {
                    if let Some(inner) = branch.get_mut("States").and_then(Value::as_object_mut) {
                        rewrite(inner);
                    }
                }
            }
        }
    }
    // A Pass state has no Catch: the failure path is then unreachable, which AWS refuses.
    fn prune(machine: &mut Value) {
        let mut reachable = std::collections::BTreeSet::new();
        let mut next: Vec<String> = machine["StartAt"]
            .as_str()
            .map(str::to_owned)
            .into_iter()
            .collect();
        while let Some(name) = next.pop() {
            if !reachable.insert(name.clone()) {
                continue;
            }
            let state = &machine["States"][&name];
            let targets = std::iter::once(&state["Next"])
                .chain(std::iter::once(&state["Default"]))
                .chain(
                    state["Choices"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|c| &c["Next"]),
                )
                .chain(
                    state["Catch"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|c| &c["Next"]),
                );
            next.extend(targets.filter_map(Value::as_str).map(str::to_owned));
        }
        if let Some(states) = machine.get_mut("States").and_then(Value::as_object_mut) {
            states.retain(|name, _| reachable.contains(name));
        }
    }
    let mut d = definition.clone();
    if let Some(states) = d.get_mut("States").and_then(Value::as_object_mut) {
        rewrite(states);
    }
    prune(&mut d);
    d
}

/// An interpreter's figures on the Pass-only definition.
#[derive(Debug, Clone)]
pub struct InterpreterRun {
    /// Executions run (started at once, each waited for).
    pub executions: usize,
    /// States entered by one execution.
    pub transitions: usize,
    /// Real time for all of them.
    pub wall: Duration,
}

/// `executions` executions of `definition` on the local executor, started at once.
pub async fn local_executor(
    definition: &Value,
    executions: usize,
) -> Result<InterpreterRun, String> {
    let executor = Executor::default();
    let arn = executor
        .create_state_machine("bench", definition, &Default::default())
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut handles = Vec::new();
    for i in 0..executions {
        handles.push(
            executor
                .start_execution(&arn, Some(&format!("e{i}")), json!({"source": "portal"}))
                .map_err(|e| e.to_string())?,
        );
    }
    let mut transitions = 0;
    for h in &handles {
        let result = h.wait().await;
        if result.status != Status::Succeeded {
            return Err(format!(
                "the Pass-only definition failed: {:?}",
                result.error
            ));
        }
        transitions = h
            .history()
            .iter()
            .filter(|e| e.event_type.ends_with("StateEntered"))
            .count();
    }
    Ok(InterpreterRun {
        executions,
        transitions,
        wall: started.elapsed(),
    })
}

/// The same on moto's Step Functions interpreter (moto's `execute_state_machine` mode, in the
/// sandbox's virtualenv, through boto3): `crates/sandbox/bench/moto_sfn.py`.
pub fn moto_interpreter(definition: &Value, executions: usize) -> Result<InterpreterRun, String> {
    let root = crate::sandbox::repo_root();
    let file = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
    std::fs::write(file.path(), definition.to_string()).map_err(|e| e.to_string())?;
    let python = root.join(".venv/bin/python");
    let out = std::process::Command::new(&python)
        .arg(root.join("crates/sandbox/bench/moto_sfn.py"))
        .arg(file.path())
        .arg(executions.to_string())
        .output()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    let last = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    let v: Value = serde_json::from_str(&last).map_err(|_| {
        format!(
            "moto's interpreter: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    if v["failed"].as_u64() != Some(0) {
        return Err(format!("moto's interpreter failed executions: {v}"));
    }
    Ok(InterpreterRun {
        executions,
        transitions: v["transitions"].as_u64().unwrap_or(0) as usize,
        wall: Duration::from_secs_f64(v["seconds"].as_f64().unwrap_or(0.0)),
    })
}

/// Everything `make bench-vend` reports.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Tenants vended one at a time through the workflow.
    pub end_to_end: Vec<Run>,
    /// The same tenants' handlers called bare, interleaved with those.
    pub bare: Vec<Run>,
    /// Calls only one of the two made (each side), for one pair.
    pub difference: (Vec<String>, Vec<String>),
    /// Tenants requested at once.
    pub at_once: scale::BatchReport,
    /// The local executor on the Pass-only definition.
    pub executor: InterpreterRun,
    /// moto's interpreter on the same.
    pub moto: InterpreterRun,
}

/// Runs every measurement on `local`: `rounds` tenants one at a time (each through the workflow
/// and bare, alternately, after one warm-up of each), `at_once` tenants at once, and
/// `executions` executions of the Pass-only definition on each interpreter.
pub async fn run(
    local: &Local,
    rounds: usize,
    at_once: usize,
    executions: usize,
) -> Result<Figures, String> {
    end_to_end(local, "warm-e2e").await?;
    bare(local, "warm-bare").await?;
    let (mut e2e, mut plain) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        e2e.push(end_to_end(local, &format!("seq-{i}")).await?);
        plain.push(bare(local, &format!("bare-{i}")).await?);
    }
    let difference = match (e2e.first(), plain.first()) {
        (Some(a), Some(b)) => call_difference(&a.calls, &b.calls),
        _ => (Vec::new(), Vec::new()),
    };
    let at_once = scale::batch(local, "burst", at_once).await?;
    let passes = passes_only(&definition().map_err(|e| e.to_string())?);
    let executor = local_executor(&passes, executions).await?;
    let moto = moto_interpreter(&passes, executions)?;
    Ok(Figures {
        end_to_end: e2e,
        bare: plain,
        difference,
        at_once,
        executor,
        moto,
    })
}

/// The median of some durations.
pub fn median(mut d: Vec<Duration>) -> Duration {
    d.sort();
    d.get(d.len() / 2).copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_made_by_one_side_only_are_counted() {
        let a: Vec<String> = ["ec2:CreateVpc", "ec2:CreateVpc", "states:StartExecution"]
            .map(String::from)
            .to_vec();
        let b: Vec<String> = ["ec2:CreateVpc", "iam:GetRole"].map(String::from).to_vec();
        assert_eq!(
            call_difference(&a, &b),
            (
                vec![
                    "ec2:CreateVpc ×1".to_owned(),
                    "states:StartExecution ×1".to_owned()
                ],
                vec!["iam:GetRole ×1".to_owned()]
            )
        );
    }

    #[test]
    fn the_pass_only_definition_keeps_every_state_and_its_data_flow() {
        let d = json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn", "Parameters": {"a.$": "$.b"}, "ResultPath": "$.r", "Retry": [],
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F"}], "Next": "W"},
            "F": {"Type": "Fail"},
            "W": {"Type": "Wait", "SecondsPath": "$.s", "Next": "P"},
            "P": {"Type": "Parallel", "Branches": [{"StartAt": "EnsureAccount", "States": {"EnsureAccount": {"Type": "Task", "Resource": "x", "End": true}}}], "End": true}}});
        let p = passes_only(&d);
        assert_eq!(p["States"].as_object().map(|s| s.len()), Some(3));
        assert_eq!(
            p["States"]["T"],
            json!({"Type": "Pass", "Result": {}, "Parameters": {"a.$": "$.b"}, "ResultPath": "$.r", "Next": "W"})
        );
        assert_eq!(
            p["States"]["W"],
            json!({"Type": "Wait", "Seconds": 0, "Next": "P"})
        );
        assert_eq!(
            p["States"]["P"]["Branches"][0]["States"]["EnsureAccount"]["Result"]["state"],
            json!("IN_PROGRESS")
        );
    }
}
