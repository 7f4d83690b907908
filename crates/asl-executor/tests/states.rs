//! Behaviour of each state type, input/output processing, Retry/Catch, tasks and the service,
//! with expected values from the AWS Step Functions developer guide.

use asl_executor::{
    Error, ExecutionResult, Executor, ExecutorConfig, HistoryEvent, Status, TaskError, TimeMode,
    handler_fn,
};
mod common;

use common::run_on;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

async fn run(definition: Value, input: Value) -> ExecutionResult {
    run_on(&Executor::default(), definition, input).await.0
}

fn types(history: &[HistoryEvent]) -> Vec<&str> {
    history.iter().map(|e| &*e.event_type).collect()
}

/// A Lambda-style handler that fails `fail_times` times with `error_type`, then returns its payload.
fn flaky(
    fail_times: u32,
    error_type: &'static str,
) -> (Arc<dyn asl_executor::TaskHandler>, Arc<AtomicU32>) {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let h = handler_fn(move |req| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if n < fail_times {
                Err(TaskError::new(error_type, format!("attempt {n} failed")))
            } else {
                Ok(req.payload)
            }
        }
    });
    (h, calls)
}

#[tokio::test]
async fn pass_result_result_path_and_output_path() {
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r", "OutputPath": "$.r", "End": true}}});
    assert_eq!(
        run(def, json!({"a": 1})).await.output,
        Some(json!({"x": 1}))
    );
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 5, "ResultPath": null, "End": true}}});
    assert_eq!(
        run(def, json!({"a": 1})).await.output,
        Some(json!({"a": 1}))
    );
    let def =
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": null, "End": true}}});
    assert_eq!(run(def, json!({"a": 1})).await.output, Some(json!({})));
}

#[tokio::test]
async fn input_output_processing_follows_the_documented_example() {
    // "InputPath, ResultPath and OutputPath Example" in the developer guide.
    let executor = Executor::default();
    executor.register_function(
        "HelloFunction",
        handler_fn(|req| async move {
            Ok(json!(format!(
                "Hello, {}!",
                req.payload["who"].as_str().unwrap_or_default()
            )))
        }),
    );
    let def = json!({"StartAt": "Hello", "States": {"Hello": {
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction",
        "InputPath": "$.lambda", "ResultPath": "$.data.lambdaresult", "OutputPath": "$.data", "End": true}}});
    let input = json!({"comment": "An input comment.", "data": {"val1": 23, "val2": 17}, "extra": "foo", "lambda": {"who": "AWS Step Functions"}});
    let (result, _) = run_on(&executor, def, input).await;
    assert_eq!(
        result.output,
        Some(json!({"val1": 23, "val2": 17, "lambdaresult": "Hello, AWS Step Functions!"}))
    );
}

#[tokio::test]
async fn parameters_then_result_selector_then_result_path() {
    // The ResultSelector example of the developer guide, with the task result it shows.
    let executor = Executor::default();
    executor.register_resource(
        "${CreateCluster}",
        handler_fn(|req| async move {
            assert_eq!(req.payload, json!({"Name": "cluster", "Input": {"n": 1}}));
            Ok(json!({"resourceType": "elasticmapreduce", "resource": "createCluster.sync",
                      "output": {"SdkHttpMetadata": {"HttpStatusCode": 200}, "ClusterId": "AKIAIOSFODNN7EXAMPLE"}}))
        }),
    );
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "${CreateCluster}",
        "Parameters": {"Name": "cluster", "Input.$": "$.in"},
        "ResultSelector": {"ClusterId.$": "$.output.ClusterId", "ResourceType.$": "$.resourceType"},
        "ResultPath": "$.EMROutput", "End": true}}});
    let (result, _) = run_on(&executor, def, json!({"in": {"n": 1}})).await;
    assert_eq!(
        result.output,
        Some(
            json!({"in": {"n": 1}, "EMROutput": {"ClusterId": "AKIAIOSFODNN7EXAMPLE", "ResourceType": "elasticmapreduce"}})
        )
    );
}

