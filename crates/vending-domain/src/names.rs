//! Validated names: tenant ids, account emails, IAM principal ARNs and tags, each checked
//! against the rules of the system that will receive it (Kubernetes, AWS Organizations, IAM,
//! AWS tagging), so a bad value is refused before anything is created.

use crate::error::ValidationError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The most characters a tenant id may have: a DNS-1123 label allows 63, but derived names
/// (`<id>-deploy` IAM roles, `<id>-apps` namespaces, `tenant-<id>` account aliases) must stay
/// within their own limits too.
pub const TENANT_ID_MAX: usize = 40;

/// A tenant's id: a DNS-1123 label (lowercase letters, digits and `-`, starting with a letter
/// and ending with a letter or digit), the key of everything the service creates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

impl TenantId {
    /// Checks `s` and returns the id.
    pub fn parse(s: &str) -> Result<TenantId, String> {
        if s.len() < 2 || s.len() > TENANT_ID_MAX {
            return Err(format!(
                "must have 2 to {TENANT_ID_MAX} characters (it has {})",
                s.len()
            ));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(
                "may contain only lowercase letters, digits and '-' (a DNS-1123 label)".into(),
            );
        }
        if !s.as_bytes()[0].is_ascii_lowercase() {
            return Err("must start with a lowercase letter".into());
        }
        if s.ends_with('-') {
            return Err("must end with a letter or a digit".into());
        }
        if s.contains("--") {
            return Err("must not contain '--'".into());
        }
        Ok(TenantId(s.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        TenantId::parse(&s)
    }
}

impl From<TenantId> for String {
    fn from(t: TenantId) -> String {
        t.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The root email of an AWS account, as `CreateAccount` accepts it: 6 to 64 characters, one
/// `@`, a dot in the domain, no whitespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountEmail(String);

impl AccountEmail {
    /// Checks `s` and returns the email.
    pub fn parse(s: &str) -> Result<AccountEmail, String> {
        if !(6..=64).contains(&s.len()) {
            return Err(format!("must have 6 to 64 characters (it has {})", s.len()));
        }
        if s.chars().any(char::is_whitespace) || !s.is_ascii() {
            return Err("must be ASCII without whitespace".into());
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err("must contain '@'".into());
        };
        if local.is_empty() || domain.contains('@') {
            return Err("must have exactly one '@' with text before it".into());
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
            return Err("the domain must have at least two non-empty labels (example.com)".into());
        }
        Ok(AccountEmail(s.to_owned()))
    }

    /// The email as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccountEmail {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        AccountEmail::parse(&s)
    }
}

impl From<AccountEmail> for String {
    fn from(e: AccountEmail) -> String {
        e.0
    }
}

/// An IAM principal that may own or view a tenant, or that the platform trusts: a role or user
/// ARN. Never an account root (it would let every principal of that account assume tenant
/// roles) and never a wildcard: trust policies name real, specific principals.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PrincipalArn(String);

impl PrincipalArn {
    /// Checks `s` and returns the ARN.
    pub fn parse(s: &str) -> Result<PrincipalArn, String> {
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        let [arn, partition, service, region, account, resource] = parts.as_slice() else {
            return Err("must be an ARN: arn:PARTITION:iam::ACCOUNT:role/NAME".into());
        };
        if *arn != "arn" || !matches!(*partition, "aws" | "aws-cn" | "aws-us-gov") {
            return Err("must start with arn:aws:, arn:aws-cn: or arn:aws-us-gov:".into());
        }
        if *service != "iam" || !region.is_empty() {
            return Err("must be an IAM ARN (arn:aws:iam::...) with no region".into());
        }
        if s.contains(['*', '?']) {
            return Err(
                "must name one principal: wildcards are not allowed in a trust policy".into(),
            );
        }
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err("the account must be 12 digits".into());
        }
        if *resource == "root" {
            return Err(
                "is an account root, which would let every principal of that account in: name a role or a user".into(),
            );
        }
        let (kind, path_and_name) = resource
            .split_once('/')
            .ok_or("the resource must be root, role/NAME or user/NAME")?;
        if kind != "role" && kind != "user" {
            return Err("only role and user principals are accepted".into());
        }
        let name = path_and_name.rsplit('/').next().unwrap_or_default();
        let valid_char = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
        if !is_iam_name(name, 64) {
            return Err(
                "the name must have 1 to 64 characters from letters, digits and +=,.@_-".into(),
            );
        }
        if !path_and_name.chars().all(|c| valid_char(c) || c == '/')
            || path_and_name.len() > 512 + 64
        {
            return Err("the path may contain only letters, digits, '/' and +=,.@_-".into());
        }
        Ok(PrincipalArn(s.to_owned()))
    }

    /// The ARN as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PrincipalArn {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        PrincipalArn::parse(&s)
    }
}

impl From<PrincipalArn> for String {
    fn from(p: PrincipalArn) -> String {
        p.0
    }
}

/// Resource tags, checked against AWS's tagging rules, in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tags(pub BTreeMap<String, String>);

/// The most tags AWS allows on a resource.
pub const MAX_TAGS: usize = 50;

/// Tags the service adds to what it creates: `vending:tenant`, `vending:request`, and `Name`
/// on EC2 resources.
pub const SERVICE_TAGS: usize = 3;

/// The most tags a request may carry, so a resource never holds more than AWS allows.
pub const MAX_REQUEST_TAGS: usize = MAX_TAGS - SERVICE_TAGS;

impl Tags {
    /// Checks every tag; `field` prefixes the field names in the errors (`tags`). The rules
    /// are those every service the tags reach accepts (Organizations, IAM, EC2, EKS): letters,
    /// digits, the space (U+0020, no other whitespace) and `_ . : / = + - @`; keys that differ
    /// only in case are one key to IAM; room is left for the service's own tags.
    pub fn validate(
        map: &BTreeMap<String, String>,
        field: &str,
    ) -> Result<Tags, Vec<ValidationError>> {
        let mut errors = Vec::new();
        if map.len() > MAX_REQUEST_TAGS {
            errors.push(ValidationError::new(
                field,
                format!(
                    "at most {MAX_REQUEST_TAGS} tags are allowed (AWS allows {MAX_TAGS} and the service adds {SERVICE_TAGS}; there are {})",
                    map.len()
                ),
            ));
        }
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        for k in map.keys() {
            if let Some(first) = seen.insert(k.to_lowercase(), k) {
                errors.push(ValidationError::new(
                    format!("{field}.{k}"),
                    format!("differs from '{first}' only in case, and IAM treats tag keys case-insensitively"),
                ));
            }
        }
        let allowed = |c: char| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c);
        for (k, v) in map {
            let f = format!("{field}.{k}");
            if k.is_empty() || k.chars().count() > 128 {
                errors.push(ValidationError::new(
                    &f,
                    "a tag key must have 1 to 128 characters",
                ));
            }
            if k.to_ascii_lowercase().starts_with("aws:") {
                errors.push(ValidationError::new(
                    &f,
                    "tag keys starting with 'aws:' are reserved for AWS",
                ));
            }
            if k.starts_with("vending:") {
                errors.push(ValidationError::new(
                    &f,
                    "tag keys starting with 'vending:' are set by the service",
                ));
            }
            if v.chars().count() > 256 {
                errors.push(ValidationError::new(
                    &f,
                    "a tag value must have at most 256 characters",
                ));
            }
            if !k.chars().all(allowed) || !v.chars().all(allowed) {
                errors.push(ValidationError::new(
                    &f,
                    "tags may contain only letters, digits, spaces (U+0020) and _ . : / = + - @",
                ));
            }
        }
        if errors.is_empty() {
            Ok(Tags(map.clone()))
        } else {
            Err(errors)
        }
    }
}

