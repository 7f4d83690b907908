//! Errors: field-level validation errors for bad input, and step errors whose names are the
//! stable `errorType`s the workflow definition's Retry and Catch match.

use serde::Serialize;
use std::fmt;

/// One rejected field and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ValidationError {
    /// The field, as a dotted path in the request (`network.prefixLength`, `tags.CostCenter`).
    pub field: String,
    /// Why it was rejected, in a sentence.
    pub reason: String,
}

impl ValidationError {
    /// A new error for `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> ValidationError {
        ValidationError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// An error and its sources, in one line (`a: b: c`): what an SDK's or a client's error says
/// only in its chain (a connection refused under a dispatch failure, say).
pub fn source_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Every problem found in one input, so a user can fix them all at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}", .errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct ValidationErrors {
    /// The problems, in the order they were found.
    pub errors: Vec<ValidationError>,
}

impl ValidationErrors {
    /// `Ok(value)` when nothing was found, else the errors.
    pub fn into_result<T>(self, value: T) -> Result<T, ValidationErrors> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// Records a problem.
    pub fn push(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.errors.push(ValidationError::new(field, reason));
    }

    /// Records the outcome of a check and returns its value when it passed.
    pub fn check<T>(&mut self, result: Result<T, ValidationError>) -> Option<T> {
        result.map_err(|e| self.errors.push(e)).ok()
    }
}

/// How a workflow step fails. Each variant has a stable name (its `errorType`) that the
/// definition's `Retry` and `Catch` match; never rename one without changing the definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// The input broke a rule; retrying cannot help.
    #[error("invalid request: {0}")]
    InvalidRequest(ValidationErrors),
    /// AWS throttled the call: retry with backoff.
    #[error("throttled: {0}")]
    Throttled(String),
    /// Someone else changed the resource at the same time: retry.
    #[error("concurrent modification: {0}")]
    ConcurrentModification(String),
    /// AWS failed or could not be reached (a 5xx, a timeout): retry with backoff.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A resource the step depends on is still being made (a transit gateway attachment that
    /// is pending): retry later.
    #[error("not ready: {0}")]
    NotReady(String),
    /// A quota or pool is exhausted: a person must act.
    #[error("quota exceeded: {0}")]
    QuotaExceeded(String),
    /// A resource exists that this service did not create (its tags say otherwise).
    #[error("conflict: {0}")]
    Conflict(String),
    /// AWS refused the call or the role to assume (an IAM policy, a trust policy, an SCP).
    /// Retried a little for a brand-new account, whose member role may not be usable yet.
    #[error("access denied: {0}")]
    AccessDenied(String),
    /// Anything else, with the detail for the operator.
    #[error("internal error: {0}")]
    Internal(String),
}

impl StepError {
    /// The stable error name, reported as the Lambda `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            StepError::InvalidRequest(_) => "InvalidRequest",
            StepError::Throttled(_) => "Throttled",
            StepError::ConcurrentModification(_) => "ConcurrentModification",
            StepError::Unavailable(_) => "Unavailable",
            StepError::NotReady(_) => "NotReady",
            StepError::QuotaExceeded(_) => "QuotaExceeded",
            StepError::Conflict(_) => "Conflict",
            StepError::AccessDenied(_) => "AccessDenied",
            StepError::Internal(_) => "Internal",
        }
    }

    /// Every stable name, for checking the workflow definition against them.
    pub const NAMES: [&'static str; 9] = [
        "InvalidRequest",
        "Throttled",
        "ConcurrentModification",
        "Unavailable",
        "NotReady",
        "QuotaExceeded",
        "Conflict",
        "AccessDenied",
        "Internal",
    ];
}

impl From<ValidationErrors> for StepError {
    fn from(e: ValidationErrors) -> StepError {
        StepError::InvalidRequest(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_listed_stable_name() {
        let all = [
            StepError::InvalidRequest(ValidationErrors::default()),
            StepError::Throttled(String::new()),
            StepError::ConcurrentModification(String::new()),
            StepError::Unavailable(String::new()),
            StepError::NotReady(String::new()),
            StepError::QuotaExceeded(String::new()),
            StepError::Conflict(String::new()),
            StepError::AccessDenied(String::new()),
            StepError::Internal(String::new()),
        ];
        let names: Vec<&str> = all.iter().map(StepError::error_type).collect();
        assert_eq!(names, StepError::NAMES);
    }

    #[test]
    fn validation_errors_list_every_field() {
        let mut errs = ValidationErrors::default();
        errs.push("tenantId", "must be a DNS-1123 label");
        errs.push("owners", "needs at least one principal");
        assert_eq!(
            errs.to_string(),
            "tenantId: must be a DNS-1123 label; owners: needs at least one principal"
        );
        let step = StepError::InvalidRequest(errs.clone());
        assert_eq!(
            step.to_string(),
            "invalid request: tenantId: must be a DNS-1123 label; owners: needs at least one principal",
            "said once"
        );
        assert!(errs.into_result(()).is_err());
    }
}
