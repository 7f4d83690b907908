//! Transitions per second of the executor on three shapes: a chain of 10,000 Pass states, the
//! same chain in JSONata (each `Output` an expression), and a
//! Map over 5,000 items (inline, MaxConcurrency 0: about 20,000 history events, within AWS's
//! 25,000). Run with
//! `cargo bench -p asl-executor --bench throughput`; it prints a table. Name workloads to run
//! only those (`... --bench throughput -- chain jsonata map`), for example under `perf record`.
//!
//! A transition is a state entered, counted from the execution history, so the figure covers
//! the whole path: I/O processing, history events and the scheduler.

#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]

use asl_executor::{Executor, Status};
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};

fn pass_chain(n: usize) -> Value {
    let mut states = Map::new();
    for i in 0..n {
        let mut s = json!({"Type": "Pass", "ResultPath": "$.last", "Result": i});
        if i + 1 < n {
            s["Next"] = json!(format!("S{}", i + 1));
        } else {
            s["End"] = json!(true);
        }
        states.insert(format!("S{i}"), s);
    }
    json!({"StartAt": "S0", "States": states})
}

/// The same chain in JSONata: each state's `Output` adds its number to the input.
fn jsonata_pass_chain(n: usize) -> Value {
    let mut states = Map::new();
    for i in 0..n {
        let mut s = json!({"Type": "Pass", "Output": format!("{{% $merge([$states.input, {{'last': {i}}}]) %}}")});
        if i + 1 < n {
            s["Next"] = json!(format!("S{}", i + 1));
        } else {
            s["End"] = json!(true);
        }
        states.insert(format!("S{i}"), s);
    }
    json!({"QueryLanguage": "JSONata", "StartAt": "S0", "States": states})
}

fn map_over_items() -> Value {
    json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 0, "ItemsPath": "$.items",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"v.$": "$"}, "End": true}}},
        "End": true}}})
}

/// Best of `rounds` runs, each on a fresh executor so earlier histories are freed.
async fn measure(name: &str, definition: &Value, input: &Value, rounds: u32) -> (usize, Duration) {
    let mut best = Duration::MAX;
    let mut transitions = 0;
    for _ in 0..rounds {
        let executor = Executor::default();
        let arn = executor
            .create_state_machine(name, definition, &Default::default())
            .expect("valid definition");
        let input = input.clone();
        let started = Instant::now();
        let handle = executor.start_execution(&arn, None, input).expect("starts");
        let result = handle.wait().await;
        let took = started.elapsed();
        let history = handle.history();
        assert_eq!(result.status, Status::Succeeded);
        transitions = history
            .iter()
            .filter(|e| e.event_type.ends_with("StateEntered"))
            .count();
        best = best.min(took);
    }
    (transitions, best)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let items: Vec<Value> = (0..5_000).map(|i| json!({"id": i})).collect();
        let cases = [
            (
                "10,000-state Pass chain",
                "chain",
                pass_chain(10_000),
                json!({}),
            ),
            (
                "10,000-state JSONata Pass chain",
                "jsonata",
                jsonata_pass_chain(10_000),
                json!({}),
            ),
            (
                "Map over 5,000 items (inline, MaxConcurrency 0)",
                "map",
                map_over_items(),
                json!({"items": items}),
            ),
        ];
        // Cargo passes `--bench` itself; any other argument names a workload to run.
        let only: Vec<String> = std::env::args()
            .skip(1)
            .filter(|a| !a.starts_with('-'))
            .collect();
        println!("| workload | transitions | best of 5 | transitions/s |");
        println!("|---|---:|---:|---:|");
        for (label, name, def, input) in &cases {
            if !only.is_empty() && !only.iter().any(|o| o == name) {
                continue;
            }
            let (transitions, took) = measure(name, def, input, 5).await;
            let rate = transitions as f64 / took.as_secs_f64();
            println!(
                "| {label} | {transitions} | {:.1} ms | {rate:.0} |",
                took.as_secs_f64() * 1000.0
            );
        }
    });
}
