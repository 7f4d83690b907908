//! JSON Schema of the domain's string types, for the published tenant record schema: each is
//! a string with the pattern its parser enforces (the parser stays the authority).

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use std::borrow::Cow;

macro_rules! string_schema {
    ($ty:ty, $name:literal, $schema:tt) => {
        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    };
}

string_schema!(crate::TenantId, "TenantId", {
    "type": "string",
    "pattern": "^[a-z](-?[a-z0-9])+$",
    "minLength": 2,
    "maxLength": crate::names::TENANT_ID_MAX
});
string_schema!(crate::PrincipalArn, "PrincipalArn", {
    "type": "string",
    "pattern": "^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:.+$"
});
string_schema!(crate::Ipv4Cidr, "Ipv4Cidr", {
    "type": "string",
    "pattern": "^([0-9]{1,3}\\.){3}[0-9]{1,3}/[0-9]{1,2}$"
});

/// A request id as `check_request_id` takes it: it becomes part of execution names.
pub(crate) struct RequestId;
string_schema!(RequestId, "RequestId", {
    "type": "string",
    "pattern": "^[A-Za-z0-9_-]{1,64}$"
});

/// A 12-digit AWS account id.
pub(crate) struct AccountId;
string_schema!(AccountId, "AccountId", {
    "type": "string",
    "pattern": "^[0-9]{12}$"
});

/// A record generation: a positive integer.
pub(crate) fn generation(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "integer", "minimum": 1})
}
