//! The environment `infra/template.yaml` gives the functions, read once at init into one typed
//! struct: a name that is missing stops the function before its first event, with every missing
//! name in one message. The template's `Globals` give every function the registry table, the
//! bus and the platform config's parameter; only the portal's function gets the state machine.

use crate::ConfigError;

/// `REGISTRY_TABLE`: the registry's DynamoDB table.
pub const REGISTRY_TABLE: &str = "REGISTRY_TABLE";
/// `EVENT_BUS_NAME`: the bus `TenantReady` and `TenantFailed` go to.
pub const EVENT_BUS_NAME: &str = "EVENT_BUS_NAME";
/// `STATE_MACHINE_ARN`: the vending workflow the portal starts.
pub const STATE_MACHINE_ARN: &str = "STATE_MACHINE_ARN";
/// `RERUN_STATE_MACHINE_ARN`: the batch re-run workflow the portal starts (`POST /reruns`).
pub const RERUN_STATE_MACHINE_ARN: &str = "RERUN_STATE_MACHINE_ARN";
/// `OFFBOARDING_STATE_MACHINE_ARN`: the offboarding workflow the portal starts
/// (`DELETE /tenants/{tenantId}`).
pub const OFFBOARDING_STATE_MACHINE_ARN: &str = "OFFBOARDING_STATE_MACHINE_ARN";
/// `PLATFORM_CONFIG_PARAMETER`: the SSM parameter holding the platform config (deployed).
pub const PLATFORM_CONFIG_PARAMETER: &str = "PLATFORM_CONFIG_PARAMETER";
/// `PLATFORM_CONFIG_FILE`: a file holding the platform config (locally).
pub const PLATFORM_CONFIG_FILE: &str = "PLATFORM_CONFIG_FILE";

/// Where the platform config is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// An SSM parameter, by name (how the SAM template deploys it).
    Parameter(String),
    /// A file, by path (the repository's example, locally).
    File(String),
}

/// What a function reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionEnv {
    /// The registry's table.
    pub registry_table: String,
    /// The tenant event bus.
    pub event_bus_name: String,
    /// Where the platform config is.
    pub config: ConfigSource,
    state_machine_arn: Option<String>,
    /// The batch re-run workflow, for the function that starts it.
    pub rerun_state_machine_arn: Option<String>,
    /// The offboarding workflow, for the function that starts it.
    pub offboarding_state_machine_arn: Option<String>,
}

impl FunctionEnv {
    /// Reads the process environment.
    pub fn read() -> Result<FunctionEnv, ConfigError> {
        FunctionEnv::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the environment through `lookup` (a name to its value); an empty value counts as
    /// missing.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<FunctionEnv, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut missing = Vec::new();
        let mut required = |name: &'static str| {
            get(name).unwrap_or_else(|| {
                missing.push(name);
                String::new()
            })
        };
        let registry_table = required(REGISTRY_TABLE);
        let event_bus_name = required(EVENT_BUS_NAME);
        let config = match (get(PLATFORM_CONFIG_PARAMETER), get(PLATFORM_CONFIG_FILE)) {
            (Some(name), _) => ConfigSource::Parameter(name),
            (None, Some(path)) => ConfigSource::File(path),
            (None, None) => {
                missing.push("PLATFORM_CONFIG_PARAMETER (or PLATFORM_CONFIG_FILE)");
                ConfigSource::File(String::new())
            }
        };
        if !missing.is_empty() {
            return Err(ConfigError(format!(
                "the function's environment lacks {}",
                missing.join(", ")
            )));
        }
        Ok(FunctionEnv {
            registry_table,
            event_bus_name,
            config,
            state_machine_arn: get(STATE_MACHINE_ARN),
            rerun_state_machine_arn: get(RERUN_STATE_MACHINE_ARN),
            offboarding_state_machine_arn: get(OFFBOARDING_STATE_MACHINE_ARN),
        })
    }

    /// The vending state machine, for the function that starts it.
    pub fn state_machine_arn(&self) -> Result<&str, ConfigError> {
        self.state_machine_arn.as_deref().ok_or_else(|| {
            ConfigError(format!(
                "the function's environment lacks {STATE_MACHINE_ARN}"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env(pairs: &[(&str, &str)]) -> Result<FunctionEnv, ConfigError> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        FunctionEnv::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn the_template_globals_are_read_and_the_parameter_wins_over_a_file() {
        let read = env(&[
            (REGISTRY_TABLE, "t"),
            (EVENT_BUS_NAME, "b"),
            (PLATFORM_CONFIG_PARAMETER, "/p"),
            (PLATFORM_CONFIG_FILE, "f.json"),
        ])
        .expect("complete");
        assert_eq!(
            (read.registry_table.as_str(), read.event_bus_name.as_str()),
            ("t", "b")
        );
        assert_eq!(read.config, ConfigSource::Parameter("/p".into()));
        assert!(
            read.state_machine_arn().is_err(),
            "only the portal's function has it"
        );
    }

    #[test]
    fn every_missing_name_is_in_one_message() {
        let err = env(&[(REGISTRY_TABLE, " ")]).expect_err("incomplete");
        assert_eq!(
            err.0,
            "the function's environment lacks REGISTRY_TABLE, EVENT_BUS_NAME, PLATFORM_CONFIG_PARAMETER (or PLATFORM_CONFIG_FILE)"
        );
    }
}
