//! The invariants of docs/architecture.md that a reviewer would otherwise check by eye, read
//! from the source tree as text (in the manner of rust-analyzer's `tidy` test):
//!
//! - only the adapters crate (`crates/vending-aws`) and the functions' `main.rs` import the
//!   AWS SDK's service crates (`aws_sdk_*`), so every step runs on fakes and on the sandbox
//!   alike; `vend` (the local platform and proofs, never deployed) and these tests drive the
//!   sandbox with the SDK and are outside the rule;
//! - no deployed code waits: a step returns and the workflow's Wait, Retry and Choice do the
//!   waiting (the SDK's own retry backoff, configured in the adapters, is the SDK's);
//! - no source file is longer than [`MAX_LINES`];
//! - every function crate has handler tests: a test file that calls its `handle` on the fakes
//!   (with the input read from the JSON the workflow passes);
//! - every error name the workflow matches is a step error that some code raises, and every
//!   name a step raises is matched on every Task state (by name or by `States.ALL`).
//!
//! Each check is a function of the files it reads, so the tests at the bottom show each one
//! failing on a tree that breaks it.

use e2e::Source;
use serde_json::Value;
use std::collections::BTreeSet;
use vending_domain::StepError;

/// The longest a source file may be, in lines. The executor's definition reader is the
/// longest today (about 1,560); a file that needs more is two modules.
const MAX_LINES: usize = 1_600;

fn source(path: &str, text: &str) -> Source {
    Source {
        path: path.to_owned(),
        text: text.to_owned(),
    }
}

/// Every `.rs` file of `functions/`, `crates/` and `tests/`.
fn tree() -> Vec<Source> {
    e2e::sources(&["functions", "crates", "tests"], &["rs"])
}

/// The text of a file without its comments and without its `#[cfg(test)]` tail (the unit
/// tests a module keeps at its end), line by line with the line numbers.
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            break;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        let code = line.split(" // ").next().unwrap_or(line);
        out.push((i + 1, code));
    }
    out
}

/// The crate a path belongs to: `functions/<name>` or `crates/<name>`; `tests` for the
/// end-to-end tests.
fn crate_of(path: &str) -> &str {
    let mut parts = path.splitn(3, '/');
    match (parts.next(), parts.next()) {
        (Some("functions" | "crates"), Some(name)) => name,
        (Some(top), _) => top,
        _ => "",
    }
}

fn is_function_main(path: &str) -> bool {
    path.starts_with("functions/") && path.ends_with("/src/main.rs")
}

/// Crates that never reach a Lambda and may use the SDK as a user does: the CLI and local
/// platform, the sandbox's own tests, the end-to-end tests.
const SDK_USERS: [&str; 3] = ["vending-aws", "vend", "tests"];

/// Lines that import an AWS SDK service crate outside the adapters and the functions' wiring.
fn sdk_imports(files: &[Source]) -> Vec<String> {
    let mut found = Vec::new();
    for f in files {
        if SDK_USERS.contains(&crate_of(&f.path)) || is_function_main(&f.path) {
            continue;
        }
        for (n, line) in code_lines(&f.text) {
            if line.contains("aws_sdk_") {
                found.push(format!("{}:{n}: {}", f.path, line.trim()));
            }
        }
    }
    found
}

/// The code that runs in a Lambda: the functions and the libraries they link.
const DEPLOYED: [&str; 5] = [
    "vending-domain",
    "vending-aws",
    "vending-gitops",
    "vending-runtime",
    "tenant-manifests",
];

/// What waiting looks like in Rust's and Tokio's APIs.
const WAITS: [&str; 5] = [
    "sleep(",
    "sleep_until(",
    "interval(",
    "thread::park",
    "Delay::new(",
];

/// Lines of deployed code that wait.
fn waits(files: &[Source]) -> Vec<String> {
    let mut found = Vec::new();
    for f in files {
        let deployed = f.path.starts_with("functions/") || DEPLOYED.contains(&crate_of(&f.path));
        if !deployed || f.path.contains("/tests/") || f.path.contains("/benches/") {
            continue;
        }
        for (n, line) in code_lines(&f.text) {
            if WAITS.iter().any(|w| line.contains(w)) {
                found.push(format!("{}:{n}: {}", f.path, line.trim()));
            }
        }
    }
    found
}

/// Files longer than [`MAX_LINES`].
fn long_files(files: &[Source]) -> Vec<String> {
    files
        .iter()
        .map(|f| (f, f.text.lines().count()))
        .filter(|(_, n)| *n > MAX_LINES)
        .map(|(f, n)| format!("{}: {n} lines (at most {MAX_LINES})", f.path))
        .collect()
}

