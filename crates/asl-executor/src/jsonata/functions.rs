//! JSONata's function library as AWS Step Functions offers it: the standard functions of
//! JSONata 2.0 that workflows use, and AWS's additions (`$partition`, `$range`, `$hash`,
//! `$random`, `$uuid`, `$parse`). Time and randomness come from the host (the executor's
//! virtual clock and seeded source).

use super::Error;
use super::eval::{Cx, R, apply, arity};
use super::library::{
    f_base64decode, f_base64encode, f_clone, f_decode_url, f_decode_url_component, f_encode_url,
    f_encode_url_component, f_eval, f_format_base, f_format_integer, f_format_number,
    f_from_millis, f_now, f_parse_integer, f_shuffle, f_sift, f_to_millis,
};
use super::value::{Func, V, deep_equal, js_number};
use indexmap::IndexMap;
use std::cmp::Ordering;
use std::rc::Rc;

/// A function of the library.
#[derive(Debug)]
pub(crate) struct Builtin {
    pub(super) name: &'static str,
    /// How many arguments it takes (for `$map` and friends).
    pub(super) arity: usize,
    pub(super) call: fn(Vec<Option<V>>, Option<&V>, &Cx<'_>) -> R,
}

macro_rules! builtins {
    ($($name:literal / $arity:literal => $f:ident),* $(,)?) => {
        static BUILTINS: &[Builtin] = &[$(Builtin { name: $name, arity: $arity, call: $f }),*];
    };
}

builtins! {
    "string" / 1 => f_string, "length" / 1 => f_length, "substring" / 3 => f_substring,
    "substringBefore" / 2 => f_substring_before, "substringAfter" / 2 => f_substring_after,
    "uppercase" / 1 => f_uppercase, "lowercase" / 1 => f_lowercase, "trim" / 1 => f_trim,
    "pad" / 3 => f_pad, "contains" / 2 => f_contains, "split" / 3 => f_split, "join" / 2 => f_join,
    "replace" / 4 => f_replace, "match" / 3 => f_match, "number" / 1 => f_number,
    "abs" / 1 => f_abs, "floor" / 1 => f_floor, "ceil" / 1 => f_ceil, "round" / 2 => f_round,
    "power" / 2 => f_power, "sqrt" / 1 => f_sqrt, "random" / 1 => f_random, "sum" / 1 => f_sum,
    "max" / 1 => f_max, "min" / 1 => f_min, "average" / 1 => f_average, "count" / 1 => f_count,
    "append" / 2 => f_append, "reverse" / 1 => f_reverse, "sort" / 2 => f_sort,
    "distinct" / 1 => f_distinct, "keys" / 1 => f_keys, "lookup" / 2 => f_lookup,
    "merge" / 1 => f_merge, "spread" / 1 => f_spread, "exists" / 1 => f_exists,
    "boolean" / 1 => f_boolean, "not" / 1 => f_not, "type" / 1 => f_type, "map" / 2 => f_map,
    "filter" / 2 => f_filter, "reduce" / 3 => f_reduce, "each" / 2 => f_each,
    "single" / 2 => f_single, "zip" / 2 => f_zip, "now" / 0 => f_now, "millis" / 0 => f_millis,
    "uuid" / 0 => f_uuid, "partition" / 2 => f_partition, "range" / 3 => f_range,
    "hash" / 2 => f_hash, "parse" / 1 => f_parse, "error" / 1 => f_error, "assert" / 2 => f_assert,
    "sift" / 2 => f_sift, "shuffle" / 1 => f_shuffle, "clone" / 1 => f_clone, "eval" / 2 => f_eval,
    "base64encode" / 1 => f_base64encode, "base64decode" / 1 => f_base64decode,
    "encodeUrlComponent" / 1 => f_encode_url_component, "encodeUrl" / 1 => f_encode_url,
    "decodeUrlComponent" / 1 => f_decode_url_component, "decodeUrl" / 1 => f_decode_url,
    "formatBase" / 2 => f_format_base, "fromMillis" / 3 => f_from_millis,
    "toMillis" / 2 => f_to_millis, "formatNumber" / 3 => f_format_number,
    "formatInteger" / 2 => f_format_integer, "parseInteger" / 2 => f_parse_integer,
}

/// The library function called `name` (without its `$`).
pub(super) fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// JSONata's truthiness.
pub(super) fn boolean(v: Option<&V>) -> bool {
    match v {
        None | Some(V::Null | V::Func(_)) => false,
        Some(V::Bool(b)) => *b,
        Some(V::Num(n)) => *n != 0.0,
        Some(V::Str(s)) => !s.is_empty(),
        Some(V::Arr(a, _)) => match a.len() {
            1 => boolean(a.first()),
            _ => a.iter().any(|v| boolean(Some(v))),
        },
        Some(V::Obj(m)) => !m.is_empty(),
    }
}

/// Strings ordered as JavaScript orders them (by UTF-16 code unit).
pub(super) fn compare_strings(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// `$append`'s rule, also the object constructor's: one more item (or items) in a sequence.
pub(super) fn append(a: Option<V>, b: Option<V>) -> Option<V> {
    match (a, b) {
        (None, b) => b,
        (a, None) => a,
        (Some(a), Some(b)) => {
            let mut items = match a {
                V::Arr(items, _) => items.to_vec(),
                other => vec![other],
            };
            match b {
                V::Arr(more, _) => items.extend(more.iter().cloned()),
                other => items.push(other),
            }
            Some(V::array(items))
        }
    }
}

/// A number rounded to 15 significant digits, as `$string` and `&` write numbers.
fn precision15(n: f64) -> f64 {
    format!("{n:.14e}").parse().unwrap_or(n)
}

/// `$string`: strings as they are, functions as `""`, anything else as compact JSON with
/// numbers to 15 significant digits.
pub(super) fn string(v: &V) -> Result<String, Error> {
    Ok(match v {
        V::Str(s) => s.to_string(),
        V::Func(_) => String::new(),
        V::Num(n) if !n.is_finite() => {
            return Err(Error::with_value(
                "D3001",
                "Attempting to invoke string function on Infinity or NaN",
                v,
            ));
        }
        other => {
            let mut out = String::new();
            write_json(other, &mut out);
            out
        }
    })
}

fn write_json(v: &V, out: &mut String) {
    match v {
        V::Null => out.push_str("null"),
        V::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        V::Num(n) => out.push_str(&js_number(precision15(*n))),
        V::Str(s) => out.push_str(&serde_json::Value::String(s.to_string()).to_string()),
        V::Func(_) => out.push_str("\"\""),
        V::Arr(items, _) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        V::Obj(m) => {
            out.push('{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                write_json(item, out);
            }
            out.push('}');
        }
    }
}

// --- argument helpers ---

pub(super) fn arg(args: &[Option<V>], i: usize) -> Option<&V> {
    args.get(i).and_then(Option::as_ref)
}

/// The first argument, or the context when the function is called without one (the
/// reference's `-` in a signature).
fn first_or_context<'a>(args: &'a [Option<V>], input: Option<&'a V>) -> Option<&'a V> {
    if args.is_empty() { input } else { arg(args, 0) }
}

pub(super) fn type_error(name: &str, index: usize, v: &V) -> Error {
    Error::with_value(
        "T0410",
        format!(
            "Argument {} of function \"{name}\" does not match function signature",
            index + 1
        ),
        v,
    )
}

pub(super) fn str_arg<'a>(
    name: &str,
    args: &'a [Option<V>],
    i: usize,
) -> Result<Option<&'a str>, Error> {
    match arg(args, i) {
        None => Ok(None),
        Some(V::Str(s)) => Ok(Some(s)),
        Some(other) => Err(type_error(name, i, other)),
    }
}

