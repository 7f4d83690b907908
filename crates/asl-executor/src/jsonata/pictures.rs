//! XPath pictures, as the reference implements them: `$formatInteger`'s integer pictures
//! (decimal digits with grouping, letters, roman numerals, words, ordinals) and the date-time
//! pictures of `$fromMillis` and `$now` (`[Y0001]-[M01]-[D01]`, names, widths, time zones).
//! Reading text with a picture (`$toMillis`, `$parseInteger`) is in `picture_parsing`.

use super::Error;
use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

/// The first digit of each Unicode decimal digit family a picture may use.
const DECIMAL_GROUPS: [u32; 37] = [
    0x30, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
    0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80,
    0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
    0xFF10,
];

pub(super) const FEW: [&str; 20] = [
    "Zero",
    "One",
    "Two",
    "Three",
    "Four",
    "Five",
    "Six",
    "Seven",
    "Eight",
    "Nine",
    "Ten",
    "Eleven",
    "Twelve",
    "Thirteen",
    "Fourteen",
    "Fifteen",
    "Sixteen",
    "Seventeen",
    "Eighteen",
    "Nineteen",
];
pub(super) const ORDINALS: [&str; 20] = [
    "Zeroth",
    "First",
    "Second",
    "Third",
    "Fourth",
    "Fifth",
    "Sixth",
    "Seventh",
    "Eighth",
    "Ninth",
    "Tenth",
    "Eleventh",
    "Twelfth",
    "Thirteenth",
    "Fourteenth",
    "Fifteenth",
    "Sixteenth",
    "Seventeenth",
    "Eighteenth",
    "Nineteenth",
];
pub(super) const DECADES: [&str; 9] = [
    "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety", "Hundred",
];
pub(super) const MAGNITUDES: [&str; 4] = ["Thousand", "Million", "Billion", "Trillion"];
pub(super) const DAYS: [&str; 8] = [
    "",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
pub(super) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Case {
    Upper,
    Lower,
    Title,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Primary {
    Decimal,
    Letters,
    Roman,
    Words,
    /// A numbering sequence the reference does not support (`D3130`).
    Sequence(String),
}

#[derive(Debug, Clone)]
pub(super) struct Separator {
    pub(super) position: usize,
    pub(super) character: char,
}

/// An analysed integer picture.
#[derive(Debug, Clone)]
pub(super) struct IntegerFormat {
    pub(super) primary: Primary,
    pub(super) case: Case,
    pub(super) ordinal: bool,
    pub(super) zero: u32,
    pub(super) mandatory: usize,
    pub(super) optional: usize,
    /// `Some(every)` when the separators repeat regularly.
    pub(super) regular: Option<(usize, char)>,
    pub(super) separators: Vec<Separator>,
}

pub(super) fn analyse_integer(picture: &str) -> Result<IntegerFormat, Error> {
    let mut f = IntegerFormat {
        primary: Primary::Decimal,
        case: Case::Lower,
        ordinal: false,
        zero: 0x30,
        mandatory: 0,
        optional: 0,
        regular: None,
        separators: Vec::new(),
    };
    let primary = match picture.rfind(';') {
        None => picture,
        Some(i) => {
            f.ordinal = picture[i + 1..].starts_with('o');
            &picture[..i]
        }
    };
    match primary {
        "A" | "a" => {
            f.primary = Primary::Letters;
            f.case = if primary == "A" {
                Case::Upper
            } else {
                Case::Lower
            };
        }
        "I" | "i" => {
            f.primary = Primary::Roman;
            f.case = if primary == "I" {
                Case::Upper
            } else {
                Case::Lower
            };
        }
        "W" => (f.primary, f.case) = (Primary::Words, Case::Upper),
        "Ww" => (f.primary, f.case) = (Primary::Words, Case::Title),
        "w" => f.primary = Primary::Words,
        _ => {
            let mut zero: Option<u32> = None;
            let mut position = 0;
            // Right to left, to find the separators' positions.
            for c in primary.chars().rev() {
                let code = u32::from(c);
                if let Some(group) = DECIMAL_GROUPS
                    .iter()
                    .find(|g| (**g..=**g + 9).contains(&code))
                {
                    f.mandatory += 1;
                    position += 1;
                    match zero {
                        None => zero = Some(*group),
                        Some(z) if z != *group => {
                            return Err(Error::new(
                                "D3131",
                                "In a decimal digit pattern, all digits must be from the same decimal group",
                            ));
                        }
                        Some(_) => {}
                    }
                } else if c == '#' {
                    position += 1;
                    f.optional += 1;
                } else {
                    f.separators.push(Separator {
                        position,
                        character: c,
                    });
                }
            }
            if f.mandatory > 0 {
                f.zero = zero.unwrap_or(0x30);
                f.regular = regular(&f.separators);
            } else {
                f.primary = Primary::Sequence(primary.to_owned());
            }
        }
    }
    Ok(f)
}

/// The interval of separators that are all the same character at equal distances.
fn regular(separators: &[Separator]) -> Option<(usize, char)> {
    let first = separators.first()?;
    if separators.iter().any(|s| s.character != first.character) {
        return None;
    }
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    // A factor of 0 (a separator at the end) is not a regular grouping.
    let factor = separators
        .iter()
        .map(|s| s.position)
        .reduce(gcd)
        .filter(|f| *f > 0)?;
    (1..=separators.len())
        .all(|i| separators.iter().any(|s| s.position == i * factor))
        .then_some((factor, first.character))
}

fn words(num: f64, prev: bool, ordinal: bool) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let index = |n: f64| n as usize;
    if num <= 19.0 {
        let w = if ordinal {
            ORDINALS[index(num)]
        } else {
            FEW[index(num)]
        };
        format!("{}{w}", if prev { " and " } else { "" })
    } else if num < 100.0 {
        let tens = (num / 10.0).floor();
        let remainder = num % 10.0;
        let mut w = format!(
            "{}{}",
            if prev { " and " } else { "" },
            DECADES[index(tens) - 2]
        );
        if remainder > 0.0 {
            w = format!("{w}-{}", words(remainder, false, ordinal));
        } else if ordinal {
            w.pop();
            w.push_str("ieth");
        }
        w
    } else if num < 1000.0 {
        let hundreds = (num / 100.0).floor();
        let remainder = num % 100.0;
        let mut w = format!(
            "{}{} Hundred",
            if prev { ", " } else { "" },
            FEW[index(hundreds)]
        );
        if remainder > 0.0 {
            w.push_str(&words(remainder, true, ordinal));
        } else if ordinal {
            w.push_str("th");
        }
        w
    } else {
        let mag = index((num.log10() / 3.0).floor()).min(MAGNITUDES.len());
        #[allow(clippy::cast_possible_wrap, clippy::cast_possible_truncation)]
        let factor = 10f64.powi((mag * 3) as i32);
        let mant = (num / factor).floor();
        let remainder = num - mant * factor;
        let mut w = format!(
            "{}{} {}",
            if prev { ", " } else { "" },
            words(mant, false, false),
            MAGNITUDES[mag - 1]
        );
        if remainder > 0.0 {
            w.push_str(&words(remainder, true, ordinal));
        } else if ordinal {
            w.push_str("th");
        }
        w
    }
}

fn roman(mut value: f64) -> String {
    const NUMERALS: [(f64, &str); 13] = [
        (1000.0, "m"),
        (900.0, "cm"),
        (500.0, "d"),
        (400.0, "cd"),
        (100.0, "c"),
        (90.0, "xc"),
        (50.0, "l"),
        (40.0, "xl"),
        (10.0, "x"),
        (9.0, "ix"),
        (5.0, "v"),
        (4.0, "iv"),
        (1.0, "i"),
    ];
    let mut out = String::new();
    'outer: while value >= 1.0 {
        for (n, s) in NUMERALS {
            if value >= n {
                out.push_str(s);
                value -= n;
                continue 'outer;
            }
        }
    }
    out
}

