//! The real vending definition (`workflows/tenant-vending.asl.json`) on the local executor, with
//! fake step handlers: the order of steps, the account poll loop, retries on the stable error
//! names, and the failure path through RecordFailure.

use asl_executor::{ExecutionResult, Executor, Status, TaskError, TaskHandler, handler_fn};
use futures::FutureExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use vending_domain::ports::Publication;
use vending_domain::request::TenantRequest;
use vending_domain::steps::{
    AccessRecord, AccountProgress, AssignTeams, AssignTeamsInput, CheckAccount, ClusterRecord,
    EnsureAccount, GrantClusterAccess, HandOff, HandedOff, IdentityRecord, Normalize, PlaceAccount,
    Placement, ProvisionIdentity, ProvisionNetwork, RecordFailure, Recorded, RoleRecord, STATES,
    Step, TeamsRecord, TeamsState, call,
};
use vending_domain::trigger::Normalized;
use vending_domain::{StepError, TenantRecord};

fn definition() -> Value {
    vend::local::definition().expect("the definition is in the repo and is JSON")
}

/// A fake step: answers with `reply(call number, payload)` and records each call.
type Reply = Arc<dyn Fn(usize, &Value) -> Result<Value, TaskError> + Send + Sync>;

struct Harness {
    executor: Executor,
    arn: String,
    calls: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Harness {
    /// The steps called, in order.
    fn steps(&self) -> Vec<String> {
        let calls = self.calls.lock().expect("lock");
        calls.iter().map(|(s, _)| s.clone()).collect()
    }
}

fn harness(mut replies: HashMap<&'static str, Reply>) -> Harness {
    let executor = Executor::default();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let mut subs = HashMap::new();
    for &step in STATES {
        let reply = replies.remove(step).unwrap_or_else(|| {
            if step == AssignTeams::STATE {
                // Its Choice reads `state`: nothing to assign.
                Arc::new(|_, _| {
                    Ok(json!({"state": "ASSIGNED", "accountId": "210987654321", "assignments": []}))
                })
            } else {
                Arc::new(move |_, _| Ok(json!({"step": step})))
            }
        });
        let calls = calls.clone();
        let counter = Arc::new(Mutex::new(0usize));
        let handler: Arc<dyn TaskHandler> = handler_fn(move |req| {
            let n = {
                let mut c = counter.lock().expect("lock");
                *c += 1;
                *c
            };
            calls
                .lock()
                .expect("lock")
                .push((step.to_owned(), req.payload.clone()));
            let out = reply(n, &req.payload);
            async move { out }
        });
        let name = step.to_lowercase();
        executor.register_function(&name, handler);
        subs.insert(
            format!("{step}FunctionArn"),
            format!("arn:aws:lambda:eu-west-1:123456789012:function:{name}"),
        );
    }
    let arn = executor
        .create_state_machine("tenant-vending", &definition(), &subs)
        .expect("the definition is valid");
    Harness {
        executor,
        arn,
        calls,
    }
}

fn reply(f: impl Fn(usize, &Value) -> Result<Value, TaskError> + Send + Sync + 'static) -> Reply {
    Arc::new(f)
}

fn step_error(e: &StepError) -> TaskError {
    TaskError::new(e.error_type(), e.to_string())
}

fn account_after_polls(polls: usize) -> HashMap<&'static str, Reply> {
    // Normalize answers `{"spec"}`, which becomes the workflow's state.
    HashMap::from([
        (
            "Normalize",
            reply(|_, p| {
                Ok(json!({"spec": {"tenantId": p["trigger"]["tenantId"], "requestId": "req-1"}}))
            }),
        ),
        (
            "EnsureAccount",
            reply(|_, _| Ok(json!({"state": "IN_PROGRESS", "createRequestId": "car-1"}))),
        ),
        (
            "CheckAccount",
            reply(move |n, _| {
                Ok(if n < polls {
                    json!({"state": "IN_PROGRESS", "createRequestId": "car-1"})
                } else {
                    json!({"state": "SUCCEEDED", "accountId": "210987654321"})
                })
            }),
        ),
        (
            "HandOff",
            reply(|_, p| {
                Ok(json!({
                    "record": {"tenantId": p["spec"]["tenantId"], "status": "READY", "accountId": p["accountId"]},
                    "publication": {"outcome": "written", "revision": "0123abc"}
                }))
            }),
        ),
    ])
}

