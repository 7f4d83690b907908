//! The tenant registry on DynamoDB, behind the `Registry` port.
//!
//! One table, one string key `pk`: `TENANT#<id>` rows hold the entry as JSON in `doc`;
//! `LEASE#<id>` rows name the execution working on the tenant (`execution`) and when its lease
//! ends (`expires`, epoch seconds);
//! `CIDR#<piece>` rows hold the owner (`tenant`) and the claimed block (`block`) of each
//! smallest-size piece of a claimed block. A claim writes all its pieces with conditions in one
//! transaction, so two tenants can never hold overlapping blocks, whatever their sizes.
//! `SCOPE#<id>` rows hold namespace scopes: `holder` is the tenant of that id, `members` the
//! tenants whose id extends it past a `-` (`team` holds the members `team-a`, `team-b`). A
//! tenant's claim, in one transaction, sets its own row's holder if the row has no other holder
//! and no members, and adds itself to the members of each enclosing id's row if that row has no
//! holder: so no tenant's `<id>-*` ever covers another's id.
//! `REQUEST#<requestId>` rows hold a portal request as first received (`doc`) and its attempt.
//! `SLOT#<n>` rows (n below the config's cap) are the account-creation slots: the tenant
//! creating its account (`holder`) and when the slot lapses (`expires`).

use crate::classify::classify;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason, Put, TransactWriteItem, Update};
use vending_domain::ports::{
    CREATION_SLOT_SECONDS, Claim, LEASE_SECONDS, Lease, MAX_PAGE, Registry, RegistryEntry,
    RequestRecord, ScopeClaim, Slot, TenantPage, TenantQuery,
};
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

/// The listing index: only tenant rows carry its keys (a sparse index), so a listing reads
/// tenants and nothing else, in the order of `<environment>#<tenant>`.
pub const TENANTS_INDEX: &str = "tenants";
/// The index's partition key: `TENANT` on every tenant row. One partition holds the whole
/// listing, which suits a registry of thousands of tenants read by people and scripts.
pub const LIST_PARTITION: &str = "kind";
/// The index's sort key: `<environment>#<tenant>`, so one environment is one key range.
pub const LIST_SORT: &str = "listKey";
const TENANT_KIND: &str = "TENANT";

fn list_key(entry: &RegistryEntry) -> String {
    format!(
        "{}#{}",
        entry.environment.as_deref().unwrap_or_default(),
        entry.tenant_id
    )
}

/// A page token: the last listed tenant's sort key, hex-encoded (opaque, safe in a URL).
fn token_of(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

fn key_of_token(token: &str) -> Result<String, StepError> {
    let bad = || {
        let mut e = vending_domain::ValidationErrors::default();
        e.push("nextToken", "is not a token this service gave");
        StepError::InvalidRequest(e)
    };
    if !token.len().is_multiple_of(2) || token.len() > 400 {
        return Err(bad());
    }
    let bytes: Result<Vec<u8>, _> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2).unwrap_or("zz"), 16))
        .collect();
    let key = String::from_utf8(bytes.map_err(|_| bad())?).map_err(|_| bad())?;
    // `<environment>#<tenant>`: the tenant part must be a tenant id.
    match key.rsplit_once('#') {
        Some((_, tenant)) if TenantId::parse(tenant).is_ok() => Ok(key),
        _ => Err(bad()),
    }
}

impl DynamoRegistry {
    /// The registry in `table`.
    pub fn new(client: Client, table: impl Into<String>) -> DynamoRegistry {
        DynamoRegistry {
            client,
            table: table.into(),
        }
    }

