//! The rest of JSONata 2.0's library: `$sift`, `$shuffle`, `$clone`, `$eval`, base 64 and URL
//! encoding, `$formatBase`, `$formatNumber` (in `decimal_format`), `$formatInteger`,
//! `$fromMillis` and `$now` (with pictures, in `pictures`), and `$toMillis` in ISO 8601.
//! Parsing with a picture (`$toMillis`, `$parseInteger`) is refused with `U0001` rather than
//! answered wrongly.

use super::Error;
use super::decimal_format::format_number;
use super::eval::{Cx, R, apply, eval};
use super::functions::{
    arg, boolean, entry_args, func_arg, num_arg, round_half_even, str_arg, type_error,
};
use super::picture_parsing::{parse_date_time, parse_integer};
use super::pictures::{format_date_time, format_integer};
use super::value::V;
use chrono::{NaiveDate, SecondsFormat};
use indexmap::IndexMap;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use std::rc::Rc;

/// What JavaScript's `encodeURIComponent` leaves as it is, besides letters and digits.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// What `encodeURI` leaves as it is: the component's set and the URL's reserved characters.
const URL: &AsciiSet = &COMPONENT
    .remove(b';')
    .remove(b',')
    .remove(b'/')
    .remove(b'?')
    .remove(b':')
    .remove(b'@')
    .remove(b'&')
    .remove(b'=')
    .remove(b'+')
    .remove(b'$')
    .remove(b'#');

pub(super) fn f_sift(args: Vec<Option<V>>, input: Option<&V>, cx: &Cx<'_>) -> R {
    let Some(V::Obj(m)) = arg(&args, 0) else {
        return Ok(None);
    };
    let f = func_arg("sift", &args, 1)?.ok_or_else(|| type_error("sift", 1, &V::Null))?;
    let mut out = IndexMap::new();
    for (k, v) in m.iter() {
        if boolean(apply(&f, entry_args(&f, k, v, m), input, cx)?.as_ref()) {
            out.insert(k.clone(), v.clone());
        }
    }
    Ok((!out.is_empty()).then(|| V::Obj(Rc::new(out))))
}

/// `$shuffle`: a Fisher-Yates shuffle on the host's random source (the executor's).
pub(super) fn f_shuffle(args: Vec<Option<V>>, _: Option<&V>, cx: &Cx<'_>) -> R {
    let mut items = match arg(&args, 0) {
        None => return Ok(None),
        Some(V::Arr(a, _)) => a.to_vec(),
        Some(other) => vec![other.clone()],
    };
    for i in (1..items.len()).rev() {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let j = (cx.host.random(None) * (i + 1) as f64) as usize;
        items.swap(i, j.min(i));
    }
    Ok(Some(V::array(items)))
}

/// `$clone`: values are immutable here, so a clone is the value itself.
pub(super) fn f_clone(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    Ok(arg(&args, 0).cloned())
}

/// `$eval(expr, context)`: parses and evaluates `expr` on `context` (else the input). The
/// expression sees the evaluation's top-level variables (`$states` and the workflow's), not the
/// local ones of the caller's lambdas, which the reference would also show it.
pub(super) fn f_eval(args: Vec<Option<V>>, input: Option<&V>, cx: &Cx<'_>) -> R {
    let Some(text) = str_arg("eval", &args, 0)? else {
        return Ok(None);
    };
    let tokens = super::lexer::tokens(text);
    let ast = tokens.and_then(super::parser::parse).map_err(|e| {
        Error::new(
            "D3120",
            format!("Syntax error in expression passed to function eval: {e}"),
        )
    })?;
    let context = if args.len() > 1 { arg(&args, 1) } else { input };
    eval(&ast, context, &cx.globals, cx).map_err(|e| {
        Error::new(
            "D3121",
            format!("Dynamic error evaluating the expression passed to function eval: {e}"),
        )
    })
}

/// `$base64encode`: the string's characters as bytes (the reference's `'binary'` encoding,
/// so a character above U+00FF keeps only its low byte).
pub(super) fn f_base64encode(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    use base64::Engine as _;
    let Some(s) = str_arg("base64encode", &args, 0)? else {
        return Ok(None);
    };
    #[allow(clippy::cast_possible_truncation)]
    let bytes: Vec<u8> = s.encode_utf16().map(|u| u as u8).collect();
    Ok(Some(V::str(
        base64::engine::general_purpose::STANDARD.encode(bytes),
    )))
}

