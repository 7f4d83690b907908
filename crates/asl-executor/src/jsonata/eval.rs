//! The evaluator: JSONata's path semantics (each step maps over the sequence before it,
//! arrays flatten one level, a sequence of one is its item), predicates, the object
//! constructor's grouping, operators with the reference's type rules, variables in frames,
//! lambdas and closures, partial application and `~>`.

use super::Error;
use super::functions;
use super::parser::{Node, Path};
use super::reshape;
use super::value::{Flags, Func, V, deep_equal};
use indexmap::IndexMap;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};

/// What an expression gives: a value, or nothing (JSONata's `undefined`).
pub(super) type R = Result<Option<V>, Error>;

/// The deepest nesting of evaluations (lambdas calling lambdas) before `U1001`: bounded so
/// that an unoptimised build on a 2 MiB thread stack (a test, a tokio worker) cannot overflow.
/// The reference has no such bound (its limit is the JavaScript stack).
const MAX_DEPTH: usize = 100;

/// A scope of variables.
#[derive(Debug, Default)]
pub(crate) struct Frame {
    vars: RefCell<HashMap<String, V>>,
    parent: Option<Rc<Frame>>,
}

impl Frame {
    fn child(parent: &Rc<Frame>) -> Rc<Frame> {
        Rc::new(Frame {
            vars: RefCell::default(),
            parent: Some(parent.clone()),
        })
    }

    pub(super) fn bind(&self, name: &str, value: V) {
        self.vars.borrow_mut().insert(name.to_owned(), value);
    }

    fn lookup(&self, name: &str) -> Option<V> {
        if let Some(v) = self.vars.borrow().get(name) {
            return Some(v.clone());
        }
        self.parent.as_ref().and_then(|p| p.lookup(name))
    }
}

/// What an evaluation carries besides the input: the root (`$$`), the depth, and the
/// sources of time and randomness.
pub(super) struct Cx<'a> {
    pub(super) root: Option<V>,
    /// The evaluation's top-level variables (`$eval` evaluates in them).
    pub(super) globals: Rc<Frame>,
    /// Every frame the evaluation made: a function bound in a frame holds that frame, a cycle
    /// that [`Cx::release`] breaks when the evaluation ends.
    frames: RefCell<Vec<Weak<Frame>>>,
    depth: Cell<usize>,
    pub(super) host: &'a dyn super::Host,
}

