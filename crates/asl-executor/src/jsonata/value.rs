//! JSONata's values: JSON, plus functions, and arrays that remember how they were made (a
//! sequence of path results collapses to its only item; `[]` keeps it an array; an array
//! constructor inside a path is not flattened).

use super::parser::Lambda;
use indexmap::IndexMap;
use serde_json::{Number, Value};
use std::rc::Rc;

#[derive(Debug, Clone)]
pub(super) enum V {
    Null,
    Bool(bool),
    Num(f64),
    Str(Rc<str>),
    Arr(Rc<Vec<V>>, Flags),
    Obj(Rc<IndexMap<String, V>>),
    Func(Rc<Func>),
}

/// How an array was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Flags {
    /// The results of a path or a function over a sequence: one item stands for itself.
    pub(super) sequence: bool,
    /// `[]` asked for an array even of one item.
    pub(super) keep: bool,
    /// An array constructor.
    pub(super) cons: bool,
}

/// A function value.
pub(super) enum Func {
    Builtin(&'static super::functions::Builtin),
    Lambda {
        lambda: std::sync::Arc<Lambda>,
        env: Rc<super::eval::Frame>,
        input: Option<V>,
    },
    /// A call with `?` in place of some arguments (`None` holes, filled in order).
    Partial {
        func: Rc<Func>,
        args: Vec<Option<Option<V>>>,
    },
    Regex(std::sync::Arc<regex::Regex>),
    /// `$f ~> $g`: `$g($f(...))`.
    Compose(Rc<Func>, Rc<Func>),
    /// `|location|update|`, with the variables where it was written.
    Transform(
        std::sync::Arc<super::parser::Transform>,
        Rc<super::eval::Frame>,
    ),
}

impl std::fmt::Debug for Func {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Func::Builtin(b) => write!(f, "${}", b.name),
            Func::Lambda { lambda, .. } => write!(f, "lambda/{}", lambda.params.len()),
            Func::Partial { .. } => write!(f, "partial"),
            Func::Regex(r) => write!(f, "/{}/", r.as_str()),
            Func::Compose(..) => write!(f, "composition"),
            Func::Transform(..) => write!(f, "transform"),
        }
    }
}

impl V {
    pub(super) fn str(s: impl Into<Rc<str>>) -> V {
        V::Str(s.into())
    }

    pub(super) fn seq(items: Vec<V>) -> V {
        V::Arr(
            Rc::new(items),
            Flags {
                sequence: true,
                ..Flags::default()
            },
        )
    }

    pub(super) fn array(items: Vec<V>) -> V {
        V::Arr(Rc::new(items), Flags::default())
    }

    pub(super) fn from_json(v: &Value) -> V {
        match v {
            Value::Null => V::Null,
            Value::Bool(b) => V::Bool(*b),
            Value::Number(n) => V::Num(n.as_f64().unwrap_or(f64::NAN)),
            Value::String(s) => V::str(s.as_str()),
            Value::Array(a) => V::array(a.iter().map(V::from_json).collect()),
            Value::Object(m) => V::Obj(Rc::new(
                m.iter()
                    .map(|(k, v)| (k.clone(), V::from_json(v)))
                    .collect(),
            )),
        }
    }

    /// The value as JSON; functions become `""`, as the reference's JSON output renders them.
    pub(super) fn to_json(&self) -> Value {
        match self {
            V::Null => Value::Null,
            V::Bool(b) => Value::Bool(*b),
            V::Num(n) => number(*n),
            V::Str(s) => Value::String(s.to_string()),
            V::Arr(a, _) => Value::Array(a.iter().map(V::to_json).collect()),
            V::Obj(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
            V::Func(_) => Value::String(String::new()),
        }
    }

    pub(super) fn is_array(&self) -> bool {
        matches!(self, V::Arr(..))
    }

    pub(super) fn as_num(&self) -> Option<f64> {
        match self {
            V::Num(n) => Some(*n),
            _ => None,
        }
    }

    pub(super) fn type_name(&self) -> &'static str {
        match self {
            V::Null => "null",
            V::Bool(_) => "boolean",
            V::Num(_) => "number",
            V::Str(_) => "string",
            V::Arr(..) => "array",
            V::Obj(_) => "object",
            V::Func(_) => "function",
        }
    }
}

/// A JSON number as JavaScript would hold it: integers within 2^53 print without a fraction.
pub(super) fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        // Exact: the value is an integer of at most 53 bits.
        #[allow(clippy::cast_possible_truncation)]
        return Value::Number(Number::from(n as i64));
    }
    Number::from_f64(n).map_or(Value::Null, Value::Number)
}

/// Deep equality as the reference's `=` decides it for arrays and objects.
pub(super) fn deep_equal(a: &V, b: &V) -> bool {
    match (a, b) {
        (V::Null, V::Null) => true,
        (V::Bool(x), V::Bool(y)) => x == y,
        (V::Num(x), V::Num(y)) => x == y,
        (V::Str(x), V::Str(y)) => x == y,
        (V::Arr(x, _), V::Arr(y, _)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| deep_equal(a, b))
        }
        (V::Obj(x), V::Obj(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        (V::Func(x), V::Func(y)) => Rc::ptr_eq(x, y),
        _ => false,
    }
}

/// A number as JavaScript's `String(n)` writes it: the shortest digits that read back as
/// `n`, in plain notation from 1e-6 up to 1e21 and in exponent notation (`1e+21`) outside.
pub(super) fn js_number(n: f64) -> String {
    if n == 0.0 {
        return "0".into();
    }
    if n.is_nan() {
        return "NaN".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "d.ddde[-]x".
    let sci = format!("{:e}", n.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if n < 0.0 { "-" } else { "" };
    let k = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    let body = if (-6..21).contains(&exp) {
        if exp >= k - 1 {
            format!(
                "{digits}{}",
                "0".repeat(usize::try_from(exp - k + 1).unwrap_or(0))
            )
        } else if exp >= 0 {
            let point = usize::try_from(exp + 1).unwrap_or(0);
            format!("{}.{}", &digits[..point], &digits[point..])
        } else {
            format!(
                "0.{}{digits}",
                "0".repeat(usize::try_from(-exp - 1).unwrap_or(0))
            )
        }
    } else {
        let rest = if digits.len() > 1 {
            format!(".{}", &digits[1..])
        } else {
            String::new()
        };
        let esign = if exp < 0 { "-" } else { "+" };
        format!("{}{rest}e{esign}{}", &digits[..1], exp.abs())
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_javascript_prints_them() {
        for (n, s) in [
            (1.0, "1"),
            (-2.5, "-2.5"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (1.5e-7, "1.5e-7"),
            (0.000001, "0.000001"),
            (123.456, "123.456"),
            (0.1 + 0.2, "0.30000000000000004"),
            (2f64.sqrt(), "1.4142135623730951"),
            (1e100, "1e+100"),
        ] {
            assert_eq!(js_number(n), s, "{n}");
        }
    }
}
