//! JSONata states on the executor: `$states.input`, `Output` and `Assign` (evaluated together,
//! on the variables the state was entered with), Choice `Condition`s, Fail and Wait fields as
//! expressions, `$now()` on the virtual clock, and AWS's `States.QueryEvaluationError`.

mod common;

use asl_executor::{Executor, Status};
use common::run_on;
use serde_json::{Value, json};

async fn run(definition: Value, input: Value) -> asl_executor::ExecutionResult {
    run_on(&Executor::default(), definition, input).await.0
}

#[tokio::test]
async fn output_and_assign_see_the_variables_the_state_was_entered_with() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"n": "{% $states.input.n + 1 %}", "name": "first"}, "Next": "B"},
        "B": {"Type": "Pass", "Assign": {"n": "{% $n * 10 %}"}, "Output": {"before": "{% $n %}", "name": "{% $name %}", "literal": " {% not %} "}, "Next": "C"},
        "C": {"Type": "Succeed", "Output": "{% $merge([$states.input, {'after': $n}]) %}"}}});
    let r = run(def, json!({"n": 1})).await;
    assert_eq!(r.status, Status::Succeeded, "{r:?}");
    assert_eq!(
        r.output,
        Some(json!({"before": 2, "name": "first", "literal": " {% not %} ", "after": 20}))
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
        "T": {"Type": "Pass", "Output": {"now": "{% $now() %}", "entered": "{% $states.context.State.EnteredTime %}"}, "End": true}}});
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
