//! Groups and roles: which group names are kept, the tenant's rules mapping groups to roles,
//! and what a recomputation changes. Pure; the service layer stores and records.
use std::collections::{BTreeMap, BTreeSet};

/// At most this many groups are kept per user and sign-in (see [`bound_groups`]).
pub const MAX_GROUPS: usize = 256;
/// A group name longer than this is skipped.
pub const MAX_GROUP_NAME_CHARS: usize = 256;
pub const MAX_ROLE_CHARS: usize = 64;
/// Role rules per tenant.
pub const MAX_RULES: usize = 500;
/// Roles set by hand on one user.
pub const MAX_MANUAL_ROLES: usize = 64;

/// A role name: 1 to 64 of `A-Z a-z 0-9 . _ : -` (no comma, no space), so it is safe in the
/// comma-separated `X-Auth-Request-Roles` header.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoleName(String);

impl RoleName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let v = raw.trim();
        if v.is_empty() {
            return Err("a role name must not be empty".into());
        }
        if v.chars().count() > MAX_ROLE_CHARS {
            return Err(format!(
                "a role name has at most {MAX_ROLE_CHARS} characters"
            ));
        }
        if !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
        {
            return Err(format!(
                "`{v}` is not a role name: use letters, digits and . _ : - only"
            ));
        }
        Ok(RoleName(v.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RoleName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A group name as it may be stored and forwarded: trimmed, at most
/// [`MAX_GROUP_NAME_CHARS`], and without a comma or control character (either would corrupt
/// the comma-separated header). Anything else is skipped, never escaped or altered.
pub fn usable_group_name(raw: &str) -> Option<&str> {
    let v = raw.trim();
    let ok = !v.is_empty()
        && v.chars().count() <= MAX_GROUP_NAME_CHARS
        && !v.chars().any(|c| c == ',' || c.is_control());
    ok.then_some(v)
}

/// Groups are matched by rules case-insensitively.
pub fn group_key(name: &str) -> String {
    name.to_lowercase()
}

/// The groups kept of what one source (a sign-in, SCIM) says: usable names, deduplicated,
/// sorted. Beyond [`MAX_GROUPS`], groups some rule names are kept first, then the others in
/// sorted order, so a long group list never loses a role and the result is deterministic.
pub fn bound_groups<'a>(
    raw: impl IntoIterator<Item = &'a str>,
    rule_groups: &BTreeSet<String>,
) -> Vec<String> {
    let all: BTreeSet<&str> = raw.into_iter().filter_map(usable_group_name).collect();
    if all.len() <= MAX_GROUPS {
        return all.into_iter().map(str::to_owned).collect();
    }
    let (ruled, other): (Vec<&str>, Vec<&str>) = all
        .into_iter()
        .partition(|g| rule_groups.contains(&group_key(g)));
    let mut kept: BTreeSet<&str> = ruled.into_iter().take(MAX_GROUPS).collect();
    let room = MAX_GROUPS - kept.len();
    kept.extend(other.into_iter().take(room));
    kept.into_iter().map(str::to_owned).collect()
}

/// Where a role of a user comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RoleSource {
    /// A group the IdP sent at the last sign-in, through a tenant rule.
    Idp,
    /// A SCIM group the user is a member of, through a tenant rule.
    Scim,
    /// Set by an admin; kept whatever the groups say.
    Manual,
}

impl RoleSource {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleSource::Idp => "idp",
            RoleSource::Scim => "scim",
            RoleSource::Manual => "manual",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "idp" => Some(RoleSource::Idp),
            "scim" => Some(RoleSource::Scim),
            "manual" => Some(RoleSource::Manual),
            _ => None,
        }
    }
}

/// One tenant rule: members of `group` get `role`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRule {
    pub group: String,
    pub role: RoleName,
}

/// The roles the groups give, with their source (IdP groups and SCIM groups separately).
pub fn derived_roles(
    rules: &[RoleRule],
    idp_groups: &[String],
    scim_groups: &[String],
) -> BTreeSet<(String, RoleSource)> {
    let mut by_group: BTreeMap<String, Vec<&RoleName>> = BTreeMap::new();
    for r in rules {
        by_group
            .entry(group_key(&r.group))
            .or_default()
            .push(&r.role);
    }
    let mut out = BTreeSet::new();
    for (groups, source) in [
        (idp_groups, RoleSource::Idp),
        (scim_groups, RoleSource::Scim),
    ] {
        for g in groups {
            for role in by_group.get(&group_key(g)).into_iter().flatten() {
                out.insert((role.as_str().to_owned(), source));
            }
        }
    }
    out
}

/// What a recomputation changes: rows to add and rows to remove.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RoleDiff {
    pub added: Vec<(String, RoleSource)>,
    pub removed: Vec<(String, RoleSource)>,
}

