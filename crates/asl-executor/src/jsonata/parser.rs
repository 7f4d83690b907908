//! A Pratt parser from tokens to the AST the evaluator walks, with the reference's
//! rewrites done while parsing: `a.b.c` is one path of steps, a predicate `[...]` belongs to
//! the step before it, `a{...}` groups that path's results, `[]` keeps a singleton array.

use super::Error;
use super::lexer::{Tok, Token};
use serde_json::Value;
use std::sync::Arc;

/// An expression. Shared parts are `Arc`s: a parsed expression belongs to a state machine,
/// which executions on several threads read.
#[derive(Debug, Clone)]
pub(super) enum Node {
    Str(String),
    Num(f64),
    /// `true`, `false`, `null`.
    Value(Value),
    Regex(Arc<regex::Regex>),
    Path(Box<Path>),
    Variable(String),
    /// A field name, as a step of a path.
    Name(String),
    Wildcard,
    Descendants,
    Negate(Box<Node>),
    /// `[a, b, ...]`; `cons` when it is a step of a path (its result is not flattened).
    Array {
        items: Vec<Node>,
        cons: bool,
    },
    /// `{k: v, ...}` on its own: one object from the whole input.
    Object(Vec<(Node, Node)>),
    Binary(&'static str, Box<Node>, Box<Node>),
    Condition(Box<Node>, Box<Node>, Option<Box<Node>>),
    Block(Vec<Node>),
    Bind(String, Box<Node>),
    Call {
        procedure: Box<Node>,
        args: Vec<Node>,
    },
    /// `?` in a call's arguments: a partial application.
    Placeholder,
    Lambda(Arc<Lambda>),
    /// An expression with predicates that is not a path (`$x[0]`, `(a, b)[1]`).
    Filter(Box<Node>, Vec<Node>),
    /// An expression that is not a path, grouped: `$x{k: v}`.
    Group(Box<Node>, Vec<(Node, Node)>),
    /// `^(<a, >b)`, a step of a path: the sequence so far, ordered by the terms (`true` for
    /// descending).
    Sort(Vec<(Node, bool)>),
    /// `|location|update, delete|`: a function that copies an object and changes the objects
    /// `location` names in it.
    Transform(Arc<Transform>),
}

/// The parts of a transform.
#[derive(Debug)]
pub(super) struct Transform {
    pub(super) location: Node,
    pub(super) update: Node,
    pub(super) delete: Option<Node>,
}

/// `function($a, $b) { body }`.
#[derive(Debug)]
pub(super) struct Lambda {
    pub(super) params: Vec<String>,
    pub(super) body: Node,
}

/// `a.b[p].c`: steps, each with its predicates.
#[derive(Debug, Clone)]
pub(super) struct Path {
    pub(super) steps: Vec<Step>,
    /// `[]` somewhere in the path: a singleton result stays an array.
    pub(super) keep_array: bool,
    /// `path{k: v}`: the results grouped into one object.
    pub(super) group: Option<Vec<(Node, Node)>>,
}

#[derive(Debug, Clone)]
pub(super) struct Step {
    pub(super) node: Node,
    pub(super) predicates: Vec<Node>,
}

/// Parses a whole expression.
pub(super) fn parse(tokens: Vec<Token>) -> Result<Node, Error> {
    let mut p = Parser {
        tokens,
        at: 0,
        depth: 0,
    };
    let node = p.expression(0)?;
    match &p.peek().kind {
        Tok::End => Ok(node),
        _ => Err(p.unexpected()),
    }
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    /// How deeply the expression being parsed nests, bounded so that no text can exhaust the
    /// stack.
    depth: usize,
}

/// The deepest nesting an expression may have.
const MAX_NESTING: usize = 200;

/// How tightly an infix operator binds (the reference's table).
fn binding_power(tok: &Tok) -> u8 {
    match tok {
        Tok::Op(op) => match *op {
            "." => 75,
            "[" | "(" | "@" | "#" => 80,
            "{" => 70,
            "*" | "/" | "%" | "**" => 60,
            "+" | "-" | "&" => 50,
            "=" | "!=" | "<" | "<=" | ">" | ">=" | "~>" | "^" | "in" => 40,
            "and" => 30,
            "or" => 25,
            "?" => 20,
            ":=" => 10,
            _ => 0,
        },
        _ => 0,
    }
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        self.at += 1;
        t
    }

