//! What a step call tells the platform team beside its result: who it was about (the tenant,
//! the execution, the account: the fields of its `step` span and the properties of its
//! metrics) and what it measured, in CloudWatch's embedded metric format (EMF).
//!
//! Every step call goes through [`crate::steps::call_measured`], in Lambda
//! (`vending_runtime::serve`, which prints the EMF document to the function's log, where
//! CloudWatch extracts the metrics) and locally (`vend local` and `vend serve`, which print
//! the same metrics at the end of a run). So the span and the metrics are the same in both.
//!
//! The EMF document is written by hand: it is one JSON object (the CloudWatch User Guide's
//! "Specification: Embedded metric format"), and the crates that write it sit behind the
//! `metrics` facade's one global recorder, which cannot keep apart the thirteen functions
//! `vend local` runs in one process, nor carry a tenant id per call as a property.

use serde::Serialize;
use serde_json::{Map, Value, json};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// The CloudWatch namespace of every metric the functions emit.
pub const NAMESPACE: &str = "TenantVending";

/// Every metric the functions emit (the dashboard and alarms name only these; `tests/infra.rs`
/// checks both that list and the code against it).
pub const METRICS: &[&str] = &[
    "StepDuration",
    "StepCalls",
    "StepFailures",
    "TriggersSkipped",
    "AccountCreationsStarted",
    "AccountCreationCap",
    "AccountCreationsQueued",
    "AccountsCreating",
    "AccountCreationsRestarted",
    "CidrPoolFreeBlocks",
    "TenantsVended",
    "TenantReruns",
    "TenantsUnchanged",
    "TenantsFailed",
    "TenantsOffboarded",
    "OffboardingsFailed",
];

/// Who a step call is about: its span's fields and its metrics' properties.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Trace {
    /// The tenant, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The Step Functions execution's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
    /// The tenant's account, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The X-Ray trace of the execution (`1-<8 hex>-<24 hex>`): Lambda's, which Step Functions
    /// passes to every function of a traced execution; locally, derived from the execution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

impl Trace {
    /// A trace from what an input names.
    pub fn of(tenant: Option<&str>, execution: &str, account: Option<&str>) -> Trace {
        Trace {
            tenant: tenant.map(str::to_owned),
            execution: Some(execution.to_owned()).filter(|e| !e.is_empty()),
            account: account.map(str::to_owned).filter(|a| !a.is_empty()),
            trace_id: None,
        }
    }

    /// This trace, with what `more` knows and this one does not.
    pub fn or(self, more: Trace) -> Trace {
        Trace {
            tenant: self.tenant.or(more.tenant),
            execution: self.execution.or(more.execution),
            account: self.account.or(more.account),
            trace_id: self.trace_id.or(more.trace_id),
        }
    }
}

/// A step input names whom the call is about.
pub trait Traced {
    /// The tenant, execution and account the input names.
    fn trace(&self) -> Trace;
}

/// CloudWatch's unit of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Unit {
    /// How many.
    Count,
    /// A duration.
    Milliseconds,
}

/// One value of one metric, with its dimensions (name, value).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// The metric's name.
    pub name: &'static str,
    /// Its unit.
    pub unit: Unit,
    /// The value.
    pub value: f64,
    /// Its dimensions, by name.
    pub dimensions: BTreeMap<&'static str, String>,
}

