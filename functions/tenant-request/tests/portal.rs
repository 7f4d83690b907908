//! The portal's request function with fake ports: answers, records, starts.

use serde_json::{Value, json};
use vending_domain::PlatformConfig;
use vending_domain::fakes::{FakeRegistry, FakeWorkflow};
use vending_domain::ports::TenantStatus;

fn repo(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR")))
        .expect("a repo file")
}

fn config() -> PlatformConfig {
    PlatformConfig::from_json(&repo("infra/platform-config.json")).expect("valid config")
}

fn sample() -> Value {
    serde_json::from_str(&repo("events/portal-request.json")).expect("JSON")
}

fn body_of(answer: &Value) -> Value {
    serde_json::from_str(answer["body"].as_str().expect("a body")).expect("JSON body")
}

#[tokio::test]
async fn a_valid_request_is_recorded_and_started_once_however_often_it_is_sent() {
    let (registry, workflow, config) = (FakeRegistry::default(), FakeWorkflow::default(), config());
    let first = tenant_request::handle(&registry, &workflow, &config, sample()).await;
    assert_eq!(first["statusCode"], 202, "{first}");
    let body = body_of(&first);
    assert_eq!(body["tenantId"], "payments");
    assert!(
        body["executionArn"]
            .as_str()
            .unwrap_or_default()
            .ends_with(":portal-portal-7f3c2a9e")
    );
    let mut again = sample();
    again["requestContext"]["requestId"] = json!("another-api-request");
    let second = tenant_request::handle(&registry, &workflow, &config, again).await;
    assert_eq!(body_of(&second), body, "a double submit answers the same");
    assert_eq!(workflow.started().len(), 1, "and starts nothing new");
    let entry = registry
        .entry(&vending_domain::TenantId::parse("payments").expect("id"))
        .expect("recorded");
    assert_eq!(entry.status, TenantStatus::Requested);
}

