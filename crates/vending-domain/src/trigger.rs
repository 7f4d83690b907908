//! What starts the vending workflow, and what each trigger means.
//!
//! The workflow's input is one of: a tenant request (a console "New execution", `vend rerun`,
//! or the portal's request body, which the TenantRequest function starts the workflow with);
//! the service's own `TenantRequested` event; Control Tower's `CreateManagedAccount` event; or
//! Organizations' `CreateAccountResult` event (from CloudTrail, with the account name masked
//! as `****`). The API Gateway event of `POST /tenants` never enters the workflow.
//!
//! An account-created event becomes a tenant only when the account is meant for the platform
//! (`adopt`): not one the service created itself (tagged `vending:tenant`), and in an
//! environment's OU, or carrying the configured environment tag. Anything else is skipped,
//! quietly: a normal outcome, not a failure.

use crate::config::PlatformConfig;
use crate::error::{StepError, ValidationErrors};
use crate::request::{TENANT_TAG, TenantRequest, TenantSpec};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A workflow input, recognised by its shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A tenant request given as the input itself.
    Request(Value),
    /// The service's `TenantRequested` event, whose detail is a tenant request.
    TenantRequested(Value),
    /// Control Tower enrolled a new account (SUCCEEDED).
    ControlTowerAccount {
        /// The event id, which becomes the request id.
        event_id: String,
        /// The account.
        account_id: String,
        /// Its name, as Control Tower gives it.
        account_name: String,
        /// The OU it was enrolled in.
        ou_id: String,
    },
    /// Organizations created an account (SUCCEEDED); its name is masked in the event.
    OrganizationsAccount {
        /// The event id, which becomes the request id.
        event_id: String,
        /// The account.
        account_id: String,
    },
}

fn invalid(field: &str, reason: impl Into<String>) -> StepError {
    let mut e = ValidationErrors::default();
    e.push(field, reason);
    StepError::InvalidRequest(e)
}

fn text<'a>(v: &'a Value, pointer: &str, name: &str) -> Result<&'a str, StepError> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(name, "is missing from the event"))
}

/// Recognises a workflow input.
pub fn recognise(input: &Value) -> Result<Trigger, StepError> {
    if !input.is_object() {
        return Err(invalid(
            "trigger",
            "must be a JSON object: a tenant request, a TenantRequested event or an account-created event",
        ));
    }
    let source = input.get("source").and_then(Value::as_str);
    let event_name = input.pointer("/detail/eventName").and_then(Value::as_str);
    match (source, event_name) {
        (Some("aws.controltower"), Some("CreateManagedAccount")) => {
            let st = input
                .pointer("/detail/serviceEventDetails/createManagedAccountStatus")
                .unwrap_or(&Value::Null);
            succeeded(st)?;
            Ok(Trigger::ControlTowerAccount {
                event_id: text(input, "/id", "id")?.to_owned(),
                account_id: text(st, "/account/accountId", "accountId")?.to_owned(),
                account_name: text(st, "/account/accountName", "accountName")?.to_owned(),
                ou_id: text(
                    st,
                    "/organizationalUnit/organizationalUnitId",
                    "organizationalUnitId",
                )?
                .to_owned(),
            })
        }
        (Some("aws.organizations"), Some("CreateAccountResult")) => {
            let st = input
                .pointer("/detail/serviceEventDetails/createAccountStatus")
                .unwrap_or(&Value::Null);
            succeeded(st)?;
            Ok(Trigger::OrganizationsAccount {
                event_id: text(input, "/id", "id")?.to_owned(),
                account_id: text(st, "/accountId", "accountId")?.to_owned(),
            })
        }
        (Some("tenant-vending"), _)
            if input.get("detail-type").and_then(Value::as_str) == Some("TenantRequested") =>
        {
            Ok(Trigger::TenantRequested(
                input.get("detail").cloned().unwrap_or(Value::Null),
            ))
        }
        (Some(s), _) => Err(invalid(
            "trigger",
            format!(
                "events from '{s}' ({}) are not vending triggers",
                event_name.unwrap_or("no eventName")
            ),
        )),
        (None, _) if input.get("requestContext").is_some() && input.get("routeKey").is_some() => {
            Err(invalid(
                "trigger",
                "is an HTTP API event: POST /tenants is answered by the TenantRequest function, which starts the workflow with the request body",
            ))
        }
        (None, _) => Ok(Trigger::Request(input.clone())),
    }
}

