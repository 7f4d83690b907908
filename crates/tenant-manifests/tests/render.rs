//! Rendering tests: golden files for representative tenants, strict validation of every
//! rendered Tenant against Capsule's v1beta2 CRD schema (read in place from
//! `../shared/schemas/`; skipped, saying so, when a clone has no `../shared`), broken records
//! refused with the field named, and the published record schema kept current.
//!
//! `UPDATE_GOLDEN=1 cargo nextest run -p tenant-manifests` rewrites the golden files and the
//! published schema; review the diff.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use tenant_manifests::{RenderError, bundle, crd, render};
use vending_domain::TenantRecord;

fn here() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn updating() -> bool {
    std::env::var_os("UPDATE_GOLDEN").is_some()
}

const CASES: [&str; 3] = ["payments", "sandbox-lab", "data-platform"];

fn record(case: &str) -> TenantRecord {
    let path = here().join(format!("tests/records/{case}.json"));
    let text = std::fs::read_to_string(&path).expect("record file");
    TenantRecord::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_tree(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            read_tree(root, &path, out);
        } else {
            let rel = path.strip_prefix(root).expect("under root");
            out.push((
                rel.to_string_lossy().replace('\\', "/"),
                std::fs::read(&path).expect("golden file"),
            ));
        }
    }
}

#[test]
fn rendered_bundles_match_the_golden_files() {
    for case in CASES {
        let record = record(case);
        let bundle = bundle(&record, "").expect("renders");
        let again = tenant_manifests::bundle(&record, "").expect("renders");
        assert_eq!(
            bundle, again,
            "{case}: the same record gives the same bytes"
        );
        let mut got: Vec<(String, Vec<u8>)> = bundle
            .manifests
            .iter()
            .chain([&bundle.record])
            .map(|f| (f.path.clone(), f.bytes.clone()))
            .collect();
        got.sort();
        let golden = here().join("tests/golden").join(case);
        if updating() {
            let _ = std::fs::remove_dir_all(&golden);
            for (path, bytes) in &got {
                let file = golden.join(path);
                std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
                std::fs::write(file, bytes).expect("write golden");
            }
        }
        let mut want = Vec::new();
        read_tree(&golden, &golden, &mut want);
        want.sort();
        let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
        assert_eq!(names(&got), names(&want), "{case}: files");
        for ((path, got), (_, want)) in got.iter().zip(&want) {
            assert_eq!(
                String::from_utf8_lossy(got),
                String::from_utf8_lossy(want),
                "{case}: {path} (UPDATE_GOLDEN=1 rewrites the golden files)"
            );
        }
    }
}

#[test]
fn a_root_folder_prefixes_every_path() {
    let b = bundle(&record("payments"), "clusters/shared").expect("renders");
    assert_eq!(b.tenant_dir, "clusters/shared/tenants/payments");
    assert_eq!(b.record.path, "clusters/shared/records/payments.json");
    assert!(
        b.manifests
            .iter()
            .all(|f| f.path.starts_with("clusters/shared/tenants/payments/"))
    );
}

fn refused(mutate: impl FnOnce(&mut Value)) -> Vec<String> {
    let text = std::fs::read_to_string(here().join("tests/records/payments.json")).expect("record");
    let mut value: Value = serde_json::from_str(&text).expect("json");
    mutate(&mut value);
    let errs = match TenantRecord::from_json(&value.to_string()) {
        Err(errs) => errs,
        Ok(record) => match render(&record) {
            Err(RenderError::Invalid(errs)) => errs,
            other => panic!("rendered a broken record: {other:?}"),
        },
    };
    errs.errors.iter().map(|e| e.field.clone()).collect()
}

/// A change that breaks a record.
type Mutation = Box<dyn FnOnce(&mut Value)>;