pub(super) fn num_arg(name: &str, args: &[Option<V>], i: usize) -> Result<Option<f64>, Error> {
    match arg(args, i) {
        None => Ok(None),
        Some(V::Num(n)) => Ok(Some(*n)),
        Some(other) => Err(type_error(name, i, other)),
    }
}

/// An argument that may be one value or an array of them, as a list.
fn list(v: Option<&V>) -> Vec<V> {
    match v {
        None => Vec::new(),
        Some(V::Arr(a, _)) => a.to_vec(),
        Some(other) => vec![other.clone()],
    }
}

fn numbers(name: &str, v: Option<&V>) -> Result<Vec<f64>, Error> {
    list(v)
        .iter()
        .map(|x| {
            x.as_num()
                .ok_or_else(|| type_error(name, 0, v.unwrap_or(&V::Null)))
        })
        .collect()
}

pub(super) fn func_arg(
    name: &str,
    args: &[Option<V>],
    i: usize,
) -> Result<Option<Rc<Func>>, Error> {
    match arg(args, i) {
        None => Ok(None),
        Some(V::Func(f)) => Ok(Some(f.clone())),
        Some(other) => Err(type_error(name, i, other)),
    }
}

fn chars(s: &str) -> Vec<char> {
    s.chars().collect()
}

fn some(v: V) -> R {
    Ok(Some(v))
}

// --- strings ---

fn f_string(args: Vec<Option<V>>, input: Option<&V>, _: &Cx<'_>) -> R {
    match first_or_context(&args, input) {
        None => Ok(None),
        Some(v) => some(V::str(string(v)?)),
    }
}