#[tokio::test]
async fn a_bad_request_gets_a_400_with_every_field_and_starts_nothing() {
    let (registry, workflow, config) = (FakeRegistry::default(), FakeWorkflow::default(), config());
    let mut bad = sample();
    bad["body"] = json!(
        json!({"requestId": "r-1", "tenantId": "Bad_Name", "environment": "prod", "owners": [], "surprise": 1})
            .to_string()
    );
    let answer = tenant_request::handle(&registry, &workflow, &config, bad).await;
    assert_eq!(answer["statusCode"], 400, "{answer}");
    let fields: Vec<String> = body_of(&answer)["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
        .collect();
    for f in ["surprise", "tenantId", "owners"] {
        assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
    }
    assert!(workflow.started().is_empty());
    let mut wrong_route = sample();
    wrong_route["rawPath"] = json!("/admin");
    let answer = tenant_request::handle(&registry, &workflow, &config, wrong_route).await;
    assert_eq!(answer["statusCode"], 404);
}

/// The sample event as another route: method, path (with `?query`), body.
fn call(method: &str, target: &str, body: Option<Value>) -> Value {
    let mut event = sample();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    event["routeKey"] = json!(format!("{method} {path}"));
    event["rawPath"] = json!(path);
    event["rawQueryString"] = json!(query);
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(path);
    event["body"] = body.map_or(Value::Null, |b| json!(b.to_string()));
    event
}

#[tokio::test]
async fn a_tenant_is_shown_with_its_status_step_and_record_and_an_unknown_one_is_a_404() {
    use vending_domain::ports::{FailureInfo, Registry};
    let (registry, workflow, config) = (FakeRegistry::default(), FakeWorkflow::default(), config());
    tenant_request::handle(&registry, &workflow, &config, sample()).await;
    workflow.enter("portal-portal-7f3c2a9e", "Normalize");
    let shown = tenant_request::handle(
        &registry,
        &workflow,
        &config,
        call("GET", "/tenants/payments", None),
    )
    .await;
    assert_eq!(shown["statusCode"], 200, "{shown}");
    let view = body_of(&shown);
    assert_eq!(view["status"], "REQUESTED");
    assert_eq!(view["environment"], "prod");
    assert_eq!(view["step"], "Normalize", "{view}");
    assert_eq!(view["execution"]["status"], "RUNNING");
    // Failed: the step that failed, and why.
    let tenant = vending_domain::TenantId::parse("payments").expect("id");
    let mut entry = registry.entry(&tenant).expect("entry");
    entry.status = TenantStatus::Failed;
    entry.failure = Some(FailureInfo {
        step: "GrantClusterAccess".into(),
        error: "AccessDenied".into(),
        cause: "no".into(),
    });
    registry.put(&entry).await.expect("put");
    let view = body_of(
        &tenant_request::handle(
            &registry,
            &workflow,
            &config,
            call("GET", "/tenants/payments", None),
        )
        .await,
    );
    assert_eq!(view["step"], "GrantClusterAccess");
    assert_eq!(view["failure"]["error"], "AccessDenied");
    let missing = tenant_request::handle(
        &registry,
        &workflow,
        &config,
        call("GET", "/tenants/nobody", None),
    )
    .await;
    assert_eq!(missing["statusCode"], 404);
    let bad = tenant_request::handle(
        &registry,
        &workflow,
        &config,
        call("GET", "/tenants/Not_An_Id", None),
    )
    .await;
    assert_eq!(bad["statusCode"], 400);
    assert_eq!(body_of(&bad)["errors"][0]["field"], "tenantId");
    let wrong = tenant_request::handle(
        &registry,
        &workflow,
        &config,
        call("PUT", "/tenants/payments", None),
    )
    .await;
    assert_eq!(wrong["statusCode"], 405);
    assert_eq!(wrong["headers"]["allow"], "GET, DELETE");
}

#[tokio::test]
async fn an_offboarding_is_started_once_per_key_and_refused_when_it_cannot_be() {
    use vending_domain::ports::{Registry, RegistryEntry};
    let (registry, workflow, config) = (FakeRegistry::default(), FakeWorkflow::default(), config());
    let tenant = vending_domain::TenantId::parse("payments").expect("id");
    let delete = |body: Value| call("DELETE", "/tenants/payments", Some(body));

    let missing = tenant_request::handle(&registry, &workflow, &config, delete(json!({}))).await;
    assert_eq!(missing["statusCode"], 404, "{missing}");

    let mut entry = RegistryEntry::new(tenant.clone(), "req-1".into());
    entry.status = TenantStatus::Ready;
    entry.account_id = Some(config.network.account_id.clone());
    registry.put(&entry).await.expect("put");
    let network = tenant_request::handle(&registry, &workflow, &config, delete(json!({}))).await;
    assert_eq!(network["statusCode"], 400, "{network}");
    assert!(
        body_of(&network)
            .to_string()
            .contains("the network account")
    );

    entry.account_id = Some("222233334444".into());
    registry.put(&entry).await.expect("put");
    let bad = tenant_request::handle(
        &registry,
        &workflow,
        &config,
        delete(json!({"closeAccount": "yes", "offboardingId": "k"})),
    )
    .await;
    assert_eq!(bad["statusCode"], 400, "{bad}");
    assert!(workflow.offboardings().is_empty(), "nothing started");

    let body = json!({"closeAccount": true, "reason": "moved", "offboardingId": "k-1"});
    let first = tenant_request::handle(&registry, &workflow, &config, delete(body.clone())).await;
    assert_eq!(first["statusCode"], 202, "{first}");
    assert_eq!(body_of(&first)["closeAccount"], true);
    let again = tenant_request::handle(&registry, &workflow, &config, delete(body)).await;
    assert_eq!(
        body_of(&again),
        body_of(&first),
        "the same key answers the same"
    );
    let started = workflow.offboardings();
    assert_eq!(started.len(), 1, "{started:?}");
    assert_eq!(
        started["offboard-k-1"],
        json!({"tenantId": "payments", "closeAccount": true, "reason": "moved"})
    );

    entry.status = TenantStatus::Closed;
    registry.put(&entry).await.expect("put");
    let closed = tenant_request::handle(&registry, &workflow, &config, delete(json!({}))).await;
    assert_eq!(closed["statusCode"], 409, "{closed}");
    let rerun = tenant_request::handle(
        &registry,
        &workflow,
        &config,
        call("POST", "/tenants/payments/rerun", Some(json!({}))),
    )
    .await;
    assert_eq!(rerun["statusCode"], 409, "{rerun}");
}

#[tokio::test]
async fn tenants_are_listed_by_filter_a_page_at_a_time_and_bad_filters_are_named() {
    let (registry, workflow, config) = (FakeRegistry::default(), FakeWorkflow::default(), config());
    for (id, env, team) in [
        ("alpha", "dev", "a"),
        ("bravo", "prod", "b"),
        ("charlie", "prod", "a"),
    ] {
        let mut body = sample_body();
        body["tenantId"] = json!(id);
        body["requestId"] = json!(format!("r-{id}"));
        body["environment"] = json!(env);
        body["tags"] = json!({"Team": team, "CostCenter": "cc-1"});
        let answer = tenant_request::handle(&registry, &workflow, &config, with_body(body)).await;
        assert_eq!(answer["statusCode"], 202, "{answer}");
    }
    let ids = |answer: &Value| -> Vec<String> {
        body_of(answer)["tenants"]
            .as_array()
            .expect("tenants")
            .iter()
            .map(|t| t["tenantId"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let list = |q: &str| call("GET", &format!("/tenants?{q}"), None);
    let all = tenant_request::handle(&registry, &workflow, &config, list("")).await;
    assert_eq!(ids(&all), ["alpha", "bravo", "charlie"]);
    let prod = tenant_request::handle(
        &registry,
        &workflow,
        &config,
        list("environment=prod&tag=Team%3Da"),
    )
    .await;
    assert_eq!(ids(&prod), ["charlie"]);
    let first = tenant_request::handle(&registry, &workflow, &config, list("limit=2")).await;
    assert_eq!(ids(&first), ["alpha", "bravo"]);
    let token = body_of(&first)["nextToken"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let rest = tenant_request::handle(
        &registry,
        &workflow,
        &config,
        list(&format!("limit=2&nextToken={token}")),
    )
    .await;
    assert_eq!(ids(&rest), ["charlie"]);
    assert!(body_of(&rest).get("nextToken").is_none());
    let ready = tenant_request::handle(&registry, &workflow, &config, list("status=READY")).await;
    assert!(ids(&ready).is_empty());
    let bad = tenant_request::handle(
        &registry,
        &workflow,
        &config,
        list("status=done&limit=1000"),
    )
    .await;
    assert_eq!(bad["statusCode"], 400);
    let fields: Vec<Value> = body_of(&bad)["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(fields, [json!("status"), json!("limit")]);
}

#[tokio::test]
async fn a_rerun_starts_the_last_request_again_unless_an_execution_runs() {
    use vending_domain::ports::Registry;
    let (registry, workflow, config) = (FakeRegistry::default(), FakeWorkflow::default(), config());
    tenant_request::handle(&registry, &workflow, &config, sample()).await;
    let tenant = vending_domain::TenantId::parse("payments").expect("id");
    // The first execution holds the tenant's lease and runs: a re-run is refused.
    registry
        .acquire(&tenant, "portal-portal-7f3c2a9e")
        .await
        .expect("lease");
    let busy = tenant_request::handle(
        &registry,
        &workflow,
        &config,
        call("POST", "/tenants/payments/rerun", None),
    )
    .await;
    assert_eq!(busy["statusCode"], 409, "{busy}");
    registry
        .release(&tenant, "portal-portal-7f3c2a9e")
        .await
        .expect("release");
    let mut entry = registry.entry(&tenant).expect("entry");
    entry.status = TenantStatus::Ready;
    registry.put(&entry).await.expect("put");
    let keyed = Some(json!({"rerunId": "fix-1"}));
    let rerun = tenant_request::handle(
        &registry,
        &workflow,
        &config,
        call("POST", "/tenants/payments/rerun", keyed.clone()),
    )
    .await;
    assert_eq!(rerun["statusCode"], 202, "{rerun}");
    assert_eq!(
        workflow.started()["rerun-fix-1"],
        sample_body(),
        "with the request as posted"
    );
    tenant_request::handle(
        &registry,
        &workflow,
        &config,
        call("POST", "/tenants/payments/rerun", keyed),
    )
    .await;
    assert_eq!(
        workflow.started().len(),
        2,
        "the same key starts nothing new"
    );
    let unkeyed = tenant_request::handle(
        &registry,
        &workflow,
        &config,
        call("POST", "/tenants/payments/rerun", None),
    )
    .await;
    assert_eq!(unkeyed["statusCode"], 202, "{unkeyed}");
    assert_eq!(workflow.started().len(), 3);
    let bad = tenant_request::handle(
        &registry,
        &workflow,
        &config,
        call(
            "POST",
            "/tenants/payments/rerun",
            Some(json!({"rerunId": "no spaces", "x": 1})),
        ),
    )
    .await;
    assert_eq!(bad["statusCode"], 400, "{bad}");
    let missing = tenant_request::handle(
        &registry,
        &workflow,
        &config,
        call("POST", "/tenants/nobody/rerun", None),
    )
    .await;
    assert_eq!(missing["statusCode"], 404);
}

fn with_body(body: Value) -> Value {
    let mut event = sample();
    event["body"] = json!(body.to_string());
    event
}

fn sample_body() -> Value {
    serde_json::from_str(sample()["body"].as_str().expect("body")).expect("JSON")
}

#[tokio::test]
async fn a_request_id_names_one_request_and_a_failed_one_posted_again_is_a_new_attempt() {
    use vending_domain::ports::{FailureInfo, Registry};
    let (registry, workflow, config) = (FakeRegistry::default(), FakeWorkflow::default(), config());
    let first = tenant_request::handle(&registry, &workflow, &config, sample()).await;
    assert_eq!(body_of(&first)["attempt"], 1);
    // The same id with another body: 409, nothing started.
    let mut changed = sample_body();
    changed["displayName"] = json!("Payments and more");
    let answer = tenant_request::handle(&registry, &workflow, &config, with_body(changed)).await;
    assert_eq!(answer["statusCode"], 409, "{answer}");
    assert!(
        body_of(&answer)["message"]
            .as_str()
            .unwrap_or_default()
            .contains("portal-7f3c2a9e")
    );
    assert_eq!(workflow.started().len(), 1);
    // The run failed: posting the same request again starts attempt 2, and says why.
    let tenant = vending_domain::TenantId::parse("payments").expect("id");
    let mut entry = registry.entry(&tenant).expect("entry");
    entry.status = TenantStatus::Failed;
    entry.failure = Some(FailureInfo {
        step: "ProvisionNetwork".into(),
        error: "QuotaExceeded".into(),
        cause: "the pool is full".into(),
    });
    registry.put(&entry).await.expect("put");
    let again = tenant_request::handle(&registry, &workflow, &config, sample()).await;
    assert_eq!(again["statusCode"], 202, "{again}");
    let said = body_of(&again);
    assert_eq!(said["attempt"], 2);
    assert!(
        said["executionArn"]
            .as_str()
            .unwrap_or_default()
            .ends_with(":portal-portal-7f3c2a9e-2")
    );
    assert!(
        said["message"]
            .as_str()
            .unwrap_or_default()
            .contains("ProvisionNetwork (QuotaExceeded)"),
        "{said}"
    );
    assert_eq!(workflow.started().len(), 2);
    let started = workflow.started();
    assert_eq!(
        started["portal-portal-7f3c2a9e-2"],
        sample_body(),
        "the workflow gets the body"
    );
}

#[tokio::test]
async fn a_tenant_whose_namespaces_overlap_anothers_is_refused_with_the_field() {
    let (registry, workflow, config) = (FakeRegistry::default(), FakeWorkflow::default(), config());
    let mut team = sample_body();
    team["tenantId"] = json!("team");
    team["requestId"] = json!("r-team");
    let ok = tenant_request::handle(&registry, &workflow, &config, with_body(team)).await;
    assert_eq!(ok["statusCode"], 202, "{ok}");
    for (id, request) in [("team-a", "r-a"), ("kube", "r-kube")] {
        let mut body = sample_body();
        body["tenantId"] = json!(id);
        body["requestId"] = json!(request);
        let answer = tenant_request::handle(&registry, &workflow, &config, with_body(body)).await;
        assert_eq!(answer["statusCode"], 400, "{answer}");
        assert_eq!(
            body_of(&answer)["errors"][0]["field"],
            "tenantId",
            "{answer}"
        );
    }
    assert_eq!(workflow.started().len(), 1);
}

#[tokio::test]
async fn a_batch_rerun_starts_one_batch_execution_and_keeps_execution_names_within_80() {
    let (registry, workflow, config) = (FakeRegistry::default(), FakeWorkflow::default(), config());
    let long = format!("p{}", "a".repeat(39));
    let mut body = sample_body();
    body["tenantId"] = json!(long);
    let answer = tenant_request::handle(&registry, &workflow, &config, with_body(body)).await;
    assert_eq!(answer["statusCode"], 202, "{answer}");

    // rerun-<key>-<tenant> would pass Step Functions' 80 characters: refused, named.
    let key = "k".repeat(34);
    let answer = tenant_request::handle(
        &registry,
        &workflow,
        &config,
        call(
            "POST",
            "/reruns",
            Some(json!({"tenants": [long], "rerunId": key})),
        ),
    )
    .await;
    assert_eq!(answer["statusCode"], 400, "{answer}");
    assert_eq!(body_of(&answer)["errors"][0]["field"], "rerunId");
    assert!(workflow.batches().is_empty(), "nothing started");

    // Within it (and once the tenant's vending ended): one batch execution, whose input
    // carries the tenant's recorded request.
    let id = vending_domain::TenantId::parse(&long).expect("id");
    let mut entry = registry.entry(&id).expect("recorded");
    entry.status = TenantStatus::Ready;
    vending_domain::ports::Registry::put(&registry, &entry)
        .await
        .expect("put");
    let key = "k".repeat(33);
    let answer = tenant_request::handle(
        &registry,
        &workflow,
        &config,
        call(
            "POST",
            "/reruns",
            Some(json!({"tenants": [long], "rerunId": key, "concurrency": 3})),
        ),
    )
    .await;
    assert_eq!(answer["statusCode"], 202, "{answer}");
    let batches = workflow.batches();
    let input = &batches[&format!("batch-{key}")];
    assert_eq!(input["concurrency"], 3);
    let name = input["tenants"][0]["name"].as_str().expect("a name");
    assert_eq!(name.len(), 80);
    assert_eq!(input["tenants"][0]["input"]["tenantId"], long);
}