#[tokio::test]
async fn result_path_on_a_scalar_input_is_a_runtime_error() {
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "ResultPath": "$.x", "End": true}}});
    let r = run(def, json!("scalar")).await;
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
}

#[tokio::test]
async fn assign_sets_variables_after_the_output_is_computed() {
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"n": 1, "from.$": "$.v"}, "Next": "B"},
        "B": {"Type": "Pass", "Assign": {"n": 2}, "Parameters": {"n.$": "$n", "from.$": "$from"}, "Next": "C"},
        "C": {"Type": "Pass", "Parameters": {"n.$": "$n"}, "End": true}}});
    let executor = Executor::default();
    let (result, _) = run_on(&executor, def, json!({"v": "input"})).await;
    assert_eq!(result.output, Some(json!({"n": 2})));
}

#[tokio::test]
async fn choice_routes_and_fails_without_a_match() {
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"And": [{"Variable": "$.n", "NumericGreaterThanEquals": 10}, {"Not": {"Variable": "$.s", "StringMatches": "skip*"}}], "Next": "Big"},
            {"Variable": "$.n", "NumericLessThanPath": "$.limit", "Next": "Small"}]},
        "Big": {"Type": "Pass", "Result": "big", "End": true},
        "Small": {"Type": "Pass", "Result": "small", "End": true}}});
    assert_eq!(
        run(def.clone(), json!({"n": 10, "s": "go", "limit": 5}))
            .await
            .output,
        Some(json!("big"))
    );
    assert_eq!(
        run(def.clone(), json!({"n": 10, "s": "skip-me", "limit": 50}))
            .await
            .output,
        Some(json!("small"))
    );
    let r = run(def, json!({"n": 10, "s": "skip", "limit": 5})).await;
    assert_eq!(
        (r.error.as_deref(), r.cause.as_deref()),
        (Some("States.NoChoiceMatched"), Some("No Matches!"))
    );
}

#[tokio::test]
async fn a_wait_loop_runs_on_the_virtual_clock() {
    // A 15-second poll loop, 1,000 rounds: over four hours of waiting, no real sleep.
    let def = json!({"StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Result": 0, "ResultPath": "$.i", "Next": "Wait"},
        "Wait": {"Type": "Wait", "Seconds": 15, "Next": "Count"},
        "Count": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "Done?"},
        "Done?": {"Type": "Choice", "Choices": [{"Variable": "$.i", "NumericGreaterThanEquals": 1000, "Next": "End"}], "Default": "Wait"},
        "End": {"Type": "Succeed"}}});
    let started = std::time::Instant::now();
    let r = run(def, json!({})).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a virtual run must not sleep"
    );
    assert_eq!(r.output, Some(json!({"i": 1000})));
    assert_eq!((r.stop - r.start).num_seconds(), 15_000);
}

#[tokio::test]
async fn wait_timestamp_and_paths() {
    let def = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "TimestampPath": "$.until", "Next": "S"}, "S": {"Type": "Wait", "SecondsPath": "$.s", "End": true}}});
    let until = (chrono::Utc::now() + chrono::Duration::hours(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let r = run(def.clone(), json!({"until": until, "s": 60})).await;
    assert_eq!(r.status, Status::Succeeded);
    assert!((r.stop - r.start).num_seconds() >= 2 * 3600 + 59);
    let r = run(def, json!({"until": until, "s": "ten"})).await;
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    assert!(
        r.cause
            .as_deref()
            .is_some_and(|c| c.contains("cannot be parsed as a long value"))
    );
}

#[tokio::test]
async fn fail_with_literal_and_path_error() {
    let def = json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('bad {}', $.c)"}}});
    let r = run(def, json!({"e": "Boom", "c": "thing"})).await;
    assert_eq!(
        (r.status, r.error.as_deref(), r.cause.as_deref()),
        (Status::Failed, Some("Boom"), Some("bad thing"))
    );
}

#[tokio::test]
async fn parallel_collects_outputs_in_branch_order_and_propagates_errors() {
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 30, "Next": "A2"}, "A2": {"Type": "Pass", "Result": "a", "End": true}}},
        {"StartAt": "B", "States": {"B": {"Type": "Pass", "Parameters": {"in.$": "$.x"}, "End": true}}}]}}});
    let r = run(def, json!({"x": 1})).await;
    assert_eq!(r.output, Some(json!(["a", {"in": 1}])));
    assert_eq!(
        (r.stop - r.start).num_seconds(),
        30,
        "branches run side by side"
    );
    let failing = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
        {"StartAt": "B", "States": {"B": {"Type": "Fail", "Error": "BranchBroke", "Cause": "why"}}}]}}});
    let r = run(failing, json!({})).await;
    assert_eq!(
        (r.error.as_deref(), r.cause.as_deref()),
        (Some("BranchBroke"), Some("why"))
    );
}

