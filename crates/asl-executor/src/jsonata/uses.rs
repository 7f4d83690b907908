//! Which variables an expression reads, found once when it is parsed, so that an evaluation
//! converts only those (and `$states.context` only when it may be read) into the engine's
//! values.

use super::parser::{Node, Path};
use std::collections::BTreeSet;

/// The variables an expression (or a field's expressions) may read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Uses {
    /// Any variable: the expression calls `$eval`, whose text is known only when it runs.
    pub(crate) all: bool,
    /// The names read (lambda parameters and `:=` names included: reading too many is safe).
    pub(crate) names: BTreeSet<String>,
    /// `$states` is read other than as `$states.input`, `$states.result` or
    /// `$states.errorOutput`, so its `context` must be there.
    pub(crate) context: bool,
}

impl Uses {
    pub(super) fn of(node: &Node) -> Uses {
        let mut uses = Uses::default();
        uses.visit(node);
        uses
    }

    /// Adds what `other` reads.
    pub(crate) fn merge(&mut self, other: &Uses) {
        self.all |= other.all;
        self.context |= other.context;
        self.names.extend(other.names.iter().cloned());
    }

    /// Whether the variable `name` may be read.
    pub(crate) fn reads(&self, name: &str) -> bool {
        self.all || self.names.contains(name)
    }

    fn variable(&mut self, name: &str) {
        match name {
            "eval" => self.all = true,
            "states" => self.context = true,
            _ => {}
        }
        self.names.insert(name.to_owned());
    }

    fn path(&mut self, p: &Path) {
        let mut steps = p.steps.iter();
        // `$states.input` (a named field other than `context`, without a predicate on
        // `$states`) reads no context.
        if let (Some(first), Some(second)) = (p.steps.first(), p.steps.get(1))
            && matches!(&first.node, Node::Variable(v) if v == "states")
            && first.predicates.is_empty()
            && matches!(&second.node, Node::Name(n) if n != "context")
        {
            self.names.insert("states".to_owned());
            steps.next();
        }
        for s in steps {
            self.visit(&s.node);
            s.predicates.iter().for_each(|n| self.visit(n));
        }
        for (k, v) in p.group.iter().flatten() {
            self.visit(k);
            self.visit(v);
        }
    }

    fn visit(&mut self, node: &Node) {
        match node {
            Node::Variable(name) => self.variable(name),
            Node::Path(p) => self.path(p),
            Node::Negate(n) => self.visit(n),
            Node::Array { items, .. } | Node::Block(items) => {
                items.iter().for_each(|n| self.visit(n));
            }
            Node::Object(pairs) => {
                for (k, v) in pairs {
                    self.visit(k);
                    self.visit(v);
                }
            }
            Node::Group(inner, pairs) => {
                self.visit(inner);
                for (k, v) in pairs {
                    self.visit(k);
                    self.visit(v);
                }
            }
            Node::Binary(_, l, r) => {
                self.visit(l);
                self.visit(r);
            }
            Node::Condition(c, t, o) => {
                self.visit(c);
                self.visit(t);
                if let Some(o) = o {
                    self.visit(o);
                }
            }
            Node::Bind(_, v) => self.visit(v),
            Node::Call { procedure, args } => {
                self.visit(procedure);
                args.iter().for_each(|n| self.visit(n));
            }
            Node::Lambda(l) => self.visit(&l.body),
            Node::Filter(inner, predicates) => {
                self.visit(inner);
                predicates.iter().for_each(|n| self.visit(n));
            }
            Node::Sort(terms) => terms.iter().for_each(|(n, _)| self.visit(n)),
            Node::Transform(t) => {
                self.visit(&t.location);
                self.visit(&t.update);
                if let Some(d) = &t.delete {
                    self.visit(d);
                }
            }
            Node::Str(_)
            | Node::Num(_)
            | Node::Value(_)
            | Node::Regex(_)
            | Node::Name(_)
            | Node::Wildcard
            | Node::Descendants
            | Node::Placeholder => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonata::Expression;

    fn uses(text: &str) -> Uses {
        Expression::parse(text).expect("parses").uses().clone()
    }

    #[test]
    fn the_variables_read_are_found_and_context_only_when_it_may_be_read() {
        let u = uses("$merge([$states.input, {'n': $count}])");
        assert!(u.reads("states") && u.reads("count") && !u.reads("other"));
        assert!(!u.context);
        for needs_context in [
            "$states.context.Execution.Id",
            "$keys($states)",
            "$states[0].input",
            "$lookup($states, 'context')",
            "($s := $states; $s.context)",
        ] {
            assert!(uses(needs_context).context, "{needs_context}");
        }
        let u = uses("$eval('$anything')");
        assert!(u.all && u.reads("anything"));
    }
}
