//! JSONPath as Step Functions reads it: the Jayway dialect AWS documents for `InputPath`,
//! `Parameters` and the rest, plus reference paths for `ResultPath`.
//!
//! Written by hand rather than taken from a crate: the RFC 9535 crates return node lists only,
//! while AWS distinguishes *definite* paths (names and indexes: one value or "not found") from
//! *indefinite* ones (wildcards, slices, filters, recursive descent: always an array), and
//! `ResultPath` needs paths that *write*. Both behaviours decide outputs and error names.

use serde_json::{Map, Value};
use std::fmt;

/// Where a path starts: the state's data (`$`), the context object (`$$`) or a workflow
/// variable (`$name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// `$`: the effective input or result, depending on the field.
    Data,
    /// `$$`: the context object.
    Context,
    /// `$name`: a variable set by `Assign`.
    Variable(String),
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Name(String),
    Index(i64),
    Wildcard,
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Union(Vec<Selector>),
    Descend(Box<Segment>),
    Filter(Box<FilterExpr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Selector {
    Name(String),
    Index(i64),
}

#[derive(Debug, Clone, PartialEq)]
enum FilterExpr {
    Or(Box<FilterExpr>, Box<FilterExpr>),
    And(Box<FilterExpr>, Box<FilterExpr>),
    Not(Box<FilterExpr>),
    Exists(Operand),
    Compare(Operand, CmpOp, Operand),
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Current(Vec<Segment>),
    Root(Vec<Segment>),
    Literal(Value),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A parsed JSONPath expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    text: String,
    root: Root,
    segments: Vec<Segment>,
}

/// Why a path string is not a valid path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSONPath '{path}': {reason}")]
pub struct PathSyntaxError {
    /// The path as written.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Why a reference path could not write a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unable to apply path '{0}'")]
pub struct PathWriteError(pub String);

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Path {
    /// Parses a path starting with `$`, `$$` or `$name`.
    pub fn parse(text: &str) -> Result<Path, PathSyntaxError> {
        let err = |reason: &str| PathSyntaxError {
            path: text.to_owned(),
            reason: reason.to_owned(),
        };
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
            text,
            depth: 0,
        };
        if !p.eat(b'$') {
            return Err(err("a path must start with '$'"));
        }
        let root = if p.eat(b'$') {
            Root::Context
        } else if p.peek().is_some_and(is_ident_start) {
            let name = p.ident();
            Root::Variable(name)
        } else {
            Root::Data
        };
        let segments = p.segments(false).map_err(|r| err(&r))?;
        if p.i != p.s.len() {
            return Err(err(&format!("unexpected character at position {}", p.i)));
        }
        Ok(Path {
            text: text.to_owned(),
            root,
            segments,
        })
    }

    /// Where the path starts.
    pub fn root(&self) -> &Root {
        &self.root
    }

    /// True when the path names at most one value (only names and indexes).
    pub fn is_definite(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, Segment::Name(_) | Segment::Index(_)))
    }

    /// True when the path can be used as a `ResultPath`: data root, names and indexes only.
    pub fn is_reference(&self) -> bool {
        self.root == Root::Data && self.is_definite()
    }

    /// True when the path is the bare root (`$`, `$$` or `$name`).
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// Evaluates the path against `doc` (the document its root names).
    ///
    /// A definite path yields the value or `None`; an indefinite path always yields an array
    /// of the matches, as Jayway does.
    pub fn select(&self, doc: &Value) -> Option<Value> {
        if self.is_definite() {
            return select_definite(&self.segments, doc).cloned();
        }
        let mut out = Vec::new();
        collect(&self.segments, doc, doc, &mut out);
        Some(Value::Array(out.into_iter().cloned().collect()))
    }

    /// Writes `value` at this reference path inside `doc`, creating missing objects on the way.
    pub fn write(&self, doc: &mut Value, value: Value) -> Result<(), PathWriteError> {
        let fail = || PathWriteError(self.text.clone());
        let Some((last, init)) = self.segments.split_last() else {
            *doc = value;
            return Ok(());
        };
        let mut cur = doc;
        for seg in init {
            cur = match seg {
                Segment::Name(n) => match cur {
                    Value::Object(m) => m
                        .entry(n.clone())
                        .or_insert_with(|| Value::Object(Map::new())),
                    _ => return Err(fail()),
                },
                Segment::Index(i) => match cur {
                    Value::Array(a) => {
                        let idx = resolve_index(*i, a.len()).ok_or_else(fail)?;
                        &mut a[idx]
                    }
                    _ => return Err(fail()),
                },
                _ => return Err(fail()),
            };
        }
        match (last, cur) {
            (Segment::Name(n), Value::Object(m)) => {
                m.insert(n.clone(), value);
                Ok(())
            }
            (Segment::Index(i), Value::Array(a)) => {
                let idx = resolve_index(*i, a.len()).ok_or_else(fail)?;
                a[idx] = value;
                Ok(())
            }
            _ => Err(fail()),
        }
    }
}

