//! Offboarding end to end on the strict sandbox: the real offboarding definition on the local
//! executor, started by `DELETE /tenants/{tenantId}` through the portal's own function, the
//! Offboard function on its template role, and what a platform engineer would look at after
//! each phase: the registry, the account's OU and status, the clusters' access entries, the
//! VPC's attachment and routes, the GitOps repository, and the events.

use asl_executor::Status;
use e2e::{drain, entry, member, portal, portal_body, request, rule_to_queue, vending_with};
use serde_json::{Value, json};
use vend::local::Local;
use vending_domain::PlatformConfig;
use vending_domain::ports::{Registry, TenantStatus};

/// The example config with a grace period of `grace` (virtual) seconds: locally a virtual
/// second of a Wait passes in `vend::local::WAIT_PACE`.
fn config(grace: u64) -> PlatformConfig {
    let mut config = vend::local::example_config().expect("the example config");
    config
        .offboarding
        .as_mut()
        .expect("the example config offboards")
        .grace_period_seconds = grace;
    config
}

/// A call of the portal API, as API Gateway hands it to its function: status and body.
async fn api(local: &Local, method: &str, path: &str, body: Option<&Value>) -> (u64, Value) {
    let mut event = portal(&json!({}));
    let route = match (method, path.matches('/').count()) {
        ("DELETE", _) => "DELETE /tenants/{tenantId}",
        ("POST", 3) => "POST /tenants/{tenantId}/rerun",
        _ => "GET /tenants/{tenantId}",
    };
    event["rawPath"] = json!(path);
    event["routeKey"] = json!(route);
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(path);
    event["body"] = body.map_or(Value::Null, |b| json!(b.to_string()));
    let answer = local.request(event).await;
    let body = serde_json::from_str(answer["body"].as_str().unwrap_or("null")).expect("JSON");
    (answer["statusCode"].as_u64().unwrap_or_default(), body)
}

/// Offboards the tenant through the API; the execution's ARN.
async fn offboard(local: &Local, id: &str, body: &Value) -> String {
    let (status, answer) = api(local, "DELETE", &format!("/tenants/{id}"), Some(body)).await;
    assert_eq!(status, 202, "{answer}");
    answer["executionArn"]
        .as_str()
        .expect("an execution")
        .to_owned()
}

/// Vends the sample tenant (`payments`) from the portal: its account.
async fn vended(local: &Local, body: &Value) -> String {
    let (answer, result) = request(local, body).await;
    let result = result.unwrap_or_else(|| panic!("not started: {answer}"));
    assert_eq!(result.status, Status::Succeeded, "{:?}", result.cause);
    let entry = entry(local, body["tenantId"].as_str().expect("an id")).await;
    assert_eq!(entry.status, TenantStatus::Ready);
    entry.account_id.expect("an account")
}

/// Where the account is and how it stands, as Organizations says.
async fn account(local: &Local, id: &str) -> (String, String) {
    let org = aws_sdk_organizations::Client::new(&local.sdk);
    let parent = org
        .list_parents()
        .child_id(id)
        .send()
        .await
        .expect("parents")
        .parents()[0]
        .id()
        .unwrap_or_default()
        .to_owned();
    let described = org
        .describe_account()
        .account_id(id)
        .send()
        .await
        .expect("describe");
    let status = described
        .account()
        .and_then(|a| a.status())
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    (parent, status)
}

/// The principals of the tenant's account with an access entry on any shared cluster.
async fn access_entries(local: &Local, account: &str) -> Vec<String> {
    let config = local.config();
    let mut out = Vec::new();
    for cluster in &config.clusters {
        let eks = aws_sdk_eks::Client::new(&member(local, &cluster.account_id).await);
        let listed = eks
            .list_access_entries()
            .cluster_name(&cluster.name)
            .send()
            .await
            .expect("entries");
        out.extend(
            listed
                .access_entries()
                .iter()
                .filter(|arn| arn.contains(&format!("::{account}:")))
                .cloned(),
        );
    }
    out
}

