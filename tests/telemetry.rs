//! What a platform engineer sees of a vending beside its result: every step call is a `step`
//! span naming the tenant, the execution and the account, and emits its metrics (EMF), the
//! same way in Lambda and locally (`vending_domain::steps::call_measured`).

use e2e::{portal_body, request};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tracing::span::{Attributes, Id, Record};
use tracing::{Subscriber, field};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use vending_domain::steps::STATES;
use vending_domain::telemetry::{StepMeasure, summarize};

type Fields = BTreeMap<String, String>;

/// Keeps every `step` span's fields, as recorded when it opened and after.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<BTreeMap<u64, Fields>>>);

struct Visit<'a>(&'a mut Fields);

impl field::Visit for Visit<'_> {
    fn record_str(&mut self, f: &field::Field, value: &str) {
        self.0.insert(f.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, f: &field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(f.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        if attrs.metadata().name() != "step" {
            return;
        }
        let mut fields = Fields::new();
        attrs.record(&mut Visit(&mut fields));
        self.0.lock().expect("spans").insert(id.into_u64(), fields);
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(fields) = self.0.lock().expect("spans").get_mut(&id.into_u64()) {
            values.record(&mut Visit(fields));
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_step_of_a_vending_is_a_span_naming_the_tenant_and_emits_its_metrics() {
    let spans = Spans::default();
    let file = vend::trace::TraceFile::default();
    let subscriber = tracing_subscriber::registry()
        .with(spans.clone())
        .with(file.clone().with_filter(vend::trace::TraceFile::filter()));
    tracing::subscriber::set_global_default(subscriber)
        .expect("the only subscriber of this test binary");
    let measures: Arc<Mutex<Vec<StepMeasure>>> = Arc::default();
    let kept = measures.clone();
    let observer: vend::local::Observer = Arc::new(move |r: &vend::local::StepReport| {
        kept.lock().expect("measures").push(r.measure.clone());
    });
    let options = vend::local::LocalOptions {
        strict: true,
        ..vend::local::LocalOptions::default()
    };
    let config = vend::local::example_config().expect("valid");
    let local = vend::local::Local::start(config, options, observer)
        .await
        .expect("the sandbox starts (run `make setup` first)");
    let (answer, result) = request(&local, &portal_body()).await;
    let result = result.unwrap_or_else(|| panic!("started: {answer}"));
    assert_eq!(result.status, asl_executor::Status::Succeeded, "{result:?}");
    let account = result.output.as_ref().expect("a record")["account"]["id"]
        .as_str()
        .expect("an account")
        .to_owned();

    let spans: Vec<Fields> = spans.0.lock().expect("spans").values().cloned().collect();
    let measures = measures.lock().expect("measures").clone();
    // The happy path runs every step but RecordFailure.
    for step in STATES.iter().filter(|s| **s != "RecordFailure") {
        // The run's own execution (the account it creates starts one more, which skips it).
        let of_step: Vec<&Fields> = spans
            .iter()
            .filter(|f| f["step"] == *step)
            .filter(|f| f.get("execution").is_some_and(|e| e.starts_with("portal-")))
            .collect();
        assert!(!of_step.is_empty(), "{step}: no span in {spans:?}");
        if *step != "Normalize" {
            for f in &of_step {
                assert_eq!(
                    f.get("tenant").map(String::as_str),
                    Some("payments"),
                    "{step}: {f:?}"
                );
            }
        }
        // Once the account exists every step's span names it (the poll that saw it made,
        // from its result; EnsureAccount only started the creation).
        if !matches!(*step, "Normalize" | "EnsureAccount") {
            assert!(
                of_step.iter().any(|f| f.get("account") == Some(&account)),
                "{step}: {of_step:?}"
            );
        }
        let of_step: Vec<&StepMeasure> = measures.iter().filter(|m| m.step == *step).collect();
        assert!(!of_step.is_empty(), "{step}: no metrics");
        for m in of_step {
            let doc = m.emf(0);
            assert_eq!(doc["Step"], *step, "{doc}");
            assert_eq!(doc["StepCalls"], serde_json::json!(1.0), "{doc}");
            assert!(doc["StepDuration"].as_f64().is_some(), "{doc}");
        }
    }
    // The trace file: the execution's steps in one trace (its X-Ray id in W3C form), each
    // AWS call a client span under its step.
    let execution = spans
        .iter()
        .find_map(|f| f.get("execution").filter(|e| e.starts_with("portal-")))
        .expect("the run's execution")
        .clone();
    let xray = vend::trace::xray_trace_id(&execution);
    assert!(
        spans
            .iter()
            .filter(|f| f.get("execution") == Some(&execution))
            .all(|f| f.get("trace_id") == Some(&xray)),
        "{xray}: {spans:?}"
    );
    let doc = file.document();
    let otel = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
        .as_array()
        .expect("spans")
        .clone();
    let trace_id = xray.trim_start_matches("1-").replace('-', "");
    let network = otel
        .iter()
        .find(|s| s["name"] == "ProvisionNetwork" && s["traceId"] == trace_id.as_str())
        .unwrap_or_else(|| panic!("{doc}"));
    let calls: Vec<&str> = otel
        .iter()
        .filter(|s| s["parentSpanId"] == network["spanId"])
        .map(|s| {
            assert_eq!(s["kind"], 3, "a client span: {s}");
            assert_eq!(s["traceId"], network["traceId"], "{s}");
            s["name"].as_str().unwrap_or_default()
        })
        .collect();
    assert!(calls.iter().any(|c| c.starts_with("EC2.")), "{calls:?}");
    // Each call carries the request id AWS answered with.
    for call in otel.iter().filter(|s| s["kind"] == 3) {
        assert!(
            call["attributes"]
                .as_array()
                .is_some_and(|a| a.iter().any(|kv| kv["key"] == "aws.request_id")),
            "no request id: {call}"
        );
    }
    let summary = summarize(&measures);
    let vended = summary
        .iter()
        .find(|s| s.name == "TenantsVended")
        .unwrap_or_else(|| panic!("{summary:?}"));
    assert_eq!(
        (vended.sum, vended.dimensions.as_str()),
        (1.0, "Environment=prod")
    );
    // What the steps emit beside their results: the pool's free space once a block is
    // claimed, and a creation against the cap.
    for name in [
        "CidrPoolFreeBlocks",
        "AccountCreationsStarted",
        "AccountCreationCap",
    ] {
        let row = summary.iter().find(|s| s.name == name);
        assert!(row.is_some_and(|r| r.sum > 0.0), "{name}: {summary:?}");
    }
    // A retried call counts as a failure by its error: here only the NotReady answers the
    // workflow retries while the sandbox makes the attachment (the retries metric).
    let retried: Vec<&str> = summary
        .iter()
        .filter(|s| s.name == "StepFailures" && s.dimensions.starts_with("Error=") && s.sum > 0.0)
        .map(|s| s.dimensions.as_str())
        .collect();
    assert!(
        retried.iter().all(|d| d.starts_with("Error=NotReady,")),
        "{retried:?}"
    );
}
