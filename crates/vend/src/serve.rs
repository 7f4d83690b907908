//! `vend serve`'s HTTP front: the portal API on loopback, as API Gateway serves it in AWS.
//! Each HTTP request becomes the HTTP API (payload 2.0) event API Gateway would give the
//! TenantRequest function, the function's own handler answers it on its own template role
//! (`Local::request`), and its answer becomes the HTTP response. Executions the API starts run
//! in the background on the local executor, so a `POST` then `GET`s show a tenant move through
//! its steps.
//!
//! Built on hyper (the HTTP implementation the AWS SDK itself uses), with only the
//! translation to and from API Gateway's event written here.

use crate::local::Local;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::net::TcpListener;

/// The largest body API Gateway's HTTP APIs take (10 MB); larger gets a 413 here too.
pub const MAX_BODY: usize = 10 * 1024 * 1024;

/// The port `vend serve` listens on by default, and the CLI talks to by default.
pub const DEFAULT_PORT: u16 = 8787;

/// The HTTP API (payload format 2.0) event for a request, as API Gateway builds it behind IAM
/// authorization: `caller` is the signing principal's ARN.
pub fn event(
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &str,
    caller: &str,
) -> Value {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let route = vending_domain::api::route(method, path).map_or("$default", |e| e.route_key());
    let header_map: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), json!(v)))
        .collect();
    let account = caller.split(':').nth(4).unwrap_or("000000000000");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    json!({
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": query,
        "headers": header_map,
        "requestContext": {
            "accountId": account,
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": header_map.get("user-agent").cloned().unwrap_or(json!("")),
            },
            "requestId": format!("local-{now}"),
            "routeKey": route,
            "stage": "$default",
            "timeEpoch": now,
            "authorizer": {"iam": {"accountId": account, "userArn": caller}},
        },
        "body": body,
        "isBase64Encoded": false,
    })
}

/// A function's HTTP API answer (`statusCode`, `headers`, `body`) as an HTTP response.
pub fn response(answer: &Value) -> Response<Full<Bytes>> {
    let status = answer["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = Response::builder().status(status);
    if let Some(headers) = answer["headers"].as_object() {
        for (k, v) in headers {
            if let Some(v) = v.as_str() {
                builder = builder.header(k.as_str(), v);
            }
        }
    }
    let body = answer["body"].as_str().unwrap_or_default().to_owned();
    builder
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "a bad answer"))
}

fn plain(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(
        json!({ "message": message }).to_string(),
    )));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

/// Answers one HTTP request with the TenantRequest function.
async fn answer(local: &Local, caller: &str, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = request.method().as_str().to_owned();
    let target = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |p| p.as_str().to_owned(),
    );
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the body is larger than 10 MB",
            );
        }
    };
    let Ok(body) = String::from_utf8(body.to_vec()) else {
        return plain(StatusCode::BAD_REQUEST, "the body is not UTF-8 text");
    };
    let answer = local
        .request(event(&method, &target, &headers, &body, caller))
        .await;
    let response = response(&answer);
    tracing::info!(%method, %target, status = response.status().as_u16(), "served");
    response
}

/// Serves the API on `listener` until `stop` resolves; answers in flight get a moment to end.
pub async fn serve<F>(local: Arc<Local>, listener: TcpListener, stop: F) -> std::io::Result<()>
where
    F: Future<Output = ()>,
{
    let caller = format!(
        "arn:aws:iam::{}:user/local-operator",
        local.executor.config().account_id
    );
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(stop);
    loop {
        let (stream, _) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => accepted?,
        };
        while connections.try_join_next().is_some() {}
        let (local, caller) = (local.clone(), caller.clone());
        let service = hyper::service::service_fn(move |request| {
            let (local, caller) = (local.clone(), caller.clone());
            async move { Ok::<_, std::convert::Infallible>(answer(&local, &caller, request).await) }
        });
        connections.spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
    // Idle keep-alive connections never end by themselves: give answers in flight a moment,
    // then close what is left.
    let _ = tokio::time::timeout(std::time::Duration::from_millis(500), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    connections.shutdown().await;
    Ok(())
}
