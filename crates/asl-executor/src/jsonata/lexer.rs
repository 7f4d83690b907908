//! JSONata's tokens: names (plain or in backquotes), variables, strings, numbers, regular
//! expressions, operators and the word operators `and`, `or`, `in`. Comments `/* */` are
//! skipped.

use super::Error;

/// One token and where it starts (a character offset, as the reference reports positions).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub(super) kind: Tok,
    pub(super) position: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// A field name: `Account`, or `` `Product Name` ``.
    Name(String),
    /// `$name`; `$` alone is the empty name, `$$` is `"$"`.
    Variable(String),
    Str(String),
    Num(f64),
    /// `/pattern/flags`.
    Regex {
        pattern: String,
        flags: String,
    },
    /// An operator or punctuation: `.`, `[`, `:=`, `~>`, `and`, ...
    Op(&'static str),
    /// `true`, `false`, `null`.
    Value(serde_json::Value),
    End,
}

const OPERATORS: [&str; 32] = [
    "..", ":=", "!=", ">=", "<=", "**", "~>", ".", "[", "]", "{", "}", "(", ")", ",", "@", "#",
    ";", ":", "?", "+", "-", "*", "/", "%", "|", "=", "<", ">", "^", "&", "!",
];

/// Splits `text` into tokens. A `/` starts a regular expression where an operand is expected
/// (the parser knows; here: after an operator or at the start), else it divides.
pub(super) fn tokens(text: &str) -> Result<Vec<Token>, Error> {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            let close = (i + 2..chars.len().saturating_sub(1))
                .find(|&j| chars[j] == '*' && chars[j + 1] == '/')
                .ok_or_else(|| Error::at("S0106", i, "Comment has no closing tag"))?;
            i = close + 2;
            continue;
        }
        let position = i;
        let regex_allowed = match out.last().map(|t| &t.kind) {
            None => true,
            Some(Tok::Op(op)) => !matches!(*op, ")" | "]" | "}"),
            Some(_) => false,
        };
        let kind = if c == '/' && regex_allowed {
            let (pattern, flags, next) = regex(&chars, i)?;
            i = next;
            Tok::Regex { pattern, flags }
        } else if c == '"' || c == '\'' {
            let (s, next) = string(&chars, i)?;
            i = next;
            Tok::Str(s)
        } else if c.is_ascii_digit() {
            let (n, next) = number(&chars, i)?;
            i = next;
            Tok::Num(n)
        } else if c == '`' {
            let close = (i + 1..chars.len())
                .find(|&j| chars[j] == '`')
                .ok_or_else(|| {
                    Error::at(
                        "S0105",
                        i,
                        "Quoted property name must be terminated with a backquote (`)",
                    )
                })?;
            let name: String = chars[i + 1..close].iter().collect();
            i = close + 1;
            Tok::Name(name)
        } else if let Some(op) = OPERATORS.iter().find(|op| {
            let n = op.chars().count();
            chars
                .get(i..i + n)
                .is_some_and(|s| s.iter().copied().eq(op.chars()))
        }) {
            i += op.chars().count();
            Tok::Op(op)
        } else if c == 'λ' {
            i += 1;
            Tok::Name("function".into())
        } else if c == '$' {
            let start = i + 1;
            let mut j = start;
            while j < chars.len() && is_name_char(chars[j]) {
                j += 1;
            }
            if j == start && chars.get(j) == Some(&'$') {
                j += 1;
            }
            let name: String = chars[start..j].iter().collect();
            i = j;
            Tok::Variable(name)
        } else if is_name_char(c) {
            let mut j = i;
            while j < chars.len() && is_name_char(chars[j]) {
                j += 1;
            }
            let word: String = chars[i..j].iter().collect();
            i = j;
            match word.as_str() {
                "and" => Tok::Op("and"),
                "or" => Tok::Op("or"),
                "in" => Tok::Op("in"),
                "true" => Tok::Value(serde_json::Value::Bool(true)),
                "false" => Tok::Value(serde_json::Value::Bool(false)),
                "null" => Tok::Value(serde_json::Value::Null),
                _ => Tok::Name(word),
            }
        } else {
            return Err(Error::at("S0204", i, format!("Unknown operator: \"{c}\"")));
        };
        out.push(Token { kind, position });
    }
    out.push(Token {
        kind: Tok::End,
        position: chars.len(),
    });
    Ok(out)
}

