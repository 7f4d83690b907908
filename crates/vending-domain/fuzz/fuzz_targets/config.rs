//! The example platform config, which both targets validate against.

use std::sync::OnceLock;
use vending_domain::PlatformConfig;

pub fn config() -> &'static PlatformConfig {
    static CONFIG: OnceLock<PlatformConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        PlatformConfig::from_json(include_str!("../../../../infra/platform-config.json"))
            .expect("the example config is valid")
    })
}
