//! `infra/template.yaml` read as data, and resolved as CloudFormation would resolve it for one
//! deployment: the functions' IAM policies and the EventBridge rules' patterns, so the local
//! platform runs each function with exactly the permissions the template grants it and
//! routes exactly the events the deployed rules route.

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Why the template could not be read or resolved.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// Not YAML, or not the shape of a SAM template.
    #[error("infra/template.yaml: {0}")]
    Shape(String),
    /// An intrinsic function or reference that this resolver does not know.
    #[error("infra/template.yaml: cannot resolve {0}")]
    Unresolved(String),
}

/// YAML to JSON, with CloudFormation's short-form tags written out (`!Ref X` as `{"Ref": X}`).
pub fn to_json(v: yaml_serde::Value) -> Value {
    match v {
        yaml_serde::Value::Null => Value::Null,
        yaml_serde::Value::Bool(b) => Value::Bool(b),
        yaml_serde::Value::Number(n) => serde_json::from_str(&n.to_string()).unwrap_or(Value::Null),
        yaml_serde::Value::String(s) => Value::String(s),
        yaml_serde::Value::Sequence(items) => {
            Value::Array(items.into_iter().map(to_json).collect())
        }
        yaml_serde::Value::Mapping(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k.as_str().unwrap_or_default().to_owned(), to_json(v)))
                .collect(),
        ),
        yaml_serde::Value::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!');
            let key = if name == "Ref" || name == "Condition" {
                name.to_owned()
            } else {
                format!("Fn::{name}")
            };
            json!({ key: to_json(t.value) })
        }
    }
}

/// A template's text as JSON.
pub fn parse(text: &str) -> Result<Value, TemplateError> {
    let yaml: yaml_serde::Value =
        yaml_serde::from_str(text).map_err(|e| TemplateError::Shape(e.to_string()))?;
    Ok(to_json(yaml))
}

/// What one deployment of the template is: its pseudo parameters, parameters, and the
/// physical ids and attributes of the resources that policies and rules refer to.
#[derive(Debug, Clone, Default)]
pub struct Deployment {
    /// `AWS::Region`.
    pub region: String,
    /// `AWS::AccountId`.
    pub account_id: String,
    /// The template's parameters.
    pub parameters: BTreeMap<String, String>,
    /// Per logical id: `Ref` and attribute values (`Arn`, ...).
    pub resources: BTreeMap<String, BTreeMap<String, String>>,
}

/// A value that resolved to nothing (`AWS::NoValue`, the false branch of a condition).
const NO_VALUE: &str = "\u{0}AWS::NoValue";

