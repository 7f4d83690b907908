//! Parallel and Map: branches and iterations run at once, each in its own scope and
//! cursor, their results gathered in order, failures tolerated as the state allows.

use super::jsonata::{JEnv, query_failure};
use super::{At, Cursor, FailKind, Failure, Run, details};
use crate::definition::{Io, Items, Limit, MapSpec, StateMachine};
use crate::env::{Env, Vars};
use crate::intrinsic::Resolve as _;
use crate::path::Path;
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use serde_json::{Value, json};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};

/// The most iterations an inline Map runs at once on AWS.
const INLINE_MAP_CONCURRENCY: usize = 40;

impl Run {
    pub(super) async fn parallel(
        &self,
        at: At<'_>,
        branches: &[Arc<StateMachine>],
        io: &Io,
        effective: Value,
        vars: &Vars,
        cur: &mut Cursor,
    ) -> Result<Value, Failure> {
        let input = match io.jsonata.as_ref().and_then(|j| j.arguments.as_ref()) {
            Some(arguments) => {
                let env = Env {
                    data: &effective,
                    context: self.context(at, None, None),
                    vars,
                };
                JEnv::new(at, &env, cur.now).eval(arguments, "Arguments")?
            }
            None => self.apply_template(at, io.parameters.as_ref(), effective, vars)?,
        };
        self.push(cur, "ParallelStateStarted", None);
        let start = *cur;
        let futures = branches.iter().map(|b| {
            let input = input.clone();
            let mut branch_vars = vars.child();
            async move {
                let mut c = start;
                let r = self.run_machine(b, input, &mut branch_vars, &mut c).await;
                (r, c)
            }
        });
        let results = futures::future::join_all(futures).await;
        let mut outputs = Vec::with_capacity(results.len());
        let mut failure = None;
        for (r, c) in results {
            cur.now = cur.now.max(c.now);
            match r {
                Ok(v) => outputs.push(v),
                Err(f) => {
                    if failure.is_none() {
                        failure = Some(f);
                    }
                }
            }
        }
        if let Some(f) = failure {
            self.push(cur, "ParallelStateFailed", None);
            return Err(f);
        }
        self.push(cur, "ParallelStateSucceeded", None);
        Ok(Value::Array(outputs))
    }

    pub(super) fn resolve_limit(
        &self,
        at: At<'_>,
        env: &Env<'_>,
        now: DateTime<Utc>,
        limit: &Limit,
        field: &str,
        float: bool,
    ) -> Result<f64, Failure> {
        match limit {
            Limit::Fixed(n) => Ok(*n),
            Limit::Expr(t) => {
                let n = JEnv::new(at, env, now).eval_number(t, field)?;
                if !float && n.fract() != 0.0 {
                    return Err(query_failure(
                        at,
                        format_args!("The {field} field must evaluate to an integer, but was: {n}"),
                    ));
                }
                Ok(n)
            }
            Limit::Path(p) => {
                let v = env.resolve(p).ok_or_else(|| {
                    self.runtime(
                        at,
                        format_args!(
                            "The {field}Path field refers to a value that does not exist: {p}"
                        ),
                    )
                })?;
                let parsed = match &v {
                    Value::Number(n) if float => n.as_f64(),
                    Value::Number(n) => n.as_i64().map(|i| i as f64),
                    Value::String(s) if float => s.trim().parse::<f64>().ok(),
                    Value::String(s) => s.trim().parse::<i64>().ok().map(|i| i as f64),
                    _ => None,
                };
                let kind = if float { "float" } else { "integer" };
                parsed.ok_or_else(|| self.runtime(at, format_args!("The {field}Path field refers to value \"{v}\" which is not a valid {kind}: {p}")))
            }
        }
    }

    /// The items a Map iterates over: `ItemsPath`'s or `Items`' array, or the input's.
    fn map_items(
        &self,
        at: At<'_>,
        items: &Items,
        env: &Env<'_>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Value>, Failure> {
        match items {
            Items::Path { items_path, .. } => {
                let found = match items_path {
                    None => env.data.clone(),
                    Some(p) => env.resolve(p).ok_or_else(|| self.runtime(at, format_args!("Invalid path '{p}' : No results for path: the ItemsPath does not match the input '{}'", env.data)))?,
                };
                let Value::Array(items) = found else {
                    let shown = items_path
                        .as_ref()
                        .map_or_else(|| "$".to_owned(), Path::to_string);
                    return Err(self.runtime(
                        at,
                        format_args!(
                            "Item selector {shown} does not reference a JSON array in the input"
                        ),
                    ));
                };
                Ok(items)
            }
            Items::Jsonata { items: Some(t), .. } => JEnv::new(at, env, now).eval_array(t, "Items"),
            Items::Jsonata { items: None, .. } => match env.data {
                Value::Array(a) => Ok(a.clone()),
                other => Err(query_failure(
                    at,
                    format_args!("Map state input must be an array but was: {other}"),
                )),
            },
        }
    }

