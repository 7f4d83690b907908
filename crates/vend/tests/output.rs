//! What the operator's commands print, held by golden files (`tests/golden/`): the table of a
//! tenant, of a failed one and of a listing, with and without colour, and the `name` format.
//! `UPDATE_GOLDEN=1 cargo nextest run -p vend --test output` rewrites them after a deliberate
//! change.

use serde_json::json;
use vend::cli::{Format, render_accepted, render_list, render_view};
use vending_domain::api::{Accepted, TenantSummary, TenantView};

fn golden(name: &str, text: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, text).expect("write the golden file");
    }
    let held = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(held, text, "{name} (UPDATE_GOLDEN=1 rewrites it)");
}

fn view(value: serde_json::Value) -> TenantView {
    serde_json::from_value(value).expect("a tenant view")
}

fn summaries() -> Vec<TenantSummary> {
    serde_json::from_value(json!([
        {"tenantId": "ledger", "status": "PROVISIONING", "environment": "dev", "accountId": "210987654321"},
        {"tenantId": "billing", "status": "FAILED", "environment": "prod"},
        {"tenantId": "payments", "status": "READY", "environment": "prod", "accountId": "123456789012", "generation": 3,
         "tags": {"Team": "payments"}}
    ]))
    .expect("summaries")
}

#[test]
fn a_ready_tenant_a_failed_one_and_a_listing_print_as_tables() {
    let ready = view(json!({
        "tenantId": "payments", "requestId": "req-1", "status": "READY", "environment": "prod",
        "accountId": "123456789012", "cidr": "10.64.0.0/20", "generation": 3
    }));
    golden(
        "status-ready.txt",
        &render_view(&ready, Format::Table, false),
    );
    let failed = view(json!({
        "tenantId": "billing", "requestId": "req-2", "status": "FAILED", "environment": "prod",
        "step": "GrantClusterAccess",
        "failure": {"step": "GrantClusterAccess", "error": "AccessDenied", "cause": "eks:CreateAccessEntry was refused"}
    }));
    golden(
        "status-failed.txt",
        &render_view(&failed, Format::Table, false),
    );
    golden("list.txt", &render_list(&summaries(), Format::Table, false));
    golden(
        "list-color.txt",
        &render_list(&summaries(), Format::Table, true),
    );
    golden(
        "list-name.txt",
        &render_list(&summaries(), Format::Name, false),
    );
    let accepted: Accepted = serde_json::from_value(json!({
        "tenantId": "payments", "requestId": "req-1",
        "executionArn": "arn:aws:states:eu-west-1:123456789012:execution:tenant-vending-prod:portal-req-1",
        "attempt": 1
    }))
    .expect("accepted");
    golden("request.txt", &render_accepted(&accepted, Format::Table));
}

#[test]
fn colour_never_moves_a_column() {
    let plain = render_list(&summaries(), Format::Table, false);
    let coloured = render_list(&summaries(), Format::Table, true);
    let strip = |s: &str| {
        let mut out = String::new();
        let mut escape = false;
        for c in s.chars() {
            match (escape, c) {
                (false, '\x1b') => escape = true,
                (true, 'm') => escape = false,
                (true, _) => {}
                (false, c) => out.push(c),
            }
        }
        out
    };
    assert_ne!(plain, coloured);
    assert_eq!(strip(&coloured), plain);
}

#[test]
fn json_and_yaml_carry_the_apis_fields() {
    let listing = render_list(&summaries(), Format::Json, false);
    let value: serde_json::Value = serde_json::from_str(&listing).expect("JSON");
    assert_eq!(value["tenants"][2]["generation"], 3);
    let yaml = render_list(&summaries(), Format::Yaml, false);
    let back: serde_json::Value = yaml_serde::from_str(&yaml).expect("YAML");
    assert_eq!(back, value);
}

