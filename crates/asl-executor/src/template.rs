//! Payload templates: `Parameters`, `ResultSelector`, `ItemSelector` and `Assign`.
//!
//! A key ending in `.$` takes its value from a path or an intrinsic function; every other
//! value is copied as written. Templates are compiled when the definition loads, so a
//! malformed path is a definition error rather than a run-time surprise.

use crate::env::Env;
use crate::intrinsic::{Call, IntrinsicError, Resolve};
use crate::path::Path;
use serde_json::{Map, Value};

/// A compiled payload template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Template {
    Literal(Value),
    Path { key: String, path: Path },
    Call { key: String, call: Call },
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
}

/// Why a template could not be evaluated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TemplateError {
    /// A `.$` path found nothing: `States.Runtime` in AWS.
    PathNotFound { key: String, path: String },
    /// An intrinsic function failed: `States.IntrinsicFailure`.
    Intrinsic { key: String, message: String },
}

impl Template {
    /// Compiles a template; `Err` carries the offending key and the reason.
    pub(crate) fn compile(value: &Value) -> Result<Template, (String, String)> {
        match value {
            Value::Object(m) => {
                if !needs_eval(value) {
                    return Ok(Template::Literal(value.clone()));
                }
                let mut out = Vec::with_capacity(m.len());
                for (k, v) in m {
                    if let Some(name) = k.strip_suffix(".$") {
                        let Value::String(expr) = v else {
                            return Err((
                                k.clone(),
                                "the value of a '.$' field must be a string".into(),
                            ));
                        };
                        let t = compile_expr(k, expr)?;
                        out.push((name.to_owned(), t));
                    } else {
                        out.push((k.clone(), Template::compile(v)?));
                    }
                }
                Ok(Template::Object(out))
            }
            Value::Array(a) if needs_eval(value) => a
                .iter()
                .map(Template::compile)
                .collect::<Result<_, _>>()
                .map(Template::Array),
            other => Ok(Template::Literal(other.clone())),
        }
    }

    /// Evaluates the template.
    pub(crate) fn eval(&self, env: &Env<'_>) -> Result<Value, TemplateError> {
        match self {
            Template::Literal(v) => Ok(v.clone()),
            Template::Path { key, path } => {
                env.resolve(path)
                    .ok_or_else(|| TemplateError::PathNotFound {
                        key: key.clone(),
                        path: path.to_string(),
                    })
            }
            Template::Call { key, call } => call.eval(env).map_err(|e| match e {
                IntrinsicError::PathNotFound(path) => TemplateError::PathNotFound {
                    key: key.clone(),
                    path,
                },
                IntrinsicError::Invalid(message) => TemplateError::Intrinsic {
                    key: key.clone(),
                    message,
                },
            }),
            Template::Object(fields) => {
                let mut m = Map::with_capacity(fields.len());
                for (k, t) in fields {
                    m.insert(k.clone(), t.eval(env)?);
                }
                Ok(Value::Object(m))
            }
            Template::Array(items) => items
                .iter()
                .map(|t| t.eval(env))
                .collect::<Result<_, _>>()
                .map(Value::Array),
        }
    }

    /// Evaluates an `Assign` block: every value is computed before any variable changes.
    pub(crate) fn eval_object(&self, env: &Env<'_>) -> Result<Map<String, Value>, TemplateError> {
        match self.eval(env)? {
            Value::Object(m) => Ok(m),
            _ => Ok(Map::new()),
        }
    }
}

fn compile_expr(key: &str, expr: &str) -> Result<Template, (String, String)> {
    if Call::looks_like(expr) {
        Call::parse(expr)
            .map(|call| Template::Call {
                key: key.to_owned(),
                call,
            })
            .map_err(|e| (key.to_owned(), e.to_string()))
    } else {
        Path::parse(expr)
            .map(|path| Template::Path {
                key: key.to_owned(),
                path,
            })
            .map_err(|e| (key.to_owned(), e.to_string()))
    }
}

fn needs_eval(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, v)| k.ends_with(".$") || needs_eval(v)),
        Value::Array(a) => a.iter().any(needs_eval),
        _ => false,
    }
}

/// A single expression field such as `ErrorPath` or `ItemsPath`: a path or an intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Path(Path),
    Call { call: Call, text: String },
}

impl Expr {
    pub(crate) fn parse(text: &str) -> Result<Expr, String> {
        if Call::looks_like(text) {
            Call::parse(text)
                .map(|call| Expr::Call {
                    call,
                    text: text.to_owned(),
                })
                .map_err(|e| e.to_string())
        } else {
            Path::parse(text).map(Expr::Path).map_err(|e| e.to_string())
        }
    }

    pub(crate) fn eval(&self, env: &Env<'_>) -> Result<Value, IntrinsicError> {
        match self {
            Expr::Path(p) => env
                .resolve(p)
                .ok_or_else(|| IntrinsicError::PathNotFound(p.to_string())),
            Expr::Call { call, .. } => call.eval(env),
        }
    }

    pub(crate) fn text(&self) -> String {
        match self {
            Expr::Path(p) => p.to_string(),
            Expr::Call { text, .. } => text.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::{Context, ExecutionInfo, Vars};
    use serde_json::json;

    fn info() -> ExecutionInfo {
        ExecutionInfo {
            id: "arn:aws:states:us-east-1:123456789012:execution:sm:run".into(),
            name: "run".into(),
            input: json!({"in": 1}),
            start_time: "2026-01-01T00:00:00.000Z".into(),
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            state_machine_id: "arn:aws:states:us-east-1:123456789012:stateMachine:sm".into(),
            state_machine_name: "sm".into(),
            redrive_count: 0,
        }
    }

    #[test]
    fn dollar_keys_are_evaluated_and_renamed() {
        let info = info();
        let mut vars = Vars::default();
        vars.assign([("v".to_owned(), json!("var"))].into_iter().collect());
        let ctx = Context {
            execution: &info,
            state_name: "S",
            entered_time: chrono::Utc::now(),
            retry_count: None,
            task_token: None,
            map_item: None,
        };
        let data = json!({"a": {"b": 2}});
        let env = Env {
            data: &data,
            context: ctx,
            vars: &vars,
        };
        let t = Template::compile(&json!({
            "lit": "$.a", "p.$": "$.a.b", "c.$": "$$.Execution.Name", "v.$": "$v",
            "f.$": "States.Format('{}-{}', $.a.b, $v)", "nested": [{"x.$": "$.a"}]
        }))
        .expect("compiles");
        assert_eq!(
            t.eval(&env).expect("evaluates"),
            json!({"lit": "$.a", "p": 2, "c": "run", "v": "var", "f": "2-var", "nested": [{"x": {"b": 2}}]})
        );
        let missing = Template::compile(&json!({"m.$": "$.nope"})).expect("compiles");
        assert_eq!(
            missing.eval(&env),
            Err(TemplateError::PathNotFound {
                key: "m.$".into(),
                path: "$.nope".into()
            })
        );
    }

    #[test]
    fn bad_templates_name_the_key() {
        assert_eq!(
            Template::compile(&json!({"x.$": 3})).map_err(|e| e.0),
            Err("x.$".into())
        );
        assert_eq!(
            Template::compile(&json!({"y": {"x.$": "nope"}})).map_err(|e| e.0),
            Err("x.$".into())
        );
        assert_eq!(
            Template::compile(&json!({"x.$": "States.Bogus()"})).map_err(|e| e.0),
            Err("x.$".into())
        );
    }
}
