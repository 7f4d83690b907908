//! Choice rules: comparisons, `And`/`Or`/`Not`, type tests and `StringMatches`, parsed (with
//! their static checks) and evaluated the way AWS does (a comparison between values of the
//! wrong type is false, not an error).

use crate::definition::{DefinitionProblem, opt_str, parse_timestamp, problem};
use crate::env::Env;
use crate::intrinsic::{Resolve, json_eq};
use crate::path::Path;
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// A Choice rule: a comparison, or `And`/`Or`/`Not` of rules.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Compare {
        variable: Path,
        op: Op,
        operand: Operand,
    },
}

/// What a comparison compares the variable with: a literal, or a path's value (`...Path`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Literal(Value),
    Path(Path),
}

/// A Choice comparison operator (without its `Path` suffix, which lives in [`Operand`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    StringEquals,
    StringLessThan,
    StringGreaterThan,
    StringLessThanEquals,
    StringGreaterThanEquals,
    StringMatches,
    NumericEquals,
    NumericLessThan,
    NumericGreaterThan,
    NumericLessThanEquals,
    NumericGreaterThanEquals,
    BooleanEquals,
    TimestampEquals,
    TimestampLessThan,
    TimestampGreaterThan,
    TimestampLessThanEquals,
    TimestampGreaterThanEquals,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

const OPS: &[(&str, Op)] = &[
    ("StringEquals", Op::StringEquals),
    ("StringLessThan", Op::StringLessThan),
    ("StringGreaterThan", Op::StringGreaterThan),
    ("StringLessThanEquals", Op::StringLessThanEquals),
    ("StringGreaterThanEquals", Op::StringGreaterThanEquals),
    ("StringMatches", Op::StringMatches),
    ("NumericEquals", Op::NumericEquals),
    ("NumericLessThan", Op::NumericLessThan),
    ("NumericGreaterThan", Op::NumericGreaterThan),
    ("NumericLessThanEquals", Op::NumericLessThanEquals),
    ("NumericGreaterThanEquals", Op::NumericGreaterThanEquals),
    ("BooleanEquals", Op::BooleanEquals),
    ("TimestampEquals", Op::TimestampEquals),
    ("TimestampLessThan", Op::TimestampLessThan),
    ("TimestampGreaterThan", Op::TimestampGreaterThan),
    ("TimestampLessThanEquals", Op::TimestampLessThanEquals),
    ("TimestampGreaterThanEquals", Op::TimestampGreaterThanEquals),
    ("IsNull", Op::IsNull),
    ("IsPresent", Op::IsPresent),
    ("IsNumeric", Op::IsNumeric),
    ("IsString", Op::IsString),
    ("IsBoolean", Op::IsBoolean),
    ("IsTimestamp", Op::IsTimestamp),
];

