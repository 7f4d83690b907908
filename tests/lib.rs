//! Shared set-up of the end-to-end tests: a sandbox seeded like a platform team's organization.
//! These tests need the project's virtualenv (`make setup`); `make test` creates it first.

use aws_config::SdkConfig;
use vend::sandbox::{Sandbox, SandboxOptions};
use vending_aws::clients::sandbox_config;
use vending_aws::seed::{SeedSpec, SeededPlatform, seed};

/// The region the sandbox runs in.
pub const REGION: &str = "eu-west-1";

/// A running, seeded sandbox.
#[derive(Debug)]
pub struct World {
    /// The sandbox process (stopped on drop).
    pub sandbox: Sandbox,
    /// Management-account configuration pointing at it.
    pub config: SdkConfig,
    /// What seeding created.
    pub platform: SeededPlatform,
}

/// Starts a sandbox in which a new account needs `account_polls` status polls, and seeds it.
/// IAM is not enforced: these tests call the adapters with the sandbox's root credentials.
pub async fn world(account_polls: u32) -> World {
    let options = SandboxOptions {
        account_polls,
        attachment_reads: 0,
        ec2_optin_calls: 0,
        events_region: REGION.into(),
    };
    let sandbox = Sandbox::start(&options).expect("the sandbox starts (run `make setup` first)");
    let config = sandbox_config(&sandbox.endpoint(), REGION);
    let spec = SeedSpec {
        environments: vec!["dev".into(), "prod".into()],
        clusters: vec!["shared-1".into(), "shared-2".into()],
        member_role_name: "OrganizationAccountAccessRole".into(),
        principals: vec!["arn:aws:iam::123456789012:role/platform-admins".into()],
        groups: vec!["payments-admins".into()],
        permission_sets: vec!["TenantOwner".into()],
    };
    let platform = seed(&config, &spec).await.expect("seeding works");
    World {
        sandbox,
        config,
        platform,
    }
}

/// A local vending platform on a fresh sandbox, strict: the real definition on the executor,
/// every handler in process on its own template role, the example platform config pointed at
/// the seeded accounts, the template's rules delivering.
pub async fn vending(account_polls: u32) -> vend::local::Local {
    let config = vend::local::example_config().expect("the example config is valid");
    vending_with(config, account_polls, None).await
}

/// `vending` with another config, and another template (its text) when given.
pub async fn vending_with(
    config: vending_domain::PlatformConfig,
    account_polls: u32,
    template: Option<String>,
) -> vend::local::Local {
    let quiet: vend::local::Observer = std::sync::Arc::new(|_| {});
    let options = vend::local::LocalOptions {
        sandbox: SandboxOptions {
            account_polls,
            ..SandboxOptions::default()
        },
        strict: true,
        template,
        // As `vend serve` runs: GET /tenants/{id} shows where a running execution is.
        mirror_history: true,
        ..vend::local::LocalOptions::default()
    };
    vend::local::Local::start(config, options, quiet)
        .await
        .expect("the sandbox starts and is seeded (run `make setup` first)")
}

/// Submits a portal request as API Gateway would, and waits for the execution it started.
pub async fn request(
    local: &vend::local::Local,
    body: &serde_json::Value,
) -> (serde_json::Value, Option<asl_executor::ExecutionResult>) {
    let answer = local.request(portal(body)).await;
    let reply: serde_json::Value =
        serde_json::from_str(answer["body"].as_str().unwrap_or("null")).expect("a JSON body");
    let result = match (
        answer["statusCode"].as_u64(),
        reply["executionArn"].as_str(),
    ) {
        (Some(202), Some(arn)) => Some(local.wait(arn).await.expect("the execution ends").0),
        _ => None,
    };
    let mut answer = answer;
    answer["body"] = reply;
    (answer, result)
}

/// The configuration of a member account, through the member role.
pub async fn member(local: &vend::local::Local, account_id: &str) -> SdkConfig {
    vending_aws::clients::assume_role(
        &local.sdk,
        account_id,
        &local.platform.config.member_role_name,
        "e2e-check",
    )
    .await
}

/// A queue named `rule` that receives what `pattern` matches on `bus`, through a rule of the
/// same name; returns the queue's URL.
pub async fn rule_to_queue(
    sdk: &SdkConfig,
    bus: &str,
    rule: &str,
    pattern: &serde_json::Value,
) -> String {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let events = aws_sdk_eventbridge::Client::new(sdk);
    let url = sqs
        .create_queue()
        .queue_name(rule)
        .send()
        .await
        .expect("queue")
        .queue_url()
        .unwrap_or_default()
        .to_owned();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("attributes");
    let arn = attrs
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .cloned()
        .unwrap_or_default();
    events
        .put_rule()
        .event_bus_name(bus)
        .name(rule)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .expect("rule");
    events
        .put_targets()
        .event_bus_name(bus)
        .rule(rule)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(arn)
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("targets");
    url
}

/// A queue that receives the service's `TenantReady` and `TenantFailed` events.
pub async fn event_queue(local: &vend::local::Local) -> String {
    rule_to_queue(
        &local.sdk,
        vend::local::EVENT_BUS,
        "tenant-outcomes",
        &serde_json::json!({"source": ["tenant-vending"], "detail-type": ["TenantReady", "TenantFailed"]}),
    )
    .await
}