fn resolve_index(i: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let idx = if i < 0 { len + i } else { i };
    if (0..len).contains(&idx) {
        usize::try_from(idx).ok()
    } else {
        None
    }
}

fn select_definite<'a>(segments: &[Segment], doc: &'a Value) -> Option<&'a Value> {
    let mut cur = doc;
    for seg in segments {
        cur = match (seg, cur) {
            (Segment::Name(n), Value::Object(m)) => m.get(n)?,
            (Segment::Index(i), Value::Array(a)) => &a[resolve_index(*i, a.len())?],
            _ => return None,
        };
    }
    Some(cur)
}

fn children(v: &Value) -> Box<dyn Iterator<Item = &Value> + '_> {
    match v {
        Value::Object(m) => Box::new(m.values()),
        Value::Array(a) => Box::new(a.iter()),
        _ => Box::new(std::iter::empty()),
    }
}

fn collect<'a>(segments: &[Segment], node: &'a Value, root: &'a Value, out: &mut Vec<&'a Value>) {
    let Some((seg, rest)) = segments.split_first() else {
        out.push(node);
        return;
    };
    match seg {
        Segment::Name(n) => {
            if let Some(v) = node.as_object().and_then(|m| m.get(n)) {
                collect(rest, v, root, out);
            }
        }
        Segment::Index(i) => {
            if let Some(a) = node.as_array()
                && let Some(idx) = resolve_index(*i, a.len())
            {
                collect(rest, &a[idx], root, out);
            }
        }
        Segment::Wildcard => {
            for c in children(node) {
                collect(rest, c, root, out);
            }
        }
        Segment::Slice(start, end, step) => {
            if let Some(a) = node.as_array() {
                for idx in slice_indices(a.len(), *start, *end, *step) {
                    collect(rest, &a[idx], root, out);
                }
            }
        }
        Segment::Union(sels) => {
            for sel in sels {
                let hit = match (sel, node) {
                    (Selector::Name(n), Value::Object(m)) => m.get(n),
                    (Selector::Index(i), Value::Array(a)) => {
                        resolve_index(*i, a.len()).map(|x| &a[x])
                    }
                    _ => None,
                };
                if let Some(v) = hit {
                    collect(rest, v, root, out);
                }
            }
        }
        Segment::Descend(inner) => {
            let mut stack = vec![node];
            let mut visit = Vec::new();
            while let Some(n) = stack.pop() {
                visit.push(n);
                let kids: Vec<&Value> = children(n).collect();
                stack.extend(kids.into_iter().rev());
            }
            for n in visit {
                let single = std::slice::from_ref(inner.as_ref());
                let mut hits = Vec::new();
                collect(single, n, root, &mut hits);
                for h in hits {
                    collect(rest, h, root, out);
                }
            }
        }
        Segment::Filter(expr) => {
            for c in children(node) {
                if eval_filter(expr, c, root) {
                    collect(rest, c, root, out);
                }
            }
        }
    }
}

