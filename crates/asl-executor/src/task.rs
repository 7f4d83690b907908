//! How Task states reach code: a resource (a Lambda ARN, `arn:aws:states:::lambda:invoke` with a
//! `FunctionName`, or any ARN or `${Substitution}`) resolves to an async handler.
//!
//! Handlers fail the way Lambda functions do, with an `errorType` and an `errorMessage`; the
//! error type becomes the error name that `Retry` and `Catch` match.

use futures::future::BoxFuture;
use serde_json::{Value, json};
use std::fmt;
use std::sync::Arc;

/// What a handler receives.
#[derive(Debug, Clone)]
pub struct TaskRequest {
    /// The payload: the state's effective parameters (for `lambda:invoke`, its `Payload`).
    pub payload: Value,
    /// The execution ARN.
    pub execution_arn: String,
    /// The execution name.
    pub execution_name: String,
    /// The Task state's name.
    pub state_name: String,
    /// The callback token of a `.waitForTaskToken` task.
    pub task_token: Option<String>,
}

/// A handler's failure, shaped like a Lambda function error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskError {
    /// The stable error name (`errorType`) that `ErrorEquals` matches.
    pub error_type: String,
    /// A human-readable message (`errorMessage`).
    pub error_message: String,
}

impl TaskError {
    /// A new error with a stable name and a message.
    pub fn new(error_type: impl Into<String>, error_message: impl Into<String>) -> TaskError {
        TaskError {
            error_type: error_type.into(),
            error_message: error_message.into(),
        }
    }

    /// The cause text Step Functions records for a Lambda error: the error as JSON.
    pub(crate) fn lambda_cause(&self) -> String {
        json!({"errorMessage": self.error_message, "errorType": self.error_type, "stackTrace": []})
            .to_string()
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.error_message)
    }
}

/// The code behind a Task resource.
pub trait TaskHandler: Send + Sync {
    /// Runs the task and returns its result.
    fn invoke(&self, request: TaskRequest) -> BoxFuture<'static, Result<Value, TaskError>>;
}

/// Adapts an async closure into a [`TaskHandler`].
pub fn handler_fn<F, Fut>(f: F) -> Arc<dyn TaskHandler>
where
    F: Fn(TaskRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, TaskError>> + Send + 'static,
{
    struct FnHandler<F>(F);
    impl<F, Fut> TaskHandler for FnHandler<F>
    where
        F: Fn(TaskRequest) -> Fut + Send + Sync,
        Fut: Future<Output = Result<Value, TaskError>> + Send + 'static,
    {
        fn invoke(&self, request: TaskRequest) -> BoxFuture<'static, Result<Value, TaskError>> {
            Box::pin((self.0)(request))
        }
    }
    Arc::new(FnHandler(f))
}

/// A child execution that ended, as DescribeExecution tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildExecution {
    /// Its ARN.
    pub execution_arn: String,
    /// Its name.
    pub name: String,
    /// Its state machine.
    pub state_machine_arn: String,
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: String,
    /// Its input.
    pub input: Value,
    /// Its output, when it succeeded.
    pub output: Option<Value>,
    /// Its error, when it did not.
    pub error: Option<String>,
    /// Its cause, when it did not.
    pub cause: Option<String>,
    /// When it started, in milliseconds since the epoch.
    pub start_millis: i64,
    /// When it stopped, in milliseconds since the epoch.
    pub stop_millis: i64,
}

impl ChildExecution {
    /// What a `startExecution.sync` (`v2`: `.sync:2`) task returns for it: DescribeExecution's
    /// shape, its input and output as JSON (`.sync:2`) or as JSON text (`.sync`); a child that
    /// did not succeed is `States.TaskFailed` with that shape, plus its error and cause, as the
    /// cause.
    pub fn task_result(&self, v2: bool) -> Result<Value, TaskError> {
        let as_text = |v: &Value| if v2 { v.clone() } else { json!(v.to_string()) };
        let mut describe = json!({
            "ExecutionArn": self.execution_arn, "Input": as_text(&self.input), "InputDetails": {"Included": true},
            "Name": self.name, "StartDate": self.start_millis, "StateMachineArn": self.state_machine_arn,
            "Status": self.status, "StopDate": self.stop_millis,
        });
        if let Some(o) = &self.output {
            describe["Output"] = as_text(o);
            describe["OutputDetails"] = json!({"Included": true});
        }
        if self.status == "SUCCEEDED" {
            Ok(describe)
        } else {
            describe["Error"] = json!(self.error);
            describe["Cause"] = json!(self.cause);
            Err(TaskError::new("States.TaskFailed", describe.to_string()))
        }
    }
}

