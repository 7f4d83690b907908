//! Validating any portal body must never panic: the portal answers a 400 naming each bad field.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "config.rs"]
mod shared;
use shared::config;
use vending_domain::TenantRequest;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(request) = TenantRequest::from_value(&body) {
        if let Ok(spec) = request.validate(config()) {
            // A valid spec names a scope that never reaches a reserved namespace.
            assert!(
                vending_domain::scope::reserved_overlap(&spec.tenant_id, &config().kubernetes.reserved_namespaces)
                    .is_none()
            );
        }
    }
});