impl<'a> Cx<'a> {
    pub(super) fn new(root: Option<V>, globals: Rc<Frame>, host: &'a dyn super::Host) -> Cx<'a> {
        Cx {
            root,
            frames: RefCell::new(vec![Rc::downgrade(&globals)]),
            globals,
            depth: Cell::new(0),
            host,
        }
    }

    /// A new frame inside `parent`, remembered for [`Cx::release`].
    pub(super) fn child(&self, parent: &Rc<Frame>) -> Rc<Frame> {
        let frame = Frame::child(parent);
        self.frames.borrow_mut().push(Rc::downgrade(&frame));
        frame
    }

    /// Empties every frame of the evaluation, so that functions and the frames that hold them
    /// are freed: call it once the result no longer needs them.
    pub(super) fn release(&self) {
        for frame in self.frames.borrow_mut().drain(..) {
            if let Some(f) = frame.upgrade() {
                f.vars.borrow_mut().clear();
            }
        }
    }
}

/// A sequence of results, collapsed as the reference does after every evaluation: empty is
/// nothing, one item is that item unless the sequence was asked to stay an array.
fn collapse(v: Option<V>, keep: bool) -> Option<V> {
    match v {
        Some(V::Arr(items, mut flags)) if flags.sequence => {
            if keep {
                flags.keep = true;
            }
            match items.len() {
                0 => None,
                1 if !flags.keep => Some(items[0].clone()),
                _ => Some(V::Arr(items, flags)),
            }
        }
        other => other,
    }
}

pub(super) fn eval(node: &Node, input: Option<&V>, env: &Rc<Frame>, cx: &Cx<'_>) -> R {
    let depth = cx.depth.get() + 1;
    if depth > MAX_DEPTH {
        return Err(Error::new(
            "U1001",
            "Stack overflow error: Check for non-terminating recursive function.  Consider rewriting as tail-recursive.",
        ));
    }
    cx.depth.set(depth);
    let result = eval_inner(node, input, env, cx);
    cx.depth.set(depth - 1);
    let keep = matches!(node, Node::Path(p) if p.keep_array);
    Ok(collapse(result?, keep))
}

fn eval_inner(node: &Node, input: Option<&V>, env: &Rc<Frame>, cx: &Cx<'_>) -> R {
    Ok(match node {
        Node::Str(s) => Some(V::str(s.as_str())),
        Node::Num(n) => Some(V::Num(*n)),
        Node::Value(v) => Some(V::from_json(v)),
        Node::Regex(r) => Some(V::Func(Rc::new(Func::Regex(r.clone())))),
        Node::Path(p) => path(p, input, env, cx)?,
        Node::Name(name) => input.and_then(|i| lookup(i, name)),
        Node::Wildcard => input.and_then(wildcard),
        Node::Descendants => input.map(|i| {
            let mut out = Vec::new();
            descendants(i, &mut out);
            V::seq(out)
        }),
        Node::Variable(name) => match name.as_str() {
            "" => input.cloned(),
            "$" => cx.root.clone(),
            _ => env
                .lookup(name)
                .or_else(|| functions::find(name).map(|b| V::Func(Rc::new(Func::Builtin(b))))),
        },
        Node::Negate(inner) => match eval(inner, input, env, cx)? {
            None => None,
            Some(V::Num(n)) => Some(V::Num(-n)),
            Some(other) => {
                return Err(Error::with_value(
                    "D1002",
                    "Cannot negate a non-numeric value",
                    &other,
                ));
            }
        },
        Node::Array { items, cons } => {
            let mut out = Vec::new();
            for item in items {
                if let Some(v) = eval(item, input, env, cx)? {
                    match (item, v) {
                        (Node::Array { .. }, v) => out.push(v),
                        (_, V::Arr(a, _)) => out.extend(a.iter().cloned()),
                        (_, v) => out.push(v),
                    }
                }
            }
            Some(V::Arr(
                Rc::new(out),
                Flags {
                    cons: *cons,
                    ..Flags::default()
                },
            ))
        }
        Node::Object(pairs) => Some(group(pairs, input.cloned(), env, cx)?),
        Node::Group(inner, pairs) => {
            let v = eval(inner, input, env, cx)?;
            Some(group(pairs, v, env, cx)?)
        }
        Node::Filter(inner, predicates) => {
            let mut v = eval(inner, input, env, cx)?;
            for p in predicates {
                v = collapse(filter(p, v, env, cx)?, false);
            }
            v
        }
        Node::Binary(op, l, r) => binary(op, l, r, input, env, cx)?,
        Node::Condition(c, then, otherwise) => {
            if functions::boolean(eval(c, input, env, cx)?.as_ref()) {
                eval(then, input, env, cx)?
            } else if let Some(o) = otherwise {
                eval(o, input, env, cx)?
            } else {
                None
            }
        }
        Node::Block(items) => {
            let frame = cx.child(env);
            let mut last = None;
            for item in items {
                last = eval(item, input, &frame, cx)?;
            }
            last
        }
        Node::Bind(name, value) => {
            let v = eval(value, input, env, cx)?;
            if let Some(v) = &v {
                env.bind(name, v.clone());
            }
            v
        }
        Node::Lambda(lambda) => Some(V::Func(Rc::new(Func::Lambda {
            lambda: lambda.clone(),
            env: env.clone(),
            input: input.cloned(),
        }))),
        Node::Call { procedure, args } => call(procedure, args, None, input, env, cx)?,
        Node::Placeholder => None,
        // Outside a path (which sorts its sequence), an order-by has nothing to sort.
        Node::Sort(_) => input.cloned(),
        Node::Transform(t) => Some(V::Func(Rc::new(Func::Transform(t.clone(), env.clone())))),
    })
}

/// `a.b.c`: each step over the sequence of the step before.
fn path(p: &Path, input: Option<&V>, env: &Rc<Frame>, cx: &Cx<'_>) -> R {
    let first_is_variable = matches!(p.steps.first().map(|s| &s.node), Some(Node::Variable(_)));
    let mut sequence: Vec<Option<V>> = match input {
        Some(V::Arr(items, _)) if !first_is_variable => items.iter().cloned().map(Some).collect(),
        other => vec![other.cloned()],
    };
    let mut result: Option<V> = None;
    for (i, step) in p.steps.iter().enumerate() {
        let last = i + 1 == p.steps.len();
        let mut results = Vec::new();
        if let Node::Sort(terms) = &step.node {
            let items = sequence.iter().flatten().cloned().collect();
            let mut res = Some(V::seq(reshape::sort(terms, items, env, cx)?));
            for predicate in &step.predicates {
                res = filter(predicate, res, env, cx)?;
            }
            results.extend(res);
        }
        for item in sequence
            .iter()
            .filter(|_| !matches!(step.node, Node::Sort(_)))
        {
            let mut res = eval(&step.node, item.as_ref(), env, cx)?;
            for predicate in &step.predicates {
                res = filter(predicate, res, env, cx)?;
            }
            if let Some(r) = res {
                results.push(r);
            }
        }
        let out =
            if last && results.len() == 1 && matches!(&results[0], V::Arr(_, f) if !f.sequence) {
                results.remove(0)
            } else {
                let mut flat = Vec::new();
                for r in results {
                    match r {
                        V::Arr(items, flags) if !flags.cons => flat.extend(items.iter().cloned()),
                        other => flat.push(other),
                    }
                }
                V::seq(flat)
            };
        let empty = matches!(&out, V::Arr(items, _) if items.is_empty());
        sequence = match &out {
            V::Arr(items, _) => items.iter().cloned().map(Some).collect(),
            other => vec![Some(other.clone())],
        };
        result = Some(out);
        if empty {
            break;
        }
    }
    match (&p.group, result) {
        (Some(pairs), r) => Ok(Some(group(pairs, r, env, cx)?)),
        (None, Some(V::Arr(items, mut flags))) if p.keep_array => {
            flags.keep = true;
            flags.sequence = true;
            Ok(Some(V::Arr(items, flags)))
        }
        (None, r) => Ok(r),
    }
}

/// A field of an object, or of every object in an array (flattened one level).
fn lookup(input: &V, key: &str) -> Option<V> {
    match input {
        V::Arr(items, _) => {
            let mut out = Vec::new();
            for item in items.iter() {
                match lookup(item, key) {
                    Some(V::Arr(a, _)) => out.extend(a.iter().cloned()),
                    Some(v) => out.push(v),
                    None => {}
                }
            }
            Some(V::seq(out))
        }
        V::Obj(m) => m.get(key).cloned(),
        _ => None,
    }
}

fn wildcard(input: &V) -> Option<V> {
    let mut out = Vec::new();
    let push = |v: &V, out: &mut Vec<V>| match v {
        V::Arr(a, _) => out.extend(a.iter().cloned()),
        other => out.push(other.clone()),
    };
    match input {
        V::Obj(m) => m.values().for_each(|v| push(v, &mut out)),
        V::Arr(items, _) => {
            for item in items.iter() {
                if let Some(V::Arr(a, _)) = wildcard(item) {
                    out.extend(a.iter().cloned());
                }
            }
        }
        _ => {}
    }
    Some(V::seq(out))
}

fn descendants(input: &V, out: &mut Vec<V>) {
    if !input.is_array() {
        out.push(input.clone());
    }
    match input {
        V::Arr(items, _) => items.iter().for_each(|i| descendants(i, out)),
        V::Obj(m) => m.values().for_each(|v| descendants(v, out)),
        _ => {}
    }
}

/// A predicate `[p]` over `input`: a number picks by index (negative from the end), else each
/// item for which `p` is true (or whose index `p` names).
fn filter(predicate: &Node, input: Option<V>, env: &Rc<Frame>, cx: &Cx<'_>) -> R {
    let items: Vec<Option<V>> = match input {
        Some(V::Arr(a, _)) => a.iter().cloned().map(Some).collect(),
        other => vec![other],
    };
    let len = items.len();
    let index_of = |n: f64| -> Option<usize> {
        #[allow(clippy::cast_possible_truncation)]
        let i = n.floor() as i64;
        let i = if i < 0 {
            i + i64::try_from(len).unwrap_or(i64::MAX)
        } else {
            i
        };
        usize::try_from(i).ok()
    };
    let mut out = Vec::new();
    if let Node::Num(n) = predicate {
        if let Some(Some(item)) = index_of(*n).and_then(|i| items.get(i)) {
            match item {
                V::Arr(a, _) => out.extend(a.iter().cloned()),
                other => out.push(other.clone()),
            }
        }
        return Ok(Some(V::seq(out)));
    }
    for (index, item) in items.iter().enumerate() {
        let res = eval(predicate, item.as_ref(), env, cx)?;
        let numbers: Option<Vec<f64>> = match &res {
            Some(V::Num(n)) => Some(vec![*n]),
            Some(V::Arr(a, _)) if !a.is_empty() && a.iter().all(|v| matches!(v, V::Num(_))) => {
                Some(a.iter().filter_map(V::as_num).collect())
            }
            _ => None,
        };
        let keep = match numbers {
            Some(ns) => ns.iter().any(|n| index_of(*n) == Some(index)),
            None => functions::boolean(res.as_ref()),
        };
        if keep && let Some(item) = item {
            out.push(item.clone());
        }
    }
    Ok(Some(V::seq(out)))
}

/// The object constructor: each pair's key evaluated on each input item groups the items; each
/// group's value is the pair's value evaluated on the group.
fn group(
    pairs: &[(Node, Node)],
    input: Option<V>,
    env: &Rc<Frame>,
    cx: &Cx<'_>,
) -> Result<V, Error> {
    let items: Vec<Option<V>> = match input {
        Some(V::Arr(a, _)) if !a.is_empty() => a.iter().cloned().map(Some).collect(),
        Some(V::Arr(..)) | None => vec![None],
        other => vec![other],
    };
    let mut groups: IndexMap<String, (Option<V>, usize)> = IndexMap::new();
    for item in &items {
        for (pair_index, (key, _)) in pairs.iter().enumerate() {
            match eval(key, item.as_ref(), env, cx)? {
                None => {}
                Some(V::Str(k)) => {
                    let k = k.to_string();
                    match groups.get_mut(&k) {
                        Some((data, index)) => {
                            if *index != pair_index {
                                return Err(Error::with_value(
                                    "D1009",
                                    "Multiple key definitions evaluate to same key",
                                    &V::str(k.as_str()),
                                ));
                            }
                            *data = functions::append(data.take(), item.clone());
                        }
                        None => {
                            groups.insert(k, (item.clone(), pair_index));
                        }
                    }
                }
                Some(other) => {
                    return Err(Error::with_value(
                        "T1003",
                        "Key in object structure must evaluate to a string",
                        &other,
                    ));
                }
            }
        }
    }
    let mut out = IndexMap::new();
    for (key, (data, index)) in groups {
        if let Some(v) = eval(&pairs[index].1, data.as_ref(), env, cx)? {
            out.insert(key, v);
        }
    }
    Ok(V::Obj(Rc::new(out)))
}

fn binary(op: &str, l: &Node, r: &Node, input: Option<&V>, env: &Rc<Frame>, cx: &Cx<'_>) -> R {
    if op == "and" || op == "or" {
        let left = functions::boolean(eval(l, input, env, cx)?.as_ref());
        let result = match (op, left) {
            ("and", false) => false,
            ("or", true) => true,
            _ => functions::boolean(eval(r, input, env, cx)?.as_ref()),
        };
        return Ok(Some(V::Bool(result)));
    }
    if op == "~>" {
        let left = eval(l, input, env, cx)?;
        if let Node::Call { procedure, args } = r {
            return call(procedure, args, Some(left), input, env, cx);
        }
        let func = eval(r, input, env, cx)?;
        return match func {
            Some(V::Func(f)) => {
                if let Some(V::Func(g)) = &left {
                    // Two functions chained: their composition.
                    return Ok(Some(V::Func(Rc::new(Func::Compose(g.clone(), f)))));
                }
                apply(&f, vec![left], input, cx)
            }
            _ => Err(Error::new(
                "T2006",
                "The right side of the function application operator ~> must be a function",
            )),
        };
    }
    let left = eval(l, input, env, cx)?;
    let right = eval(r, input, env, cx)?;
    match op {
        "+" | "-" | "*" | "/" | "%" => {
            let num = |v: &Option<V>, code: &'static str| -> Result<Option<f64>, Error> {
                match v {
                    None => Ok(None),
                    Some(V::Num(n)) => Ok(Some(*n)),
                    Some(other) => Err(Error::with_value(
                        code,
                        if code == "T2001" {
                            format!("The left side of the {op} operator must evaluate to a number")
                        } else {
                            format!("The right side of the {op} operator must evaluate to a number")
                        },
                        other,
                    )),
                }
            };
            let (Some(a), Some(b)) = (num(&left, "T2001")?, num(&right, "T2002")?) else {
                return Ok(None);
            };
            let n = match op {
                "+" => a + b,
                "-" => a - b,
                "*" => a * b,
                "/" => a / b,
                _ => a % b,
            };
            // As in the reference, an overflow is Infinity (JSON's null on output), not an error.
            Ok(Some(V::Num(n)))
        }
        "=" | "!=" => {
            let (Some(a), Some(b)) = (&left, &right) else {
                return Ok(Some(V::Bool(false)));
            };
            let eq = deep_equal(a, b);
            Ok(Some(V::Bool(if op == "=" { eq } else { !eq })))
        }
        "<" | "<=" | ">" | ">=" => {
            let comparable = |v: &Option<V>| matches!(v, None | Some(V::Num(_) | V::Str(_)));
            if !comparable(&left) || !comparable(&right) {
                let bad = if comparable(&left) { &right } else { &left };
                return Err(Error::with_value(
                    "T2010",
                    format!(
                        "The expressions either side of operator \"{op}\" must evaluate to numeric or string values"
                    ),
                    bad.as_ref().unwrap_or(&V::Null),
                ));
            }
            let ord = match (&left, &right) {
                (None, _) | (_, None) => return Ok(Some(V::Bool(false))),
                (Some(V::Num(a)), Some(V::Num(b))) => a.partial_cmp(b),
                (Some(V::Str(a)), Some(V::Str(b))) => Some(functions::compare_strings(a, b)),
                (Some(a), Some(_)) => {
                    return Err(Error::with_value(
                        "T2009",
                        format!(
                            "The values either side of operator \"{op}\" must be of the same data type"
                        ),
                        a,
                    ));
                }
            };
            let Some(ord) = ord else {
                return Ok(Some(V::Bool(false)));
            };
            Ok(Some(V::Bool(match op {
                "<" => ord.is_lt(),
                "<=" => ord.is_le(),
                ">" => ord.is_gt(),
                _ => ord.is_ge(),
            })))
        }
        "&" => {
            let s = |v: &Option<V>| -> Result<String, Error> {
                match v {
                    None => Ok(String::new()),
                    Some(v) => functions::string(v),
                }
            };
            Ok(Some(V::str(format!("{}{}", s(&left)?, s(&right)?))))
        }
        "in" => {
            let (Some(a), Some(b)) = (&left, &right) else {
                return Ok(Some(V::Bool(false)));
            };
            let found = match b {
                V::Arr(items, _) => items.iter().any(|i| strict_equal(i, a)),
                other => strict_equal(other, a),
            };
            Ok(Some(V::Bool(found)))
        }
        ".." => range(left, right),
        _ => Err(Error::new(
            "S0201",
            format!("Syntax error: unknown operator {op}"),
        )),
    }
}

