//! The portal API's client, as `vend request`, `status`, `list` and `rerun` use it: against
//! `vend serve` on loopback by default, or a deployed HTTP API, whose IAM authorization needs
//! every request signed with Signature Version 4 (service `execute-api`) by the user's AWS
//! credentials (their profile, or the environment).
//!
//! hyper's client (with rustls) and `aws-sigv4` do the work; this module only joins them.

use aws_credential_types::provider::ProvideCredentials as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::time::{Duration, SystemTime};

/// Where the API is and how to reach it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The base URL (`http://127.0.0.1:8787`, `https://abc.execute-api.eu-west-1.amazonaws.com`).
    pub url: String,
    /// Sign requests for IAM authorization in this region (`None`: send them unsigned, as
    /// `vend serve` takes them).
    pub signing_region: Option<String>,
    /// The AWS profile whose credentials sign (`None`: the default chain).
    pub profile: Option<String>,
}

/// Why the API could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is not one.
    #[error("'{0}' is not an http(s) URL")]
    BadUrl(String),
    /// Nothing answered, or the connection broke.
    #[error("could not reach {url}: {reason} (is `vend serve` running? or pass --endpoint)")]
    Unreachable {
        /// Where.
        url: String,
        /// Why.
        reason: String,
    },
    /// Signing failed (no credentials, say).
    #[error("signing the request: {0}")]
    Signing(String),
    /// The answer is not JSON.
    #[error("the API answered {status} with a body that is not JSON: {body}")]
    NotJson {
        /// The status.
        status: u16,
        /// The start of the body.
        body: String,
    },
}

impl Endpoint {
    /// An endpoint from a URL: signed when it is not on loopback, in the region its
    /// `execute-api` host names (or `region`, which wins).
    pub fn new(
        url: &str,
        region: Option<String>,
        profile: Option<String>,
    ) -> Result<Endpoint, ClientError> {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|_| ClientError::BadUrl(url.to_owned()))?;
        let host = uri
            .host()
            .ok_or_else(|| ClientError::BadUrl(url.to_owned()))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(ClientError::BadUrl(url.to_owned()));
        }
        let loopback = host == "localhost"
            || host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        let from_host = host
            .split('.')
            .skip_while(|p| *p != "execute-api")
            .nth(1)
            .map(str::to_owned);
        let signing_region = if loopback {
            None
        } else {
            Some(
                region
                    .or(from_host)
                    .unwrap_or_else(|| "us-east-1".to_owned()),
            )
        };
        Ok(Endpoint {
            url: url.trim_end_matches('/').to_owned(),
            signing_region,
            profile,
        })
    }
}

/// An answer: its status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Value,
}

/// The API's client.
#[derive(Debug, Clone)]
pub struct ApiClient {
    endpoint: Endpoint,
    http: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// The signing credentials' provider, loaded from the profile once (it caches what it
    /// resolves), not for every request a `--watch` or a listing's pages make.
    credentials: std::sync::Arc<
        tokio::sync::OnceCell<aws_credential_types::provider::SharedCredentialsProvider>,
    >,
}

/// How long one call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

impl ApiClient {
    /// A client of `endpoint`.
    pub fn new(endpoint: Endpoint) -> Result<ApiClient, ClientError> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| ClientError::Unreachable {
                url: endpoint.url.clone(),
                reason: format!("no TLS roots: {e}"),
            })?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(ApiClient {
            endpoint,
            http: Client::builder(TokioExecutor::new()).build(https),
            credentials: std::sync::Arc::default(),
        })
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Calls `method target` (`/tenants?status=READY`) with an optional JSON body.
    pub async fn call(
        &self,
        method: &str,
        target: &str,
        body: Option<&Value>,
    ) -> Result<Reply, ClientError> {
        let url = format!("{}{target}", self.endpoint.url);
        let bytes = body.map(Value::to_string).unwrap_or_default();
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .header("user-agent", concat!("vend/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(Bytes::from(bytes.clone())))
            .map_err(|_| ClientError::BadUrl(url.clone()))?;
        if let Some(region) = &self.endpoint.signing_region {
            self.sign(&mut request, region, bytes.as_bytes()).await?;
        }
        let unreachable = |reason: String| ClientError::Unreachable {
            url: self.endpoint.url.clone(),
            reason,
        };
        let response = tokio::time::timeout(CALL_TIMEOUT, self.http.request(request))
            .await
            .map_err(|_| unreachable(format!("no answer in {} s", CALL_TIMEOUT.as_secs())))?
            .map_err(|e| unreachable(vending_domain::error::source_chain(&e)))?;
        let status = response.status().as_u16();
        let text = response
            .into_body()
            .collect()
            .await
            .map_err(|e| unreachable(e.to_string()))?
            .to_bytes();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&text).map_err(|_| ClientError::NotJson {
                status,
                body: String::from_utf8_lossy(&text).chars().take(200).collect(),
            })?
        };
        Ok(Reply { status, body })
    }

    async fn sign(
        &self,
        request: &mut hyper::Request<Full<Bytes>>,
        region: &str,
        body: &[u8],
    ) -> Result<(), ClientError> {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
        let provider =
            self.credentials
                .get_or_try_init(|| async {
                    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
                    if let Some(profile) = &self.endpoint.profile {
                        loader = loader.profile_name(profile);
                    }
                    loader.load().await.credentials_provider().ok_or_else(|| {
                        ClientError::Signing("no AWS credentials are configured".into())
                    })
                })
                .await?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| ClientError::Signing(vending_domain::error::source_chain(&e)))?;
        let identity = credentials.into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name("execute-api")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| ClientError::Signing(e.to_string()))?
            .into();
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let uri = request.uri().to_string();
        let signable = SignableRequest::new(
            request.method().as_str(),
            &uri,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body),
        )
        .map_err(|e| ClientError::Signing(e.to_string()))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| ClientError::Signing(e.to_string()))?
            .into_parts();
        instructions.apply_to_request_http1x(request);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_unsigned_and_an_api_host_is_signed_in_its_region() {
        let local = Endpoint::new("http://127.0.0.1:8787/", None, None).expect("ok");
        assert_eq!(local.signing_region, None);
        assert_eq!(local.url, "http://127.0.0.1:8787");
        let api = Endpoint::new(
            "https://abc.execute-api.eu-west-1.amazonaws.com",
            None,
            None,
        )
        .expect("ok");
        assert_eq!(api.signing_region.as_deref(), Some("eu-west-1"));
        let custom = Endpoint::new(
            "https://vending.example.com",
            Some("eu-central-1".into()),
            None,
        )
        .expect("ok");
        assert_eq!(custom.signing_region.as_deref(), Some("eu-central-1"));
        assert!(Endpoint::new("ftp://x", None, None).is_err());
        assert!(Endpoint::new("not a url", None, None).is_err());
    }
}
