//! Turning an IdP's attributes into the fields ssogate keeps, through a per-connection mapping.
use std::collections::BTreeMap;

use super::email::EmailAddress;

/// Attribute names to look for, in order; the first one present wins.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClaimMapping {
    pub email: Vec<String>,
    pub first_name: Vec<String>,
    pub last_name: Vec<String>,
    /// Resolved from the connection's override or the tenant's IWMS attribute.
    pub iwms_id: Option<String>,
    /// Which attribute value makes the signed-in user an admin of the tenant.
    pub admin_role: Option<AdminRoleRule>,
    /// Group membership (all values of the first present attribute) and the directory
    /// attributes; the connection's override or the defaults below.
    pub groups: Vec<String>,
    pub department: Vec<String>,
    pub title: Vec<String>,
    pub employee_number: Vec<String>,
    pub manager: Vec<String>,
}

/// The user is an admin when `attribute` (e.g. `groups`) holds `value` (exact match).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AdminRoleRule {
    pub attribute: String,
    pub value: String,
}

pub const DEFAULT_EMAIL: &[&str] = &[
    "email",
    "mail",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
    "emailAddress",
];
pub const DEFAULT_FIRST_NAME: &[&str] = &[
    "firstName",
    "givenName",
    "given_name",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
    "urn:oid:2.5.4.42",
];
pub const DEFAULT_LAST_NAME: &[&str] = &[
    "lastName",
    "sn",
    "surname",
    "family_name",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
    "urn:oid:2.5.4.4",
];

/// Okta and Google Workspace (`groups`, the name their group attribute / claim is usually
/// given) and Entra ID's groups claim.
pub const DEFAULT_GROUPS: &[&str] = &[
    "groups",
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
];
pub const DEFAULT_DEPARTMENT: &[&str] = &[
    "department",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/department",
    "urn:oid:2.5.4.11",
];
pub const DEFAULT_TITLE: &[&str] = &[
    "title",
    "jobTitle",
    "job_title",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/title",
    "urn:oid:2.5.4.12",
];
pub const DEFAULT_EMPLOYEE_NUMBER: &[&str] = &[
    "employeeNumber",
    "employee_number",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/employeeid",
    "urn:oid:2.16.840.1.113730.3.1.3",
];
/// The manager's SCIM id or email address.
pub const DEFAULT_MANAGER: &[&str] = &["manager", "managerEmail", "manager_email"];

/// The connection's one attribute name, or the defaults.
pub fn override_or(name: Option<&str>, defaults: &[&str]) -> Vec<String> {
    match name {
        Some(n) => vec![n.to_owned()],
        None => default_list(defaults),
    }
}

pub fn default_list(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// What the IdP said about the person, after mapping and clean-up.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MappedClaims {
    pub email: Option<EmailAddress>,
    /// The raw email value when it was present but not an address, for the sign-in record.
    pub invalid_email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub iwms_id: Option<String>,
    /// The provider said the email is not verified (OIDC `email_verified: false`): it must not
    /// link the sign-in to an existing account.
    pub email_unverified: bool,
    /// The IdP's attributes satisfied the connection's admin-role rule.
    pub admin_role: bool,
    /// Every usable value of the groups attribute (unbounded here: the response's size
    /// bounds it; the service keeps at most `roles::MAX_GROUPS`).
    pub groups: Vec<String>,
    pub department: Option<String>,
    pub title: Option<String>,
    pub employee_number: Option<String>,
    /// The manager's SCIM id or email address, as the IdP sent it.
    pub manager: Option<String>,
}

const MAX_CLAIM_CHARS: usize = 256;

/// Trimmed, control characters removed (they would corrupt forward-auth headers), capped;
/// an empty result counts as absent, so a blank claim never wipes a stored value.
pub fn clean(value: &str) -> Option<String> {
    let v: String = value
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_CLAIM_CHARS)
        .collect();
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_owned())
}