    fn unexpected(&self) -> Error {
        let t = self.peek();
        match &t.kind {
            Tok::End => Error::at(
                "S0203",
                t.position,
                "Expected expression, got end of expression",
            ),
            other => Error::at(
                "S0201",
                t.position,
                format!("Syntax error: {}", show(other)),
            ),
        }
    }

    fn expect(&mut self, op: &str) -> Result<(), Error> {
        match &self.peek().kind {
            Tok::Op(o) if *o == op => {
                self.at += 1;
                Ok(())
            }
            Tok::End => Err(Error::at(
                "S0203",
                self.peek().position,
                format!("Expected \"{op}\" before end of expression"),
            )),
            other => Err(Error::at(
                "S0202",
                self.peek().position,
                format!("Expected \"{op}\", got \"{}\"", show(other)),
            )),
        }
    }

    fn at_op(&self, op: &str) -> bool {
        matches!(&self.peek().kind, Tok::Op(o) if *o == op)
    }

    fn expression(&mut self, rbp: u8) -> Result<Node, Error> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(Error::at(
                "S0201",
                self.peek().position,
                format!("Syntax error: the expression nests deeper than {MAX_NESTING} levels"),
            ));
        }
        let result = self.expression_inner(rbp);
        self.depth -= 1;
        result
    }

    fn expression_inner(&mut self, rbp: u8) -> Result<Node, Error> {
        let t = self.next();
        let mut left = self.prefix(t)?;
        while rbp < binding_power(&self.peek().kind) {
            let t = self.next();
            left = self.infix(t, left)?;
        }
        Ok(left)
    }

    /// A list of expressions up to `close`, separated by `sep`.
    fn list(&mut self, sep: &str, close: &str) -> Result<Vec<Node>, Error> {
        let mut items = Vec::new();
        if self.at_op(close) {
            self.at += 1;
            return Ok(items);
        }
        loop {
            items.push(if self.at_op("?") && close == ")" && sep == "," {
                self.at += 1;
                Node::Placeholder
            } else {
                let item = self.expression(0)?;
                // A range `a..b` is only an item of an array constructor.
                if close == "]" && self.at_op("..") {
                    self.at += 1;
                    Node::Binary("..", Box::new(item), Box::new(self.expression(0)?))
                } else {
                    item
                }
            });
            if self.at_op(sep) {
                self.at += 1;
                continue;
            }
            self.expect(close)?;
            return Ok(items);
        }
    }

    fn pairs(&mut self) -> Result<Vec<(Node, Node)>, Error> {
        let mut pairs = Vec::new();
        if self.at_op("}") {
            self.at += 1;
            return Ok(pairs);
        }
        loop {
            let k = self.expression(0)?;
            self.expect(":")?;
            let v = self.expression(0)?;
            pairs.push((k, v));
            if self.at_op(",") {
                self.at += 1;
                continue;
            }
            self.expect("}")?;
            return Ok(pairs);
        }
    }

    fn prefix(&mut self, t: Token) -> Result<Node, Error> {
        Ok(match t.kind {
            Tok::Str(s) => Node::Str(s),
            Tok::Num(n) => Node::Num(n),
            Tok::Value(v) => Node::Value(v),
            Tok::Regex { pattern, flags } => {
                Node::Regex(Arc::new(compile_regex(&pattern, &flags, t.position)?))
            }
            Tok::Variable(v) => Node::Variable(v),
            Tok::Name(n) if n == "function" && self.at_op("(") => {
                self.at += 1;
                let mut params = Vec::new();
                if !self.at_op(")") {
                    loop {
                        match self.next().kind {
                            Tok::Variable(v) => params.push(v),
                            other => {
                                return Err(Error::at(
                                    "S0208",
                                    t.position,
                                    format!(
                                        "Parameter {} of function definition must be a variable name (start with $)",
                                        show(&other)
                                    ),
                                ));
                            }
                        }
                        if self.at_op(",") {
                            self.at += 1;
                        } else {
                            break;
                        }
                    }
                }
                self.expect(")")?;
                if self.at_op("<") {
                    // A signature: checked by the reference; here it is skipped.
                    let mut depth = 0;
                    loop {
                        match self.next().kind {
                            Tok::Op("<") => depth += 1,
                            Tok::Op(">") => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            Tok::End => return Err(self.unexpected()),
                            _ => {}
                        }
                    }
                }
                self.expect("{")?;
                let body = self.expression(0)?;
                self.expect("}")?;
                Node::Lambda(Arc::new(Lambda { params, body }))
            }
            Tok::Name(n) => path_of(Node::Name(n)),
            Tok::Op("*") => path_of(Node::Wildcard),
            Tok::Op("**") => path_of(Node::Descendants),
            Tok::Op("-") => match self.expression(70)? {
                Node::Num(n) => Node::Num(-n),
                other => Node::Negate(Box::new(other)),
            },
            Tok::Op("[") => Node::Array {
                items: self.list(",", "]")?,
                cons: false,
            },
            Tok::Op("{") => Node::Object(self.pairs()?),
            Tok::Op("(") => Node::Block(self.list(";", ")")?),
            Tok::Op("%") => {
                return Err(Error::at(
                    "S0217",
                    t.position,
                    "The parent operator % is not supported by the local executor yet",
                ));
            }
            Tok::Op("|") => {
                let location = self.expression(0)?;
                self.expect("|")?;
                let update = self.expression(0)?;
                let delete = if self.at_op(",") {
                    self.at += 1;
                    Some(self.expression(0)?)
                } else {
                    None
                };
                self.expect("|")?;
                Node::Transform(Arc::new(Transform {
                    location,
                    update,
                    delete,
                }))
            }
            Tok::End => {
                return Err(Error::at(
                    "S0207",
                    t.position,
                    "Unexpected end of expression",
                ));
            }
            other => {
                return Err(Error::at(
                    "S0211",
                    t.position,
                    format!(
                        "The symbol {} cannot be used as a unary operator",
                        show(&other)
                    ),
                ));
            }
        })
    }

    fn infix(&mut self, t: Token, left: Node) -> Result<Node, Error> {
        let Tok::Op(op) = t.kind else {
            return Err(Error::at("S0201", t.position, "Syntax error"));
        };
        Ok(match op {
            "." => {
                let right = self.expression(75)?;
                let mut path = into_path(left, t.position)?;
                match right {
                    Node::Path(p) if p.group.is_none() => {
                        path.keep_array |= p.keep_array;
                        for s in p.steps {
                            path.steps.push(step(s.node, t.position).map(|n| Step {
                                predicates: s.predicates,
                                ..n
                            })?);
                        }
                    }
                    Node::Array { items, .. } => path.steps.push(Step {
                        node: Node::Array { items, cons: true },
                        predicates: Vec::new(),
                    }),
                    other => path.steps.push(step(other, t.position)?),
                }
                Node::Path(Box::new(path))
            }
            "[" => {
                if self.at_op("]") {
                    self.at += 1;
                    match left {
                        Node::Path(mut p) => {
                            p.keep_array = true;
                            Node::Path(p)
                        }
                        other => Node::Path(Box::new(Path {
                            steps: vec![Step {
                                node: other,
                                predicates: Vec::new(),
                            }],
                            keep_array: true,
                            group: None,
                        })),
                    }
                } else {
                    let predicate = self.expression(0)?;
                    self.expect("]")?;
                    match left {
                        Node::Path(mut p) if p.group.is_none() => {
                            if let Some(last) = p.steps.last_mut() {
                                last.predicates.push(predicate);
                            }
                            Node::Path(p)
                        }
                        Node::Filter(inner, mut preds) => {
                            preds.push(predicate);
                            Node::Filter(inner, preds)
                        }
                        other => Node::Filter(Box::new(other), vec![predicate]),
                    }
                }
            }
            "{" => {
                let pairs = self.pairs()?;
                match left {
                    Node::Path(mut p) if p.group.is_none() => {
                        p.group = Some(pairs);
                        Node::Path(p)
                    }
                    other => Node::Group(Box::new(other), pairs),
                }
            }
            "(" => Node::Call {
                procedure: Box::new(left),
                args: self.list(",", ")")?,
            },
            "?" => {
                let then = self.expression(0)?;
                let otherwise = if self.at_op(":") {
                    self.at += 1;
                    Some(Box::new(self.expression(0)?))
                } else {
                    None
                };
                Node::Condition(Box::new(left), Box::new(then), otherwise)
            }
            ":=" => {
                let Node::Variable(name) = left else {
                    return Err(Error::at(
                        "S0212",
                        t.position,
                        "The left side of := must be a variable name (start with $)",
                    ));
                };
                Node::Bind(name, Box::new(self.expression(9)?))
            }
            "^" => {
                self.expect("(")?;
                let mut terms = Vec::new();
                loop {
                    let descending = if self.at_op("<") {
                        self.at += 1;
                        false
                    } else if self.at_op(">") {
                        self.at += 1;
                        true
                    } else {
                        false
                    };
                    terms.push((self.expression(0)?, descending));
                    if self.at_op(",") {
                        self.at += 1;
                        continue;
                    }
                    self.expect(")")?;
                    break;
                }
                let mut path = into_path(left, t.position)?;
                path.steps.push(Step {
                    node: Node::Sort(terms),
                    predicates: Vec::new(),
                });
                Node::Path(Box::new(path))
            }
            "@" | "#" => {
                return Err(Error::at(
                    "S0201",
                    t.position,
                    format!("The operator {op} is not supported by the local executor yet"),
                ));
            }
            _ => {
                let right = self.expression(binding_power(&Tok::Op(op)))?;
                Node::Binary(op, Box::new(left), Box::new(right))
            }
        })
    }
}

