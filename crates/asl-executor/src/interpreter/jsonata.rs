//! JSONata states and fields: `$states` (input, context, and a Task, Parallel or Map's result
//! or error output) and the workflow's variables bound for every expression, `Output` (the
//! input, result or error output when absent) and `Assign` evaluated together on the
//! variables as they were when the state was entered, and AWS's
//! `States.QueryEvaluationError` for an expression that fails or gives nothing.

use super::{At, Cursor, FailKind, Failure, Run, Step, in_state, plain};
use crate::definition::{JKind, JWait, JsonataState, Transition, parse_timestamp};
use crate::env::{Env, Vars};
use crate::jsonata::Host;
use crate::jsonata::template::{FieldError, JTemplate};
use crate::jsonata::uses::Uses;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::sync::OnceLock;
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

/// A JSONata state's end, its new variables not yet assigned.
pub(super) struct Ending {
    step: Step,
    assigned: Option<Map<String, Value>>,
}

impl Ending {
    /// Assigns the new variables and gives the step.
    pub(super) fn apply(self, vars: &mut Vars) -> Step {
        if let Some(m) = self.assigned {
            vars.assign(m);
        }
        self.step
    }
}

/// AWS's `States.QueryEvaluationError` in the state at `at`.
pub(super) fn query_failure(at: At<'_>, detail: impl std::fmt::Display) -> Failure {
    in_state(at, "States.QueryEvaluationError", FailKind::Error, detail)
}

/// What the JSONata fields of one state see: `$states` and the workflow's variables. Each
/// evaluation binds only the variables its expressions may read, and `$states` (built once)
/// holds `context` only for expressions that may read it.
pub(super) struct JEnv<'a> {
    at: At<'a>,
    env: Env<'a>,
    /// `$states.result` or `$states.errorOutput`.
    extra: Option<(&'static str, Value)>,
    with_context: OnceLock<Value>,
    without_context: OnceLock<Value>,
    clock: Clock,
}

impl<'a> JEnv<'a> {
    /// `$states.input` is `env`'s data, `$states.context` its context object; `now` is the
    /// branch's clock.
    pub(super) fn new(at: At<'a>, env: &Env<'a>, now: DateTime<Utc>) -> JEnv<'a> {
        JEnv {
            at,
            env: *env,
            extra: None,
            with_context: OnceLock::new(),
            without_context: OnceLock::new(),
            clock: Clock(now),
        }
    }

    /// Adds `$states.result` or `$states.errorOutput`.
    pub(super) fn with(mut self, key: &'static str, value: Value) -> JEnv<'a> {
        self.extra = Some((key, value));
        self
    }

    fn states(&self, context: bool) -> &Value {
        let cell = if context {
            &self.with_context
        } else {
            &self.without_context
        };
        cell.get_or_init(|| {
            let mut states = Map::new();
            states.insert("input".into(), self.env.data.clone());
            if context {
                states.insert("context".into(), self.env.context.to_json());
            }
            if let Some((k, v)) = &self.extra {
                states.insert((*k).into(), v.clone());
            }
            Value::Object(states)
        })
    }

    fn bindings<T>(&self, t: &JTemplate, f: impl FnOnce(&[(&str, &Value)]) -> T) -> T {
        let merged;
        let uses: &Uses = match t {
            JTemplate::Expr { expr, .. } => expr.uses(),
            _ => {
                let mut u = Uses::default();
                t.uses(&mut u);
                merged = u;
                &merged
            }
        };
        let visible = uses.all.then(|| self.env.vars.visible());
        let mut bindings: Vec<(&str, &Value)> = match &visible {
            Some(all) => all.iter().map(|(k, v)| (k.as_str(), v)).collect(),
            None => uses
                .names
                .iter()
                .filter(|n| *n != "states")
                .filter_map(|n| self.env.vars.get(n).map(|v| (n.as_str(), v)))
                .collect(),
        };
        if uses.reads("states") {
            bindings.push(("states", self.states(uses.all || uses.context)));
        }
        f(&bindings)
    }

    fn field_failure(&self, e: &FieldError) -> Failure {
        query_failure(self.at, e.cause())
    }

    /// Evaluates the field `field`.
    pub(super) fn eval(&self, t: &JTemplate, field: &str) -> Result<Value, Failure> {
        self.bindings(t, |b| t.eval(field, b, &self.clock))
            .map_err(|e| self.field_failure(&e))
    }

    /// Evaluates the field `field`, which must give an array.
    pub(super) fn eval_array(&self, t: &JTemplate, field: &str) -> Result<Vec<Value>, Failure> {
        self.bindings(t, |b| t.eval_array(field, b, &self.clock))
            .map_err(|e| self.field_failure(&e))
    }

    /// A state's end: `Output` (else `default`) and `Assign`, both on the variables as they
    /// are; the caller then assigns the new variables ([`Ending::apply`]).
    pub(super) fn finish(
        &self,
        output: Option<&JTemplate>,
        assign: Option<&JTemplate>,
        default: Value,
        next: Transition,
    ) -> Result<Ending, Failure> {
        let output = match output {
            Some(t) => self.eval(t, "Output")?,
            None => default,
        };
        let assigned = match assign {
            Some(t) => match self.eval(t, "Assign")? {
                Value::Object(m) => Some(m),
                _ => None,
            },
            None => None,
        };
        Ok(Ending {
            step: Step { output, next },
            assigned,
        })
    }

    /// A number field (`TimeoutSeconds`, `MaxConcurrency`, ...), which must give a number.
    pub(super) fn eval_number(&self, t: &JTemplate, field: &str) -> Result<f64, Failure> {
        let v = self.eval(t, field)?;
        v.as_f64().ok_or_else(|| {
            query_failure(
                self.at,
                format_args!("The {field} field must evaluate to a number, but was: {v}"),
            )
        })
    }
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
        let env = Env {
            data: &input,
            context: self.context(at, None, None),
            vars,
        };
        let jenv = JEnv::new(at, &env, cur.now);
        let eval = |t: &JTemplate, field: &str| jenv.eval(t, field);
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
        let ending = jenv.finish(output.as_ref(), assign.as_ref(), input.clone(), next)?;
        Ok(ending.apply(vars))
    }
}
