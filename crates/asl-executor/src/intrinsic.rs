//! Intrinsic functions (`States.Format(...)` and the rest): parsed once when the definition is
//! loaded, evaluated against the state's data, the context object and the variables.
//!
//! The argument rules and quirks follow what AWS does, as recorded in the conformance cases:
//! `MathAdd` rounds each argument half-up before adding, `Format` renders objects the way AWS's
//! Java runtime does (`{a=1, b=[]}`), `StringSplit` drops empty pieces.

use crate::path::{Path, PathSyntaxError};
use base64::Engine as _;
use serde_json::Value;
use std::fmt::Write as _;

/// A parsed intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    func: Func,
    args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    /// A literal; for strings `raw` keeps the escapes, which `Format` needs to tell `\{` from `{`.
    Literal {
        value: Value,
        raw: Option<String>,
    },
    Path(Path),
    Call(Box<Call>),
}

macro_rules! funcs {
    ($($v:ident => $n:literal),* $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Func { $($v),* }
        impl Func {
            fn from_name(n: &str) -> Option<Func> { match n { $($n => Some(Func::$v),)* _ => None } }
            fn name(self) -> &'static str { match self { $(Func::$v => $n),* } }
        }
    };
}

funcs! {
    Format => "States.Format",
    StringToJson => "States.StringToJson",
    JsonToString => "States.JsonToString",
    Array => "States.Array",
    ArrayPartition => "States.ArrayPartition",
    ArrayContains => "States.ArrayContains",
    ArrayRange => "States.ArrayRange",
    ArrayGetItem => "States.ArrayGetItem",
    ArrayLength => "States.ArrayLength",
    ArrayUnique => "States.ArrayUnique",
    Base64Encode => "States.Base64Encode",
    Base64Decode => "States.Base64Decode",
    Hash => "States.Hash",
    JsonMerge => "States.JsonMerge",
    MathRandom => "States.MathRandom",
    MathAdd => "States.MathAdd",
    StringSplit => "States.StringSplit",
    Uuid => "States.UUID",
}

/// Why an intrinsic function call could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntrinsicSyntaxError {
    /// The text is not a well-formed call.
    #[error("invalid intrinsic function '{text}': {reason}")]
    Malformed {
        /// The call as written.
        text: String,
        /// What is wrong.
        reason: String,
    },
    /// A path argument does not parse.
    #[error(transparent)]
    Path(#[from] PathSyntaxError),
}

/// Why an intrinsic function failed at run time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntrinsicError {
    /// A path argument matched nothing.
    #[error("The JSONPath '{0}' could not be found")]
    PathNotFound(String),
    /// An argument broke the function's rules (`States.IntrinsicFailure`).
    #[error("{0}")]
    Invalid(String),
}

/// What an intrinsic call needs to resolve its path arguments.
pub trait Resolve {
    /// Resolves `path` against the document its root names; `None` when nothing matches.
    fn resolve(&self, path: &Path) -> Option<Value>;
}

impl Call {
    /// True when `text` looks like an intrinsic call (`States.Name(`).
    pub fn looks_like(text: &str) -> bool {
        text.trim_start().starts_with("States.")
    }

    /// Parses `States.Name(args...)`.
    pub fn parse(text: &str) -> Result<Call, IntrinsicSyntaxError> {
        let mut p = P {
            t: text,
            i: 0,
            depth: 0,
        };
        let call = p.call().map_err(|reason| IntrinsicSyntaxError::Malformed {
            text: text.to_owned(),
            reason,
        })?;
        p.ws();
        if p.i != text.len() {
            return Err(IntrinsicSyntaxError::Malformed {
                text: text.to_owned(),
                reason: format!("unexpected text after the call at position {}", p.i),
            });
        }
        call.check_paths()?;
        Ok(call)
    }

    fn check_paths(&self) -> Result<(), PathSyntaxError> {
        for a in &self.args {
            if let Arg::Call(c) = a {
                c.check_paths()?;
            }
        }
        Ok(())
    }

