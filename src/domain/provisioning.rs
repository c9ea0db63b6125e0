//! Just-in-time provisioning: who is this sign-in, and what changes? Pure: the caller looks
//! the candidates up and applies the decision in one transaction.
use super::claims::MappedClaims;
use super::email::EmailAddress;
use super::ids::UserId;
use super::reason::Reason;
use super::tenant::TenantPolicy;
use super::user::{User, UserStatus};
use super::user_event::AttributeChange;

/// A user found for this sign-in, with the subject it is already linked to on this
/// connection (if any).
#[derive(Debug, Clone)]
pub struct Candidate {
    pub user: User,
    pub linked_subject: Option<String>,
}

/// The tenant's users that could be this person, looked up by the caller.
#[derive(Debug, Clone, Default)]
pub struct Candidates {
    /// Linked to (connection, subject).
    pub by_link: Option<Candidate>,
    /// Holding the asserted IWMS ID (looked up whenever one is asserted).
    pub by_iwms: Option<Candidate>,
    /// A SCIM-provisioned user whose externalId or userName is the sign-in's subject.
    pub by_scim: Option<Candidate>,
    /// Holding the asserted email.
    pub by_email: Option<Candidate>,
    /// `ssogate admin grant` (or the console/API) names the asserted email as an admin.
    pub email_granted_admin: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    Link,
    IwmsId,
    ScimId,
    Email,
}

impl MatchedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchedBy::Link => "link",
            MatchedBy::IwmsId => "iwms_id",
            MatchedBy::ScimId => "scim_id",
            MatchedBy::Email => "email",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    FirstName,
    LastName,
    IwmsId,
}