/// `$base64decode`: each decoded byte a character (U+0000 to U+00FF).
pub(super) fn f_base64decode(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    use base64::Engine as _;
    let Some(s) = str_arg("base64decode", &args, 0)? else {
        return Ok(None);
    };
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let cleaned: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = engine.decode(cleaned).map_err(|e| {
        Error::new(
            "D3137",
            format!("The argument of $base64decode is not base 64: {e}"),
        )
    })?;
    Ok(Some(V::str(
        bytes.into_iter().map(char::from).collect::<String>(),
    )))
}

fn encode(name: &str, args: &[Option<V>], set: &'static AsciiSet) -> R {
    let Some(s) = str_arg(name, args, 0)? else {
        return Ok(None);
    };
    Ok(Some(V::str(utf8_percent_encode(s, set).to_string())))
}

pub(super) fn f_encode_url_component(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    encode("encodeUrlComponent", &args, COMPONENT)
}

pub(super) fn f_encode_url(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    encode("encodeUrl", &args, URL)
}

/// Decodes `%XX` escapes; `keep` are the characters `decodeURI` leaves escaped.
fn decode(name: &str, args: &[Option<V>], keep: &str) -> R {
    let Some(s) = str_arg(name, args, 0)? else {
        return Ok(None);
    };
    let malformed = || {
        Error::new(
            "D3140",
            format!("Malformed URL passed to ${name}(): \"{s}\""),
        )
    };
    // Every '%' must start a two-digit hexadecimal escape.
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut out = String::with_capacity(s.len());
    while i < bytes.len() {
        if bytes[i] != b'%' {
            let ch = s[i..].chars().next().ok_or_else(malformed)?;
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        // A run of escapes decodes as UTF-8 together.
        let start = i;
        while i < bytes.len() && bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or_else(malformed)?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(malformed());
            }
            i += 3;
        }
        let run = &s[start..i];
        let decoded = percent_decode_str(run)
            .decode_utf8()
            .map_err(|_| malformed())?;
        if keep.is_empty() {
            out.push_str(&decoded);
        } else {
            // decodeURI keeps the escapes of reserved characters.
            let mut at = 0;
            for ch in decoded.chars() {
                let width = ch.len_utf8() * 3;
                if ch.is_ascii() && keep.contains(ch) {
                    out.push_str(&run[at..at + 3]);
                } else {
                    out.push(ch);
                }
                at += width;
            }
        }
    }
    Ok(Some(V::str(out)))
}

pub(super) fn f_decode_url_component(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    decode("decodeUrlComponent", &args, "")
}

pub(super) fn f_decode_url(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    decode("decodeUrl", &args, ";,/?:@&=+$#")
}

