//! The HTTP side of the portal API's functions (TenantRequest, InspectTenant): the API
//! Gateway v2 event read into a method, path, query and
//! body, and answers (JSON, with a status) written back as API Gateway v2 responses.

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use serde::Serialize;
use serde_json::{Value, json};
use vending_domain::api::ApiError;
use vending_domain::{StepError, ValidationErrors};

/// A request as the routes read it.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// `GET`, `POST`...
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The raw query string (`a=1&b=2`).
    pub query: String,
    /// The body as text (empty when none).
    pub body: String,
}

/// Reads an HTTP API v2 event.
pub fn read(event: &Value) -> Result<HttpRequest, StepError> {
    let event: ApiGatewayV2httpRequest = serde_json::from_value(event.clone())
        .map_err(|e| invalid("request", format!("is not an HTTP API request: {e}")))?;
    if event.is_base64_encoded {
        return Err(invalid("body", "must be JSON text, not base64"));
    }
    Ok(HttpRequest {
        method: event.request_context.http.method.as_str().to_owned(),
        path: event.raw_path.unwrap_or_default(),
        query: event.raw_query_string.unwrap_or_default(),
        body: event.body.unwrap_or_default(),
    })
}

impl HttpRequest {
    /// The body as JSON (`{}` when empty and `empty_ok`).
    pub fn json(&self, empty_ok: bool) -> Result<Value, StepError> {
        if empty_ok && self.body.trim().is_empty() {
            return Ok(json!({}));
        }
        serde_json::from_str(&self.body).map_err(|e| invalid("body", format!("is not JSON: {e}")))
    }
}

/// An answer: a status and a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Value,
    /// Extra headers (`Allow`).
    pub headers: Vec<(&'static str, String)>,
}

impl Answer {
    /// `value` as the body of a `status` answer.
    pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Answer, StepError> {
        let body = serde_json::to_value(value)
            .map_err(|e| StepError::Internal(format!("encoding an answer: {e}")))?;
        Ok(Answer {
            status,
            body,
            headers: Vec::new(),
        })
    }

    /// A refusal with a message.
    pub fn refusal(status: u16, message: impl Into<String>) -> Answer {
        Answer {
            status,
            body: error_body(message.into(), Vec::new(), None),
            headers: Vec::new(),
        }
    }

    /// The API Gateway v2 response.
    pub fn into_response(self) -> Value {
        let mut headers = serde_json::Map::new();
        headers.insert("content-type".into(), json!("application/json"));
        for (k, v) in self.headers {
            headers.insert(k.into(), json!(v));
        }
        json!({
            "statusCode": self.status,
            "headers": headers,
            "body": self.body.to_string(),
        })
    }
}

fn error_body(
    message: String,
    errors: Vec<vending_domain::ValidationError>,
    error: Option<String>,
) -> Value {
    serde_json::to_value(ApiError {
        message,
        errors,
        error,
    })
    .unwrap_or_else(|_| json!({"message": "internal error"}))
}

/// A validation error on one field.
pub fn invalid(field: &str, reason: impl Into<String>) -> StepError {
    let mut e = ValidationErrors::default();
    e.push(field, reason);
    StepError::InvalidRequest(e)
}

/// A step error as an HTTP answer: the caller's fault is a 4xx with the fields, AWS's a 503.
pub fn refusal(e: &StepError) -> Answer {
    let (status, body) = match e {
        StepError::InvalidRequest(errors) => (
            400,
            error_body("invalid request".into(), errors.errors.clone(), None),
        ),
        StepError::Conflict(m) => (409, error_body(m.clone(), Vec::new(), None)),
        StepError::Throttled(_)
        | StepError::Unavailable(_)
        | StepError::ConcurrentModification(_) => (
            503,
            error_body(
                "try again shortly".into(),
                Vec::new(),
                Some(e.error_type().into()),
            ),
        ),
        _ => (
            500,
            error_body(
                "internal error".into(),
                Vec::new(),
                Some(e.error_type().into()),
            ),
        ),
    };
    Answer {
        status,
        body,
        headers: Vec::new(),
    }
}