fn f_length(args: Vec<Option<V>>, input: Option<&V>, _: &Cx<'_>) -> R {
    match first_or_context(&args, input) {
        None => Ok(None),
        #[allow(clippy::cast_precision_loss)]
        Some(V::Str(s)) => some(V::Num(s.chars().count() as f64)),
        Some(other) => Err(type_error("length", 0, other)),
    }
}

fn f_substring(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let Some(s) = str_arg("substring", &args, 0)? else {
        return Ok(None);
    };
    let cs = chars(s);
    let len = i64::try_from(cs.len()).unwrap_or(i64::MAX);
    #[allow(clippy::cast_possible_truncation)]
    let mut start = num_arg("substring", &args, 1)?.unwrap_or(0.0) as i64;
    if start < 0 {
        start = (len + start).max(0);
    }
    let start = start.min(len);
    #[allow(clippy::cast_possible_truncation)]
    let end = match num_arg("substring", &args, 2)? {
        Some(l) if l <= 0.0 => start,
        Some(l) => (start + l as i64).min(len),
        None => len,
    };
    let (a, b) = (
        usize::try_from(start).unwrap_or(0),
        usize::try_from(end).unwrap_or(0),
    );
    some(V::str(cs[a..b.max(a)].iter().collect::<String>()))
}

fn f_substring_before(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let (Some(s), Some(sep)) = (
        str_arg("substringBefore", &args, 0)?,
        str_arg("substringBefore", &args, 1)?,
    ) else {
        return Ok(str_arg("substringBefore", &args, 0)?.map(V::str));
    };
    some(V::str(s.find(sep).map_or(s, |i| &s[..i])))
}

fn f_substring_after(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let (Some(s), Some(sep)) = (
        str_arg("substringAfter", &args, 0)?,
        str_arg("substringAfter", &args, 1)?,
    ) else {
        return Ok(str_arg("substringAfter", &args, 0)?.map(V::str));
    };
    some(V::str(s.find(sep).map_or(s, |i| &s[i + sep.len()..])))
}

fn f_uppercase(args: Vec<Option<V>>, input: Option<&V>, _: &Cx<'_>) -> R {
    match first_or_context(&args, input) {
        None => Ok(None),
        Some(V::Str(s)) => some(V::str(s.to_uppercase())),
        Some(other) => Err(type_error("uppercase", 0, other)),
    }
}

fn f_lowercase(args: Vec<Option<V>>, input: Option<&V>, _: &Cx<'_>) -> R {
    match first_or_context(&args, input) {
        None => Ok(None),
        Some(V::Str(s)) => some(V::str(s.to_lowercase())),
        Some(other) => Err(type_error("lowercase", 0, other)),
    }
}

fn f_trim(args: Vec<Option<V>>, input: Option<&V>, _: &Cx<'_>) -> R {
    match first_or_context(&args, input) {
        None => Ok(None),
        Some(V::Str(s)) => some(V::str(s.split_whitespace().collect::<Vec<_>>().join(" "))),
        Some(other) => Err(type_error("trim", 0, other)),
    }
}

fn f_pad(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let Some(s) = str_arg("pad", &args, 0)? else {
        return Ok(None);
    };
    let width = num_arg("pad", &args, 1)?.unwrap_or(0.0);
    let fill = str_arg("pad", &args, 2)?
        .filter(|f| !f.is_empty())
        .unwrap_or(" ");
    let have = s.chars().count();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let want = width.abs() as usize;
    if want <= have {
        return some(V::str(s));
    }
    let padding: String = fill.chars().cycle().take(want - have).collect();
    some(V::str(if width < 0.0 {
        format!("{padding}{s}")
    } else {
        format!("{s}{padding}")
    }))
}

fn f_contains(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let Some(s) = str_arg("contains", &args, 0)? else {
        return Ok(None);
    };
    match arg(&args, 1) {
        Some(V::Str(p)) => some(V::Bool(s.contains(&**p))),
        Some(V::Func(f)) => match &**f {
            Func::Regex(r) => some(V::Bool(r.is_match(s))),
            _ => Err(type_error("contains", 1, &V::Func(f.clone()))),
        },
        Some(other) => Err(type_error("contains", 1, other)),
        None => Ok(None),
    }
}

