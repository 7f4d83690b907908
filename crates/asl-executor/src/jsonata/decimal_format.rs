//! `$formatNumber(value, picture, options)`: the XPath decimal-format picture (F&O 4.7) as the
//! reference implements it, its quirks included (a picture without a decimal separator takes
//! its suffix as the fractional part; the grouping positions after the first are looked up in
//! the integer part), so that a workflow formats numbers here as it does on AWS.

use super::Error;
use super::functions::round_to;

/// The decimal format's characters (`options` may change them).
struct Properties {
    decimal: char,
    grouping: char,
    exponent: char,
    minus: String,
    percent: char,
    per_mille: char,
    zero: char,
    digit: char,
    pattern: char,
}

impl Properties {
    fn new(options: &[(String, String)]) -> Properties {
        let mut p = Properties {
            decimal: '.',
            grouping: ',',
            exponent: 'e',
            minus: "-".into(),
            percent: '%',
            per_mille: '\u{2030}',
            zero: '0',
            digit: '#',
            pattern: ';',
        };
        for (k, v) in options {
            let Some(c) = v.chars().next() else { continue };
            match k.as_str() {
                "decimal-separator" => p.decimal = c,
                "grouping-separator" => p.grouping = c,
                "exponent-separator" => p.exponent = c,
                "minus-sign" => p.minus.clone_from(v),
                "percent" => p.percent = c,
                "per-mille" => p.per_mille = c,
                "zero-digit" => p.zero = c,
                "digit" => p.digit = c,
                "pattern-separator" => p.pattern = c,
                _ => {}
            }
        }
        p
    }

    fn is_family(&self, c: char) -> bool {
        (u32::from(self.zero)..u32::from(self.zero) + 10).contains(&u32::from(c))
    }

    fn is_active(&self, c: char) -> bool {
        self.is_family(c)
            || [
                self.decimal,
                self.exponent,
                self.grouping,
                self.digit,
                self.pattern,
            ]
            .contains(&c)
    }
}

/// One sub-picture split into its parts (F&O 4.7.3), as character vectors.
#[derive(Clone)]
struct Parts {
    prefix: Vec<char>,
    suffix: Vec<char>,
    active: Vec<char>,
    mantissa: Vec<char>,
    exponent: Option<Vec<char>>,
    integer: Vec<char>,
    fractional: Vec<char>,
    picture: Vec<char>,
}

fn index_of(s: &[char], c: char, from: usize) -> Option<usize> {
    s.iter().skip(from).position(|x| *x == c).map(|i| i + from)
}

fn last_index_of(s: &[char], c: char) -> Option<usize> {
    s.iter().rposition(|x| *x == c)
}

/// JavaScript's `substring(from, to)` on characters (clamped, swapped when reversed).
fn sub(s: &[char], from: usize, to: usize) -> Vec<char> {
    let (a, b) = (from.min(s.len()), to.min(s.len()));
    s[a.min(b)..a.max(b)].to_vec()
}

fn split(p: &Properties, picture: &[char]) -> Result<Parts, Error> {
    let no_digits = || {
        Error::new(
            "D3085",
            "The mantissa part of a sub-picture must contain at least one decimal digit or optional digit character",
        )
    };
    let first = picture
        .iter()
        .position(|c| p.is_active(*c) && *c != p.exponent)
        .ok_or_else(no_digits)?;
    let last = picture
        .iter()
        .rposition(|c| p.is_active(*c) && *c != p.exponent)
        .ok_or_else(no_digits)?;
    let prefix = picture[..first].to_vec();
    let suffix = picture[last + 1..].to_vec();
    let active = sub(picture, prefix.len(), picture.len() - suffix.len());
    let (mantissa, exponent) = match index_of(picture, p.exponent, prefix.len()) {
        Some(at) if at <= picture.len() - suffix.len() => (
            sub(&active, 0, at),
            Some(sub(&active, at + 1, active.len())),
        ),
        _ => (active.clone(), None),
    };
    let (integer, fractional) = match index_of(&mantissa, p.decimal, 0) {
        None => (mantissa.clone(), suffix.clone()),
        Some(d) => (
            mantissa[..d].to_vec(),
            sub(&mantissa, d + 1, mantissa.len()),
        ),
    };
    Ok(Parts {
        prefix,
        suffix,
        active,
        mantissa,
        exponent,
        integer,
        fractional,
        picture: picture.to_vec(),
    })
}

