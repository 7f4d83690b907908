//! Small versions of `make proof` (which runs every point and the full loads): a crash after a
//! spread of AWS calls of a vending, then the request posted again, converges to the
//! uninterrupted run's end state; tenants requested at once with a third of the AWS calls
//! failing at random all end READY with one of everything; identical requests at once make one
//! tenant; a crash after a spread of AWS calls of an offboarding, then the offboarding asked
//! for again, converges to the uninterrupted offboarding's end state.

use e2e::{vending, vending_with};
use vend::proof::{crash, offboard, scale};

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_after_any_aws_call_then_the_same_request_converges() {
    let local = vending(1).await;
    // Every 12th point of the sweep (make proof runs them all).
    let report = crash::sweep(&local, |k| k % 12 == 5).await.expect("sweeps");
    assert!(
        report.points > 60,
        "a vending takes many calls: {}",
        report.points
    );
    assert!(report.covered >= report.points / 12, "{report:?}");
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
}

#[tokio::test(flavor = "multi_thread")]
async fn tenants_at_once_with_a_third_of_the_calls_failing_all_end_ready() {
    let local = vending(1).await;
    let (report, injected) = match scale::with_chaos(&local, 4, 0.3, 11).await {
        Ok(ran) => ran,
        Err(e) => panic!("the run stopped: {e}"),
    };
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
    assert_eq!(report.ready, 4);
    assert_eq!(report.overlaps, 0);
    let total: u64 = injected
        .as_object()
        .map(|m| m.values().filter_map(serde_json::Value::as_u64).sum())
        .unwrap_or(0);
    assert!(total > 20, "faults were injected: {injected}");
}

#[tokio::test(flavor = "multi_thread")]
async fn identical_requests_at_once_make_one_tenant() {
    let local = vending(1).await;
    let same = scale::identical(&local, "twins", 6).await.expect("runs");
    assert_eq!(
        (same.executions, same.accounts, same.ready),
        (1, 1, true),
        "{same:?}"
    );
    let batch = scale::batch(&local, "crowd", 8).await.expect("runs");
    assert!(batch.failures.is_empty(), "{:#?}", batch.failures);
    assert_eq!((batch.ready, batch.overlaps), (8, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_after_any_aws_call_of_an_offboarding_then_offboarding_again_converges() {
    let mut config = vend::local::example_config().expect("the example config");
    if let Some(o) = config.offboarding.as_mut() {
        o.grace_period_seconds = 0;
    }
    let local = vending_with(config, 1, None).await;
    let every: u64 = std::env::var("OFFBOARD_CRASH_EVERY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    // Every 10th point of the sweep (make proof runs them all; OFFBOARD_CRASH_EVERY=1 here).
    let report = offboard::sweep(&local, |k| every == 1 || k % every == 3)
        .await
        .expect("sweeps");
    eprintln!(
        "offboarding crash points covered: {} of {} (calls per stream: {:?})",
        report.covered, report.points, report.streams
    );
    assert!(
        report.points > 20,
        "an offboarding takes many calls: {report:?}"
    );
    assert!(report.covered >= report.points / every, "{report:?}");
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
}