#[test]
fn broken_records_are_refused_with_the_field_named() {
    let cases: Vec<(Mutation, Vec<&str>)> = vec![
        (
            Box::new(|v| v["kubernetes"]["namespaceQuota"] = json!(0)),
            vec!["kubernetes.namespaceQuota"],
        ),
        (
            Box::new(|v| v["kubernetes"]["resourceQuota"]["requests.cpu"] = json!("sixteen")),
            vec!["kubernetes.resourceQuota.requests.cpu"],
        ),
        (
            Box::new(|v| v["kubernetes"]["nodeSelector"] = json!({"pool": "has space"})),
            vec!["kubernetes.nodeSelector.pool"],
        ),
        (
            Box::new(|v| v["kubernetes"]["ingress"]["hostnames"] = json!(["*.example.com"])),
            vec!["kubernetes.ingress.hostnames"],
        ),
        (
            Box::new(|v| v["environment"] = json!("Prod Env")),
            vec!["environment"],
        ),
        (
            Box::new(|v| {
                for role in v["identity"]["roles"].as_array_mut().expect("roles") {
                    role["tenantOwner"] = json!(false);
                    role["accessPolicyArn"] =
                        json!("arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy");
                }
            }),
            vec!["identity.roles"],
        ),
        (
            // A viewer whose EKS access would let it edit: the two layers must agree.
            Box::new(|v| {
                v["identity"]["roles"][2]["accessPolicyArn"] =
                    json!("arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy")
            }),
            vec!["identity.roles[2].accessPolicyArn"],
        ),
        (
            Box::new(|v| {
                v["identity"]["roles"][1]["accessPolicyArn"] =
                    json!("arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy")
            }),
            vec!["identity.roles[1].accessPolicyArn"],
        ),
        (
            Box::new(|v| v["identity"]["roles"][0]["kubernetesGroup"] = json!("system:masters")),
            vec!["identity.roles[0].kubernetesGroup"],
        ),
        (
            Box::new(|v| v["apiVersion"] = json!("tenant-vending.dev/v2")),
            vec!["apiVersion"],
        ),
        (Box::new(|v| v["generation"] = json!(0)), vec!["generation"]),
        (
            Box::new(|v| v["tenantId"] = json!("Payments")),
            vec!["record"],
        ),
        (Box::new(|v| v["surprise"] = json!(1)), vec!["record"]),
    ];
    for (mutate, want) in cases {
        assert_eq!(refused(mutate), want);
    }
}

/// Capsule's Tenant CRD, or None (said on stderr) when this clone has no `../shared`.
fn tenant_crd() -> Option<Value> {
    let path = here().join("../../../shared/schemas/capsule.clastix.io_tenants.yaml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!(
            "skipped: {} is missing (the Capsule CRD lives in ../shared beside the checkout)",
            path.display()
        );
        return None;
    };
    Some(crd::version_schema(&text, "v1beta2").expect("the CRD serves v1beta2"))
}

fn rendered_tenants() -> Vec<(String, Value)> {
    CASES
        .iter()
        .map(|case| {
            let files = render(&record(case)).expect("renders");
            let tenant = files
                .iter()
                .find(|f| f.path.ends_with("/tenant.yaml"))
                .expect("a tenant.yaml");
            let text = String::from_utf8(tenant.bytes.clone()).expect("utf-8");
            (case.to_string(), yaml_serde::from_str(&text).expect("YAML"))
        })
        .collect()
}

