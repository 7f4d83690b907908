//! Runs the recorded AWS executions of `../shared/asl-conformance/cases.jsonl` (beside the
//! checkout). This test needs `../shared`; on a clone without it, it says so and skips.

use asl_executor::conformance::{Outcome, parse_cases, run_case};
use std::path::PathBuf;

#[tokio::test]
async fn every_case_matches_aws_and_none_is_skipped() {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/asl-conformance/cases.jsonl");
    let Ok(text) = std::fs::read_to_string(&file) else {
        eprintln!(
            "skipping: no conformance cases at {} (this test needs ../shared beside the checkout)",
            file.display()
        );
        return;
    };
    let cases = parse_cases(&text).expect("the cases file parses");
    let (mut passed, mut skipped, mut failures) = (0, 0, Vec::new());
    for case in &cases {
        match run_case(case).await {
            Outcome::Passed { .. } => passed += 1,
            Outcome::Skipped { .. } => skipped += 1,
            Outcome::Failed { expected, got } => failures.push(format!(
                "{}\n  expected: {expected}\n  got:      {got}",
                case.id
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases differ from AWS:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        skipped, 0,
        "every case runs: JSONPath and JSONata, every state type"
    );
    assert_eq!(passed, cases.len());
}