impl Metric {
    /// A count of `value` under `dimensions`.
    pub fn count(name: &'static str, value: usize, dimensions: &[(&'static str, &str)]) -> Metric {
        // Counts here are small (tenants, steps, slots): exact as a float.
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        let value = value as f64;
        Metric::new(name, Unit::Count, value, dimensions)
    }

    /// A duration of `ms` milliseconds under `dimensions`.
    pub fn millis(name: &'static str, ms: f64, dimensions: &[(&'static str, &str)]) -> Metric {
        Metric::new(name, Unit::Milliseconds, ms, dimensions)
    }

    fn new(
        name: &'static str,
        unit: Unit,
        value: f64,
        dimensions: &[(&'static str, &str)],
    ) -> Metric {
        Metric {
            name,
            unit,
            value,
            dimensions: dimensions
                .iter()
                .map(|(k, v)| (*k, (*v).to_owned()))
                .collect(),
        }
    }
}

/// What a step's result says to the platform team beyond the workflow: the tenants vended,
/// failed, queued. Most results say nothing (the step's duration and errors are measured for
/// every step by [`StepMeasure`]).
pub trait Measured {
    /// The metrics of this result.
    fn metrics(&self) -> Vec<Metric> {
        Vec::new()
    }

    /// Whom the result names that the input did not (EnsureAccount's account, say).
    fn trace(&self) -> Trace {
        Trace::default()
    }
}

/// Records a metric of the step call being run (one its result cannot say: the CIDR pool's
/// free space when a block is claimed, say). Outside a step call it is dropped.
pub fn emit(metric: Metric) {
    CURRENT.with(|current| {
        if let Some(sink) = current.borrow().as_ref() {
            sink.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(metric);
        }
    });
}

type Sink = Arc<Mutex<Vec<Metric>>>;

thread_local! {
    /// The sink of the step call being polled on this thread.
    static CURRENT: RefCell<Option<Sink>> = const { RefCell::new(None) };
}

/// A future whose [`emit`]s go to `sink`: the sink is this thread's only while the future is
/// polled, as `tracing`'s `Instrument` does for spans, so a step call moved between a
/// runtime's threads, or run beside others, keeps its own metrics. Written here because the
/// domain depends on no runtime (a tokio task-local would tie it to one).
pub(crate) struct Collecting<F> {
    inner: Pin<Box<F>>,
    sink: Sink,
}

impl<F> Collecting<F> {
    pub(crate) fn new(inner: F) -> (Collecting<F>, Sink) {
        let sink = Sink::default();
        (
            Collecting {
                inner: Box::pin(inner),
                sink: sink.clone(),
            },
            sink,
        )
    }
}

impl<F: Future> Future for Collecting<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let sink = self.sink.clone();
        let previous = CURRENT.with(|c| c.replace(Some(sink)));
        let out = self.inner.as_mut().poll(cx);
        CURRENT.with(|c| c.replace(previous));
        out
    }
}

/// The metrics a finished call emitted.
pub(crate) fn drain(sink: &Sink) -> Vec<Metric> {
    std::mem::take(
        &mut *sink
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
}

/// One step call, measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepMeasure {
    /// The Task state (`ProvisionNetwork`).
    pub step: &'static str,
    /// Whom it was about.
    pub trace: Trace,
    /// How long the handler took.
    pub duration_ms: f64,
    /// The error's stable name when it failed.
    pub error: Option<String>,
    /// What its result said.
    pub metrics: Vec<Metric>,
}

impl StepMeasure {
    /// Every metric of the call: `StepDuration`, `StepCalls` and `StepFailures` by `Step` (and
    /// `StepFailures` by `Step` and `Error` too when it failed), then the result's own.
    pub fn all_metrics(&self) -> Vec<Metric> {
        let step = [("Step", self.step)];
        let mut out = vec![
            Metric::millis("StepDuration", self.duration_ms, &step),
            Metric::count("StepCalls", 1, &step),
            Metric::count("StepFailures", usize::from(self.error.is_some()), &step),
        ];
        if let Some(error) = &self.error {
            out.push(Metric::count(
                "StepFailures",
                1,
                &[("Step", self.step), ("Error", error)],
            ));
        }
        out.extend(self.metrics.iter().cloned());
        out
    }

    /// The call as one EMF document at `timestamp_ms` (milliseconds since the epoch): the
    /// metrics with their dimensions, the tenant, execution and account as properties.
    pub fn emf(&self, timestamp_ms: u128) -> Value {
        emf(&self.all_metrics(), &self.trace, timestamp_ms)
    }
}

/// An EMF document: one directive per distinct dimension set, whose metrics and dimension
/// values are members of the root. One document holds one value per name: a metric named
/// again (`StepFailures` under two dimension sets) keeps its first value.
fn emf(metrics: &[Metric], trace: &Trace, timestamp_ms: u128) -> Value {
    let mut root = Map::new();
    let mut directives: Vec<(Vec<&'static str>, Vec<Value>)> = Vec::new();
    for m in metrics {
        let keys: Vec<&'static str> = m.dimensions.keys().copied().collect();
        for (k, v) in &m.dimensions {
            root.entry((*k).to_owned())
                .or_insert_with(|| Value::String(v.clone()));
        }
        root.entry(m.name.to_owned())
            .or_insert_with(|| json!(m.value));
        let definition = json!({"Name": m.name, "Unit": m.unit});
        match directives.iter_mut().find(|(k, _)| *k == keys) {
            Some((_, defs)) if !defs.contains(&definition) => defs.push(definition),
            Some(_) => {}
            None => directives.push((keys, vec![definition])),
        }
    }
    if let Value::Object(t) = json!(trace) {
        root.extend(t);
    }
    let directives: Vec<Value> = directives
        .into_iter()
        .map(|(keys, defs)| json!({"Namespace": NAMESPACE, "Dimensions": [keys], "Metrics": defs}))
        .collect();
    root.insert(
        "_aws".into(),
        json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": directives}),
    );
    Value::Object(root)
}

/// One metric of a run, summed over its step calls: what CloudWatch's `Sum`, `SampleCount`
/// and `Maximum` statistics would show for it over the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricSummary {
    /// The metric's name.
    pub name: &'static str,
    /// Its dimensions, as `Name=value` joined with `,` (empty without).
    pub dimensions: String,
    /// Its unit.
    pub unit: Unit,
    /// How many values.
    pub samples: usize,
    /// Their sum.
    pub sum: f64,
    /// The largest.
    pub max: f64,
}