#[tokio::test]
async fn a_request_runs_every_step_in_order_and_polls_the_account() {
    let h = harness(account_after_polls(3));
    let (result, history) = h
        .executor
        .run(&h.arn, Some("req-1"), json!({"tenantId": "payments"}))
        .await
        .expect("runs");
    assert_eq!(result.status, Status::Succeeded, "{result:?}");
    assert_eq!(
        result.output,
        Some(json!({"tenantId": "payments", "status": "READY", "accountId": "210987654321"}))
    );
    let steps: Vec<String> = h.steps().into_iter().collect();
    let mut provision = steps[6..9].to_vec();
    provision.sort();
    assert_eq!(
        &steps[..6],
        [
            "Normalize",
            "EnsureAccount",
            "CheckAccount",
            "CheckAccount",
            "CheckAccount",
            "PlaceAccount"
        ]
    );
    assert_eq!(
        provision,
        ["AssignTeams", "ProvisionIdentity", "ProvisionNetwork"]
    );
    assert_eq!(&steps[9..], ["GrantClusterAccess", "HandOff"]);
    assert_eq!(
        history
            .iter()
            .filter(|e| e.event_type == "WaitStateEntered")
            .count(),
        3
    );
    assert_eq!(
        (result.stop - result.start).num_seconds(),
        45,
        "three 15-second waits, on the virtual clock"
    );
    let calls = h.calls.lock().expect("lock");
    let (_, place) = calls
        .iter()
        .find(|(s, _)| s == "PlaceAccount")
        .expect("called");
    assert_eq!(
        place["executionName"],
        json!("req-1"),
        "steps get the execution name for their sessions"
    );
    assert_eq!(place["accountId"], json!("210987654321"));
}

#[tokio::test]
async fn a_skipped_trigger_ends_quietly_before_any_account_step() {
    let mut replies = account_after_polls(0);
    replies.insert(
        "Normalize",
        reply(|_, _| {
            Ok(json!({"skipped": {"accountId": "210987654321", "reason": "made by this service"}}))
        }),
    );
    let h = harness(replies);
    let (result, _) = h
        .executor
        .run(&h.arn, None, json!({"source": "aws.organizations"}))
        .await
        .expect("runs");
    assert_eq!(result.status, Status::Succeeded, "no failure, no alarm");
    assert_eq!(
        result.output,
        Some(json!({"accountId": "210987654321", "reason": "made by this service"}))
    );
    let steps: Vec<String> = h.steps().into_iter().collect();
    assert_eq!(steps, ["Normalize"]);
}

#[tokio::test]
async fn a_creation_ended_by_a_concurrent_operation_waits_then_ensures_the_account_again() {
    let mut replies = account_after_polls(0);
    replies.insert(
        "EnsureAccount",
        reply(|_, _| Ok(json!({"state": "IN_PROGRESS", "createRequestId": "car-1"}))),
    );
    replies.insert(
        "CheckAccount",
        reply(|n, _| {
            Ok(if n == 1 {
                json!({"state": "RESTART", "reason": "CONCURRENT_ACCOUNT_MODIFICATION"})
            } else {
                json!({"state": "SUCCEEDED", "accountId": "210987654321"})
            })
        }),
    );
    let h = harness(replies);
    let (result, history) = h
        .executor
        .run(&h.arn, None, json!({"tenantId": "payments"}))
        .await
        .expect("runs");
    assert_eq!(result.status, Status::Succeeded, "{result:?}");
    let calls = h.calls.lock().expect("lock");
    assert_eq!(
        calls.iter().filter(|(s, _)| s == "EnsureAccount").count(),
        2
    );
    assert!(
        history.iter().any(|e| e
            .details
            .as_ref()
            .is_some_and(|d| d.name() == Some("WaitBeforeNewCreation"))),
        "it waited before the new creation"
    );
}