/// Parses the rule in `obj` (the Choice state's `field`; `top` for a rule of `Choices`
/// itself, which also holds `Next` and `Assign`).
pub(crate) fn rule(
    obj: &Map<String, Value>,
    q: &str,
    field: &str,
    top: bool,
) -> Result<Rule, DefinitionProblem> {
    let allowed_extra: &[&str] = if top {
        &["Next", "Assign", "Comment"]
    } else {
        &["Comment"]
    };
    let mut found: Vec<&str> = Vec::new();
    for k in obj.keys() {
        let k = k.as_str();
        if allowed_extra.contains(&k) || k == "Variable" {
            continue;
        }
        let base = k.strip_suffix("Path").unwrap_or(k);
        let known = ["And", "Or", "Not"].contains(&k)
            || OPS
                .iter()
                .any(|(n, _)| *n == k || (*n == base && !n.starts_with("Is")));
        if !known {
            return Err(problem(
                q,
                &format!("{field}.{k}"),
                "this field is not supported in a choice rule",
            ));
        }
        found.push(k);
    }
    if !top && obj.contains_key("Next") {
        return Err(problem(
            q,
            &format!("{field}.Next"),
            "a nested choice rule cannot have 'Next'",
        ));
    }
    let [op] = found.as_slice() else {
        return Err(problem(
            q,
            field,
            "a choice rule needs exactly one comparison operator, 'And', 'Or' or 'Not'",
        ));
    };
    let sub = |key: &str| -> Result<Vec<Rule>, DefinitionProblem> {
        let list = match obj.get(key) {
            Some(Value::Array(a)) if !a.is_empty() => a,
            _ => {
                return Err(problem(
                    q,
                    &format!("{field}.{key}"),
                    "must be a non-empty array of rules",
                ));
            }
        };
        list.iter()
            .enumerate()
            .map(|(i, r)| {
                let f = format!("{field}.{key}[{i}]");
                let r = r
                    .as_object()
                    .ok_or_else(|| problem(q, &f, "must be an object"))?;
                rule(r, q, &f, false)
            })
            .collect()
    };
    match *op {
        "And" => return sub("And").map(Rule::And),
        "Or" => return sub("Or").map(Rule::Or),
        "Not" => {
            let f = format!("{field}.Not");
            let r = obj
                .get("Not")
                .and_then(Value::as_object)
                .ok_or_else(|| problem(q, &f, "must be an object"))?;
            return Ok(Rule::Not(Box::new(rule(r, q, &f, false)?)));
        }
        _ => {}
    }
    let variable = opt_str(obj, q, "Variable")?
        .ok_or_else(|| problem(q, &format!("{field}.Variable"), "is required"))?;
    let variable = Path::parse(variable)
        .map_err(|e| problem(q, &format!("{field}.Variable"), e.to_string()))?;
    let value = &obj[*op];
    let opf = format!("{field}.{op}");
    let (op_enum, operand) = if let Some((_, o)) = OPS.iter().find(|(n, _)| n == op) {
        let o = *o;
        let ok = match o {
            Op::StringEquals
            | Op::StringLessThan
            | Op::StringGreaterThan
            | Op::StringLessThanEquals
            | Op::StringGreaterThanEquals
            | Op::StringMatches => value.is_string(),
            Op::NumericEquals
            | Op::NumericLessThan
            | Op::NumericGreaterThan
            | Op::NumericLessThanEquals
            | Op::NumericGreaterThanEquals => value.is_number(),
            Op::TimestampEquals
            | Op::TimestampLessThan
            | Op::TimestampGreaterThan
            | Op::TimestampLessThanEquals
            | Op::TimestampGreaterThanEquals => {
                value.as_str().is_some_and(|s| parse_timestamp(s).is_some())
            }
            _ => value.is_boolean(),
        };
        if !ok {
            return Err(problem(
                q,
                &opf,
                "the operand has the wrong type for this operator",
            ));
        }
        (o, Operand::Literal(value.clone()))
    } else {
        let base = op.strip_suffix("Path").unwrap_or(op);
        let o = OPS
            .iter()
            .find(|(n, _)| *n == base)
            .map(|(_, o)| *o)
            .ok_or_else(|| problem(q, &opf, "unknown operator"))?;
        let p = value
            .as_str()
            .ok_or_else(|| problem(q, &opf, "must be a path string"))?;
        (
            o,
            Operand::Path(Path::parse(p).map_err(|e| problem(q, &opf, e.to_string()))?),
        )
    };
    Ok(Rule::Compare {
        variable,
        op: op_enum,
        operand,
    })
}

