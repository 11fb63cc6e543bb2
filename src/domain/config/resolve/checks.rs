//! Small, reusable format rules (CIDRs, Kubernetes names, ARNs, versions, tags) and the JSON
//! pointer helper every rule uses to name the offending request field.

use std::collections::BTreeMap;

use ipnet::Ipv4Net;

use crate::domain::ValidationErrors;

/// Tag keys byoc sets on every resource itself; users may not override them.
pub const RESERVED_TAG_KEYS: [&str; 4] = ["ManagedBy", "Tenant", "Environment", "Stack"];
/// AWS allows 50 tags per resource.
pub const MAX_TAGS_PER_RESOURCE: usize = 50;

/// `base` + `/` + `key`, escaping the key as RFC 6901 requires.
pub fn ptr(base: &str, key: impl std::fmt::Display) -> String {
    let key = key.to_string().replace('~', "~0").replace('/', "~1");
    format!("{base}/{key}")
}

/// Parses a canonical IPv4 CIDR (`a.b.c.d/n` with no host bits set).
pub fn parse_cidr(raw: &str) -> Result<Ipv4Net, String> {
    let net: Ipv4Net = raw
        .trim()
        .parse()
        .map_err(|_| format!("`{raw}` is not an IPv4 CIDR block like 10.0.0.0/16"))?;
    if net.addr() != net.network() {
        return Err(format!(
            "`{raw}` has host bits set; did you mean {}?",
            net.trunc()
        ));
    }
    Ok(net)
}

/// Parses a CIDR at `field`, recording a failure.
pub fn cidr_at(errors: &mut ValidationErrors, field: &str, raw: &str) -> Option<Ipv4Net> {
    errors.check(field, parse_cidr(raw))
}

/// True when the two networks share any address.
pub fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(b) || b.contains(a)
}

/// A DNS-1123 label of at most `max` characters (Kubernetes namespaces, names).
pub fn dns_label(s: &str, max: usize) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` must be 1–{max} lowercase letters, digits or hyphens, starting and ending \
             with a letter or digit"
        ))
    }
}

fn label_name(s: &str) -> bool {
    let b = s.as_bytes();
    !s.is_empty()
        && s.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// A Kubernetes label (or taint) key: `[prefix/]name`, prefix a DNS subdomain ≤ 253 chars.
pub fn label_key(s: &str) -> Result<(), String> {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty() && p.len() <= 253 && p.split('.').all(|part| dns_label(part, 63).is_ok())
    });
    if prefix_ok && label_name(name) {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not a valid Kubernetes label key ([prefix/]name; name ≤ 63 letters, digits, \
             `-`, `_`, `.`, starting and ending alphanumeric)"
        ))
    }
}

/// A Kubernetes label value: empty, or ≤ 63 chars like a label name.
pub fn label_value(s: &str) -> Result<(), String> {
    if s.is_empty() || label_name(s) {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not a valid Kubernetes label value (≤ 63 letters, digits, `-`, `_`, `.`, \
             starting and ending alphanumeric)"
        ))
    }
}

/// An exact chart version: `[v]MAJOR.MINOR.PATCH[-pre][+build]`, no ranges or wildcards.
pub fn exact_version(s: &str) -> Result<(), String> {
    let core = s.strip_prefix('v').unwrap_or(s);
    let core = core.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let tail_ok = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'));
    if numeric && tail_ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not an exact version: pin one like 1.2.3 (ranges such as ^1.2, ~1.2, 1.x \
             or * are not allowed)"
        ))
    }
}

/// `arn:<partition>:<service>:<region>:<account>:<resource>`, split into its parts.
pub struct Arn<'a> {
    /// Partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: &'a str,
    /// Service (`iam`, `kms`, …).
    pub service: &'a str,
    /// Region (empty for IAM).
    pub region: &'a str,
    /// Account id.
    pub account: &'a str,
    /// Resource part (`role/name`, `key/id`, …).
    pub resource: &'a str,
}

/// Splits an ARN, checking the account id is 12 digits.
pub fn parse_arn(s: &str) -> Option<Arn<'_>> {
    let mut parts = s.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    let arn = Arn {
        partition: parts.next()?,
        service: parts.next()?,
        region: parts.next()?,
        account: parts.next()?,
        resource: parts.next()?,
    };
    let account_ok = arn.account.len() == 12 && arn.account.bytes().all(|b| b.is_ascii_digit());
    (account_ok && !arn.resource.is_empty()).then_some(arn)
}

/// Checks one tag map at `field`; `budget` is how many user tags this resource may carry.
pub fn check_tags(
    errors: &mut ValidationErrors,
    field: &str,
    tags: &BTreeMap<String, String>,
    budget: usize,
) {
    if tags.len() > budget {
        errors.push(
            field,
            format!(
                "{} tags here, but at most {budget} fit: AWS allows {MAX_TAGS_PER_RESOURCE} per \
                 resource, counting byoc's own and the top-level tags",
                tags.len()
            ),
        );
    }
    let allowed = |c: char| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c);
    for (key, value) in tags {
        let at = ptr(field, key);
        if key.is_empty() || key.chars().count() > 128 || !key.chars().all(allowed) {
            errors.push(
                &at,
                "tag keys must be 1–128 characters of letters, digits, spaces and _.:/=+-@",
            );
        } else if key.to_ascii_lowercase().starts_with("aws:") {
            errors.push(&at, "tag keys starting with `aws:` are reserved by AWS");
        } else if RESERVED_TAG_KEYS
            .iter()
            .any(|r| r.eq_ignore_ascii_case(key))
        {
            errors.push(
                &at,
                format!(
                    "`{key}` is set by byoc on every resource and cannot be overridden \
                     (reserved: {})",
                    RESERVED_TAG_KEYS.join(", ")
                ),
            );
        }
        if value.chars().count() > 256 || !value.chars().all(allowed) {
            errors.push(
                &at,
                "tag values must be at most 256 characters of letters, digits, spaces and \
                 _.:/=+-@",
            );
        }
    }
}
