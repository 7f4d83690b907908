//! InspectTenant on fakes: a tenant made as its record says has no drift; a role edited, a
//! backup plan's rules changed and a manifest changed behind the service's back are each
//! named; the API's refusals (no such tenant, no record yet, a bad id) are answers, never
//! failures.

use serde_json::{Value, json};
use vending_domain::fakes::{FakeAccounts, FakeDestination, FakeRegistry, example_config};
use vending_domain::plan::role_specs;
use vending_domain::ports::{
    AccessEntrySpec, Accounts as _, Backups as _, ClusterAccess as _, Identity as _,
    ManifestDestination as _, Registry as _, RegistryEntry, TenantNetwork as _,
};
use vending_domain::request::TenantRequest;
use vending_domain::steps::{
    AccessRecord, ClusterRecord, IdentityRecord, NetworkRecord, RoleRecord,
};
use vending_domain::{Ipv4Cidr, TenantId, TenantRecord, TenantSpec};

const ACCOUNT: &str = "222233334444";

fn spec() -> TenantSpec {
    TenantRequest::from_value(&json!({
        "requestId": "req-1", "tenantId": "payments", "environment": "prod",
        "owners": ["arn:aws:iam::123456789012:role/payments-leads"],
        "tags": {"CostCenter": "cc-1"}
    }))
    .expect("reads")
    .validate(&example_config())
    .expect("valid")
}

/// Makes the tenant's roles, access entries and network on the fakes through the ports, as the
/// steps would, and hands its record off: the record.
async fn vended(accounts: &FakeAccounts, destination: &FakeDestination) -> TenantRecord {
    let config = example_config();
    let spec = spec();
    let iam = accounts.identity(ACCOUNT, "s").await.expect("iam");
    let mut roles = Vec::new();
    for (template, role) in config
        .identity
        .roles
        .iter()
        .zip(role_specs(&config, &spec, ACCOUNT))
    {
        let arn = iam.ensure_role(&role).await.expect("a role").id;
        roles.push(RoleRecord {
            template: template.name.clone(),
            arn,
            kubernetes_group: template.kubernetes_group_for("payments"),
        });
    }
    // The prod environment's AWS Backup baseline, as ProvisionIdentity ensures it.
    let backup = config.backup_of("prod").expect("prod has a baseline");
    accounts
        .backups(ACCOUNT, &config.region, "s")
        .await
        .expect("backup")
        .ensure_backup(backup, &spec.all_tags())
        .await
        .expect("the baseline");
    let mut clusters = Vec::new();
    for cluster in &config.clusters {
        let eks = accounts
            .clusters(&cluster.account_id, &config.region, "s")
            .await
            .expect("eks");
        let mut entries = Vec::new();
        for role in &roles {
            let template = config.identity.template(&role.template).expect("template");
            let entry = eks
                .ensure_access_entry(&AccessEntrySpec {
                    cluster: cluster.name.clone(),
                    principal_arn: role.arn.clone(),
                    kubernetes_groups: vec![role.kubernetes_group.clone()],
                    access_policy_arn: template.access_policy().arn(config.partition()),
                    namespaces: spec.namespaces(),
                    tags: spec.all_tags(),
                })
                .await
                .expect("an entry");
            entries.push(entry.id);
        }
        clusters.push(ClusterRecord {
            name: cluster.name.clone(),
            arn: format!(
                "arn:aws:eks:{}:{}:cluster/{}",
                config.region, cluster.account_id, cluster.name
            ),
            access_entries: entries,
            namespaces: spec.namespaces(),
        });
    }
    let n = &config.network;
    let net = accounts
        .network(ACCOUNT, &config.region, "s")
        .await
        .expect("ec2");
    let cidr: Ipv4Cidr = "10.64.0.0/20".parse().expect("a block");
    let vpc = net.ensure_vpc(cidr, &spec.all_tags()).await.expect("a VPC");
    let attachment = net
        .ensure_transit_gateway_attachment(&n.transit_gateway_id, &vpc.id, &[], &spec.all_tags())
        .await
        .expect("an attachment");
    for destination in &n.routes_to_transit_gateway {
        net.ensure_route_to_transit_gateway(
            &vpc.main_route_table_id,
            *destination,
            &n.transit_gateway_id,
        )
        .await
        .expect("a route");
    }
    let network = NetworkRecord {
        region: config.region.clone(),
        vpc_id: vpc.id,
        cidr,
        subnets: Vec::new(),
        transit_gateway_id: n.transit_gateway_id.clone(),
        transit_gateway_attachment_id: attachment.id,
        routes_to_transit_gateway: n.routes_to_transit_gateway.clone(),
        flow_log_id: "fl-1".into(),
    };
    let record = TenantRecord::assemble(
        &config,
        spec,
        ACCOUNT.into(),
        network,
        IdentityRecord {
            roles,
            backup: None,
            config: None,
            trail: None,
        },
        &vending_domain::steps::TeamsRecord::none(ACCOUNT),
        AccessRecord { clusters },
    )
    .expect("a record");
    let bundle = tenant_manifests::bundle(&record, config.gitops.root()).expect("renders");
    destination.publish(&bundle).await.expect("handed off");
    record
}