fn letters(mut value: f64, a: u8) -> String {
    let mut out = Vec::new();
    while value > 0.0 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let offset = ((value - 1.0) % 26.0) as u8;
        out.push(char::from(a + offset));
        value = ((value - 1.0) / 26.0).floor();
    }
    out.iter().rev().collect()
}

/// The reference's `_formatInteger`.
fn format_integer_with(value: f64, f: &IntegerFormat) -> Result<String, Error> {
    // The reference recurses once a thousand for roman numerals and overflows its stack on
    // huge numbers; here they are refused before any work.
    if !value.is_finite() || (f.primary == Primary::Roman && value.abs() >= 1e7) {
        return Err(Error::with_value(
            "D3001",
            "The number is too large to be formatted with this picture",
            &super::value::V::Num(value),
        ));
    }
    let negative = value < 0.0;
    let value = value.abs();
    let mut out = match &f.primary {
        Primary::Letters => letters(value, if f.case == Case::Upper { b'A' } else { b'a' }),
        Primary::Roman => {
            let r = roman(value);
            if f.case == Case::Upper {
                r.to_uppercase()
            } else {
                r
            }
        }
        Primary::Words => {
            let w = words(value, false, f.ordinal);
            match f.case {
                Case::Upper => w.to_uppercase(),
                Case::Lower => w.to_lowercase(),
                Case::Title => w,
            }
        }
        Primary::Decimal => decimal(value, f),
        Primary::Sequence(token) => {
            return Err(Error::new(
                "D3130",
                format!(
                    "Formatting or parsing an integer as a sequence starting with {token} is not supported by this implementation"
                ),
            ));
        }
    };
    if negative {
        out.insert(0, '-');
    }
    Ok(out)
}

