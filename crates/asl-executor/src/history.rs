//! The execution history: the same event types, ids and detail fields that AWS's
//! `GetExecutionHistory` returns, so a local run reads like the console's history view.

use crate::limits::MAX_HISTORY_EVENTS;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One history event.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    /// 1-based, in the order events happened.
    pub id: u64,
    /// The event this one follows in its branch of the execution; 0 for the first.
    pub previous_event_id: u64,
    /// When it happened (virtual time in the default mode).
    pub timestamp: DateTime<Utc>,
    /// AWS's event type, for example `PassStateEntered` or `TaskFailed`.
    pub event_type: Cow<'static, str>,
    /// AWS's details object, keyed as in the API (`stateEnteredEventDetails`, ...).
    pub details: Option<Details>,
}

impl HistoryEvent {
    /// The event as AWS's API renders it (payloads as JSON strings).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "timestamp".into(),
            json!(self.timestamp.to_rfc3339_opts(SecondsFormat::Millis, true)),
        );
        m.insert("type".into(), json!(self.event_type));
        m.insert("id".into(), json!(self.id));
        m.insert("previousEventId".into(), json!(self.previous_event_id));
        if let Some(details) = &self.details {
            m.insert(details.key.to_owned(), details.render());
        }
        Value::Object(m)
    }
}

/// An event's details object: its key in AWS's API (`stateEnteredEventDetails`, ...) and its
/// fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Details {
    key: &'static str,
    body: Body,
}

#[derive(Debug, Clone, PartialEq)]
enum Body {
    /// A state entered or exited, the two events every state writes. Its name is shared with
    /// the definition and its input or output is kept as the JSON text AWS shows, which the
    /// state's exit shares with the next state's entry: the hot path of the executor builds no
    /// map and clones no payload for them.
    State {
        name: Arc<str>,
        /// `input` or `output`.
        field: &'static str,
        text: Arc<str>,
    },
    /// Any other event's fields, payloads (`input`, `output`, `parameters`) as JSON values.
    Fields(Value),
}

impl Details {
    /// Details given as a JSON object.
    pub(crate) fn fields(key: &'static str, fields: Value) -> Details {
        Details {
            key,
            body: Body::Fields(fields),
        }
    }

    /// A state's entered or exited details: its name and its input or output as JSON text.
    pub(crate) fn state(
        key: &'static str,
        name: Arc<str>,
        field: &'static str,
        text: Arc<str>,
    ) -> Details {
        Details {
            key,
            body: Body::State { name, field, text },
        }
    }