/// The plan of the sample request: first for a new tenant, then, once vended, for a changed
/// request (the domain's own planner on the example config; no sandbox).
#[test]
fn a_plan_prints_like_terraforms() {
    use vending_domain::plan::plan;
    use vending_domain::ports::{RegistryEntry, TenantStatus};
    let config = vend::local::example_config().expect("the example config");
    let event: serde_json::Value = serde_json::from_str(
        &vend::local::repo_file("events/portal-request.json").expect("sample"),
    )
    .expect("JSON");
    let mut body: serde_json::Value =
        serde_json::from_str(event["body"].as_str().expect("a body")).expect("JSON");
    let spec = |body: &serde_json::Value| {
        vending_domain::TenantRequest::from_value(body)
            .and_then(|r| r.validate(&config))
            .expect("valid")
    };
    let with_manifests = |planned: vending_domain::plan::Planned| {
        let mut plan = planned.plan;
        plan.manifests = tenant_manifests::changes(planned.previous.as_ref(), &planned.record, "")
            .expect("renders");
        (plan, planned.record)
    };
    let (created, record) = with_manifests(plan(&config, &spec(&body), None, &[]).expect("plans"));
    golden(
        "plan-create.txt",
        &vend::cli::render_plan(&created, Format::Table, false),
    );

    // As if vended: the record with the ids AWS gave, held by the registry.
    let mut text = serde_json::to_string(&record).expect("JSON");
    text = text.replace(vending_domain::plan::KNOWN_AFTER, "222233334444");
    let mut held: vending_domain::TenantRecord = serde_json::from_str(&text).expect("a record");
    for team in &mut held.identity.teams {
        team.role_arn = format!(
            "arn:aws:iam::222233334444:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_{}_0123456789abcdef",
            team.permission_set
        );
    }
    let mut entry = RegistryEntry::for_spec(&spec(&body));
    entry.status = TenantStatus::Ready;
    entry.account_id = Some("222233334444".into());
    entry.cidr = Some(held.network.cidr);
    entry.record = Some(String::from_utf8(held.to_bytes().expect("bytes")).expect("UTF-8"));
    body["requestId"] = json!("portal-8a1b");
    body["displayName"] = json!("Payments and refunds");
    body["tags"]["Team"] = json!("refunds");
    let (updated, _) =
        with_manifests(plan(&config, &spec(&body), Some(&entry), &[]).expect("plans"));
    golden(
        "plan-update.txt",
        &vend::cli::render_plan(&updated, Format::Table, false),
    );
    assert_eq!(
        vend::cli::render_plan(&updated, Format::Name, false),
        "tenant/payments\n"
    );
}

/// A drift report prints one block per difference, and a short line when there is none.
#[test]
fn drift_prints_each_difference_with_the_record_and_what_there_is() {
    use vending_domain::drift::{Difference, DriftReport};
    let difference = |resource: &str, field: &str, expected: &str, actual: &str| Difference {
        resource: resource.into(),
        field: field.into(),
        expected: expected.into(),
        actual: actual.into(),
    };
    let mut report = DriftReport {
        tenant_id: "payments".into(),
        generation: 2,
        checked: vec![
            "role/payments-admin".into(),
            "cluster/shared-1".into(),
            "vpc/payments".into(),
        ],
        differences: vec![
            difference(
                "role/payments-admin",
                "trust",
                "arn:aws:iam::123456789012:role/payments-leads",
                "arn:aws:iam::123456789012:role/finance-auditors",
            ),
            difference(
                "access-entry/shared-1/arn:aws:iam::222233334444:role/payments-read-only",
                "exists",
                "yes",
                "(missing)",
            ),
            difference(
                "file/tenants/payments/tenant.yaml",
                "content",
                "812 bytes",
                "829 bytes",
            ),
        ],
    };
    golden(
        "drift.txt",
        &vend::cli::render_drift(&report, Format::Table, false),
    );
    report.differences.clear();
    assert_eq!(
        vend::cli::render_drift(&report, Format::Table, false),
        "tenant payments, generation 2: no drift (3 resources checked)\n"
    );
}