fn decimal(value: f64, f: &IntegerFormat) -> String {
    let mut digits: Vec<char> = super::value::js_number(value).chars().collect();
    while digits.len() < f.mandatory {
        digits.insert(0, '0');
    }
    if f.zero != 0x30 {
        for d in &mut digits {
            if let Some(v) = d.to_digit(10) {
                *d = char::from_u32(f.zero + v).unwrap_or(*d);
            }
        }
    }
    match f.regular {
        Some((every, sep)) => {
            let n = (digits.len().saturating_sub(1)) / every;
            for i in (1..=n).rev() {
                let pos = digits.len() - i * every;
                digits.insert(pos, sep);
            }
        }
        None => {
            for s in f.separators.iter().rev() {
                let pos = digits.len().saturating_sub(s.position);
                digits.insert(pos, s.character);
            }
        }
    }
    let mut out: String = digits.into_iter().collect();
    if f.ordinal {
        let bytes = out.as_bytes();
        let last = bytes.last().copied();
        let teen = bytes.len() > 1 && bytes[bytes.len() - 2] == b'1';
        let suffix = match last {
            Some(b'1') if !teen => "st",
            Some(b'2') if !teen => "nd",
            Some(b'3') if !teen => "rd",
            _ => "th",
        };
        out.push_str(suffix);
    }
    out
}

/// `$formatInteger(value, picture)`.
pub(super) fn format_integer(value: f64, picture: &str) -> Result<String, Error> {
    format_integer_with(value.floor(), &analyse_integer(picture)?)
}

/// The widest a date-time picture's component may be (the reference would build the string,
/// however long).
const MAX_WIDTH: usize = 1000;

/// One variable marker of a date-time picture.
#[derive(Debug)]
pub(super) struct Marker {
    pub(super) component: char,
    presentation1: String,
    presentation2: Option<char>,
    names: Option<Case>,
    pub(super) width: Option<(Option<usize>, Option<usize>)>,
    pub(super) integer: Option<IntegerFormat>,
    /// For `Y`, `M` and `D`: the number of digits, when the picture fixes it.
    pub(super) year_digits: Option<u32>,
}

#[derive(Debug)]
pub(super) enum Part {
    Literal(String),
    Marker(Marker),
}

fn default_presentation(component: char) -> Option<&'static str> {
    Some(match component {
        'Y' | 'M' | 'D' | 'd' | 'W' | 'w' | 'X' | 'x' | 'H' | 'h' | 'f' => "1",
        'F' | 'P' | 'C' | 'E' => "n",
        'm' | 's' => "01",
        'Z' | 'z' => "01:01",
        _ => return None,
    })
}