    /// Creates the table (on-demand) as the SAM template declares it, with the listing index,
    /// when it does not exist: for the local sandbox; in AWS the template owns it.
    pub async fn ensure_table(&self) -> Result<(), StepError> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
            Projection, ProjectionType, ScalarAttributeType,
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
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build)
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(build)
        };
        let index = GlobalSecondaryIndex::builder()
            .index_name(TENANTS_INDEX)
            .key_schema(key(LIST_PARTITION, KeyType::Hash)?)
            .key_schema(key(LIST_SORT, KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(build)?;
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute("pk")?)
            .attribute_definitions(attribute(LIST_PARTITION)?)
            .attribute_definitions(attribute(LIST_SORT)?)
            .key_schema(key("pk", KeyType::Hash)?)
            .global_secondary_indexes(index)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("CreateTable", &e))
    }

    /// A tenant's row: its entry (`doc`) and what the listing index and its filters read.
    fn tenant_item(
        entry: &RegistryEntry,
    ) -> Result<std::collections::HashMap<String, AttributeValue>, StepError> {
        let mut item = std::collections::HashMap::from([
            ("pk".to_owned(), tenant_key(&entry.tenant_id)),
            ("doc".to_owned(), Self::encode(entry)?),
            (LIST_PARTITION.to_owned(), s(TENANT_KIND)),
            (LIST_SORT.to_owned(), s(list_key(entry))),
            ("status".to_owned(), s(entry.status.as_str())),
        ]);
        if !entry.tags.is_empty() {
            let tags = entry
                .tags
                .iter()
                .map(|(k, v)| (k.clone(), s(v.as_str())))
                .collect();
            item.insert("tags".to_owned(), AttributeValue::M(tags));
        }
        Ok(item)
    }

    /// One row, read consistently.
    async fn read(
        &self,
        key: AttributeValue,
    ) -> Result<aws_sdk_dynamodb::operation::get_item::GetItemOutput, StepError> {
        self.client
            .get_item()
            .table_name(&self.table)
            .key("pk", key)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("GetItem", &e))
    }

    /// Deletes the row `key` if its `attribute` is `holder`; a row held by another, or gone, is
    /// left as it is.
    async fn delete_if_held(
        &self,
        key: AttributeValue,
        attribute: &str,
        holder: &str,
    ) -> Result<(), StepError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", key)
            .condition_expression("#held = :me")
            .expression_attribute_names("#held", attribute)
            .expression_attribute_values(":me", s(holder))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
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

    /// The account-creation slot rows that exist, by slot number: one consistent read of all.
    async fn slot_rows(
        &self,
        slots: u32,
    ) -> Result<
        std::collections::HashMap<u32, std::collections::HashMap<String, AttributeValue>>,
        StepError,
    > {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut rows = std::collections::HashMap::new();
        let mut keys: Vec<_> = (0..slots)
            .map(|n| std::collections::HashMap::from([("pk".to_owned(), slot_key(n))]))
            .collect();
        // BatchGetItem may leave keys unprocessed under load: ask again for those.
        for _ in 0..5 {
            if keys.is_empty() {
                return Ok(rows);
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut keys)))
                .consistent_read(true)
                .build()
                .map_err(|e| StepError::Internal(format!("building a slot read: {e}")))?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| classify("BatchGetItem", &e))?;
            for item in out
                .responses()
                .and_then(|r| r.get(&self.table))
                .into_iter()
                .flatten()
            {
                let n = item
                    .get("pk")
                    .and_then(|v| v.as_s().ok())
                    .and_then(|k| k.strip_prefix("SLOT#"))
                    .and_then(|n| n.parse::<u32>().ok());
                if let Some(n) = n {
                    rows.insert(n, item.clone());
                }
            }
            keys = out
                .unprocessed_keys()
                .and_then(|u| u.get(&self.table))
                .map(|k| k.keys().to_vec())
                .unwrap_or_default();
        }
        if keys.is_empty() {
            Ok(rows)
        } else {
            Err(StepError::Throttled(
                "DynamoDB left the account-creation slots unread".into(),
            ))
        }
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

fn scope_key(id: &str) -> AttributeValue {
    s(format!("SCOPE#{id}"))
}

fn slot_key(n: u32) -> AttributeValue {
    s(format!("SLOT#{n}"))
}

fn request_key(id: &str) -> AttributeValue {
    s(format!("REQUEST#{id}"))
}

/// What a cancelled transaction says: the index of the item whose condition failed, or that
/// another transaction held one of the items (`TransactionConflict`: retry).
enum Cancelled {
    Condition(usize),
    Conflict,
}

fn cancelled(reasons: &[CancellationReason]) -> Option<Cancelled> {
    if let Some(i) = reasons
        .iter()
        .position(|r| r.code() == Some("ConditionalCheckFailed"))
    {
        return Some(Cancelled::Condition(i));
    }
    reasons
        .iter()
        .any(|r| r.code() == Some("TransactionConflict"))
        .then_some(Cancelled::Conflict)
}

