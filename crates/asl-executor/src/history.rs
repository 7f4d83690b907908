//! The execution history: the same event types, ids and detail fields that AWS's
//! `GetExecutionHistory` returns, so a local run reads like the console's history view.

use crate::limits::MAX_HISTORY_EVENTS;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

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
    pub event_type: String,
    /// AWS's details object, keyed as in the API (`stateEnteredEventDetails`, ...).
    pub details: Option<(&'static str, Value)>,
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
        if let Some((key, details)) = &self.details {
            m.insert((*key).to_owned(), render_details(details));
        }
        Value::Object(m)
    }
}

/// AWS carries `input`, `output` and `parameters` as JSON text with a `...Details` sibling.
fn render_details(details: &Value) -> Value {
    let Value::Object(d) = details else {
        return details.clone();
    };
    let mut out = Map::new();
    for (k, v) in d {
        if matches!(k.as_str(), "input" | "output" | "parameters") {
            out.insert(k.clone(), Value::String(v.to_string()));
            if k != "parameters" {
                out.insert(format!("{k}Details"), json!({"truncated": false}));
            }
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
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
        event_type: impl Into<String>,
        details: Option<(&'static str, Value)>,
    ) -> u64 {
        let mut events = self
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let id = events.len() as u64 + 1;
        let event_type = event_type.into();
        // AWS keeps the 25,000th place for the event that ends the execution.
        if events.len() + 1 >= MAX_HISTORY_EVENTS && !CLOSING.contains(&event_type.as_str()) {
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

    /// A copy of the events so far.
    pub(crate) fn snapshot(&self) -> Vec<HistoryEvent> {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}
