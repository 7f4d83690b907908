//! A field of a JSONata state (`Output`, `Assign`, `Arguments`, `Items`, `Condition`, ...):
//! JSON in which a string `{% expression %}` is a JSONata expression, compiled once when the
//! definition loads.

use super::uses::Uses;
use super::{Expression, Host, Outcome};
use serde_json::{Map, Value};

#[derive(Debug, Clone)]
pub(crate) enum JTemplate {
    Literal(Value),
    Expr { text: String, expr: Box<Expression> },
    Array(Vec<JTemplate>),
    Object(Vec<(String, JTemplate)>),
}

/// Why a field could not be evaluated: what AWS's `States.QueryEvaluationError` cause says
/// after "The JSONata expression '...' specified for the field '...'".
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldError {
    /// The expression's text.
    pub(crate) expr: String,
    /// The field, with the keys inside it: `Output/result`.
    pub(crate) field: String,
    pub(crate) what: FieldFailure,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldFailure {
    /// The expression gave nothing.
    Undefined,
    /// The expression raised an error.
    Error(super::Error),
    /// The expression gave a function.
    Function,
    /// The expression gave a value of another type than the field takes.
    Type {
        expected: &'static str,
        got: Box<Value>,
    },
}

impl FieldError {
    /// AWS's words, after the state's "An error occurred while executing the state ..." part.
    pub(crate) fn cause(&self) -> String {
        match &self.what {
            FieldFailure::Undefined => format!(
                "The JSONata expression '{}' specified for the field '{}' returned nothing (undefined).",
                self.expr, self.field
            ),
            FieldFailure::Error(e) => format!(
                "The JSONata expression '{}' specified for the field '{}' threw an error during evaluation. {e}",
                self.expr, self.field
            ),
            FieldFailure::Function => format!(
                "The JSONata expression '{}' specified for the field '{}' returned an unsupported result type.",
                self.expr, self.field
            ),
            FieldFailure::Type { expected, got } => format!(
                "The JSONata expression '{}' specified for the field '{}' returned an unexpected result type. Expected '{expected}', but was '{}' for value: {got}",
                self.expr,
                self.field,
                json_type(got)
            ),
        }
    }
}

/// The text of an expression string, when `s` is one.
/// (exactly: `" {% x %} "`, with spaces around, is a plain string).
pub(crate) fn expression_text(s: &str) -> Option<&str> {
    s.strip_prefix("{%")?.strip_suffix("%}").map(str::trim)
}

impl JTemplate {
    /// Compiles `v`; `Err` names the key (`a/b`) and what is wrong.
    pub(crate) fn compile(v: &Value) -> Result<JTemplate, (String, String)> {
        Ok(match v {
            Value::String(s) => match expression_text(s) {
                Some(text) => JTemplate::Expr {
                    text: text.to_owned(),
                    expr: Box::new(Expression::parse(text).map_err(|e| {
                        (
                            String::new(),
                            format!("the JSONata expression '{text}' is not valid: {e}"),
                        )
                    })?),
                },
                None => JTemplate::Literal(v.clone()),
            },
            Value::Array(a) => JTemplate::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, x)| {
                        JTemplate::compile(x).map_err(|(k, r)| (join(&i.to_string(), &k), r))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(m) => JTemplate::Object(
                m.iter()
                    .map(|(k, x)| {
                        JTemplate::compile(x)
                            .map(|t| (k.clone(), t))
                            .map_err(|(p, r)| (join(k, &p), r))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            other => JTemplate::Literal(other.clone()),
        })
    }

    /// Evaluates the field named `field`, with `bindings` (`states` and the workflow's
    /// variables) as JSONata variables.
    pub(crate) fn eval(
        &self,
        field: &str,
        bindings: &[(&str, &Value)],
        host: &dyn Host,
    ) -> Result<Value, FieldError> {
        match self {
            JTemplate::Literal(v) => Ok(v.clone()),
            JTemplate::Expr { text, expr } => {
                let what = match expr.outcome(None, bindings, host) {
                    Ok(Outcome::Value(v)) => return Ok(v),
                    Ok(Outcome::Undefined) => FieldFailure::Undefined,
                    Ok(Outcome::Function) => FieldFailure::Function,
                    Err(e) => FieldFailure::Error(e),
                };
                Err(FieldError {
                    expr: text.clone(),
                    field: field.to_owned(),
                    what,
                })
            }
            JTemplate::Array(items) => Ok(Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, t)| t.eval(&format!("{field}/{i}"), bindings, host))
                    .collect::<Result<_, _>>()?,
            )),
            JTemplate::Object(pairs) => {
                let mut m = Map::new();
                for (k, t) in pairs {
                    m.insert(k.clone(), t.eval(&format!("{field}/{k}"), bindings, host)?);
                }
                Ok(Value::Object(m))
            }
        }
    }

    /// Adds the variables the field's expressions may read to `out`.
    pub(crate) fn uses(&self, out: &mut Uses) {
        match self {
            JTemplate::Literal(_) => {}
            JTemplate::Expr { expr, .. } => out.merge(expr.uses()),
            JTemplate::Array(items) => items.iter().for_each(|t| t.uses(out)),
            JTemplate::Object(pairs) => pairs.iter().for_each(|(_, t)| t.uses(out)),
        }
    }

    /// Evaluates the field and checks that it gave an array (a Map's `Items`).
    pub(crate) fn eval_array(
        &self,
        field: &str,
        bindings: &[(&str, &Value)],
        host: &dyn Host,
    ) -> Result<Vec<Value>, FieldError> {
        match self.eval(field, bindings, host)? {
            Value::Array(a) => Ok(a),
            got => Err(FieldError {
                expr: self.text(),
                field: field.to_owned(),
                what: FieldFailure::Type {
                    expected: "array",
                    got: Box::new(got),
                },
            }),
        }
    }

    /// The field as written: the expression's text, or the JSON of a literal.
    pub(crate) fn text(&self) -> String {
        match self {
            JTemplate::Expr { text, .. } => text.clone(),
            JTemplate::Literal(v) => v.to_string(),
            JTemplate::Array(_) | JTemplate::Object(_) => "(a JSON template)".to_owned(),
        }
    }
}

/// JSON's name for the type of `v`, as AWS's cause texts give it.
pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn join(a: &str, b: &str) -> String {
    if b.is_empty() {
        a.to_owned()
    } else {
        format!("{a}/{b}")
    }
}