/// An IAM-style name (roles, policies, permission sets): 1 to `max` of letters, digits and
/// `+=,.@_-`.
pub(crate) fn is_iam_name(name: &str, max: usize) -> bool {
    (1..=max).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_dns_1123_labels() {
        for ok in ["ab", "payments", "team-42", "a1"] {
            assert!(TenantId::parse(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(TENANT_ID_MAX + 1);
        for bad in [
            "",
            "a",
            "Payments",
            "1team",
            "team-",
            "-team",
            "te_am",
            "te am",
            "tëam",
            "a--b",
            long.as_str(),
        ] {
            assert!(TenantId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails_follow_create_account_rules() {
        assert!(AccountEmail::parse("aws+payments@example.com").is_ok());
        let long = format!("{}@example.com", "a".repeat(60));
        for bad in [
            "a@b.c",
            "no-at.example.com",
            "two@@example.com",
            "a b@example.com",
            "x@localhost",
            "x@example.",
            long.as_str(),
        ] {
            assert!(AccountEmail::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn principals_are_iam_role_user_or_root_arns() {
        for ok in [
            "arn:aws:iam::123456789012:role/platform-admins",
            "arn:aws:iam::123456789012:role/team/payments/dev",
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws-us-gov:iam::123456789012:role/admins",
        ] {
            assert!(PrincipalArn::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "alice",
            "arn:aws:iam::12345:role/x",
            "arn:aws:iam:us-east-1:123456789012:role/x",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::123456789012:group/devs",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/bad name",
            "arn:aws:iam::123456789012:root",
            "arn:aws:iam::123456789012:role/*",
            "arn:aws:iam::*:role/admins",
        ] {
            assert!(PrincipalArn::parse(bad).is_err(), "{bad}");
        }
        let root = PrincipalArn::parse("arn:aws:iam::123456789012:root").expect_err("root");
        assert!(root.contains("account root"), "{root}");
        let wild =
            PrincipalArn::parse("arn:aws:iam::123456789012:role/team-*").expect_err("wildcard");
        assert!(wild.contains("wildcards"), "{wild}");
    }

    #[test]
    fn tags_follow_aws_rules() {
        let ok: BTreeMap<String, String> = [
            ("CostCenter".into(), "cc-1234".into()),
            ("owner".into(), "team@example.com".into()),
        ]
        .into();
        assert!(Tags::validate(&ok, "tags").is_ok());
        let bad: BTreeMap<String, String> = [
            ("aws:reserved".into(), "x".into()),
            ("vending:tenant".into(), "x".into()),
            ("k".into(), "bad#value".into()),
            (String::new(), "v".into()),
        ]
        .into();
        let errors = Tags::validate(&bad, "tags").expect_err("rejected");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "tags.",
                "tags.aws:reserved",
                "tags.k",
                "tags.vending:tenant"
            ]
        );
        let room: BTreeMap<String, String> = (0..MAX_REQUEST_TAGS)
            .map(|i| (format!("k{i}"), "v".into()))
            .collect();
        assert!(Tags::validate(&room, "tags").is_ok(), "47 leave room for 3");
        let many: BTreeMap<String, String> = (0..=MAX_REQUEST_TAGS)
            .map(|i| (format!("k{i}"), "v".into()))
            .collect();
        let errors = Tags::validate(&many, "tags").expect_err("48 do not");
        assert!(errors[0].reason.contains("at most 47"), "{errors:?}");
    }

    #[test]
    fn only_the_space_is_whitespace_and_keys_are_one_whatever_their_case() {
        for (k, v, ok) in [
            ("Cost Center", "a b", true),
            ("Owner", "tab\there", false),
            ("Owner", "line\nbreak", false),
            ("Owner", "no\u{a0}break", false),
            ("Équipe", "données", true),
        ] {
            let map = BTreeMap::from([(k.to_owned(), v.to_owned())]);
            assert_eq!(Tags::validate(&map, "tags").is_ok(), ok, "{k}={v:?}");
        }
        let twice = BTreeMap::from([
            ("CostCenter".to_owned(), "a".to_owned()),
            ("costcenter".to_owned(), "b".to_owned()),
        ]);
        let errors = Tags::validate(&twice, "tags").expect_err("one key");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "tags.costcenter");
        assert!(errors[0].reason.contains("only in case"));
    }
}
