//! Reading text with an XPath picture, as the reference does: `$parseInteger` (digits,
//! letters, roman numerals, words) and `$toMillis` with a date-time picture, with the
//! reference's rules for which components a timestamp needs and which default from the host's
//! clock (`D3136` otherwise), and its quirks (a 0 counts as not given; a two-digit year is 19xx).

use super::Error;
use super::pictures::{
    Case, Component, DAYS, DECADES, FEW, IntegerFormat, MAGNITUDES, MONTHS, Marker, ORDINALS, Part,
    Primary, analyse_date_time, analyse_integer, component,
};
use chrono::{DateTime, Datelike, NaiveDate, Utc};

/// The reference's word values: every cardinal and ordinal word, in lower case.
fn word_value(word: &str) -> Option<f64> {
    let lower = |w: &str| w.to_lowercase();
    for (i, w) in FEW.iter().enumerate() {
        if lower(w) == word || lower(ORDINALS[i]) == word {
            #[allow(clippy::cast_precision_loss)]
            return Some(i as f64);
        }
    }
    for (i, w) in DECADES.iter().enumerate() {
        let w = lower(w);
        #[allow(clippy::cast_precision_loss)]
        let value = ((i + 2) * 10) as f64;
        if w == word || format!("{}ieth", &w[..w.len() - 1]) == word {
            return Some(value);
        }
    }
    if word == "hundredth" {
        return Some(100.0);
    }
    for (i, w) in MAGNITUDES.iter().enumerate() {
        let w = lower(w);
        if w == word || format!("{w}th") == word {
            return Some(10f64.powi(i32::try_from((i + 1) * 3).unwrap_or(0)));
        }
    }
    None
}

/// The reference's `wordsToNumber` (an unknown word makes the result NaN, as there).
fn words_to_number(text: &str) -> f64 {
    // Compiled once: `$parseInteger` with a words picture may run for every item of a Map.
    static SPLITTER: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r",\s|\sand\s|[\s\\-]").unwrap_or_else(|_| unreachable!())
    });
    let splitter = &*SPLITTER;
    let mut segs = vec![0.0];
    for part in splitter.split(text) {
        match word_value(part) {
            Some(v) if v < 100.0 => {
                let mut top = segs.pop().unwrap_or(0.0);
                if top >= 1000.0 {
                    segs.push(top);
                    top = 0.0;
                }
                segs.push(top + v);
            }
            other => {
                let top = segs.pop().unwrap_or(0.0);
                segs.push(top * other.unwrap_or(f64::NAN));
            }
        }
    }
    segs.iter().sum()
}

fn roman_to_decimal(roman: &str) -> f64 {
    let (mut decimal, mut max) = (0.0, 1.0);
    for c in roman.chars().rev() {
        let value = match c {
            'M' => 1000.0,
            'D' => 500.0,
            'C' => 100.0,
            'L' => 50.0,
            'X' => 10.0,
            'V' => 5.0,
            'I' => 1.0,
            _ => f64::NAN,
        };
        if value < max {
            decimal -= value;
        } else {
            max = value;
            decimal += value;
        }
    }
    decimal
}

fn letters_to_decimal(letters: &str, a: char) -> f64 {
    let units: Vec<u16> = letters.encode_utf16().collect();
    let mut decimal = 0.0;
    for (i, u) in units.iter().rev().enumerate() {
        let digit = f64::from(*u) - f64::from(u32::from(a)) + 1.0;
        decimal += digit * 26f64.powi(i32::try_from(i).unwrap_or(i32::MAX));
    }
    decimal
}

/// JavaScript's `parseInt(text)` in base 10: NaN when no digits lead.
fn parse_int(text: &str) -> f64 {
    let t = text.trim_start();
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'-') => (-1.0, &t[1..]),
        Some(b'+') => (1.0, &t[1..]),
        _ => (1.0, t),
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse::<f64>().map_or(f64::NAN, |d| sign * d)
}

