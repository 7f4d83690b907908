//! The portal's function behind every route of the HTTP API (IAM authorization; a Backstage
//! software template and `vend` call it): `POST /tenants` (`submit`), `GET /tenants` and
//! `GET /tenants/{tenantId}` (`read`), `POST /tenants/{tenantId}/rerun` (`rerun`), `POST /reruns`
//! (`reruns`, a batch workflow), `POST /plans` (`plan`, read-only), `DELETE /tenants/{tenantId}`
//! (`offboard`, the offboarding workflow). The routes
//! are `vending_domain::api::ROUTES`; an unknown path is a 404 and a known path with another
//! method a 405, and no bad input gets a 5xx.
//!
//! A request body is validated with the domain's own rules (a bad one gets a 400 with every
//! bad field, and nothing is recorded or started), the tenant's namespace scope is claimed
//! (another tenant's overlapping it is a 400 naming `tenantId`), and the request is recorded
//! by its id: the same id with another body is a 409. Then the workflow starts under a name
//! derived from the request id, with the body as input; the API Gateway event never enters
//! the workflow. Submitting the same request twice starts nothing new; submitting it again
//! after its run FAILED starts a new attempt (`portal-<requestId>-<attempt>`) and says so.

mod offboard;
mod plan;
mod read;
mod rerun;
mod reruns;
mod submit;

use serde_json::Value;
use vending_domain::api::{Endpoint, Unrouted, route};
use vending_domain::ports::{Registry, Workflow};
use vending_domain::{PlatformConfig, StepError};
use vending_runtime::http::{self, Answer, refusal};

/// The execution name of a request's attempt: its id (already restricted to letters, digits,
/// `-` and `_`, at most 64 characters) under a fixed prefix, and the attempt after the first.
pub fn execution_name(request_id: &str, attempt: u32) -> String {
    if attempt <= 1 {
        format!("portal-{request_id}")
    } else {
        format!("portal-{request_id}-{attempt}")
    }
}

async fn serve<R: Registry, W: Workflow>(
    registry: &R,
    workflow: &W,
    config: &PlatformConfig,
    event: &Value,
) -> Result<Answer, StepError> {
    let request = http::read(event)?;
    let endpoint = match route(&request.method, &request.path) {
        Ok(endpoint) => endpoint,
        Err(Unrouted::NotFound) => {
            return Ok(Answer::refusal(
                404,
                format!("no route for {} {}", request.method, request.path),
            ));
        }
        Err(Unrouted::MethodNotAllowed(allowed)) => {
            let mut answer = Answer::refusal(
                405,
                format!(
                    "{} {} is not served (allowed: {})",
                    request.method,
                    request.path,
                    allowed.join(", ")
                ),
            );
            answer.headers.push(("allow", allowed.join(", ")));
            return Ok(answer);
        }
    };
    match endpoint {
        Endpoint::Request => {
            submit::submit(registry, workflow, config, &request.json(false)?).await
        }
        Endpoint::List => read::list(registry, &request.query).await,
        Endpoint::Get(id) => read::get(registry, workflow, &id).await,
        Endpoint::Rerun(id) => rerun::rerun(registry, workflow, &id, &request.json(true)?).await,
        Endpoint::Plan => plan::plan(registry, config, &request.json(false)?).await,
        Endpoint::Reruns => reruns::reruns(registry, workflow, &request.json(false)?).await,
        Endpoint::Offboard(id) => {
            offboard::offboard(registry, workflow, config, &id, &request.json(true)?).await
        }
        // API Gateway routes drift to InspectTenant; this function never holds what it reads.
        Endpoint::Drift(_) => Ok(Answer::refusal(
            404,
            "GET /tenants/{tenantId}/drift is served by the InspectTenant function",
        )),
    }
}

/// The Lambda payload (an HTTP API v2 event) to an HTTP API v2 response.
pub async fn handle<R: Registry, W: Workflow>(
    registry: &R,
    workflow: &W,
    config: &PlatformConfig,
    event: Value,
) -> Value {
    match serve(registry, workflow, config, &event).await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::warn!(error = %e, "request refused");
            refusal(&e)
        }
    }
    .into_response()
}