/// JavaScript's `===`: values for primitives, identity for the rest.
fn strict_equal(a: &V, b: &V) -> bool {
    match (a, b) {
        (V::Arr(x, _), V::Arr(y, _)) => Rc::ptr_eq(x, y),
        (V::Obj(x), V::Obj(y)) => Rc::ptr_eq(x, y),
        _ => deep_equal(a, b),
    }
}

fn range(left: Option<V>, right: Option<V>) -> R {
    let int = |v: &Option<V>, code: &'static str, side: &str| -> Result<Option<f64>, Error> {
        match v {
            None => Ok(None),
            Some(V::Num(n)) if n.fract() == 0.0 => Ok(Some(*n)),
            Some(other) => Err(Error::with_value(
                code,
                format!("The {side} side of the range operator (..) must evaluate to an integer"),
                other,
            )),
        }
    };
    let (Some(a), Some(b)) = (int(&left, "T2003", "left")?, int(&right, "T2004", "right")?) else {
        return Ok(None);
    };
    if a > b {
        return Ok(None);
    }
    if b - a >= 10_000_000.0 {
        return Err(Error::new(
            "D2014",
            "The size of the sequence allocated by the range operator (..) must not exceed 1e7.",
        ));
    }
    #[allow(clippy::cast_possible_truncation)]
    let (a, b) = (a as i64, b as i64);
    #[allow(clippy::cast_precision_loss)]
    Ok(Some(V::array((a..=b).map(|i| V::Num(i as f64)).collect())))
}