/// Reads an integer written as `f` says (the reference's `generateRegex(...).parse`).
fn parse_integer_with(value: &str, f: &IntegerFormat) -> Result<f64, Error> {
    Ok(match &f.primary {
        Primary::Letters => {
            letters_to_decimal(value, if f.case == Case::Upper { 'A' } else { 'a' })
        }
        Primary::Roman => roman_to_decimal(&if f.case == Case::Upper {
            value.to_owned()
        } else {
            value.to_uppercase()
        }),
        Primary::Words => words_to_number(&value.to_lowercase()),
        Primary::Decimal => {
            let mut digits = value.to_owned();
            if f.ordinal {
                let cut = digits.encode_utf16().count().saturating_sub(2);
                digits =
                    String::from_utf16_lossy(&digits.encode_utf16().take(cut).collect::<Vec<_>>());
            }
            // As in the reference, regular separators are taken to be commas.
            if f.regular.is_some() {
                digits = digits.replace(',', "");
            } else {
                for s in &f.separators {
                    digits = digits.replace(s.character, "");
                }
            }
            if f.zero != 0x30 {
                digits = digits
                    .chars()
                    .map(|c| {
                        u32::from(c)
                            .checked_sub(f.zero)
                            .and_then(|d| char::from_u32(d + 0x30))
                            .unwrap_or(c)
                    })
                    .collect();
            }
            parse_int(&digits)
        }
        Primary::Sequence(token) => {
            return Err(Error::new(
                "D3130",
                format!(
                    "Formatting or parsing an integer as a sequence starting with {token} is not supported by this implementation"
                ),
            ));
        }
    })
}

/// `$parseInteger(value, picture)`.
pub(super) fn parse_integer(value: &str, picture: &str) -> Result<f64, Error> {
    parse_integer_with(value, &analyse_integer(picture)?)
}

/// The regular expression an integer format matches, with `n` digits when the picture fixes
/// them.
fn integer_regex(f: &IntegerFormat, n: Option<u32>) -> Result<String, Error> {
    let occurrences = match n.filter(|n| *n > 0) {
        Some(n) if f.optional == 0 => format!("{{{n}}}"),
        Some(n) => format!(
            "{{{},{n}}}",
            i64::from(n) - i64::try_from(f.optional).unwrap_or(0)
        ),
        None => "+".into(),
    };
    Ok(match &f.primary {
        Primary::Letters if f.case == Case::Upper => "[A-Z]+".into(),
        Primary::Letters => "[a-z]+".into(),
        Primary::Roman if f.case == Case::Upper => "[MDCLXVI]+".into(),
        Primary::Roman => "[mdclxvi]+".into(),
        Primary::Words => {
            let mut words: Vec<String> = Vec::new();
            for (i, w) in FEW.iter().enumerate() {
                words.push(w.to_lowercase());
                words.push(ORDINALS[i].to_lowercase());
            }
            for w in DECADES {
                let w = w.to_lowercase();
                words.push(format!("{}ieth", &w[..w.len() - 1]));
                words.push(w);
            }
            words.push("hundredth".into());
            for w in MAGNITUDES {
                let w = w.to_lowercase();
                words.push(format!("{w}th"));
                words.push(w);
            }
            words.push("and".into());
            format!("(?:{}|[\\-, ])+", words.join("|"))
        }
        Primary::Decimal => {
            let mut r = format!("[0-9]{occurrences}");
            if f.ordinal {
                r.push_str("(?:th|st|nd|rd)");
            }
            r
        }
        Primary::Sequence(token) => {
            return Err(Error::new(
                "D3130",
                format!(
                    "Formatting or parsing an integer as a sequence starting with {token} is not supported by this implementation"
                ),
            ));
        }
    })
}

/// How one part of a date-time picture reads its text.
enum Reader<'a> {
    Literal,
    Zone { separator: Option<char>, gmt: bool },
    Integer(&'a IntegerFormat),
    Names(Vec<(String, f64)>),
}

impl Reader<'_> {
    fn read(&self, text: &str) -> Result<Option<f64>, Error> {
        Ok(match self {
            Reader::Literal => None,
            Reader::Zone { separator, gmt } => {
                let text = if *gmt {
                    text.get(3..).unwrap_or("")
                } else {
                    text
                };
                let (hours, minutes) = match separator.and_then(|s| text.split_once(s)) {
                    Some((h, m)) => (parse_int(h), parse_int(m)),
                    None => {
                        if text.chars().count() <= 3 {
                            (parse_int(text), 0.0)
                        } else {
                            (parse_int(&text[..3]), parse_int(&text[3..]))
                        }
                    }
                };
                Some(hours * 60.0 + minutes)
            }
            Reader::Integer(f) => Some(parse_integer_with(text, f)?),
            Reader::Names(lookup) => lookup.iter().find(|(n, _)| n == text).map(|(_, v)| *v),
        })
    }
}