/// Every event waiting in the queue, as `(detail-type, detail)`.
pub async fn drain(local: &vend::local::Local, url: &str) -> Vec<(String, serde_json::Value)> {
    let sqs = aws_sdk_sqs::Client::new(&local.sdk);
    let mut out = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive");
        if got.messages().is_empty() {
            return out;
        }
        for m in got.messages() {
            let event: serde_json::Value =
                serde_json::from_str(m.body().unwrap_or_default()).expect("an event");
            out.push((
                event["detail-type"].as_str().unwrap_or_default().to_owned(),
                event["detail"].clone(),
            ));
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
    }
}

/// The sample portal request of `events/` with another body.
pub fn portal(body: &serde_json::Value) -> serde_json::Value {
    let mut event: serde_json::Value = serde_json::from_str(
        &vend::local::repo_file("events/portal-request.json").expect("sample"),
    )
    .expect("JSON");
    event["body"] = serde_json::Value::String(body.to_string());
    event
}

/// Re-runs tenant `id` through the API (`POST /tenants/{id}/rerun`), and waits until the
/// executions it started have ended.
pub async fn rerun(local: &vend::local::Local, id: &str) {
    let mut event = portal(&serde_json::json!({}));
    event["rawPath"] = serde_json::json!(format!("/tenants/{id}/rerun"));
    event["routeKey"] = serde_json::json!("POST /tenants/{tenantId}/rerun");
    event["requestContext"]["http"]["path"] = serde_json::json!(format!("/tenants/{id}/rerun"));
    let answer = local.request(event).await;
    assert_eq!(answer["statusCode"], 202, "{answer}");
    local.settle().await.expect("the re-run ends");
}

/// The portal API's drift check of a tenant, as API Gateway gives it to InspectTenant: the
/// status and the body.
pub async fn drift_of(local: &vend::local::Local, id: &str) -> (u64, serde_json::Value) {
    let mut event = portal(&serde_json::json!({}));
    let path = format!("/tenants/{id}/drift");
    event["rawPath"] = serde_json::json!(path);
    event["routeKey"] = serde_json::json!("GET /tenants/{tenantId}/drift");
    event["requestContext"]["http"]["method"] = serde_json::json!("GET");
    event["requestContext"]["http"]["path"] = serde_json::json!(path);
    event["body"] = serde_json::Value::Null;
    let answer = local.request(event).await;
    let body = serde_json::from_str(answer["body"].as_str().unwrap_or("null")).expect("JSON");
    (answer["statusCode"].as_u64().unwrap_or_default(), body)
}

/// The sample portal request's body.
pub fn portal_body() -> serde_json::Value {
    let event: serde_json::Value = serde_json::from_str(
        &vend::local::repo_file("events/portal-request.json").expect("sample"),
    )
    .expect("JSON");
    serde_json::from_str(event["body"].as_str().unwrap_or_default()).expect("the body is JSON")
}

/// A file of the repository: its path from the root (with `/`) and its text.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path from the repository's root.
    pub path: String,
    /// The text.
    pub text: String,
}

/// Every file below the repository's folders `tops` (`""`: the root) whose name ends with one
/// of `extensions`, sorted by path; build output, node packages, fuzz corpora and hidden
/// folders (the virtualenvs) are skipped.
pub fn sources(tops: &[&str], extensions: &[&str]) -> Vec<Source> {
    fn walk(dir: &std::path::Path, base: &std::path::Path, ext: &[&str], out: &mut Vec<Source>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                let skipped = name.starts_with('.')
                    || matches!(
                        name.as_str(),
                        "target" | "node_modules" | "corpus" | "artifacts"
                    );
                if !skipped {
                    walk(&path, base, ext, out);
                }
            } else if ext.iter().any(|e| name.ends_with(&format!(".{e}"))) {
                let rel = path.strip_prefix(base).expect("under the root");
                out.push(Source {
                    path: rel.to_string_lossy().replace('\\', "/"),
                    text: std::fs::read_to_string(&path).unwrap_or_default(),
                });
            }
        }
    }
    let base = vend::sandbox::repo_root();
    let mut out = Vec::new();
    for top in tops {
        walk(&base.join(top), &base, extensions, &mut out);
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The function crates: the folders of `functions/` with a `Cargo.toml`, sorted.
pub fn function_crates() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(vend::sandbox::repo_root().join("functions"))
        .expect("functions/")
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The registry entry of tenant `id` (which must have one).
pub async fn entry(local: &vend::local::Local, id: &str) -> vending_domain::ports::RegistryEntry {
    use vending_domain::ports::Registry as _;
    local
        .platform
        .registry
        .get(&vending_domain::TenantId::parse(id).expect("an id"))
        .await
        .expect("registry read")
        .expect("the tenant has a registry entry")
}

/// How many times the sandbox has answered `operation` so far.
pub fn calls_of(local: &vend::local::Local, operation: &str) -> usize {
    local
        .sandbox
        .calls()
        .expect("calls")
        .iter()
        .filter(|c| c["operation"] == operation)
        .count()
}

/// The organization's management account, as Organizations names it.
pub async fn management_account(local: &vend::local::Local) -> String {
    aws_sdk_organizations::Client::new(&local.sdk)
        .describe_organization()
        .send()
        .await
        .expect("organization")
        .organization()
        .and_then(|o| o.master_account_id())
        .expect("a management account")
        .to_owned()
}
