//! The tenant registry on DynamoDB, behind the `Registry` port.
//!
//! One table, one string key `pk`: `TENANT#<id>` rows hold the entry as JSON in `doc`;
//! `LEASE#<id>` rows name the execution working on the tenant (`execution`) and when its lease
//! ends (`expires`, epoch seconds);
//! `CIDR#<piece>` rows hold the owner (`tenant`) and the claimed block (`block`) of each
//! smallest-size piece of a claimed block. A claim writes all its pieces with conditions in one
//! transaction, so two tenants can never hold overlapping blocks, whatever their sizes.

use crate::classify::classify;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use vending_domain::ports::{Claim, LEASE_SECONDS, Lease, Registry, RegistryEntry};
use vending_domain::{Ipv4Cidr, StepError, TenantId};

/// The `Registry` port on a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoRegistry {
    client: Client,
    table: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn tenant_key(t: &TenantId) -> AttributeValue {
    s(format!("TENANT#{t}"))
}

impl DynamoRegistry {
    /// The registry in `table`.
    pub fn new(client: Client, table: impl Into<String>) -> DynamoRegistry {
        DynamoRegistry {
            client,
            table: table.into(),
        }
    }

    /// Creates the table (on-demand) when it does not exist: for the local sandbox; in AWS the
    /// SAM template owns it.
    pub async fn ensure_table(&self) -> Result<(), StepError> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        if self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        let build = |e: aws_sdk_dynamodb::error::BuildError| StepError::Internal(e.to_string());
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(build)?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(build)?,
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("CreateTable", &e))
    }

    fn encode(entry: &RegistryEntry) -> Result<AttributeValue, StepError> {
        serde_json::to_string(entry)
            .map(s)
            .map_err(|e| StepError::Internal(format!("encoding a registry entry: {e}")))
    }
}

fn is_condition_failure<R>(e: &aws_sdk_dynamodb::error::SdkError<PutItemError, R>) -> bool {
    matches!(
        e.as_service_error(),
        Some(PutItemError::ConditionalCheckFailedException(_))
    )
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn lease_key(t: &TenantId) -> AttributeValue {
    s(format!("LEASE#{t}"))
}

impl Registry for DynamoRegistry {
    async fn acquire(&self, tenant: &TenantId, execution: &str) -> Result<Lease, StepError> {
        let now = now_secs();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", lease_key(tenant))
            .item("execution", s(execution))
            .item(
                "expires",
                AttributeValue::N((now + LEASE_SECONDS).to_string()),
            )
            .condition_expression("attribute_not_exists(pk) OR execution = :me OR expires < :now")
            .expression_attribute_values(":me", s(execution))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Lease::Acquired),
            Err(e) if is_condition_failure(&e) => {
                let out = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .key("pk", lease_key(tenant))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| classify("GetItem", &e))?;
                let holder = out
                    .item()
                    .and_then(|i| i.get("execution"))
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                Ok(Lease::HeldBy(holder))
            }
            Err(e) => Err(classify("PutItem", &e)),
        }
    }

    async fn release(&self, tenant: &TenantId, execution: &str) -> Result<(), StepError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", lease_key(tenant))
            .condition_expression("execution = :me")
            .expression_attribute_values(":me", s(execution))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Not ours (or already gone): nothing to give back.
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DeleteItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(classify("DeleteItem", &e)),
        }
    }

    async fn get(&self, tenant: &TenantId) -> Result<Option<RegistryEntry>, StepError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", tenant_key(tenant))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("GetItem", &e))?;
        let Some(doc) = out
            .item()
            .and_then(|i| i.get("doc"))
            .and_then(|d| d.as_s().ok())
        else {
            return Ok(None);
        };
        serde_json::from_str(doc).map(Some).map_err(|e| {
            StepError::Internal(format!(
                "the registry entry of {tenant} does not decode: {e}"
            ))
        })
    }

    async fn put(&self, entry: &RegistryEntry) -> Result<(), StepError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", tenant_key(&entry.tenant_id))
            .item("doc", Self::encode(entry)?)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("PutItem", &e))
    }

    async fn put_new(&self, entry: &RegistryEntry) -> Result<bool, StepError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", tenant_key(&entry.tenant_id))
            .item("doc", Self::encode(entry)?)
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(classify("PutItem", &e)),
        }
    }

    async fn claim_cidr(
        &self,
        cidr: Ipv4Cidr,
        unit: u8,
        tenant: &TenantId,
    ) -> Result<Claim, StepError> {
        let pieces: Vec<Ipv4Cidr> = cidr.split(unit).collect();
        if pieces.is_empty() || pieces.len() > 100 {
            return Err(StepError::Internal(format!(
                "{cidr} makes {} pieces of /{unit}; a claim takes 1 to 100",
                pieces.len()
            )));
        }
        let mut request = self.client.transact_write_items();
        for piece in &pieces {
            let put = Put::builder()
                .table_name(&self.table)
                .item("pk", s(format!("CIDR#{piece}")))
                .item("tenant", s(tenant.as_str()))
                .item("block", s(cidr.to_string()))
                .condition_expression("attribute_not_exists(pk) OR tenant = :t")
                .expression_attribute_values(":t", s(tenant.as_str()))
                .build()
                .map_err(|e| StepError::Internal(format!("building a claim: {e}")))?;
            request = request.transact_items(TransactWriteItem::builder().put(put).build());
        }
        match request.send().await {
            Ok(_) => Ok(Claim::Claimed),
            Err(e) => {
                let refused = match e.as_service_error() {
                    Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
                        .cancellation_reasons()
                        .iter()
                        .position(|r| r.code() == Some("ConditionalCheckFailed")),
                    _ => None,
                };
                let Some(index) = refused else {
                    return Err(classify("TransactWriteItems", &e));
                };
                let piece = pieces[index];
                let out = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .key("pk", s(format!("CIDR#{piece}")))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| classify("GetItem", &e))?;
                let owner = out
                    .item()
                    .and_then(|i| i.get("tenant"))
                    .and_then(|t| t.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                TenantId::parse(&owner).map(Claim::TakenBy).map_err(|e| {
                    StepError::Internal(format!("block {piece} has a bad owner '{owner}': {e}"))
                })
            }
        }
    }

    async fn claimed_cidrs(&self) -> Result<Vec<(Ipv4Cidr, TenantId)>, StepError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("begins_with(pk, :p)")
            .expression_attribute_values(":p", s("CIDR#"))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let item = item.map_err(|e| classify("Scan", &e))?;
            let pk = item
                .get("pk")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            let owner = item
                .get("tenant")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            let cidr = pk
                .trim_start_matches("CIDR#")
                .parse::<Ipv4Cidr>()
                .map_err(StepError::Internal)?;
            let owner = TenantId::parse(&owner).map_err(StepError::Internal)?;
            out.push((cidr, owner));
        }
        out.sort();
        Ok(out)
    }
}
