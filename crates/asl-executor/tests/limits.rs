//! AWS's hard quotas on an execution: payload size, history length and names. A workflow
//! that breaks one fails here as it would in AWS, not only after deployment.

use asl_executor::limits::{MAX_HISTORY_EVENTS, MAX_PAYLOAD_BYTES};
use asl_executor::{Error, Executor, Status, handler_fn};
mod common;

use common::run_on;
use serde_json::{Value, json};
use std::collections::HashMap;

/// A JSON string whose text is exactly `bytes` long.
fn text_of(bytes: usize) -> Value {
    json!("x".repeat(bytes - 2))
}

/// An executor with a function `big` that returns a string of `bytes` bytes of JSON.
fn returning(bytes: usize) -> Executor {
    let executor = Executor::default();
    executor.register_function(
        "big",
        handler_fn(move |_| async move { Ok(text_of(bytes)) }),
    );
    executor
}

fn task_of_big(catch: Value) -> Value {
    json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:big",
              "ResultPath": null, "Catch": catch, "End": true},
        "Caught": {"Type": "Pass", "Result": "caught", "End": true}}})
}

#[tokio::test]
async fn a_task_result_over_256_kib_fails_with_data_limit_exceeded_which_states_all_does_not_catch()
{
    let catch_all = json!([{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]);
    let (r, history) = run_on(
        &returning(MAX_PAYLOAD_BYTES + 1),
        task_of_big(catch_all.clone()),
        json!({}),
    )
    .await;
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.error.as_deref(), Some("States.DataLimitExceeded"));
    assert!(
        history
            .iter()
            .any(|e| e.event_type == "LambdaFunctionFailed"),
        "the task's own event says it failed"
    );

    // Named, it is caught.
    let named = json!([{"ErrorEquals": ["States.DataLimitExceeded"], "Next": "Caught"}]);
    let (r, _) = run_on(
        &returning(MAX_PAYLOAD_BYTES + 1),
        task_of_big(named),
        json!({}),
    )
    .await;
    assert_eq!(r.output, Some(json!("caught")));

    // At the limit itself, it passes.
    let (r, _) = run_on(
        &returning(MAX_PAYLOAD_BYTES),
        task_of_big(catch_all),
        json!({}),
    )
    .await;
    assert_eq!(r.status, Status::Succeeded, "{r:?}");
}

#[tokio::test]
async fn a_state_output_or_task_input_over_256_kib_fails_the_state() {
    let executor = Executor::default();
    executor.register_function("echo", handler_fn(|p| async move { Ok(p.payload) }));
    // Two halves of the limit side by side: each fits, together they do not.
    let half = text_of(MAX_PAYLOAD_BYTES / 2);
    let pass = json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Parameters": {"a.$": "$.half", "b.$": "$.half"}, "End": true}}});
    let (r, _) = run_on(&executor, pass, json!({"half": half})).await;
    assert_eq!(r.error.as_deref(), Some("States.DataLimitExceeded"));
    assert!(
        r.cause.as_deref().is_some_and(|c| c.contains("'P'")),
        "{r:?}"
    );

    let task = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:echo",
              "Parameters": {"a.$": "$.half", "b.$": "$.half"}, "End": true}}});
    let (r, history) = run_on(&executor, task, json!({"half": half})).await;
    assert_eq!(r.error.as_deref(), Some("States.DataLimitExceeded"));
    assert!(
        !history
            .iter()
            .any(|e| e.event_type == "LambdaFunctionScheduled"),
        "the oversized input is never sent"
    );
}

#[tokio::test]
async fn an_execution_input_over_256_kib_is_refused_at_start() {
    let executor = Executor::default();
    let arn = executor
        .create_state_machine(
            "limits",
            &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
            &HashMap::new(),
        )
        .expect("valid");
    let refused = executor.start_execution(&arn, None, text_of(MAX_PAYLOAD_BYTES + 1));
    assert!(
        matches!(refused, Err(Error::InputTooLarge(n)) if n == MAX_PAYLOAD_BYTES + 1),
        "{refused:?}"
    );
    assert_eq!(
        Error::InputTooLarge(0).code(),
        "ValidationException",
        "AWS's answer to a field over its length constraint"
    );
    let (r, _) = executor
        .run(&arn, None, text_of(MAX_PAYLOAD_BYTES))
        .await
        .expect("the limit itself starts");
    assert_eq!(r.status, Status::Succeeded);
}

/// A loop of `iterations` rounds of two states (4 events each); with ExecutionStarted, the
/// final Succeed state's two events and the closing event, `4 * iterations + 4` events.
fn counting_loop(iterations: u64) -> Value {
    json!({"StartAt": "Count", "States": {
        "Count": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "More"},
        "More": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericLessThan": iterations, "Next": "Count"}],
                 "Default": "Done"},
        "Done": {"Type": "Succeed"}}})
}

#[tokio::test]
async fn the_history_holds_25000_events_and_its_last_place_is_for_the_end() {
    let last = MAX_HISTORY_EVENTS as u64;
    let executor = Executor::default();
    // Exactly 25,000 events: the last one is ExecutionSucceeded, and the execution succeeds.
    let fits = (last - 4) / 4;
    let (r, history) = run_on(&executor, counting_loop(fits), json!({"n": 0})).await;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.cause);
    assert_eq!(history.len(), MAX_HISTORY_EVENTS);
    assert_eq!(
        history.last().map(|e| &*e.event_type),
        Some("ExecutionSucceeded")
    );

    // One round more: the 25,000th event would be a state's, so the execution fails there.
    let (r, history) = run_on(&executor, counting_loop(fits + 1), json!({"n": 0})).await;
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    assert_eq!(history.len(), MAX_HISTORY_EVENTS);
    let end = history.last().expect("events");
    assert_eq!((end.id, &*end.event_type), (last, "ExecutionFailed"));
}

#[tokio::test]
async fn names_follow_aws_rules() {
    let executor = Executor::default();
    let arn = executor
        .create_state_machine(
            "names",
            &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
            &HashMap::new(),
        )
        .expect("valid");
    let eighty = "n".repeat(80);
    for good in [
        eighty.as_str(),
        "tenant-payments_2026.12.04",
        "ünïcode-is-allowed",
    ] {
        let run = executor.start_execution(&arn, Some(good), json!({}));
        assert!(run.is_ok(), "{good}: {run:?}");
    }
    let eighty_one = "n".repeat(81);
    let mut bad: Vec<String> = vec![String::new(), eighty_one, "with space".into()];
    bad.extend("<>{}[]?*\"#%\\^|~`$&,;:/".chars().map(|c| format!("a{c}b")));
    bad.extend(['\u{0}', '\u{1f}', '\u{7f}', '\u{9f}'].map(|c| format!("a{c}b")));
    for name in &bad {
        assert!(
            matches!(
                executor.start_execution(&arn, Some(name), json!({})),
                Err(Error::InvalidName(_))
            ),
            "{name:?} is refused"
        );
        assert!(
            matches!(
                executor.create_state_machine(
                    name,
                    &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
                    &HashMap::new()
                ),
                Err(Error::InvalidName(_))
            ),
            "{name:?} is refused as a state machine name"
        );
    }
}
