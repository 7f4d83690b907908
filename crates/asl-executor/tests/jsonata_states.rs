//! JSONata states on the executor: `$states.input`, `Output` and `Assign` (evaluated together,
//! on the variables the state was entered with), Choice `Condition`s, Fail and Wait fields as
//! expressions, `$now()` on the virtual clock, Task `Arguments` and `$states.result`, Catch's
//! `$states.errorOutput`, Parallel and Map with their expression fields, and AWS's
//! `States.QueryEvaluationError`.

mod common;

use asl_executor::{Executor, Status, TaskError, handler_fn};
use common::run_on;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

async fn run(definition: Value, input: Value) -> asl_executor::ExecutionResult {
    run_on(&Executor::default(), definition, input).await.0
}

#[tokio::test]
async fn output_and_assign_see_the_variables_the_state_was_entered_with() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"n": "{% $states.input.n + 1 %}", "name": "first"}, "Next": "B"},
        "B": {"Type": "Pass", "Assign": {"n": "{% $n * 10 %}"}, "Output": {"before": "{% $n %}", "name": "{% $name %}", "evaluated": "{% $eval('$name & \\'!\\'') %}", "literal": " {% not %} "}, "Next": "C"},
        "C": {"Type": "Succeed", "Output": "{% $merge([$states.input, {'after': $n}]) %}"}}});
    let r = run(def, json!({"n": 1})).await;
    assert_eq!(r.status, Status::Succeeded, "{r:?}");
    assert_eq!(
        r.output,
        Some(
            json!({"before": 2, "name": "first", "evaluated": "first!", "literal": " {% not %} ", "after": 20})
        )
    );
}

#[tokio::test]
async fn a_choice_takes_the_first_true_condition_with_its_own_output() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"Condition": "{% $states.input.size > 10 %}", "Next": "Big", "Output": {"kind": "big"}},
            {"Condition": "{% $states.input.size > 5 %}", "Next": "Big", "Output": {"kind": "medium"}}],
            "Default": "Small", "Output": {"kind": "small"}},
        "Big": {"Type": "Succeed"}, "Small": {"Type": "Succeed"}}});
    for (size, kind) in [(20, "big"), (7, "medium"), (1, "small")] {
        let r = run(def.clone(), json!({"size": size})).await;
        assert_eq!(r.output, Some(json!({"kind": kind})), "{size}");
    }
    let not_boolean = json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.size %}", "Next": "E"}]}, "E": {"Type": "Succeed"}}});
    let r = run(not_boolean, json!({"size": 3})).await;
    assert_eq!(r.error.as_deref(), Some("States.QueryEvaluationError"));
}

#[tokio::test]
async fn fail_and_wait_take_expressions_and_time_is_the_virtual_clock() {
    let fail = json!({"QueryLanguage": "JSONata", "StartAt": "F", "States": {
        "F": {"Type": "Fail", "Error": "{% 'Tenant.' & $states.input.why %}", "Cause": "{% $string($states.input) %}"}}});
    let r = run(fail, json!({"why": "Refused"})).await;
    assert_eq!(r.error.as_deref(), Some("Tenant.Refused"));
    assert_eq!(r.cause.as_deref(), Some(r#"{"why":"Refused"}"#));

    let wait = json!({"QueryLanguage": "JSONata", "StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": "{% $states.input.s * 60 %}", "Next": "T"},
        "T": {"Type": "Pass", "Output": {"now": "{% $now() %}", "day": "{% $now('[Y0001]-[M01]-[D01]') %}", "entered": "{% $states.context.State.EnteredTime %}"}, "End": true}}});
    let r = run(wait, json!({"s": 90})).await;
    assert_eq!(
        (r.stop - r.start).num_seconds(),
        5400,
        "ninety virtual minutes"
    );
    let out = r.output.expect("output");
    assert_eq!(
        out["now"], out["entered"],
        "$now() is the state's virtual time"
    );
    assert_eq!(
        out["day"].as_str(),
        out["entered"].as_str().map(|t| &t[..10]),
        "a picture formats the same virtual time"
    );
}

#[tokio::test]
async fn an_expression_that_gives_nothing_fails_as_aws_says() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "State0", "States": {
        "State0": {"Type": "Pass", "Output": {"result": "{% $doesNotExist %}"}, "End": true}}});
    let r = run(def, json!({})).await;
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.error.as_deref(), Some("States.QueryEvaluationError"));
    assert_eq!(
        r.cause.as_deref(),
        Some(
            "An error occurred while executing the state 'State0' (entered at the event id #2). The JSONata expression '$doesNotExist' specified for the field 'Output/result' returned nothing (undefined)."
        )
    );
}