/// The metrics of a run's step calls, summed by name and dimensions, in the order first seen.
pub fn summarize<'a>(measures: impl IntoIterator<Item = &'a StepMeasure>) -> Vec<MetricSummary> {
    let mut out: Vec<MetricSummary> = Vec::new();
    for m in measures.into_iter().flat_map(StepMeasure::all_metrics) {
        let dimensions = m
            .dimensions
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        match out
            .iter_mut()
            .find(|s| s.name == m.name && s.dimensions == dimensions)
        {
            Some(s) => {
                s.samples += 1;
                s.sum += m.value;
                s.max = s.max.max(m.value);
            }
            None => out.push(MetricSummary {
                name: m.name,
                dimensions,
                unit: m.unit,
                samples: 1,
                sum: m.value,
                max: m.value,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure(step: &'static str, error: Option<&str>, ms: f64) -> StepMeasure {
        StepMeasure {
            step,
            trace: Trace::of(Some("payments"), "exec-1", Some("210987654321")),
            duration_ms: ms,
            error: error.map(str::to_owned),
            metrics: Vec::new(),
        }
    }

    #[test]
    fn a_step_call_is_one_emf_document_with_its_tenant_as_properties() {
        let mut m = measure("HandOff", None, 12.5);
        m.metrics = vec![Metric::count(
            "TenantsVended",
            1,
            &[("Environment", "prod")],
        )];
        let doc = m.emf(1_700_000_000_000);
        assert_eq!(doc["_aws"]["Timestamp"], json!(1_700_000_000_000_u64));
        let directives = doc["_aws"]["CloudWatchMetrics"].as_array().expect("array");
        assert_eq!(directives.len(), 2, "{doc}");
        assert_eq!(directives[0]["Namespace"], NAMESPACE);
        assert_eq!(directives[0]["Dimensions"], json!([["Step"]]));
        let names: Vec<&str> = directives[0]["Metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .filter_map(|d| d["Name"].as_str())
            .collect();
        assert_eq!(names, ["StepDuration", "StepCalls", "StepFailures"]);
        assert_eq!(directives[0]["Metrics"][0]["Unit"], "Milliseconds");
        assert_eq!(directives[1]["Dimensions"], json!([["Environment"]]));
        // Every metric and dimension a directive names is a member of the root.
        assert_eq!(doc["StepDuration"], json!(12.5));
        assert_eq!(doc["StepFailures"], json!(0.0));
        assert_eq!(doc["Step"], "HandOff");
        assert_eq!(doc["Environment"], "prod");
        assert_eq!(doc["TenantsVended"], json!(1.0));
        // Who it was about, as properties: searchable, never dimensions.
        assert_eq!(doc["tenant"], "payments");
        assert_eq!(doc["execution"], "exec-1");
        assert_eq!(doc["account"], "210987654321");
    }

    #[test]
    fn a_failed_call_counts_its_failure_by_step_and_by_step_and_error() {
        let doc = measure("ProvisionNetwork", Some("Throttled"), 3.0).emf(0);
        let directives = doc["_aws"]["CloudWatchMetrics"].as_array().expect("array");
        assert_eq!(directives.len(), 2, "{doc}");
        assert_eq!(directives[1]["Dimensions"], json!([["Error", "Step"]]));
        assert_eq!(directives[1]["Metrics"][0]["Name"], "StepFailures");
        assert_eq!(doc["StepFailures"], json!(1.0));
        assert_eq!(doc["Error"], "Throttled");
    }

    #[test]
    fn a_run_sums_by_metric_and_dimensions() {
        let runs = [
            measure("EnsureAccount", None, 2.0),
            measure("EnsureAccount", None, 4.0),
            measure("EnsureAccount", Some("Throttled"), 1.0),
        ];
        let summary = summarize(&runs);
        let row = |name: &str, dims: &str| {
            summary
                .iter()
                .find(|s| s.name == name && s.dimensions == dims)
                .unwrap_or_else(|| panic!("{name} {dims}: {summary:?}"))
        };
        assert_eq!(row("StepCalls", "Step=EnsureAccount").sum, 3.0);
        assert_eq!(row("StepDuration", "Step=EnsureAccount").max, 4.0);
        assert_eq!(row("StepFailures", "Step=EnsureAccount").sum, 1.0);
        assert_eq!(
            row("StepFailures", "Error=Throttled,Step=EnsureAccount").samples,
            1
        );
    }
}
