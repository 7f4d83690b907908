//! Vending end to end: the real workflow definition on the local executor, the functions'
//! handlers in process, the real SDK clients against the sandbox. Each test checks what a
//! platform engineer would check in the accounts afterwards.

use asl_executor::Status;
use aws_sdk_ec2::types::Filter;
use e2e::{drain, drift_of, event_queue, member, portal, portal_body, request, vending};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use vend::local::Local;
use vending_aws::DynamoRegistry;
use vending_domain::ports::{Registry, RegistryEntry, TenantStatus};
use vending_domain::{Ipv4Cidr, TenantId};

fn tenant(id: &str) -> TenantId {
    TenantId::parse(id).expect("a valid tenant id")
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

async fn entry(local: &Local, id: &str) -> RegistryEntry {
    local
        .platform
        .registry
        .get(&tenant(id))
        .await
        .expect("registry read")
        .expect("the tenant has a registry entry")
}

async fn account_ids(local: &Local) -> BTreeSet<String> {
    let org = aws_sdk_organizations::Client::new(&local.sdk);
    let mut ids = BTreeSet::new();
    let mut pages = org.list_accounts().into_paginator().send();
    while let Some(page) = pages.next().await {
        for a in page.expect("list accounts").accounts() {
            ids.insert(a.id().unwrap_or_default().to_owned());
        }
    }
    ids
}

/// Everything the tenant's account holds that vending made, as comparable ids.
async fn tenant_resources(local: &Local, account_id: &str, id: &str) -> Vec<String> {
    let cfg = member(local, account_id).await;
    let ec2 = aws_sdk_ec2::Client::new(&cfg);
    let tag = filter("tag:vending:tenant", id);
    let mut out = Vec::new();
    for v in ec2
        .describe_vpcs()
        .filters(tag.clone())
        .send()
        .await
        .expect("vpcs")
        .vpcs()
    {
        out.push(v.vpc_id().unwrap_or_default().to_owned());
    }
    for s in ec2
        .describe_subnets()
        .filters(tag.clone())
        .send()
        .await
        .expect("subnets")
        .subnets()
    {
        out.push(s.subnet_id().unwrap_or_default().to_owned());
    }
    for a in ec2
        .describe_transit_gateway_vpc_attachments()
        .send()
        .await
        .expect("attachments")
        .transit_gateway_vpc_attachments()
    {
        out.push(
            a.transit_gateway_attachment_id()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    for f in ec2
        .describe_flow_logs()
        .send()
        .await
        .expect("flow logs")
        .flow_logs()
    {
        out.push(f.flow_log_id().unwrap_or_default().to_owned());
    }
    let iam = aws_sdk_iam::Client::new(&cfg);
    for r in iam.list_roles().send().await.expect("roles").roles() {
        if r.role_name().starts_with(id) {
            out.push(r.arn().to_owned());
        }
    }
    let eks = aws_sdk_eks::Client::new(&member(local, &local.seeded.platform_account_id).await);
    for cluster in &local.platform.config.clusters {
        let entries = eks
            .list_access_entries()
            .cluster_name(&cluster.name)
            .send()
            .await
            .expect("access entries");
        out.extend(entries.access_entries().iter().cloned());
    }
    out.sort();
    out
}

async fn vend_ok(local: &Local, name: &str, input: Value) -> Value {
    let (result, _) = local.vend(name, input).await.expect("the execution runs");
    assert_eq!(
        result.status,
        Status::Succeeded,
        "{name}: {:?} {:?}",
        result.error,
        result.cause
    );
    result.output.unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_portal_request_becomes_an_onboarded_tenant() {
    let local = vending(3).await;
    let queue = event_queue(&local).await;
    // The deployed path: API Gateway's event to TenantRequest, which starts the workflow.
    let answer = local.request(portal(&portal_body())).await;
    assert_eq!(answer["statusCode"], 202, "{answer}");
    let reply: Value =
        serde_json::from_str(answer["body"].as_str().unwrap_or("null")).expect("JSON");
    let arn = reply["executionArn"].as_str().expect("an execution");
    assert!(arn.ends_with(":portal-portal-7f3c2a9e"), "{arn}");
    let (result, history) = local.wait(arn).await.expect("runs");
    assert_eq!(result.status, Status::Succeeded, "{:?}", result.cause);
    assert_eq!(
        history[1].details.as_ref().and_then(|d| d.get("input")),
        Some(portal_body()),
        "the workflow's input is the request body, not API Gateway's event"
    );
    let polls = history
        .iter()
        .filter(|e| {
            e.event_type == "TaskStateEntered"
                && e.details
                    .as_ref()
                    .is_some_and(|d| d.name() == Some("CheckAccount"))
        })
        .count();
    assert_eq!(polls, 4, "three IN_PROGRESS polls, then SUCCEEDED");
    let record = result.output.unwrap_or(Value::Null);
    let account_id = record["account"]["id"]
        .as_str()
        .expect("account id")
        .to_owned();
    let config = &local.platform.config;

    // The account: in its OU, with the tenant's and the service's tags.
    let org = aws_sdk_organizations::Client::new(&local.sdk);
    let parents = org
        .list_parents()
        .child_id(&account_id)
        .send()
        .await
        .expect("parents");
    assert_eq!(
        parents.parents()[0].id(),
        Some(config.environments["prod"].ou_id.as_str())
    );
    let tags = org
        .list_tags_for_resource()
        .resource_id(&account_id)
        .send()
        .await
        .expect("tags");
    let tags: Vec<(String, String)> = tags
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    for (k, v) in [
        ("vending:tenant", "payments"),
        ("vending:request", "portal-7f3c2a9e"),
        ("CostCenter", "cc-1234"),
        ("Team", "payments"),
    ] {
        assert!(
            tags.contains(&(k.into(), v.into())),
            "tag {k}={v} in {tags:?}"
        );
    }

    // The network: a VPC from the pool, a subnet per zone, the attachment and its routes.
    let tenant_cfg = member(&local, &account_id).await;
    let ec2 = aws_sdk_ec2::Client::new(&tenant_cfg);
    let vpcs = ec2
        .describe_vpcs()
        .filters(filter("tag:vending:tenant", "payments"))
        .send()
        .await
        .expect("vpcs");
    assert_eq!(vpcs.vpcs().len(), 1);
    let vpc = &vpcs.vpcs()[0];
    let cidr: Ipv4Cidr = vpc.cidr_block().unwrap_or_default().parse().expect("cidr");
    assert!(
        config.network.pool.cidr.contains(cidr),
        "{cidr} is from the pool"
    );
    assert_eq!(cidr.prefix(), 20);
    let vpc_id = vpc.vpc_id().unwrap_or_default();
    let subnets = ec2
        .describe_subnets()
        .filters(filter("vpc-id", vpc_id))
        .send()
        .await
        .expect("subnets");
    let zones: BTreeSet<&str> = subnets
        .subnets()
        .iter()
        .filter_map(|s| s.availability_zone())
        .collect();
    assert_eq!(zones.len(), usize::from(config.network.availability_zones));
    for s in subnets.subnets() {
        let block: Ipv4Cidr = s.cidr_block().unwrap_or_default().parse().expect("cidr");
        assert!(cidr.contains(block));
    }
    let attachments = ec2
        .describe_transit_gateway_vpc_attachments()
        .filters(filter("vpc-id", vpc_id))
        .send()
        .await
        .expect("attachments");
    assert_eq!(attachments.transit_gateway_vpc_attachments().len(), 1);
    let attachment = &attachments.transit_gateway_vpc_attachments()[0];
    assert_eq!(
        attachment.transit_gateway_id(),
        Some(config.network.transit_gateway_id.as_str())
    );
    let tables = ec2
        .describe_route_tables()
        .filters(filter("vpc-id", vpc_id))
        .send()
        .await
        .expect("route tables");
    let routes: Vec<(&str, &str)> = tables
        .route_tables()
        .iter()
        .flat_map(|t| t.routes())
        .filter_map(|r| Some((r.destination_cidr_block()?, r.transit_gateway_id()?)))
        .collect();
    assert_eq!(
        routes,
        [("10.0.0.0/8", config.network.transit_gateway_id.as_str())]
    );
    let network = aws_sdk_ec2::Client::new(&member(&local, &config.network.account_id).await);
    let associations = network
        .get_transit_gateway_route_table_associations()
        .transit_gateway_route_table_id(&config.network.transit_gateway_route_table_id)
        .send()
        .await
        .expect("associations");
    assert!(
        associations.associations().iter().any(
            |a| a.transit_gateway_attachment_id() == attachment.transit_gateway_attachment_id()
        ),
        "the network account routes the attachment"
    );
    let flow_logs = ec2
        .describe_flow_logs()
        .filter(filter("resource-id", vpc_id))
        .send()
        .await
        .expect("flow logs");
    assert_eq!(
        flow_logs.flow_logs()[0].log_destination(),
        Some(config.network.flow_logs_bucket_arn.as_str())
    );
    for region in &config.regions {
        let regional = tenant_cfg
            .to_builder()
            .region(aws_config::Region::new(region.clone()))
            .build();
        let defaults = aws_sdk_ec2::Client::new(&regional)
            .describe_vpcs()
            .filters(filter("is-default", "true"))
            .send()
            .await
            .expect("vpcs");
        assert!(
            defaults.vpcs().is_empty(),
            "a default VPC is left in {region}"
        );
    }

    // Identity: the roles, under the boundary, trusted by exactly the configured principals.
    let iam = aws_sdk_iam::Client::new(&tenant_cfg);
    let mut role_arns = Vec::new();
    for template in &config.identity.roles {
        let role = iam
            .get_role()
            .role_name(format!("payments-{}", template.name))
            .send()
            .await
            .expect("the role exists");
        let role = role.role().expect("role");
        assert_eq!(
            role.permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn()),
            Some(
                config
                    .identity
                    .permissions_boundary
                    .arn_in("aws", &account_id)
                    .as_str()
            ),
            "the boundary of the tenant's own account"
        );
        let doc = role.assume_role_policy_document().unwrap_or_default();
        // IAM returns policy documents URL-encoded.
        let doc = percent_encoding::percent_decode_str(doc).decode_utf8_lossy();
        let trust: Value = serde_json::from_str(&doc).expect("a policy");
        let mut principals: Vec<String> = trust["Statement"][0]["Principal"]["AWS"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        principals.sort();
        let mut expected = vec![
            "arn:aws:iam::123456789012:role/payments-leads".to_owned(),
            "arn:aws:iam::123456789012:role/platform-admins".to_owned(),
        ];
        if template.name == "read-only" {
            expected.push("arn:aws:iam::123456789012:role/finance-auditors".into());
        }
        expected.sort();
        assert_eq!(principals, expected, "trust of {}", template.name);
        role_arns.push(role.arn().to_owned());
    }

    // Cluster access: an entry per role on both clusters, scoped to the tenant's namespaces,
    // with its template's policy: viewers view, deployers edit, owners administer.
    let eks = aws_sdk_eks::Client::new(&member(&local, &local.seeded.platform_account_id).await);
    let wanted = [
        "AmazonEKSAdminPolicy",
        "AmazonEKSEditPolicy",
        "AmazonEKSViewPolicy",
    ];
    for cluster in &config.clusters {
        for (arn, policy) in role_arns.iter().zip(wanted) {
            let policies = eks
                .list_associated_access_policies()
                .cluster_name(&cluster.name)
                .principal_arn(arn)
                .send()
                .await
                .expect("the entry exists");
            let associated = policies.associated_access_policies();
            assert_eq!(associated.len(), 1, "{arn}: one policy");
            assert_eq!(
                associated[0].policy_arn(),
                Some(format!("arn:aws:eks::aws:cluster-access-policy/{policy}").as_str()),
                "{arn}"
            );
            let scope = associated[0].access_scope().expect("scope");
            assert_eq!(scope.r#type().map(|t| t.as_str()), Some("namespace"));
            assert_eq!(scope.namespaces(), ["payments", "payments-*"]);
        }
    }

    // The registry says READY with the record; TenantReady carried the same record.
    let entry = entry(&local, "payments").await;
    assert_eq!(entry.status, TenantStatus::Ready);
    let stored: Value =
        serde_json::from_str(entry.record.as_deref().unwrap_or("null")).expect("record");
    assert_eq!(stored, record);
    let events = drain(&local, &queue).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, "TenantReady");
    assert_eq!(events[0].1, record);

    // Organizations announced the account it made (name masked, as CloudTrail does); the
    // template's rule started the workflow, which recognised the account and ended quietly.
    local.settle().await.expect("every trigger delivered");
    let announced: Vec<(String, Value)> = local
        .executions()
        .into_iter()
        .filter(|(_, input)| input["source"] == "aws.organizations")
        .collect();
    assert_eq!(announced.len(), 1, "{announced:?}");
    let status = &announced[0].1["detail"]["serviceEventDetails"]["createAccountStatus"];
    assert_eq!(status["accountName"], "****");
    assert_eq!(status["accountId"], Value::String(account_id.clone()));
    let (skipped, _) = local.wait(&announced[0].0).await.expect("ends");
    assert_eq!(skipped.status, Status::Succeeded, "{:?}", skipped.cause);
    let reason = skipped
        .output
        .as_ref()
        .map(|o| o["reason"].clone())
        .unwrap_or_default();
    assert!(
        reason
            .as_str()
            .unwrap_or_default()
            .contains("created by this service for tenant payments"),
        "{reason}"
    );
    assert!(
        drain(&local, &queue).await.is_empty(),
        "no TenantFailed for it"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rerun_with_the_same_input_creates_nothing_and_writes_the_same_record() {
    let local = vending(1).await;
    let input = portal_body();
    let first = vend_ok(&local, "first", input.clone()).await;
    let account_id = first["account"]["id"].as_str().expect("account").to_owned();
    let bytes = entry(&local, "payments").await.record;
    let accounts = account_ids(&local).await;
    let resources = tenant_resources(&local, &account_id, "payments").await;
    // A console "New execution" with the same input: another name, same everything else.
    let second = vend_ok(&local, "second", input).await;
    assert_eq!(second, first);
    assert_eq!(entry(&local, "payments").await.record, bytes, "same bytes");
    assert_eq!(account_ids(&local).await, accounts, "no new account");
    assert_eq!(
        tenant_resources(&local, &account_id, "payments").await,
        resources,
        "no new VPC, subnet, attachment, flow log, role or access entry"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_event_delivered_three_times_yields_one_account_and_one_tenant() {
    let local = vending(2).await;
    let before = account_ids(&local).await;
    let input = portal_body();
    // EventBridge starts one execution per delivery, each with its own name.
    let runs = futures::future::join_all((0..3).map(|i| {
        let (local, input) = (&local, input.clone());
        async move { local.vend(&format!("delivery-{i}"), input).await }
    }))
    .await;
    let mut records = Vec::new();
    for run in runs {
        let (result, _) = run.expect("runs");
        assert_eq!(result.status, Status::Succeeded, "{:?}", result.cause);
        let output = result.output.unwrap_or(Value::Null);
        if output["state"] != "DUPLICATE" {
            records.push(output);
        }
    }
    assert_eq!(
        records.len(),
        1,
        "one delivery did the work, the others stopped as duplicates"
    );
    let after = account_ids(&local).await;
    assert_eq!(
        after.len(),
        before.len() + 1,
        "one account for three deliveries"
    );
    let account_id = records[0]["account"]["id"].as_str().expect("account");
    let ec2 = aws_sdk_ec2::Client::new(&member(&local, account_id).await);
    let vpcs = ec2
        .describe_vpcs()
        .filters(filter("tag:vending:tenant", "payments"))
        .send()
        .await
        .expect("vpcs");
    assert_eq!(vpcs.vpcs().len(), 1, "one tenant network");
    assert_eq!(entry(&local, "payments").await.status, TenantStatus::Ready);
}

async fn assert_separate(local: &Local, records: &[Value]) {
    let mut blocks: Vec<(Ipv4Cidr, String)> = Vec::new();
    for r in records {
        let cidr: Ipv4Cidr = r["network"]["cidr"]
            .as_str()
            .unwrap_or_default()
            .parse()
            .expect("cidr");
        let account = r["account"]["id"].as_str().unwrap_or_default();
        let ec2 = aws_sdk_ec2::Client::new(&member(local, account).await);
        let vpc = ec2
            .describe_vpcs()
            .vpc_ids(r["network"]["vpcId"].as_str().unwrap_or_default())
            .send()
            .await
            .expect("the VPC exists");
        assert_eq!(vpc.vpcs()[0].cidr_block(), Some(cidr.to_string().as_str()));
        blocks.push((cidr, r["tenantId"].as_str().unwrap_or_default().to_owned()));
    }
    for (i, (a, ta)) in blocks.iter().enumerate() {
        for (b, tb) in &blocks[i + 1..] {
            assert!(!a.overlaps(*b), "{ta} {a} and {tb} {b} overlap");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_tenants_in_sequence_and_ten_at_once_get_non_overlapping_blocks() {
    let local = vending(1).await;
    let request = |id: String, prefix: u8| {
        let mut body = portal_body();
        body["requestId"] = json!(format!("req-{id}"));
        body["tenantId"] = json!(id);
        body["network"] = json!({"prefixLength": prefix});
        body
    };
    let mut records = Vec::new();
    for i in 0..10 {
        let id = format!("seq-{i}");
        records.push(vend_ok(&local, &id, request(id.clone(), 20)).await);
    }
    // At once, with mixed sizes: /20 blocks and /22 blocks must not overlap either.
    let at_once = futures::future::join_all((0..10).map(|i| {
        let id = format!("par-{i}");
        let prefix = if i % 2 == 0 { 20 } else { 22 };
        let input = request(id.clone(), prefix);
        let local = &local;
        async move { vend_ok(local, &id, input).await }
    }))
    .await;
    records.extend(at_once);
    assert_eq!(records.len(), 20);
    assert_separate(&local, &records).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn more_tenants_at_once_than_the_account_creation_cap_never_create_more_accounts_at_once() {
    let mut config = vend::local::example_config().expect("config");
    config.max_concurrent_account_creations = 2;
    let local = e2e::vending_with(config, 2, None).await;
    let results = futures::future::join_all((0..6).map(|i| {
        let mut body = portal_body();
        body["requestId"] = json!(format!("req-cap-{i}"));
        body["tenantId"] = json!(format!("cap-{i}"));
        let local = &local;
        async move { request(local, &body).await }
    }))
    .await;
    for (answer, result) in &results {
        let result = result.as_ref().expect("started");
        assert_eq!(
            result.status,
            Status::Succeeded,
            "{answer}: {:?}",
            result.cause
        );
    }
    let creations = local
        .sandbox
        .control()
        .creations()
        .expect("the sandbox counts creations");
    assert_eq!(
        creations,
        json!({"inProgress": 0, "mostAtOnce": 2}),
        "never more than the cap at once, and the cap was used"
    );
    let queued = local
        .executions()
        .iter()
        .filter(|(arn, _)| {
            local.executor.execution(arn).is_ok_and(|h| {
                h.history().iter().any(|e| {
                    e.details
                        .as_ref()
                        .is_some_and(|d| d.name() == Some("WaitForCreationSlot"))
                })
            })
        })
        .count();
    assert!(queued >= 1, "some tenants waited for a slot");
    let registry = &local.platform.registry;
    for i in 0..6 {
        let entry = registry
            .get(&tenant(&format!("cap-{i}")))
            .await
            .expect("read");
        let entry = entry.expect("an entry");
        assert_eq!(entry.status, TenantStatus::Ready);
        assert_eq!(entry.creation_slot, None, "every slot was given back");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_requests_are_refused_with_the_field_and_create_nothing() {
    let local = vending(1).await;
    let before = account_ids(&local).await;
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "bad-name",
            json!({"tenantId": "Payments_Team"}),
            "tenantId",
            "DNS-1123",
        ),
        (
            "long-name",
            json!({"tenantId": "a".repeat(41)}),
            "tenantId",
            "40",
        ),
        (
            "bad-email",
            json!({"accountEmail": "not-an-email"}),
            "accountEmail",
            "email",
        ),
        (
            "unknown-env",
            json!({"environment": "staging"}),
            "environment",
            "staging",
        ),
        (
            "oversize-network",
            json!({"network": {"prefixLength": 16}}),
            "network.prefixLength",
            "/16",
        ),
        ("no-owner", json!({"owners": []}), "owners", "at least one"),
        (
            "unknown-field",
            json!({"surprise": true}),
            "surprise",
            "not a known field",
        ),
        (
            "bad-tag",
            json!({"tags": {"aws:owner": "x", "CostCenter": "cc-1"}}),
            "tags",
            "aws:",
        ),
    ];
    for (i, (name, change, field, reason)) in cases.into_iter().enumerate() {
        let mut body = portal_body();
        for (k, v) in change.as_object().expect("object") {
            body[k] = v.clone();
        }
        // The portal answers 400 with the fields; nothing starts.
        let (answer, started) = request(&local, &body).await;
        assert_eq!(answer["statusCode"], 400, "{name}: {answer}");
        assert!(started.is_none(), "{name}");
        let said = answer["body"]["errors"].to_string();
        assert!(said.contains(field), "{name}: {said}");
        assert!(said.contains(reason), "{name}: {said}");
        // A console input with the same request fails the workflow at Normalize, recorded.
        if i < 2 {
            let (result, _) = local.vend(name, body).await.expect("runs");
            assert_eq!(result.status, Status::Failed, "{name}");
            assert_eq!(result.error.as_deref(), Some("InvalidRequest"), "{name}");
            let cause = result.cause.unwrap_or_default();
            assert!(cause.contains(field), "{name}: {cause}");
            assert!(
                !cause.contains("invalid request: invalid request"),
                "{cause}"
            );
        }
    }
    assert_eq!(account_ids(&local).await, before, "no account was created");
    let items = aws_sdk_dynamodb::Client::new(&local.sdk)
        .scan()
        .table_name(vend::local::REGISTRY_TABLE)
        .send()
        .await
        .expect("scan");
    assert_eq!(items.count(), 0, "the registry holds nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_platforms_own_accounts_are_never_adopted_even_when_tagged_for_a_tenant() {
    let local = vending(1).await;
    let org = aws_sdk_organizations::Client::new(&local.sdk);
    let management = e2e::management_account(&local).await;
    let network = local.config().network.account_id.clone();
    for (tenant, account, what) in [
        ("grab-network", network, "the network account"),
        (
            "grab-org",
            management,
            "the organization's management account",
        ),
    ] {
        // Someone tagged it for the tenant: the proof adoption asks of other accounts.
        org.tag_resource()
            .resource_id(&account)
            .tags(
                aws_sdk_organizations::types::Tag::builder()
                    .key("vending:tenant")
                    .value(tenant)
                    .build()
                    .expect("tag"),
            )
            .send()
            .await
            .expect("tagged");
        let mut body = portal_body();
        body["requestId"] = json!(format!("portal-{tenant}"));
        body["tenantId"] = json!(tenant);
        body["accountId"] = json!(account);
        let (answer, result) = request(&local, &body).await;
        let result = result.unwrap_or_else(|| panic!("{tenant}: started: {answer}"));
        assert_eq!(result.status, Status::Failed, "{tenant}");
        let cause = result.cause.unwrap_or_default();
        assert_eq!(
            result.error.as_deref(),
            Some("InvalidRequest"),
            "{tenant}: {cause}"
        );
        assert!(
            cause.contains("accountId") && cause.contains(what),
            "{tenant}: {cause}"
        );
        assert_eq!(
            entry(&local, tenant).await.account_id,
            None,
            "{tenant}: the registry holds no account for it"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_in_a_middle_step_is_recorded_and_posting_the_request_again_completes_it() {
    let local = vending(1).await;
    let queue = event_queue(&local).await;
    // Refused every time: the step's small AccessDenied budget runs out, and the Catch
    // records it.
    local
        .sandbox
        .inject_fault("CreateAccessEntry", "AccessDeniedException", 403, 10)
        .expect("fault");
    let body = portal_body();
    let (answer, result) = request(&local, &body).await;
    assert_eq!(answer["body"]["attempt"], 1);
    let result = result.expect("started");
    assert_eq!(result.status, Status::Failed);
    assert_eq!(result.error.as_deref(), Some("AccessDenied"));
    assert!(
        result
            .cause
            .as_deref()
            .unwrap_or_default()
            .contains("CreateAccessEntry"),
        "{:?}",
        result.cause
    );
    let failed = entry(&local, "payments").await;
    assert_eq!(failed.status, TenantStatus::Failed);
    let failure = failed.failure.expect("the failure is stored");
    assert_eq!(failure.step, "GrantClusterAccess");
    assert_eq!(failure.error, "AccessDenied");
    assert!(
        failure.cause.contains("AccessDeniedException"),
        "{}",
        failure.cause
    );
    let events = drain(&local, &queue).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, "TenantFailed");
    assert_eq!(events[0].1["step"], "GrantClusterAccess");

    // The same request posted again after the fix: a new attempt, which says so.
    local.sandbox.clear_faults().expect("cleared");
    let (answer, result) = request(&local, &body).await;
    assert_eq!(answer["statusCode"], 202, "{answer}");
    assert_eq!(answer["body"]["attempt"], 2);
    assert!(
        answer["body"]["executionArn"]
            .as_str()
            .unwrap_or_default()
            .ends_with(":portal-portal-7f3c2a9e-2"),
        "{answer}"
    );
    let said = answer["body"]["message"].as_str().unwrap_or_default();
    assert!(
        said.contains("attempt 1 failed at GrantClusterAccess"),
        "{said}"
    );
    let result = result.expect("started");
    assert_eq!(result.status, Status::Succeeded, "{:?}", result.cause);
    let record = result.output.unwrap_or(Value::Null);
    let fixed = entry(&local, "payments").await;
    assert_eq!(fixed.status, TenantStatus::Ready);
    assert_eq!(fixed.failure, None);
    let account_id = record["account"]["id"].as_str().expect("account");
    let ec2 = aws_sdk_ec2::Client::new(&member(&local, account_id).await);
    let vpcs = ec2
        .describe_vpcs()
        .filters(filter("tag:vending:tenant", "payments"))
        .send()
        .await
        .expect("vpcs");
    assert_eq!(vpcs.vpcs().len(), 1, "the re-run reused the network");
    let events = drain(&local, &queue).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "TenantReady");

    // Posted once more, now READY: nothing new starts.
    let (answer, _) = request(&local, &body).await;
    assert_eq!(answer["body"]["attempt"], 2, "{answer}");
    // The same request id with another body is a conflict.
    let mut other = body.clone();
    other["displayName"] = json!("Payments and more");
    let (answer, started) = request(&local, &other).await;
    assert_eq!(answer["statusCode"], 409, "{answer}");
    assert!(started.is_none());
}

/// An account made outside the portal (Control Tower's factory, someone in the console),
/// named `name`, with `tags`; Organizations announces it with `CreateAccountResult`, which
/// the template's rule delivers to the workflow.
async fn outside_account(local: &Local, name: &str, tags: &[(&str, &str)]) -> String {
    let org = aws_sdk_organizations::Client::new(&local.sdk);
    let mut create = org
        .create_account()
        .account_name(name)
        .email(format!("{}@outside.example.com", name.replace(' ', ".")));
    for (k, v) in tags {
        create = create.tags(
            aws_sdk_organizations::types::Tag::builder()
                .key(*k)
                .value(*v)
                .build()
                .expect("tag"),
        );
    }
    let created = create.send().await.expect("create");
    let request = created
        .create_account_status()
        .and_then(|s| s.id())
        .unwrap_or_default()
        .to_owned();
    loop {
        let st = org
            .describe_create_account_status()
            .create_account_request_id(&request)
            .send()
            .await
            .expect("status");
        if let Some(id) = st.create_account_status().and_then(|s| s.account_id()) {
            return id.to_owned();
        }
    }
}

async fn move_to(local: &Local, account: &str, ou: &str) {
    aws_sdk_organizations::Client::new(&local.sdk)
        .move_account()
        .account_id(account)
        .source_parent_id(&local.seeded.root_id)
        .destination_parent_id(ou)
        .send()
        .await
        .expect("move");
}

async fn parent(local: &Local, account: &str) -> String {
    let out = aws_sdk_organizations::Client::new(&local.sdk)
        .list_parents()
        .child_id(account)
        .send()
        .await
        .expect("parents");
    out.parents()[0].id().unwrap_or_default().to_owned()
}

/// The outcome of the workflow started by the account-created event naming `account`.
async fn outcome_for(local: &Local, account: &str) -> Vec<(Status, Value)> {
    local.settle().await.expect("delivered");
    let mut out = Vec::new();
    for (arn, input) in local.executions() {
        let detail = &input["detail"]["serviceEventDetails"];
        let named = detail["createAccountStatus"]["accountId"] == account
            || detail["createManagedAccountStatus"]["account"]["accountId"] == account;
        if named {
            let (r, _) = local.wait(&arn).await.expect("ends");
            out.push((r.status, r.output.unwrap_or(Value::Null)));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn account_created_events_adopt_the_accounts_meant_for_the_platform_and_skip_the_rest() {
    let local = vending(1).await;
    let config = local.config().clone();
    let prod = config.environments["prod"].ou_id.clone();
    let tag_key = config
        .adoption
        .environment_tag_key
        .clone()
        .expect("a tag key");

    // Organizations' own event, name masked, for an account tagged for the dev environment:
    // the workflow reads name and tags, adopts it and moves it to dev's OU.
    let data = outside_account(&local, "data-platform", &[(&tag_key, "dev")]).await;
    let outcomes = outcome_for(&local, &data).await;
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert_eq!(outcomes[0].0, Status::Succeeded);
    assert_eq!(
        outcomes[0].1["tenantId"], "data-platform",
        "{}",
        outcomes[0].1
    );
    assert_eq!(
        parent(&local, &data).await,
        config.environments["dev"].ou_id
    );

    // An account at the root with no environment tag: not meant for the platform, skipped,
    // left where it is.
    let stray = outside_account(&local, "security-tooling", &[]).await;
    let outcomes = outcome_for(&local, &stray).await;
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].0, Status::Succeeded);
    assert!(
        outcomes[0].1["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("not meant for this platform"),
        "{}",
        outcomes[0].1
    );
    assert_eq!(parent(&local, &stray).await, local.seeded.root_id);

    // Control Tower enrolls an account in prod's OU: adopted there.
    let search = outside_account(&local, "Search Team", &[]).await;
    move_to(&local, &search, &prod).await;
    let mut ct: Value = serde_json::from_str(
        &vend::local::repo_file("events/control-tower-create-managed-account.json")
            .expect("sample"),
    )
    .expect("JSON");
    let status = &mut ct["detail"]["serviceEventDetails"]["createManagedAccountStatus"];
    status["account"]["accountId"] = json!(search);
    status["organizationalUnit"]["organizationalUnitId"] = json!(prod);
    local.put_event(None, &ct).await.expect("put");
    let outcomes = outcome_for(&local, &search).await;
    let adopted: Vec<&Value> = outcomes
        .iter()
        .filter(|(_, o)| o.get("tenantId").is_some())
        .map(|(_, o)| o)
        .collect();
    assert_eq!(adopted.len(), 1, "{outcomes:?}");
    assert_eq!(adopted[0]["tenantId"], "search-team");
    assert_eq!(adopted[0]["account"]["ouId"].as_str(), Some(prod.as_str()));

    // Control Tower enrolls an account in an OU that is no environment's: skipped, and never
    // moved out of its Control Tower OU.
    let sandbox_ou = aws_sdk_organizations::Client::new(&local.sdk)
        .create_organizational_unit()
        .parent_id(&local.seeded.root_id)
        .name("Sandbox")
        .send()
        .await
        .expect("ou");
    let sandbox_ou = sandbox_ou
        .organizational_unit()
        .and_then(|o| o.id())
        .unwrap_or_default()
        .to_owned();
    let other = outside_account(&local, "experiments", &[]).await;
    move_to(&local, &other, &sandbox_ou).await;
    status_of(&mut ct, &other, &sandbox_ou);
    local.put_event(None, &ct).await.expect("put");
    let outcomes = outcome_for(&local, &other).await;
    assert!(
        outcomes.iter().any(|(s, o)| *s == Status::Succeeded
            && o["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("Control Tower accounts are adopted only in their environment's OU")),
        "{outcomes:?}"
    );
    assert_eq!(parent(&local, &other).await, sandbox_ou, "left in its OU");
    assert_eq!(
        entry(&local, "search-team").await.status,
        TenantStatus::Ready
    );
}

fn status_of(ct: &mut Value, account: &str, ou: &str) {
    let status = &mut ct["detail"]["serviceEventDetails"]["createManagedAccountStatus"];
    status["account"]["accountId"] = json!(account);
    status["account"]["accountName"] = json!("experiments");
    status["organizationalUnit"]["organizationalUnitId"] = json!(ou);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_registry_claims_are_what_the_records_say() {
    let local = vending(0).await;
    let record = vend_ok(&local, "one", portal_body()).await;
    let cidr: Ipv4Cidr = record["network"]["cidr"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .expect("cidr");
    let registry = DynamoRegistry::new(
        aws_sdk_dynamodb::Client::new(&local.sdk),
        vend::local::REGISTRY_TABLE,
    );
    let claims = registry.claimed_cidrs().await.expect("claims");
    let unit = local.config().network.pool.max_prefix_length;
    let expected: Vec<(Ipv4Cidr, TenantId)> =
        cidr.split(unit).map(|c| (c, tenant("payments"))).collect();
    assert_eq!(claims, expected, "the block's pieces, all the tenant's");
}

/// The console's path after a failure: "New execution" with the failed execution's input (a
/// new name, the same input) completes the tenant. A redrive would restart at the Fail state
/// the Catch led to, so the docs point to this path instead.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_execution_is_completed_by_a_new_execution_with_the_same_input() {
    let local = vending(0).await;
    local
        .sandbox
        .inject_fault("CreateAccessEntry", "AccessDeniedException", 403, 10)
        .expect("fault");
    let input = portal_body();
    let (first, _) = local.vend("console-1", input.clone()).await.expect("runs");
    assert_eq!(first.status, Status::Failed);
    local.sandbox.clear_faults().expect("cleared");
    let (again, _) = local.vend("console-2", input).await.expect("runs");
    assert_eq!(again.status, Status::Succeeded, "{:?}", again.cause);
    assert_eq!(entry(&local, "payments").await.status, TenantStatus::Ready);
}

/// The files at the head of the local GitOps repository, and the head commit.
fn gitops_head(local: &Local) -> (String, Vec<String>) {
    let vending_domain::config::GitOpsConfig::Git(git) = &local.config().gitops else {
        panic!("the local platform commits to git");
    };
    let path = git.url.strip_prefix("file://").expect("a local repository");
    let head = vending_gitops::head(std::path::Path::new(path), &git.branch)
        .expect("readable")
        .expect("a commit");
    (head.commit, head.files)
}

async fn role_of(local: &Local, account: &str, name: &str) -> (Value, BTreeSet<String>) {
    let iam = aws_sdk_iam::Client::new(&member(local, account).await);
    let role = iam
        .get_role()
        .role_name(name)
        .send()
        .await
        .expect("the role");
    let role = role.role().expect("a role").clone();
    let trust: Value = serde_json::from_str(
        &percent_encoding::percent_decode_str(role.assume_role_policy_document().unwrap_or(""))
            .decode_utf8_lossy(),
    )
    .expect("a policy");
    let tags = role
        .tags()
        .iter()
        .map(|t| format!("{}={}", t.key(), t.value()))
        .collect();
    (trust, tags)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_updated_request_converges_the_tenant_and_what_cannot_change_is_refused() {
    let local = vending(1).await;
    let mut body = portal_body();
    let (answer, result) = request(&local, &body).await;
    assert_eq!(
        result.map(|r| r.status),
        Some(Status::Succeeded),
        "{answer}"
    );
    let account = entry(&local, "payments")
        .await
        .account_id
        .expect("an account");
    let (first_commit, _) = gitops_head(&local);

    // Owners, viewers, tags, display name, quota and isolation change: one new generation.
    let auditors = "arn:aws:iam::123456789012:role/finance-auditors";
    body["requestId"] = json!("portal-update-1");
    body["displayName"] = json!("Payments and refunds");
    body["owners"] = json!(["arn:aws:iam::123456789012:role/payments-leads", auditors]);
    body["viewers"] = json!([]);
    body["tags"]["Team"] = json!("refunds");
    body["tags"]["Tier"] = json!("gold");
    body["kubernetes"] = json!({"namespaceQuota": 7, "networkPolicyProfile": "open"});
    let (answer, result) = request(&local, &body).await;
    assert_eq!(
        result.map(|r| r.status),
        Some(Status::Succeeded),
        "{answer}"
    );
    let updated = entry(&local, "payments").await;
    assert_eq!(updated.account_id.as_deref(), Some(account.as_str()));
    let record: Value = serde_json::from_str(&updated.record.expect("a record")).expect("JSON");
    assert_eq!(record["generation"], 2);
    assert_eq!(record["displayName"], "Payments and refunds");
    assert_eq!(record["identity"]["owners"][0], auditors);
    assert_eq!(record["kubernetes"]["namespaceQuota"], 7);
    let (trust, tags) = role_of(&local, &account, "payments-admin").await;
    assert!(trust.to_string().contains(auditors), "{trust}");
    assert!(
        tags.contains("Team=refunds") && tags.contains("Tier=gold"),
        "{tags:?}"
    );
    let (commit, files) = gitops_head(&local);
    assert_ne!(commit, first_commit, "one commit for the update");
    assert!(
        !files
            .iter()
            .any(|f| f.ends_with("payments/network-policies.yaml")),
        "an open tenant has no isolation policies: {files:?}"
    );

    // An access entry of a role the tenant no longer has (a template the platform dropped)
    // goes on the next run; one of the tenant's account not made for the tenant stays.
    let eks = aws_sdk_eks::Client::new(&member(&local, &local.seeded.platform_account_id).await);
    let cluster = local.platform.config.clusters[0].name.clone();
    let legacy = format!("arn:aws:iam::{account}:role/payments-legacy");
    let break_glass = format!("arn:aws:iam::{account}:role/break-glass");
    // Its role too (named and tagged for the tenant, with a policy attached), as an older
    // config's template made it.
    let iam = aws_sdk_iam::Client::new(&member(&local, &account).await);
    iam.create_role()
        .role_name("payments-legacy")
        .assume_role_policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{account}:root")}, "Action": "sts:AssumeRole"}]}).to_string(),
        )
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("vending:tenant")
                .value("payments")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("a legacy role");
    iam.attach_role_policy()
        .role_name("payments-legacy")
        .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .send()
        .await
        .expect("attached");
    for (principal, tenant) in [(&legacy, "payments"), (&break_glass, "platform")] {
        eks.create_access_entry()
            .cluster_name(&cluster)
            .principal_arn(principal)
            .tags("vending:tenant", tenant)
            .send()
            .await
            .expect("an entry made behind the service's back");
    }

    // A tag taken away goes from the tenant's resources too.
    body["requestId"] = json!("portal-update-2");
    body["tags"].as_object_mut().expect("tags").remove("Tier");
    let (answer, result) = request(&local, &body).await;
    assert_eq!(
        result.map(|r| r.status),
        Some(Status::Succeeded),
        "{answer}"
    );
    let (_, tags) = role_of(&local, &account, "payments-admin").await;
    assert!(!tags.iter().any(|t| t.starts_with("Tier=")), "{tags:?}");
    assert!(tags.contains("vending:request=portal-update-2"), "{tags:?}");
    // The tenant's network resources follow its tags too.
    let ec2 = aws_sdk_ec2::Client::new(&member(&local, &account).await);
    let vpcs = ec2
        .describe_vpcs()
        .filters(
            Filter::builder()
                .name("tag:vending:tenant")
                .values("payments")
                .build(),
        )
        .send()
        .await
        .expect("VPCs");
    let vpc = vpcs.vpcs().first().expect("the tenant's VPC");
    let subnets = ec2
        .describe_subnets()
        .filters(
            Filter::builder()
                .name("vpc-id")
                .values(vpc.vpc_id().unwrap_or_default())
                .build(),
        )
        .send()
        .await
        .expect("subnets");
    let tagged: Vec<BTreeSet<String>> = std::iter::once(vpc.tags())
        .chain(subnets.subnets().iter().map(|s| s.tags()))
        .map(|tags| {
            tags.iter()
                .map(|t| {
                    format!(
                        "{}={}",
                        t.key().unwrap_or_default(),
                        t.value().unwrap_or_default()
                    )
                })
                .collect()
        })
        .collect();
    assert!(tagged.len() > 1, "the VPC and its subnets");
    for tags in &tagged {
        assert!(
            tags.contains("Team=refunds")
                && tags.contains("vending:request=portal-update-2")
                && !tags.iter().any(|t| t.starts_with("Tier=")),
            "{tags:?}"
        );
    }
    let roles = iam.list_roles().send().await.expect("roles");
    let names: Vec<&str> = roles.roles().iter().map(|r| r.role_name()).collect();
    assert!(!names.contains(&"payments-legacy"), "{names:?}");
    assert!(names.contains(&"payments-admin"), "{names:?}");
    let entries = eks
        .list_access_entries()
        .cluster_name(&cluster)
        .send()
        .await
        .expect("access entries");
    let entries = entries.access_entries();
    assert!(!entries.contains(&legacy), "{entries:?}");
    assert!(entries.contains(&break_glass), "{entries:?}");
    assert!(
        entries.contains(&format!("arn:aws:iam::{account}:role/payments-admin")),
        "{entries:?}"
    );

    // What does not change in place is refused, named, before anything starts.
    for (change, field) in [
        (json!({"environment": "dev"}), "environment"),
        (
            json!({"network": {"prefixLength": 22}}),
            "network.prefixLength",
        ),
        (json!({"accountId": "111122223333"}), "accountId"),
    ] {
        let mut moved = body.clone();
        moved["requestId"] = json!(format!("portal-move-{field}").replace('.', "-"));
        for (k, v) in change.as_object().expect("object") {
            moved[k] = v.clone();
        }
        let (answer, result) = request(&local, &moved).await;
        assert!(result.is_none(), "nothing started: {answer}");
        assert_eq!(answer["statusCode"], 400, "{answer}");
        assert!(
            answer["body"]["errors"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e["field"] == field)),
            "{field}: {answer}"
        );
    }
    assert_eq!(
        entry(&local, "payments").await.request_id,
        "portal-update-2",
        "the refused requests changed nothing"
    );
}

/// Runs git in `dir`, or fails the test with its output.
fn git(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_behind_the_services_back_is_named_and_a_rerun_repairs_it() {
    let local = vending(1).await;
    let (answer, result) = request(&local, &portal_body()).await;
    assert_eq!(
        result.map(|r| r.status),
        Some(Status::Succeeded),
        "{answer}"
    );
    let (status, report) = drift_of(&local, "payments").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report["differences"],
        json!([]),
        "a fresh tenant is as its record says"
    );
    let root = local
        .config()
        .gitops
        .root()
        .trim_end_matches('/')
        .to_owned();
    let under = |path: &str| format!("{root}/{path}").trim_start_matches('/').to_owned();
    let checked: Vec<&str> = report["checked"]
        .as_array()
        .expect("checked")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for kind in [
        "role/".to_owned(),
        "cluster/".to_owned(),
        "vpc/payments".to_owned(),
        format!("file/{}", under("tenants/payments/")),
        format!("file/{}", under("records/payments.json")),
    ] {
        assert!(
            checked.iter().any(|c| c.starts_with(&kind)),
            "{kind}: {checked:?}"
        );
    }

    // Behind the service's back: a role trusts someone else and is re-tagged, an access entry
    // is deleted, and a manifest is edited in the repository.
    let record: Value =
        serde_json::from_str(&entry(&local, "payments").await.record.expect("a record"))
            .expect("JSON");
    let account = record["account"]["id"]
        .as_str()
        .expect("account")
        .to_owned();
    let roles: Vec<String> = record["identity"]["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .filter_map(|r| r["arn"].as_str().map(str::to_owned))
        .collect();
    let admin = roles[0].rsplit('/').next().expect("a name").to_owned();
    let intruder = "arn:aws:iam::123456789012:role/finance-auditors";
    let iam = aws_sdk_iam::Client::new(&member(&local, &account).await);
    iam.update_assume_role_policy()
        .role_name(&admin)
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": intruder}, "Action": "sts:AssumeRole"}]})
                .to_string(),
        )
        .send()
        .await
        .expect("trust changed");
    iam.tag_role()
        .role_name(&admin)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("Team")
                .value("someone-else")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("tagged");
    let cluster = record["clusters"][0]["name"]
        .as_str()
        .expect("cluster")
        .to_owned();
    let removed = roles.last().expect("a role").clone();
    aws_sdk_eks::Client::new(&member(&local, &local.seeded.platform_account_id).await)
        .delete_access_entry()
        .cluster_name(&cluster)
        .principal_arn(&removed)
        .send()
        .await
        .expect("entry deleted");
    let vending_domain::config::GitOpsConfig::Git(gitops) = &local.config().gitops else {
        panic!("the local platform commits to git");
    };
    let work = tempfile::tempdir().expect("a work tree");
    git(
        work.path(),
        &["clone", "-q", "-b", &gitops.branch, &gitops.url, "."],
    );
    let tenant_file = work.path().join(under("tenants/payments/tenant.yaml"));
    let mut text = std::fs::read_to_string(&tenant_file).expect("the Tenant manifest");
    text.push_str("# edited by hand\n");
    std::fs::write(&tenant_file, text).expect("edited");
    git(
        work.path(),
        &[
            "-c",
            "user.name=someone",
            "-c",
            "user.email=someone@example.com",
            "commit",
            "-qam",
            "edit by hand",
        ],
    );
    git(work.path(), &["push", "-q", "origin", &gitops.branch]);

    let (status, report) = drift_of(&local, "payments").await;
    assert_eq!(status, 200, "{report}");
    let found: BTreeSet<(String, String)> = report["differences"]
        .as_array()
        .expect("differences")
        .iter()
        .map(|d| {
            (
                d["resource"].as_str().unwrap_or_default().to_owned(),
                d["field"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let wanted: BTreeSet<(String, String)> = [
        (format!("role/{admin}"), "trust".to_owned()),
        (format!("role/{admin}"), "tags.Team".to_owned()),
        (
            format!("access-entry/{cluster}/{removed}"),
            "exists".to_owned(),
        ),
        (
            format!("file/{}", under("tenants/payments/tenant.yaml")),
            "content".to_owned(),
        ),
    ]
    .into();
    assert_eq!(found, wanted, "{report}");

    // A re-run repairs all of it.
    let mut rerun = portal(&json!({}));
    rerun["rawPath"] = json!("/tenants/payments/rerun");
    rerun["routeKey"] = json!("POST /tenants/{tenantId}/rerun");
    rerun["requestContext"]["http"]["path"] = json!("/tenants/payments/rerun");
    let answer = local.request(rerun).await;
    assert_eq!(answer["statusCode"], 202, "{answer}");
    local.settle().await.expect("the re-run ends");
    assert_eq!(entry(&local, "payments").await.status, TenantStatus::Ready);
    let (status, report) = drift_of(&local, "payments").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["differences"], json!([]), "repaired");

    // No such tenant, a bad id: named refusals, never a 5xx.
    assert_eq!(drift_of(&local, "nobody").await.0, 404);
    assert_eq!(drift_of(&local, "Not_An_Id").await.0, 400);
}
