//! The portal API end to end: its OpenAPI document kept current and matched by the template
//! and by `vend serve`; `vend serve` on loopback in front of the strict local platform, with
//! the CLI's own code (`vend::cli`) as the client: a request followed to READY through its
//! steps, a status, a listing from the registry's index (DynamoDB on the sandbox), a re-run
//! that converges, and the exit codes a script branches on. Every answer is checked against
//! the published schema.

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use vend::cli::{self, Format, Io, exit};
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
fn every_documented_route_is_an_event_of_the_api_function_and_no_other_is() {
    let template = vend::template::parse(&repo("infra/template.yaml")).expect("the template");
    let events = template["Resources"]["TenantRequestFunction"]["Properties"]["Events"]
        .as_object()
        .expect("the API function's events");
    let mut routes: Vec<(String, String)> = events
        .values()
        .filter(|e| e["Type"] == "HttpApi")
        .map(|e| {
            (
                e["Properties"]["Method"]
                    .as_str()
                    .unwrap_or_default()
                    .to_ascii_uppercase(),
                e["Properties"]["Path"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    routes.sort();
    assert_eq!(routes, documented_routes());
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
        let local = Arc::new(e2e::vending(1).await);
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
    let ran =
        run(async |io| cli::request(client, io, &first, Some(&config), Format::Json, wait).await)
            .await;
    assert_eq!(ran.code, exit::OK, "{ran:?}");
    let view: Value = serde_json::from_str(&ran.out).expect("JSON on stdout");
    assert_valid("TenantView", &view);
    assert_eq!(view["status"], "READY");
    assert_eq!(view["generation"], 1);
    assert_eq!(view["record"]["tenantId"], "payments");
    let seen: Vec<&str> = ran.err.lines().collect();
    assert!(
        seen.iter().any(|l| l.contains("PROVISIONING")),
        "the steps are shown as they happen: {seen:?}"
    );
    assert!(
        seen.iter().any(|l| l.ends_with("ProvisionNetwork")
            || l.ends_with("ProvisionIdentity")
            || l.ends_with("CheckAccount")),
        "with the state the execution is in: {seen:?}"
    );

    // Two more, in other environments and teams; one started without waiting.
    let second = body("ledger", "req-ledger", "dev", "finance");
    let ran =
        run(async |io| cli::request(client, io, &second, Some(&config), Format::Name, None).await)
            .await;
    assert_eq!(
        (ran.code, ran.out.as_str()),
        (exit::OK, "tenant/ledger\n"),
        "{ran:?}"
    );
    let third = body("billing", "req-billing", "prod", "finance");
    let ran =
        run(async |io| cli::request(client, io, &third, Some(&config), Format::Json, wait).await)
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
    let ran =
        run(async |io| cli::request(client, io, &bad, Some(&config), Format::Table, None).await)
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
    let ran = run(async |io| cli::request(client, io, &bad, None, Format::Table, None).await).await;
    assert_eq!(ran.code, exit::INVALID, "refused by the API too: {ran:?}");
    assert!(ran.err.contains("(400)"), "{ran:?}");
    let ran = run(async |io| cli::status(client, io, "nobody", Format::Table, None).await).await;
    assert_eq!(ran.code, exit::NOT_FOUND, "{ran:?}");
    let mut reused = first.clone();
    reused["displayName"] = json!("Another request under the same id");
    let ran =
        run(async |io| cli::request(client, io, &reused, Some(&config), Format::Table, None).await)
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
