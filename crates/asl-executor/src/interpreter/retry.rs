//! Retry and Catch: which rule matches an error, how long a retry waits, and the loop that
//! runs one attempt of a Task, Parallel or Map state after another.

use super::jsonata::JEnv;
use super::{At, Attempt, Cursor, FailKind, Failure, Run, Step};
use crate::definition::{Io, Jitter, Retrier, Transition};
use crate::env::{Env, Vars};
use crate::limits::DATA_LIMIT_EXCEEDED;
use serde_json::Value;
use std::time::Duration;

/// Matches an error name against one `ErrorEquals` entry.
pub(crate) fn error_matches(pattern: &str, error: Option<&str>) -> bool {
    match pattern {
        "States.ALL" => error != Some(DATA_LIMIT_EXCEEDED),
        "States.TaskFailed" => error.is_some_and(|e| {
            e != "States.Timeout" && e != "States.HeartbeatTimeout" && e != "States.Runtime"
        }),
        p => error == Some(p),
    }
}

/// The delay before retry number `attempt` (0-based) of `r`, with `random` in `[0, 1)` for jitter.
pub(crate) fn retry_delay(r: &Retrier, attempt: u32, random: f64) -> Duration {
    let mut secs = r.interval_seconds as f64
        * r.backoff_rate
            .powi(i32::try_from(attempt).unwrap_or(i32::MAX));
    if let Some(max) = r.max_delay_seconds {
        secs = secs.min(max as f64);
    }
    if r.jitter == Jitter::Full {
        secs *= random;
    }
    Duration::from_secs_f64(secs.clamp(0.0, 99_999_999.0))
}

impl Run {
    /// Runs one attempt of a Task, Parallel or Map state under its Retry and Catch rules.
    pub(super) async fn with_retry(
        &self,
        at: At<'_>,
        io: &Io,
        what: Attempt<'_>,
        raw_input: Value,
        vars: &mut Vars,
        cur: &mut Cursor,
    ) -> Result<Step, Failure> {
        let effective = self.input_view(at, vars, &raw_input)?.into_owned();
        let mut counts = vec![0u32; io.retry.len()];
        let mut retries = 0u32;
        loop {
            let outcome = match what {
                // Boxed so that the common path (Pass, Choice, Wait) carries a small future.
                Attempt::Task(spec) => {
                    Box::pin(self.task(at, spec, effective.clone(), vars, cur, retries)).await
                }
                Attempt::Parallel(branches) => {
                    Box::pin(self.parallel(at, branches, io, effective.clone(), vars, cur)).await
                }
                Attempt::Map(spec) => {
                    Box::pin(self.map(at, spec, effective.clone(), vars, cur)).await
                }
            };
            let failure = match outcome {
                Ok(result) => match &io.jsonata {
                    None => return self.finish(at, io, raw_input, result, vars),
                    Some(j) => {
                        let env = Env {
                            data: &raw_input,
                            context: self.context(at, None, None),
                            vars,
                        };
                        let jenv = JEnv::new(at, &env, cur.now).with("result", result.clone());
                        let ending =
                            jenv.finish(j.output.as_ref(), j.assign.as_ref(), result, io.next)?;
                        return Ok(ending.apply(vars));
                    }
                },
                Err(f) => f,
            };
            if failure.kind != FailKind::Error {
                return Err(failure);
            }
            let retrier = io.retry.iter().position(|r| {
                r.error_equals
                    .iter()
                    .any(|p| error_matches(p, failure.error.as_deref()))
            });
            if let Some(i) = retrier
                && counts[i] < io.retry[i].max_attempts
            {
                let delay = retry_delay(&io.retry[i], counts[i], rand::random::<f64>());
                counts[i] += 1;
                retries += 1;
                self.advance(cur, delay).await?;
                continue;
            }
            let Some(catcher) = io.catch.iter().find(|c| {
                c.error_equals
                    .iter()
                    .any(|p| error_matches(p, failure.error.as_deref()))
            }) else {
                return Err(failure);
            };
            let error_output = failure.output();
            if let Some(j) = &catcher.jsonata {
                let env = Env {
                    data: &raw_input,
                    context: self.context(at, None, None),
                    vars,
                };
                let jenv = JEnv::new(at, &env, cur.now).with("errorOutput", error_output.clone());
                let ending = jenv.finish(
                    j.output.as_ref(),
                    j.assign.as_ref(),
                    error_output,
                    Transition::Next(catcher.next),
                )?;
                return Ok(ending.apply(vars));
            }
            let assigned = self.eval_assign(at, catcher.assign.as_ref(), &error_output, vars)?;
            let output =
                self.apply_result_path(at, &catcher.result_path, raw_input, error_output)?;
            if let Some(a) = assigned {
                vars.assign(a);
            }
            return Ok(Step {
                output,
                next: Transition::Next(catcher.next),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retrier(interval: u64, backoff: f64, max_delay: Option<u64>, jitter: Jitter) -> Retrier {
        Retrier {
            error_equals: vec!["X".into()],
            interval_seconds: interval,
            max_attempts: 5,
            backoff_rate: backoff,
            max_delay_seconds: max_delay,
            jitter,
        }
    }

    #[test]
    fn backoff_arithmetic_matches_the_documentation() {
        // IntervalSeconds 3, BackoffRate 2 waits 3, 6, 12, 24 seconds (AWS error-handling guide).
        let r = retrier(3, 2.0, None, Jitter::None);
        let waits: Vec<u64> = (0..4).map(|a| retry_delay(&r, a, 0.5).as_secs()).collect();
        assert_eq!(waits, [3, 6, 12, 24]);
        // MaxDelaySeconds caps the growth.
        let capped = retrier(3, 2.0, Some(10), Jitter::None);
        let waits: Vec<u64> = (0..4)
            .map(|a| retry_delay(&capped, a, 0.5).as_secs())
            .collect();
        assert_eq!(waits, [3, 6, 10, 10]);
        // Full jitter scales the delay by a random factor in [0, 1).
        let jittered = retrier(3, 2.0, Some(10), Jitter::Full);
        assert_eq!(retry_delay(&jittered, 2, 0.5), Duration::from_secs(5));
        assert_eq!(retry_delay(&jittered, 2, 0.0), Duration::ZERO);
    }

    #[test]
    fn error_names_match_as_aws_documents() {
        assert!(error_matches("States.ALL", Some("Anything")));
        assert!(error_matches("States.ALL", None));
        assert!(!error_matches(
            "States.ALL",
            Some("States.DataLimitExceeded")
        ));
        assert!(error_matches(
            "States.TaskFailed",
            Some("Lambda.ServiceException")
        ));
        assert!(!error_matches("States.TaskFailed", Some("States.Timeout")));
        assert!(error_matches("Throttled", Some("Throttled")));
        assert!(!error_matches("State.ALL", Some("Throttled")));
    }
}
