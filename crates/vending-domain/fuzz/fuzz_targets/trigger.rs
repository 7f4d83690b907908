//! Recognising any workflow input, and validating the request it carries, must never panic:
//! whatever EventBridge, the console or a re-run hands the workflow, Normalize answers with a
//! spec or an error naming the field.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "config.rs"]
mod shared;
use shared::config;
use vending_domain::trigger::{AccountFacts, Trigger, adopt, recognise};
use vending_domain::TenantRequest;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let request = match recognise(&input) {
        Ok(Trigger::Request(v) | Trigger::TenantRequested(v)) => TenantRequest::from_value(&v).ok(),
        Ok(Trigger::ControlTowerAccount { event_id, account_id, account_name, ou_id }) => {
            let facts = AccountFacts { id: account_id, name: account_name, parent_id: ou_id.clone(), tags: Default::default() };
            adopt(config(), &event_id, &facts, Some(&ou_id)).ok()
        }
        Ok(Trigger::OrganizationsAccount { event_id, account_id }) => {
            // The account's name and tags come from Organizations: take them from the input.
            let tags = input
                .pointer("/detail/tags")
                .and_then(|t| serde_json::from_value(t.clone()).ok())
                .unwrap_or_default();
            let name = input.pointer("/detail/name").and_then(|n| n.as_str()).unwrap_or("x");
            let facts = AccountFacts { id: account_id, name: name.to_owned(), parent_id: "r-root".into(), tags };
            adopt(config(), &event_id, &facts, None).ok()
        }
        Err(_) => None,
    };
    if let Some(request) = request {
        let _ = request.validate(config());
    }
});