    /// Evaluates the call.
    pub fn eval(&self, env: &dyn Resolve) -> Result<Value, IntrinsicError> {
        let mut vals = Vec::with_capacity(self.args.len());
        for a in &self.args {
            vals.push(match a {
                Arg::Literal { value, .. } => value.clone(),
                Arg::Path(p) => env
                    .resolve(p)
                    .ok_or_else(|| IntrinsicError::PathNotFound(p.to_string()))?,
                Arg::Call(c) => c.eval(env)?,
            });
        }
        self.apply(vals)
    }

    fn arity(&self, n: usize, vals: &[Value]) -> Result<(), IntrinsicError> {
        if vals.len() == n {
            Ok(())
        } else {
            Err(invalid(format!(
                "The function {} needs {n} argument(s), but {} were given.",
                self.func.name(),
                vals.len()
            )))
        }
    }

    fn apply(&self, mut v: Vec<Value>) -> Result<Value, IntrinsicError> {
        let name = self.func.name();
        match self.func {
            Func::Format => {
                let Some(Value::String(template)) = v.first() else {
                    return Err(invalid(format!(
                        "The first argument of {name} must be a string."
                    )));
                };
                let template_raw = match self.args.first() {
                    Some(Arg::Literal { raw: Some(raw), .. }) => raw.clone(),
                    _ => escape_braces(template),
                };
                format(&template_raw, &v[1..])
            }
            Func::StringToJson => {
                self.arity(1, &v)?;
                let s = string_arg(name, &v[0])?;
                if s.trim().is_empty() {
                    return Ok(Value::Null);
                }
                serde_json::from_str(s).map_err(|e| {
                    invalid(format!("{name} could not parse its argument as JSON: {e}"))
                })
            }
            Func::JsonToString => {
                self.arity(1, &v)?;
                Ok(Value::String(v[0].to_string()))
            }
            Func::Array => Ok(Value::Array(v)),
            Func::ArrayPartition => {
                self.arity(2, &v)?;
                let size = int_arg(name, &v[1])?;
                if size <= 0 {
                    return Err(invalid(format!(
                        "The chunk size of {name} must be a positive integer."
                    )));
                }
                let arr = array_arg(name, &v[0])?;
                let size = usize::try_from(size).unwrap_or(usize::MAX);
                Ok(Value::Array(
                    arr.chunks(size).map(|c| Value::Array(c.to_vec())).collect(),
                ))
            }
            Func::ArrayContains => {
                self.arity(2, &v)?;
                let arr = array_arg(name, &v[0])?;
                Ok(Value::Bool(arr.iter().any(|x| json_eq(x, &v[1]))))
            }
            Func::ArrayRange => {
                self.arity(3, &v)?;
                let (start, end, step) = (
                    int_arg(name, &v[0])?,
                    int_arg(name, &v[1])?,
                    int_arg(name, &v[2])?,
                );
                if step == 0 {
                    return Err(invalid(format!("The step of {name} cannot be zero.")));
                }
                let mut out = Vec::new();
                let mut i = start;
                while (step > 0 && i <= end) || (step < 0 && i >= end) {
                    out.push(Value::from(i));
                    if out.len() > 1000 {
                        return Err(invalid(format!("{name} can return at most 1000 elements.")));
                    }
                    i += step;
                }
                Ok(Value::Array(out))
            }
            Func::ArrayGetItem => {
                self.arity(2, &v)?;
                let idx = int_arg(name, &v[1])?;
                let arr = array_arg(name, &v[0])?;
                usize::try_from(idx)
                    .ok()
                    .and_then(|i| arr.get(i).cloned())
                    .ok_or_else(|| invalid(format!("The index {idx} is out of bounds for {name}.")))
            }
            Func::ArrayLength => {
                self.arity(1, &v)?;
                Ok(Value::from(array_arg(name, &v[0])?.len()))
            }
            Func::ArrayUnique => {
                self.arity(1, &v)?;
                let mut out: Vec<Value> = Vec::new();
                for x in array_arg(name, &v[0])? {
                    if !out.iter().any(|y| json_eq(x, y)) {
                        out.push(x.clone());
                    }
                }
                Ok(Value::Array(out))
            }
            Func::Base64Encode => {
                self.arity(1, &v)?;
                let s = string_arg(name, &v[0])?;
                if s.len() > 10_000 {
                    return Err(invalid(format!(
                        "The input of {name} is longer than 10000 characters."
                    )));
                }
                Ok(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(s),
                ))
            }
            Func::Base64Decode => {
                self.arity(1, &v)?;
                let s = string_arg(name, &v[0])?;
                if s.len() > 10_000 {
                    return Err(invalid(format!(
                        "The input of {name} is longer than 10000 characters."
                    )));
                }
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map_err(|e| invalid(format!("{name} could not decode its argument: {e}")))?;
                String::from_utf8(bytes)
                    .map(Value::String)
                    .map_err(|_| invalid(format!("{name} decoded bytes that are not UTF-8.")))
            }
            Func::Hash => {
                self.arity(2, &v)?;
                let data = match &v[0] {
                    Value::String(s) => s.clone(),
                    Value::Null => {
                        return Err(invalid(format!(
                            "The data argument of {name} cannot be null."
                        )));
                    }
                    other => other.to_string(),
                };
                if data.len() > 10_000 {
                    return Err(invalid(format!(
                        "The data of {name} is longer than 10000 characters."
                    )));
                }
                let algo = string_arg(name, &v[1])?;
                Ok(Value::String(hash(algo, data.as_bytes())?))
            }
            Func::JsonMerge => {
                self.arity(3, &v)?;
                if v[2] != Value::Bool(false) {
                    return Err(invalid(format!(
                        "{name} supports only shallow merges: its third argument must be false."
                    )));
                }
                let b = v.pop().and(v.pop());
                let a = v.pop();
                match (a, b) {
                    (Some(Value::Object(mut a)), Some(Value::Object(b))) => {
                        for (k, val) in b {
                            a.insert(k, val);
                        }
                        Ok(Value::Object(a))
                    }
                    _ => Err(invalid(format!(
                        "The first two arguments of {name} must be JSON objects."
                    ))),
                }
            }
            Func::MathRandom => {
                if !(2..=3).contains(&v.len()) {
                    return Err(invalid(format!(
                        "The function {name} needs 2 or 3 arguments."
                    )));
                }
                let (start, end) = (int_arg(name, &v[0])?, int_arg(name, &v[1])?);
                if start >= end {
                    return Err(invalid(format!(
                        "The start of {name} must be lower than its end."
                    )));
                }
                use rand::{Rng, SeedableRng};
                let n = match v.get(2) {
                    Some(seed) => {
                        rand::rngs::StdRng::seed_from_u64(int_arg(name, seed)?.cast_unsigned())
                            .random_range(start..end)
                    }
                    None => rand::rng().random_range(start..end),
                };
                Ok(Value::from(n))
            }
            Func::MathAdd => {
                self.arity(2, &v)?;
                let a = round_half_up(num_arg(name, &v[0])?);
                let b = round_half_up(num_arg(name, &v[1])?);
                a.checked_add(b)
                    .map(Value::from)
                    .ok_or_else(|| invalid(format!("{name} overflowed.")))
            }
            Func::StringSplit => {
                self.arity(2, &v)?;
                let s = string_arg(name, &v[0])?;
                let delims: Vec<char> = string_arg(name, &v[1])?.chars().collect();
                Ok(Value::Array(
                    s.split(|c| delims.contains(&c))
                        .filter(|p| !p.is_empty())
                        .map(|p| Value::String(p.to_owned()))
                        .collect(),
                ))
            }
            Func::Uuid => {
                self.arity(0, &v)?;
                Ok(Value::String(uuid::Uuid::new_v4().to_string()))
            }
        }
    }
}