#[tokio::test]
async fn map_items_selector_context_and_concurrency() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1,
        "ItemSelector": {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value", "tag.$": "$.tag"},
        "ItemProcessor": {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10, "End": true}}}, "End": true}}});
    let executor = Executor::default();
    let (r, history) = run_on(
        &executor,
        def.clone(),
        json!({"items": ["a", "b", "c"], "tag": "t"}),
    )
    .await;
    assert_eq!(
        r.output,
        Some(
            json!([{"index": 0, "value": "a", "tag": "t"}, {"index": 1, "value": "b", "tag": "t"}, {"index": 2, "value": "c", "tag": "t"}])
        )
    );
    assert_eq!(
        (r.stop - r.start).num_seconds(),
        30,
        "MaxConcurrency 1 runs the items one after another"
    );
    assert_eq!(
        types(&history)
            .iter()
            .filter(|t| **t == "MapIterationStarted")
            .count(),
        3
    );
    let mut unlimited = def;
    unlimited["States"]["M"]["MaxConcurrency"] = json!(0);
    let r = run(unlimited, json!({"items": ["a", "b", "c"], "tag": "t"})).await;
    assert_eq!(
        (r.stop - r.start).num_seconds(),
        10,
        "MaxConcurrency 0 runs them side by side"
    );
}

#[tokio::test]
async fn map_tolerated_failures() {
    let def = |tolerated: u32| {
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ToleratedFailureCount": tolerated,
            "ItemProcessor": {"StartAt": "C", "States": {
                "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 0, "Next": "Bad"}], "Default": "Ok"},
                "Bad": {"Type": "Fail", "Error": "ItemFailed", "Cause": "zero"},
                "Ok": {"Type": "Pass", "End": true}}}, "End": true}}})
    };
    let r = run(def(1), json!([1, 0, 2])).await;
    assert_eq!(
        r.output,
        Some(json!([1, {"Error": "ItemFailed", "Cause": "zero"}, 2]))
    );
    let r = run(def(1), json!([0, 0, 2])).await;
    assert_eq!(
        r.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
}

#[tokio::test]
async fn retry_then_succeed_with_backoff_on_the_virtual_clock() {
    let executor = Executor::default();
    let (h, calls) = flaky(3, "Throttled");
    executor.register_function("flaky", h);
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:flaky",
        "Parameters": {"retry.$": "$$.State.RetryCount"},
        "Retry": [{"ErrorEquals": ["Throttled"], "IntervalSeconds": 2, "BackoffRate": 3.0, "MaxAttempts": 3}], "End": true}}});
    let (r, history) = run_on(&executor, def, json!({})).await;
    assert_eq!(
        r.output,
        Some(json!({"retry": 3})),
        "the last attempt sees RetryCount 3"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!((r.stop - r.start).num_seconds(), 2 + 6 + 18);
    assert_eq!(
        types(&history)
            .iter()
            .filter(|t| **t == "LambdaFunctionFailed")
            .count(),
        3
    );
}