#[tokio::test]
async fn any_input_that_fails_is_recorded_even_one_that_is_not_an_object() {
    for input in [json!([1, 2]), json!("text"), json!(42), json!(null)] {
        let mut replies = account_after_polls(0);
        replies.insert(
            "Normalize",
            reply(|_, _| Err(step_error(&StepError::InvalidRequest(Default::default())))),
        );
        replies.insert(
            "RecordFailure",
            reply(|_, p| {
                Ok(json!({"error": "InvalidRequest", "cause": p["state"]["trigger"].to_string()}))
            }),
        );
        let h = harness(replies);
        let (result, _) = h
            .executor
            .run(&h.arn, None, input.clone())
            .await
            .expect("runs");
        assert_eq!(
            result.error.as_deref(),
            Some("InvalidRequest"),
            "{input}: {result:?}"
        );
        assert_eq!(
            result.cause.as_deref(),
            Some(input.to_string().as_str()),
            "the recorder saw the input"
        );
    }
}

#[tokio::test]
async fn transient_errors_are_retried_on_their_stable_names() {
    let mut replies = account_after_polls(0);
    replies.insert(
        "PlaceAccount",
        reply(|n, _| {
            if n <= 2 {
                Err(step_error(&StepError::Throttled("MoveAccount".into())))
            } else {
                Ok(json!({"ouId": "ou-1"}))
            }
        }),
    );
    replies.insert(
        "ProvisionNetwork",
        reply(|n, _| {
            if n == 1 {
                Err(step_error(&StepError::ConcurrentModification(
                    "CreateRoute".into(),
                )))
            } else {
                Ok(json!({"vpcId": "vpc-1"}))
            }
        }),
    );
    let h = harness(replies);
    let (result, _) = h
        .executor
        .run(&h.arn, None, json!({"tenantId": "payments"}))
        .await
        .expect("runs");
    assert_eq!(result.status, Status::Succeeded, "{result:?}");
    let calls = h.calls.lock().expect("lock");
    assert_eq!(calls.iter().filter(|(s, _)| s == "PlaceAccount").count(), 3);
    assert_eq!(
        calls
            .iter()
            .filter(|(s, _)| s == "ProvisionNetwork")
            .count(),
        2
    );
}