impl Field {
    /// The stored field name (as serialized).
    pub fn as_str(self) -> &'static str {
        match self {
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::IwmsId => "iwms_id",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub field: Field,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl Change {
    /// As the timeline and the IWMS feed record it.
    pub fn recorded(&self) -> AttributeChange {
        AttributeChange::new(
            self.field.as_str(),
            self.old.as_deref(),
            self.new.as_deref(),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub email: EmailAddress,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub iwms_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    SignIn {
        user_id: UserId,
        matched_by: MatchedBy,
        /// The (connection, subject) link must be created.
        create_link: bool,
        changes: Vec<Change>,
        clear_stale: bool,
    },
    Create(NewUser),
    Reject {
        reason: Reason,
        user_id: Option<UserId>,
        detail: String,
    },
}

fn reject(reason: Reason, user_id: Option<UserId>, detail: impl Into<String>) -> Decision {
    Decision::Reject {
        reason,
        user_id,
        detail: detail.into(),
    }
}

/// Attribute updates: the IdP is the source of truth, but an absent claim never blanks a
/// stored value.
pub fn changes(user: &User, claims: &MappedClaims) -> Vec<Change> {
    let mut out = Vec::new();
    let mut diff = |field, old: &Option<String>, new: &Option<String>| {
        if new.is_some() && new != old {
            out.push(Change {
                field,
                old: old.clone(),
                new: new.clone(),
            });
        }
    };
    diff(Field::FirstName, &user.first_name, &claims.first_name);
    diff(Field::LastName, &user.last_name, &claims.last_name);
    diff(Field::IwmsId, &user.iwms_id, &claims.iwms_id);
    out
}

fn sign_in(
    c: &Candidate,
    matched_by: MatchedBy,
    claims: &MappedClaims,
    cands: &Candidates,
) -> Decision {
    let user = &c.user;
    if user.status != UserStatus::Active {
        return reject(
            Reason::UserDeactivated,
            Some(user.id),
            "the matched user is deactivated",
        );
    }
    if let Some(other) = cands.by_iwms.as_ref().filter(|o| o.user.id != user.id) {
        return reject(
            Reason::IwmsIdConflict,
            Some(user.id),
            format!(
                "the asserted IWMS ID already belongs to user {}; it was not moved",
                other.user.id
            ),
        );
    }
    Decision::SignIn {
        user_id: user.id,
        matched_by,
        create_link: matched_by != MatchedBy::Link,
        changes: changes(user, claims),
        clear_stale: user.stale_since.is_some(),
    }
}

/// Links a sign-in to a user found by IWMS ID or email, unless that user is already linked
/// to a different identity on this connection.
fn link_candidate(
    c: &Candidate,
    matched_by: MatchedBy,
    subject: &str,
    claims: &MappedClaims,
    cands: &Candidates,
) -> Decision {
    match &c.linked_subject {
        Some(existing) if existing != subject => reject(
            Reason::IdentityConflict,
            Some(c.user.id),
            format!(
                "matched user {} by {} but it is linked to another identity on this connection; not relinked",
                c.user.id,
                matched_by.as_str()
            ),
        ),
        _ => sign_in(c, matched_by, claims, cands),
    }
}

/// A subject equal to a SCIM user's userName/externalId links only under the email rule's
/// conditions: the user's email domain is whitelisted, and the sign-in asserts no other (or
/// an unverified) email. Otherwise any connection could claim any SCIM user by NameID.
fn scim_match_allowed(policy: &TenantPolicy, c: &Candidate, claims: &MappedClaims) -> bool {
    policy.domain_whitelisted(&c.user.email.domain())
        && !claims.email_unverified
        && claims.invalid_email.is_none()
        && claims.email.as_ref().is_none_or(|e| e == &c.user.email)
}

pub fn decide(
    policy: &TenantPolicy,
    subject: &str,
    claims: &MappedClaims,
    cands: &Candidates,
) -> Decision {
    if let Some(c) = &cands.by_link {
        return sign_in(c, MatchedBy::Link, claims, cands);
    }
    if policy.iwms_attribute_configured
        && claims.iwms_id.is_some()
        && let Some(c) = &cands.by_iwms
    {
        return link_candidate(c, MatchedBy::IwmsId, subject, claims, cands);
    }
    if let Some(c) = cands
        .by_scim
        .as_ref()
        .filter(|c| scim_match_allowed(policy, c, claims))
    {
        return link_candidate(c, MatchedBy::ScimId, subject, claims, cands);
    }
    let Some(email) = &claims.email else {
        return match &claims.invalid_email {
            Some(raw) => reject(
                Reason::InvalidEmail,
                None,
                format!("the email claim `{raw}` is not an address"),
            ),
            None => reject(
                Reason::MissingEmail,
                None,
                "no email claim and the NameID is not an email address",
            ),
        };
    };
    let domain_ok = policy.domain_whitelisted(&email.domain());
    if let Some(c) = &cands.by_email {
        if claims.email_unverified {
            return reject(
                Reason::EmailNotVerified,
                Some(c.user.id),
                format!(
                    "user {} has this email, but the provider says it is not verified; not linked",
                    c.user.id
                ),
            );
        }
        if domain_ok {
            return link_candidate(c, MatchedBy::Email, subject, claims, cands);
        }
        return reject(
            Reason::EmailLinkNotAllowed,
            Some(c.user.id),
            format!(
                "user {} has this email, but {} is not a whitelisted domain of the tenant, so it is not linked by email",
                c.user.id,
                email.domain()
            ),
        );
    }
    // An admin named by a grant or by the connection's admin-role rule gets an account even
    // where users are not created on sign-in: otherwise nobody could open the tenant's console.
    // Only in a domain the tenant whitelisted (an empty list admits no one here: any of the
    // tenant's IdPs could assert a granted address), and every rule below still applies.
    let admin = claims.admin_role || cands.email_granted_admin;
    if !policy.auto_create_users && admin && !domain_ok {
        return reject(
            Reason::EmailDomainNotAllowed,
            None,
            format!(
                "an admin, but {} is not a whitelisted domain of the tenant, and auto_create_users is off",
                email.domain()
            ),
        );
    }
    if !(policy.auto_create_users || admin) {
        return reject(
            Reason::NotSetUp,
            None,
            "no matching user and auto_create_users is off",
        );
    }
    if claims.email_unverified {
        // An unverified address would become the account's identity: forward-auth headers,
        // admin grants and later email matches all trust it.
        return reject(
            Reason::EmailNotVerified,
            None,
            "the provider says the email is not verified; no account is created with it",
        );
    }
    if !policy.whitelisted_domains.is_empty() && !domain_ok {
        return reject(
            Reason::EmailDomainNotAllowed,
            None,
            format!(
                "{} is not a whitelisted domain of the tenant",
                email.domain()
            ),
        );
    }
    if let Some(c) = &cands.by_iwms {
        // Defensive: a caller passed an IWMS match although the tenant does not match by it.
        return reject(
            Reason::IwmsIdConflict,
            Some(c.user.id),
            format!("the asserted IWMS ID already belongs to user {}", c.user.id),
        );
    }
    Decision::Create(NewUser {
        email: email.clone(),
        first_name: claims.first_name.clone(),
        last_name: claims.last_name.clone(),
        iwms_id: claims.iwms_id.clone(),
    })
}

#[cfg(test)]
mod tests;