#[tokio::test]
async fn catch_after_exhausted_retries_with_result_path() {
    let executor = Executor::default();
    let (h, calls) = flaky(99, "AccountNotReady");
    executor.register_function("f", h);
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f", "Payload.$": "$"},
              "Retry": [{"ErrorEquals": ["AccountNotReady"], "MaxAttempts": 2, "IntervalSeconds": 1}],
              "Catch": [{"ErrorEquals": ["Other"], "Next": "Wrong"}, {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Recover"}],
              "End": true},
        "Wrong": {"Type": "Fail"},
        "Recover": {"Type": "Pass", "End": true}}});
    let (r, _) = run_on(&executor, def, json!({"tenant": "t1"})).await;
    assert_eq!(calls.load(Ordering::SeqCst), 3, "one try and two retries");
    let out = r.output.expect("caught");
    assert_eq!(out["tenant"], json!("t1"));
    assert_eq!(out["failure"]["Error"], json!("AccountNotReady"));
    let cause: Value = serde_json::from_str(out["failure"]["Cause"].as_str().expect("cause"))
        .expect("Lambda causes are JSON");
    assert_eq!(cause["errorType"], json!("AccountNotReady"));
    assert_eq!(cause["errorMessage"], json!("attempt 2 failed"));
}

#[tokio::test]
async fn max_attempts_zero_never_retries_and_runtime_errors_are_not_caught() {
    let executor = Executor::default();
    let (h, calls) = flaky(1, "X");
    executor.register_function("f", h);
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
        "Retry": [{"ErrorEquals": ["X"], "MaxAttempts": 0}], "End": true}}});
    let (r, _) = run_on(&executor, def, json!({})).await;
    assert_eq!(
        (r.error.as_deref(), calls.load(Ordering::SeqCst)),
        (Some("X"), 1)
    );
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "Parameters": {"x.$": "$.missing"}, "End": true}}}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Succeed"}}});
    let r = run(def, json!({})).await;
    assert_eq!(
        r.error.as_deref(),
        Some("States.Runtime"),
        "States.ALL does not catch States.Runtime"
    );
}

#[tokio::test]
async fn lambda_invoke_wraps_the_payload() {
    let executor = Executor::default();
    executor.register_function(
        "arn:aws:lambda:us-east-1:123456789012:function:echo",
        handler_fn(|req| async move { Ok(req.payload) }),
    );
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:echo:live", "Payload": {"a.$": "$.a"}}, "End": true}}});
    let (r, history) = run_on(&executor, def, json!({"a": 7})).await;
    let out = r.output.expect("succeeded");
    assert_eq!(
        (out["Payload"].clone(), out["StatusCode"].clone()),
        (json!({"a": 7}), json!(200))
    );
    assert_eq!(
        types(&history),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    let scheduled = history[2].to_json();
    assert_eq!(
        scheduled["taskScheduledEventDetails"]["resourceType"],
        json!("lambda")
    );
    assert_eq!(
        scheduled["taskScheduledEventDetails"]["resource"],
        json!("invoke")
    );
    let unknown = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "nope"}, "End": true}}});
    let (r, _) = run_on(&executor, unknown, json!({})).await;
    assert_eq!(r.error.as_deref(), Some("Lambda.ResourceNotFoundException"));
}

#[tokio::test]
async fn wait_for_task_token_success_failure_and_heartbeat() {
    let executor = Executor::default();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    executor.register_function(
        "worker",
        handler_fn(move |req| {
            let tx = tx.clone();
            async move {
                tx.send(req.payload["token"].as_str().unwrap_or_default().to_owned())
                    .ok();
                Ok(json!(null))
            }
        }),
    );
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "worker", "Payload": {"token.$": "$$.Task.Token"}}, "HeartbeatSeconds": 60, "TimeoutSeconds": 600, "End": true}}});
    let arn = executor
        .create_state_machine("callbacks", &def, &HashMap::new())
        .expect("valid");

    let ok = executor
        .start_execution(&arn, Some("ok"), json!({}))
        .expect("starts");
    let token = rx.recv().await.expect("token");
    executor.send_task_heartbeat(&token).expect("heartbeat");
    executor
        .send_task_success(&token, json!({"done": true}))
        .expect("success");
    assert_eq!(ok.wait().await.output, Some(json!({"done": true})));
    assert!(matches!(
        executor.send_task_success(&token, json!({})),
        Err(Error::TaskDoesNotExist)
    ));

    let bad = executor
        .start_execution(&arn, Some("bad"), json!({}))
        .expect("starts");
    let token = rx.recv().await.expect("token");
    executor
        .send_task_failure(&token, "WorkerFailed", Some("disk full"))
        .expect("failure");
    let r = bad.wait().await;
    assert_eq!(
        (r.error.as_deref(), r.cause.as_deref()),
        (Some("WorkerFailed"), Some("disk full"))
    );
}

