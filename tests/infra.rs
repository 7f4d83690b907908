//! The SAM template (`infra/template.yaml`) read as data: the invariants a reviewer checks
//! (tracing, JSON logs, retention, a dead-letter queue on every rule, no wildcard beyond the
//! documented ones), the function set against `functions/`, and the rules' event patterns
//! tried on the sandbox's EventBridge with the samples of `events/` and near misses. Also the
//! AWS fidelity page (`docs/aws-fidelity.md`): each behaviour has its source and real tests.

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

fn repo(path: &str) -> String {
    vend::local::repo_file(path).expect("a repository file")
}

fn template() -> Value {
    vend::template::parse(&repo("infra/template.yaml")).expect("the template is YAML")
}

fn resources_of<'a>(t: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    t["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

/// The statements whose `Resource` may be `*`, each with the reason written in the template.
const WILDCARD_SIDS: [&str; 6] = [
    "Accounts",
    "AccountFacts",
    "CreationStatus",
    "Placement",
    "WorkflowLogDelivery",
    "WorkflowTracing",
];

fn statements(policies: &Value) -> Vec<&Map<String, Value>> {
    policies
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("Statement"))
        .filter_map(Value::as_array)
        .flatten()
        // A conditional statement (`!If [cond, statement, !Ref AWS::NoValue]`) counts as
        // both of its branches; the NoValue branch is no statement.
        .flat_map(|s| match s.get("Fn::If").and_then(Value::as_array) {
            Some(branches) => branches.iter().skip(1).collect::<Vec<_>>(),
            None => vec![s],
        })
        .filter_map(Value::as_object)
        .filter(|s| s.contains_key("Effect"))
        .collect()
}

#[test]
fn every_function_is_traced_json_logged_kept_for_a_while_and_built_from_its_crate() {
    let t = template();
    let globals = &t["Globals"]["Function"];
    let functions = resources_of(&t, "AWS::Serverless::Function");
    assert!(!functions.is_empty());
    for (name, f) in &functions {
        let p = &f["Properties"];
        let get = |key: &str| {
            if p[key].is_null() {
                globals[key].clone()
            } else {
                p[key].clone()
            }
        };
        assert_eq!(get("Tracing"), "Active", "{name} traced");
        assert_eq!(get("Runtime"), "provided.al2023", "{name}");
        assert_eq!(
            get("CodeUri"),
            "..",
            "{name}: CodeUri is the workspace root"
        );
        let logging = get("LoggingConfig");
        assert_eq!(logging["LogFormat"], "JSON", "{name} logs JSON");
        let group = logging["LogGroup"]["Ref"]
            .as_str()
            .expect("a log group of the stack");
        let retention = &t["Resources"][group]["Properties"]["RetentionInDays"];
        assert!(!retention.is_null(), "{name}'s log group has a retention");
        assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda", "{name}");
    }
    for (name, machine) in resources_of(&t, "AWS::Serverless::StateMachine") {
        let machine = &machine["Properties"];
        assert_eq!(machine["Tracing"]["Enabled"], true, "{name}");
        assert_eq!(machine["Logging"]["Level"], "ALL", "{name}");
    }
}