pub(super) fn analyse_date_time(picture: &str) -> Result<Vec<Part>, Error> {
    let chars: Vec<char> = picture.chars().collect();
    let mut parts = Vec::new();
    let literal = |parts: &mut Vec<Part>, from: usize, to: usize| {
        if to > from {
            let text: String = chars[from..to].iter().collect();
            parts.push(Part::Literal(text.replace("]]", "]")));
        }
    };
    let (mut start, mut pos) = (0, 0);
    while pos < chars.len() {
        if chars[pos] == '[' {
            if chars.get(pos + 1) == Some(&'[') {
                literal(&mut parts, start, pos);
                parts.push(Part::Literal("[".into()));
                pos += 2;
                start = pos;
                continue;
            }
            literal(&mut parts, start, pos);
            start = pos;
            let close = chars[start..]
                .iter()
                .position(|c| *c == ']')
                .map(|i| start + i)
                .ok_or_else(|| {
                    Error::new(
                        "D3135",
                        "No matching closing bracket ']' in date/time picture string",
                    )
                })?;
            let marker: String = chars[start + 1..close]
                .iter()
                .filter(|c| !c.is_whitespace())
                .collect();
            parts.push(Part::Marker(analyse_marker(&marker)?));
            pos = close;
            start = pos + 1;
        }
        pos += 1;
    }
    literal(&mut parts, start, chars.len());
    Ok(parts)
}

fn analyse_marker(marker: &str) -> Result<Marker, Error> {
    let component = marker.chars().next().unwrap_or(' ');
    let rest = &marker[component.len_utf8().min(marker.len())..];
    let (pres, width) = match rest.rfind(',') {
        Some(comma) => {
            let w = &rest[comma + 1..];
            let parse = |s: &str| -> Option<usize> {
                if s == "*" {
                    None
                } else {
                    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
                    digits.parse().ok()
                }
            };
            let (min, max) = match w.split_once('-') {
                None => (parse(w), None),
                Some((a, b)) => (parse(a), parse(b)),
            };
            if [min, max].iter().flatten().any(|w| *w > MAX_WIDTH) {
                return Err(Error::new(
                    "U0001",
                    format!(
                        "A width above {MAX_WIDTH} in a date/time picture is not supported by the local executor"
                    ),
                ));
            }
            (&rest[..comma], Some((min, max)))
        }
        None => (rest, None),
    };
    let (presentation1, presentation2) = if pres.chars().count() > 1 {
        let last = pres.chars().last().unwrap_or(' ');
        if "atco".contains(last) {
            (pres[..pres.len() - 1].to_owned(), Some(last))
        } else {
            (pres.to_owned(), None)
        }
    } else if pres.is_empty() {
        let d = default_presentation(component).ok_or_else(|| {
            Error::new(
                "D3132",
                format!("Unknown component specifier {component} in date/time picture string"),
            )
        })?;
        (d.to_owned(), None)
    } else {
        (pres.to_owned(), None)
    };
    let mut m = Marker {
        component,
        names: None,
        width,
        integer: None,
        year_digits: None,
        presentation2,
        presentation1,
    };
    let mut p1 = m.presentation1.chars();
    match (p1.next(), p1.next()) {
        (Some('n'), _) => m.names = Some(Case::Lower),
        (Some('N'), Some('n')) => m.names = Some(Case::Title),
        (Some('N'), _) => m.names = Some(Case::Upper),
        _ if "YMDdFWwXxHhmsf".contains(component) => {
            let mut pattern = m.presentation1.clone();
            if let Some(p2) = m.presentation2 {
                pattern.push(';');
                pattern.push(p2);
            }
            let mut f = analyse_integer(&pattern)?;
            if let Some((Some(min), _)) = m.width {
                f.mandatory = f.mandatory.max(min);
            }
            if "YMD".contains(component) {
                if let Some((_, Some(max))) = m.width {
                    m.year_digits = u32::try_from(max).ok();
                    f.mandatory = max;
                } else {
                    let w = f.mandatory + f.optional;
                    if w >= 2 {
                        m.year_digits = u32::try_from(w).ok();
                    }
                }
            }
            m.integer = Some(f);
        }
        _ => {}
    }
    if component == 'Z' || component == 'z' {
        m.integer = Some(analyse_integer(&m.presentation1)?);
    }
    Ok(m)
}