#[tokio::test]
async fn a_callback_that_never_comes_times_out_on_the_virtual_clock() {
    let executor = Executor::new(ExecutorConfig {
        callback_grace: Duration::from_millis(50),
        ..ExecutorConfig::default()
    });
    executor.register_function("silent", handler_fn(|_| async { Ok(json!(null)) }));
    let def = |hb: u64| {
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "silent", "Payload": {"t.$": "$$.Task.Token"}}, "HeartbeatSeconds": hb, "TimeoutSeconds": 3600, "End": true}}})
    };
    let (r, _) = run_on(&executor, def(300), json!({})).await;
    assert_eq!(r.error.as_deref(), Some("States.HeartbeatTimeout"));
    assert_eq!((r.stop - r.start).num_seconds(), 300);
}

/// A task runs in real time (its function is real code): its `TimeoutSeconds` is a real
/// timeout, so this test takes one second.
#[tokio::test]
async fn a_slow_task_times_out() {
    let executor = Executor::default();
    executor.register_function(
        "slow",
        handler_fn(|_| async {
            tokio::time::sleep(Duration::from_secs(120)).await;
            Ok(json!(null))
        }),
    );
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:slow", "TimeoutSeconds": 1,
        "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "TimedOut"}], "End": true}, "TimedOut": {"Type": "Pass", "End": true}}});
    let (r, history) = run_on(&executor, def, json!({})).await;
    assert_eq!(
        r.output.as_ref().map(|o| o["Error"].clone()),
        Some(json!("States.Timeout"))
    );
    assert!(types(&history).contains(&"LambdaFunctionTimedOut"));
}

#[tokio::test]
async fn execution_timeout_ends_in_timed_out() {
    let def = json!({"TimeoutSeconds": 60, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}});
    let executor = Executor::default();
    let (r, history) = run_on(&executor, def, json!({})).await;
    assert_eq!(
        (r.status, r.error.as_deref()),
        (Status::TimedOut, Some("States.Timeout"))
    );
    assert_eq!((r.stop - r.start).num_seconds(), 60);
    assert_eq!(types(&history).last(), Some(&"ExecutionTimedOut"));
}

