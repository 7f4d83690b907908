//! What a real organization does that a lenient sandbox would not, on the strict sandbox:
//! least privilege per function, tenant isolation under concurrency, IAM refusing principals
//! and boundaries that do not exist, Organizations refusing a second account for an email and
//! ending creations on concurrent operations, answers lost after a create, transactions that
//! collide, and the AWS error codes each protocol carries to the Rust SDK.

use asl_executor::Status;
use e2e::{calls_of, member, portal_body, request, vending, vending_with};
use serde_json::{Value, json};
use vend::local::Local;
use vending_domain::StepError;
use vending_domain::ports::Organization as _;

fn body(tenant: &str, request_id: &str) -> Value {
    let mut b = portal_body();
    b["tenantId"] = json!(tenant);
    b["requestId"] = json!(request_id);
    b
}

async fn failed(local: &Local, b: &Value) -> (String, String) {
    let (answer, result) = request(local, b).await;
    let result = result.unwrap_or_else(|| panic!("not started: {answer}"));
    assert_eq!(result.status, Status::Failed, "{:?}", result.output);
    (
        result.error.unwrap_or_default(),
        result.cause.unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_statement_missing_from_the_template_fails_the_run_naming_the_action() {
    let template = vend::local::repo_file("infra/template.yaml").expect("template");
    let without = template.replacen("                - organizations:CreateAccount\n", "", 1);
    assert_ne!(without, template, "the statement is in the template");
    let config = vend::local::example_config().expect("config");
    let local = vending_with(config, 0, Some(without)).await;
    let (error, cause) = failed(&local, &portal_body()).await;
    assert_eq!(error, "AccessDenied");
    assert!(
        cause.contains("is not authorized to perform: organizations:CreateAccount"),
        "{cause}"
    );
    assert!(
        cause.contains("tenant-vending-EnsureAccountFunction"),
        "the function's own role: {cause}"
    );
}

/// The team assignments are made by their own function: without `sso:CreateAccountAssignment`
/// the run stops at that call, naming the action and that function's role.
#[tokio::test(flavor = "multi_thread")]
async fn a_team_assignment_without_its_statement_fails_the_run_naming_the_action() {
    let template = vend::local::repo_file("infra/template.yaml").expect("template");
    let without = template.replacen("                - sso:CreateAccountAssignment\n", "", 1);
    assert_ne!(without, template, "the statement is in the template");
    let config = vend::local::example_config().expect("config");
    let local = vending_with(config, 0, Some(without)).await;
    let (error, cause) = failed(&local, &portal_body()).await;
    assert_eq!(error, "AccessDenied");
    assert!(
        cause.contains("is not authorized to perform: sso:CreateAccountAssignment"),
        "{cause}"
    );
    assert!(
        cause.contains("tenant-vending-AssignTeamsFunction"),
        "the function's own role: {cause}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_without_the_member_role_is_denied_naming_the_role_and_the_account() {
    let template = vend::local::repo_file("infra/template.yaml").expect("template");
    // ProvisionIdentity's AssumeRole statement is the one after its ReadConfig statement.
    let marker = "      Description: Tenant roles under the permissions boundary";
    let at = template.find(marker).expect("ProvisionIdentity");
    let end = template[at..]
        .find("  GrantClusterAccessFunction:")
        .expect("next")
        + at;
    let section =
        template[at..end].replace("Action: sts:AssumeRole", "Action: sts:GetCallerIdentity");
    let without = format!("{}{section}{}", &template[..at], &template[end..]);
    let local = vending_with(
        vend::local::example_config().expect("config"),
        0,
        Some(without),
    )
    .await;
    let (error, cause) = failed(&local, &portal_body()).await;
    assert_eq!(error, "AccessDenied");
    assert!(cause.contains("OrganizationAccountAccessRole"), "{cause}");
    assert!(cause.contains("could not be assumed"), "{cause}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tenants_whose_namespaces_overlap_are_refused_either_way_and_of_two_at_once_one_wins() {
    let local = vending(0).await;
    let (a, _) = request(&local, &body("team", "r-team")).await;
    assert_eq!(a["statusCode"], 202, "{a}");
    for (id, r) in [("team-a", "r-team-a"), ("kube", "r-kube")] {
        let (answer, started) = request(&local, &body(id, r)).await;
        assert_eq!(answer["statusCode"], 400, "{id}: {answer}");
        assert_eq!(answer["body"]["errors"][0]["field"], "tenantId");
        assert!(started.is_none());
    }
    let (b, _) = request(&local, &body("pay-eu", "r-pay-eu")).await;
    assert_eq!(b["statusCode"], 202);
    let (c, _) = request(&local, &body("pay", "r-pay")).await;
    assert_eq!(
        c["statusCode"], 400,
        "the shorter id would cover pay-eu: {c}"
    );
    // Two overlapping ids at once, on the registry's real conditional transaction.
    for round in 0..3 {
        let (x, y) = (format!("shop{round}"), format!("shop{round}-eu"));
        let (bx, by) = (body(&x, &format!("r-{x}")), body(&y, &format!("r-{y}")));
        let (one, two) = tokio::join!(request(&local, &bx), request(&local, &by));
        let codes = [one.0["statusCode"].as_u64(), two.0["statusCode"].as_u64()];
        assert!(
            codes.contains(&Some(202))
                && (codes.contains(&Some(400)) || codes.contains(&Some(503))),
            "round {round}: exactly one wins: {codes:?}"
        );
        assert_ne!(codes[0], codes[1], "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_principal_iam_does_not_know_fails_with_the_field_that_named_it() {
    let local = vending(0).await;
    let mut b = portal_body();
    b["viewers"] = json!(["arn:aws:iam::123456789012:role/no-such-team"]);
    let (error, cause) = failed(&local, &b).await;
    assert_eq!(error, "InvalidRequest");
    assert!(cause.contains("viewers[0]"), "{cause}");
    assert!(cause.contains("no-such-team"), "{cause}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_boundary_the_baseline_never_deploys_is_retried_then_named() {
    let local = vending(0).await;
    local
        .sandbox
        .configure(&json!({"baselinePolicies": []}))
        .expect("no baseline");
    let before = calls_of(&local, "CreateRole");
    let (error, cause) = failed(&local, &portal_body()).await;
    assert_eq!(error, "NotReady");
    assert!(cause.contains("policy/platform/tenant-boundary"), "{cause}");
    assert!(
        calls_of(&local, "CreateRole") - before >= 8,
        "retried within the budget"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_email_the_organization_has_ends_in_a_conflict_naming_the_account() {
    let local = vending(0).await;
    let mut b = portal_body();
    b["accountEmail"] = json!("network@sandbox.example.com");
    let (error, cause) = failed(&local, &b).await;
    assert_eq!(error, "Conflict");
    assert!(cause.contains("EMAIL_ALREADY_EXISTS"), "{cause}");
    assert!(cause.contains(&local.seeded.network_account_id), "{cause}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_creation_ended_by_a_concurrent_operation_is_started_again() {
    let local = vending(1).await;
    local
        .sandbox
        .fail_account_creations("CONCURRENT_ACCOUNT_MODIFICATION", 1)
        .expect("injected");
    let seeded = calls_of(&local, "CreateAccount");
    let (_, result) = request(&local, &portal_body()).await;
    let result = result.expect("started");
    assert_eq!(result.status, Status::Succeeded, "{:?}", result.cause);
    assert_eq!(
        calls_of(&local, "CreateAccount") - seeded,
        2,
        "the first request ended; a second made the account"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_lost_after_a_create_leaves_one_resource() {
    let local = vending(0).await;
    for op in [
        "CreateVpc",
        "CreateSubnet",
        "CreateTransitGatewayVpcAttachment",
    ] {
        local
            .sandbox
            .inject(
                &json!({"operation": op, "code": "InternalError", "status": 500, "after": true}),
            )
            .expect("fault");
    }
    let (_, result) = request(&local, &portal_body()).await;
    let result = result.expect("started");
    assert_eq!(result.status, Status::Succeeded, "{:?}", result.cause);
    let record = result.output.unwrap_or(Value::Null);
    let account = record["account"]["id"].as_str().expect("account");
    let ec2 = aws_sdk_ec2::Client::new(&member(&local, account).await);
    let tag = aws_sdk_ec2::types::Filter::builder()
        .name("tag:vending:tenant")
        .values("payments")
        .build();
    let vpcs = ec2
        .describe_vpcs()
        .filters(tag.clone())
        .send()
        .await
        .expect("vpcs");
    assert_eq!(vpcs.vpcs().len(), 1, "no second VPC from a retried create");
    let subnets = ec2
        .describe_subnets()
        .filters(tag)
        .send()
        .await
        .expect("subnets");
    assert_eq!(subnets.subnets().len(), 3);
    let attachments = ec2
        .describe_transit_gateway_vpc_attachments()
        .send()
        .await
        .expect("attachments");
    assert_eq!(attachments.transit_gateway_vpc_attachments().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn colliding_transactions_are_retried() {
    let local = vending(0).await;
    local
        .sandbox
        .inject(&json!({
            "operation": "TransactWriteItems", "code": "TransactionCanceledException",
            "status": 400, "count": 2, "reasons": ["TransactionConflict"]
        }))
        .expect("fault");
    // The console's path: EnsureAccount's scope claim and ProvisionNetwork's block claim meet
    // the conflicts, and the workflow (or the step) tries again.
    let (result, _) = local.vend("conflicts", portal_body()).await.expect("runs");
    assert_eq!(result.status, Status::Succeeded, "{:?}", result.cause);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_member_role_is_the_configured_one() {
    let mut config = vend::local::example_config().expect("config");
    config.member_role_name = "AWSControlTowerExecution".into();
    let local = vending_with(config, 0, None).await;
    let (_, result) = request(&local, &portal_body()).await;
    let result = result.expect("started");
    assert_eq!(result.status, Status::Succeeded, "{:?}", result.cause);
    let account = result
        .output
        .as_ref()
        .map(|o| o["account"]["id"].clone())
        .unwrap_or_default();
    let iam = aws_sdk_iam::Client::new(&member(&local, account.as_str().unwrap_or_default()).await);
    let roles = iam.list_roles().send().await.expect("roles");
    let names: Vec<&str> = roles.roles().iter().map(|r| r.role_name()).collect();
    assert!(names.contains(&"AWSControlTowerExecution"), "{names:?}");
    assert!(
        !names.contains(&"OrganizationAccountAccessRole"),
        "{names:?}"
    );
}

/// Each protocol the workflow uses carries an injected error code to the Rust SDK.
#[tokio::test(flavor = "multi_thread")]
async fn every_protocol_carries_the_error_code_to_the_sdk() {
    let w = e2e::world(0).await;
    let cfg = &w.config;
    let inject = |op: &str, code: &str, status: u16| {
        w.sandbox.inject_fault(op, code, status, 5).expect("fault");
    };
    let code = |e: &dyn aws_sdk_iam::error::ProvideErrorMetadata| e.code().map(str::to_owned);

    inject("GetRole", "Throttling", 400);
    let e = aws_sdk_iam::Client::new(cfg)
        .get_role()
        .role_name("x")
        .send()
        .await
        .expect_err("query XML");
    assert_eq!(code(&e).as_deref(), Some("Throttling"));
    inject("GetCallerIdentity", "RequestThrottled", 400);
    let e = aws_sdk_sts::Client::new(cfg)
        .get_caller_identity()
        .send()
        .await
        .expect_err("query XML");
    assert_eq!(code(&e).as_deref(), Some("RequestThrottled"));
    inject("DescribeVpcs", "RequestLimitExceeded", 503);
    let e = aws_sdk_ec2::Client::new(cfg)
        .describe_vpcs()
        .send()
        .await
        .expect_err("EC2 XML");
    assert_eq!(code(&e).as_deref(), Some("RequestLimitExceeded"));
    inject("ListTables", "ProvisionedThroughputExceededException", 400);
    let e = aws_sdk_dynamodb::Client::new(cfg)
        .list_tables()
        .send()
        .await
        .expect_err("JSON 1.0");
    assert_eq!(
        code(&e).as_deref(),
        Some("ProvisionedThroughputExceededException")
    );
    inject("ListAccounts", "TooManyRequestsException", 400);
    let e = aws_sdk_organizations::Client::new(cfg)
        .list_accounts()
        .send()
        .await
        .expect_err("JSON 1.1");
    assert_eq!(code(&e).as_deref(), Some("TooManyRequestsException"));
    inject("ListAccessEntries", "ThrottlingException", 429);
    let e = aws_sdk_eks::Client::new(cfg)
        .list_access_entries()
        .cluster_name("shared-1")
        .send()
        .await
        .expect_err("REST-JSON");
    assert_eq!(code(&e).as_deref(), Some("ThrottlingException"));
    inject("ListBuckets", "SlowDown", 503);
    let e = vending_aws::manifests::path_style_client(cfg)
        .list_buckets()
        .send()
        .await
        .expect_err("REST-XML");
    assert_eq!(code(&e).as_deref(), Some("SlowDown"));
    inject("ListStateMachines", "ThrottlingException", 400);
    let e = aws_sdk_sfn::Client::new(cfg)
        .list_state_machines()
        .send()
        .await
        .expect_err("JSON 1.0");
    assert_eq!(code(&e).as_deref(), Some("ThrottlingException"));
    // And the adapters turn them into the stable names the workflow retries on.
    w.sandbox.clear_faults().expect("cleared");
    inject("ListParents", "TooManyRequestsException", 400);
    let org = vending_aws::OrganizationsAdapter::new(aws_sdk_organizations::Client::new(cfg));
    assert!(matches!(
        org.parent_of("123456789012").await,
        Err(StepError::Throttled(_))
    ));
}

/// Every AWS operation the code called in these runs is one the sandbox serves in AWS's wire
/// format (or refuses with an AWS error), and is in the list the sandbox's own tests try
/// (`crates/sandbox/operations.txt`): nothing unimplemented slips through as an HTML page.
#[tokio::test(flavor = "multi_thread")]
async fn every_operation_the_code_calls_is_listed_and_served() {
    let local = vending(1).await;
    // A tenant vended by the portal, with its CreateAccountResult; a failure recorded; an
    // account adopted from Control Tower's event.
    let (_, ok) = request(&local, &portal_body()).await;
    assert_eq!(ok.map(|r| r.status), Some(Status::Succeeded));
    let mut bad = body("broken", "r-broken");
    bad["viewers"] = json!(["arn:aws:iam::123456789012:role/nobody"]);
    failed(&local, &bad).await;
    local.settle().await.expect("settled");
    let listed: std::collections::BTreeSet<String> =
        vend::local::repo_file("crates/sandbox/operations.txt")
            .expect("the list")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.trim().to_owned())
            .collect();
    let mut missing = std::collections::BTreeSet::new();
    for call in local.sandbox.calls().expect("calls") {
        let op = format!(
            "{} {}",
            call["service"].as_str().unwrap_or_default(),
            call["operation"].as_str().unwrap_or_default()
        );
        assert!(
            call["status"].as_u64().unwrap_or(500) < 500,
            "{op} failed in the sandbox: {call}"
        );
        if !listed.contains(&op) {
            missing.insert(op);
        }
    }
    assert!(
        missing.is_empty(),
        "called but not in crates/sandbox/operations.txt: {missing:#?}"
    );
}
