//! What every console page shares: the layout around its content, the one renderer that adds
//! the console's CSP, the refusals a form shows next to itself, and value formatting.
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_SECURITY_POLICY, HeaderValue};
use askama::Template;

use super::{CSP, ConsoleAdmin, ConsoleError};
use crate::service::admin::AdminError;

/// What every console page shows around its content: who is signed in, the tenant being
/// administered, the active section, and the CSRF token for the forms on it.
pub struct Layout {
    pub actor: String,
    pub is_super: bool,
    pub csrf: String,
    /// (slug, display name) of the tenant in view.
    pub tenant: Option<(String, String)>,
    pub section: &'static str,
    /// The confirmation of the change that redirected here (`?done=`).
    pub notice: Option<&'static str>,
}

impl Layout {
    pub fn new(
        admin: &ConsoleAdmin,
        tenant: Option<&crate::domain::tenant::Tenant>,
        section: &'static str,
    ) -> Self {
        Layout {
            actor: admin.principal.actor.clone(),
            is_super: admin.principal.is_super(),
            csrf: admin.csrf_token.clone(),
            tenant: tenant.map(|t| (t.slug.to_string(), t.display_name.clone())),
            section,
            notice: None,
        }
    }

    /// Shows the confirmation for `done`; unknown codes show nothing (the text is never
    /// taken from the URL).
    pub fn done(mut self, done: &str) -> Self {
        self.notice = notice(done);
        self
    }

    /// The tenant's slug (empty on the tenant list).
    pub fn slug(&self) -> &str {
        self.tenant.as_ref().map_or("", |(s, _)| s.as_str())
    }
}

fn notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "saved" => "Settings saved.",
        "tenant-created" => {
            "Tenant created. Whitelist its email domains and add a connection; its admins can then sign in through it."
        }
        "domain-added" => "Domain added.",
        "domain-removed" => "Domain removed.",
        "connection-added" => {
            "Connection added. Configure your identity provider with the values below, then test the sign-in."
        }
        "mapping-saved" => "Attribute mapping saved.",
        "connection-removed" => {
            "Connection removed. Sign-ins through it are refused; its users and history stay."
        }
        "deactivated" => "User deactivated; their sessions have ended.",
        "reactivated" => "User reactivated.",
        "user-created" => "User added. Their first sign-in is linked to this user by their email.",
        "unlinked" => "Identity unlinked.",
        "workbench-saved" => "Saved: every selected row's action was applied.",
        "token-revoked" => "SCIM token revoked.",
        "retried" => "Event queued for delivery again.",
        "rule-added" => "Rule added; the roles of users with groups were recomputed.",
        "rule-removed" => "Rule removed; the roles it gave were removed.",
        "roles-set" => "Roles set by hand saved.",
        "forwarded-saved" => "Attributes sent to apps saved.",
        _ => return None,
    })
}

pub fn render<T: Template>(page: &T) -> Result<HttpResponse, ConsoleError> {
    render_status(page, StatusCode::OK)
}

pub fn render_status<T: Template>(
    page: &T,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let body = page
        .render()
        .map_err(|e| ConsoleError::Internal(Box::new(e)))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)))
        .body(body))
}

/// A refusal shown next to the form that caused it: a field that failed validation (400) or
/// a conflict with what exists (409).
#[derive(Debug)]
pub struct Problem {
    /// Which form of the page it belongs to.
    pub form: &'static str,
    /// The field named by the validation error; empty for a conflict.
    pub field: &'static str,
    pub message: String,
    pub status: StatusCode,
}

impl Problem {
    /// The refusals a form shows next to itself; anything else (404, 500) goes on.
    pub fn of(form: &'static str, e: ConsoleError) -> Result<Problem, ConsoleError> {
        match e {
            ConsoleError::Admin(AdminError::Invalid { field, message }) => Ok(Problem {
                form,
                field,
                message,
                status: StatusCode::BAD_REQUEST,
            }),
            ConsoleError::Admin(AdminError::Conflict(message)) => Ok(Problem {
                form,
                field: "",
                message,
                status: StatusCode::CONFLICT,
            }),
            other => Err(other),
        }
    }
}

/// The (at most one) problem of a page, as its templates ask about it.
#[derive(Debug, Default)]
pub struct Problems(pub Option<Problem>);

impl Problems {
    pub fn none() -> Self {
        Problems(None)
    }

    /// The text to show at the top of form `form`, if the problem is one of its.
    pub fn at(&self, form: &str) -> Option<String> {
        let p = self.0.as_ref().filter(|p| p.form == form)?;
        Some(match label(p.field) {
            Some(l) => format!("{l}: {}", p.message),
            None => p.message.clone(),
        })
    }

