//! AWS errors to step errors, by error code.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};
use aws_smithy_runtime_api::http::Response as HttpResponse;
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
    // IAM Identity Center: "a conflict with a previous successful write"; retry.
    "ConflictException",
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
    "ServiceFailure",
    "InternalError",
    "InternalException",
    "InternalServiceError",
    "InternalServerException",
];

/// Classifies a failed call by its AWS error code (or by the SDK's own failure kind).
/// `TransactionCanceledException` is not classified here: its meaning is in its cancellation
/// reasons, which the registry reads.
pub(crate) fn classify<E>(operation: &str, err: &SdkError<E, HttpResponse>) -> StepError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = err.code();
    // A code not listed is read by its status: AWS answers throttling with 429 or 503 (S3's
    // SlowDown, EC2's RequestLimitExceeded) and its own failures with 5xx.
    let status = err.raw_response().map(|r| r.status().as_u16());
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
        _ if status == Some(429) => StepError::Throttled(detail),
        _ if status.is_some_and(|s| s >= 500) => StepError::Unavailable(detail),
        None if matches!(
            err,
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_)
        ) =>
        {
            StepError::Unavailable(format!(
                "{operation}: {}",
                vending_domain::error::source_chain(err)
            ))
        }
        _ => StepError::Internal(detail),
    }
}

/// A retry classifier for create calls that take no client token: an answer lost after the
/// resource was made must not be retried by the SDK (a second one would be made; the workflow
/// re-runs the step instead, which finds the first by its tags or name), but a throttled call
/// was refused before it was processed, so retrying it is safe and far cheaper than a step
/// retry. Every error other than throttling forbids the retry, whatever other classifiers say.
///
/// Written by hand: the SDK classifies by error kind only, with no way to say "throttling yes,
/// server errors no" for one operation.
pub(crate) struct ThrottlingOnly<E>(std::marker::PhantomData<fn() -> E>);

impl<E> std::fmt::Debug for ThrottlingOnly<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ThrottlingOnly")
    }
}

impl<E> ThrottlingOnly<E> {
    pub(crate) fn new() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<E> ClassifyRetry for ThrottlingOnly<E>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(error)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        let code = error
            .as_operation_error()
            .and_then(|e| e.downcast_ref::<E>())
            .and_then(ProvideErrorMetadata::code);
        match code {
            Some(c) if THROTTLING.contains(&c) => RetryAction::throttling_error(),
            _ => RetryAction::RetryForbidden,
        }
    }

    fn name(&self) -> &'static str {
        "throttling only"
    }
}

/// The retry configuration that goes with [`ThrottlingOnly`]: as many attempts as any call
/// ([`crate::clients::SDK_ATTEMPTS`]), which only a throttled answer uses.
pub(crate) fn throttled_create_retries() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard().with_max_attempts(crate::clients::SDK_ATTEMPTS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;

    fn service_error(code: &str) -> SdkError<GetItemError, Response> {
        answer(400, code)
    }

    fn answer(status: u16, code: &str) -> SdkError<GetItemError, Response> {
        let meta = ErrorMetadata::builder().code(code).message("m").build();
        SdkError::service_error(
            GetItemError::generic(meta),
            Response::new(
                StatusCode::try_from(status).expect("status"),
                SdkBody::empty(),
            ),
        )
    }

    #[test]
    fn a_code_not_listed_is_read_by_its_status() {
        assert_eq!(
            classify("Op", &answer(429, "SomeNewThrottle")).error_type(),
            "Throttled"
        );
        assert_eq!(
            classify("Op", &answer(502, "SomeNewFailure")).error_type(),
            "Unavailable"
        );
        assert_eq!(
            classify("Op", &answer(400, "SomeNewRefusal")).error_type(),
            "Internal"
        );
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