fn cancellation<R>(
    e: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, R>,
) -> Option<Cancelled> {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
            cancelled(c.cancellation_reasons())
        }
        _ => None,
    }
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
                let out = self.read(lease_key(tenant)).await?;
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
        // Not ours (or already gone): nothing to give back.
        self.delete_if_held(lease_key(tenant), "execution", execution)
            .await
    }

    async fn get(&self, tenant: &TenantId) -> Result<Option<RegistryEntry>, StepError> {
        let out = self.read(tenant_key(tenant)).await?;
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
            .set_item(Some(Self::tenant_item(entry)?))
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
            .set_item(Some(Self::tenant_item(entry)?))
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
        let now = vending_domain::registry::now_seconds();
        let mut request = self.client.transact_write_items();
        for piece in &pieces {
            let put = Put::builder()
                .table_name(&self.table)
                .item("pk", s(format!("CIDR#{piece}")))
                .item("tenant", s(tenant.as_str()))
                .item("block", s(cidr.to_string()))
                // A piece held for a closed account is free once its hold has ended; the
                // new item (a Put replaces the old) carries no hold.
                .condition_expression(
                    "attribute_not_exists(pk) OR tenant = :t OR heldUntil <= :now",
                )
                .expression_attribute_values(":t", s(tenant.as_str()))
                .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
                .build()
                .map_err(|e| StepError::Internal(format!("building a claim: {e}")))?;
            request = request.transact_items(TransactWriteItem::builder().put(put).build());
        }
        match request.send().await {
            Ok(_) => Ok(Claim::Claimed),
            Err(e) => {
                let index = match cancellation(&e) {
                    Some(Cancelled::Condition(i)) => i,
                    Some(Cancelled::Conflict) => {
                        return Err(StepError::ConcurrentModification(format!(
                            "another claim held a piece of {cidr} while {tenant} claimed it"
                        )));
                    }
                    None => return Err(classify("TransactWriteItems", &e)),
                };
                let piece = pieces[index];
                let out = self.read(s(format!("CIDR#{piece}"))).await?;
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

    async fn hold_cidr(
        &self,
        cidr: Ipv4Cidr,
        unit: u8,
        tenant: &TenantId,
        until: u64,
    ) -> Result<(), StepError> {
        for piece in cidr.split(unit) {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(format!("CIDR#{piece}")))
                .update_expression("SET heldUntil = :u")
                .condition_expression("tenant = :t")
                .expression_attribute_values(":u", AttributeValue::N(until.to_string()))
                .expression_attribute_values(":t", s(tenant.as_str()))
                .send()
                .await;
            match result {
                Ok(_) => {}
                // Not the tenant's piece (any more): nothing of its to hold.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|x| x.is_conditional_check_failed_exception()) => {}
                Err(e) => return Err(classify("UpdateItem", &e)),
            }
        }
        Ok(())
    }

    async fn claimed_cidrs(&self) -> Result<Vec<(Ipv4Cidr, TenantId)>, StepError> {
        let now = vending_domain::registry::now_seconds();
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
            let held_until = item
                .get("heldUntil")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<u64>().ok());
            // A hold that has ended frees the piece.
            if held_until.is_none_or(|until| until > now) {
                out.push((cidr, owner));
            }
        }
        out.sort();
        Ok(out)
    }

    async fn claim_scope(&self, tenant: &TenantId) -> Result<ScopeClaim, StepError> {
        let build = |e: aws_sdk_dynamodb::error::BuildError| {
            StepError::Internal(format!("building a scope claim: {e}"))
        };
        let own = Update::builder()
            .table_name(&self.table)
            .key("pk", scope_key(tenant.as_str()))
            .update_expression("SET holder = :t")
            .condition_expression(
                "(attribute_not_exists(holder) OR holder = :t) AND attribute_not_exists(members)",
            )
            .expression_attribute_values(":t", s(tenant.as_str()))
            .build()
            .map_err(build)?;
        let enclosing = vending_domain::scope::enclosing_ids(tenant);
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(own).build());
        for id in &enclosing {
            let add = Update::builder()
                .table_name(&self.table)
                .key("pk", scope_key(id))
                .update_expression("ADD members :m")
                .condition_expression("attribute_not_exists(holder)")
                .expression_attribute_values(":m", AttributeValue::Ss(vec![tenant.to_string()]))
                .build()
                .map_err(build)?;
            request = request.transact_items(TransactWriteItem::builder().update(add).build());
        }
        let e = match request.send().await {
            Ok(_) => return Ok(ScopeClaim::Claimed),
            Err(e) => e,
        };
        let index = match cancellation(&e) {
            Some(Cancelled::Condition(i)) => i,
            Some(Cancelled::Conflict) => {
                return Err(StepError::ConcurrentModification(format!(
                    "another scope claim held a row while {tenant} claimed its namespaces"
                )));
            }
            None => return Err(classify("TransactWriteItems", &e)),
        };
        let key = if index == 0 {
            tenant.to_string()
        } else {
            enclosing[index - 1].clone()
        };
        let out = self.read(scope_key(&key)).await?;
        let item = out.item();
        let holder = item
            .and_then(|i| i.get("holder"))
            .and_then(|v| v.as_s().ok())
            .filter(|h| *h != tenant.as_str())
            .cloned();
        let member = item
            .and_then(|i| i.get("members"))
            .and_then(|v| v.as_ss().ok())
            .and_then(|m| m.iter().find(|m| *m != tenant.as_str()))
            .cloned();
        let other = holder.or(member).ok_or_else(|| {
            StepError::ConcurrentModification(format!(
                "the scope row {key} changed while {tenant} claimed its namespaces"
            ))
        })?;
        TenantId::parse(&other)
            .map(ScopeClaim::Overlaps)
            .map_err(|e| {
                StepError::Internal(format!("scope row {key} names a bad tenant '{other}': {e}"))
            })
    }

    async fn lease_holder(&self, tenant: &TenantId) -> Result<Option<String>, StepError> {
        let out = self.read(lease_key(tenant)).await?;
        let Some(item) = out.item() else {
            return Ok(None);
        };
        let expires: u64 = item
            .get("expires")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        if expires < now_secs() {
            return Ok(None);
        }
        Ok(item.get("execution").and_then(|v| v.as_s().ok()).cloned())
    }

    async fn get_request(&self, request_id: &str) -> Result<Option<RequestRecord>, StepError> {
        let out = self.read(request_key(request_id)).await?;
        let Some(item) = out.item() else {
            return Ok(None);
        };
        let doc = item
            .get("doc")
            .and_then(|d| d.as_s().ok())
            .cloned()
            .unwrap_or_default();
        let mut record: RequestRecord = serde_json::from_str(&doc).map_err(|e| {
            StepError::Internal(format!("the request {request_id} does not decode: {e}"))
        })?;
        if let Some(n) = item
            .get("attempt")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
        {
            record.attempt = n;
        }
        Ok(Some(record))
    }

    async fn put_request(&self, record: &RequestRecord) -> Result<bool, StepError> {
        let doc = serde_json::to_string(record)
            .map_err(|e| StepError::Internal(format!("encoding a request: {e}")))?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", request_key(&record.request_id))
            .item("doc", s(doc))
            .item("attempt", AttributeValue::N(record.attempt.to_string()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(classify("PutItem", &e)),
        }
    }

    async fn list(&self, query: &TenantQuery) -> Result<TenantPage, StepError> {
        let mut condition = format!("{LIST_PARTITION} = :kind");
        let mut values = std::collections::HashMap::from([(":kind".to_owned(), s(TENANT_KIND))]);
        let mut names = std::collections::HashMap::new();
        if let Some(env) = &query.environment {
            condition.push_str(&format!(" AND begins_with({LIST_SORT}, :env)"));
            values.insert(":env".into(), s(format!("{env}#")));
        }
        let mut filters = Vec::new();
        if let Some(status) = query.status {
            filters.push("#status = :status".to_owned());
            names.insert("#status".to_owned(), "status".to_owned());
            values.insert(":status".into(), s(status.as_str()));
        }
        for (i, (k, v)) in query.tags.iter().enumerate() {
            filters.push(format!("tags.#tag{i} = :tag{i}"));
            names.insert(format!("#tag{i}"), k.clone());
            values.insert(format!(":tag{i}"), s(v.as_str()));
        }
        let mut start = match &query.after {
            Some(token) => {
                let key = key_of_token(token)?;
                let tenant = key.rsplit_once('#').map_or("", |(_, t)| t).to_owned();
                Some(std::collections::HashMap::from([
                    (LIST_PARTITION.to_owned(), s(TENANT_KIND)),
                    (LIST_SORT.to_owned(), s(key)),
                    ("pk".to_owned(), s(format!("TENANT#{tenant}"))),
                ]))
            }
            None => None,
        };
        let limit = query.limit.clamp(1, MAX_PAGE);
        let mut tenants = Vec::new();
        // A filter applies after DynamoDB's `Limit`: read on until the page is full (and one
        // more, to know whether another page follows) or the index ends.
        loop {
            let want = i32::try_from(limit + 1 - tenants.len()).unwrap_or(1);
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(TENANTS_INDEX)
                .key_condition_expression(&condition)
                .set_filter_expression((!filters.is_empty()).then(|| filters.join(" AND ")))
                .set_expression_attribute_names((!names.is_empty()).then(|| names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .set_exclusive_start_key(start.take())
                .limit(want)
                .send()
                .await
                .map_err(|e| classify("Query", &e))?;
            for item in out.items() {
                let doc = item.get("doc").and_then(|d| d.as_s().ok());
                let entry: RegistryEntry = doc
                    .and_then(|d| serde_json::from_str(d).ok())
                    .ok_or_else(|| {
                        StepError::Internal(format!(
                            "a listed registry row does not decode: {:?}",
                            item.get("pk")
                        ))
                    })?;
                tenants.push(entry);
            }
            start = out.last_evaluated_key().cloned();
            if tenants.len() > limit || start.is_none() {
                break;
            }
        }
        let more = tenants.len() > limit;
        tenants.truncate(limit);
        let next = if more {
            tenants.last().map(|e| token_of(&list_key(e)))
        } else {
            None
        };
        Ok(TenantPage { tenants, next })
    }

    async fn take_creation_slot(&self, tenant: &TenantId, slots: u32) -> Result<Slot, StepError> {
        let now = now_secs();
        let mut holders = Vec::new();
        let mut free = Vec::new();
        let rows = self.slot_rows(slots).await?;
        for n in 0..slots {
            let item = rows.get(&n);
            let holder = item
                .and_then(|i| i.get("holder"))
                .and_then(|v| v.as_s().ok())
                .cloned();
            let expires = item
                .and_then(|i| i.get("expires"))
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
            match holder {
                Some(h) if h == tenant.as_str() => return Ok(Slot::Taken(n)),
                Some(h) if expires >= now => {
                    if let Ok(t) = TenantId::parse(&h) {
                        holders.push(t);
                    }
                }
                _ => free.push(n),
            }
        }
        for n in free {
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", slot_key(n))
                .item("holder", s(tenant.as_str()))
                .item(
                    "expires",
                    AttributeValue::N((now + CREATION_SLOT_SECONDS).to_string()),
                )
                .condition_expression("attribute_not_exists(pk) OR holder = :me OR expires < :now")
                .expression_attribute_values(":me", s(tenant.as_str()))
                .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
                .send()
                .await;
            match result {
                Ok(_) => return Ok(Slot::Taken(n)),
                // Another tenant took it meanwhile: try the next.
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(classify("PutItem", &e)),
            }
        }
        Ok(Slot::Full(holders))
    }

    async fn release_creation_slot(&self, tenant: &TenantId, slot: u32) -> Result<(), StepError> {
        // Not the tenant's any more (lapsed and taken, or given back already): nothing to do.
        self.delete_if_held(slot_key(slot), "holder", tenant.as_str())
            .await
    }

    async fn next_attempt(&self, request_id: &str, from: u32) -> Result<bool, StepError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", request_key(request_id))
            .update_expression("SET attempt = :next")
            .condition_expression("attempt = :from")
            .expression_attribute_values(":from", AttributeValue::N(from.to_string()))
            .expression_attribute_values(":next", AttributeValue::N((from + 1).to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(classify("UpdateItem", &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    use aws_sdk_dynamodb::types::error::TransactionCanceledException;
    use aws_smithy_mocks::{RuleMode, mock};

    fn cancelled(codes: &[&str]) -> TransactWriteItemsError {
        TransactWriteItemsError::TransactionCanceledException(
            TransactionCanceledException::builder()
                .set_cancellation_reasons(Some(
                    codes
                        .iter()
                        .map(|c| CancellationReason::builder().code(*c).build())
                        .collect(),
                ))
                .build(),
        )
    }

    #[tokio::test]
    async fn a_claim_held_by_another_transaction_is_a_concurrent_modification_not_internal() {
        let conflict = mock!(Client::transact_write_items)
            .then_error(|| cancelled(&["None", "TransactionConflict"]));
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&conflict]);
        let registry = DynamoRegistry::new(client, "t");
        let tenant = TenantId::parse("payments").expect("id");
        let cidr: Ipv4Cidr = "10.64.0.0/21".parse().expect("cidr");
        let err = registry
            .claim_cidr(cidr, 22, &tenant)
            .await
            .expect_err("conflict");
        assert_eq!(err.error_type(), "ConcurrentModification", "{err}");
        let scope =
            mock!(Client::transact_write_items).then_error(|| cancelled(&["TransactionConflict"]));
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&scope]);
        let err = DynamoRegistry::new(client, "t")
            .claim_scope(&tenant)
            .await
            .expect_err("conflict");
        assert_eq!(err.error_type(), "ConcurrentModification", "{err}");
    }
}
