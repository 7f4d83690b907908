//! The order-by step `^(...)` and the transform operator `|location|update, delete|`.

use super::Error;
use super::eval::{Cx, Frame, R, eval};
use super::functions::compare_strings;
use super::parser::{Node, Transform};
use super::value::V;
use std::cmp::Ordering;
use std::rc::Rc;

/// `items^(terms)`: a stable sort on the terms in priority order. An item whose term gives
/// nothing goes after the others, whatever the direction; terms must give numbers or strings
/// (`T2008`), of one type (`T2007`).
pub(super) fn sort(
    terms: &[(Node, bool)],
    items: Vec<V>,
    env: &Rc<Frame>,
    cx: &Cx<'_>,
) -> Result<Vec<V>, Error> {
    if items.len() < 2 {
        return Ok(items);
    }
    // Each item's keys, evaluated once.
    let mut keyed = Vec::with_capacity(items.len());
    for item in items {
        let mut keys = Vec::with_capacity(terms.len());
        for (term, _) in terms {
            keys.push(eval(term, Some(&item), env, cx)?);
        }
        keyed.push((keys, item));
    }
    // The keys' types are checked before sorting, so that the comparison is a total order
    // (the reference finds the same errors while comparing).
    for i in 0..terms.len() {
        let mut seen = None;
        for (keys, _) in &keyed {
            let ty = match &keys[i] {
                None => continue,
                Some(V::Num(_)) => "number",
                Some(V::Str(_)) => "string",
                Some(_) => {
                    return Err(Error::new(
                        "T2008",
                        "The expressions within an order-by clause must evaluate to numeric or string values",
                    ));
                }
            };
            if seen.is_some_and(|s| s != ty) {
                return Err(Error::new(
                    "T2007",
                    "Type mismatch within order-by clause. All values must be of the same type",
                ));
            }
            seen = Some(ty);
        }
    }
    keyed.sort_by(|(a, _), (b, _)| {
        for (i, (_, descending)) in terms.iter().enumerate() {
            let order = match (&a[i], &b[i]) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => return Ordering::Greater,
                (Some(_), None) => return Ordering::Less,
                (Some(x), Some(y)) => compare(x, y),
            };
            let order = if *descending { order.reverse() } else { order };
            if order != Ordering::Equal {
                return order;
            }
        }
        Ordering::Equal
    });
    Ok(keyed.into_iter().map(|(_, item)| item).collect())
}

/// Two keys of one type (checked before): numbers in IEEE total order, strings as JavaScript
/// orders them.
fn compare(a: &V, b: &V) -> Ordering {
    match (a, b) {
        (V::Num(x), V::Num(y)) => x.total_cmp(y),
        (V::Str(x), V::Str(y)) => compare_strings(x, y),
        _ => Ordering::Equal,
    }
}

/// Applies a transform to `obj`: a copy of it in which every object that `location` names
/// has `update`'s fields merged in and `delete`'s fields removed.
///
/// The reference clones the object and changes the matches in place; values here are shared
/// and immutable, so the matches are found by identity and the copy is rebuilt from the top,
/// each match changed before the objects inside it, as the reference's document order does.
pub(super) fn transform(t: &Transform, env: &Rc<Frame>, obj: Option<V>, cx: &Cx<'_>) -> R {
    let Some(obj) = obj else { return Ok(None) };
    let matches = match eval(&t.location, Some(&obj), env, cx)? {
        None => return Ok(Some(obj)),
        Some(V::Arr(items, _)) => items.to_vec(),
        Some(one) => vec![one],
    };
    let targets: Vec<*const _> = matches
        .iter()
        .filter_map(|m| match m {
            V::Obj(o) => Some(Rc::as_ptr(o)),
            _ => None,
        })
        .collect();
    if targets.is_empty() {
        return Ok(Some(obj));
    }
    rebuild(t, env, &obj, &targets, cx).map(Some)
}

fn rebuild(
    t: &Transform,
    env: &Rc<Frame>,
    v: &V,
    targets: &[*const indexmap::IndexMap<String, V>],
    cx: &Cx<'_>,
) -> Result<V, Error> {
    match v {
        V::Obj(o) => {
            let mut fields = (**o).clone();
            if targets.contains(&Rc::as_ptr(o)) {
                match eval(&t.update, Some(v), env, cx)? {
                    None => {}
                    Some(V::Obj(update)) => {
                        for (k, value) in update.iter() {
                            fields.insert(k.clone(), value.clone());
                        }
                    }
                    Some(other) => {
                        return Err(Error::with_value(
                            "T2011",
                            "The insert/update clause of the transform expression must evaluate to an object",
                            &other,
                        ));
                    }
                }
                if let Some(delete) = &t.delete {
                    for name in deletions(eval(delete, Some(v), env, cx)?)? {
                        fields.shift_remove(name.as_ref());
                    }
                }
            }
            let mut out = indexmap::IndexMap::with_capacity(fields.len());
            for (k, child) in fields {
                out.insert(k, rebuild(t, env, &child, targets, cx)?);
            }
            Ok(V::Obj(Rc::new(out)))
        }
        V::Arr(items, flags) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items.iter() {
                out.push(rebuild(t, env, item, targets, cx)?);
            }
            Ok(V::Arr(Rc::new(out), *flags))
        }
        other => Ok(other.clone()),
    }
}

/// The field names a transform's delete clause gives: a string or an array of strings.
fn deletions(v: Option<V>) -> Result<Vec<Rc<str>>, Error> {
    let items = match v {
        None => return Ok(Vec::new()),
        Some(V::Arr(items, _)) => items.to_vec(),
        Some(one) => vec![one],
    };
    items
        .into_iter()
        .map(|i| match i {
            V::Str(s) => Ok(s),
            other => Err(Error::with_value(
                "T2012",
                "The delete clause of the transform expression must evaluate to a string or array of strings",
                &other,
            )),
        })
        .collect()
}
