//! Reading a CustomResourceDefinition's schema for strict validation, as the API server
//! would apply it with unknown fields refused (`kubectl apply --validate=strict`). The tests
//! and the end-to-end checks validate rendered Tenants with it against Capsule's CRD, read
//! in place from `../shared/schemas/`.

use serde_json::{Value, json};

/// The `openAPIV3Schema` of `version` in a CRD given as YAML text.
pub fn version_schema(crd_yaml: &str, version: &str) -> Result<Value, String> {
    let crd: Value =
        yaml_serde::from_str(crd_yaml).map_err(|e| format!("the CRD is not YAML: {e}"))?;
    crd["spec"]["versions"]
        .as_array()
        .and_then(|versions| versions.iter().find(|v| v["name"] == version))
        .map(|v| v["schema"]["openAPIV3Schema"].clone())
        .filter(|s| !s.is_null())
        .ok_or_else(|| format!("the CRD serves no {version} schema"))
}

/// The schema made strict: every object that lists its properties and neither preserves
/// unknown fields nor declares `additionalProperties` gets `additionalProperties: false`;
/// the `x-kubernetes-*` extensions, which JSON Schema validators do not know, are dropped.
pub fn strict(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out: serde_json::Map<String, Value> = map
                .iter()
                .filter(|(k, _)| !k.starts_with("x-kubernetes-"))
                .map(|(k, v)| (k.clone(), strict(v)))
                .collect();
            let preserves = map.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true));
            if map.contains_key("properties")
                && !map.contains_key("additionalProperties")
                && !preserves
            {
                out.insert("additionalProperties".into(), json!(false));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(strict).collect()),
        other => other.clone(),
    }
}

/// The fields of `doc` that its schema marks deprecated, and those carrying CEL rules (which
/// a JSON Schema validator cannot check), each with its path.
pub fn flagged_fields(doc: &Value, schema: &Value) -> Vec<String> {
    let mut found = Vec::new();
    walk(doc, schema, "", &mut found);
    found
}

fn walk(doc: &Value, schema: &Value, at: &str, found: &mut Vec<String>) {
    if schema["description"]
        .as_str()
        .is_some_and(|d| d.contains("Deprecated"))
    {
        found.push(format!("{at}: deprecated"));
    }
    if schema.get("x-kubernetes-validations").is_some() {
        found.push(format!("{at}: has CEL validations"));
    }
    match doc {
        Value::Object(map) => {
            for (k, v) in map {
                let sub = schema["properties"]
                    .get(k)
                    .or_else(|| schema.get("additionalProperties"))
                    .cloned()
                    .unwrap_or(Value::Null);
                walk(v, &sub, &format!("{at}.{k}"), found);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk(v, &schema["items"], &format!("{at}[{i}]"), found);
            }
        }
        _ => {}
    }
}