/// Function crates (by directory name) with no test file that calls their `handle` on the
/// fakes.
fn untested_handlers(functions: &[String], files: &[Source]) -> Vec<String> {
    functions
        .iter()
        .filter(|name| {
            let call = format!("{}::handle(", name.replace('-', "_"));
            let tests = format!("functions/{name}/tests/");
            !files.iter().any(|f| {
                f.path.starts_with(&tests)
                    && f.text.contains(&call)
                    && f.text.contains("vending_domain::fakes")
            })
        })
        .map(|name| format!("functions/{name}: no test in tests/ calls its handle on the fakes"))
        .collect()
}

/// The Task states of a definition with the names each matches (its Retry and Catch, and the
/// Catch of every Parallel or Map around it).
fn tasks(states: &Value, around: &BTreeSet<String>, out: &mut Vec<(String, BTreeSet<String>)>) {
    let Some(states) = states.as_object() else {
        return;
    };
    let names = |state: &Value, key: &str| -> BTreeSet<String> {
        state[key]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| r["ErrorEquals"].as_array().into_iter().flatten())
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    for (name, state) in states {
        let mut matched = around.clone();
        matched.extend(names(state, "Catch"));
        match state["Type"].as_str() {
            Some("Task") => {
                matched.extend(names(state, "Retry"));
                out.push((name.clone(), matched));
            }
            Some("Parallel") => {
                for branch in state["Branches"].as_array().into_iter().flatten() {
                    tasks(&branch["States"], &matched, out);
                }
            }
            Some("Map") => {
                let processor = state
                    .get("ItemProcessor")
                    .or_else(|| state.get("Iterator"))
                    .unwrap_or(&Value::Null);
                tasks(&processor["States"], &matched, out);
            }
            _ => {}
        }
    }
}

/// The step error names that code raises (`StepError::Name(`), outside the enum's own file
/// and outside tests.
fn raised(files: &[Source]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for f in files {
        if f.path.ends_with("vending-domain/src/error.rs")
            || f.path.contains("/tests/")
            || crate_of(&f.path) == "tests"
        {
            continue;
        }
        for (_, line) in code_lines(&f.text) {
            for name in StepError::NAMES {
                if line.contains(&format!("StepError::{name}(")) {
                    out.insert(name.to_owned());
                }
            }
        }
    }
    out
}

/// Error names matched but never raised, and raised names some Task state does not match.
fn error_names(definition: &Value, raised: &BTreeSet<String>) -> Vec<String> {
    let mut found = Vec::new();
    let mut all = Vec::new();
    tasks(&definition["States"], &BTreeSet::new(), &mut all);
    let matched: BTreeSet<&String> = all.iter().flat_map(|(_, names)| names).collect();
    for name in matched {
        if name.starts_with("States.") || name.starts_with("Lambda.") {
            continue;
        }
        if !StepError::NAMES.contains(&name.as_str()) {
            found.push(format!("{name} is matched but is no step error"));
        } else if !raised.contains(name) {
            found.push(format!("{name} is matched but no code raises it"));
        }
    }
    for name in StepError::NAMES {
        if !raised.contains(name) {
            found.push(format!("{name} is a step error that no code raises"));
        }
    }
    for (task, names) in &all {
        if names.contains("States.ALL") {
            continue;
        }
        for name in raised {
            if !names.contains(name) {
                found.push(format!("{task} does not match {name}"));
            }
        }
    }
    found
}

fn assert_none(what: &str, found: &[String]) {
    assert!(found.is_empty(), "{what}:\n  {}", found.join("\n  "));
}

#[test]
fn only_the_adapters_and_the_functions_wiring_import_the_sdk() {
    assert_none(
        "the AWS SDK imported outside the adapters",
        &sdk_imports(&tree()),
    );
}

#[test]
fn no_deployed_code_waits() {
    assert_none("deployed code that waits", &waits(&tree()));
}

#[test]
fn no_source_file_is_too_long() {
    assert_none("source files too long", &long_files(&tree()));
}

#[test]
fn every_function_crate_has_handler_tests_on_the_fakes() {
    let functions = e2e::function_crates();
    assert!(
        functions.len() >= 10,
        "found the function crates: {functions:?}"
    );
    assert_none(
        "function crates without handler tests",
        &untested_handlers(&functions, &tree()),
    );
}