/// `current` and `wanted` hold (role, source) pairs of the sources being recomputed only.
pub fn diff(
    current: &BTreeSet<(String, RoleSource)>,
    wanted: &BTreeSet<(String, RoleSource)>,
) -> RoleDiff {
    RoleDiff {
        added: wanted.difference(current).cloned().collect(),
        removed: current.difference(wanted).cloned().collect(),
    }
}

/// The roles the app sees: every role of any source, once, sorted.
pub fn effective_roles<'a>(
    rows: impl IntoIterator<Item = &'a (String, RoleSource)>,
) -> Vec<String> {
    rows.into_iter()
        .map(|(r, _)| r.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The groups the app sees: the sign-in's and SCIM's, once, sorted.
pub fn effective_groups(idp_groups: &[String], scim_groups: &[String]) -> Vec<String> {
    idp_groups
        .iter()
        .chain(scim_groups)
        .filter(|g| usable_group_name(g).is_some())
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The attributes a tenant may forward to its apps as `X-Auth-Request-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ForwardedAttribute {
    Department,
    Title,
    EmployeeNumber,
    Manager,
}

impl ForwardedAttribute {
    pub const ALL: [ForwardedAttribute; 4] = [
        Self::Department,
        Self::Title,
        Self::EmployeeNumber,
        Self::Manager,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Department => "department",
            Self::Title => "title",
            Self::EmployeeNumber => "employee-number",
            Self::Manager => "manager",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == raw.trim())
            .ok_or_else(|| {
                format!(
                    "unknown attribute `{}` (known: department, title, employee-number, manager)",
                    raw.trim()
                )
            })
    }

    /// The stored form: comma-separated, in the order of [`Self::ALL`], each once.
    pub fn join(list: &[ForwardedAttribute]) -> String {
        Self::ALL
            .into_iter()
            .filter(|a| list.contains(a))
            .map(Self::as_str)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Reads the stored form; unknown names are ignored.
    pub fn split(stored: &str) -> Vec<ForwardedAttribute> {
        stored
            .split(',')
            .filter_map(|s| Self::parse(s).ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(g: &str, r: &str) -> RoleRule {
        RoleRule {
            group: g.into(),
            role: RoleName::parse(r).unwrap(),
        }
    }

    #[test]
    fn role_names_are_header_safe() {
        assert!(RoleName::parse("manager").is_ok());
        assert!(RoleName::parse("app:admin-1.x_y").is_ok());
        for bad in ["", " ", "a,b", "a b", "é", &"x".repeat(65)] {
            assert!(RoleName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn group_names_with_commas_or_controls_are_skipped() {
        assert_eq!(usable_group_name(" Staff "), Some("Staff"));
        assert_eq!(usable_group_name("a,b"), None);
        assert_eq!(usable_group_name("a\nb"), None);
        assert_eq!(usable_group_name(&"g".repeat(257)), None);
        assert_eq!(usable_group_name(""), None);
    }

    #[test]
    fn beyond_the_cap_ruled_groups_are_kept_first() {
        let many: Vec<String> = (0..400).map(|i| format!("g{i:03}")).collect();
        let ruled: BTreeSet<String> = ["g399".to_owned()].into();
        let kept = bound_groups(many.iter().map(String::as_str), &ruled);
        assert_eq!(kept.len(), MAX_GROUPS);
        assert!(kept.contains(&"g399".to_owned()));
        assert!(kept.contains(&"g000".to_owned()));
        assert!(!kept.contains(&"g398".to_owned()));
    }

    #[test]
    fn rules_match_case_insensitively_per_source() {
        let rules = [rule("Managers", "manager"), rule("staff", "employee")];
        let d = derived_roles(&rules, &["managers".into()], &["STAFF".into(), "x".into()]);
        assert_eq!(
            d,
            [
                ("employee".to_owned(), RoleSource::Scim),
                ("manager".to_owned(), RoleSource::Idp)
            ]
            .into()
        );
        let now: BTreeSet<_> = [("manager".to_owned(), RoleSource::Idp)].into();
        let diff = diff(&d, &now);
        assert_eq!(
            diff.removed,
            vec![("employee".to_owned(), RoleSource::Scim)]
        );
        assert!(diff.added.is_empty());
    }

    #[test]
    fn forwarded_attributes_round_trip() {
        let l = vec![ForwardedAttribute::Manager, ForwardedAttribute::Department];
        assert_eq!(ForwardedAttribute::join(&l), "department,manager");
        assert_eq!(ForwardedAttribute::split("department,manager,bogus"), {
            let mut v = l.clone();
            v.sort();
            v
        });
        assert!(ForwardedAttribute::parse("employee_number").is_err());
    }
}