#[tokio::test]
async fn start_execution_sync_2_runs_a_child_workflow() {
    let executor = Executor::default();
    let child = json!({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Variable": "$.ok", "BooleanEquals": true, "Next": "Good"}], "Default": "Bad"},
        "Good": {"Type": "Pass", "Parameters": {"child.$": "$.n"}, "End": true}, "Bad": {"Type": "Fail", "Error": "ChildFailed", "Cause": "not ok"}}});
    let child_arn = executor
        .create_state_machine("child", &child, &HashMap::new())
        .expect("valid");
    let parent = json!({"StartAt": "Start", "States": {"Start": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": child_arn, "Input.$": "$"}, "ResultSelector": {"out.$": "$.Output", "status.$": "$.Status"}, "End": true}}});
    let (r, _) = run_on(&executor, parent.clone(), json!({"ok": true, "n": 3})).await;
    assert_eq!(
        r.output,
        Some(json!({"out": {"child": 3}, "status": "SUCCEEDED"}))
    );
    let (r, _) = run_on(&executor, parent, json!({"ok": false})).await;
    assert_eq!(r.error.as_deref(), Some("States.TaskFailed"));
    let cause: Value = serde_json::from_str(r.cause.as_deref().unwrap_or_default())
        .expect("cause is the child's description");
    assert_eq!(
        (cause["Status"].clone(), cause["Error"].clone()),
        (json!("FAILED"), json!("ChildFailed"))
    );
}

#[tokio::test]
async fn execution_names_are_idempotent_for_the_same_input() {
    let executor = Executor::default();
    let (h, calls) = flaky(0, "X");
    executor.register_function("f", h);
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": true}}});
    let arn = executor
        .create_state_machine("named", &def, &HashMap::new())
        .expect("valid");
    let first = executor
        .start_execution(&arn, Some("request-1"), json!({"a": 1}))
        .expect("starts");
    first.wait().await;
    let again = executor
        .start_execution(&arn, Some("request-1"), json!({"a": 1}))
        .expect("same input: same execution");
    assert_eq!(again.arn(), first.arn());
    again.wait().await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the second start ran nothing"
    );
    assert!(matches!(
        executor.start_execution(&arn, Some("request-1"), json!({"a": 2})),
        Err(Error::ExecutionAlreadyExists(_))
    ));
    assert!(matches!(
        executor.start_execution(&arn, Some("bad name"), json!({})),
        Err(Error::InvalidName(_))
    ));
}

#[tokio::test]
async fn context_object_and_history_ids() {
    let def = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 90, "Next": "P"},
        "P": {"Type": "Pass", "Parameters": {"exec.$": "$$.Execution.Name", "state.$": "$$.State.Name", "entered.$": "$$.State.EnteredTime", "sm.$": "$$.StateMachine.Name"}, "End": true}}});
    let executor = Executor::default();
    let arn = executor
        .create_state_machine("ctx", &def, &HashMap::new())
        .expect("valid");
    let (r, history) = executor
        .run(&arn, Some("my-run"), json!({}))
        .await
        .expect("runs");
    let out = r.output.expect("succeeded");
    assert_eq!(
        (out["exec"].clone(), out["state"].clone(), out["sm"].clone()),
        (json!("my-run"), json!("P"), json!("ctx"))
    );
    let entered = chrono::DateTime::parse_from_rfc3339(out["entered"].as_str().expect("time"))
        .expect("ISO-8601");
    assert_eq!(
        (entered.with_timezone(&chrono::Utc) - r.start).num_seconds(),
        90
    );
    for (i, e) in history.iter().enumerate() {
        assert_eq!(e.id, i as u64 + 1);
        assert_eq!(e.previous_event_id, i as u64);
    }
    assert_eq!(
        types(&history),
        [
            "ExecutionStarted",
            "WaitStateEntered",
            "WaitStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[tokio::test]
async fn substitutions_and_unknown_resources() {
    let executor = Executor::default();
    executor.register_function(
        "normalize",
        handler_fn(|req| async move { Ok(json!({"normalized": req.payload})) }),
    );
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "${NormalizeArn}", "End": true}}});
    assert!(matches!(
        executor.create_state_machine("s", &def, &HashMap::new()),
        Err(Error::UnknownResource(_))
    ));
    let subs = HashMap::from([(
        "NormalizeArn".to_owned(),
        "arn:aws:lambda:us-east-1:123456789012:function:normalize".to_owned(),
    )]);
    let arn = executor
        .create_state_machine("s", &def, &subs)
        .expect("substituted");
    let (r, _) = executor.run(&arn, None, json!(1)).await.expect("runs");
    assert_eq!(r.output, Some(json!({"normalized": 1})));
}

#[tokio::test]
async fn intrinsic_failures_can_be_caught() {
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "Parameters": {"x.$": "States.StringToJson($.s)"}, "End": true}}}],
              "Catch": [{"ErrorEquals": ["States.IntrinsicFailure"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Pass", "End": true}}});
    let r = run(def, json!({"s": "{not json"})).await;
    assert_eq!(
        r.output.as_ref().map(|o| o["Error"].clone()),
        Some(json!("States.IntrinsicFailure"))
    );
}

#[tokio::test]
async fn real_time_mode_really_waits() {
    let executor = Executor::new(ExecutorConfig {
        time: TimeMode::Real,
        ..ExecutorConfig::default()
    });
    let def = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}});
    let started = std::time::Instant::now();
    let (r, _) = run_on(&executor, def, json!({})).await;
    assert_eq!(r.status, Status::Succeeded);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "a real-time Wait sleeps"
    );
    assert!((r.stop - r.start).num_milliseconds() >= 1000);
}