#[test]
fn every_rendered_tenant_is_valid_against_the_crd_strictly() {
    let Some(schema) = tenant_crd() else { return };
    let validator = jsonschema::validator_for(&crd::strict(&schema)).expect("the schema compiles");
    for (case, tenant) in rendered_tenants() {
        let errors: Vec<String> = validator
            .iter_errors(&tenant)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{case}: {errors:#?}");
        let found = crd::flagged_fields(&tenant, &schema);
        assert!(found.is_empty(), "{case}: {found:#?}");
    }
}

#[test]
fn strict_validation_catches_unknown_and_mistyped_fields() {
    let Some(schema) = tenant_crd() else { return };
    let validator = jsonschema::validator_for(&crd::strict(&schema)).expect("the schema compiles");
    let (_, tenant) = rendered_tenants().remove(0);
    let mut unknown = tenant.clone();
    unknown["spec"]["namespaceOptions"]["quotas"] = json!(3);
    assert!(!validator.is_valid(&unknown), "an unknown field must fail");
    let mut mistyped = tenant.clone();
    mistyped["spec"]["owners"][0]["kind"] = json!("Team");
    assert!(
        !validator.is_valid(&mistyped),
        "a value outside the enum must fail"
    );
    let mut bad_quantity = tenant;
    bad_quantity["spec"]["rules"][0]["quota"][0]["hard"]["pods"] = json!("lots");
    assert!(
        !validator.is_valid(&bad_quantity),
        "a bad quantity must fail"
    );
}

#[test]
fn the_published_record_schema_is_current_and_records_satisfy_it() {
    let path = here().join("../../docs/schemas/tenant-record-v1.schema.json");
    let schema = serde_json::to_value(schemars::schema_for!(TenantRecord)).expect("schema");
    let text = serde_json::to_string_pretty(&schema).expect("encodes") + "\n";
    if updating() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, &text).expect("write schema");
    }
    let published =
        std::fs::read_to_string(&path).expect("docs/schemas/tenant-record-v1.schema.json");
    assert_eq!(
        published, text,
        "the published schema is stale (UPDATE_GOLDEN=1 rewrites it)"
    );
    let validator = jsonschema::validator_for(&schema).expect("compiles");
    for case in CASES {
        let value = serde_json::to_value(record(case)).expect("encodes");
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{case}: {errors:#?}");
    }
    for (field, value) in [
        ("/kubernetes/surprise", json!(true)),
        ("/apiVersion", json!("tenant-vending.dev/v2")),
        ("/generation", json!(0)),
        ("/tenantId", json!("Payments")),
        ("/kubernetes/networkPolicyProfile", json!("wide-open")),
    ] {
        let mut broken = serde_json::to_value(record("payments")).expect("encodes");
        let (parent, key) = field.rsplit_once('/').expect("a pointer");
        broken
            .pointer_mut(if parent.is_empty() { "" } else { parent })
            .and_then(Value::as_object_mut)
            .expect("parent object")
            .insert(key.to_owned(), value);
        assert!(!validator.is_valid(&broken), "the schema accepts {field}");
    }
}

#[test]
fn an_offboarding_tenant_is_cordoned_and_a_closed_one_has_no_manifests() {
    use vending_domain::record::Lifecycle;
    let active = record("payments");
    let offboarding = TenantRecord {
        lifecycle: Lifecycle::Offboarding,
        ..active.clone()
    };
    let files = render(&offboarding).expect("renders");
    let tenant = files
        .iter()
        .find(|f| f.path.ends_with("/tenant.yaml"))
        .expect("a tenant.yaml");
    let tenant: Value =
        yaml_serde::from_str(std::str::from_utf8(&tenant.bytes).expect("utf-8")).expect("YAML");
    assert_eq!(tenant["spec"]["cordoned"], json!(true));
    let active_files = render(&active).expect("renders");
    assert_eq!(
        files.len(),
        active_files.len(),
        "cordoning keeps every object"
    );
    if let Some(schema) = tenant_crd() {
        let validator =
            jsonschema::validator_for(&crd::strict(&schema)).expect("the schema compiles");
        let errors: Vec<String> = validator
            .iter_errors(&tenant)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    let closed = TenantRecord {
        lifecycle: Lifecycle::Closed,
        ..active
    };
    assert!(render(&closed).expect("renders").is_empty());
    let bundle = bundle(&closed, "clusters/shared").expect("a bundle");
    assert!(bundle.manifests.is_empty());
    assert_eq!(bundle.tenant_dir, "clusters/shared/tenants/payments");
    assert!(
        String::from_utf8(bundle.record.bytes)
            .expect("utf-8")
            .contains("\"lifecycle\": \"closed\"")
    );
}