/// Evaluates a rule; `Err` carries the cause of a `States.Runtime` failure.
pub(crate) fn eval(rule: &Rule, env: &Env<'_>) -> Result<bool, String> {
    match rule {
        Rule::And(rules) => {
            for r in rules {
                if !eval(r, env)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Rule::Or(rules) => {
            for r in rules {
                if eval(r, env)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Rule::Not(r) => Ok(!eval(r, env)?),
        Rule::Compare {
            variable,
            op,
            operand,
        } => {
            let value = env.resolve(variable);
            if *op == Op::IsPresent {
                return Ok(value.is_some() == (operand == &Operand::Literal(Value::Bool(true))));
            }
            let Some(value) = value else {
                return Err(format!(
                    "Invalid path '{variable}': The choice state's condition path references an undefined value."
                ));
            };
            let operand = match operand {
                Operand::Literal(v) => v.clone(),
                Operand::Path(p) => env
                    .resolve(p)
                    .ok_or_else(|| format!("Invalid path '{p}': The choice state's condition path references an undefined value."))?,
            };
            Ok(compare(*op, &value, &operand))
        }
    }
}

fn utf16_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Applies one comparison operator to the variable's value and the operand.
pub(crate) fn compare(op: Op, value: &Value, operand: &Value) -> bool {
    let expect = operand.as_bool().unwrap_or(true);
    match op {
        Op::IsNull => value.is_null() == expect,
        Op::IsNumeric => value.is_number() == expect,
        Op::IsString => value.is_string() == expect,
        Op::IsBoolean => value.is_boolean() == expect,
        Op::IsTimestamp => value.as_str().is_some_and(|s| parse_timestamp(s).is_some()) == expect,
        Op::IsPresent => true,
        Op::BooleanEquals => matches!((value, operand), (Value::Bool(a), Value::Bool(b)) if a == b),
        Op::StringMatches => match (value, operand) {
            (Value::String(s), Value::String(p)) => wildcard_match(p, s),
            _ => false,
        },
        Op::StringEquals
        | Op::StringLessThan
        | Op::StringGreaterThan
        | Op::StringLessThanEquals
        | Op::StringGreaterThanEquals => {
            let (Value::String(a), Value::String(b)) = (value, operand) else {
                return false;
            };
            ordered(op_kind(op), utf16_cmp(a, b))
        }
        Op::NumericEquals
        | Op::NumericLessThan
        | Op::NumericGreaterThan
        | Op::NumericLessThanEquals
        | Op::NumericGreaterThanEquals => {
            let (Value::Number(a), Value::Number(b)) = (value, operand) else {
                return false;
            };
            if op == Op::NumericEquals {
                return json_eq(value, operand);
            }
            match a.as_f64().partial_cmp(&b.as_f64()) {
                Some(o) => ordered(op_kind(op), o),
                None => false,
            }
        }
        Op::TimestampEquals
        | Op::TimestampLessThan
        | Op::TimestampGreaterThan
        | Op::TimestampLessThanEquals
        | Op::TimestampGreaterThanEquals => {
            let (Some(a), Some(b)) = (
                value.as_str().and_then(parse_timestamp),
                operand.as_str().and_then(parse_timestamp),
            ) else {
                return false;
            };
            ordered(op_kind(op), a.cmp(&b))
        }
    }
}

#[derive(Clone, Copy)]
enum Cmp {
    Eq,
    Lt,
    Gt,
    Le,
    Ge,
}

fn op_kind(op: Op) -> Cmp {
    match op {
        Op::StringLessThan | Op::NumericLessThan | Op::TimestampLessThan => Cmp::Lt,
        Op::StringGreaterThan | Op::NumericGreaterThan | Op::TimestampGreaterThan => Cmp::Gt,
        Op::StringLessThanEquals | Op::NumericLessThanEquals | Op::TimestampLessThanEquals => {
            Cmp::Le
        }
        Op::StringGreaterThanEquals
        | Op::NumericGreaterThanEquals
        | Op::TimestampGreaterThanEquals => Cmp::Ge,
        _ => Cmp::Eq,
    }
}

fn ordered(c: Cmp, o: Ordering) -> bool {
    match c {
        Cmp::Eq => o.is_eq(),
        Cmp::Lt => o.is_lt(),
        Cmp::Gt => o.is_gt(),
        Cmp::Le => o.is_le(),
        Cmp::Ge => o.is_ge(),
    }
}

/// `StringMatches`: `*` matches any run of characters; `\*` and `\\` are literal.
pub(crate) fn wildcard_match(pattern: &str, s: &str) -> bool {
    enum Tok {
        Star,
        Char(char),
    }
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next() {
                Some(n) => toks.push(Tok::Char(n)),
                None => toks.push(Tok::Char('\\')),
            },
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Char(c)),
        }
    }
    let chars: Vec<char> = s.chars().collect();
    // Greedy matching with backtracking to the last star: linear in practice, no recursion.
    let (mut p, mut i) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < chars.len() {
        match toks.get(p) {
            Some(Tok::Char(c)) if *c == chars[i] => {
                p += 1;
                i += 1;
            }
            Some(Tok::Star) => {
                star = Some((p, i));
                p += 1;
            }
            _ => match star {
                Some((sp, si)) => {
                    p = sp + 1;
                    i = si + 1;
                    star = Some((sp, si + 1));
                }
                None => return false,
            },
        }
    }
    toks[p..].iter().all(|t| matches!(t, Tok::Star))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn comparisons_follow_the_aws_documentation() {
        let cases: &[(Op, Value, Value, bool)] = &[
            (Op::StringEquals, json!("a"), json!("a"), true),
            (Op::StringEquals, json!(1), json!("1"), false),
            (Op::StringLessThan, json!("a"), json!("b"), true),
            (Op::StringGreaterThanEquals, json!("b"), json!("b"), true),
            (Op::NumericEquals, json!(1), json!(1.0), true),
            (Op::NumericEquals, json!("1"), json!(1), false),
            (Op::NumericLessThan, json!(-1), json!(0), true),
            (Op::NumericGreaterThan, json!(2.5), json!(2), true),
            (Op::NumericLessThanEquals, json!(2), json!(2), true),
            (Op::BooleanEquals, json!(true), json!(true), true),
            (Op::BooleanEquals, json!("true"), json!(true), false),
            (
                Op::TimestampEquals,
                json!("2016-03-14T01:59:00Z"),
                json!("2016-03-14T02:59:00+01:00"),
                true,
            ),
            (
                Op::TimestampLessThan,
                json!("2016-03-14T01:59:00Z"),
                json!("2016-03-14T02:00:00Z"),
                true,
            ),
            (
                Op::TimestampGreaterThan,
                json!("not a time"),
                json!("2016-03-14T02:00:00Z"),
                false,
            ),
            (Op::IsNull, json!(null), json!(true), true),
            (Op::IsNull, json!(0), json!(false), true),
            (Op::IsNumeric, json!(1.5), json!(true), true),
            (Op::IsString, json!(1), json!(true), false),
            (Op::IsBoolean, json!(false), json!(true), true),
            (
                Op::IsTimestamp,
                json!("2016-03-14T01:59:00Z"),
                json!(true),
                true,
            ),
            (Op::IsTimestamp, json!("2016-03-14"), json!(false), true),
            (
                Op::StringMatches,
                json!("log-2024.txt"),
                json!("log-*.txt"),
                true,
            ),
            (
                Op::StringMatches,
                json!("log-2024.csv"),
                json!("log-*.txt"),
                false,
            ),
        ];
        for (op, v, o, want) in cases {
            assert_eq!(compare(*op, v, o), *want, "{op:?} {v} {o}");
        }
    }

    #[test]
    fn string_matches_escapes() {
        assert!(wildcard_match(r"a\*b", "a*b"));
        assert!(!wildcard_match(r"a\*b", "axb"));
        assert!(wildcard_match(r"a\\b", r"a\b"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("*.*", "a.b"));
        assert!(!wildcard_match("a*c", "ab"));
        assert!(wildcard_match("a*b*c", "aXbYbZc"));
    }
}