fn invalid(msg: String) -> IntrinsicError {
    IntrinsicError::Invalid(msg)
}

fn string_arg<'v>(func: &str, v: &'v Value) -> Result<&'v str, IntrinsicError> {
    v.as_str().ok_or_else(|| {
        invalid(format!(
            "The function {func} expects a string argument, got {v}."
        ))
    })
}

fn array_arg<'v>(func: &str, v: &'v Value) -> Result<&'v Vec<Value>, IntrinsicError> {
    v.as_array().ok_or_else(|| {
        invalid(format!(
            "The function {func} expects an array argument, got {v}."
        ))
    })
}

fn num_arg(func: &str, v: &Value) -> Result<f64, IntrinsicError> {
    v.as_f64().ok_or_else(|| {
        invalid(format!(
            "The function {func} expects a number argument, got {v}."
        ))
    })
}

fn int_arg(func: &str, v: &Value) -> Result<i64, IntrinsicError> {
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        _ => Err(invalid(format!(
            "The function {func} expects an integer argument, got {v}."
        ))),
    }
}

/// Java's `Math.round`: halves go towards positive infinity (`-1.5` becomes `-1`).
fn round_half_up(x: f64) -> i64 {
    (x + 0.5).floor() as i64
}

/// Equality by JSON value, numbers by value (`1` equals `1.0`).
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn hash(algo: &str, data: &[u8]) -> Result<String, IntrinsicError> {
    use sha2::Digest as _;
    let bytes: Vec<u8> = match algo {
        "MD5" => md5::Md5::digest(data).to_vec(),
        "SHA-1" => sha1::Sha1::digest(data).to_vec(),
        "SHA-256" => sha2::Sha256::digest(data).to_vec(),
        "SHA-384" => sha2::Sha384::digest(data).to_vec(),
        "SHA-512" => sha2::Sha512::digest(data).to_vec(),
        other => {
            return Err(invalid(format!(
                "The hashing algorithm '{other}' is not supported: use MD5, SHA-1, SHA-256, SHA-384 or SHA-512."
            )));
        }
    };
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    Ok(out)
}