/// The tenant VPC's attachments that still exist (not deleting or deleted) and its routes
/// through the transit gateway.
async fn network(local: &Local, account: &str) -> (Vec<String>, Vec<String>) {
    let ec2 = aws_sdk_ec2::Client::new(&member(local, account).await);
    let attachments = ec2
        .describe_transit_gateway_vpc_attachments()
        .send()
        .await
        .expect("attachments")
        .transit_gateway_vpc_attachments()
        .iter()
        .filter(|a| !matches!(a.state().map(|s| s.as_str()), Some("deleting" | "deleted")))
        .filter_map(|a| a.transit_gateway_attachment_id().map(str::to_owned))
        .collect();
    let routes = ec2
        .describe_route_tables()
        .send()
        .await
        .expect("route tables")
        .route_tables()
        .iter()
        .flat_map(|t| t.routes())
        .filter(|r| r.transit_gateway_id().is_some())
        .filter_map(|r| r.destination_cidr_block().map(str::to_owned))
        .collect();
    (attachments, routes)
}

/// The local GitOps repository (bare).
fn repository(local: &Local) -> (String, String) {
    let vending_domain::config::GitOpsConfig::Git(git) = &local.config().gitops else {
        panic!("the local platform commits to git");
    };
    (
        git.url.strip_prefix("file://").expect("local").to_owned(),
        git.branch.clone(),
    )
}

