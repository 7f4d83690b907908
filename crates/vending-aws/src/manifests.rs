//! The S3 destination of tenant manifests: the bucket Flux's `Bucket` source reads, with the
//! same paths as the git destination. An object whose bytes are unchanged is not rewritten
//! (each object carries the SHA-256 of its bytes in its metadata, compared with HeadObject);
//! a bundle older than the record in the bucket is refused; the record is written last, so
//! its generation marks a complete hand-off.

use crate::classify::classify;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use vending_domain::StepError;
use vending_domain::ports::{
    ManifestBundle, ManifestDestination, ManifestFile, Publication, stale, stored_generation,
};

/// The object metadata key holding the SHA-256 of the object's bytes.
pub const DIGEST_METADATA: &str = "sha256";

/// A bucket that receives tenant manifests.
#[derive(Debug, Clone)]
pub struct S3Manifests {
    client: Client,
    bucket: String,
}

fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn content_type(path: &str) -> &'static str {
    if path.ends_with(".json") {
        "application/json"
    } else {
        "application/yaml"
    }
}

impl S3Manifests {
    /// Writes to `bucket` with `client`.
    pub fn new(client: Client, bucket: impl Into<String>) -> S3Manifests {
        S3Manifests {
            client,
            bucket: bucket.into(),
        }
    }

    /// Writes to `bucket` with a client built from `sdk`.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, bucket: &str) -> S3Manifests {
        S3Manifests::new(path_style_client(sdk), bucket)
    }

    /// The object at `key`, if the bucket has one.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StepError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => {
                let body = out.body.collect().await.map_err(|e| {
                    StepError::Unavailable(format!("GetObject {key}: reading the body: {e}"))
                })?;
                Ok(Some(body.into_bytes().to_vec()))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(classify("GetObject", &e)),
        }
    }

    /// The generation of the record at `key`, if the bucket has one.
    async fn held_generation(&self, key: &str) -> Result<Option<u64>, StepError> {
        Ok(self.get(key).await?.and_then(|b| stored_generation(&b)))
    }

    /// True when the object at the file's path already holds its bytes.
    async fn holds(&self, file: &ManifestFile, sum: &str) -> Result<bool, StepError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&file.path)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .metadata()
                .and_then(|m| m.get(DIGEST_METADATA))
                .is_some_and(|d| d == sum)),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) => Err(classify("HeadObject", &e)),
        }
    }

    /// Writes the file unless it is already there; true when it wrote.
    async fn write(&self, file: &ManifestFile, bundle: &ManifestBundle) -> Result<bool, StepError> {
        let sum = digest(&file.bytes);
        if self.holds(file, &sum).await? {
            return Ok(false);
        }
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&file.path)
            .content_type(content_type(&file.path))
            .metadata(DIGEST_METADATA, &sum)
            .metadata("generation", bundle.generation.to_string())
            .metadata("request-id", &bundle.request_id)
            .body(ByteStream::from(file.bytes.clone()))
            .send()
            .await
            .map_err(|e| classify("PutObject", &e))?;
        Ok(true)
    }

    /// Every key under the tenant's folder.
    async fn tenant_keys(&self, dir: &str) -> Result<BTreeSet<String>, StepError> {
        let mut keys = BTreeSet::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(format!("{dir}/"))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListObjectsV2", &e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        Ok(keys)
    }
}

impl ManifestDestination for S3Manifests {
    async fn publish(&self, bundle: &ManifestBundle) -> Result<Publication, StepError> {
        if let Some(held) = self.held_generation(&bundle.record.path).await?
            && held > bundle.generation
        {
            return Err(stale(bundle, held));
        }
        let mut written = Vec::new();
        for file in &bundle.manifests {
            if self.write(file, bundle).await? {
                written.push(file.path.clone());
            }
        }
        let keep: BTreeSet<&str> = bundle.manifests.iter().map(|f| f.path.as_str()).collect();
        for key in self.tenant_keys(&bundle.tenant_dir).await? {
            if !keep.contains(key.as_str()) {
                self.client
                    .delete_object()
                    .bucket(&self.bucket)
                    .key(&key)
                    .send()
                    .await
                    .map_err(|e| classify("DeleteObject", &e))?;
                written.push(format!("-{key}"));
            }
        }
        if self.write(&bundle.record, bundle).await? {
            written.push(bundle.record.path.clone());
        }
        if written.is_empty() {
            tracing::info!(tenant = %bundle.tenant_id, bucket = %self.bucket, "manifests unchanged: nothing written");
            Ok(Publication::Unchanged {
                revision: format!("s3://{}/{}", self.bucket, bundle.tenant_dir),
            })
        } else {
            tracing::info!(tenant = %bundle.tenant_id, bucket = %self.bucket, generation = bundle.generation, objects = written.len(), "manifests written");
            Ok(Publication::Written {
                revision: written.join(" "),
            })
        }
    }

    async fn read(
        &self,
        tenant_dir: &str,
        record_path: &str,
    ) -> Result<BTreeMap<String, Vec<u8>>, StepError> {
        let mut files = BTreeMap::new();
        let keys = self.tenant_keys(tenant_dir).await?;
        for key in keys.iter().map(String::as_str).chain([record_path]) {
            if let Some(bytes) = self.get(key).await? {
                files.insert(key.to_owned(), bytes);
            }
        }
        Ok(files)
    }
}

/// An S3 client; with a custom endpoint (the sandbox, an S3-compatible store) it addresses
/// buckets by path, as a bucket name cannot be a subdomain of a loopback address.
pub fn path_style_client(sdk: &aws_config::SdkConfig) -> Client {
    let conf = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    Client::from_conf(conf)
}

/// The text of a Secrets Manager secret (the git destination's credentials).
pub async fn secret(sdk: &aws_config::SdkConfig, arn: &str) -> Result<String, StepError> {
    let out = aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| classify("GetSecretValue", &e))?;
    out.secret_string()
        .map(str::to_owned)
        .ok_or_else(|| StepError::Internal(format!("secret {arn} holds no text")))
}