#[tokio::test]
async fn a_failing_step_is_recorded_with_its_name_and_fails_the_execution() {
    let mut replies = account_after_polls(0);
    replies.insert(
        "ProvisionIdentity",
        reply(|_, _| {
            Err(step_error(&StepError::QuotaExceeded(
                "roles per account".into(),
            )))
        }),
    );
    replies.insert(
        "RecordFailure",
        reply(|_, p| {
            let failure = p["state"]["failure"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            let (step, err) = failure.into_iter().next().expect("one failed step");
            Ok(json!({"step": step, "error": err["Error"], "cause": err["Cause"]}))
        }),
    );
    let h = harness(replies);
    let (result, _) = h
        .executor
        .run(&h.arn, None, json!({"tenantId": "payments"}))
        .await
        .expect("runs");
    assert_eq!(result.status, Status::Failed);
    assert_eq!(
        result.error.as_deref(),
        Some("QuotaExceeded"),
        "the original error name surfaces"
    );
    let calls = h.calls.lock().expect("lock");
    let (_, recorded) = calls
        .iter()
        .find(|(s, _)| s == "RecordFailure")
        .expect("the failure was recorded");
    assert!(
        recorded["state"]["failure"]["Provision"]["Error"] == json!("QuotaExceeded"),
        "{recorded}"
    );
    assert!(
        !calls
            .iter()
            .any(|(s, _)| s == "HandOff" || s == "GrantClusterAccess"),
        "nothing after the failure runs"
    );
}

#[tokio::test]
async fn an_invalid_request_stops_at_normalize() {
    let mut replies = account_after_polls(0);
    replies.insert(
        "Normalize",
        reply(|_, _| Err(step_error(&StepError::InvalidRequest(Default::default())))),
    );
    replies.insert(
        "RecordFailure",
        reply(|_, _| Ok(json!({"error": "InvalidRequest", "cause": "tenantId: bad"}))),
    );
    let h = harness(replies);
    let (result, _) = h
        .executor
        .run(&h.arn, None, json!({"tenantId": "Bad"}))
        .await
        .expect("runs");
    assert_eq!(
        (result.error.as_deref(), result.cause.as_deref()),
        (Some("InvalidRequest"), Some("tenantId: bad"))
    );
    let steps: Vec<String> = h.steps().into_iter().collect();
    assert_eq!(
        steps,
        ["Normalize", "RecordFailure"],
        "InvalidRequest is not retried"
    );
}

/// A typed step for the harness, through the adapter Lambda and `vend local` use
/// (`steps::call`): a payload that does not read as the step's input fails the step
/// (`Internal`, naming what is missing), and the step answers `out(call number, input)`.
fn typed<S: Step>(
    out: impl Fn(usize, S::Input) -> Result<S::Output, StepError> + Send + Sync + 'static,
) -> (&'static str, Reply) {
    let step = reply(move |n, payload| {
        call::<S, _, _>(|input| async { out(n, input) }, payload.clone())
            .now_or_never()
            .expect("the step answers at once")
            .map_err(|e| step_error(&e))
    });
    (S::STATE, step)
}

fn sample<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("a sample of the type")
}

