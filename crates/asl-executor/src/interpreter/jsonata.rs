//! JSONata states: `$states` (input and context) and the workflow's variables bound for every
//! expression, `Output` (the input when absent) and `Assign` evaluated together on the
//! variables as they were when the state was entered, and AWS's
//! `States.QueryEvaluationError` for an expression that fails or gives nothing.

use super::{At, Cursor, FailKind, Failure, Run, Step, in_state, plain};
use crate::definition::{JKind, JWait, JsonataState, Transition, parse_timestamp};
use crate::env::Vars;
use crate::jsonata::Host;
use crate::jsonata::template::{FieldError, JTemplate};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::time::Duration;

/// The executor's time and randomness for JSONata's `$now()`, `$millis()` and `$random()`.
struct Clock(DateTime<Utc>);

impl Host for Clock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }

    fn random(&self, seed: Option<f64>) -> f64 {
        crate::jsonata::SystemHost.random(seed)
    }

    fn uuid(&self) -> String {
        crate::jsonata::SystemHost.uuid()
    }
}

/// AWS's `States.QueryEvaluationError` in the state at `at`.
fn query_failure(at: At<'_>, detail: impl std::fmt::Display) -> Failure {
    in_state(at, "States.QueryEvaluationError", FailKind::Error, detail)
}

impl Run {
    /// Runs a JSONata state.
    pub(super) async fn run_jsonata(
        &self,
        at: At<'_>,
        state: &JsonataState,
        input: Value,
        vars: &mut Vars,
        cur: &mut Cursor,
    ) -> Result<Step, Failure> {
        let states = json!({"input": input, "context": self.context(at, None, None).to_json()});
        let visible = vars.visible();
        let mut bindings: Vec<(&str, &Value)> =
            visible.iter().map(|(k, v)| (k.as_str(), v)).collect();
        bindings.push(("states", &states));
        let host = Clock(cur.now);
        let eval = |t: &JTemplate, field: &str| {
            t.eval(field, &bindings, &host)
                .map_err(|e: FieldError| query_failure(at, e.cause()))
        };
        // Output and Assign of the state, or of the Choice rule that matched.
        let (next, output, assign) = match &state.kind {
            JKind::Pass { next } => (*next, &state.output, &state.assign),
            JKind::Succeed => (Transition::End, &state.output, &state.assign),
            JKind::Fail { error, cause } => {
                let text =
                    |t: &Option<JTemplate>, field: &str| -> Result<Option<String>, Failure> {
                        match t {
                            None => Ok(None),
                            Some(t) => Ok(Some(plain(&eval(t, field)?))),
                        }
                    };
                return Err(Failure::error_opt(
                    text(error, "Error")?,
                    text(cause, "Cause")?,
                ));
            }
            JKind::Wait { until, next } => {
                let delay = match until {
                    JWait::Seconds(s) => {
                        let v = eval(s, "Seconds")?;
                        Duration::from_secs(v.as_u64().ok_or_else(|| {
                            query_failure(at, format_args!("The Seconds field must evaluate to a non-negative integer, but was: {v}"))
                        })?)
                    }
                    JWait::Timestamp(t) => {
                        let text = plain(&eval(t, "Timestamp")?);
                        let when = parse_timestamp(&text).ok_or_else(|| {
                            query_failure(at, format_args!("The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {text}"))
                        })?;
                        (when.with_timezone(&Utc) - cur.now)
                            .to_std()
                            .unwrap_or_default()
                    }
                };
                self.advance(cur, delay).await?;
                (*next, &state.output, &state.assign)
            }
            JKind::Choice { choices, default } => {
                let mut chosen = None;
                for (i, c) in choices.iter().enumerate() {
                    match eval(&c.condition, &format!("Choices[{i}].Condition"))? {
                        Value::Bool(true) => {
                            chosen = Some((Transition::Next(c.next), &c.output, &c.assign));
                            break;
                        }
                        Value::Bool(false) => {}
                        other => {
                            return Err(query_failure(
                                at,
                                format_args!(
                                    "The Condition field must evaluate to a boolean, but was: {other}"
                                ),
                            ));
                        }
                    }
                }
                match (chosen, default) {
                    (Some(c), _) => c,
                    (None, Some(d)) => (Transition::Next(*d), &state.output, &state.assign),
                    (None, None) => {
                        return Err(Failure::error(
                            "States.NoChoiceMatched",
                            Some("No Matches!".to_owned()),
                        ));
                    }
                }
            }
        };
        let output = match output {
            Some(t) => eval(t, "Output")?,
            None => states["input"].clone(),
        };
        let assigned = match assign {
            Some(t) => match eval(t, "Assign")? {
                Value::Object(m) => Some(m),
                _ => None,
            },
            None => None,
        };
        if let Some(m) = assigned {
            vars.assign(m);
        }
        Ok(Step { output, next })
    }
}