/// A call `f(args)`, with `context` first when it comes from `~>`.
fn call(
    procedure: &Node,
    args: &[Node],
    context: Option<Option<V>>,
    input: Option<&V>,
    env: &Rc<Frame>,
    cx: &Cx<'_>,
) -> R {
    let func = eval(procedure, input, env, cx)?;
    let Some(V::Func(func)) = func else {
        // `foo()` where `$foo` is a variable: the reference suggests the `$`.
        let hint = match procedure {
            Node::Path(p) => match p.steps.first().map(|s| &s.node) {
                Some(Node::Name(n)) if p.steps.len() == 1 && env.lookup(n).is_some() => {
                    format!(". Did you mean ${n}?")
                }
                _ => String::new(),
            },
            _ => String::new(),
        };
        return Err(Error::new(
            if hint.is_empty() { "T1006" } else { "T1005" },
            format!("Attempted to invoke a non-function{hint}"),
        ));
    };
    let mut values: Vec<Option<Option<V>>> = Vec::new();
    if let Some(c) = context {
        values.push(Some(c));
    }
    for a in args {
        values.push(if matches!(a, Node::Placeholder) {
            None
        } else {
            Some(eval(a, input, env, cx)?)
        });
    }
    if values.iter().any(Option::is_none) {
        return Ok(Some(V::Func(Rc::new(Func::Partial { func, args: values }))));
    }
    let values = values.into_iter().flatten().collect();
    apply(&func, values, input, cx)
}