/// The kinds of resource the executor understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ResourceKind {
    /// `arn:aws:lambda:...:function:NAME`: the payload is the input, the result is the output.
    LambdaArn { function: String },
    /// `arn:aws:states:::lambda:invoke`: `FunctionName` and `Payload` parameters, wrapped result.
    LambdaInvoke,
    /// `arn:aws:states:::states:startExecution` and its `.sync` variants.
    StartExecution { sync: SyncMode },
    /// Any other resource, matched exactly against the registered handlers.
    Other,
}

/// How a started child execution is awaited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SyncMode {
    /// Return at once with the child's ARN.
    No,
    /// `.sync`: wait; `Output` as a JSON string.
    V1,
    /// `.sync:2`: wait; `Output` as JSON.
    V2,
}

/// The integration pattern suffix of a service-integration resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pattern {
    RequestResponse,
    WaitForTaskToken,
}

/// Splits a resource into its kind and integration pattern.
pub(crate) fn classify(resource: &str) -> (ResourceKind, Pattern) {
    let (base, pattern) = match resource.strip_suffix(".waitForTaskToken") {
        Some(b) => (b, Pattern::WaitForTaskToken),
        None => (resource, Pattern::RequestResponse),
    };
    let kind = match base {
        "arn:aws:states:::lambda:invoke" => ResourceKind::LambdaInvoke,
        "arn:aws:states:::states:startExecution" => {
            ResourceKind::StartExecution { sync: SyncMode::No }
        }
        "arn:aws:states:::states:startExecution.sync" => {
            ResourceKind::StartExecution { sync: SyncMode::V1 }
        }
        "arn:aws:states:::states:startExecution.sync:2" => {
            ResourceKind::StartExecution { sync: SyncMode::V2 }
        }
        _ => match lambda_function_name(base) {
            Some(function) if base.starts_with("arn:aws:lambda:") => {
                ResourceKind::LambdaArn { function }
            }
            _ => ResourceKind::Other,
        },
    };
    (kind, pattern)
}

/// The function name in a Lambda function name, ARN or partial ARN (`NAME`, `NAME:alias`,
/// `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:alias]`).
pub(crate) fn lambda_function_name(name_or_arn: &str) -> Option<String> {
    let parts: Vec<&str> = name_or_arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", _, _, "function", name, ..] => Some((*name).to_owned()),
        [_, "function", name, ..] => Some((*name).to_owned()),
        [name] | [name, _] if !name.is_empty() => Some((*name).to_owned()),
        _ => None,
    }
}

/// The result `lambda:invoke` returns, wrapping the function's output as AWS does.
pub(crate) fn lambda_invoke_result(payload: Value, request_id: &str) -> Value {
    json!({
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {"X-Amz-Executed-Version": ["$LATEST"], "x-amzn-RequestId": [request_id], "Content-Type": ["application/json"]},
            "HttpHeaders": {"X-Amz-Executed-Version": "$LATEST", "x-amzn-RequestId": request_id, "Content-Type": "application/json"},
            "HttpStatusCode": 200
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_classified() {
        assert_eq!(
            classify("arn:aws:states:::lambda:invoke"),
            (ResourceKind::LambdaInvoke, Pattern::RequestResponse)
        );
        assert_eq!(
            classify("arn:aws:states:::lambda:invoke.waitForTaskToken"),
            (ResourceKind::LambdaInvoke, Pattern::WaitForTaskToken)
        );
        assert_eq!(
            classify("arn:aws:lambda:us-east-1:123456789012:function:normalize"),
            (
                ResourceKind::LambdaArn {
                    function: "normalize".into()
                },
                Pattern::RequestResponse
            )
        );
        assert_eq!(
            classify("arn:aws:states:::states:startExecution.sync:2").0,
            ResourceKind::StartExecution { sync: SyncMode::V2 }
        );
        assert_eq!(
            classify("arn:aws:states:::states:startExecution.sync").0,
            ResourceKind::StartExecution { sync: SyncMode::V1 }
        );
        assert_eq!(classify("${NormalizeFunctionArn}").0, ResourceKind::Other);
    }

    #[test]
    fn function_names_come_from_names_and_arns() {
        assert_eq!(lambda_function_name("f").as_deref(), Some("f"));
        assert_eq!(lambda_function_name("f:live").as_deref(), Some("f"));
        assert_eq!(
            lambda_function_name("123456789012:function:f").as_deref(),
            Some("f")
        );
        assert_eq!(
            lambda_function_name("arn:aws:lambda:eu-west-1:123456789012:function:f:3").as_deref(),
            Some("f")
        );
        assert_eq!(lambda_function_name(""), None);
    }
}