/// Every value of the first attribute of `names` that is present.
fn all_of(attrs: &BTreeMap<String, Vec<String>>, names: &[String]) -> Vec<String> {
    names
        .iter()
        .find_map(|n| attrs.get(n))
        .map(|vals| {
            vals.iter()
                .filter_map(|v| super::roles::usable_group_name(v).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn first_of(attrs: &BTreeMap<String, Vec<String>>, names: &[String]) -> Option<String> {
    names
        .iter()
        .filter_map(|n| attrs.get(n))
        .flat_map(|vals| vals.iter())
        .find_map(|v| clean(v))
}

/// `email_fallback` is the NameID when its format is emailAddress (Google Workspace sends
/// the address there and often no attribute).
pub fn map_claims(
    mapping: &ClaimMapping,
    attrs: &BTreeMap<String, Vec<String>>,
    email_fallback: Option<&str>,
) -> MappedClaims {
    let raw_email = first_of(attrs, &mapping.email).or_else(|| email_fallback.and_then(clean));
    let (email, invalid_email) = match raw_email {
        Some(raw) => match EmailAddress::parse(&raw) {
            Ok(e) => (Some(e), None),
            Err(_) => (None, Some(raw)),
        },
        None => (None, None),
    };
    MappedClaims {
        email,
        invalid_email,
        first_name: first_of(attrs, &mapping.first_name),
        last_name: first_of(attrs, &mapping.last_name),
        iwms_id: mapping
            .iwms_id
            .as_ref()
            .and_then(|n| first_of(attrs, std::slice::from_ref(n))),
        email_unverified: false,
        admin_role: mapping.admin_role.as_ref().is_some_and(|r| {
            attrs
                .get(&r.attribute)
                .is_some_and(|vals| vals.iter().any(|v| v == &r.value))
        }),
        groups: all_of(attrs, &mapping.groups),
        department: first_of(attrs, &mapping.department),
        title: first_of(attrs, &mapping.title),
        employee_number: first_of(attrs, &mapping.employee_number),
        manager: first_of(attrs, &mapping.manager),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> ClaimMapping {
        ClaimMapping {
            email: default_list(DEFAULT_EMAIL),
            first_name: default_list(DEFAULT_FIRST_NAME),
            last_name: default_list(DEFAULT_LAST_NAME),
            iwms_id: Some("iwmsId".into()),
            admin_role: Some(AdminRoleRule {
                attribute: "groups".into(),
                value: "ssogate-admins".into(),
            }),
            groups: default_list(DEFAULT_GROUPS),
            department: default_list(DEFAULT_DEPARTMENT),
            title: default_list(DEFAULT_TITLE),
            employee_number: default_list(DEFAULT_EMPLOYEE_NUMBER),
            manager: default_list(DEFAULT_MANAGER),
        }
    }

    #[test]
    fn entra_groups_claim_is_a_default_and_bad_names_are_skipped() {
        let c = map_claims(
            &mapping(),
            &attrs(&[
                (
                    "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
                    "a,b",
                ),
                (
                    "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
                    "Managers",
                ),
                ("department", "Ops"),
            ]),
            None,
        );
        assert_eq!(c.groups, vec!["Managers".to_owned()]);
        assert_eq!(c.department.as_deref(), Some("Ops"));
    }

    #[test]
    fn admin_role_needs_the_exact_value_in_the_mapped_attribute() {
        let m = mapping();
        let admin = map_claims(
            &m,
            &attrs(&[("groups", "staff"), ("groups", "ssogate-admins")]),
            None,
        );
        assert!(admin.admin_role);
        for other in [
            attrs(&[("groups", "ssogate-admins-not")]),
            attrs(&[("groups", "SSOGATE-ADMINS")]),
            attrs(&[("roles", "ssogate-admins")]),
            attrs(&[]),
        ] {
            assert!(!map_claims(&m, &other, None).admin_role);
        }
        let no_rule = ClaimMapping {
            admin_role: None,
            ..m
        };
        assert!(!map_claims(&no_rule, &attrs(&[("groups", "ssogate-admins")]), None).admin_role);
    }

    fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<String>> {
        let mut m = BTreeMap::new();
        for (k, v) in pairs {
            m.entry((*k).to_owned())
                .or_insert_with(Vec::new)
                .push((*v).to_owned());
        }
        m
    }

    #[test]
    fn entra_claim_names_map() {
        let c = map_claims(
            &mapping(),
            &attrs(&[
                (
                    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
                    "Ada@Example.com",
                ),
                (
                    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
                    "Ada",
                ),
                (
                    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
                    "Lovelace",
                ),
                ("iwmsId", "W-1"),
            ]),
            None,
        );
        assert_eq!(c.email.unwrap().as_str(), "ada@example.com");
        assert_eq!(c.first_name.as_deref(), Some("Ada"));
        assert_eq!(c.last_name.as_deref(), Some("Lovelace"));
        assert_eq!(c.iwms_id.as_deref(), Some("W-1"));
    }

    #[test]
    fn name_id_is_the_email_fallback_and_blank_claims_are_absent() {
        let c = map_claims(
            &mapping(),
            &attrs(&[("firstName", "  "), ("lastName", "L\r\nX")]),
            Some("a@example.com"),
        );
        assert_eq!(c.email.unwrap().as_str(), "a@example.com");
        assert_eq!(c.first_name, None);
        assert_eq!(c.last_name.as_deref(), Some("LX"));
    }

    #[test]
    fn invalid_email_is_kept_for_the_record() {
        let c = map_claims(&mapping(), &attrs(&[("email", "not-an-address")]), None);
        assert!(c.email.is_none());
        assert_eq!(c.invalid_email.as_deref(), Some("not-an-address"));
    }
}