    /// The key of the details in AWS's API, for example `stateEnteredEventDetails`.
    pub fn key(&self) -> &'static str {
        self.key
    }

    /// The details as a JSON object, payloads as JSON values (not as AWS's JSON strings).
    pub fn value(&self) -> Value {
        match &self.body {
            Body::Fields(v) => v.clone(),
            Body::State { name, field, text } => {
                let mut m = Map::new();
                m.insert("name".into(), Value::String(name.to_string()));
                m.insert((*field).to_owned(), parse_payload(text));
                Value::Object(m)
            }
        }
    }

    /// The `name` field (a state's, a Map iteration's), when the details have one.
    pub fn name(&self) -> Option<&str> {
        match &self.body {
            Body::State { name, .. } => Some(name),
            Body::Fields(v) => v.get("name").and_then(Value::as_str),
        }
    }

    /// One field, a payload as a JSON value; `None` when the details have no such field.
    pub fn get(&self, field: &str) -> Option<Value> {
        match &self.body {
            Body::Fields(v) => v.get(field).cloned(),
            Body::State { name, .. } if field == "name" => Some(Value::String(name.to_string())),
            Body::State { field: f, text, .. } if *f == field => Some(parse_payload(text)),
            Body::State { .. } => None,
        }
    }

    /// AWS carries `input`, `output` and `parameters` as JSON text with a `...Details` sibling.
    fn render(&self) -> Value {
        let mut out = Map::new();
        let payload = |out: &mut Map<String, Value>, k: &str, text: String| {
            out.insert(k.to_owned(), Value::String(text));
            if k != "parameters" {
                out.insert(format!("{k}Details"), json!({"truncated": false}));
            }
        };
        match &self.body {
            Body::State { name, field, text } => {
                out.insert("name".into(), Value::String(name.to_string()));
                payload(&mut out, field, text.to_string());
            }
            Body::Fields(Value::Object(d)) => {
                for (k, v) in d {
                    if matches!(k.as_str(), "input" | "output" | "parameters") {
                        payload(&mut out, k, v.to_string());
                    } else {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
            Body::Fields(other) => return other.clone(),
        }
        Value::Object(out)
    }
}

/// A payload's JSON text back as a value. The text was written by `serde_json` from a value,
/// so it parses; `Null` stands in should it ever not.
fn parse_payload(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// The JSON text of a payload, as a state's entered or exited details keep it. `buf` is
/// scratch space reused from one state to the next.
pub(crate) fn payload_text(value: &Value, buf: &mut Vec<u8>) -> Arc<str> {
    buf.clear();
    // Writing a `Value` to a `Vec` cannot fail, and serde_json writes UTF-8: the lossy
    // conversion borrows the bytes as they are.
    let _ = serde_json::to_writer(&mut *buf, value);
    Arc::from(String::from_utf8_lossy(buf))
}

/// The growing history of one execution, shared by its branches.
#[derive(Debug, Default)]
pub(crate) struct History {
    events: Mutex<Vec<HistoryEvent>>,
    /// An event was refused because the history was full: the execution must fail.
    full: AtomicBool,
}

/// The events that end an execution: the only ones the last place of a full history takes.
const CLOSING: [&str; 4] = [
    "ExecutionSucceeded",
    "ExecutionFailed",
    "ExecutionTimedOut",
    "ExecutionAborted",
];

impl History {
    /// Appends an event and returns its id.
    pub(crate) fn push(
        &self,
        previous_event_id: u64,
        timestamp: DateTime<Utc>,
        event_type: impl Into<Cow<'static, str>>,
        details: Option<Details>,
    ) -> u64 {
        let mut events = self
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let id = events.len() as u64 + 1;
        let event_type = event_type.into();
        // AWS keeps the 25,000th place for the event that ends the execution.
        if events.len() + 1 >= MAX_HISTORY_EVENTS && !CLOSING.contains(&&*event_type) {
            self.full.store(true, Ordering::Relaxed);
            return id - 1;
        }
        events.push(HistoryEvent {
            id,
            previous_event_id,
            timestamp,
            event_type,
            details,
        });
        id
    }

    /// Whether an event found the history full (see [`MAX_HISTORY_EVENTS`]).
    pub(crate) fn is_full(&self) -> bool {
        self.full.load(Ordering::Relaxed)
    }

    /// A copy of the events so far, from the `from`th (0 for all).
    pub(crate) fn snapshot(&self, from: usize) -> Vec<HistoryEvent> {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(from..)
            .map(<[HistoryEvent]>::to_vec)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_states_details_render_and_read_back_as_awss_shape() {
        let output = json!({"last": 2, "note": "naïve \"x\"", "n": 1.5e300});
        let mut buf = Vec::new();
        let text = payload_text(&output, &mut buf);
        assert_eq!(&*text, output.to_string());
        let d = Details::state("stateExitedEventDetails", "S1".into(), "output", text);
        assert_eq!(d.key(), "stateExitedEventDetails");
        assert_eq!(d.name(), Some("S1"));
        assert_eq!(d.get("output"), Some(output.clone()));
        assert_eq!(d.get("input"), None);
        assert_eq!(d.value(), json!({"name": "S1", "output": output}));
        assert_eq!(
            d.render(),
            json!({"name": "S1", "output": output.to_string(), "outputDetails": {"truncated": false}})
        );
        // The same details given as fields render the same.
        let fields = Details::fields(
            "stateExitedEventDetails",
            json!({"name": "S1", "output": output}),
        );
        assert_eq!(fields.render(), d.render());
        assert_eq!(fields.name(), Some("S1"));
    }

    #[test]
    fn a_snapshot_from_an_offset_holds_only_the_later_events() {
        let h = History::default();
        let t = Utc::now();
        for ty in ["ExecutionStarted", "PassStateEntered", "PassStateExited"] {
            h.push(0, t, ty, None);
        }
        let types = |from| {
            h.snapshot(from)
                .into_iter()
                .map(|e| e.event_type.into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(types(0).len(), 3);
        assert_eq!(types(2), ["PassStateExited"]);
        assert!(types(3).is_empty());
        assert!(types(9).is_empty());
    }
}