fn reader(m: &Marker) -> Result<(String, Reader<'_>), Error> {
    if m.component == 'Z' || m.component == 'z' {
        let separator = m.integer.as_ref().and_then(|f| f.regular).map(|(_, c)| c);
        let mut r = String::new();
        if m.component == 'z' {
            r.push_str("GMT");
        }
        r.push_str("[-+][0-9]+");
        if let Some(s) = separator {
            r.push_str(&regex::escape(&s.to_string()));
            r.push_str("[0-9]+");
        }
        return Ok((
            r,
            Reader::Zone {
                separator,
                gmt: m.component == 'z',
            },
        ));
    }
    if let Some(f) = &m.integer {
        return Ok((integer_regex(f, m.year_digits)?, Reader::Integer(f)));
    }
    let cut = |name: &str| match m.width {
        Some((_, Some(max))) if max > 0 => name.chars().take(max).collect(),
        _ => name.to_owned(),
    };
    let lookup: Vec<(String, f64)> = match m.component {
        'M' | 'x' => MONTHS
            .iter()
            .zip(1..)
            .map(|(n, i)| (cut(n), f64::from(i)))
            .collect(),
        'F' => DAYS
            .iter()
            .zip(0..)
            .skip(1)
            .map(|(n, i)| (cut(n), f64::from(i)))
            .collect(),
        'P' => [("am", 0.0), ("AM", 0.0), ("pm", 1.0), ("PM", 1.0)]
            .iter()
            .map(|(n, v)| ((*n).to_owned(), *v))
            .collect(),
        other => {
            return Err(Error::new(
                "D3133",
                format!(
                    "The 'name' modifier can only be applied to months and days in the date/time picture string, not {other}"
                ),
            ));
        }
    };
    Ok(("[a-zA-Z]+".into(), Reader::Names(lookup)))
}

/// JavaScript's `Date.UTC`: out-of-range fields carry over, and a year from 0 to 99 is 19xx.
fn date_utc(y: f64, m: f64, d: f64, h: f64, min: f64, s: f64, ms: f64) -> f64 {
    if [y, m, d, h, min, s, ms].iter().any(|v| !v.is_finite()) {
        return f64::NAN;
    }
    let y = y.trunc();
    let y = if (0.0..=99.0).contains(&y) {
        1900.0 + y
    } else {
        y
    };
    let months = y * 12.0 + m.trunc();
    let (year, month) = (months.div_euclid(12.0), months.rem_euclid(12.0));
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let Some(first) = NaiveDate::from_ymd_opt(year as i32, month as u32 + 1, 1) else {
        return f64::NAN;
    };
    #[allow(clippy::cast_precision_loss)]
    let day0 = first
        .and_hms_opt(0, 0, 0)
        .map_or(f64::NAN, |t| t.and_utc().timestamp_millis() as f64);
    day0 + (d.trunc() - 1.0) * 86_400_000.0
        + h.trunc() * 3_600_000.0
        + min.trunc() * 60_000.0
        + s.trunc() * 1000.0
        + ms.trunc()
}