#[test]
fn every_matched_error_is_raised_and_every_raised_error_is_matched() {
    let files = tree();
    let raised = raised(&files);
    assert!(
        raised.contains("Throttled"),
        "found raised names: {raised:?}"
    );
    assert_none(
        "error names",
        &error_names(&vend::local::definition().expect("the definition"), &raised),
    );
}

// The checks themselves, each shown failing on a tree that breaks its rule.

#[test]
fn the_sdk_check_finds_an_import_in_a_step_and_allows_the_wiring() {
    let files = [
        source(
            "functions/hand-off/src/lib.rs",
            "//! aws_sdk_s3 in a comment is fine\nuse aws_sdk_s3::Client;\n",
        ),
        source(
            "functions/hand-off/src/main.rs",
            "use aws_sdk_s3::Client;\n",
        ),
        source("crates/vending-aws/src/s3.rs", "use aws_sdk_s3::Client;\n"),
        source(
            "crates/vending-domain/src/x.rs",
            "fn f() {}\n#[cfg(test)]\nmod t { use aws_sdk_s3 as _; }\n",
        ),
    ];
    assert_eq!(
        sdk_imports(&files),
        ["functions/hand-off/src/lib.rs:2: use aws_sdk_s3::Client;"]
    );
}

#[test]
fn the_wait_check_finds_a_sleep_in_a_step_but_not_the_sdks_sleep_impl() {
    let files = [
        source(
            "functions/check-account/src/lib.rs",
            "loop {\n    tokio::time::sleep(d).await;\n}\n",
        ),
        source(
            "crates/vending-aws/src/clients.rs",
            ".sleep_impl(TokioSleep::new())\n",
        ),
        source(
            "crates/vend/src/local/mod.rs",
            "tokio::time::sleep(d).await;\n",
        ),
    ];
    assert_eq!(
        waits(&files),
        ["functions/check-account/src/lib.rs:2: tokio::time::sleep(d).await;"]
    );
}

#[test]
fn the_size_check_finds_a_file_one_line_too_long() {
    let files = [
        source("crates/a/src/lib.rs", &"x\n".repeat(MAX_LINES)),
        source("crates/b/src/lib.rs", &"x\n".repeat(MAX_LINES + 1)),
    ];
    assert_eq!(long_files(&files).len(), 1);
    assert!(long_files(&files)[0].starts_with("crates/b/src/lib.rs"));
}

#[test]
fn the_handler_check_wants_a_call_of_handle_on_the_fakes_in_the_crates_own_tests() {
    let functions = ["check-account".to_owned(), "place-account".to_owned()];
    let files = [
        source(
            "functions/check-account/tests/poll.rs",
            "use vending_domain::fakes::FakeOrganization;\ncheck_account::handle(&org, &r, p)",
        ),
        // Called from another crate's tests: not its own handler tests.
        source(
            "functions/ensure-account/tests/steps.rs",
            "use vending_domain::fakes::FakeOrganization;\nplace_account::handle(&org, p)",
        ),
    ];
    assert_eq!(
        untested_handlers(&functions, &files),
        ["functions/place-account: no test in tests/ calls its handle on the fakes"]
    );
}

#[test]
fn the_error_check_finds_a_name_never_raised_one_unknown_and_one_unmatched() {
    let definition = serde_json::json!({"States": {
        "A": {"Type": "Task", "Retry": [{"ErrorEquals": ["Throttled", "Bogus"]}],
              "Catch": [{"ErrorEquals": ["States.ALL"]}]},
        "P": {"Type": "Parallel", "Catch": [{"ErrorEquals": ["Conflict"]}], "Branches": [
            {"States": {"B": {"Type": "Task", "Retry": [{"ErrorEquals": ["Throttled"]}]}}}
        ]}
    }});
    let names: BTreeSet<String> = ["Throttled", "Conflict", "Internal"]
        .map(str::to_owned)
        .into();
    let found = error_names(&definition, &names);
    assert!(found.contains(&"Bogus is matched but is no step error".to_owned()));
    assert!(found.contains(&"B does not match Internal".to_owned()));
    assert!(
        !found
            .iter()
            .any(|f| f.starts_with("B does not match Conflict")),
        "the Parallel's Catch matches for its branches: {found:?}"
    );
    assert!(found.contains(&"NotReady is a step error that no code raises".to_owned()));
    let from_code = raised(&[source(
        "functions/x/src/lib.rs",
        "Err(StepError::Conflict(m))\n// StepError::Internal(\n",
    )]);
    assert_eq!(from_code, ["Conflict".to_owned()].into());
}
