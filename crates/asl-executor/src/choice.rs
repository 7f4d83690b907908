//! Choice rules: comparisons, `And`/`Or`/`Not`, type tests and `StringMatches`, evaluated the
//! way AWS does (a comparison between values of the wrong type is false, not an error).

use crate::definition::{Op, Operand, Rule, parse_timestamp};
use crate::env::Env;
use crate::intrinsic::{Resolve, json_eq};
use serde_json::Value;
use std::cmp::Ordering;

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