#[tokio::test]
async fn a_task_gets_its_arguments_and_output_reads_the_result() {
    let executor = Executor::default();
    executor.register_function(
        "greet",
        handler_fn(|req| async move {
            Ok(json!({"greeting": format!("hello {}", req.payload["who"].as_str().unwrap_or("?"))}))
        }),
    );
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
              "Arguments": {"FunctionName": "greet", "Payload": {"who": "{% $states.input.name %}"}},
              "TimeoutSeconds": "{% $states.input.budget %}",
              "Assign": {"said": "{% $states.result.Payload.greeting %}"},
              "Output": {"out": "{% $states.result.Payload.greeting %}", "kept": "{% $states.input.name %}"},
              "Next": "U"},
        "U": {"Type": "Pass", "Output": "{% $said %}", "End": true}}});
    let (r, history) = run_on(&executor, def, json!({"name": "ada", "budget": 30})).await;
    assert_eq!(r.status, Status::Succeeded, "{r:?}");
    assert_eq!(r.output, Some(json!("hello ada")));
    let scheduled = history
        .iter()
        .find(|e| e.event_type == "TaskScheduled")
        .expect("scheduled");
    let details = scheduled.details.as_ref().expect("details").value();
    assert_eq!(details["timeoutInSeconds"], json!(30));
    let sent: Value = details["parameters"].clone();
    assert_eq!(sent["Payload"], json!({"who": "ada"}));
    let exited: Vec<Value> = history
        .iter()
        .filter(|e| e.event_type == "TaskStateExited")
        .filter_map(|e| e.details.as_ref()?.get("output"))
        .collect();
    assert_eq!(exited, [json!({"out": "hello ada", "kept": "ada"})]);

    let bad_timeout = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:greet",
              "TimeoutSeconds": "{% 'soon' %}", "End": true}}});
    let (r, _) = run_on(&executor, bad_timeout, json!({})).await;
    assert_eq!(r.error.as_deref(), Some("States.QueryEvaluationError"));
    assert!(
        r.cause
            .as_deref()
            .is_some_and(|c| c.contains("TimeoutSeconds")),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_catcher_reads_the_error_output_and_retries_run_first() {
    let executor = Executor::default();
    let calls = Arc::new(AtomicU32::new(0));
    let seen = calls.clone();
    executor.register_function(
        "broken",
        handler_fn(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
            async { Err(TaskError::new("Tenant.Refused", "quota")) }
        }),
    );
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:broken",
              "Retry": [{"ErrorEquals": ["Tenant.Refused"], "MaxAttempts": 2, "IntervalSeconds": 1}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover",
                         "Assign": {"failedWith": "{% $states.errorOutput.Error %}"},
                         "Output": {"tenant": "{% $states.input.tenant %}", "error": "{% $states.errorOutput.Error %}"}}],
              "End": true},
        "Recover": {"Type": "Pass", "Output": "{% $merge([$states.input, {'var': $failedWith}]) %}", "End": true}}});
    let (r, _) = run_on(&executor, def, json!({"tenant": "t1"})).await;
    assert_eq!(calls.load(Ordering::SeqCst), 3, "one try and two retries");
    assert_eq!(
        r.output,
        Some(json!({"tenant": "t1", "error": "Tenant.Refused", "var": "Tenant.Refused"}))
    );

    // Without Output, a catcher's state output is the error output itself.
    let plain = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:broken",
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done"}], "End": true},
        "Done": {"Type": "Succeed"}}});
    let (r, _) = run_on(&executor, plain, json!({})).await;
    let out = r.output.expect("caught");
    assert_eq!(out["Error"], json!("Tenant.Refused"));
}

#[tokio::test]
async fn parallel_branches_get_the_arguments_and_output_reads_their_results() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Arguments": {"n": "{% $states.input.n * 2 %}"},
              "Branches": [
                  {"StartAt": "A", "States": {"A": {"Type": "Pass", "Output": "{% $states.input.n + 1 %}", "End": true}}},
                  {"StartAt": "B", "States": {"B": {"Type": "Pass", "Output": "{% $states.input.n + 2 %}", "End": true}}}],
              "Output": {"sum": "{% $sum($states.result) %}", "each": "{% $states.result %}"},
              "End": true}}});
    let r = run(def, json!({"n": 5})).await;
    assert_eq!(r.status, Status::Succeeded, "{r:?}");
    assert_eq!(r.output, Some(json!({"sum": 23, "each": [11, 12]})));
}

#[tokio::test]
async fn a_map_takes_items_selector_and_limits_as_expressions() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {
        "M": {"Type": "Map", "Items": "{% $states.input.tenants[active] %}",
              "MaxConcurrency": "{% $states.input.width %}",
              "ToleratedFailureCount": "{% 1 %}",
              "ItemSelector": {"id": "{% $states.context.Map.Item.Value.id %}", "at": "{% $states.context.Map.Item.Index %}"},
              "ItemProcessor": {"StartAt": "Check", "States": {
                  "Check": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.id = 'bad' %}", "Next": "Refuse"}], "Default": "Done"},
                  "Refuse": {"Type": "Fail", "Error": "Refused"},
                  "Done": {"Type": "Pass", "Output": "{% $states.input.id & '@' & $states.input.at %}", "End": true}}},
              "Output": "{% $states.result %}",
              "End": true}}});
    let input = json!({"width": 2, "tenants": [
        {"id": "a", "active": true}, {"id": "skip", "active": false},
        {"id": "bad", "active": true}, {"id": "c", "active": true}]});
    let r = run(def.clone(), input).await;
    assert_eq!(r.status, Status::Succeeded, "{r:?}");
    assert_eq!(
        r.output,
        Some(json!(["a@0", {"Error": "Refused"}, "c@2"])),
        "one failure is tolerated"
    );

    let not_an_array = json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {
        "M": {"Type": "Map", "Items": "{% $states.input.width %}",
              "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}});
    let r = run(not_an_array, json!({"width": 2})).await;
    assert_eq!(r.error.as_deref(), Some("States.QueryEvaluationError"));
    assert_eq!(
        r.cause.as_deref(),
        Some(
            "An error occurred while executing the state 'M' (entered at the event id #2). The JSONata expression '$states.input.width' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was 'number' for value: 2"
        )
    );
}
