//! The trace of a local run as OpenTelemetry's JSON (OTLP/JSON, the file form of
//! `ExportTraceServiceRequest`): every step call's `step` span (`vending_domain::telemetry`)
//! with the AWS SDK calls it made as child spans (the SDK opens one per operation, with
//! `rpc.service` and `rpc.method`). All the steps of one execution share a trace, as X-Ray
//! joins them in AWS: its id is the execution's X-Ray trace id (`xray_trace_id`) in W3C form.
//!
//! Written here because the tracing-to-OpenTelemetry crates bring an exporter stack (the
//! `opentelemetry` SDK, gRPC or HTTP exporters) for what is, locally, one JSON file.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::span::{Attributes, Id, Record};
use tracing::{Subscriber, field};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The X-Ray trace id a local execution gets (`1-<8 hex>-<24 hex>`), derived from its name
/// so every step call of the execution (and a re-run's own name) lands in one trace.
pub fn xray_trace_id(execution: &str) -> String {
    use sha2::Digest as _;
    let name = execution.rsplit(':').next().unwrap_or(execution);
    let digest = sha2::Sha256::digest(name.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("1-{}-{}", &hex[..8], &hex[8..])
}

/// One span as it will be written.
#[derive(Debug, Clone)]
struct Kept {
    span_id: String,
    parent_span_id: Option<String>,
    name: String,
    client: bool,
    fields: BTreeMap<String, String>,
    start: u128,
    end: Option<u128>,
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

struct Visit<'a>(&'a mut BTreeMap<String, String>);

impl field::Visit for Visit<'_> {
    fn record_str(&mut self, f: &field::Field, value: &str) {
        self.0.insert(f.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, f: &field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(f.name().to_owned(), format!("{value:?}"));
    }
}

/// A `tracing` layer that keeps the `step` spans and the SDK's operation spans, to be written
/// as one OTLP/JSON document (`TraceFile::document`).
#[derive(Debug, Clone, Default)]
pub struct TraceFile {
    /// The open spans, by tracing's id.
    spans: Arc<Mutex<BTreeMap<u64, Kept>>>,
    /// The closed spans, in the order they closed (tracing reuses a closed span's id).
    closed: Arc<Mutex<Vec<Kept>>>,
}

static NEXT_SPAN: AtomicU64 = AtomicU64::new(1);

/// True for the spans a trace file keeps: step calls and AWS operations.
fn kept(meta: &tracing::Metadata<'_>) -> bool {
    if meta.is_event() {
        return meta.target() == vending_aws::clients::REQUEST_ID_TARGET;
    }
    meta.name() == "step" || meta.fields().field("rpc.system").is_some()
}

impl TraceFile {
    /// The per-layer filter to install it with: step spans at info, the SDK's operation
    /// spans, which it opens at debug, and the request-id events of `vending_aws::clients`.
    pub fn filter() -> tracing_subscriber::filter::FilterFn {
        tracing_subscriber::filter::filter_fn(kept)
    }

    /// The spans kept so far, as one OTLP/JSON `ExportTraceServiceRequest`.
    pub fn document(&self) -> Value {
        let spans = self
            .closed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let open: Vec<Kept> = self
            .spans
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        let all: Vec<Kept> = spans.into_iter().chain(open).collect();
        let by_span_id: BTreeMap<String, &Kept> =
            all.iter().map(|k| (k.span_id.clone(), k)).collect();
        let mut out = Vec::new();
        for k in &all {
            // A span's trace is its step's: the step span's own, or its ancestor's.
            let mut step = k;
            while step.client {
                match step
                    .parent_span_id
                    .as_ref()
                    .and_then(|p| by_span_id.get(p).copied())
                {
                    Some(p) => step = p,
                    None => break,
                }
            }
            // AWS calls outside any step (the local harness's own: seeding, polling) are not
            // the tenant's: left out.
            let Some(trace_id) = step
                .fields
                .get("trace_id")
                .map(|t| t.trim_start_matches("1-").replace('-', ""))
            else {
                continue;
            };
            let attributes: Vec<Value> = k
                .fields
                .iter()
                .map(|(key, v)| json!({"key": key, "value": {"stringValue": v}}))
                .collect();
            let mut span = json!({
                "traceId": trace_id,
                "spanId": k.span_id,
                "name": k.name,
                "kind": if k.client { 3 } else { 1 },
                "startTimeUnixNano": k.start.to_string(),
                "endTimeUnixNano": k.end.unwrap_or(k.start).to_string(),
                "attributes": attributes,
            });
            if let Some(parent) = &k.parent_span_id {
                span["parentSpanId"] = json!(parent);
            }
            if k.fields.contains_key("error") {
                span["status"] = json!({"code": 2, "message": k.fields["error"]});
            }
            out.push(span);
        }
        json!({"resourceSpans": [{
            "resource": {"attributes": [
                {"key": "service.name", "value": {"stringValue": "tenant-vending"}}
            ]},
            "scopeSpans": [{"scope": {"name": "tenant-vending"}, "spans": out}]
        }]})
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for TraceFile {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        let mut fields = BTreeMap::new();
        attrs.record(&mut Visit(&mut fields));
        let client = meta.name() != "step";
        let name = if client {
            meta.name().to_owned()
        } else {
            fields.get("step").cloned().unwrap_or_else(|| "step".into())
        };
        // The nearest kept ancestor (the filter hides the others from this layer).
        let mut spans = self.spans.lock().unwrap_or_else(|e| e.into_inner());
        let parent_span_id = ctx
            .span(id)
            .and_then(|s| {
                s.scope()
                    .skip(1)
                    .find_map(|p| spans.get(&p.id().into_u64()))
            })
            .map(|p| p.span_id.clone());
        let span_id = format!("{:016x}", NEXT_SPAN.fetch_add(1, Ordering::Relaxed));
        spans.insert(
            id.into_u64(),
            Kept {
                span_id,
                parent_span_id,
                name,
                client,
                fields,
                start: now_nanos(),
                end: None,
            },
        );
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(k) = self
            .spans
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&id.into_u64())
        {
            values.record(&mut Visit(&mut k.fields));
        }
    }

    /// An AWS response's request id goes on the call's span, as `aws.request_id`.
    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Visit(&mut fields));
        let Some(request_id) = fields.remove("request_id") else {
            return;
        };
        let mut spans = self.spans.lock().unwrap_or_else(|e| e.into_inner());
        let call = ctx.event_span(event).and_then(|s| {
            s.scope()
                .map(|p| p.id().into_u64())
                .find(|id| spans.contains_key(id))
        });
        if let Some(k) = call.and_then(|id| spans.get_mut(&id)) {
            k.fields.insert("aws.request_id".into(), request_id);
        }
    }

    fn on_close(&self, id: Id, _: Context<'_, S>) {
        let closed = self
            .spans
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id.into_u64());
        if let Some(mut k) = closed {
            k.end = Some(now_nanos());
            self.closed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(k);
        }
    }
}