    pub(super) async fn map(
        &self,
        at: At<'_>,
        spec: &MapSpec,
        effective: Value,
        vars: &Vars,
        cur: &mut Cursor,
    ) -> Result<Value, Failure> {
        let env = Env {
            data: &effective,
            context: self.context(at, None, None),
            vars,
        };
        let items = self.map_items(at, &spec.items, &env, cur.now)?;
        let max_conc = self.resolve_limit(
            at,
            &env,
            cur.now,
            &spec.max_concurrency,
            "MaxConcurrency",
            false,
        )?;
        if max_conc < 0.0 {
            return Err(self.runtime(at, "MaxConcurrency cannot be negative."));
        }
        let tolerated_count = spec
            .tolerated_count
            .as_ref()
            .map(|l| self.resolve_limit(at, &env, cur.now, l, "ToleratedFailureCount", false))
            .transpose()?;
        if tolerated_count.is_some_and(|c| c < 0.0) {
            return Err(self.runtime(at, "ToleratedFailureCount cannot be negative."));
        }
        let tolerated_pct = spec
            .tolerated_percentage
            .as_ref()
            .map(|l| self.resolve_limit(at, &env, cur.now, l, "ToleratedFailurePercentage", true))
            .transpose()?;
        if tolerated_pct.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
            return Err(self.runtime(at, "ToleratedFailurePercentage must be between 0 and 100."));
        }
        let tolerant = tolerated_count.is_some() || tolerated_pct.is_some();

        // Every item's input, computed before any iteration runs, as AWS does.
        let mut inputs = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let mut context = self.context(at, None, None);
            context.map_item = Some((index, item));
            let env = Env {
                data: &effective,
                context,
                vars,
            };
            inputs.push(match &spec.items {
                Items::Path {
                    selector: Some(sel),
                    ..
                } => sel
                    .eval(&env)
                    .map_err(|e| self.template_failure(at, e, &effective))?,
                Items::Jsonata {
                    selector: Some(sel),
                    ..
                } => JEnv::new(at, &env, cur.now).eval(sel, "ItemSelector")?,
                _ => item.clone(),
            });
        }
        let total = inputs.len();
        self.push(
            cur,
            "MapStateStarted",
            Some(("mapStateStartedEventDetails", json!({"length": total}))),
        );
        let start = *cur;
        // An inline Map runs at most 40 iterations at once on AWS, whatever MaxConcurrency says
        // ("Inline mode supports up to 40 concurrent iterations").
        let requested = usize::try_from(max_conc as u64)
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or(INLINE_MAP_CONCURRENCY);
        let slots = requested.min(INLINE_MAP_CONCURRENCY).min(total).max(1);
        let free_at: Mutex<BinaryHeap<Reverse<DateTime<Utc>>>> =
            Mutex::new((0..slots).map(|_| Reverse(start.now)).collect());
        let name = &at.state.name;
        let processor = &spec.processor;
        let iterations = inputs.into_iter().enumerate().map(|(index, input)| {
            let free_at = &free_at;
            let mut it_vars = vars.child();
            async move {
                let begin = free_at
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .pop()
                    .map_or(start.now, |Reverse(t)| t);
                let mut c = Cursor {
                    now: begin,
                    prev: start.prev,
                };
                self.push(
                    &mut c,
                    "MapIterationStarted",
                    Some((
                        "mapIterationStartedEventDetails",
                        details([
                            ("name", Value::String(name.to_string())),
                            ("index", Value::from(index)),
                        ]),
                    )),
                );
                let r = self
                    .run_machine(processor, input, &mut it_vars, &mut c)
                    .await;
                let ev = if r.is_ok() {
                    "MapIterationSucceeded"
                } else {
                    "MapIterationFailed"
                };
                let key = if r.is_ok() {
                    "mapIterationSucceededEventDetails"
                } else {
                    "mapIterationFailedEventDetails"
                };
                self.push(
                    &mut c,
                    ev,
                    Some((
                        key,
                        details([
                            ("name", Value::String(name.to_string())),
                            ("index", Value::from(index)),
                        ]),
                    )),
                );
                free_at
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(Reverse(c.now));
                (r, c.now)
            }
        });
        let mut stream = futures::stream::iter(iterations).buffered(slots);
        let mut outputs = Vec::with_capacity(total);
        let mut failures = 0usize;
        let mut end = start.now;
        while let Some((r, t)) = stream.next().await {
            end = end.max(t);
            match r {
                Ok(v) => outputs.push(v),
                Err(f) if f.kind != FailKind::Error || !tolerant => {
                    drop(stream);
                    cur.now = end;
                    self.push(cur, "MapStateFailed", None);
                    return Err(f);
                }
                Err(f) => {
                    failures += 1;
                    outputs.push(f.output());
                    let over_count = tolerated_count.is_none_or(|c| failures as f64 > c);
                    let over_pct =
                        tolerated_pct.is_none_or(|p| failures as f64 * 100.0 / total as f64 > p);
                    if over_count && over_pct {
                        drop(stream);
                        cur.now = end;
                        self.push(cur, "MapStateFailed", None);
                        return Err(Failure::error(
                            "States.ExceedToleratedFailureThreshold",
                            Some(
                                "The specified tolerated failure threshold was exceeded".to_owned(),
                            ),
                        ));
                    }
                }
            }
        }
        cur.now = end;
        self.push(cur, "MapStateSucceeded", None);
        Ok(Value::Array(outputs))
    }
}