/// The first day of week 1 of the month starting at `first` (ISO 8601: the week with the first
/// Thursday; XPath extends it to months).
fn start_of_first_week(first: NaiveDate) -> NaiveDate {
    let day = first.weekday().number_from_monday();
    if day > 4 {
        first + chrono::Days::new(u64::from(8 - day))
    } else {
        first - chrono::Days::new(u64::from(day - 1))
    }
}

fn month_start(year: i32, month0: i32) -> NaiveDate {
    let (y, m) = (year + month0.div_euclid(12), month0.rem_euclid(12));
    #[allow(clippy::cast_sign_loss)]
    NaiveDate::from_ymd_opt(y, m as u32 + 1, 1).unwrap_or_default()
}

fn weeks_between(start: NaiveDate, day: NaiveDate) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let days = (day - start).num_days() as f64;
    days / 7.0 + 1.0
}

/// The value of a component at `t` (a number, or a word for `P`, `C`, `E`).
pub(super) fn component(t: &DateTime<Utc>, c: char) -> Component {
    let date = t.date_naive();
    #[allow(clippy::cast_possible_wrap)]
    let month0 = t.month0() as i32;
    let n = |v: u32| Component::Number(f64::from(v));
    match c {
        'Y' => Component::Number(f64::from(t.year())),
        'M' => n(t.month()),
        'D' => n(t.day()),
        'd' => n(t.ordinal()),
        'F' => n(t.weekday().number_from_monday()),
        'W' => {
            let start = start_of_first_week(month_start(t.year(), 0));
            let mut week = weeks_between(start, date);
            if week > 52.0 {
                if date >= start_of_first_week(month_start(t.year() + 1, 0)) {
                    week = 1.0;
                }
            } else if week < 1.0 {
                week = weeks_between(start_of_first_week(month_start(t.year() - 1, 0)), date);
            }
            Component::Number(week.floor())
        }
        'w' => {
            let start = start_of_first_week(month_start(t.year(), month0));
            let mut week = weeks_between(start, date);
            if week > 4.0 {
                if date >= start_of_first_week(month_start(t.year(), month0 + 1)) {
                    week = 1.0;
                }
            } else if week < 1.0 {
                week = weeks_between(start_of_first_week(month_start(t.year(), month0 - 1)), date);
            }
            Component::Number(week.floor())
        }
        'X' => {
            let now = date;
            let y = if now < start_of_first_week(month_start(t.year(), 0)) {
                t.year() - 1
            } else if now >= start_of_first_week(month_start(t.year() + 1, 0)) {
                t.year() + 1
            } else {
                t.year()
            };
            Component::Number(f64::from(y))
        }
        'x' => {
            let m = if date < start_of_first_week(month_start(t.year(), month0)) {
                month0 - 1
            } else if date >= start_of_first_week(month_start(t.year(), month0 + 1)) {
                month0 + 1
            } else {
                month0
            };
            Component::Number(f64::from(m.rem_euclid(12) + 1))
        }
        'H' => n(t.hour()),
        'h' => n(match t.hour() % 12 {
            0 => 12,
            h => h,
        }),
        'P' => Component::Word(if t.hour() >= 12 { "pm" } else { "am" }.into()),
        'm' => n(t.minute()),
        's' => n(t.second()),
        'f' => n(t.timestamp_subsec_millis()),
        'C' | 'E' => Component::Word("ISO".into()),
        _ => Component::None,
    }
}

pub(super) enum Component {
    Number(f64),
    Word(String),
    None,
}