    /// Whether `field` is the one that failed (its input is marked invalid).
    pub fn bad(&self, field: &str) -> bool {
        self.0.as_ref().is_some_and(|p| p.field == field)
    }

    pub fn status(&self) -> StatusCode {
        self.0.as_ref().map_or(StatusCode::OK, |p| p.status)
    }
}

/// The label people read for a field a use case names.
fn label(field: &str) -> Option<&'static str> {
    Some(match field {
        "" => return None,
        "display_name" => "Display name",
        "group" => "Group",
        "role" => "Role",
        "roles" => "Roles",
        "auto_create_users" => "Create users on first sign-in",
        "iwms_attribute" => "Local attribute mapping of the IWMS user ID",
        "scim_iwms_attribute" => "SCIM attribute carrying the IWMS user ID",
        "stale_after_days" => "Days without sign-in before a user is flagged stale",
        "allowed_return_origins" => "Allowed return_to origins",
        "iwms_endpoint" => "IWMS endpoint",
        "iwms_secret" => "IWMS signing secret",
        "iwms_events" => "IWMS events",
        "auto_create_iwms" => "Create IWMS accounts",
        "iwms_join_key" => "IWMS field that identifies a person",
        "domain" => "Domain",
        "slug" | "connection" => "Connection slug",
        "tenant_slug" => "Tenant slug",
        "metadata_url" => "Metadata URL",
        "metadata_xml" => "Metadata XML",
        "idp_entity_id" => "IdP entity ID",
        "idp_sso_url" => "IdP single sign-on URL",
        "idp_certificates" => "IdP certificates",
        "issuer" => "Issuer",
        "client_id" => "Client ID",
        "client_secret" => "Client secret",
        "attr_email" => "Email attributes",
        "attr_first_name" => "First name attributes",
        "attr_last_name" => "Last name attributes",
        "attr_iwms_id" => "IWMS user ID attribute",
        "admin_role_attribute" => "Admin role attribute",
        "admin_role_value" => "Admin role value",
        "label" => "Label",
        "q" => "Search",
        "view" => "View",
        "after" | "before" => "Page",
        "outcome" => "Outcome",
        "reason" => "Reason",
        "user" => "User",
        "email" => "Email",
        "first_name" => "First name",
        "last_name" => "Last name",
        "iwms_id" => "IWMS ID",
        _ => return None,
    })
}

/// Unix seconds as people read them: `2026-11-30 08:00 UTC`.
pub fn when(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// `when` for an optional time, with a dash for none.
pub fn when_or_dash(unix: Option<i64>) -> String {
    unix.map_or_else(|| "—".to_owned(), when)
}

/// A form's text field, trimmed; `None` when blank.
pub fn non_blank(raw: &str) -> Option<String> {
    let t = raw.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// One item per non-blank line (textarea lists).
pub fn lines(raw: &str) -> Vec<String> {
    raw.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A query string (`a=1&b=2`), empty values left out.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        s.append_pair(k, v);
    }
    s.finish()
}

#[derive(Template)]
#[template(path = "admin/tenants.html")]
pub struct TenantsPage {
    pub layout: Layout,
    /// (slug, display name)
    pub tenants: Vec<(String, String)>,
    pub new: NewTenant,
}

/// The super-admin's "create a tenant" form: its values when shown again, and its problem.
#[derive(Debug, Default)]
pub struct NewTenant {
    pub slug: String,
    pub display_name: String,
    pub problem: Problems,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_utc_minutes() {
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
        assert_eq!(when(1_764_489_600), "2025-11-30 08:00 UTC");
        assert_eq!(when_or_dash(None), "—");
    }

    #[test]
    fn notices_come_from_a_fixed_list() {
        assert_eq!(notice("saved"), Some("Settings saved."));
        assert_eq!(notice("<script>"), None);
    }

    #[test]
    fn problems_show_at_their_form_with_the_fields_label() {
        let p = Problems(Some(Problem {
            form: "add",
            field: "domain",
            message: "not a domain".into(),
            status: StatusCode::BAD_REQUEST,
        }));
        assert_eq!(p.at("add").as_deref(), Some("Domain: not a domain"));
        assert_eq!(p.at("other"), None);
        assert!(p.bad("domain") && !p.bad("slug"));
        assert_eq!(
            query(&[("view", "stale"), ("q", "a b&c"), ("after", "")]),
            "view=stale&q=a+b%26c"
        );
        assert_eq!(lines(" a \n\n b\r\n"), ["a", "b"]);
    }
}
