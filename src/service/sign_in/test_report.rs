//! Test sign-ins an admin starts from the console: the response is validated and bound to
//! its request exactly like a sign-in, then only described (what the IdP sent, how the
//! connection maps it, what provisioning would do). Nothing is created, changed or opened.
use std::collections::BTreeMap;

use crate::domain::claims::MappedClaims;
use crate::domain::connection::Connection;
use crate::domain::provisioning::{Change, Decision, Field};
use crate::domain::tenant::Tenant;

/// What a test sign-in found.
#[derive(Debug, Clone)]
pub struct TestReport {
    pub tenant: String,
    pub connection: String,
    /// The admin who started the test.
    pub tested_by: String,
    /// NameID or `sub`.
    pub subject: String,
    /// Every attribute or claim the IdP sent, as received.
    pub attributes: BTreeMap<String, Vec<String>>,
    pub email: Option<String>,
    /// Why the email cannot be used, when it cannot.
    pub email_problem: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub iwms_id: Option<String>,
    /// The connection's admin-role rule matched.
    pub admin_role: bool,
    /// What a real sign-in would do now.
    pub outcome: String,
    /// Whether that would be a successful sign-in.
    pub would_succeed: bool,
    /// The browser-binding cookie the test used up.
    pub binding_cookie: Option<String>,
}

/// Describes `decision` (from `provisioning::decide`, which only reads) and what arrived.
#[allow(clippy::too_many_arguments)]
pub(crate) fn report(
    tenant: &Tenant,
    connection: &Connection,
    subject: &str,
    attributes: &BTreeMap<String, Vec<String>>,
    claims: &MappedClaims,
    decision: &Decision,
    tested_by: String,
    binding_cookie: Option<String>,
) -> TestReport {
    let would_succeed = !matches!(decision, Decision::Reject { .. });
    let email_problem = match (&claims.invalid_email, claims.email_unverified) {
        (Some(raw), _) => Some(format!("`{raw}` is not an email address")),
        (None, true) => Some("the provider says it is not verified".to_owned()),
        (None, false) => None,
    };
    TestReport {
        tenant: tenant.slug.to_string(),
        connection: connection.slug.to_string(),
        tested_by,
        subject: subject.to_owned(),
        attributes: attributes.clone(),
        email: claims.email.as_ref().map(ToString::to_string),
        email_problem,
        first_name: claims.first_name.clone(),
        last_name: claims.last_name.clone(),
        iwms_id: claims.iwms_id.clone(),
        admin_role: claims.admin_role,
        outcome: describe(decision),
        would_succeed,
        binding_cookie,
    }
}

/// The decision in the console's words.
fn describe(d: &Decision) -> String {
    match d {
        Decision::SignIn {
            user_id,
            matched_by,
            create_link,
            changes,
            ..
        } => {
            let link = if *create_link {
                ", linking this identity to it"
            } else {
                ""
            };
            let changes = if changes.is_empty() {
                "no attribute would change".to_owned()
            } else {
                changes.iter().map(change).collect::<Vec<_>>().join(", ")
            };
            format!(
                "Would sign in user {} (matched by {}){link}; {changes}.",
                user_id.0,
                matched_by.as_str()
            )
        }
        Decision::Create(u) => format!("Would create a new user, {}.", u.email),
        Decision::Reject {
            reason,
            user_id,
            detail,
        } => {
            let user = user_id
                .map(|u| format!(" (user {})", u.0))
                .unwrap_or_default();
            format!("Would be refused: {}{user}: {detail}.", reason.code())
        }
    }
}

fn change(c: &Change) -> String {
    let field = match c.field {
        Field::FirstName => "first name",
        Field::LastName => "last name",
        Field::IwmsId => "IWMS ID",
    };
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
    format!("{field}: {} → {}", show(&c.old), show(&c.new))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::UserId;
    use crate::domain::provisioning::MatchedBy;
    use crate::domain::reason::Reason;

    #[test]
    fn decisions_read_as_what_would_happen() {
        let sign_in = Decision::SignIn {
            user_id: UserId(7),
            matched_by: MatchedBy::Email,
            create_link: true,
            changes: vec![Change {
                field: Field::LastName,
                old: Some("Lovelace".into()),
                new: Some("King".into()),
            }],
            clear_stale: false,
        };
        assert_eq!(
            describe(&sign_in),
            "Would sign in user 7 (matched by email), linking this identity to it; last name: Lovelace → King."
        );
        let refused = Decision::Reject {
            reason: Reason::NotSetUp,
            user_id: None,
            detail: "no matching user and auto_create_users is off".into(),
        };
        assert_eq!(
            describe(&refused),
            "Would be refused: not_set_up: no matching user and auto_create_users is off."
        );
    }
}