impl Deployment {
    fn partition(&self) -> &'static str {
        vending_domain::config::partition_of(&self.region)
    }

    fn reference(&self, name: &str) -> Result<String, TemplateError> {
        Ok(match name {
            "AWS::Region" => self.region.clone(),
            "AWS::AccountId" => self.account_id.clone(),
            "AWS::Partition" => self.partition().to_owned(),
            "AWS::URLSuffix" => "amazonaws.com".to_owned(),
            "AWS::NoValue" => NO_VALUE.to_owned(),
            _ => match (self.parameters.get(name), self.resources.get(name)) {
                (Some(v), _) => v.clone(),
                (None, Some(attrs)) => attrs
                    .get("Ref")
                    .cloned()
                    .ok_or_else(|| TemplateError::Unresolved(format!("Ref {name}")))?,
                (None, None) => return Err(TemplateError::Unresolved(format!("Ref {name}"))),
            },
        })
    }

    fn attribute(&self, resource: &str, attr: &str) -> Result<String, TemplateError> {
        self.resources
            .get(resource)
            .and_then(|a| a.get(attr))
            .cloned()
            .ok_or_else(|| TemplateError::Unresolved(format!("GetAtt {resource}.{attr}")))
    }

    fn sub(&self, text: &str, vars: &Map<String, Value>) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .ok_or_else(|| TemplateError::Unresolved(format!("Sub {text}")))?;
            let name = &rest[start + 2..start + end];
            let value = match vars.get(name) {
                Some(v) => v
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| TemplateError::Unresolved(format!("Sub variable {name}")))?,
                None => match name.split_once('.') {
                    Some((r, a)) if !name.starts_with("AWS::") => self.attribute(r, a)?,
                    _ => self.reference(name)?,
                },
            };
            out.push_str(&value);
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// True when the template's condition `name` holds.
    pub fn condition(&self, template: &Value, name: &str) -> Result<bool, TemplateError> {
        let expr = &template["Conditions"][name];
        self.truth(template, expr)
    }

    fn truth(&self, template: &Value, expr: &Value) -> Result<bool, TemplateError> {
        let (f, args) = expr
            .as_object()
            .and_then(|o| o.iter().next())
            .ok_or_else(|| TemplateError::Unresolved(format!("condition {expr}")))?;
        let list = args.as_array().cloned().unwrap_or_default();
        match f.as_str() {
            "Fn::Equals" => {
                Ok(self.resolve(template, &list[0])? == self.resolve(template, &list[1])?)
            }
            "Fn::Not" => Ok(!self.truth(template, &list[0])?),
            "Fn::And" => list
                .iter()
                .try_fold(true, |a, c| Ok(a && self.truth(template, c)?)),
            "Fn::Or" => list
                .iter()
                .try_fold(false, |a, c| Ok(a || self.truth(template, c)?)),
            "Condition" => self.condition(template, args.as_str().unwrap_or_default()),
            other => Err(TemplateError::Unresolved(format!(
                "condition function {other}"
            ))),
        }
    }

    /// Resolves every intrinsic function in `v`; `AWS::NoValue` drops the value.
    pub fn resolve(&self, template: &Value, v: &Value) -> Result<Value, TemplateError> {
        match v {
            Value::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    let r = self.resolve(template, item)?;
                    if r != NO_VALUE {
                        out.push(r);
                    }
                }
                Ok(Value::Array(out))
            }
            Value::Object(o) if o.len() == 1 => {
                let (k, arg) = o
                    .iter()
                    .next()
                    .map_or(("", &Value::Null), |(k, v)| (k.as_str(), v));
                match k {
                    "Ref" => Ok(Value::String(
                        self.reference(arg.as_str().unwrap_or_default())?,
                    )),
                    "Fn::GetAtt" => {
                        let (r, a) = match arg {
                            Value::String(s) => s.split_once('.').unwrap_or((s, "")),
                            Value::Array(p) => (
                                p.first().and_then(Value::as_str).unwrap_or_default(),
                                p.get(1).and_then(Value::as_str).unwrap_or_default(),
                            ),
                            _ => ("", ""),
                        };
                        Ok(Value::String(self.attribute(r, a)?))
                    }
                    "Fn::Sub" => match arg {
                        Value::String(s) => Ok(Value::String(self.sub(s, &Map::new())?)),
                        Value::Array(p) => {
                            let text = p.first().and_then(Value::as_str).unwrap_or_default();
                            let vars = self.resolve(template, p.get(1).unwrap_or(&Value::Null))?;
                            Ok(Value::String(
                                self.sub(text, vars.as_object().unwrap_or(&Map::new()))?,
                            ))
                        }
                        _ => Err(TemplateError::Unresolved(format!("Sub {arg}"))),
                    },
                    "Fn::If" => {
                        let p = arg.as_array().cloned().unwrap_or_default();
                        let cond = p.first().and_then(Value::as_str).unwrap_or_default();
                        let branch = if self.condition(template, cond)? {
                            1
                        } else {
                            2
                        };
                        self.resolve(template, p.get(branch).unwrap_or(&Value::Null))
                    }
                    k if k.starts_with("Fn::") => {
                        Err(TemplateError::Unresolved(format!("{k} {arg}")))
                    }
                    _ => Ok(Value::Object(
                        o.iter()
                            .map(|(k, v)| Ok((k.clone(), self.resolve(template, v)?)))
                            .collect::<Result<_, TemplateError>>()?,
                    )),
                }
            }
            Value::Object(o) => Ok(Value::Object(
                o.iter()
                    .map(|(k, v)| Ok((k.clone(), self.resolve(template, v)?)))
                    .collect::<Result<_, TemplateError>>()?,
            )),
            other => Ok(other.clone()),
        }
    }
}

/// The template's resources of one type, by logical id.
pub fn resources_of<'a>(template: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    template["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

/// Each function's IAM policy document, resolved for `deployment`: the statements of its
/// `Policies` (SAM's policy templates are not used by this template, and refused).
pub fn function_policies(
    template: &Value,
    deployment: &Deployment,
) -> Result<BTreeMap<String, Value>, TemplateError> {
    let mut out = BTreeMap::new();
    for (logical, resource) in resources_of(template, "AWS::Serverless::Function") {
        let mut statements = Vec::new();
        for policy in resource["Properties"]["Policies"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let Some(list) = policy.get("Statement") else {
                return Err(TemplateError::Unresolved(format!(
                    "the policy {policy} of {logical} (only statements are read locally)"
                )));
            };
            let resolved = deployment.resolve(template, list)?;
            statements.extend(resolved.as_array().cloned().unwrap_or_default());
        }
        out.insert(
            logical.clone(),
            json!({"Version": "2012-10-17", "Statement": statements}),
        );
    }
    Ok(out)
}

/// An EventBridge rule of the template: the bus it is on (`None`: the default bus) and its
/// pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// `<resource>.<event>`, for naming.
    pub name: String,
    /// The state machine it starts (its logical id).
    pub machine: String,
    /// The bus: a logical id's physical name, or the default bus.
    pub bus: Option<String>,
    /// The event pattern.
    pub pattern: Value,
}

/// The rules that start the template's state machines, resolved for `deployment`.
pub fn state_machine_rules(
    template: &Value,
    deployment: &Deployment,
) -> Result<Vec<Rule>, TemplateError> {
    let mut out = Vec::new();
    for (logical, resource) in resources_of(template, "AWS::Serverless::StateMachine") {
        for (event, spec) in resource["Properties"]["Events"]
            .as_object()
            .into_iter()
            .flatten()
        {
            if spec["Type"] != "EventBridgeRule" {
                continue;
            }
            let props = deployment.resolve(template, &spec["Properties"])?;
            out.push(Rule {
                name: format!("{logical}-{event}"),
                machine: logical.clone(),
                bus: props["EventBusName"].as_str().map(str::to_owned),
                pattern: props["Pattern"].clone(),
            });
        }
    }
    Ok(out)
}
