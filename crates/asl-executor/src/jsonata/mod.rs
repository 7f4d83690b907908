//! JSONata 2.0, the query language AWS Step Functions runs for `QueryLanguage: "JSONata"`.
//!
//! Written here rather than taken from a crate: `docs/jsonata.md` has the measurement
//! (`jsonata-rs` agrees with the reference on 82 % of the JSONata test suite, reorders object
//! keys, prints numbers with fewer digits and panics on some inputs). The reference is the
//! JavaScript implementation, `jsonata@2.0.6` on npm; `tests/jsonata.rs` compares the two.
//!
//! `lexer` makes tokens, `parser` the AST, `eval` evaluates it over `value`s, `functions` is
//! the function library with AWS's additions. Time and randomness come from a [`Host`].

mod decimal_format;
mod eval;
mod functions;
mod lexer;
mod library;
mod parser;
mod picture_parsing;
mod pictures;
mod reshape;
pub(crate) mod template;
pub(crate) mod uses;
mod value;

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::rc::Rc;

/// A JSONata error: the reference's code (`T2001`, `D3030`, `S0201`, ...) and message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Error {
    /// The reference implementation's error code.
    pub code: &'static str,
    /// What went wrong, in the reference's words.
    pub message: String,
    /// Where in the expression (a character offset), when known.
    pub position: Option<usize>,
}

impl Error {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
            position: None,
        }
    }

    pub(crate) fn at(code: &'static str, position: usize, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
            position: Some(position),
        }
    }

    fn with_value(code: &'static str, message: impl Into<String>, value: &value::V) -> Error {
        let shown = match value {
            value::V::Str(s) => format!("\"{s}\""),
            value::V::Num(n) => value::js_number(*n),
            other => functions::string(other).unwrap_or_default(),
        };
        Error::new(code, format!("{}: {shown}", message.into()))
    }
}

/// Where an evaluation gets the time and randomness from: the executor's virtual clock and
/// seeded source.
pub trait Host {
    /// `$now()` and `$millis()`.
    fn now(&self) -> DateTime<Utc>;
    /// `$random()`: a number in `[0, 1)`; with a seed, the same number for the same seed.
    fn random(&self, seed: Option<f64>) -> f64;
    /// `$uuid()`.
    fn uuid(&self) -> String;
}

/// The system clock and a fresh random source: for tools, not for executions.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemHost;

impl Host for SystemHost {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn random(&self, seed: Option<f64>) -> f64 {
        use rand::{Rng as _, SeedableRng as _};
        match seed {
            Some(s) => rand::rngs::StdRng::seed_from_u64(s.to_bits()).random(),
            None => rand::rng().random(),
        }
    }

    fn uuid(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// A parsed expression, ready to evaluate many times.
#[derive(Debug, Clone)]
pub struct Expression {
    root: parser::Node,
    uses: uses::Uses,
}

impl Expression {
    /// Parses `text`; a syntax error carries the reference's `S0...` code.
    pub fn parse(text: &str) -> Result<Expression, Error> {
        let root = parser::parse(lexer::tokens(text)?)?;
        Ok(Expression {
            uses: uses::Uses::of(&root),
            root,
        })
    }

    /// The variables the expression may read.
    pub(crate) fn uses(&self) -> &uses::Uses {
        &self.uses
    }

    /// Evaluates the expression on `input` (JSONata's `$` and `$$`), with `bindings` as
    /// variables (`$states`, say). `None` is JSONata's `undefined`.
    pub fn evaluate(
        &self,
        input: Option<&Value>,
        bindings: &[(&str, &Value)],
        host: &dyn Host,
    ) -> Result<Option<Value>, Error> {
        Ok(match self.outcome(input, bindings, host)? {
            Outcome::Value(v) => Some(v),
            Outcome::Undefined => None,
            Outcome::Function => Some(Value::String(String::new())),
        })
    }

    /// Evaluates like [`Expression::evaluate`], telling a function result apart (the reference
    /// turns one into `""` in JSON; a state's field refuses it).
    pub(crate) fn outcome(
        &self,
        input: Option<&Value>,
        bindings: &[(&str, &Value)],
        host: &dyn Host,
    ) -> Result<Outcome, Error> {
        let input = input.map(value::V::from_json);
        let frame = Rc::new(eval::Frame::default());
        for (name, v) in bindings {
            frame.bind(name, value::V::from_json(v));
        }
        let cx = eval::Cx::new(input.clone(), frame.clone(), host);
        let result = eval::eval(&self.root, input.as_ref(), &frame, &cx);
        let outcome = match result {
            Err(e) => Err(e),
            Ok(None) => Ok(Outcome::Undefined),
            Ok(Some(value::V::Func(_))) => Ok(Outcome::Function),
            Ok(Some(v)) => Ok(Outcome::Value(v.to_json())),
        };
        cx.release();
        outcome
    }
}

/// What an expression gave.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    Value(Value),
    /// JSONata's `undefined`.
    Undefined,
    /// A function, which JSON cannot hold.
    Function,
}

/// Parses and evaluates `text` once, on the system clock.
pub fn evaluate(text: &str, input: Option<&Value>) -> Result<Option<Value>, Error> {
    Expression::parse(text)?.evaluate(input, &[], &SystemHost)
}