/// F&O 4.7.3's checks; as in the reference, the last failing check names the error.
fn validate(p: &Properties, parts: &Parts) -> Result<(), Error> {
    let pic = &parts.picture;
    let mut error = None;
    let twice = |c: char| index_of(pic, c, 0) != last_index_of(pic, c);
    let decimal_pos = index_of(pic, p.decimal, 0);
    if twice(p.decimal) {
        error = Some("D3081");
    }
    if twice(p.percent) {
        error = Some("D3082");
    }
    if twice(p.per_mille) {
        error = Some("D3083");
    }
    let has = |c: char| pic.contains(&c);
    if has(p.percent) && has(p.per_mille) {
        error = Some("D3084");
    }
    if !parts
        .mantissa
        .iter()
        .any(|c| p.is_family(*c) || *c == p.digit)
    {
        error = Some("D3085");
    }
    if parts.active.iter().any(|c| !p.is_active(*c)) {
        error = Some("D3086");
    }
    match decimal_pos {
        Some(d) => {
            let before = d.checked_sub(1).and_then(|i| pic.get(i));
            if before == Some(&p.grouping) || pic.get(d + 1) == Some(&p.grouping) {
                error = Some("D3087");
            }
        }
        None => {
            if parts.integer.last() == Some(&p.grouping) {
                error = Some("D3088");
            }
        }
    }
    if pic
        .windows(2)
        .any(|w| w[0] == p.grouping && w[1] == p.grouping)
    {
        error = Some("D3089");
    }
    if let Some(opt) = index_of(&parts.integer, p.digit, 0)
        && parts.integer[..opt].iter().any(|c| p.is_family(*c))
    {
        error = Some("D3090");
    }
    if let Some(opt) = last_index_of(&parts.fractional, p.digit)
        && parts.fractional[opt..].iter().any(|c| p.is_family(*c))
    {
        error = Some("D3091");
    }
    if let Some(e) = &parts.exponent {
        if !e.is_empty() && (has(p.percent) || has(p.per_mille)) {
            error = Some("D3092");
        }
        if e.is_empty() || e.iter().any(|c| !p.is_family(*c)) {
            error = Some("D3093");
        }
    }
    match error {
        None => Ok(()),
        Some(code) => Err(Error::new(
            code,
            format!("The picture string of $formatNumber is not valid ({code})"),
        )),
    }
}

/// F&O 4.7.4's analysis of a sub-picture.
#[derive(Clone)]
struct Analysis {
    integer_groups: Vec<usize>,
    regular: usize,
    min_integer: usize,
    scaling: i32,
    prefix: String,
    fraction_groups: Vec<usize>,
    min_fraction: usize,
    max_fraction: usize,
    min_exponent: usize,
    suffix: String,
    picture: Vec<char>,
}

fn analyse(p: &Properties, parts: &Parts) -> Analysis {
    let counted = |s: &[char]| {
        s.iter()
            .filter(|c| p.is_family(**c) || **c == p.digit)
            .count()
    };
    let groups = |part: &[char], to_left: bool| {
        let mut positions = Vec::new();
        let mut at = index_of(part, p.grouping, 0);
        while let Some(g) = at {
            positions.push(if to_left {
                counted(&sub(part, 0, g))
            } else {
                counted(&sub(part, g, part.len()))
            });
            at = index_of(&parts.integer, p.grouping, g + 1);
        }
        positions
    };
    let integer_groups = groups(&parts.integer, false);
    let regular = regular(&integer_groups);
    let fraction_groups = groups(&parts.fractional, true);
    let family = |s: &[char]| s.iter().filter(|c| p.is_family(**c)).count();
    let mut min_integer = family(&parts.integer);
    let scaling = i32::try_from(min_integer).unwrap_or(i32::MAX);
    let mut min_fraction = family(&parts.fractional);
    let mut max_fraction = counted(&parts.fractional);
    let exponent = parts.exponent.is_some();
    if min_integer == 0 && max_fraction == 0 {
        if exponent {
            min_fraction = 1;
            max_fraction = 1;
        } else {
            min_integer = 1;
        }
    }
    if exponent && min_integer == 0 && parts.integer.contains(&p.digit) {
        min_integer = 1;
    }
    if min_integer == 0 && min_fraction == 0 {
        min_fraction = 1;
    }
    Analysis {
        integer_groups,
        regular,
        min_integer,
        scaling,
        prefix: parts.prefix.iter().collect(),
        fraction_groups,
        min_fraction,
        max_fraction,
        min_exponent: parts.exponent.as_deref().map_or(0, family),
        suffix: parts.suffix.iter().collect(),
        picture: parts.picture.clone(),
    }
}