fn f_split(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let Some(s) = str_arg("split", &args, 0)? else {
        return Ok(None);
    };
    let limit = match num_arg("split", &args, 2)? {
        Some(l) if l < 0.0 => {
            return Err(Error::with_value(
                "D3020",
                "Third argument of split function must evaluate to a positive number",
                &V::Num(l),
            ));
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some(l) => Some(l.floor() as usize),
        None => None,
    };
    let parts: Vec<String> = match arg(&args, 1) {
        Some(V::Str(sep)) if sep.is_empty() => s.chars().map(String::from).collect(),
        Some(V::Str(sep)) => s.split(&**sep).map(str::to_owned).collect(),
        Some(V::Func(f)) => match &**f {
            Func::Regex(r) => r.split(s).map(str::to_owned).collect(),
            _ => return Err(type_error("split", 1, &V::Func(f.clone()))),
        },
        Some(other) => return Err(type_error("split", 1, other)),
        None => return Ok(None),
    };
    let parts = parts
        .into_iter()
        .take(limit.unwrap_or(usize::MAX))
        .map(V::str)
        .collect();
    some(V::array(parts))
}

fn f_join(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let Some(v) = arg(&args, 0) else {
        return Ok(None);
    };
    let sep = str_arg("join", &args, 1)?.unwrap_or("");
    let mut parts = Vec::new();
    for item in list(Some(v)) {
        match item {
            V::Str(s) => parts.push(s.to_string()),
            other => return Err(type_error("join", 0, &other)),
        }
    }
    some(V::str(parts.join(sep)))
}

fn f_replace(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let Some(s) = str_arg("replace", &args, 0)? else {
        return Ok(None);
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let limit = num_arg("replace", &args, 3)?.map(|l| l.max(0.0) as usize);
    let replacement = str_arg("replace", &args, 2)?;
    match arg(&args, 1) {
        Some(V::Str(p)) if p.is_empty() => Err(Error::new(
            "D3010",
            "Second argument of replace function cannot be an empty string",
        )),
        Some(V::Str(p)) => {
            let r = replacement.ok_or_else(|| type_error("replace", 2, &V::Null))?;
            some(V::str(match limit {
                Some(n) => s.replacen(&**p, r, n),
                None => s.replace(&**p, r),
            }))
        }
        Some(V::Func(f)) => match &**f {
            Func::Regex(re) => {
                let r = replacement.ok_or_else(|| type_error("replace", 2, &V::Null))?;
                // JavaScript's `$1` groups read the same in Rust's replacement syntax, once
                // `$$` (a literal dollar) is escaped as Rust wants it.
                let r = r.replace("$$", "$$$$");
                some(V::str(
                    re.replacen(s, limit.unwrap_or(0), r.as_str()).into_owned(),
                ))
            }
            _ => Err(type_error("replace", 1, &V::Func(f.clone()))),
        },
        Some(other) => Err(type_error("replace", 1, other)),
        None => Ok(None),
    }
}

/// A regular expression's match object (`match`, `index`, `groups`), from `from`.
pub(super) fn regex_match(r: &regex::Regex, s: Option<&V>, from: usize) -> Option<V> {
    let Some(V::Str(s)) = s else {
        return None;
    };
    let caps = r.captures_at(s, from)?;
    let whole = caps.get(0)?;
    let mut m = IndexMap::new();
    m.insert("match".to_owned(), V::str(whole.as_str()));
    #[allow(clippy::cast_precision_loss)]
    m.insert(
        "index".to_owned(),
        V::Num(s[..whole.start()].chars().count() as f64),
    );
    m.insert(
        "groups".to_owned(),
        V::array(
            caps.iter()
                .skip(1)
                .map(|g| V::str(g.map_or("", |g| g.as_str())))
                .collect(),
        ),
    );
    Some(V::Obj(Rc::new(m)))
}

fn f_match(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let Some(s) = str_arg("match", &args, 0)? else {
        return Ok(None);
    };
    let Some(V::Func(f)) = arg(&args, 1) else {
        return Err(type_error("match", 1, arg(&args, 1).unwrap_or(&V::Null)));
    };
    let Func::Regex(r) = &**f else {
        return Err(type_error("match", 1, &V::Func(f.clone())));
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let limit = num_arg("match", &args, 2)?.map_or(usize::MAX, |l| l.max(0.0) as usize);
    let mut out = Vec::new();
    let mut from = 0;
    while out.len() < limit && from <= s.len() {
        let Some(m) = regex_match(r, Some(&V::str(s)), from) else {
            break;
        };
        let Some(whole) = r.find_at(s, from) else {
            break;
        };
        from = if whole.end() > whole.start() {
            whole.end()
        } else {
            whole.end() + s[whole.end()..].chars().next().map_or(1, char::len_utf8)
        };
        out.push(m);
    }
    Ok(Some(V::seq(out)))
}

// --- numbers ---

fn f_number(args: Vec<Option<V>>, input: Option<&V>, _: &Cx<'_>) -> R {
    match first_or_context(&args, input) {
        None => Ok(None),
        Some(V::Num(n)) => some(V::Num(*n)),
        Some(V::Bool(b)) => some(V::Num(if *b { 1.0 } else { 0.0 })),
        Some(V::Str(s)) => {
            let t = s.trim();
            let parsed = if let Some(h) = t.strip_prefix("0x") {
                i64::from_str_radix(h, 16).ok().map(|n| n as f64)
            } else if let Some(b) = t.strip_prefix("0b") {
                i64::from_str_radix(b, 2).ok().map(|n| n as f64)
            } else if let Some(o) = t.strip_prefix("0o") {
                i64::from_str_radix(o, 8).ok().map(|n| n as f64)
            } else if t.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c)) && !t.is_empty()
            {
                t.parse::<f64>().ok()
            } else {
                None
            };
            match parsed {
                Some(n) if n.is_finite() => some(V::Num(n)),
                _ => Err(Error::with_value(
                    "D3030",
                    "Unable to cast value to a number",
                    &V::str(&**s),
                )),
            }
        }
        Some(other) => Err(Error::with_value(
            "D3030",
            "Unable to cast value to a number",
            other,
        )),
    }
}

fn unary_num(name: &str, args: &[Option<V>], f: impl Fn(f64) -> f64) -> R {
    Ok(num_arg(name, args, 0)?.map(|n| V::Num(f(n))))
}

fn f_abs(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    unary_num("abs", &args, f64::abs)
}

fn f_floor(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    unary_num("floor", &args, f64::floor)
}

fn f_ceil(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    unary_num("ceil", &args, f64::ceil)
}

/// `$round`: half to even ("bankers' rounding"), at `precision` decimal places.
/// Rounds to an integer, a half to the even neighbour.
pub(super) fn round_half_even(v: f64) -> f64 {
    let mut r = v.round();
    if (v - v.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r -= v.signum();
    }
    r
}

fn f_round(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let Some(n) = num_arg("round", &args, 0)? else {
        return Ok(None);
    };
    #[allow(clippy::cast_possible_truncation)]
    let precision = num_arg("round", &args, 1)?.unwrap_or(0.0) as i32;
    some(V::Num(round_to(n, precision)))
}

/// `$round(n, precision)`: half to even at `precision` decimal places.
pub(super) fn round_to(n: f64, precision: i32) -> f64 {
    // Shift the decimal point in the number's text, as the reference does, not by
    // multiplying (which would add binary noise).
    let shift = |x: f64, by: i32| -> f64 {
        let text = format!("{x:e}");
        let (m, e) = text.split_once('e').unwrap_or((&text, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        format!("{m}e{}", e + by).parse().unwrap_or(x)
    };
    let r = shift(round_half_even(shift(n, precision)), -precision);
    if r == 0.0 { 0.0 } else { r }
}

fn f_power(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let (Some(b), Some(e)) = (num_arg("power", &args, 0)?, num_arg("power", &args, 1)?) else {
        return Ok(None);
    };
    let r = b.powf(e);
    if !r.is_finite() {
        return Err(Error::with_value(
            "D3061",
            "The power function has resulted in a value that cannot be represented as a JSON number",
            &V::Num(b),
        ));
    }
    some(V::Num(r))
}

fn f_sqrt(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    match num_arg("sqrt", &args, 0)? {
        None => Ok(None),
        Some(n) if n < 0.0 => Err(Error::with_value(
            "D3060",
            "The sqrt function cannot be applied to a negative number",
            &V::Num(n),
        )),
        Some(n) => some(V::Num(n.sqrt())),
    }
}

/// `$random([seed])`: from the host's seeded source, or from `seed` when given (AWS's
/// addition).
fn f_random(args: Vec<Option<V>>, _: Option<&V>, cx: &Cx<'_>) -> R {
    let seed = num_arg("random", &args, 0)?;
    some(V::Num(cx.host.random(seed)))
}

fn f_sum(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    if arg(&args, 0).is_none() {
        return Ok(None);
    }
    some(V::Num(numbers("sum", arg(&args, 0))?.iter().sum()))
}

fn f_max(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let ns = numbers("max", arg(&args, 0))?;
    Ok(ns.into_iter().reduce(f64::max).map(V::Num))
}

fn f_min(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let ns = numbers("min", arg(&args, 0))?;
    Ok(ns.into_iter().reduce(f64::min).map(V::Num))
}

fn f_average(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let ns = numbers("average", arg(&args, 0))?;
    #[allow(clippy::cast_precision_loss)]
    Ok((!ns.is_empty()).then(|| V::Num(ns.iter().sum::<f64>() / ns.len() as f64)))
}

fn f_count(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    #[allow(clippy::cast_precision_loss)]
    some(V::Num(list(arg(&args, 0)).len() as f64))
}

// --- arrays ---

fn f_append(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let mut args = args.into_iter();
    Ok(append(args.next().flatten(), args.next().flatten()))
}

fn f_reverse(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let Some(v) = arg(&args, 0) else {
        return Ok(None);
    };
    let mut items = list(Some(v));
    items.reverse();
    some(V::array(items))
}

fn f_sort(args: Vec<Option<V>>, input: Option<&V>, cx: &Cx<'_>) -> R {
    let Some(v) = arg(&args, 0) else {
        return Ok(None);
    };
    let mut items = list(Some(v));
    if let Some(f) = func_arg("sort", &args, 1)? {
        // A stable merge sort on `f(a, b)`: true when a goes after b.
        let mut err = None;
        let mut sorted: Vec<V> = Vec::with_capacity(items.len());
        for item in items {
            let mut at = sorted.len();
            while at > 0 {
                match apply(
                    &f,
                    vec![Some(sorted[at - 1].clone()), Some(item.clone())],
                    input,
                    cx,
                ) {
                    Ok(r) if boolean(r.as_ref()) => at -= 1,
                    Ok(_) => break,
                    Err(e) => {
                        err = Some(e);
                        break;
                    }
                }
            }
            sorted.insert(at, item);
        }
        if let Some(e) = err {
            return Err(e);
        }
        return some(V::array(sorted));
    }
    if items.iter().all(|i| matches!(i, V::Num(_))) {
        items.sort_by(|a, b| {
            a.as_num()
                .partial_cmp(&b.as_num())
                .unwrap_or(Ordering::Equal)
        });
    } else if items.iter().all(|i| matches!(i, V::Str(_))) {
        items.sort_by(|a, b| match (a, b) {
            (V::Str(x), V::Str(y)) => compare_strings(x, y),
            _ => Ordering::Equal,
        });
    } else {
        return Err(Error::new(
            "D3070",
            "The single argument form of the sort function can only be applied to an array of strings or an array of numbers.  Use the second argument to specify a comparison function",
        ));
    }
    some(V::array(items))
}

fn f_distinct(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let Some(v) = arg(&args, 0) else {
        return Ok(None);
    };
    if !v.is_array() {
        return some(v.clone());
    }
    let mut out: Vec<V> = Vec::new();
    for item in list(Some(v)) {
        if !out.iter().any(|o| deep_equal(o, &item)) {
            out.push(item);
        }
    }
    some(V::array(out))
}

fn f_zip(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let lists: Vec<Vec<V>> = args.iter().map(|a| list(a.as_ref())).collect();
    let n = lists.iter().map(Vec::len).min().unwrap_or(0);
    some(V::array(
        (0..n)
            .map(|i| V::array(lists.iter().map(|l| l[i].clone()).collect()))
            .collect(),
    ))
}

// --- objects ---

fn f_keys(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let mut keys: Vec<V> = Vec::new();
    for item in list(arg(&args, 0)) {
        if let V::Obj(m) = item {
            for k in m.keys() {
                if !keys.iter().any(|x| matches!(x, V::Str(s) if **s == **k)) {
                    keys.push(V::str(k.as_str()));
                }
            }
        }
    }
    Ok(Some(V::seq(keys)))
}

fn f_lookup(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let Some(key) = str_arg("lookup", &args, 1)? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for item in list(arg(&args, 0)) {
        if let V::Obj(m) = item
            && let Some(v) = m.get(key)
        {
            match v {
                V::Arr(a, _) => out.extend(a.iter().cloned()),
                other => out.push(other.clone()),
            }
        }
    }
    Ok(Some(V::seq(out)))
}

fn f_merge(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let Some(v) = arg(&args, 0) else {
        return Ok(None);
    };
    let mut out = IndexMap::new();
    for item in list(Some(v)) {
        match item {
            V::Obj(m) => out.extend(m.iter().map(|(k, v)| (k.clone(), v.clone()))),
            other => return Err(type_error("merge", 0, &other)),
        }
    }
    some(V::Obj(Rc::new(out)))
}

fn f_spread(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let Some(v) = arg(&args, 0) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for item in list(Some(v)) {
        match item {
            V::Obj(m) => out.extend(
                m.iter()
                    .map(|(k, v)| V::Obj(Rc::new(IndexMap::from([(k.clone(), v.clone())])))),
            ),
            other => out.push(other),
        }
    }
    Ok(Some(V::seq(out)))
}

fn f_each(args: Vec<Option<V>>, input: Option<&V>, cx: &Cx<'_>) -> R {
    let Some(V::Obj(m)) = arg(&args, 0) else {
        return Ok(None);
    };
    let f = func_arg("each", &args, 1)?.ok_or_else(|| type_error("each", 1, &V::Null))?;
    let mut out = Vec::new();
    for (k, v) in m.iter() {
        if let Some(r) = apply(&f, entry_args(&f, k, v, m), input, cx)? {
            out.push(r);
        }
    }
    Ok(Some(V::seq(out)))
}

/// The arguments `$each` and `$sift` give their function for one entry of `object`: the
/// value, the key and the object, as many as the function takes.
pub(super) fn entry_args(
    f: &Func,
    key: &str,
    value: &V,
    object: &Rc<IndexMap<String, V>>,
) -> Vec<Option<V>> {
    let mut call = vec![
        Some(value.clone()),
        Some(V::str(key)),
        Some(V::Obj(object.clone())),
    ];
    call.truncate(arity(f).max(1));
    call
}

// --- booleans and types ---

fn f_exists(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    some(V::Bool(arg(&args, 0).is_some()))
}

fn f_boolean(args: Vec<Option<V>>, input: Option<&V>, _: &Cx<'_>) -> R {
    Ok(first_or_context(&args, input).map(|v| V::Bool(boolean(Some(v)))))
}

fn f_not(args: Vec<Option<V>>, input: Option<&V>, _: &Cx<'_>) -> R {
    Ok(first_or_context(&args, input).map(|v| V::Bool(!boolean(Some(v)))))
}

fn f_type(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    Ok(arg(&args, 0).map(|v| V::str(v.type_name())))
}

// --- higher-order functions ---

/// The arguments `$map`, `$filter` and `$single` pass: the item, then its index and the array
/// when the function takes them.
fn hof_args(f: &Func, item: &V, index: usize, all: &V) -> Vec<Option<V>> {
    #[allow(clippy::cast_precision_loss)]
    let mut a = vec![
        Some(item.clone()),
        Some(V::Num(index as f64)),
        Some(all.clone()),
    ];
    a.truncate(arity(f).clamp(1, 3));
    a
}

/// An item and what a function gave for it.
type ItemResult = (V, Option<V>);

/// Each item of the array argument with what the function argument gives for it (`$map`,
/// `$filter`); `None` when the array is absent.
fn with_results(
    name: &str,
    args: &[Option<V>],
    input: Option<&V>,
    cx: &Cx<'_>,
) -> Result<Option<Vec<ItemResult>>, Error> {
    let Some(v) = arg(args, 0) else {
        return Ok(None);
    };
    let f = func_arg(name, args, 1)?.ok_or_else(|| type_error(name, 1, &V::Null))?;
    let items = list(Some(v));
    let all = V::array(items.clone());
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let r = apply(&f, hof_args(&f, &item, i, &all), input, cx)?;
        out.push((item, r));
    }
    Ok(Some(out))
}

fn f_map(args: Vec<Option<V>>, input: Option<&V>, cx: &Cx<'_>) -> R {
    Ok(with_results("map", &args, input, cx)?
        .map(|pairs| V::seq(pairs.into_iter().filter_map(|(_, r)| r).collect())))
}

fn f_filter(args: Vec<Option<V>>, input: Option<&V>, cx: &Cx<'_>) -> R {
    Ok(with_results("filter", &args, input, cx)?.map(|pairs| {
        V::seq(
            pairs
                .into_iter()
                .filter(|(_, r)| boolean(r.as_ref()))
                .map(|(item, _)| item)
                .collect(),
        )
    }))
}

fn f_single(args: Vec<Option<V>>, input: Option<&V>, cx: &Cx<'_>) -> R {
    let Some(v) = arg(&args, 0) else {
        return Ok(None);
    };
    let items = list(Some(v));
    let all = V::array(items.clone());
    let f = func_arg("single", &args, 1)?;
    let mut found = None;
    for (i, item) in items.iter().enumerate() {
        let yes = match &f {
            Some(f) => boolean(apply(f, hof_args(f, item, i, &all), input, cx)?.as_ref()),
            None => true,
        };
        if yes {
            if found.is_some() {
                return Err(Error::new(
                    "D3138",
                    "The $single() function expected exactly 1 matching result.  Instead it matched more.",
                ));
            }
            found = Some(item.clone());
        }
    }
    found.map(Some).ok_or_else(|| {
        Error::new(
            "D3139",
            "The $single() function expected exactly 1 matching result.  Instead it matched 0.",
        )
    })
}

fn f_reduce(args: Vec<Option<V>>, input: Option<&V>, cx: &Cx<'_>) -> R {
    let Some(v) = arg(&args, 0) else {
        return Ok(None);
    };
    let f = func_arg("reduce", &args, 1)?.ok_or_else(|| type_error("reduce", 1, &V::Null))?;
    if arity(&f) < 2 {
        return Err(Error::new(
            "D3050",
            "The second argument of reduce function must be a function with at least two arguments",
        ));
    }
    let items = list(Some(v));
    let mut iter = items.iter().enumerate();
    let mut acc = match arg(&args, 2) {
        Some(init) => Some(init.clone()),
        None => iter.next().map(|(_, v)| v.clone()),
    };
    let all = V::array(items.clone());
    for (i, item) in iter {
        #[allow(clippy::cast_precision_loss)]
        let mut call = vec![
            acc,
            Some(item.clone()),
            Some(V::Num(i as f64)),
            Some(all.clone()),
        ];
        call.truncate(arity(&f).clamp(2, 4));
        acc = apply(&f, call, input, cx)?;
    }
    Ok(acc)
}

// --- time, identity and AWS's additions ---

fn f_millis(_: Vec<Option<V>>, _: Option<&V>, cx: &Cx<'_>) -> R {
    #[allow(clippy::cast_precision_loss)]
    some(V::Num(cx.host.now().timestamp_millis() as f64))
}

fn f_uuid(_: Vec<Option<V>>, _: Option<&V>, cx: &Cx<'_>) -> R {
    some(V::str(cx.host.uuid()))
}

/// AWS's `$partition(array, size)`: the array in chunks of `size`.
fn f_partition(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let items = list(arg(&args, 0));
    let size = num_arg("partition", &args, 1)?.unwrap_or(0.0);
    if size < 1.0 || size.fract() != 0.0 {
        return Err(Error::new(
            "States.QueryEvaluationError",
            "The chunk size argument of $partition must be a positive integer",
        ));
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let chunks = items
        .chunks(size as usize)
        .map(|c| V::array(c.to_vec()))
        .collect();
    some(V::array(chunks))
}

/// AWS's `$range(start, end, step)`: numbers from `start` up to `end` (inclusive) by `step`.
fn f_range(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let (Some(start), Some(end), Some(step)) = (
        num_arg("range", &args, 0)?,
        num_arg("range", &args, 1)?,
        num_arg("range", &args, 2)?,
    ) else {
        return Ok(None);
    };
    if step == 0.0 {
        return Err(Error::new(
            "States.QueryEvaluationError",
            "The step argument of $range must not be zero",
        ));
    }
    let mut out = Vec::new();
    let mut x = start;
    while (step > 0.0 && x <= end) || (step < 0.0 && x >= end) {
        out.push(V::Num(x));
        x += step;
        if out.len() > 1000 {
            return Err(Error::new(
                "States.QueryEvaluationError",
                "The $range function produces at most 1000 items",
            ));
        }
    }
    // A sequence, as AWS gives it: one number stands for itself.
    Ok(Some(V::seq(out)))
}

/// AWS's `$hash(value, algorithm)`: the hex digest of a string.
fn f_hash(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    use sha2::Digest as _;
    let Some(s) = str_arg("hash", &args, 0)? else {
        return Ok(None);
    };
    let algorithm = str_arg("hash", &args, 1)?.unwrap_or("SHA-256");
    let bytes = s.as_bytes();
    let digest: Vec<u8> = match algorithm {
        "MD5" => md5::Md5::digest(bytes).to_vec(),
        "SHA-1" => sha1::Sha1::digest(bytes).to_vec(),
        "SHA-256" => sha2::Sha256::digest(bytes).to_vec(),
        "SHA-384" => sha2::Sha384::digest(bytes).to_vec(),
        "SHA-512" => sha2::Sha512::digest(bytes).to_vec(),
        other => {
            return Err(Error::new(
                "States.QueryEvaluationError",
                format!(
                    "The hash algorithm '{other}' is not one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"
                ),
            ));
        }
    };
    some(V::str(
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
    ))
}

/// AWS's `$parse(text)`: a JSON string as the value it holds.
fn f_parse(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let Some(s) = str_arg("parse", &args, 0)? else {
        return Ok(None);
    };
    let v: serde_json::Value = serde_json::from_str(s).map_err(|e| {
        Error::new(
            "States.QueryEvaluationError",
            format!("The argument of $parse is not valid JSON: {e}"),
        )
    })?;
    some(V::from_json(&v))
}

fn f_error(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let message = str_arg("error", &args, 0)?.unwrap_or("$error() function evaluated");
    Err(Error::new("D3137", message))
}

fn f_assert(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    match arg(&args, 0) {
        Some(V::Bool(true)) => Ok(None),
        Some(V::Bool(false)) => Err(Error::new(
            "D3141",
            str_arg("assert", &args, 1)?.unwrap_or("$assert() statement failed"),
        )),
        other => Err(type_error("assert", 0, other.unwrap_or(&V::Null))),
    }
}