#[test]
fn the_template_deploys_exactly_the_function_crates() {
    let t = template();
    let deployed: BTreeSet<String> = resources_of(&t, "AWS::Serverless::Function")
        .iter()
        .map(|(_, f)| {
            f["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .expect("Binary")
                .to_owned()
        })
        .collect();
    let crates: BTreeSet<String> = e2e::function_crates().into_iter().collect();
    assert_eq!(
        deployed, crates,
        "every crate in functions/ is deployed by the template, and nothing else"
    );
    // In every state machine, every name the definition substitutes is given, and every
    // substitution is used.
    let machines = resources_of(&t, "AWS::Serverless::StateMachine");
    for (name, machine) in &machines {
        let machine = &machine["Properties"];
        let uri = machine["DefinitionUri"].as_str().expect("DefinitionUri");
        let definition = repo(uri.trim_start_matches("../"));
        let subs: BTreeSet<String> = machine["DefinitionSubstitutions"]
            .as_object()
            .expect("substitutions")
            .keys()
            .cloned()
            .collect();
        let used: BTreeSet<String> = definition
            .split("${")
            .skip(1)
            .filter_map(|s| s.split('}').next())
            .map(str::to_owned)
            .collect();
        assert_eq!(subs, used, "{name}");
    }
    assert_eq!(
        machines[0].1["Properties"]["DefinitionUri"], "../workflows/tenant-vending.asl.json",
        "the deployed definition is the one the tests run"
    );
    let uris: BTreeSet<String> = machines
        .iter()
        .filter_map(|(_, m)| m["Properties"]["DefinitionUri"].as_str())
        .map(|u| u.trim_start_matches("../").to_owned())
        .collect();
    let files: BTreeSet<String> = std::fs::read_dir(vend::sandbox::repo_root().join("workflows"))
        .expect("workflows/")
        .flatten()
        .map(|e| format!("workflows/{}", e.file_name().to_string_lossy()))
        .filter(|f| f.ends_with(".asl.json"))
        .collect();
    assert_eq!(
        uris, files,
        "every definition in workflows/ is deployed, and no other"
    );
}

#[test]
fn every_rule_has_retries_and_a_dead_letter_queue_and_no_wildcard_is_undocumented() {
    let t = template();
    let machine = &resources_of(&t, "AWS::Serverless::StateMachine")[0].1["Properties"];
    let events = machine["Events"].as_object().expect("events");
    assert_eq!(
        events.len(),
        3,
        "three triggers: Control Tower, Organizations, TenantRequested"
    );
    for (name, e) in events {
        assert_eq!(e["Type"], "EventBridgeRule", "{name}");
        let p = &e["Properties"];
        assert!(p["DeadLetterConfig"]["Arn"].is_object(), "{name} has a DLQ");
        assert!(
            p["RetryPolicy"]["MaximumRetryAttempts"].is_number(),
            "{name} retries"
        );
    }
    let alarms: Vec<String> = resources_of(&t, "AWS::CloudWatch::Alarm")
        .iter()
        .map(|(_, a)| {
            a["Properties"]["MetricName"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert!(alarms.contains(&"ExecutionsFailed".to_owned()));
    assert!(alarms.contains(&"ApproximateNumberOfMessagesVisible".to_owned()));

    let mut policies: Vec<(String, &Value)> = Vec::new();
    for (name, f) in resources_of(&t, "AWS::Serverless::Function")
        .into_iter()
        .chain(resources_of(&t, "AWS::Serverless::StateMachine"))
    {
        policies.push((name.clone(), &f["Properties"]["Policies"]));
    }
    for (name, p) in policies {
        for s in statements(p) {
            let actions: Vec<&str> = match &s["Action"] {
                Value::String(a) => vec![a.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            for a in &actions {
                assert!(!a.contains('*'), "{name}: wildcard action {a}");
            }
            let sid = s.get("Sid").and_then(Value::as_str).unwrap_or_default();
            if s["Resource"] == "*" {
                assert!(
                    WILDCARD_SIDS.contains(&sid),
                    "{name}: statement {sid} uses Resource \"*\" without a documented reason"
                );
            }
            if actions.contains(&"sts:AssumeRole") {
                let resource = s["Resource"]["Fn::Sub"].as_str().unwrap_or_default();
                assert!(
                    resource.ends_with(":role/${MemberRoleName}"),
                    "{name}: AssumeRole only on the member role, not {resource}"
                );
            }
        }
    }
    let table = &resources_of(&t, "AWS::DynamoDB::Table")[0].1["Properties"];
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(table["SSESpecification"]["SSEEnabled"], true);
    let api = &resources_of(&t, "AWS::Serverless::HttpApi")[0].1["Properties"];
    assert_eq!(api["Auth"]["DefaultAuthorizer"], "AWS_IAM");
}

/// An EventBridge entry from a sample event.
fn entry(event: &Value, bus: &str) -> aws_sdk_eventbridge::types::PutEventsRequestEntry {
    aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .event_bus_name(bus)
        .source(event["source"].as_str().unwrap_or_default())
        .detail_type(event["detail-type"].as_str().unwrap_or_default())
        .detail(event["detail"].to_string())
        .build()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rules_match_exactly_the_events_they_are_for() {
    let world = e2e::world(0).await;
    let events = aws_sdk_eventbridge::Client::new(&world.config);
    let sqs = aws_sdk_sqs::Client::new(&world.config);
    let t = template();
    let machine = &resources_of(&t, "AWS::Serverless::StateMachine")[0].1["Properties"];
    events
        .create_event_bus()
        .name("tenant-vending")
        .send()
        .await
        .expect("bus");
    // One queue per rule of the template, on the bus the rule names (default otherwise).
    let mut queues = BTreeMap::new();
    for (name, e) in machine["Events"].as_object().expect("events") {
        let p = &e["Properties"];
        let bus = if p["EventBusName"].is_null() {
            "default"
        } else {
            "tenant-vending"
        };
        let url = e2e::rule_to_queue(&world.config, bus, name, &p["Pattern"]).await;
        queues.insert(name.clone(), url);
    }
    let sample = |file: &str| -> Value {
        serde_json::from_str(&repo(&format!("events/{file}"))).expect("JSON sample")
    };
    let ct = sample("control-tower-create-managed-account.json");
    let orgs = sample("organizations-create-account-result.json");
    let requested = sample("tenant-requested.json");
    let mut ct_failed = ct.clone();
    ct_failed["detail"]["serviceEventDetails"]["createManagedAccountStatus"]["state"] =
        json!("FAILED");
    let mut orgs_failed = orgs.clone();
    orgs_failed["detail"]["serviceEventDetails"]["createAccountStatus"]["state"] = json!("FAILED");
    let mut other_call = orgs.clone();
    other_call["detail"]["eventName"] = json!("InviteAccountToOrganization");
    let mut other_source = ct.clone();
    other_source["source"] = json!("aws.ec2");
    let mut ready = requested.clone();
    ready["detail-type"] = json!("TenantReady");
    // (event, bus, the rule that must match it, if any)
    let cases: Vec<(&str, Value, &str, Option<&str>)> = vec![
        (
            "control tower sample",
            ct.clone(),
            "default",
            Some("ControlTowerAccountCreated"),
        ),
        (
            "organizations sample",
            orgs.clone(),
            "default",
            Some("OrganizationsAccountCreated"),
        ),
        (
            "tenant-requested sample",
            requested.clone(),
            "tenant-vending",
            Some("TenantRequested"),
        ),
        ("control tower FAILED", ct_failed, "default", None),
        ("organizations FAILED", orgs_failed, "default", None),
        ("another CloudTrail event", other_call, "default", None),
        ("another source", other_source, "default", None),
        ("TenantReady on the bus", ready, "tenant-vending", None),
        (
            "tenant-requested on the default bus",
            requested,
            "default",
            None,
        ),
    ];
    for (what, event, bus, expected) in cases {
        if event["source"]
            .as_str()
            .unwrap_or_default()
            .starts_with("aws.")
        {
            // AWS services put their events on the default bus; customers may not.
            assert_eq!(bus, "default", "{what}");
            world
                .sandbox
                .put_service_event("123456789012", e2e::REGION, &event)
                .expect("put");
        } else {
            events
                .put_events()
                .entries(entry(&event, bus))
                .send()
                .await
                .expect("put");
        }
        let mut matched = Vec::new();
        for (rule, url) in &queues {
            let got = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive");
            for m in got.messages() {
                matched.push(rule.clone());
                sqs.delete_message()
                    .queue_url(url)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete");
            }
        }
        let expected: Vec<String> = expected.into_iter().map(str::to_owned).collect();
        assert_eq!(matched, expected, "{what}");
    }
}

/// Organizations' events reach EventBridge only in us-east-1 and Control Tower's only in its
/// home region: the forwarder stack carries exactly the events the stack's rules match to the
/// default bus of the stack's region, where those rules listen.
#[test]
fn the_forwarder_carries_the_account_events_to_the_rules_of_the_stacks_region() {
    let t = template();
    let forwarder =
        vend::template::parse(&repo("infra/event-forwarder.yaml")).expect("the forwarder is YAML");
    let machine = &resources_of(&t, "AWS::Serverless::StateMachine")[0].1["Properties"];
    let role = &resources_of(&forwarder, "AWS::IAM::Role")[0].1["Properties"];
    let allowed = role["Policies"][0]["PolicyDocument"]["Statement"][0].clone();
    let target_bus =
        "arn:${AWS::Partition}:events:${TargetRegion}:${AWS::AccountId}:event-bus/default";
    assert_eq!(allowed["Action"], "events:PutEvents");
    assert_eq!(allowed["Resource"]["Fn::Sub"], target_bus);
    for name in ["OrganizationsAccountCreated", "ControlTowerAccountCreated"] {
        let rule = &forwarder["Resources"][name]["Properties"];
        let stack_rule = &machine["Events"][name]["Properties"];
        assert_eq!(
            rule["EventPattern"], stack_rule["Pattern"],
            "{name}: the same events"
        );
        assert!(
            stack_rule["EventBusName"].is_null(),
            "{name}: the stack's rule listens on the default bus"
        );
        let target = &rule["Targets"][0];
        assert_eq!(target["Arn"]["Fn::Sub"], target_bus, "{name}");
        assert_eq!(target["RoleArn"]["Fn::GetAtt"], "ForwardingRole.Arn");
        assert!(
            target["DeadLetterConfig"]["Arn"].is_object(),
            "{name}: a dead-letter queue"
        );
    }
}

/// CloudWatch alarms cannot publish to a topic under the AWS-managed SNS key: the alarm topic
/// uses a key of the stack whose policy lets CloudWatch use it.
#[test]
fn the_alarm_topic_uses_a_key_cloudwatch_may_publish_with() {
    let t = template();
    assert!(
        !repo("infra/template.yaml").contains("alias/aws/sns"),
        "no topic under the AWS-managed key"
    );
    let topics = resources_of(&t, "AWS::SNS::Topic");
    for (name, topic) in &topics {
        let key = topic["Properties"]["KmsMasterKeyId"]["Ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: encrypted with a key of the stack"));
        let policy = &t["Resources"][key]["Properties"]["KeyPolicy"]["Statement"];
        let cloudwatch = policy
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["Principal"]["Service"] == "cloudwatch.amazonaws.com")
            .unwrap_or_else(|| panic!("{key}: CloudWatch may use it"));
        assert_eq!(cloudwatch["Effect"], "Allow");
        let actions = cloudwatch["Action"].to_string();
        assert!(
            actions.contains("kms:Decrypt") && actions.contains("kms:GenerateDataKey*"),
            "{actions}"
        );
    }
    let alarms = resources_of(&t, "AWS::CloudWatch::Alarm");
    assert!(!alarms.is_empty());
    for (name, alarm) in alarms {
        assert_eq!(
            alarm["Properties"]["AlarmActions"],
            json!([{"Ref": topics[0].0}]),
            "{name} publishes to the alarm topic"
        );
    }
}

#[test]
fn the_dashboard_and_alarms_name_only_metrics_the_functions_emit() {
    use vending_domain::telemetry::{METRICS, NAMESPACE};
    let known: BTreeSet<&str> = METRICS.iter().copied().collect();
    // The code: every name given to Metric::count or Metric::millis is listed.
    for source in e2e::sources(&["crates", "functions"], &[".rs"]) {
        for piece in source.text.split("Metric::").skip(1) {
            let Some(rest) = piece
                .strip_prefix("count(")
                .or_else(|| piece.strip_prefix("millis("))
            else {
                continue;
            };
            let rest = rest.trim_start();
            if let Some(name) = rest.strip_prefix('"').and_then(|r| r.split('"').next()) {
                assert!(
                    known.contains(name),
                    "{}: {name} is not in METRICS",
                    source.path
                );
            }
        }
    }
    // The template: the alarms' metrics of the namespace and the dashboard's.
    let t = template();
    let mut named = BTreeSet::new();
    for (_, alarm) in resources_of(&t, "AWS::CloudWatch::Alarm") {
        if alarm["Properties"]["Namespace"] == NAMESPACE {
            named.insert(
                alarm["Properties"]["MetricName"]
                    .as_str()
                    .expect("a name")
                    .to_owned(),
            );
        }
    }
    let dashboards = resources_of(&t, "AWS::CloudWatch::Dashboard");
    assert_eq!(dashboards.len(), 1, "one dashboard");
    let body = dashboards[0].1["Properties"]["DashboardBody"]["Fn::Sub"]
        .as_str()
        .expect("a body with substitutions")
        .to_owned();
    for piece in body.split("MetricName=\\\"").skip(1) {
        named.insert(piece.split('\\').next().unwrap_or_default().to_owned());
    }
    for piece in body.split(&format!("[\"{NAMESPACE}\", \"")).skip(1) {
        named.insert(piece.split('"').next().unwrap_or_default().to_owned());
    }
    assert!(named.len() >= 10, "{named:?}");
    for name in &named {
        assert!(
            known.contains(name.as_str()),
            "the template names {name}, which nothing emits"
        );
    }
    // And the body is JSON once substituted.
    let substituted: String = body
        .split("${")
        .enumerate()
        .map(|(i, p)| {
            if i == 0 {
                p.to_owned()
            } else {
                format!("1{}", p.split_once('}').map_or("", |x| x.1))
            }
        })
        .collect();
    let parsed: Value = serde_json::from_str(&substituted).expect("the dashboard body is JSON");
    assert!(parsed["widgets"].as_array().is_some_and(|w| w.len() >= 6));
}

/// Every `fn` and `def` name in the repository's Rust and Python sources.
fn defined_names() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for file in e2e::sources(&[""], &["rs", "py"]) {
        let keyword = if file.path.ends_with(".rs") {
            "fn "
        } else {
            "def "
        };
        for line in file.text.lines() {
            if let Some(rest) = line.trim_start().split(keyword).nth(1) {
                let ident: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                names.insert(ident);
            }
        }
    }
    names
}

#[test]
fn every_behaviour_on_the_fidelity_page_has_its_source_and_tests_that_exist() {
    let page = repo("docs/aws-fidelity.md");
    let names = defined_names();
    let mut rows = 0;
    let mut wrong = Vec::new();
    for row in page
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| behaviour"))
    {
        let cells: Vec<&str> = row.split(" | ").collect();
        let (Some(source), Some(tests)) = (cells.get(1), cells.last()) else {
            continue;
        };
        rows += 1;
        if !source.contains("](https://docs.aws.amazon.com/") && !source.contains("above") {
            wrong.push(format!("no documentation for: {row}"));
        }
        let named: Vec<&str> = tests
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|t| {
                t.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            })
            .collect();
        if named.is_empty() {
            wrong.push(format!("no test holds: {row}"));
        }
        for test in named.into_iter().filter(|t| !names.contains(*t)) {
            wrong.push(format!("the page names a test that does not exist: {test}"));
        }
    }
    assert!(rows > 30, "{rows} rows read");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_function_gets_the_environment_its_main_reads() {
    let t = template();
    let globals = &t["Globals"]["Function"]["Environment"]["Variables"];
    for (name, f) in resources_of(&t, "AWS::Serverless::Function") {
        let own = &f["Properties"]["Environment"]["Variables"];
        let set = |var: &str| {
            [globals, own]
                .iter()
                .any(|vars| !vars[var].is_null())
                .then(|| "set".to_owned())
        };
        let env = vending_runtime::FunctionEnv::from_lookup(set)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let binary = f["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("Binary");
        let main = repo(&format!("functions/{binary}/src/main.rs"));
        if main.contains("state_machine_arn()") {
            env.state_machine_arn()
                .unwrap_or_else(|e| panic!("{name} starts the workflow: {e}"));
        }
        assert!(
            main.contains("FunctionEnv::read()") && !main.contains("std::env::var"),
            "{name}: its main.rs reads the environment through FunctionEnv only"
        );
    }
}