fn format_marker(t: &DateTime<Utc>, m: &Marker, offset: (i64, i64)) -> Result<String, Error> {
    let value = component(t, m.component);
    if "YMDdFWwXxHhms".contains(m.component) {
        let Component::Number(mut v) = value else {
            return Ok(String::new());
        };
        if m.component == 'Y'
            && let Some(n) = m.year_digits
        {
            v %= 10f64.powi(i32::try_from(n).unwrap_or(i32::MAX));
        }
        if let Some(case) = m.names {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let i = v as usize;
            let name = match m.component {
                'M' | 'x' => MONTHS.get(i.wrapping_sub(1)).copied().unwrap_or_default(),
                'F' => DAYS.get(i).copied().unwrap_or_default(),
                other => {
                    return Err(Error::new(
                        "D3133",
                        format!(
                            "The 'name' modifier can only be applied to months and days in the date/time picture string, not {other}"
                        ),
                    ));
                }
            };
            let mut name = match case {
                Case::Upper => name.to_uppercase(),
                Case::Lower => name.to_lowercase(),
                Case::Title => name.to_owned(),
            };
            if let Some((_, Some(max))) = m.width {
                name = name.chars().take(max).collect();
            }
            return Ok(name);
        }
        let f = m.integer.as_ref().ok_or_else(|| unknown(m.component))?;
        return format_integer_with(v, f);
    }
    match m.component {
        'f' => {
            let Component::Number(v) = value else {
                return Ok(String::new());
            };
            format_integer_with(v, m.integer.as_ref().ok_or_else(|| unknown('f'))?)
        }
        'Z' | 'z' => {
            let (hours, minutes) = offset;
            let total = hours * 100 + minutes;
            let f = m.integer.as_ref().ok_or_else(|| unknown(m.component))?;
            #[allow(clippy::cast_precision_loss)]
            let mut text = if f.regular.is_some() {
                format_integer_with(total as f64, f)?
            } else {
                match f.mandatory {
                    1 | 2 => {
                        let mut s = format_integer_with(hours as f64, f)?;
                        if minutes != 0 {
                            s.push(':');
                            s.push_str(&format_integer(minutes as f64, "00")?);
                        }
                        s
                    }
                    3 | 4 => format_integer_with(total as f64, f)?,
                    other => {
                        return Err(Error::new(
                            "D3134",
                            format!(
                                "The timezone integer format specifier cannot have more than four digits: {other}"
                            ),
                        ));
                    }
                }
            };
            if total >= 0 {
                text.insert(0, '+');
            }
            if m.component == 'z' {
                text.insert_str(0, "GMT");
            }
            if total == 0 && m.presentation2 == Some('t') {
                text = "Z".into();
            }
            Ok(text)
        }
        'P' => Ok(match value {
            Component::Word(w) if m.names == Some(Case::Upper) => w.to_uppercase(),
            Component::Word(w) => w,
            _ => String::new(),
        }),
        _ => Ok(match value {
            Component::Word(w) => w,
            _ => String::new(),
        }),
    }
}

fn unknown(component: char) -> Error {
    Error::new(
        "D3132",
        format!("Unknown component specifier {component} in date/time picture string"),
    )
}

/// The reference's `parseInt` of a time zone such as `+0100` or `-0500`, split as it splits
/// it (hours by floor division, minutes by JavaScript's remainder).
fn zone(timezone: &str) -> Result<(i64, i64), Error> {
    let t = timezone.trim_start();
    let (sign, digits) = match t.as_bytes().first() {
        Some(b'-') => (-1, &t[1..]),
        Some(b'+') => (1, &t[1..]),
        _ => (1, t),
    };
    let digits: String = digits.chars().take_while(char::is_ascii_digit).collect();
    let offset: i64 = digits.parse::<i64>().map(|d| sign * d).map_err(|_| {
        Error::new(
            "U0001",
            format!("The time zone '{timezone}' is not supported by the local executor yet: give it as +hhmm or -hhmm"),
        )
    })?;
    Ok((offset.div_euclid(100), offset % 100))
}

/// `$fromMillis(millis, picture, timezone)` and `$now(picture, timezone)`.
pub(super) fn format_date_time(
    millis: f64,
    picture: Option<&str>,
    timezone: Option<&str>,
) -> Result<String, Error> {
    let offset = match timezone {
        Some(z) => zone(z)?,
        None => (0, 0),
    };
    let parts = analyse_date_time(
        picture.unwrap_or("[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]"),
    )?;
    let shift = offset
        .0
        .saturating_mul(60)
        .saturating_add(offset.1)
        .saturating_mul(60_000);
    #[allow(clippy::cast_possible_truncation)]
    let t = DateTime::<Utc>::from_timestamp_millis((millis.trunc() as i64).saturating_add(shift))
        .ok_or_else(|| {
        Error::new("D3110", format!("The timestamp {millis} is out of range"))
    })?;
    let mut out = String::new();
    for p in &parts {
        match p {
            Part::Literal(s) => out.push_str(s),
            Part::Marker(m) => out.push_str(&format_marker(&t, m, offset)?),
        }
    }
    Ok(out)
}