#[tokio::test]
async fn a_tenant_as_its_record_says_has_no_drift_and_each_edit_is_named() {
    let (accounts, destination) = (FakeAccounts::with_baseline(&[]), FakeDestination::default());
    let config = example_config();
    let boundary = config
        .identity
        .permissions_boundary
        .arn_in(config.partition(), ACCOUNT);
    accounts.identity_of(ACCOUNT).add_policy(&boundary);
    let record = vended(&accounts, &destination).await;
    let report = inspect_tenant::drift(&accounts, &destination, &config, &record)
        .await
        .expect("checked");
    assert_eq!(report.differences, [], "{:?}", report.checked);
    assert!(report.checked.len() >= record.identity.roles.len() + record.clusters.len() + 2);

    let admin = record.identity.roles[0]
        .arn
        .rsplit('/')
        .next()
        .expect("name")
        .to_owned();
    accounts.identity_of(ACCOUNT).edit_role(&admin, |r| {
        r.trusted
            .push("arn:aws:iam::999999999999:role/intruder".into());
    });
    let tenant_file = destination
        .files()
        .into_keys()
        .find(|p| p.ends_with("tenants/payments/tenant.yaml"))
        .expect("the Tenant manifest");
    destination.edit(&tenant_file, b"kind: Tenant\n".to_vec());
    let plan = &config.backup_of("prod").expect("a baseline").plan_name;
    accounts
        .backups_of(ACCOUNT)
        .edit_rules(plan, |rules| rules[0].delete_after_days = 1);
    let report = inspect_tenant::drift(&accounts, &destination, &config, &record)
        .await
        .expect("checked");
    let found: Vec<(String, String)> = report
        .differences
        .iter()
        .map(|d| (d.resource.clone(), d.field.clone()))
        .collect();
    assert_eq!(
        found,
        [
            (format!("role/{admin}"), "trust".to_owned()),
            (format!("backup-plan/{plan}"), "rules".to_owned()),
            (format!("file/{tenant_file}"), "content".to_owned()),
        ]
    );
}

fn drift_event(tenant: &str) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "GET /tenants/{tenantId}/drift",
        "rawPath": format!("/tenants/{tenant}/drift"),
        "rawQueryString": "",
        "headers": {},
        "requestContext": {"http": {"method": "GET", "path": format!("/tenants/{tenant}/drift")}},
        "isBase64Encoded": false
    })
}

#[tokio::test]
async fn no_tenant_no_record_and_a_bad_id_are_answers() {
    let (registry, accounts, destination) = (
        FakeRegistry::default(),
        FakeAccounts::default(),
        FakeDestination::default(),
    );
    let config = example_config();
    let status = async |tenant: &str| {
        inspect_tenant::handle(
            &registry,
            &accounts,
            &destination,
            &config,
            drift_event(tenant),
        )
        .await["statusCode"]
            .clone()
    };
    assert_eq!(status("payments").await, 404);
    assert_eq!(status("Not_An_Id").await, 400);
    registry
        .put(&RegistryEntry::new(
            TenantId::parse("payments").expect("id"),
            "req-1".into(),
        ))
        .await
        .expect("put");
    assert_eq!(status("payments").await, 409, "requested, never READY");
    let other = inspect_tenant::handle(
        &registry,
        &accounts,
        &destination,
        &config,
        json!({"rawPath": "/tenants", "requestContext": {"http": {"method": "GET"}}}),
    )
    .await;
    assert_eq!(other["statusCode"], 404, "{other}");
}