/// `$toMillis(timestamp, picture)`: the reference's `parseDateTime`, its rules for what a
/// picture must give and what defaults from `now` included. `None` when the text does not
/// match the picture.
pub(super) fn parse_date_time(
    text: &str,
    picture: &str,
    now: &DateTime<Utc>,
) -> Result<Option<f64>, Error> {
    let parts = analyse_date_time(picture)?;
    let mut pattern = String::from("(?i)^");
    let mut readers = Vec::new();
    for p in &parts {
        let (r, reader) = match p {
            Part::Literal(s) => (regex::escape(s), Reader::Literal),
            Part::Marker(m) => {
                let (r, reader) = reader(m)?;
                (r, reader)
            }
        };
        pattern.push('(');
        pattern.push_str(&r);
        pattern.push(')');
        readers.push((p, reader));
    }
    pattern.push('$');
    let matcher = regex::Regex::new(&pattern).map_err(|e| {
        Error::new(
            "D3136",
            format!("The date/time picture string cannot be read: {e}"),
        )
    })?;
    let Some(caps) = matcher.captures(text) else {
        return Ok(None);
    };
    // Each component's value: `None` when not in the picture, NaN when unreadable.
    let mut values: std::collections::HashMap<char, Option<f64>> = std::collections::HashMap::new();
    for (i, (p, reader)) in readers.iter().enumerate() {
        if let Part::Marker(m) = p {
            let got = caps.get(i + 1).map_or("", |c| c.as_str());
            values.insert(m.component, reader.read(got)?);
        }
    }
    if values.is_empty() {
        return Ok(None);
    }
    // What the reference calls "specified": present and truthy (a 0 is not).
    let truthy = |c: char| matches!(values.get(&c), Some(Some(v)) if *v != 0.0 && !v.is_nan());
    let mask = |order: &str| {
        order
            .chars()
            .fold(0u32, |m, c| (m << 1) | u32::from(truthy(c)))
    };
    let is_type = |ty: u32, mask: u32| (!ty & mask) == 0 && (ty & mask) != 0;
    let dm = mask("YXMxWwdD");
    let date_a = is_type(161, dm);
    let date_b = !date_a && is_type(130, dm);
    let date_c = is_type(84, dm);
    let date_d = !date_c && is_type(72, dm);
    let tm = mask("PHhmsf");
    let time_a = is_type(23, tm);
    let time_b = !time_a && is_type(47, tm);
    let date_comps = if date_b {
        "YD"
    } else if date_c {
        "XxwF"
    } else if date_d {
        "XWF"
    } else {
        "YMD"
    };
    let time_comps = if time_b { "Phmsf" } else { "Hmsf" };
    let mut got: std::collections::HashMap<char, f64> = values
        .iter()
        .filter_map(|(k, v)| v.map(|v| (*k, v)))
        .collect();
    // A component in the picture whose text is unknown (a name not in the list) is undefined.
    for (k, v) in &values {
        if v.is_none() {
            got.remove(k);
        }
    }
    let (mut started, mut ended) = (false, false);
    for c in date_comps.chars().chain(time_comps.chars()) {
        match got.entry(c) {
            std::collections::hash_map::Entry::Occupied(_) => {
                started = true;
                if ended {
                    return Err(Error::new(
                        "D3136",
                        "The date/time picture string is missing specifiers required to parse the timestamp",
                    ));
                }
            }
            std::collections::hash_map::Entry::Vacant(slot) if started => {
                slot.insert(if "MDd".contains(c) { 1.0 } else { 0.0 });
                ended = true;
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(match component(now, c) {
                    Component::Number(n) => n,
                    Component::Word(w) => f64::from(u8::from(w == "pm")),
                    Component::None => 0.0,
                });
            }
        }
    }
    let value = |c: char| got.get(&c).copied().unwrap_or(f64::NAN);
    let mut month = if value('M') > 0.0 {
        value('M') - 1.0
    } else {
        0.0
    };
    let mut day = value('D');
    if date_b {
        let first = date_utc(value('Y'), 0.0, 1.0, 0.0, 0.0, 0.0, 0.0);
        #[allow(clippy::cast_possible_truncation)]
        let derived = DateTime::<Utc>::from_timestamp_millis(
            (first + (value('d') - 1.0) * 86_400_000.0) as i64,
        );
        if let Some(t) = derived {
            month = f64::from(t.month0());
            day = f64::from(t.day());
        }
    }
    if date_c || date_d {
        return Err(Error::new(
            "D3136",
            "Parsing a week date is not supported by the reference implementation either",
        ));
    }
    let mut hour = value('H');
    if time_b {
        hour = if value('h') == 12.0 { 0.0 } else { value('h') };
        if value('P') == 1.0 {
            hour += 12.0;
        }
    }
    let mut millis = date_utc(
        value('Y'),
        month,
        day,
        hour,
        value('m'),
        value('s'),
        value('f'),
    );
    let zone = got
        .get(&'Z')
        .or_else(|| got.get(&'z'))
        .copied()
        .unwrap_or(0.0);
    if zone != 0.0 && !zone.is_nan() {
        millis -= zone * 60_000.0;
    }
    Ok(Some(millis))
}