fn slice_indices(
    len: usize,
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
) -> Vec<usize> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let step = step.unwrap_or(1);
    if step <= 0 {
        return Vec::new();
    }
    let norm = |v: i64| if v < 0 { (len + v).max(0) } else { v.min(len) };
    let s = start.map_or(0, norm);
    let e = end.map_or(len, norm);
    let mut out = Vec::new();
    let mut i = s;
    while i < e {
        if let Ok(u) = usize::try_from(i) {
            out.push(u);
        }
        i += step;
    }
    out
}

fn eval_operand<'a>(op: &'a Operand, cur: &'a Value, root: &'a Value) -> Option<&'a Value> {
    match op {
        Operand::Current(segs) => select_definite(segs, cur),
        Operand::Root(segs) => select_definite(segs, root),
        Operand::Literal(v) => Some(v),
    }
}

fn eval_filter(expr: &FilterExpr, cur: &Value, root: &Value) -> bool {
    match expr {
        FilterExpr::Or(a, b) => eval_filter(a, cur, root) || eval_filter(b, cur, root),
        FilterExpr::And(a, b) => eval_filter(a, cur, root) && eval_filter(b, cur, root),
        FilterExpr::Not(a) => !eval_filter(a, cur, root),
        FilterExpr::Exists(op) => eval_operand(op, cur, root).is_some(),
        FilterExpr::Compare(l, op, r) => {
            let (Some(l), Some(r)) = (eval_operand(l, cur, root), eval_operand(r, cur, root))
            else {
                return false;
            };
            let ord = match (l, r) {
                (Value::Number(a), Value::Number(b)) => a.as_f64().partial_cmp(&b.as_f64()),
                (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
                _ => {
                    return match op {
                        CmpOp::Eq => l == r,
                        CmpOp::Ne => l != r,
                        _ => false,
                    };
                }
            };
            let Some(ord) = ord else { return false };
            match op {
                CmpOp::Eq => ord.is_eq(),
                CmpOp::Ne => !ord.is_eq(),
                CmpOp::Lt => ord.is_lt(),
                CmpOp::Le => ord.is_le(),
                CmpOp::Gt => ord.is_gt(),
                CmpOp::Ge => ord.is_ge(),
            }
        }
    }
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_char(b: u8) -> bool {
    !matches!(
        b,
        b'.' | b'['
            | b']'
            | b'('
            | b')'
            | b'='
            | b'!'
            | b'<'
            | b'>'
            | b'&'
            | b'|'
            | b','
            | b'\''
            | b'"'
    ) && !b.is_ascii_whitespace()
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
    depth: usize,
}

/// How deeply filters may nest (`!`, parentheses, nested filters) before parsing stops: deep
/// enough for any real path, shallow enough that hostile input cannot exhaust the stack.
const MAX_FILTER_DEPTH: usize = 32;

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn ident(&mut self) -> String {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.i += 1;
        }
        self.text[start..self.i].to_owned()
    }

    fn name(&mut self) -> Result<String, String> {
        let start = self.i;
        while self.peek().is_some_and(is_name_char) {
            self.i += 1;
        }
        if start == self.i {
            return Err(format!("expected a name at position {start}"));
        }
        Ok(self.text[start..self.i].to_owned())
    }

    /// Parses segments; inside a filter it stops at the first character that cannot continue a path.
    fn segments(&mut self, in_filter: bool) -> Result<Vec<Segment>, String> {
        let mut segs = Vec::new();
        loop {
            match self.peek() {
                Some(b'.') => {
                    self.i += 1;
                    if self.eat(b'.') {
                        let inner = if self.eat(b'*') {
                            Segment::Wildcard
                        } else if self.peek() == Some(b'[') {
                            self.bracket()?
                        } else {
                            Segment::Name(self.name()?)
                        };
                        segs.push(Segment::Descend(Box::new(inner)));
                    } else if self.eat(b'*') {
                        segs.push(Segment::Wildcard);
                    } else {
                        segs.push(Segment::Name(self.name()?));
                    }
                }
                Some(b'[') => segs.push(self.bracket()?),
                _ if in_filter => return Ok(segs),
                None => return Ok(segs),
                Some(_) => return Err(format!("unexpected character at position {}", self.i)),
            }
        }
    }

    fn quoted(&mut self) -> Result<String, String> {
        let Some(q) = self.peek().filter(|b| *b == b'\'' || *b == b'"') else {
            return Err("expected a quoted name".into());
        };
        self.i += 1;
        let mut out = String::new();
        let rest = &self.text[self.i..];
        let mut chars = rest.char_indices();
        while let Some((off, c)) = chars.next() {
            if c == '\\' {
                // Only the enclosing quote and the backslash itself are escapes; AWS keeps any
                // other backslash as written (`$['a\\"b']` names the key `a\\"b`).
                match chars.clone().next() {
                    Some((_, e)) if u32::from(e) == u32::from(q) || e == '\\' => {
                        chars.next();
                        out.push(e);
                    }
                    Some(_) => out.push(c),
                    None => break,
                }
            } else if c as u32 == u32::from(q) {
                self.i += off + 1;
                return Ok(out);
            } else {
                out.push(c);
            }
        }
        Err("unterminated quoted name".into())
    }

    fn int(&mut self) -> Result<i64, String> {
        self.skip_ws();
        let start = self.i;
        self.eat(b'-');
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
        let t = &self.text[start..self.i];
        let v = t
            .parse::<i64>()
            .map_err(|_| format!("expected an integer at position {start}"))?;
        self.skip_ws();
        Ok(v)
    }

    fn opt_int(&mut self) -> Result<Option<i64>, String> {
        self.skip_ws();
        if self.peek().is_some_and(|b| b == b'-' || b.is_ascii_digit()) {
            self.int().map(Some)
        } else {
            Ok(None)
        }
    }

    fn bracket(&mut self) -> Result<Segment, String> {
        self.i += 1; // '['
        self.skip_ws();
        let seg = match self.peek() {
            Some(b'*') => {
                self.i += 1;
                Segment::Wildcard
            }
            Some(b'?') => {
                self.i += 1;
                self.skip_ws();
                if !self.eat(b'(') {
                    return Err("expected '(' after '?'".into());
                }
                let e = self.filter_or()?;
                self.skip_ws();
                if !self.eat(b')') {
                    return Err("expected ')' to close the filter".into());
                }
                Segment::Filter(Box::new(e))
            }
            Some(b'\'' | b'"') => {
                let mut names = vec![self.quoted()?];
                self.skip_ws();
                while self.eat(b',') {
                    self.skip_ws();
                    names.push(self.quoted()?);
                    self.skip_ws();
                }
                if names.len() == 1 {
                    Segment::Name(names.remove(0))
                } else {
                    Segment::Union(names.into_iter().map(Selector::Name).collect())
                }
            }
            _ => {
                let first = self.opt_int()?;
                if self.eat(b':') {
                    let end = self.opt_int()?;
                    let step = if self.eat(b':') {
                        self.opt_int()?
                    } else {
                        None
                    };
                    Segment::Slice(first, end, step)
                } else {
                    let first =
                        first.ok_or("expected an index, a slice, a name, '*' or a filter")?;
                    let mut idx = vec![first];
                    while self.eat(b',') {
                        idx.push(self.int()?);
                    }
                    if idx.len() == 1 {
                        Segment::Index(first)
                    } else {
                        Segment::Union(idx.into_iter().map(Selector::Index).collect())
                    }
                }
            }
        };
        self.skip_ws();
        if !self.eat(b']') {
            return Err(format!("expected ']' at position {}", self.i));
        }
        Ok(seg)
    }

    /// One left-associative level of the filter grammar: `operand (token operand)*`.
    fn filter_level(
        &mut self,
        token: &[u8],
        operand: fn(&mut Self) -> Result<FilterExpr, String>,
        join: fn(Box<FilterExpr>, Box<FilterExpr>) -> FilterExpr,
    ) -> Result<FilterExpr, String> {
        let mut l = operand(self)?;
        loop {
            self.skip_ws();
            if !self.s[self.i..].starts_with(token) {
                return Ok(l);
            }
            self.i += token.len();
            let r = operand(self)?;
            l = join(Box::new(l), Box::new(r));
        }
    }

    fn filter_or(&mut self) -> Result<FilterExpr, String> {
        self.filter_level(b"||", Self::filter_and, FilterExpr::Or)
    }

    fn filter_and(&mut self) -> Result<FilterExpr, String> {
        self.filter_level(b"&&", Self::filter_unary, FilterExpr::And)
    }

    fn filter_unary(&mut self) -> Result<FilterExpr, String> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return Err("the filter is nested too deeply".into());
        }
        let e = self.filter_unary_inner();
        self.depth -= 1;
        e
    }

    fn filter_unary_inner(&mut self) -> Result<FilterExpr, String> {
        self.skip_ws();
        if self.peek() == Some(b'!') && self.s.get(self.i + 1) != Some(&b'=') {
            self.i += 1;
            return Ok(FilterExpr::Not(Box::new(self.filter_unary()?)));
        }
        if self.eat(b'(') {
            let e = self.filter_or()?;
            self.skip_ws();
            if !self.eat(b')') {
                return Err("expected ')'".into());
            }
            return Ok(e);
        }
        let l = self.operand()?;
        self.skip_ws();
        let ops: [(&[u8], CmpOp); 6] = [
            (b"==", CmpOp::Eq),
            (b"!=", CmpOp::Ne),
            (b"<=", CmpOp::Le),
            (b">=", CmpOp::Ge),
            (b"<", CmpOp::Lt),
            (b">", CmpOp::Gt),
        ];
        for (tok, op) in ops {
            if self.s[self.i..].starts_with(tok) {
                self.i += tok.len();
                let r = self.operand()?;
                return Ok(FilterExpr::Compare(l, op, r));
            }
        }
        Ok(FilterExpr::Exists(l))
    }

    fn operand(&mut self) -> Result<Operand, String> {
        self.skip_ws();
        match self.peek() {
            Some(b'@') => {
                self.i += 1;
                let segs = self.segments(true)?;
                if !segs
                    .iter()
                    .all(|s| matches!(s, Segment::Name(_) | Segment::Index(_)))
                {
                    return Err("filter operands must be definite paths".into());
                }
                Ok(Operand::Current(segs))
            }
            Some(b'$') => {
                self.i += 1;
                let segs = self.segments(true)?;
                if !segs
                    .iter()
                    .all(|s| matches!(s, Segment::Name(_) | Segment::Index(_)))
                {
                    return Err("filter operands must be definite paths".into());
                }
                Ok(Operand::Root(segs))
            }
            Some(b'\'' | b'"') => Ok(Operand::Literal(Value::String(self.quoted()?))),
            Some(_) => {
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.'))
                {
                    self.i += 1;
                }
                let tok = &self.text[start..self.i];
                let v: Value = serde_json::from_str(tok)
                    .map_err(|_| format!("bad literal '{tok}' in filter"))?;
                Ok(Operand::Literal(v))
            }
            None => Err("unexpected end of filter".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sel(p: &str, doc: &Value) -> Option<Value> {
        Path::parse(p).expect("valid path").select(doc)
    }

    #[test]
    fn definite_paths_return_the_value_or_none() {
        let doc = json!({"a": {"b": [10, 20, 30]}, "x-y": 1, "q\"k": 2, "b\\\"c": 3, "it's": 4});
        assert_eq!(sel("$", &doc), Some(doc.clone()));
        assert_eq!(sel("$.a.b[1]", &doc), Some(json!(20)));
        assert_eq!(sel("$.a.b[-1]", &doc), Some(json!(30)));
        assert_eq!(sel("$['a']['b'][0]", &doc), Some(json!(10)));
        assert_eq!(sel("$.x-y", &doc), Some(json!(1)));
        assert_eq!(sel(r#"$["q\"k"]"#, &doc), Some(json!(2)));
        assert_eq!(sel(r#"$['b\"c']"#, &doc), Some(json!(3)));
        assert_eq!(sel(r"$['it\'s']", &doc), Some(json!(4)));
        assert_eq!(sel("$.a.c", &doc), None);
        assert_eq!(sel("$.a.b[3]", &doc), None);
    }

    #[test]
    fn indefinite_paths_always_return_arrays() {
        let doc = json!({"items": [{"n": 1, "k": "a"}, {"n": 2}, {"n": 3, "k": "c"}]});
        assert_eq!(sel("$.items[*].n", &doc), Some(json!([1, 2, 3])));
        assert_eq!(sel("$.items[*].k", &doc), Some(json!(["a", "c"])));
        assert_eq!(sel("$.items[1:].n", &doc), Some(json!([2, 3])));
        assert_eq!(sel("$.items[:1].n", &doc), Some(json!([1])));
        assert_eq!(sel("$.items[0:3:2].n", &doc), Some(json!([1, 3])));
        assert_eq!(sel("$.items[?(@.n > 1)].n", &doc), Some(json!([2, 3])));
        assert_eq!(sel("$.items[?(@.k == 'c')].n", &doc), Some(json!([3])));
        assert_eq!(sel("$.items[?(@.k)].n", &doc), Some(json!([1, 3])));
        assert_eq!(
            sel("$.items[?(@.n > 1 && @.k || @.n == 1)].n", &doc),
            Some(json!([1, 3]))
        );
        assert_eq!(sel("$.items[?(!(@.n == 2))].n", &doc), Some(json!([1, 3])));
        assert_eq!(sel("$..n", &doc), Some(json!([1, 2, 3])));
        assert_eq!(sel("$.items[0,2].n", &doc), Some(json!([1, 3])));
        assert_eq!(sel("$.nothing[*]", &doc), Some(json!([])));
    }

    #[test]
    fn roots_are_distinguished() {
        assert_eq!(
            Path::parse("$$.Execution.Id").map(|p| p.root().clone()),
            Ok(Root::Context)
        );
        assert_eq!(
            Path::parse("$var.a").map(|p| p.root().clone()),
            Ok(Root::Variable("var".into()))
        );
        assert_eq!(Path::parse("$.a").map(|p| p.root().clone()), Ok(Root::Data));
    }

    #[test]
    fn bad_paths_are_syntax_errors() {
        for bad in [
            "",
            "a.b",
            "$.",
            "$[",
            "$['a'",
            "$.a[?(@.x ==)]",
            "$a b",
            "$[1",
        ] {
            assert!(Path::parse(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn write_creates_objects_and_refuses_non_objects() {
        let mut doc = json!({"a": 1});
        Path::parse("$.b.c")
            .expect("path")
            .write(&mut doc, json!(2))
            .expect("write");
        assert_eq!(doc, json!({"a": 1, "b": {"c": 2}}));
        assert!(
            Path::parse("$.a.c")
                .expect("path")
                .write(&mut doc, json!(3))
                .is_err()
        );
        let mut scalar = json!(42);
        assert!(
            Path::parse("$.x")
                .expect("path")
                .write(&mut scalar, json!(1))
                .is_err()
        );
        Path::parse("$")
            .expect("path")
            .write(&mut scalar, json!(7))
            .expect("root");
        assert_eq!(scalar, json!(7));
    }
}