/// A character that may be part of a name: anything but whitespace and the operator
/// characters (as the reference's tokenizer decides).
fn is_name_char(c: char) -> bool {
    !c.is_whitespace() && !".[]{}(),@#;:?+-*/%|=<>^&!~`'\"$λ".contains(c)
}

fn string(chars: &[char], start: usize) -> Result<(String, usize), Error> {
    let quote = chars[start];
    let mut s = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        if c == quote {
            return Ok((s, i + 1));
        }
        if c == '\\' {
            i += 1;
            let e = *chars.get(i).ok_or_else(|| {
                Error::at(
                    "S0101",
                    start,
                    "String literal must be terminated by a matching quote",
                )
            })?;
            match e {
                '"' | '\\' | '/' | '\'' => s.push(e),
                'b' => s.push('\u{8}'),
                'f' => s.push('\u{c}'),
                'n' => s.push('\n'),
                'r' => s.push('\r'),
                't' => s.push('\t'),
                'u' => {
                    let hex: String = chars.get(i + 1..i + 5).unwrap_or_default().iter().collect();
                    let code = u32::from_str_radix(&hex, 16)
                        .ok()
                        .filter(|_| hex.len() == 4)
                        .ok_or_else(|| {
                            Error::at(
                                "S0104",
                                i,
                                "The escape sequence \\u must be followed by 4 hex digits",
                            )
                        })?;
                    i += 4;
                    // A surrogate pair is two escapes; a lone surrogate becomes U+FFFD.
                    if (0xD800..0xDC00).contains(&code)
                        && chars.get(i + 1) == Some(&'\\')
                        && chars.get(i + 2) == Some(&'u')
                    {
                        let low: String =
                            chars.get(i + 3..i + 7).unwrap_or_default().iter().collect();
                        if let Ok(lo) = u32::from_str_radix(&low, 16)
                            && (0xDC00..0xE000).contains(&lo)
                        {
                            let combined = 0x10000 + ((code - 0xD800) << 10) + (lo - 0xDC00);
                            s.push(char::from_u32(combined).unwrap_or('\u{FFFD}'));
                            i += 7;
                            continue;
                        }
                    }
                    s.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                }
                other => {
                    return Err(Error::at(
                        "S0103",
                        i,
                        format!("Unsupported escape sequence: \\{other}"),
                    ));
                }
            }
            i += 1;
            continue;
        }
        s.push(c);
        i += 1;
    }
    Err(Error::at(
        "S0101",
        start,
        "String literal must be terminated by a matching quote",
    ))
}

fn number(chars: &[char], start: usize) -> Result<(f64, usize), Error> {
    let mut i = start;
    let digits = |i: &mut usize| {
        while *i < chars.len() && chars[*i].is_ascii_digit() {
            *i += 1;
        }
    };
    digits(&mut i);
    // `1..3` is a range: the dot belongs to the operator.
    if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
        i += 1;
        digits(&mut i);
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        if matches!(chars.get(j), Some('+' | '-')) {
            j += 1;
        }
        if chars.get(j).is_some_and(char::is_ascii_digit) {
            i = j;
            digits(&mut i);
        }
    }
    let text: String = chars[start..i].iter().collect();
    let n: f64 = text
        .parse()
        .map_err(|_| Error::at("S0102", start, format!("Number out of range: {text}")))?;
    if !n.is_finite() {
        return Err(Error::at(
            "S0102",
            start,
            format!("Number out of range: {text}"),
        ));
    }
    Ok((n, i))
}

fn regex(chars: &[char], start: usize) -> Result<(String, String, usize), Error> {
    let mut i = start + 1;
    let mut depth = 0i32;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '[' => depth += 1,
            ']' => depth -= 1,
            '/' if depth <= 0 => {
                let pattern: String = chars[start + 1..i].iter().collect();
                if pattern.is_empty() {
                    return Err(Error::at(
                        "S0301",
                        start,
                        "Empty regular expressions are not allowed",
                    ));
                }
                let mut j = i + 1;
                while j < chars.len() && matches!(chars[j], 'i' | 'm') {
                    j += 1;
                }
                let flags: String = chars[i + 1..j].iter().collect();
                return Ok((pattern, flags, j));
            }
            _ => {}
        }
        i += 1;
    }
    Err(Error::at(
        "S0302",
        start,
        "No terminating / in regular expression",
    ))
}
