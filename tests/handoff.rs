//! The hand-off end to end: vending on the sandbox commits the tenant's Capsule manifests to
//! the local git repository (valid against Capsule's CRD, strictly), a re-run commits
//! nothing, an update commits once with the next generation; and the S3 destination on the
//! sandbox keeps the same paths and never rewrites unchanged bytes.

use asl_executor::Status;
use e2e::{drain, event_queue, portal_body, vending, world};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;
use vend::local::Local;
use vending_domain::config::GitOpsConfig;
use vending_domain::ports::{ManifestDestination, Publication, Registry};
use vending_domain::{StepError, TenantRecord};

/// The local destination repository of a platform, and its branch.
fn repository(local: &Local) -> (PathBuf, String) {
    match &local.platform.config.gitops {
        GitOpsConfig::Git(git) => (
            PathBuf::from(git.url.strip_prefix("file://").expect("a file:// remote")),
            git.branch.clone(),
        ),
        GitOpsConfig::S3(_) => panic!("local mode commits to git by default"),
    }
}

fn git(repo: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(repo)
        .args(args)
        .output()
        .expect("git runs (make setup installs it)");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn vend(local: &Local, name: &str, body: &Value) -> Value {
    let (result, _) = local.vend(name, body.clone()).await.expect("runs");
    assert_eq!(
        result.status,
        Status::Succeeded,
        "{name}: {:?}",
        result.cause
    );
    result.output.unwrap_or(Value::Null)
}

/// Capsule's Tenant CRD schema, or None (said) when this clone has no `../shared`.
fn capsule_schema() -> Option<Value> {
    let path = vend::sandbox::repo_root().join("../shared/schemas/capsule.clastix.io_tenants.yaml");
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(tenant_manifests::crd::version_schema(&text, "v1beta2").expect("v1beta2")),
        Err(_) => {
            eprintln!("skipped the CRD check: {} is missing", path.display());
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vended_tenant_is_committed_once_and_updates_bump_the_generation() {
    let local = vending(1).await;
    let queue = event_queue(&local).await;
    let (repo, branch) = repository(&local);
    let body = portal_body();
    let record = vend(&local, "first", &body).await;
    assert_eq!(record["generation"], 1);
    let commits = || {
        git(&repo, &["rev-list", "--count", &branch])
            .trim()
            .to_owned()
    };
    assert_eq!(commits(), "1");
    let message = git(&repo, &["log", "-1", "--format=%B", &branch]);
    let request = record["requestId"].as_str().expect("request id");
    assert!(
        message.starts_with("tenant payments: generation 1"),
        "{message}"
    );
    assert!(
        message.contains(&format!("Request-Id: {request}")),
        "{message}"
    );

    // The head holds the Tenant, valid against the CRD with unknown fields refused, and the
    // record, byte for byte what the registry holds.
    let root = local.platform.config.gitops.root().to_owned();
    let at = |path: &str| format!("{branch}:{root}/{path}");
    let tenant: Value =
        yaml_serde::from_str(&git(&repo, &["show", &at("tenants/payments/tenant.yaml")]))
            .expect("the Tenant is YAML");
    assert_eq!(tenant["apiVersion"], "capsule.clastix.io/v1beta2");
    assert_eq!(tenant["kind"], "Tenant");
    assert_eq!(tenant["metadata"]["name"], "payments");
    assert_eq!(
        tenant["spec"]["owners"],
        json!([{"kind": "Group", "name": "tenant:payments:admins"}])
    );
    assert_eq!(tenant["spec"]["namespaceOptions"]["quota"], 5);
    if let Some(schema) = capsule_schema() {
        let validator = jsonschema::validator_for(&tenant_manifests::crd::strict(&schema))
            .expect("the schema compiles");
        let errors: Vec<String> = validator
            .iter_errors(&tenant)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    let committed = git(&repo, &["show", &at("records/payments.json")]);
    let entry = local
        .platform
        .registry
        .get(&vending_domain::TenantId::parse("payments").expect("id"))
        .await
        .expect("registry")
        .expect("entry");
    assert_eq!(entry.record.as_deref(), Some(committed.as_str()));
    assert!(
        git(&repo, &["ls-tree", "-r", "--name-only", &branch])
            .contains("tenants/payments/network-policies.yaml")
    );

    // A re-run of the same request: the same bytes, no commit.
    let again = vend(&local, "again", &body).await;
    assert_eq!(again, record);
    assert_eq!(commits(), "1", "a re-run commits nothing");

    // An update (a new request asking for more namespaces and no network policies): the next
    // generation, one commit, the policy file gone.
    let mut update = body.clone();
    update["requestId"] = json!("portal-update-1");
    update["kubernetes"] = json!({"namespaceQuota": 9, "networkPolicyProfile": "open"});
    let updated = vend(&local, "update", &update).await;
    assert_eq!(updated["generation"], 2);
    assert_eq!(commits(), "2");
    let tenant: Value =
        yaml_serde::from_str(&git(&repo, &["show", &at("tenants/payments/tenant.yaml")]))
            .expect("YAML");
    assert_eq!(tenant["spec"]["namespaceOptions"]["quota"], 9);
    assert_eq!(
        tenant["metadata"]["annotations"]["tenant-vending.dev/generation"],
        "2"
    );
    assert!(
        !git(&repo, &["ls-tree", "-r", "--name-only", &branch]).contains("network-policies.yaml")
    );
    let events = drain(&local, &queue).await;
    let generations: Vec<&Value> = events.iter().map(|(_, d)| &d["generation"]).collect();
    assert_eq!(generations, [&json!(1), &json!(1), &json!(2)], "{events:?}");
}

fn sample_record(generation: u64, profile: &str) -> TenantRecord {
    let path =
        vend::sandbox::repo_root().join("crates/tenant-manifests/tests/records/payments.json");
    let mut value: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("sample record")).expect("JSON");
    value["generation"] = json!(generation);
    value["kubernetes"]["networkPolicyProfile"] = json!(profile);
    TenantRecord::from_json(&value.to_string()).expect("valid")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_s3_destination_keeps_the_paths_and_never_rewrites_unchanged_bytes() {
    let world = world(1).await;
    let bucket = "tenant-manifests";
    vending_aws::seed::ensure_bucket(&world.config, bucket)
        .await
        .expect("bucket");
    let s3 = vending_aws::manifests::path_style_client(&world.config);
    let destination = vending_aws::S3Manifests::new(s3.clone(), bucket);
    // Versioning on: every write makes a version, so "nothing rewritten" is checkable.
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("versioning");
    let versions = || async {
        let listed = s3
            .list_object_versions()
            .bucket(bucket)
            .send()
            .await
            .expect("versions");
        let mut out: Vec<(String, String)> = listed
            .versions()
            .iter()
            .map(|v| {
                (
                    v.key().unwrap_or_default().to_owned(),
                    v.version_id().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        out.sort();
        out
    };
    let keys = || async {
        let listed = s3
            .list_objects_v2()
            .bucket(bucket)
            .send()
            .await
            .expect("list");
        let mut out: Vec<String> = listed
            .contents()
            .iter()
            .map(|o| o.key().unwrap_or_default().to_owned())
            .collect();
        out.sort();
        out
    };

    let first = tenant_manifests::bundle(&sample_record(3, "isolated"), "flux").expect("renders");
    let written = destination.publish(&first).await.expect("published");
    assert!(
        matches!(written, Publication::Written { .. }),
        "{written:?}"
    );
    let after_first = versions().await;
    assert_eq!(after_first.len(), 3, "{after_first:?}");
    assert_eq!(
        keys().await,
        [
            "flux/records/payments.json",
            "flux/tenants/payments/network-policies.yaml",
            "flux/tenants/payments/tenant.yaml"
        ]
    );
    let body = s3
        .get_object()
        .bucket(bucket)
        .key("flux/tenants/payments/tenant.yaml")
        .send()
        .await
        .expect("object")
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes();
    assert_eq!(body.as_ref(), first.manifests[0].bytes.as_slice());

    // The same bundle again: nothing written (no new version of any object).
    let again = destination.publish(&first).await.expect("re-run");
    assert!(matches!(again, Publication::Unchanged { .. }), "{again:?}");
    assert_eq!(versions().await, after_first);

    // The next generation without policies: the policy object goes, the rest is rewritten.
    let update = tenant_manifests::bundle(&sample_record(4, "open"), "flux").expect("renders");
    let written = destination.publish(&update).await.expect("update");
    assert!(
        matches!(written, Publication::Written { .. }),
        "{written:?}"
    );
    let names = keys().await;
    assert_eq!(
        names,
        [
            "flux/records/payments.json",
            "flux/tenants/payments/tenant.yaml"
        ]
    );

    // An older generation is refused and changes nothing.
    let before = versions().await;
    let stale = tenant_manifests::bundle(&sample_record(2, "isolated"), "flux").expect("renders");
    let err = destination.publish(&stale).await.expect_err("stale");
    assert!(matches!(err, StepError::Conflict(_)), "{err:?}");
    assert_eq!(versions().await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn vending_with_an_s3_destination_fills_the_bucket() {
    let mut config = vend::local::example_config().expect("config");
    config.gitops = GitOpsConfig::S3(vending_domain::config::S3DestinationConfig {
        bucket: "flux-tenants".into(),
        prefix: String::new(),
    });
    // Strict: HandOff's template policy must allow the bucket (GitOpsBucketName).
    let local = e2e::vending_with(config, 1, None).await;
    let record = vend(&local, "s3", &portal_body()).await;
    assert_eq!(record["generation"], 1);
    let s3 = vending_aws::manifests::path_style_client(&local.sdk);
    let listed = s3
        .list_objects_v2()
        .bucket("flux-tenants")
        .send()
        .await
        .expect("list");
    let mut keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "records/payments.json",
            "tenants/payments/network-policies.yaml",
            "tenants/payments/tenant.yaml"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn git_credentials_come_from_the_configured_secret() {
    let world = world(1).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&world.config);
    let secret = |name: &'static str, text: &'static str| {
        let secrets = secrets.clone();
        async move {
            let created = secrets
                .create_secret()
                .name(name)
                .secret_string(text)
                .send()
                .await
                .expect("secret");
            created.arn().expect("an ARN").to_owned()
        }
    };
    let arn = secret(
        "tenant-vending/gitops",
        r#"{"username": "tenant-vending", "password": "t0ken"}"#,
    )
    .await;
    assert_eq!(
        vending_aws::manifests::secret(&world.config, &arn)
            .await
            .expect("read"),
        r#"{"username": "tenant-vending", "password": "t0ken"}"#
    );

    // The destination HandOff builds: the secret read and parsed, then a real publish (a
    // file:// remote asks for no credentials).
    let scratch = tempfile::tempdir().expect("scratch");
    let remote = scratch.path().join("tenants.git");
    vending_gitops::ensure_bare_repository(&remote).expect("bare repository");
    let mut config = vend::local::example_config().expect("config");
    let GitOpsConfig::Git(git) = &mut config.gitops else {
        panic!("the example config commits to git")
    };
    git.url = format!("file://{}", remote.display());
    git.credentials_secret_arn = Some(arn.clone());
    let destination = vending_gitops::Destination::from_config(
        &config,
        &world.config,
        &scratch.path().join("cache"),
    )
    .await
    .expect("the destination is built with the secret");
    assert!(matches!(destination, vending_gitops::Destination::Git(_)));
    let bundle = tenant_manifests::bundle(&sample_record(1, "open"), "").expect("renders");
    let published = destination.publish(&bundle).await.expect("published");
    assert!(
        matches!(published, Publication::Written { .. }),
        "{published:?}"
    );

    // A secret of the wrong shape fails at build time, with the secret named.
    let bad = secret("tenant-vending/bad", r#"{"token": "t0ken"}"#).await;
    let GitOpsConfig::Git(git) = &mut config.gitops else {
        unreachable!()
    };
    git.credentials_secret_arn = Some(bad.clone());
    let err = vending_gitops::Destination::from_config(
        &config,
        &world.config,
        &scratch.path().join("cache2"),
    )
    .await
    .expect_err("a bad secret is refused");
    assert!(err.to_string().contains(&bad), "{err}");
}