fn regular(indexes: &[usize]) -> usize {
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    let Some(factor) = indexes.iter().copied().reduce(gcd) else {
        return 0;
    };
    if (1..=indexes.len()).all(|i| indexes.contains(&(i * factor))) {
        factor
    } else {
        0
    }
}

/// `Math.abs(value).toFixed(dp)` in the picture's digit family.
fn fixed(p: &Properties, value: f64, dp: usize) -> Vec<char> {
    format!("{:.dp$}", value.abs())
        .chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(u32::from(p.zero) + d).unwrap_or(c),
            None => c,
        })
        .collect()
}

/// `$formatNumber(value, picture, options)`.
pub(super) fn format_number(
    value: f64,
    picture: &str,
    options: &[(String, String)],
) -> Result<String, Error> {
    let p = Properties::new(options);
    let chars: Vec<char> = picture.chars().collect();
    let subs: Vec<&[char]> = chars.split(|c| *c == p.pattern).collect();
    if subs.len() > 2 {
        return Err(Error::new(
            "D3080",
            "The picture string must not contain more than one instance of the pattern-separator character",
        ));
    }
    let parts = subs
        .iter()
        .map(|s| split(&p, s))
        .collect::<Result<Vec<_>, _>>()?;
    for part in &parts {
        validate(&p, part)?;
    }
    let mut variables: Vec<Analysis> = parts.iter().map(|x| analyse(&p, x)).collect();
    if variables.len() == 1 {
        let mut negative = variables[0].clone();
        negative.prefix = format!("{}{}", p.minus, negative.prefix);
        variables.push(negative);
    }
    let pic = if value >= 0.0 {
        &variables[0]
    } else {
        &variables[1]
    };
    let adjusted = if pic.picture.contains(&p.percent) {
        value * 100.0
    } else if pic.picture.contains(&p.per_mille) {
        value * 1000.0
    } else {
        value
    };
    let (mantissa, exponent) = if pic.min_exponent == 0 {
        (adjusted, None)
    } else {
        let max = 10f64.powi(pic.scaling);
        let min = 10f64.powi(pic.scaling - 1);
        // The reference loops forever on zero and on negative numbers here; the magnitude is
        // scaled instead, its sign kept.
        let (mut m, mut e) = (adjusted.abs(), 0i32);
        if m.is_normal() {
            while m < min {
                m *= 10.0;
                e -= 1;
            }
            while m > max {
                m /= 10.0;
                e += 1;
            }
        }
        (m.copysign(adjusted), Some(e))
    };
    let rounded = round_to(
        mantissa,
        i32::try_from(pic.max_fraction).unwrap_or(i32::MAX),
    );
    let mut s = fixed(&p, rounded, pic.max_fraction);
    match s.iter().position(|c| *c == '.') {
        None => s.push(p.decimal),
        Some(i) => s[i] = p.decimal,
    }
    while s.first() == Some(&p.zero) {
        s.remove(0);
    }
    while s.last() == Some(&p.zero) {
        s.pop();
    }
    let decimal_at = |s: &[char]| index_of(s, p.decimal, 0).unwrap_or(s.len());
    let mut d = decimal_at(&s);
    let pad_left = pic.min_integer.saturating_sub(d);
    let pad_right = pic
        .min_fraction
        .saturating_sub((s.len() - d).saturating_sub(1));
    s.splice(0..0, std::iter::repeat_n(p.zero, pad_left));
    s.extend(std::iter::repeat_n(p.zero, pad_right));
    d = decimal_at(&s);
    if let Some(groups) = d.saturating_sub(1).checked_div(pic.regular) {
        for g in 1..=groups {
            s.insert(d - g * pic.regular, p.grouping);
        }
    } else {
        for pos in &pic.integer_groups {
            s.insert(d.saturating_sub(*pos), p.grouping);
            d += 1;
        }
    }
    d = decimal_at(&s);
    for pos in &pic.fraction_groups {
        s.insert((pos + d + 1).min(s.len()), p.grouping);
    }
    d = decimal_at(&s);
    if !pic.picture.contains(&p.decimal) || d + 1 == s.len() {
        s.pop();
    }
    let mut out: String = s.into_iter().collect();
    if let Some(e) = exponent {
        let mut digits = fixed(&p, f64::from(e), 0);
        while digits.len() < pic.min_exponent {
            digits.insert(0, p.zero);
        }
        out.push(p.exponent);
        if e < 0 {
            out.push_str(&p.minus);
        }
        out.extend(digits);
    }
    Ok(format!("{}{out}{}", pic.prefix, pic.suffix))
}