fn escape_braces(s: &str) -> String {
    s.replace('\\', "\\\\")
}

/// Renders a value the way AWS's runtime prints `Format` arguments.
fn format_arg(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => out.push_str(s),
        Value::Object(m) => {
            out.push('{');
            for (i, (k, val)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push('=');
                format_arg(val, out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, val) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                format_arg(val, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn format(raw: &str, args: &[Value]) -> Result<Value, IntrinsicError> {
    let mut out = String::new();
    let mut used = 0;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                let arg = args.get(used).ok_or_else(|| {
                    invalid(format!(
                        "The number of arguments ({}) does not match the number of placeholders in the States.Format template.",
                        args.len()
                    ))
                })?;
                format_arg(arg, &mut out);
                used += 1;
            }
            c => out.push(c),
        }
    }
    if used != args.len() {
        return Err(invalid(format!(
            "The number of arguments ({}) does not match the number of placeholders ({used}) in the States.Format template.",
            args.len()
        )));
    }
    Ok(Value::String(out))
}

struct P<'a> {
    t: &'a str,
    i: usize,
    depth: usize,
}

/// How deeply calls may nest: far more than any real definition, little enough for the stack.
const MAX_CALL_DEPTH: usize = 32;

impl P<'_> {
    fn ws(&mut self) {
        // Advance by whole characters: Unicode whitespace such as U+00A0 is several bytes.
        while let Some(c) = self.peek().filter(|c| c.is_whitespace()) {
            self.i += c.len_utf8();
        }
    }

    fn peek(&self) -> Option<char> {
        self.t[self.i..].chars().next()
    }

    fn call(&mut self) -> Result<Call, String> {
        self.ws();
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            self.i += 1;
        }
        let name = &self.t[start..self.i];
        let func = Func::from_name(name).ok_or_else(|| format!("unknown function '{name}'"))?;
        self.ws();
        if self.peek() != Some('(') {
            return Err(format!("expected '(' after {name}"));
        }
        self.i += 1;
        let mut args = Vec::new();
        self.ws();
        if self.peek() == Some(')') {
            self.i += 1;
            return Ok(Call { func, args });
        }
        loop {
            args.push(self.arg()?);
            self.ws();
            match self.peek() {
                Some(',') => self.i += 1,
                Some(')') => {
                    self.i += 1;
                    return Ok(Call { func, args });
                }
                _ => return Err(format!("expected ',' or ')' at position {}", self.i)),
            }
        }
    }

    fn arg(&mut self) -> Result<Arg, String> {
        self.ws();
        match self.peek() {
            Some('\'') => {
                self.i += 1;
                let start = self.i;
                let mut value = String::new();
                let mut chars = self.t[self.i..].char_indices();
                loop {
                    match chars.next() {
                        Some((_, '\\')) => match chars.next() {
                            Some((_, e)) => value.push(e),
                            None => return Err("unterminated string literal".into()),
                        },
                        Some((off, '\'')) => {
                            let raw = self.t[start..start + off].to_owned();
                            self.i = start + off + 1;
                            return Ok(Arg::Literal {
                                value: Value::String(value),
                                raw: Some(raw),
                            });
                        }
                        Some((_, c)) => value.push(c),
                        None => return Err("unterminated string literal".into()),
                    }
                }
            }
            Some('$') => {
                let start = self.i;
                let mut depth = 0i32;
                let mut quote: Option<char> = None;
                while let Some(c) = self.peek() {
                    match (quote, c) {
                        (Some(q), c) if c == q => quote = None,
                        (Some(_), _) => {}
                        (None, '\'' | '"') => quote = Some(c),
                        (None, '[' | '(') => depth += 1,
                        (None, ']') => depth -= 1,
                        (None, ')') if depth == 0 => break,
                        (None, ')') => depth -= 1,
                        (None, ',') if depth == 0 => break,
                        (None, c) if c.is_whitespace() && depth == 0 => break,
                        _ => {}
                    }
                    self.i += c.len_utf8();
                }
                Path::parse(&self.t[start..self.i])
                    .map(Arg::Path)
                    .map_err(|e| e.to_string())
            }
            Some('S') => {
                self.depth += 1;
                if self.depth > MAX_CALL_DEPTH {
                    return Err("intrinsic function calls are nested too deeply".into());
                }
                let call = self.call().map(|c| Arg::Call(Box::new(c)));
                self.depth -= 1;
                call
            }
            Some(_) => {
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.'))
                {
                    self.i += 1;
                }
                let tok = &self.t[start..self.i];
                let value: Value =
                    serde_json::from_str(tok).map_err(|_| format!("invalid argument '{tok}'"))?;
                if value.is_object() || value.is_array() {
                    return Err(format!("invalid argument '{tok}'"));
                }
                Ok(Arg::Literal { value, raw: None })
            }
            None => Err("unexpected end of the call".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Doc(Value);
    impl Resolve for Doc {
        fn resolve(&self, path: &Path) -> Option<Value> {
            path.select(&self.0)
        }
    }

    fn eval(text: &str, doc: Value) -> Result<Value, IntrinsicError> {
        Call::parse(text).expect("parses").eval(&Doc(doc))
    }

    #[test]
    fn documented_examples() {
        // Expected values from the AWS Step Functions intrinsic functions reference.
        let cases = [
            (
                "States.Format('Hello, my name is {}.', $.name)",
                json!({"name": "Arnav"}),
                json!("Hello, my name is Arnav."),
            ),
            (
                "States.StringToJson($.s)",
                json!({"s": "{\"number\": 20}"}),
                json!({"number": 20}),
            ),
            (
                "States.JsonToString($.o)",
                json!({"o": {"a": 1, "b": [2]}}),
                json!("{\"a\":1,\"b\":[2]}"),
            ),
            (
                "States.Array('Foo', 2020, $.x, null)",
                json!({"x": true}),
                json!(["Foo", 2020, true, null]),
            ),
            (
                "States.ArrayPartition($.a, 4)",
                json!({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9]}),
                json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]]),
            ),
            (
                "States.ArrayContains($.a, 5)",
                json!({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9]}),
                json!(true),
            ),
            (
                "States.ArrayRange(1, 9, 2)",
                json!({}),
                json!([1, 3, 5, 7, 9]),
            ),
            (
                "States.ArrayGetItem($.a, 5)",
                json!({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9]}),
                json!(6),
            ),
            ("States.ArrayLength($.a)", json!({"a": [1, 2, 3]}), json!(3)),
            (
                "States.ArrayUnique($.a)",
                json!({"a": [1, 2, 3, 3, 3, 3, 3, 3, 4]}),
                json!([1, 2, 3, 4]),
            ),
            (
                "States.Base64Encode($.s)",
                json!({"s": "Data to encode"}),
                json!("RGF0YSB0byBlbmNvZGU="),
            ),
            (
                "States.Base64Decode($.s)",
                json!({"s": "RGF0YSB0byBlbmNvZGU="}),
                json!("Data to encode"),
            ),
            (
                "States.Hash($.d, 'SHA-1')",
                json!({"d": "input data"}),
                json!("aaff4a450a104cd177d28d18d74485e8cae074b7"),
            ),
            (
                "States.JsonMerge($.a, $.b, false)",
                json!({"a": {"a": {"a1": 1, "a2": 2}, "b": 2}, "b": {"a": {"a3": 1, "a4": 2}, "c": 3}}),
                json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}),
            ),
            ("States.MathAdd($.v, -1)", json!({"v": 111}), json!(110)),
            (
                "States.StringSplit($.s, ',')",
                json!({"s": "1,2,3,4,5"}),
                json!(["1", "2", "3", "4", "5"]),
            ),
            (
                "States.StringSplit($.s, '.+,=')",
                json!({"s": "This.is+a,test=string"}),
                json!(["This", "is", "a", "test", "string"]),
            ),
        ];
        for (text, doc, want) in cases {
            assert_eq!(eval(text, doc).expect(text), want, "{text}");
        }
    }

    #[test]
    fn format_escapes_and_java_rendering() {
        assert_eq!(
            eval(r"States.Format('\{\} {} \'q\' \\', $.x)", json!({"x": 1})).expect("ok"),
            json!(r"{} 1 'q' \")
        );
        assert_eq!(
            eval(
                "States.Format('{} {}', $.o, $.a)",
                json!({"o": {"A": 1, "B": []}, "a": [1, "x"]})
            )
            .expect("ok"),
            json!("{A=1, B=[]} [1, x]")
        );
        assert!(matches!(
            eval("States.Format('{} {}', 1)", json!({})),
            Err(IntrinsicError::Invalid(_))
        ));
    }

    #[test]
    fn math_add_rounds_half_up_like_java() {
        for (a, b, want) in [
            (1.49, 1.5, 3),
            (-1.5, 0.0, -1),
            (-2.5, 0.0, -2),
            (-0.5, 0.0, 0),
            (0.5, 0.0, 1),
            (-1.51, 0.0, -2),
        ] {
            assert_eq!(
                eval("States.MathAdd($.a, $.b)", json!({"a": a, "b": b})).expect("ok"),
                json!(want)
            );
        }
    }

    #[test]
    fn math_random_respects_bounds_and_seed() {
        for _ in 0..50 {
            let n = eval("States.MathRandom(1, 5)", json!({}))
                .expect("ok")
                .as_i64()
                .expect("int");
            assert!((1..5).contains(&n));
        }
        assert_eq!(
            eval("States.MathRandom(1, 999, 7)", json!({})),
            eval("States.MathRandom(1, 999, 7)", json!({}))
        );
    }

    #[test]
    fn argument_rules_are_enforced() {
        for bad in [
            "States.ArrayPartition($.a, 0)",
            "States.ArrayRange(1, 5000, 1)",
            "States.ArrayRange(1, 5, 0)",
            "States.ArrayGetItem($.a, 9)",
            "States.Hash('x', 'SHA-3')",
            "States.JsonMerge($.o, $.o, true)",
            "States.MathRandom(5, 5)",
            "States.StringToJson('{bad')",
            "States.ArrayLength('not an array')",
            "States.UUID(1)",
        ] {
            let got = eval(bad, json!({"a": [1, 2], "o": {}}));
            assert!(
                matches!(got, Err(IntrinsicError::Invalid(_))),
                "{bad} gave {got:?}"
            );
        }
        assert!(matches!(
            eval("States.ArrayLength($.missing)", json!({})),
            Err(IntrinsicError::PathNotFound(_))
        ));
    }

    #[test]
    fn nested_calls_and_uuid() {
        let v = eval("States.ArrayGetItem(States.StringSplit($.s, '-'), States.MathAdd(States.ArrayLength(States.StringSplit($.s, '-')), -1))", json!({"s": "a-b-c"}))
            .expect("ok");
        assert_eq!(v, json!("c"));
        let u = eval("States.UUID()", json!({})).expect("ok");
        assert_eq!(u.as_str().map(str::len), Some(36));
    }

    #[test]
    fn malformed_calls_do_not_parse() {
        for bad in [
            "States.Nope()",
            "States.Format('x'",
            "States.Format('x',)",
            "States.Array(1 2)",
            "States.Array({})",
            "States.Array($.)",
        ] {
            assert!(Call::parse(bad).is_err(), "{bad}");
        }
    }
}