fn succeeded(status: &Value) -> Result<(), StepError> {
    let state = text(status, "/state", "state")?;
    if state == "SUCCEEDED" {
        Ok(())
    } else {
        Err(invalid(
            "state",
            format!("the account creation ended in {state}; only SUCCEEDED accounts are adopted"),
        ))
    }
}

/// What Organizations says of an account an event named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFacts {
    /// The account.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its parent (root or OU).
    pub parent_id: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

/// Why an account-created event was not turned into a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    /// The account the event named.
    pub account_id: String,
    /// Why, in a sentence.
    pub reason: String,
}

/// What Normalize hands the workflow: a tenant to vend, or a trigger that is not for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Normalized {
    /// Vend this tenant.
    Vend {
        /// The validated request.
        spec: Box<TenantSpec>,
    },
    /// End quietly.
    Skip {
        /// Why.
        skipped: Skipped,
    },
}

/// Turns an account-created event into a tenant request, or says why it is not one.
/// `event_ou` is the OU an event names (Control Tower's); Organizations' events name none, so
/// the account's parent decides.
pub fn adopt(
    config: &PlatformConfig,
    request_id: &str,
    facts: &AccountFacts,
    event_ou: Option<&str>,
) -> Result<TenantRequest, Skipped> {
    let skip = |reason: String| Skipped {
        account_id: facts.id.clone(),
        reason,
    };
    if let Some(tenant) = facts.tags.get(TENANT_TAG) {
        return Err(skip(format!(
            "account {} was created by this service for tenant {tenant}",
            facts.id
        )));
    }
    let ou = event_ou.unwrap_or(&facts.parent_id);
    let environment = if let Some(env) = config.environment_of_ou(ou) {
        env.to_owned()
    } else if event_ou.is_some() {
        // Control Tower owns its OUs: an enrolled account is never moved out of one.
        return Err(skip(format!(
            "account {} is enrolled in OU {ou}, which is not an environment's OU: Control Tower accounts are adopted only in their environment's OU",
            facts.id
        )));
    } else {
        let tagged = config
            .adoption
            .environment_tag_key
            .as_ref()
            .and_then(|key| facts.tags.get(key).map(|v| (key, v)));
        match tagged {
            Some((_, env)) if config.environments.contains_key(env) => env.clone(),
            Some((key, env)) => {
                return Err(skip(format!(
                    "account {} is tagged {key}={env}, which is not an environment of this platform",
                    facts.id
                )));
            }
            None => {
                return Err(skip(format!(
                    "account {} is in {ou}, which is not an environment's OU, and has no environment tag: not meant for this platform",
                    facts.id
                )));
            }
        }
    };
    let mut request = TenantRequest::default();
    request.request_id = request_id.to_owned();
    request.tenant_id = tenant_id_from_account_name(&facts.name);
    request.display_name = Some(facts.name.clone());
    request.environment = environment;
    request.account_id = Some(facts.id.clone());
    request.announced_account = true;
    request.owners = config
        .adoption
        .default_owners
        .iter()
        .map(|p| p.as_str().to_owned())
        .collect();
    request.tags = config.adoption.default_tags.clone();
    Ok(request)
}

/// Turns an account name into a tenant id candidate: lowercase, runs of other characters
/// become one '-'. The result is still validated as a DNS-1123 label.
pub fn tenant_id_from_account_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}