/// `$formatBase(n, radix)`: `n` rounded (half to even) and written in base `radix` (2 to 36).
pub(super) fn f_format_base(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let Some(n) = num_arg("formatBase", &args, 0)? else {
        return Ok(None);
    };
    let radix = num_arg("formatBase", &args, 1)?.map_or(10.0, round_half_even);
    if !(2.0..=36.0).contains(&radix) {
        return Err(Error::with_value(
            "D3100",
            "The radix of the formatBase function must be between 2 and 36",
            &V::Num(radix),
        ));
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let radix = radix as u32;
    let n = round_half_even(n);
    #[allow(clippy::cast_possible_truncation)]
    let mut magnitude = n.abs() as u128;
    let mut digits = Vec::new();
    loop {
        #[allow(clippy::cast_possible_truncation)]
        let d = (magnitude % u128::from(radix)) as u32;
        digits.push(char::from_digit(d, radix).unwrap_or('0'));
        magnitude /= u128::from(radix);
        if magnitude == 0 {
            break;
        }
    }
    if n < 0.0 {
        digits.push('-');
    }
    Ok(Some(V::str(digits.iter().rev().collect::<String>())))
}

/// `$fromMillis(ms, picture, timezone)`: the timestamp, in ISO 8601 (UTC, milliseconds) or
/// as the picture says.
pub(super) fn f_from_millis(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let Some(V::Num(ms)) = arg(&args, 0) else {
        return Ok(None);
    };
    let picture = str_arg("fromMillis", &args, 1)?;
    let timezone = str_arg("fromMillis", &args, 2)?;
    Ok(Some(V::str(format_date_time(*ms, picture, timezone)?)))
}

/// `$toMillis(timestamp, picture)`: milliseconds since the epoch of an ISO 8601 date or
/// date-time (one without an offset is UTC, as on AWS, whose clock is UTC), or of a timestamp
/// written as the picture says (nothing when it does not match).
pub(super) fn f_to_millis(args: Vec<Option<V>>, _: Option<&V>, cx: &Cx<'_>) -> R {
    let Some(s) = str_arg("toMillis", &args, 0)? else {
        return Ok(None);
    };
    if let Some(picture) = str_arg("toMillis", &args, 1)? {
        return Ok(parse_date_time(s, picture, &cx.host.now())?.map(V::Num));
    }
    #[allow(clippy::cast_precision_loss)]
    iso_millis(s)
        .map(|ms| Some(V::Num(ms as f64)))
        .ok_or_else(|| {
            Error::with_value(
                "D3110",
                "The timestamp does not match the ISO 8601 format",
                &V::str(s),
            )
        })
}

/// `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, then optionally `THH:MM:SS`, a fraction and an offset.
fn iso_millis(s: &str) -> Option<i64> {
    let num = |t: &str| -> Option<u32> {
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.parse().ok())?
    };
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut parts = date.split('-');
    let year = parts.next().filter(|y| y.len() == 4).and_then(num)?;
    let month = parts
        .next()
        .map_or(Some(1), |m| num(m).filter(|_| m.len() == 2))?;
    let day = parts
        .next()
        .map_or(Some(1), |d| num(d).filter(|_| d.len() == 2))?;
    if parts.next().is_some() {
        return None;
    }
    #[allow(clippy::cast_possible_wrap)]
    let midnight = NaiveDate::from_ymd_opt(year as i32, month, day)?.and_hms_opt(0, 0, 0)?;
    let Some(time) = time else {
        return Some(midnight.and_utc().timestamp_millis());
    };
    // The clock, then a fraction, then an offset.
    let (clock, rest) = time.split_at(time.len().min(8));
    let hms: Vec<u32> = clock.split(':').map(num).collect::<Option<_>>()?;
    let [h, m, sec] = hms[..] else { return None };
    let (fraction, offset) = match rest.strip_prefix('.') {
        Some(r) => {
            let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            (&r[..end], &r[end..])
        }
        None => ("", rest),
    };
    let millis = format!("{fraction:0<3}")[..3].parse::<i64>().ok()?;
    let offset_secs: i64 = match offset {
        "" | "Z" => 0,
        o => {
            let sign = match o.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = o[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 {
                return None;
            }
            let hh = i64::from(num(&digits[..2])?);
            let mm = i64::from(num(&digits[2..])?);
            sign * (hh * 3600 + mm * 60)
        }
    };
    let at =
        midnight.and_utc().timestamp() + i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(sec)
            - offset_secs;
    Some(at * 1000 + millis)
}

/// `$now(picture, timezone)`: the host's time, in ISO 8601 or as the picture says.
pub(super) fn f_now(args: Vec<Option<V>>, _: Option<&V>, cx: &Cx<'_>) -> R {
    let now = cx.host.now();
    let picture = str_arg("now", &args, 0)?;
    let timezone = str_arg("now", &args, 1)?;
    if picture.is_none() && timezone.is_none() {
        return Ok(Some(V::str(
            now.to_rfc3339_opts(SecondsFormat::Millis, true),
        )));
    }
    #[allow(clippy::cast_precision_loss)]
    let ms = now.timestamp_millis() as f64;
    Ok(Some(V::str(format_date_time(ms, picture, timezone)?)))
}

/// `$formatNumber(value, picture, options)`.
pub(super) fn f_format_number(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let Some(n) = num_arg("formatNumber", &args, 0)? else {
        return Ok(None);
    };
    let picture = str_arg("formatNumber", &args, 1)?.unwrap_or("");
    let options: Vec<(String, String)> = match arg(&args, 2) {
        None => Vec::new(),
        Some(V::Obj(m)) => m
            .iter()
            .filter_map(|(k, v)| match v {
                V::Str(s) => Some((k.clone(), s.to_string())),
                _ => None,
            })
            .collect(),
        Some(other) => return Err(type_error("formatNumber", 2, other)),
    };
    Ok(Some(V::str(format_number(n, picture, &options)?)))
}

/// `$formatInteger(value, picture)`.
pub(super) fn f_format_integer(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let Some(n) = num_arg("formatInteger", &args, 0)? else {
        return Ok(None);
    };
    let picture = str_arg("formatInteger", &args, 1)?.unwrap_or("");
    Ok(Some(V::str(format_integer(n, picture)?)))
}

/// `$parseInteger(text, picture)`.
pub(super) fn f_parse_integer(args: Vec<Option<V>>, _: Option<&V>, _: &Cx<'_>) -> R {
    let Some(s) = str_arg("parseInteger", &args, 0)? else {
        return Ok(None);
    };
    let picture = str_arg("parseInteger", &args, 1)?.unwrap_or("");
    Ok(Some(V::Num(parse_integer(s, picture)?)))
}