/// Every step typed, on the happy path: each returns a value of its output type, built from
/// what it read.
fn typed_steps() -> HashMap<&'static str, Reply> {
    let config = vend::local::example_config().expect("the example config");
    let record: TenantRecord = sample(
        serde_json::from_str(
            &vend::local::repo_file("crates/tenant-manifests/tests/records/payments.json")
                .expect("the sample record"),
        )
        .expect("JSON"),
    );
    HashMap::from([
        typed::<Normalize>(move |_, input| {
            let spec = TenantRequest::from_value(&input.trigger)?.validate(&config)?;
            Ok(Normalized::Vend {
                spec: Box::new(spec),
            })
        }),
        typed::<EnsureAccount>(|_, _| Ok(AccountProgress::in_progress("car-1"))),
        typed::<CheckAccount>(|n, input| {
            assert_eq!(
                input.account,
                AccountProgress::in_progress("car-1"),
                "CheckAccount reads what EnsureAccount or the last poll said"
            );
            Ok(if n < 2 {
                input.account
            } else {
                AccountProgress::ready("210987654321")
            })
        }),
        typed::<PlaceAccount>(|_, input| {
            Ok(Placement {
                account_id: input.account_id,
                ou_id: input.spec.ou_id,
                moved: true,
                alias: "acme-payments".into(),
            })
        }),
        typed::<ProvisionNetwork>(|_, input| {
            Ok(sample(json!({
                "region": "eu-west-1", "vpcId": "vpc-1", "cidr": "10.64.0.0/20",
                "subnets": [{"id": "subnet-1", "zone": "eu-west-1a", "cidr": "10.64.0.0/22"}],
                "transitGatewayId": "tgw-1", "transitGatewayAttachmentId": format!("tgw-attach-{}", input.account_id),
                "routesToTransitGateway": ["10.0.0.0/8"], "flowLogId": "fl-1"
            })))
        }),
        typed::<ProvisionIdentity>(|_, input| {
            Ok(IdentityRecord {
                roles: vec![RoleRecord {
                    template: "admin".into(),
                    arn: format!("arn:aws:iam::{}:role/payments-admin", input.account_id),
                    kubernetes_group: "tenant:payments:admin".into(),
                }],
                backup: None,
                config: None,
                trail: None,
            })
        }),
        typed::<AssignTeams>(|n, input| match input {
            AssignTeamsInput::Assign { account_id, .. } => Ok(TeamsRecord {
                state: TeamsState::InProgress,
                account_id,
                assignments: Vec::new(),
                pending: vec!["assignment-1".into()],
            }),
            AssignTeamsInput::Check { mut teams, .. } => {
                assert_eq!(
                    teams.pending,
                    ["assignment-1"],
                    "the poll reads what the last Task said"
                );
                if n > 2 {
                    teams.state = TeamsState::Assigned;
                    teams.pending.clear();
                }
                Ok(teams)
            }
        }),
        typed::<GrantClusterAccess>(|_, input| {
            assert_eq!(
                input.teams.state,
                TeamsState::Assigned,
                "access comes after the assignments"
            );
            Ok(AccessRecord {
                clusters: vec![ClusterRecord {
                    name: "shared-1".into(),
                    arn: "arn:aws:eks:eu-west-1:345678901234:cluster/shared-1".into(),
                    access_entries: input.identity.roles.iter().map(|r| r.arn.clone()).collect(),
                    namespaces: input.spec.namespaces(),
                }],
            })
        }),
        typed::<HandOff>(move |_, input| {
            assert_eq!(input.account_id, "210987654321");
            assert_eq!(
                input.network.transit_gateway_attachment_id,
                "tgw-attach-210987654321"
            );
            assert_eq!(input.access.clusters[0].access_entries.len(), 1);
            assert_eq!(input.teams.account_id, "210987654321");
            Ok(HandedOff {
                record: record.clone(),
                publication: Publication::Written {
                    revision: "0123abc".into(),
                },
            })
        }),
        typed::<RecordFailure>(|_, input| {
            let (step, caught) = input.state.failure.into_iter().next().expect("a failure");
            Ok(Recorded {
                error: caught.error,
                cause: format!("{step}: {}", caught.cause),
            })
        }),
    ])
}

/// Runs a valid request through the definition with these steps.
async fn run_typed(steps: HashMap<&'static str, Reply>) -> (Harness, ExecutionResult) {
    let h = harness(steps);
    let request = json!({
        "requestId": "req-1", "tenantId": "payments", "environment": "prod",
        "owners": ["arn:aws:iam::123456789012:role/payments-leads"], "tags": {"CostCenter": "cc-1"}
    });
    let (result, _) = h
        .executor
        .run(&h.arn, Some("typed"), request)
        .await
        .expect("runs");
    (h, result)
}

#[tokio::test]
async fn every_step_reads_the_type_the_states_before_it_wrote() {
    let (h, result) = run_typed(typed_steps()).await;
    assert_eq!(result.status, Status::Succeeded, "{result:?}");
    let called: std::collections::BTreeSet<String> = h.steps().into_iter().collect();
    let expected: std::collections::BTreeSet<String> = STATES
        .iter()
        .filter(|s| **s != RecordFailure::STATE)
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(called, expected, "every step but RecordFailure ran");
}

#[tokio::test]
async fn record_failure_reads_the_state_a_catch_leaves_in_each_step() {
    for failing in STATES.iter().filter(|s| **s != RecordFailure::STATE) {
        let mut steps = typed_steps();
        steps.insert(
            failing,
            reply(|_, _| Err(step_error(&StepError::Conflict("not the tenant's".into())))),
        );
        let (_, result) = run_typed(steps).await;
        assert_eq!(result.status, Status::Failed, "{failing}: {result:?}");
        assert_eq!(
            result.error.as_deref(),
            Some("Conflict"),
            "{failing}: RecordFailure read its input and reported the error: {result:?}"
        );
    }
}