/// `left` as a path to add steps to: itself when it is one (ungrouped), else its first step.
fn into_path(left: Node, position: usize) -> Result<Path, Error> {
    Ok(match left {
        Node::Path(p) if p.group.is_none() => *p,
        other => Path {
            steps: vec![step(other, position)?],
            keep_array: false,
            group: None,
        },
    })
}

fn path_of(node: Node) -> Node {
    Node::Path(Box::new(Path {
        steps: vec![Step {
            node,
            predicates: Vec::new(),
        }],
        keep_array: false,
        group: None,
    }))
}

/// A node as a step of a path: a string is a field name; a number or literal cannot be one.
fn step(node: Node, position: usize) -> Result<Step, Error> {
    let node = match node {
        Node::Str(s) => Node::Name(s),
        Node::Num(_) | Node::Value(_) => {
            return Err(Error::at(
                "S0213",
                position,
                "The literal value cannot be used as a step within a path expression",
            ));
        }
        Node::Path(p) if p.steps.len() == 1 && p.group.is_none() && !p.keep_array => {
            let mut p = *p;
            return Ok(p.steps.remove(0));
        }
        other => other,
    };
    Ok(Step {
        node,
        predicates: Vec::new(),
    })
}

/// A JavaScript regular expression in Rust's dialect: the common syntax is the same; flags
/// `i` and `m` map to Rust's.
fn compile_regex(pattern: &str, flags: &str, position: usize) -> Result<regex::Regex, Error> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(flags.contains('i'))
        .multi_line(flags.contains('m'))
        .build()
        .map_err(|e| {
            Error::at(
                "S0302",
                position,
                format!("Invalid regular expression: {e}"),
            )
        })
}

fn show(t: &Tok) -> String {
    match t {
        Tok::Name(n) => n.clone(),
        Tok::Variable(v) => format!("${v}"),
        Tok::Str(s) => format!("\"{s}\""),
        Tok::Num(n) => n.to_string(),
        Tok::Regex { pattern, .. } => format!("/{pattern}/"),
        Tok::Op(o) => (*o).to_owned(),
        Tok::Value(v) => v.to_string(),
        Tok::End => "(end)".into(),
    }
}
