//! The portal API end to end: its OpenAPI document kept current and matched by the template
//! and by `vend serve`; `vend serve` on loopback in front of the strict local platform, with
//! the CLI's own code (`vend::cli`) as the client: a request followed to READY through its
//! steps, a status, a listing from the registry's index (DynamoDB on the sandbox), a re-run
//! that converges, and the exit codes a script branches on. Every answer is checked against
//! the published schema.

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use vend::cli::{self, Format, Io, Review, exit};
use vend::client::{ApiClient, Endpoint};
use vend::local::Local;
use vending_domain::ports::Registry as _;

fn repo(path: &str) -> String {
    vend::local::repo_file(path).expect("a repository file")
}

#[test]
fn the_published_openapi_document_is_current() {
    let path = vend::sandbox::repo_root().join("docs/openapi.yaml");
    let text = yaml_serde::to_string(&vending_domain::api::openapi::document()).expect("YAML");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).expect("write docs/openapi.yaml");
    }
    let published = std::fs::read_to_string(&path).expect("docs/openapi.yaml");
    assert_eq!(
        published, text,
        "docs/openapi.yaml is stale (UPDATE_GOLDEN=1 cargo nextest run -p e2e --test api rewrites it)"
    );
}

/// The (method, path) of every operation of the published document.
fn documented_routes() -> Vec<(String, String)> {
    let doc: Value = yaml_serde::from_str(&repo("docs/openapi.yaml")).expect("YAML");
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("operations").keys() {
            routes.push((method.to_ascii_uppercase(), path.clone()));
        }
    }
    routes.sort();
    routes
}

#[test]
fn every_documented_route_is_an_event_of_the_function_that_serves_it_and_no_other_is() {
    let template = vend::template::parse(&repo("infra/template.yaml")).expect("the template");
    let mut served: Vec<(String, String, String)> = Vec::new();
    for (function, resource) in template["Resources"].as_object().expect("resources") {
        let Some(events) = resource["Properties"]["Events"].as_object() else {
            continue;
        };
        for e in events.values().filter(|e| e["Type"] == "HttpApi") {
            served.push((
                e["Properties"]["Method"]
                    .as_str()
                    .unwrap_or_default()
                    .to_ascii_uppercase(),
                e["Properties"]["Path"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                function.clone(),
            ));
        }
    }
    served.sort();
    let mut wanted: Vec<(String, String, String)> = vending_domain::api::ROUTES
        .iter()
        .map(|r| {
            (
                r.method.to_owned(),
                r.path.to_owned(),
                r.function.to_owned(),
            )
        })
        .collect();
    wanted.sort();
    assert_eq!(served, wanted);
    let mut paths: Vec<(String, String)> = served.into_iter().map(|(m, p, _)| (m, p)).collect();
    paths.sort();
    assert_eq!(paths, documented_routes());
}

/// A validator of one component schema of the published document.
fn validator(component: &str) -> jsonschema::Validator {
    let doc: Value = yaml_serde::from_str(&repo("docs/openapi.yaml")).expect("YAML");
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{component}"),
        "components": doc["components"],
    });
    jsonschema::validator_for(&schema).expect("the component compiles")
}

