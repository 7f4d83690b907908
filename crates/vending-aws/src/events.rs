//! The event bus on EventBridge, behind the `EventBus` port.

use crate::classify::classify;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use vending_domain::StepError;
use vending_domain::ports::EventBus;

/// The source of every event the service puts.
pub const SOURCE: &str = "tenant-vending";

/// The `EventBus` port on an EventBridge bus.
#[derive(Debug, Clone)]
pub struct EventBridgeBus {
    client: Client,
    bus: String,
}

impl EventBridgeBus {
    /// The bus named `bus`.
    pub fn new(client: Client, bus: impl Into<String>) -> EventBridgeBus {
        EventBridgeBus {
            client,
            bus: bus.into(),
        }
    }
}

impl EventBus for EventBridgeBus {
    async fn put(&self, detail_type: &str, detail: &serde_json::Value) -> Result<(), StepError> {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(SOURCE)
            .detail_type(detail_type)
            .detail(detail.to_string())
            .build();
        let out = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| classify("PutEvents", &e))?;
        if out.failed_entry_count() > 0 {
            let why = out
                .entries()
                .iter()
                .filter_map(|e| e.error_code())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(StepError::Unavailable(format!(
                "PutEvents rejected the {detail_type} event: {why}"
            )));
        }
        Ok(())
    }
}
