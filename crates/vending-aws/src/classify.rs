//! AWS errors to step errors, by error code.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use vending_domain::StepError;

/// Error codes that mean "slow down", across the services the adapters call.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
];

/// Error codes that mean "someone else changed it at the same time".
const CONCURRENT: &[&str] = &[
    "ConcurrentModificationException",
    "TransactionConflictException",
    "ResourceInUseException",
];

/// Error codes that mean "a limit is reached: a person must act".
const QUOTA: &[&str] = &[
    "LimitExceededException",
    "ServiceQuotaExceededException",
    "ConstraintViolationException",
    "AccountLimitExceededException",
    "VpcLimitExceeded",
];

/// Error codes that mean "not allowed": an IAM or trust policy, an SCP, a missing permission.
const DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "UnrecognizedClientException",
];

/// Error codes a brand-new account's services answer in its first moments: retry later.
const NOT_READY: &[&str] = &["OptInRequired", "PendingVerification"];

/// Error codes that mean AWS failed on its side.
const UNAVAILABLE: &[&str] = &[
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalServerError",
    "ServiceException",
    "InternalError",
];

/// Classifies a failed call by its AWS error code (or by the SDK's own failure kind).
/// `TransactionCanceledException` is not classified here: its meaning is in its cancellation
/// reasons, which the registry reads.
pub(crate) fn classify<E, R>(operation: &str, err: &SdkError<E, R>) -> StepError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = err.code();
    let detail = format!(
        "{operation}: {}: {}",
        code.unwrap_or("no error code"),
        err.message().unwrap_or("no message")
    );
    match code {
        Some(c) if THROTTLING.contains(&c) => StepError::Throttled(detail),
        Some(c) if CONCURRENT.contains(&c) => StepError::ConcurrentModification(detail),
        Some(c) if QUOTA.contains(&c) => StepError::QuotaExceeded(detail),
        Some(c) if UNAVAILABLE.contains(&c) => StepError::Unavailable(detail),
        Some(c) if DENIED.contains(&c) => StepError::AccessDenied(detail),
        Some(c) if NOT_READY.contains(&c) => StepError::NotReady(detail),
        None if matches!(
            err,
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_)
        ) =>
        {
            StepError::Unavailable(format!("{operation}: {}", aws_smithy_error_text(err)))
        }
        _ => StepError::Internal(detail),
    }
}

fn aws_smithy_error_text<E: std::error::Error + 'static, R: std::fmt::Debug>(
    err: &SdkError<E, R>,
) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;

    fn service_error(code: &str) -> SdkError<GetItemError, Response> {
        let meta = ErrorMetadata::builder().code(code).message("m").build();
        SdkError::service_error(
            GetItemError::generic(meta),
            Response::new(StatusCode::try_from(400).expect("status"), SdkBody::empty()),
        )
    }

    #[test]
    fn codes_map_to_stable_names() {
        for (code, name) in [
            ("ThrottlingException", "Throttled"),
            ("AccessDeniedException", "AccessDenied"),
            ("AccessDenied", "AccessDenied"),
            ("UnauthorizedOperation", "AccessDenied"),
            ("OptInRequired", "NotReady"),
            ("PendingVerification", "NotReady"),
            ("TransactionConflictException", "ConcurrentModification"),
            ("InternalFailure", "Unavailable"),
            ("ValidationException", "Internal"),
        ] {
            assert_eq!(
                classify("Op", &service_error(code)).error_type(),
                name,
                "{code}"
            );
        }
    }
}
