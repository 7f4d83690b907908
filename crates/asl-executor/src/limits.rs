//! AWS Step Functions' hard quotas that change what an execution does, enforced here so that
//! a workflow that runs locally cannot fail in AWS on one of them.
//!
//! Sources: "Step Functions service quotas"
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>), "Avoid
//! reaching the history quota" (<https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html>)
//! and the error names of "Handling errors in Step Functions workflows"
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>).

use serde_json::Value;

/// The largest input or output of a task, a state or an execution: 256 KiB, measured as
/// the payload's JSON text in UTF-8.
pub const MAX_PAYLOAD_BYTES: usize = 262_144;

/// The most events one execution's history holds. At 24,999 events the next one is the
/// last: `ExecutionSucceeded` if the execution ends there, else `ExecutionFailed`.
pub const MAX_HISTORY_EVENTS: usize = 25_000;

/// The error AWS raises for a payload above [`MAX_PAYLOAD_BYTES`]; `States.ALL` does not
/// catch it (only a catcher or retrier that names it does).
pub(crate) const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";

/// The size of `value`'s JSON text in bytes, counted without building the text.
pub fn payload_bytes(value: &Value) -> usize {
    /// A writer that only counts.
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a `Value` to a writer that never fails cannot fail.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// Where a payload is measured, for the failure's cause.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Payload<'a> {
    /// What a task's resource returned (`resource` names it).
    TaskResult { resource: &'a str },
    /// A Task state's input after its `Parameters`.
    TaskInput { state: &'a str },
    /// What a state passes on, after its `OutputPath`.
    StateOutput { state: &'a str },
}

/// `None` when a payload of `size` bytes of JSON fits, else the cause of its
/// `States.DataLimitExceeded`.
pub(crate) fn over_limit(size: usize, at: Payload<'_>) -> Option<String> {
    if size <= MAX_PAYLOAD_BYTES {
        return None;
    }
    Some(match at {
        Payload::TaskResult { resource } => format!(
            "The state/task '{resource}' returned a result with a size exceeding the maximum number of bytes service limit."
        ),
        Payload::TaskInput { state } => format!(
            "The state '{state}' has an input of {size} bytes after its Parameters, over the limit of {MAX_PAYLOAD_BYTES} bytes."
        ),
        Payload::StateOutput { state } => format!(
            "The state '{state}' has an output of {size} bytes, over the limit of {MAX_PAYLOAD_BYTES} bytes."
        ),
    })
}

/// The cause of the failure of an execution whose history reached [`MAX_HISTORY_EVENTS`]
/// before its end. AWS documents that the execution fails but not the error's name; the
/// executor names it `States.Runtime`, which no Retry or Catch handles.
pub(crate) fn history_full_cause() -> String {
    format!("The execution reached the limit of {MAX_HISTORY_EVENTS} events in its history.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_payload_is_measured_as_its_json_text_in_utf8() {
        for v in [
            json!(null),
            json!({"a": [1, 2.5, "x"], "b": {"c": true}}),
            json!("naïve – ✓"),
            json!("quote \" and \\ and \n"),
        ] {
            assert_eq!(payload_bytes(&v), v.to_string().len(), "{v}");
        }
    }

    #[test]
    fn the_limit_itself_fits_and_one_byte_more_does_not() {
        // A string of n ASCII characters is n + 2 bytes of JSON (its quotes).
        let at_limit = json!("x".repeat(MAX_PAYLOAD_BYTES - 2));
        assert_eq!(
            over_limit(
                payload_bytes(&at_limit),
                Payload::StateOutput { state: "S" }
            ),
            None
        );
        let over = json!("x".repeat(MAX_PAYLOAD_BYTES - 1));
        let cause = over_limit(payload_bytes(&over), Payload::StateOutput { state: "S" });
        assert!(cause.is_some_and(|c| c.contains("'S'")));
    }
}
