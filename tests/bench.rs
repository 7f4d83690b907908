//! A small `make bench-vend` (which runs ten tenants, a hundred at once and fifty executions per
//! interpreter): each figure is measured from a real run, and the comparisons compare like
//! with like.

use e2e::vending;
use vend::bench;

#[tokio::test(flavor = "multi_thread")]
async fn the_figures_come_from_runs_that_compare_like_with_like() {
    let local = vending(1).await;
    let f = bench::run(&local, 1, 3, 3).await.expect("measures");

    // The bare run makes the workflow's AWS calls, but for the execution the portal starts.
    assert_eq!(
        f.difference,
        (vec!["states:StartExecution ×1".to_owned()], vec![]),
        "the calls differ"
    );
    let e2e = &f.end_to_end[0];
    assert!(e2e.calls.len() > 50, "{:?}", e2e.calls);
    // Receive, Normalize, Vend?, EnsureAccount, AccountReady? and one poll at least, then
    // PlaceAccount, Provision and its three branches (the teams' with one poll at least),
    // GrantClusterAccess, HandOff, Vended; at most 30 for a happy-path tenant.
    assert!((21..=30).contains(&e2e.transitions), "{}", e2e.transitions);
    assert!(e2e.wall > e2e.served / 4 && f.bare[0].wall > std::time::Duration::ZERO);

    assert_eq!(
        (f.at_once.ready, f.at_once.overlaps),
        (3, 0),
        "{:#?}",
        f.at_once.failures
    );

    // Both interpreters walk the same definition through the same states.
    assert_eq!(f.executor.transitions, 21);
    assert_eq!(f.moto.transitions, f.executor.transitions);
}