/// A file of the repository at `rev` (`main`, `main~1`), if it is there.
fn file_at(local: &Local, rev: &str, path: &str) -> Option<String> {
    let (repo, _) = repository(local);
    let root = local
        .config()
        .gitops
        .root()
        .trim_end_matches('/')
        .to_owned();
    let full = format!("{root}/{path}").trim_start_matches('/').to_owned();
    let out = std::process::Command::new("git")
        .args(["--git-dir", &repo, "show", &format!("{rev}:{full}")])
        .output()
        .expect("git runs");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn record_at(local: &Local, rev: &str) -> Value {
    serde_json::from_str(&file_at(local, rev, "records/payments.json").expect("a record"))
        .expect("JSON")
}

/// The state a `...StateEntered` event entered.
fn entered_name(e: &asl_executor::HistoryEvent) -> Option<String> {
    e.details.as_ref()?.name().map(str::to_owned)
}

/// A queue that receives the offboarding events.
async fn offboarding_events(local: &Local) -> String {
    rule_to_queue(
        &local.sdk,
        vend::local::EVENT_BUS,
        "offboarding-events",
        &json!({"source": ["tenant-vending"], "detail-type": ["TenantOffboarding", "TenantOffboarded", "TenantOffboardingFailed"]}),
    )
    .await
}

/// The CIDR rows of the registry (pieces of the pool): owner and hold, by piece.
async fn cidr_rows(local: &Local) -> Vec<(String, String, Option<u64>)> {
    let dynamo = aws_sdk_dynamodb::Client::new(&local.sdk);
    let scan = dynamo
        .scan()
        .table_name(vend::local::REGISTRY_TABLE)
        .send()
        .await
        .expect("scan");
    let mut out: Vec<(String, String, Option<u64>)> = scan
        .items()
        .iter()
        .filter_map(|item| {
            let pk = item.get("pk")?.as_s().ok()?;
            let piece = pk.strip_prefix("CIDR#")?.to_owned();
            let owner = item.get("tenant")?.as_s().ok()?.clone();
            let held = item
                .get("heldUntil")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok());
            Some((piece, owner, held))
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn an_offboarding_cordons_at_once_then_removes_everything_and_closes_the_account() {
    let local = vending_with(config(60), 1, None).await;
    let events = offboarding_events(&local).await;
    let account_id = vended(&local, &portal_body()).await;
    let ready = entry(&local, "payments").await;
    let generation = ready.generation().expect("handed off");
    // Three roles and two team roles, on two clusters.
    assert_eq!(access_entries(&local, &account_id).await.len(), 10);
    let (attachments, routes) = network(&local, &account_id).await;
    assert_eq!((attachments.len(), routes.len()), (1, 1));

    let arn = offboard(
        &local,
        "payments",
        &json!({"closeAccount": true, "reason": "the payments team moved to the new platform"}),
    )
    .await;
    let (result, history) = local.wait(&arn).await.expect("ends");
    assert_eq!(result.status, Status::Succeeded, "{:?}", result.cause);
    let output = result.output.clone().unwrap_or_default();
    assert_eq!(output["state"], "CLOSED", "{output}");
    assert_eq!(output["accountClosed"], true);
    let entered: Vec<String> = history
        .iter()
        .filter(|e| e.event_type == "WaitStateEntered")
        .filter_map(entered_name)
        .collect();
    assert_eq!(
        entered.first().map(String::as_str),
        Some("GracePeriod"),
        "{entered:?}"
    );
    assert!(entered.iter().any(|s| s == "WaitForClosure"), "{entered:?}");

    // Phase one's commit: the Capsule tenant cordoned, the record offboarding, one generation
    // more.
    let cordoned = record_at(&local, "main~1");
    assert_eq!(cordoned["lifecycle"], "offboarding");
    assert_eq!(cordoned["generation"], generation + 1);
    let tenant_yaml = file_at(&local, "main~1", "tenants/payments/tenant.yaml").expect("kept");
    assert!(tenant_yaml.contains("cordoned: true"), "{tenant_yaml}");
    // Phase two's commit: no manifests left, the record closed, one more.
    let closed = record_at(&local, "main");
    assert_eq!(closed["lifecycle"], "closed");
    assert_eq!(closed["generation"], generation + 2);
    assert_eq!(
        file_at(&local, "main", "tenants/payments/tenant.yaml"),
        None
    );
    assert_eq!(
        file_at(&local, "main", "tenants/payments/network-policies.yaml"),
        None
    );

    let suspended = local
        .config()
        .offboarding
        .as_ref()
        .expect("offboarding")
        .suspended_ou_id
        .clone();
    assert_eq!(
        account(&local, &account_id).await,
        (suspended, "SUSPENDED".to_owned())
    );
    assert!(access_entries(&local, &account_id).await.is_empty());
    assert_eq!(network(&local, &account_id).await, (vec![], vec![]));

    let closed_entry = entry(&local, "payments").await;
    assert_eq!(closed_entry.status, TenantStatus::Closed);
    assert_eq!(closed_entry.closed_accounts, [account_id.as_str()]);
    let offboarding = closed_entry.offboarding.expect("kept");
    assert!(offboarding.close_account);
    let held = offboarding.cidr_held_until.expect("held");
    let now = vending_domain::registry::now_seconds();
    let window = vending_domain::registry::REOPEN_WINDOW_SECONDS;
    assert!(held > now + window - 600 && held <= now + window, "{held}");
    // Every piece of the block is held for the 90 days, and still the tenant's.
    let rows = cidr_rows(&local).await;
    assert!(!rows.is_empty());
    for (piece, owner, until) in &rows {
        assert_eq!(
            (owner.as_str(), *until),
            ("payments", Some(held)),
            "{piece}"
        );
    }

    let seen: Vec<String> = drain(&local, &events)
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(seen, ["TenantOffboarding", "TenantOffboarded"]);

    // A closed tenant has no drift to compare: its access and network went on purpose.
    let (status, answer) = api(&local, "GET", "/tenants/payments/drift", None).await;
    assert_eq!(status, 409, "{answer}");

    // Offboarded is offboarded: a second DELETE is refused, and so is a re-run.
    let (status, answer) = api(&local, "DELETE", "/tenants/payments", None).await;
    assert_eq!(status, 409, "{answer}");
    let (status, answer) = api(&local, "POST", "/tenants/payments/rerun", Some(&json!({}))).await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap_or_default()
            .contains("new request"),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_request_during_the_grace_period_takes_the_tenant_back() {
    // 1500 virtual seconds: 15 s here, time enough to vend the tenant again meanwhile.
    let local = vending_with(config(1500), 1, None).await;
    let account_id = vended(&local, &portal_body()).await;
    let generation = entry(&local, "payments")
        .await
        .generation()
        .expect("handed off");
    let arn = offboard(&local, "payments", &json!({"closeAccount": true})).await;

    // Phase one, at once.
    let mut waited = 0;
    while entry(&local, "payments").await.status != TenantStatus::Offboarding
        || record_at(&local, "main")["lifecycle"] != "offboarding"
    {
        waited += 1;
        assert!(waited < 200, "phase one never ended");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(access_entries(&local, &account_id).await.is_empty());
    // A re-run of the old request would undo the offboarding: refused, and nothing recorded.
    let (status, answer) = api(&local, "POST", "/tenants/payments/rerun", Some(&json!({}))).await;
    assert_eq!(status, 409, "{answer}");

    let mut again = portal_body();
    again["requestId"] = json!("portal-payments-stays");
    vended(&local, &again).await;
    let back = entry(&local, "payments").await;
    assert_eq!(back.offboarding, None);
    assert_eq!(back.account_id.as_deref(), Some(account_id.as_str()));
    let record = record_at(&local, "main");
    assert_eq!(record["lifecycle"], "active");
    assert_eq!(
        record["generation"],
        generation + 2,
        "offboarding, then active"
    );
    let tenant_yaml = file_at(&local, "main", "tenants/payments/tenant.yaml").expect("there");
    assert!(!tenant_yaml.contains("cordoned"), "{tenant_yaml}");
    assert_eq!(access_entries(&local, &account_id).await.len(), 10);
    let prod = local.config().environments["prod"].ou_id.clone();
    assert_eq!(
        account(&local, &account_id).await,
        (prod, "ACTIVE".to_owned())
    );

    // Phase two, after the grace, finds the tenant taken back and does nothing.
    let (result, _) = local.wait(&arn).await.expect("ends");
    assert_eq!(result.status, Status::Succeeded, "{:?}", result.cause);
    let output = result.output.clone().unwrap_or_default();
    assert_eq!(output["state"], "CANCELLED", "{output}");
    assert!(
        output["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("portal-payments-stays"),
        "{output}"
    );
    assert_eq!(entry(&local, "payments").await.status, TenantStatus::Ready);
    assert_eq!(network(&local, &account_id).await.0.len(), 1);
    assert_eq!(account(&local, &account_id).await.1, "ACTIVE");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closure_past_the_quota_is_refused_clearly_and_the_offboarding_run_again_finishes() {
    let local = vending_with(config(30), 1, None).await;
    let account_id = vended(&local, &portal_body()).await;
    local
        .sandbox
        .configure(&json!({"closeQuota": 0}))
        .expect("configured");
    let arn = offboard(&local, "payments", &json!({"closeAccount": true})).await;
    let (result, history) = local.wait(&arn).await.expect("ends");
    assert_eq!(result.status, Status::Failed);
    assert_eq!(
        result.error.as_deref(),
        Some("QuotaExceeded"),
        "{:?}",
        result.cause
    );
    let cause = result.cause.clone().unwrap_or_default();
    assert!(
        cause.contains("30 days") && cause.contains(&account_id),
        "{cause}"
    );
    let attempts = history
        .iter()
        .filter(|e| {
            e.event_type == "TaskStateEntered"
                && entered_name(e).as_deref() == Some("FinishOffboarding")
        })
        .count();
    assert_eq!(attempts, 1, "QuotaExceeded is not retried");
    let failed = entry(&local, "payments").await;
    assert_eq!(failed.status, TenantStatus::Offboarding);
    let failure = failed.failure.expect("recorded");
    assert_eq!(
        (failure.step.as_str(), failure.error.as_str()),
        ("FinishOffboarding", "QuotaExceeded")
    );
    assert_eq!(account(&local, &account_id).await.1, "ACTIVE");
    let (status, view) = api(&local, "GET", "/tenants/payments", None).await;
    assert_eq!(status, 200);
    assert_eq!(view["status"], "OFFBOARDING");
    assert_eq!(view["failure"]["error"], "QuotaExceeded", "{view}");

    // Once the quota allows it, the same offboarding again converges and finishes: phase one
    // changes nothing more (the record stays closed), the grace is over already.
    local
        .sandbox
        .configure(&json!({"closeQuota": null}))
        .expect("configured");
    let before = record_at(&local, "main")["generation"].clone();
    let arn = offboard(&local, "payments", &json!({"closeAccount": true})).await;
    let (result, _) = local.wait(&arn).await.expect("ends");
    assert_eq!(result.status, Status::Succeeded, "{:?}", result.cause);
    assert_eq!(record_at(&local, "main")["generation"], before);
    assert_eq!(entry(&local, "payments").await.status, TenantStatus::Closed);
    assert_eq!(account(&local, &account_id).await.1, "SUSPENDED");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_platforms_accounts_are_never_offboarded_an_event_offboards_and_closing_needs_the_flag()
{
    let local = vending_with(config(10), 1, None).await;
    let account_id = vended(&local, &portal_body()).await;

    // The registry pointed at the network account (behind the service's back): the API
    // refuses it before anything starts.
    let registry = &local.platform.registry;
    let mut entry_of = entry(&local, "payments").await;
    let real = entry_of.clone();
    entry_of.account_id = Some(local.config().network.account_id.clone());
    registry.put(&entry_of).await.expect("put");
    let (status, answer) = api(&local, "DELETE", "/tenants/payments", None).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer.to_string().contains("the network account"),
        "{answer}"
    );

    // At the management account: only Organizations knows it, so phase one refuses it.
    let management = e2e::management_account(&local).await;
    entry_of.account_id = Some(management);
    registry.put(&entry_of).await.expect("put");
    let arn = offboard(&local, "payments", &json!({"closeAccount": true})).await;
    let (result, _) = local.wait(&arn).await.expect("ends");
    assert_eq!(result.status, Status::Failed);
    assert_eq!(result.error.as_deref(), Some("InvalidRequest"));
    assert!(
        result
            .cause
            .as_deref()
            .unwrap_or_default()
            .contains("management account"),
        "{:?}",
        result.cause
    );
    assert_eq!(entry(&local, "payments").await.status, TenantStatus::Ready);

    // At an account this service did not make for the tenant (not tagged for it).
    let org = aws_sdk_organizations::Client::new(&local.sdk);
    let created = org
        .create_account()
        .account_name("someone-elses")
        .email("someone-elses@example.com")
        .send()
        .await
        .expect("created");
    let request = created
        .create_account_status()
        .and_then(|s| s.id())
        .expect("a request")
        .to_owned();
    let mut stranger = None;
    for _ in 0..10 {
        let st = org
            .describe_create_account_status()
            .create_account_request_id(&request)
            .send()
            .await
            .expect("status");
        stranger = st
            .create_account_status()
            .and_then(|s| s.account_id())
            .map(str::to_owned);
        if stranger.is_some() {
            break;
        }
    }
    entry_of.account_id = Some(stranger.expect("an account"));
    registry.put(&entry_of).await.expect("put");
    let arn = offboard(&local, "payments", &json!({"closeAccount": true})).await;
    let (result, _) = local.wait(&arn).await.expect("ends");
    assert_eq!(
        result.error.as_deref(),
        Some("Conflict"),
        "{:?}",
        result.cause
    );
    assert!(
        result
            .cause
            .as_deref()
            .unwrap_or_default()
            .contains("did not create or adopt"),
        "{:?}",
        result.cause
    );

    // Back to the tenant's own account, offboarded by an OffboardTenant event (through the
    // template's rule) without closeAccount: phase two leaves the account open, suspended,
    // detached.
    registry.put(&real).await.expect("put");
    let event = json!({
        "source": "tenant-vending",
        "detail-type": "OffboardTenant",
        "detail": {"tenantId": "payments", "reason": "decommissioned"},
    });
    local
        .put_event(Some(vend::local::EVENT_BUS), &event)
        .await
        .expect("put");
    local.settle().await.expect("settles");
    let closed = entry(&local, "payments").await;
    assert_eq!(closed.status, TenantStatus::Closed);
    assert!(closed.closed_accounts.is_empty());
    assert_eq!(
        closed.offboarding.and_then(|o| o.reason).as_deref(),
        Some("decommissioned")
    );
    let suspended = local
        .config()
        .offboarding
        .as_ref()
        .expect("offboarding")
        .suspended_ou_id
        .clone();
    assert_eq!(
        account(&local, &account_id).await,
        (suspended, "ACTIVE".to_owned())
    );
    assert_eq!(network(&local, &account_id).await, (vec![], vec![]));
    // Its block stays held with no end: the account, and its VPC, still exist.
    assert!(
        cidr_rows(&local)
            .await
            .iter()
            .all(|(_, _, held)| held.is_none())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_requested_again_after_closure_gets_a_new_account_and_its_generations_go_on() {
    let local = vending_with(config(10), 1, None).await;
    let old = vended(&local, &portal_body()).await;
    let arn = offboard(&local, "payments", &json!({"closeAccount": true})).await;
    let (result, _) = local.wait(&arn).await.expect("ends");
    assert_eq!(result.status, Status::Succeeded, "{:?}", result.cause);
    let closed_generation = record_at(&local, "main")["generation"]
        .as_u64()
        .expect("a number");

    // The same email as the closed account's: AWS never reuses it, so the request is refused
    // with the field named, and the closed tenant stays as it is.
    let mut again = portal_body();
    again["requestId"] = json!("portal-payments-reborn");
    let (answer, result) = request(&local, &again).await;
    let result = result.unwrap_or_else(|| panic!("not started: {answer}"));
    assert_eq!(result.status, Status::Failed);
    assert_eq!(result.error.as_deref(), Some("InvalidRequest"));
    assert!(
        result
            .cause
            .as_deref()
            .unwrap_or_default()
            .contains("accountEmail"),
        "{:?}",
        result.cause
    );
    assert_eq!(entry(&local, "payments").await.status, TenantStatus::Closed);

    // A new line: nothing of the old one binds it, not its environment nor its VPC's size.
    again["requestId"] = json!("portal-payments-reborn-2");
    again["accountEmail"] = json!("aws+payments-2@example.com");
    again["environment"] = json!("dev");
    again["network"] = json!({"prefixLength": 21});
    let mut plan = portal(&again);
    plan["rawPath"] = json!("/plans");
    plan["routeKey"] = json!("POST /plans");
    plan["requestContext"]["http"]["path"] = json!("/plans");
    let planned = local.request(plan).await;
    let planned: Value =
        serde_json::from_str(planned["body"].as_str().unwrap_or("null")).expect("JSON");
    assert_eq!(planned["account"]["action"], "create", "{planned}");
    assert_eq!(planned["network"]["action"], "claim", "{planned}");
    let new = vended(&local, &again).await;
    assert_ne!(new, old, "a new account");
    let org = aws_sdk_organizations::Client::new(&local.sdk);
    let described = org
        .describe_account()
        .account_id(&new)
        .send()
        .await
        .expect("describe");
    assert_eq!(
        described.account().and_then(|a| a.name()),
        Some("payments-2"),
        "the second line's account has a name of its own"
    );
    // The closed account gave up the tenant's alias (aliases are global), so the new one has it.
    let aliases = aws_sdk_iam::Client::new(&member(&local, &new).await)
        .list_account_aliases()
        .send()
        .await
        .expect("aliases");
    assert_eq!(aliases.account_aliases(), ["acme-payments"]);
    let reborn = entry(&local, "payments").await;
    assert_eq!(reborn.closed_accounts, [old.as_str()]);
    let record = record_at(&local, "main");
    assert_eq!(record["lifecycle"], "active");
    assert_eq!(record["environment"], "dev");
    assert_eq!(record["account"]["id"], new.as_str());
    assert_eq!(reborn.cidr.map(|c| c.prefix()), Some(21));
    assert_eq!(
        record["generation"].as_u64(),
        Some(closed_generation + 1),
        "generations go on: the destination never sees one go back"
    );
    assert!(file_at(&local, "main", "tenants/payments/tenant.yaml").is_some());
    assert_eq!(access_entries(&local, &new).await.len(), 10);
    assert!(access_entries(&local, &old).await.is_empty());
    // The block it claims again is its own and carries no hold: nobody else may take it.
    let unit = local.config().network.pool.max_prefix_length;
    let pieces: Vec<String> = reborn
        .cidr
        .expect("a block")
        .split(unit)
        .map(|p| p.to_string())
        .collect();
    let rows = cidr_rows(&local).await;
    for piece in &pieces {
        let row = rows.iter().find(|(p, ..)| p == piece).expect("claimed");
        assert_eq!((row.1.as_str(), row.2), ("payments", None), "{piece}");
    }
}