fn assert_valid(component: &str, value: &Value) {
    let errors: Vec<String> = validator(component)
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{component}: {errors:#?}\n{value:#}");
}

/// The local platform behind `vend serve` on a free loopback port, and a client of it.
struct Served {
    local: Arc<Local>,
    client: ApiClient,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Served {
    async fn start() -> Served {
        Served::start_with(vend::local::example_config().expect("the example config")).await
    }

    async fn start_with(config: vending_domain::PlatformConfig) -> Served {
        let local = Arc::new(e2e::vending_with(config, 1, None).await);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(vend::serve::serve(local.clone(), listener, async {
            let _ = stopped.await;
        }));
        let client =
            ApiClient::new(Endpoint::new(&url, None, None).expect("a URL")).expect("a client");
        Served {
            local,
            client,
            stop: Some(stop),
            server,
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let stopped = tokio::time::timeout(Duration::from_secs(5), &mut self.server).await;
        assert!(
            matches!(stopped, Ok(Ok(Ok(())))),
            "the server stops cleanly: {stopped:?}"
        );
    }
}

/// What a CLI command printed, and its exit code.
#[derive(Debug)]
struct Ran {
    code: u8,
    out: String,
    err: String,
}

async fn run<F>(f: F) -> Ran
where
    F: AsyncFnOnce(&mut Io<'_>) -> u8,
{
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = {
        let mut io = Io {
            out: &mut out,
            err: &mut err,
            live: false,
            color: false,
        };
        f(&mut io).await
    };
    Ran {
        code,
        out: String::from_utf8_lossy(&out).into_owned(),
        err: String::from_utf8_lossy(&err).into_owned(),
    }
}

/// Every state name of a definition, its branches' and iterators' included.
fn state_names(definition: &str) -> std::collections::BTreeSet<String> {
    fn walk(value: &Value, names: &mut std::collections::BTreeSet<String>) {
        match value {
            Value::Object(fields) => {
                if let Some(Value::Object(states)) = fields.get("States") {
                    names.extend(states.keys().cloned());
                }
                fields.values().for_each(|v| walk(v, names));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, names)),
            _ => {}
        }
    }
    let text = repo(definition);
    let mut names = std::collections::BTreeSet::new();
    walk(&serde_json::from_str(&text).expect("JSON"), &mut names);
    names
}

fn body(id: &str, request: &str, environment: &str, team: &str) -> Value {
    let mut body = e2e::portal_body();
    body["tenantId"] = json!(id);
    body["requestId"] = json!(request);
    body["environment"] = json!(environment);
    body["tags"]["Team"] = json!(team);
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_requests_follows_lists_and_reruns_tenants_through_vend_serve() {
    let served = Served::start().await;
    let client = &served.client;
    let config = served.local.config().clone();
    let wait = Some(Duration::from_secs(120));

    // A request followed to READY: the steps show on stderr as the tenant moves through them.
    let first = body("payments", "req-payments", "prod", "payments");
    let ran = run(async |io| {
        cli::request(
            client,
            io,
            &first,
            Some(&config),
            Format::Json,
            wait,
            Review::Show,
        )
        .await
    })
    .await;
    assert_eq!(ran.code, exit::OK, "{ran:?}");
    let view: Value = serde_json::from_str(&ran.out).expect("JSON on stdout");
    assert_valid("TenantView", &view);
    assert_eq!(view["status"], "READY");
    assert_eq!(view["generation"], 1);
    assert_eq!(view["record"]["tenantId"], "payments");
    assert!(
        ran.err
            .starts_with("tenant payments (prod): create, generation 1\n"),
        "the plan first, on stderr: {}",
        ran.err
    );
    let seen: Vec<&str> = ran.err.lines().collect();
    assert!(
        seen.iter().any(|l| l.contains("PROVISIONING")),
        "the steps are shown as they happen: {seen:?}"
    );
    // Which states the follower samples depends on timing; each one it shows must be a state of
    // the vending definition.
    let states = state_names("workflows/tenant-vending.asl.json");
    let shown: Vec<&str> = seen
        .iter()
        .filter(|l| l.contains("PROVISIONING"))
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    assert!(
        !shown.is_empty() && shown.iter().all(|s| states.contains(*s)),
        "with the state the execution is in: {seen:?}"
    );

    // Its drift, from InspectTenant behind `vend serve`: none yet.
    let ran = run(async |io| cli::drift(client, io, "payments", Format::Table).await).await;
    assert_eq!(ran.code, exit::OK, "{ran:?}");
    assert!(
        ran.out
            .starts_with("tenant payments, generation 1: no drift ("),
        "{ran:?}"
    );
    let ran = run(async |io| cli::drift(client, io, "nobody", Format::Table).await).await;
    assert_eq!(ran.code, exit::NOT_FOUND, "{ran:?}");

    // Two more, in other environments and teams; one started without waiting.
    let second = body("ledger", "req-ledger", "dev", "finance");
    let ran = run(async |io| {
        cli::request(
            client,
            io,
            &second,
            Some(&config),
            Format::Name,
            None,
            Review::Show,
        )
        .await
    })
    .await;
    assert_eq!(
        (ran.code, ran.out.as_str()),
        (exit::OK, "tenant/ledger\n"),
        "{ran:?}"
    );
    let third = body("billing", "req-billing", "prod", "finance");
    let ran = run(async |io| {
        cli::request(
            client,
            io,
            &third,
            Some(&config),
            Format::Json,
            wait,
            Review::Show,
        )
        .await
    })
    .await;
    assert_eq!(ran.code, exit::OK, "{ran:?}");
    let ran = run(async |io| cli::status(client, io, "ledger", Format::Json, wait).await).await;
    assert_eq!(ran.code, exit::OK, "{ran:?}");

    // The listing comes from the registry's index, filtered and in order.
    let names = async |env: Option<&str>, status: Option<&str>, labels: &[String]| {
        let ran =
            run(async |io| cli::list(client, io, env, status, labels, Format::Name).await).await;
        assert_eq!(ran.code, exit::OK, "{ran:?}");
        ran.out
    };
    assert_eq!(
        names(None, None, &[]).await,
        "tenant/ledger\ntenant/billing\ntenant/payments\n"
    );
    assert_eq!(
        names(Some("prod"), Some("ready"), &[]).await,
        "tenant/billing\ntenant/payments\n"
    );
    assert_eq!(
        names(None, None, &["Team=finance".to_owned()]).await,
        "tenant/ledger\ntenant/billing\n"
    );
    assert_eq!(
        names(Some("dev"), None, &["Team=payments".to_owned()]).await,
        ""
    );
    let page = client
        .call("GET", "/tenants?limit=2", None)
        .await
        .expect("a page");
    assert_valid("TenantList", &page.body);
    let token = page.body["nextToken"].as_str().expect("a second page");
    let rest = client
        .call("GET", &format!("/tenants?limit=2&nextToken={token}"), None)
        .await
        .expect("the rest");
    assert_eq!(rest.body["tenants"][0]["tenantId"], "payments");
    assert!(rest.body.get("nextToken").is_none());

    // A re-run converges: the same record, nothing new.
    let before = served
        .local
        .platform
        .registry
        .get(&vending_domain::TenantId::parse("payments").expect("id"))
        .await;
    let ran = run(async |io| {
        cli::rerun(
            client,
            io,
            &["payments".to_owned()],
            Some("again-1"),
            Format::Json,
        )
        .await
    })
    .await;
    assert_eq!(ran.code, exit::OK, "{ran:?}");
    let accepted: Value = serde_json::from_str(&ran.out).expect("JSON");
    assert_valid("Accepted", &accepted);
    assert!(
        accepted["executionArn"]
            .as_str()
            .unwrap_or_default()
            .ends_with(":rerun-again-1")
    );
    let ran = run(async |io| cli::status(client, io, "payments", Format::Table, wait).await).await;
    assert_eq!(ran.code, exit::OK, "{ran:?}");
    served.local.settle().await.expect("settles");
    let after = served
        .local
        .platform
        .registry
        .get(&vending_domain::TenantId::parse("payments").expect("id"))
        .await;
    assert_eq!(
        before.expect("read").expect("entry").record,
        after.expect("read").expect("entry").record,
        "the re-run writes the same record bytes"
    );

    // Exit codes: invalid input (offline and by the API), no such tenant, a conflict.
    let bad = json!({"requestId": "r 1", "tenantId": "Bad", "environment": "moon", "owners": []});
    let ran = run(async |io| {
        cli::request(
            client,
            io,
            &bad,
            Some(&config),
            Format::Table,
            None,
            Review::Show,
        )
        .await
    })
    .await;
    assert_eq!(ran.code, exit::INVALID, "{ran:?}");
    for field in ["requestId", "tenantId", "environment", "owners"] {
        assert!(
            ran.err.contains(&format!("  {field}: ")),
            "{field} is named: {}",
            ran.err
        );
    }
    assert!(ran.out.is_empty(), "nothing on stdout: {ran:?}");
    let ran = run(async |io| {
        cli::request(client, io, &bad, None, Format::Table, None, Review::Show).await
    })
    .await;
    assert_eq!(ran.code, exit::INVALID, "refused by the API too: {ran:?}");
    assert!(ran.err.contains("(400)"), "{ran:?}");
    let ran = run(async |io| cli::status(client, io, "nobody", Format::Table, None).await).await;
    assert_eq!(ran.code, exit::NOT_FOUND, "{ran:?}");
    // Shown its plan and told no, `vend request` sends nothing.
    let declined = body("nobody", "req-nobody", "dev", "nobody");
    let mut no = || false;
    let ran = run(async |io| {
        cli::request(
            client,
            io,
            &declined,
            Some(&config),
            Format::Table,
            None,
            Review::Ask(&mut no),
        )
        .await
    })
    .await;
    assert_eq!(ran.code, exit::DECLINED, "{ran:?}");
    assert!(ran.err.contains("tenant nobody (dev): create"), "{ran:?}");
    let ran = run(async |io| cli::status(client, io, "nobody", Format::Table, None).await).await;
    assert_eq!(ran.code, exit::NOT_FOUND, "not sent: {ran:?}");
    let mut reused = first.clone();
    reused["displayName"] = json!("Another request under the same id");
    let ran = run(async |io| {
        cli::request(
            client,
            io,
            &reused,
            Some(&config),
            Format::Table,
            None,
            Review::Show,
        )
        .await
    })
    .await;
    assert_eq!(ran.code, exit::REFUSED, "{ran:?}");
    let ran =
        run(async |io| cli::list(client, io, None, Some("done"), &[], Format::Table).await).await;
    assert_eq!(ran.code, exit::INVALID, "{ran:?}");
    let url = client.endpoint().url.clone();
    served.stop().await;
    let gone = ApiClient::new(Endpoint::new(&url, None, None).expect("url")).expect("client");
    let ran = run(async |io| cli::status(&gone, io, "payments", Format::Table, None).await).await;
    assert_eq!(ran.code, exit::UNAVAILABLE, "{ran:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_offboards_a_tenant_and_follows_it_to_closed() {
    let mut config = vend::local::example_config().expect("the example config");
    if let Some(o) = config.offboarding.as_mut() {
        o.grace_period_seconds = 20;
    }
    let served = Served::start_with(config).await;
    let client = &served.client;
    let wait = Some(Duration::from_secs(120));
    let first = body("payments", "req-payments", "prod", "payments");
    let ran = run(async |io| {
        cli::request(client, io, &first, None, Format::Name, wait, Review::Skip).await
    })
    .await;
    assert_eq!(ran.code, exit::OK, "{ran:?}");

    let close = vending_domain::api::OffboardBody {
        close_account: true,
        reason: Some("the team left".into()),
        offboarding_id: None,
    };
    let ran =
        run(async |io| cli::offboard(client, io, "payments", &close, Format::Json, wait).await)
            .await;
    assert_eq!(ran.code, exit::OK, "{ran:?}");
    assert!(
        ran.err
            .starts_with("offboarding payments (offboard-payments-"),
        "{ran:?}"
    );
    let view: Value = serde_json::from_str(&ran.out).expect("JSON on stdout");
    assert_valid("TenantView", &view);
    assert_eq!(view["status"], "CLOSED");
    assert_eq!(view["offboarding"]["closeAccount"], true);
    assert_eq!(view["offboarding"]["reason"], "the team left");
    assert_eq!(view["record"]["lifecycle"], "closed");

    // Closed already: refused (exit 3), and the API's answer is a documented error.
    let ran =
        run(async |io| cli::offboard(client, io, "payments", &close, Format::Table, None).await)
            .await;
    assert_eq!(ran.code, exit::REFUSED, "{ran:?}");
    let reply = client
        .call(
            "DELETE",
            "/tenants/payments",
            Some(&json!({"closeAccount": 1})),
        )
        .await
        .expect("answered");
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_valid("ApiError", &reply.body);
    let ran =
        run(async |io| cli::offboard(client, io, "nobody", &close, Format::Table, None).await)
            .await;
    assert_eq!(ran.code, exit::NOT_FOUND, "{ran:?}");
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_documented_route_is_served_and_no_bad_input_gets_a_5xx() {
    let served = Served::start().await;
    let client = &served.client;
    let routes = documented_routes();
    for (method, path) in &routes {
        let target = path.replace("{tenantId}", "nobody");
        let body = (method == "POST").then(|| json!({}));
        let reply = client
            .call(method, &target, body.as_ref())
            .await
            .expect("answered");
        assert!(
            reply.status < 500 && reply.status != 405,
            "{method} {path}: {reply:?}"
        );
        if reply.status >= 400 {
            assert_valid("ApiError", &reply.body);
        }
    }
    let misses: [(&str, &str, Option<Value>, u16); 8] = [
        ("GET", "/nothing", None, 404),
        ("DELETE", "/tenants", None, 405),
        ("PUT", "/tenants/payments", None, 405),
        ("POST", "/tenants", Some(json!("a string")), 400),
        ("POST", "/tenants", Some(json!({"requestId": 7})), 400),
        ("GET", "/tenants/UPPER", None, 400),
        ("GET", "/tenants?limit=x&colour=red", None, 400),
        (
            "POST",
            "/tenants/nobody/rerun",
            Some(json!({"rerunId": "x", "extra": 1})),
            400,
        ),
    ];
    for (method, target, body, status) in misses {
        let reply = client
            .call(method, target, body.as_ref())
            .await
            .expect("answered");
        assert_eq!(reply.status, status, "{method} {target}: {reply:?}");
        assert_valid("ApiError", &reply.body);
    }
    served.stop().await;
}

/// The window of the sandbox's call log from `from` on: the calls an IAM principal made (a
/// function's role), and the mutating calls of anyone but the local dispatcher's polling.
fn calls_since(local: &Local, from: usize) -> (Vec<Value>, Vec<Value>) {
    let calls = local.sandbox.calls().expect("the call log");
    let window = &calls[from.min(calls.len())..];
    let by_functions = window
        .iter()
        .filter(|c| c["root"] == false)
        .cloned()
        .collect();
    let mutating = window
        .iter()
        .filter(|c| c["mutating"] == true)
        .filter(|c| !(c["root"] == true && c["operation"] == "ReceiveMessage"))
        .cloned()
        .collect();
    (by_functions, mutating)
}

async fn plan_of(client: &ApiClient, body: &Value) -> (Value, vending_domain::plan::Plan) {
    let ran = run(async |io| cli::plan(client, io, body, None, Format::Json).await).await;
    assert_eq!(ran.code, exit::OK, "{ran:?}");
    let value: Value = serde_json::from_str(&ran.out).expect("JSON on stdout");
    assert_valid("Plan", &value);
    let plan = serde_json::from_value(value.clone()).expect("a plan");
    (value, plan)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_shows_what_a_request_would_do_and_changes_nothing() {
    use vending_domain::plan::{AccountAction, FileAction, KNOWN_AFTER, NetworkAction, PlanAction};
    let served = Served::start().await;
    let client = &served.client;
    let local = &served.local;
    let config = local.config().clone();

    // A new tenant: an account to create, a block to claim, every file to add. Read-only: the
    // functions' calls in the window are reads, and nobody else changed anything either.
    let first = body("payments", "req-payments", "prod", "payments");
    let from = local.sandbox.calls().expect("log").len();
    let (_, plan) = plan_of(client, &first).await;
    let (by_functions, mutating) = calls_since(local, from);
    assert!(
        !by_functions.is_empty(),
        "the plan read the registry through the function's role"
    );
    assert!(mutating.is_empty(), "a plan changes nothing: {mutating:?}");
    assert_eq!(plan.action, PlanAction::Create);
    assert_eq!(plan.status, None);
    assert_eq!(plan.generation, 1);
    assert_eq!(plan.account.action, AccountAction::Create);
    assert_eq!(plan.account.account_id, KNOWN_AFTER);
    assert!(plan.account.email.is_some());
    assert_eq!(plan.account.ou_id, config.environments["prod"].ou_id);
    assert_eq!(plan.account.tags["Team"], "payments");
    assert_eq!(plan.network.action, NetworkAction::Claim);
    let promised = plan.network.cidr.expect("a free block");
    assert_eq!(plan.roles.len(), config.identity.roles.len());
    for role in &plan.roles {
        assert!(role.name.starts_with("payments-"), "{role:?}");
        assert!(
            role.boundary_arn.contains(":policy/") || role.boundary_arn.contains(":iam::"),
            "{role:?}"
        );
        assert!(!role.trusted.is_empty(), "{role:?}");
    }
    let teams: Vec<(&str, &str, &[String])> = plan
        .teams
        .iter()
        .map(|t| {
            (
                t.kind.as_str(),
                t.permission_set.as_str(),
                t.groups.as_slice(),
            )
        })
        .collect();
    assert_eq!(
        teams,
        [
            ("owners", "TenantOwner", &["payments-admins".to_owned()][..]),
            (
                "viewers",
                "TenantViewer",
                &["payments-auditors".to_owned()][..]
            )
        ]
    );
    assert_eq!(plan.clusters.len(), config.clusters.len());
    for cluster in &plan.clusters {
        // Each role's, and each team role's (not made yet: known after apply).
        assert_eq!(cluster.entries.len(), plan.roles.len() + 2);
        let teams: Vec<&str> = cluster.entries[plan.roles.len()..]
            .iter()
            .map(|e| e.principal_arn.as_str())
            .collect();
        assert_eq!(
            teams,
            [
                "AWSReservedSSO_TenantOwner_* (known after apply)",
                "AWSReservedSSO_TenantViewer_* (known after apply)"
            ]
        );
        assert_eq!(cluster.namespaces, ["payments", "payments-*"]);
    }
    assert!(plan.changes.is_empty());
    assert!(
        plan.manifests.iter().all(|m| m.action == FileAction::Add
            && m.diff.contains("+apiVersion")
            || m.path.ends_with(".json")),
        "{:?}",
        plan.manifests
    );
    assert!(
        plan.manifests
            .iter()
            .any(|m| m.path.ends_with("records/payments.json"))
    );
    assert!(
        local
            .platform
            .registry
            .get(&vending_domain::TenantId::parse("payments").expect("id"))
            .await
            .expect("read")
            .is_none(),
        "no entry was made"
    );

    // Vended, the tenant gets the block the plan promised and the roles it named.
    let ran = run(async |io| {
        cli::request(
            client,
            io,
            &first,
            Some(&config),
            Format::Json,
            Some(Duration::from_secs(120)),
            Review::Skip,
        )
        .await
    })
    .await;
    assert_eq!(ran.code, exit::OK, "{ran:?}");
    let view: Value = serde_json::from_str(&ran.out).expect("JSON");
    assert_eq!(view["cidr"], promised.to_string());
    let made: Vec<&str> = view["record"]["identity"]["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .filter_map(|r| r["arn"].as_str())
        .collect();
    for (role, arn) in plan.roles.iter().zip(&made) {
        assert!(arn.ends_with(&format!(":role/{}", role.name)), "{arn}");
    }
    local.settle().await.expect("settles");

    // The same request again: nothing to do.
    let (_, same) = plan_of(client, &first).await;
    assert_eq!(same.action, PlanAction::Unchanged, "{:?}", same.changes);
    assert_eq!(same.account.action, AccountAction::Keep);
    assert_eq!(
        same.account.account_id,
        view["accountId"].as_str().expect("id")
    );
    assert_eq!(same.network.action, NetworkAction::Keep);
    assert_eq!(same.network.cidr, Some(promised));
    assert_eq!(same.generation, 1);
    assert!(
        same.manifests
            .iter()
            .all(|m| m.action == FileAction::Unchanged && m.diff.is_empty()),
        "{:?}",
        same.manifests
    );

    // A changed request: each record field that changes, and the manifests' diff.
    let mut changed = first.clone();
    changed["requestId"] = json!("req-payments-2");
    changed["displayName"] = json!("Payments and refunds");
    changed["tags"]["CostCentre"] = json!("cc-42");
    let from = local.sandbox.calls().expect("log").len();
    let (_, update) = plan_of(client, &changed).await;
    let (_, mutating) = calls_since(local, from);
    assert!(mutating.is_empty(), "a plan changes nothing: {mutating:?}");
    assert_eq!(update.action, PlanAction::Update);
    assert_eq!(update.generation, 2);
    let paths: Vec<&str> = update.changes.iter().map(|c| c.path.as_str()).collect();
    for field in ["displayName", "requestId", "tags.CostCentre", "generation"] {
        assert!(paths.contains(&field), "{field} in {paths:?}");
    }
    let tenant_yaml = update
        .manifests
        .iter()
        .find(|m| m.path.ends_with("payments/tenant.yaml"))
        .expect("the Tenant");
    assert_eq!(tenant_yaml.action, FileAction::Modify);
    assert!(
        tenant_yaml
            .diff
            .contains("+    tenant-vending.dev/display-name: Payments and refunds"),
        "{}",
        tenant_yaml.diff
    );
    // The table a person reads says the same.
    let ran =
        run(async |io| cli::plan(client, io, &changed, Some(&config), Format::Table).await).await;
    assert_eq!(ran.code, exit::OK, "{ran:?}");
    assert!(
        ran.out
            .starts_with("tenant payments (prod): update, generation 2\n"),
        "{}",
        ran.out
    );
    assert!(ran.out.contains("~ displayName: "), "{}", ran.out);

    // What cannot change in place is said, not hidden.
    let mut moved = changed.clone();
    moved["network"] = json!({"prefixLength": promised.prefix() + 1});
    let (_, resized) = plan_of(client, &moved).await;
    assert!(
        resized
            .warnings
            .iter()
            .any(|w| w.starts_with("network.prefixLength")),
        "{:?}",
        resized.warnings
    );

    // A bad request is refused with every field named, offline and by the API.
    let bad = json!({"requestId": "r 1", "tenantId": "Bad", "environment": "moon", "owners": []});
    for config in [Some(&config), None] {
        let ran = run(async |io| cli::plan(client, io, &bad, config, Format::Table).await).await;
        assert_eq!(ran.code, exit::INVALID, "{ran:?}");
        assert!(ran.err.contains("  tenantId: "), "{ran:?}");
    }
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_selector_rerun_is_one_batch_execution_at_its_concurrency() {
    let served = Served::start().await;
    let client = &served.client;
    let local = &served.local;
    let config = local.config().clone();
    let prod = ["payments", "ledger", "billing", "refunds"];
    for id in prod {
        let b = body(id, &format!("req-{id}"), "prod", "finance");
        let ran = run(async |io| {
            cli::request(
                client,
                io,
                &b,
                Some(&config),
                Format::Name,
                None,
                Review::Show,
            )
            .await
        })
        .await;
        assert_eq!(ran.code, exit::OK, "{ran:?}");
    }
    let dev = body("sandbox", "req-sandbox", "dev", "finance");
    let ran = run(async |io| {
        cli::request(
            client,
            io,
            &dev,
            Some(&config),
            Format::Name,
            None,
            Review::Show,
        )
        .await
    })
    .await;
    assert_eq!(ran.code, exit::OK, "{ran:?}");
    local.settle().await.expect("settles");
    let record = async |id: &str| {
        local
            .platform
            .registry
            .get(&vending_domain::TenantId::parse(id).expect("id"))
            .await
            .expect("read")
            .expect("entry")
            .record
    };
    let before = record("ledger").await;

    // The prod tenants, two at a time: one execution of the batch workflow.
    let request = cli::batch_request(&[], Some("prod"), Some("ready"), &[], 2, Some("b1"))
        .expect("a selector");
    let ran = run(async |io| cli::rerun_batch(client, io, &request, Format::Json).await).await;
    assert_eq!(ran.code, exit::OK, "{ran:?}");
    let answer: Value = serde_json::from_str(&ran.out).expect("JSON");
    assert_valid("BatchAccepted", &answer);
    let batch = answer["executionArn"].as_str().expect("a batch execution");
    assert!(
        batch.ends_with(":execution:tenant-rerun:batch-b1"),
        "{batch}"
    );
    let mut names: Vec<&str> = answer["tenants"]
        .as_array()
        .expect("tenants")
        .iter()
        .filter_map(|t| t["tenantId"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["billing", "ledger", "payments", "refunds"]);
    let (result, history) = local.wait(batch).await.expect("the batch ends");
    assert_eq!(result.status.as_str(), "SUCCEEDED", "{result:?}");
    let results = result.output.as_ref().expect("output")["results"]
        .as_array()
        .expect("results")
        .clone();
    assert_eq!(results.len(), 4);
    assert!(
        results.iter().all(|r| r["status"] == "SUCCEEDED"),
        "{results:?}"
    );

    // Never more than two tenants' vending at once, and two at once did happen.
    let (mut open, mut most) = (0_i32, 0_i32);
    for event in &history {
        match &*event.event_type {
            "MapIterationStarted" => open += 1,
            "MapIterationSucceeded" | "MapIterationFailed" | "MapIterationAborted" => open -= 1,
            _ => {}
        }
        most = most.max(open);
    }
    assert_eq!(most, 2, "MaxConcurrency holds and is used");

    // Each tenant's re-run is a vending execution the platform sees, named by the batch.
    let started: Vec<String> = local.executions().into_iter().map(|(arn, _)| arn).collect();
    for id in prod {
        assert!(
            started
                .iter()
                .any(|arn| arn.ends_with(&format!(":execution:tenant-vending:rerun-b1-{id}"))),
            "{id} in {started:?}"
        );
    }
    assert!(!started.iter().any(|arn| arn.contains("rerun-b1-sandbox")));
    assert_eq!(record("ledger").await, before, "a re-run converges");

    // The same batch asked again is the same execution; bad bodies are refused, named.
    let ran = run(async |io| cli::rerun_batch(client, io, &request, Format::Json).await).await;
    assert_eq!(ran.code, exit::OK, "{ran:?}");
    let again: Value = serde_json::from_str(&ran.out).expect("JSON");
    assert_eq!(again["executionArn"], answer["executionArn"]);
    for (bad, field) in [
        (json!({"selector": {}, "concurrency": 0}), "concurrency"),
        (json!({"selector": {}, "tenants": ["ledger"]}), "selector"),
        (json!({"tenants": ["ledger", "nobody"]}), "tenants[1]"),
        (json!({"tenants": ["ledger"], "colour": "red"}), "body"),
        (json!({"selector": [null, null]}), "selector"),
        (json!([{"tenants": ["ledger"]}]), "body"),
    ] {
        let reply = client
            .call("POST", "/reruns", Some(&bad))
            .await
            .expect("an answer");
        assert_eq!(reply.status, 400, "{bad}: {:?}", reply.body);
        assert_valid("ApiError", &reply.body);
        assert!(
            reply.body["errors"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e["field"] == field)),
            "{field} named: {}",
            reply.body
        );
    }
    let none = cli::batch_request(&[], Some("staging"), None, &[], 2, None).expect("selector");
    let ran = run(async |io| cli::rerun_batch(client, io, &none, Format::Json).await).await;
    assert_eq!(ran.code, exit::OK, "{ran:?}");
    assert!(ran.err.contains("nothing to re-run"), "{ran:?}");
    served.stop().await;
}

/// The body the Backstage template renders (`backstage/examples/request-body.json`, which the
/// template's own test keeps equal to its rendering with Backstage's rules) is a request the
/// domain, the published schema and `vend serve` all take.
#[tokio::test(flavor = "multi_thread")]
async fn the_backstage_templates_request_is_taken_by_the_domain_the_schema_and_vend_serve() {
    let body: Value =
        serde_json::from_str(&repo("backstage/examples/request-body.json")).expect("JSON");
    assert_valid("TenantRequest", &body);
    let served = Served::start().await;
    let config = served.local.config().clone();
    let spec = vending_domain::TenantRequest::from_value(&body)
        .and_then(|r| r.validate(&config))
        .expect("the domain takes it");
    assert_eq!(spec.tenant_id.as_str(), "checkout");
    let reply = served
        .client
        .call("POST", "/tenants", Some(&body))
        .await
        .expect("an answer");
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_valid("Accepted", &reply.body);
    served.stop().await;
}