/// Calls a function value with evaluated arguments.
pub(super) fn apply(func: &Rc<Func>, args: Vec<Option<V>>, input: Option<&V>, cx: &Cx<'_>) -> R {
    match &**func {
        Func::Builtin(b) => (b.call)(args, input, cx),
        Func::Lambda {
            lambda,
            env,
            input: captured,
        } => {
            let frame = cx.child(env);
            for (i, p) in lambda.params.iter().enumerate() {
                if let Some(Some(v)) = args.get(i) {
                    frame.bind(p, v.clone());
                }
            }
            eval(&lambda.body, captured.as_ref(), &frame, cx)
        }
        Func::Partial { func, args: slots } => {
            let mut given = args.into_iter();
            let full: Vec<Option<V>> = slots
                .iter()
                .map(|s| match s {
                    Some(v) => v.clone(),
                    None => given.next().flatten(),
                })
                .collect();
            apply(func, full, input, cx)
        }
        Func::Regex(r) => Ok(functions::regex_match(
            r,
            args.first().cloned().flatten().as_ref(),
            0,
        )),
        Func::Compose(f, g) => {
            let inner = apply(f, args, input, cx)?;
            apply(g, vec![inner], input, cx)
        }
        Func::Transform(t, env) => {
            reshape::transform(t, env, args.into_iter().next().flatten(), cx)
        }
    }
}

/// How many parameters a function value takes (for `$map` and friends, which pass the index
/// and the array only to functions that want them).
pub(super) fn arity(func: &Func) -> usize {
    match func {
        Func::Builtin(b) => b.arity,
        Func::Lambda { lambda, .. } => lambda.params.len(),
        Func::Partial { args, .. } => args.iter().filter(|a| a.is_none()).count(),
        Func::Regex(_) => 1,
        Func::Compose(f, _) => arity(f),
        Func::Transform(..) => 1,
    }
}
