//! What SAML and OpenID Connect sign-ins share around their protocol step: the bound on
//! sign-ins in flight, the browser-binding cookie, how a sign-in ends (signed in, tested or
//! refused) and what the sign-in history keeps of it.
use crate::domain::client::ClientKey;
use crate::domain::connection::Connection;
use crate::domain::history::{self, Entry, Evidence, capped, capped_opt};
use crate::domain::ids::UserId;
use crate::domain::reason::Reason;
use crate::domain::tenant::Tenant;
use crate::protocol::saml::authn_request::RequestError;
use crate::service::session::sha256_hex;
use crate::storage::login_attempts::NewAttempt;
use crate::storage::refusal_counts::{self, NewRefusal};
use crate::storage::{self, DbConnection, StorageError, login_attempts, oidc, pending};

use super::test_report::TestReport;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("cannot build the authorization request: {0}")]
    Oidc(String),
    #[error("{in_flight} sign-ins in progress from this client; try again in {retry_after_secs} s")]
    TooManyInFlight {
        in_flight: i64,
        retry_after_secs: i64,
    },
}

impl storage::TxError for StartError {
    fn is_retryable(&self) -> bool {
        matches!(self, StartError::Storage(e) if e.is_retryable())
    }
}

/// The bound on sign-ins in progress per client (`sign_ins.max_pending_per_client`).
#[derive(Debug, Clone, Copy)]
pub struct PendingBound<'a> {
    /// None when the client is unknown (a CLI or an in-process caller): not bounded.
    pub client: Option<&'a ClientKey>,
    pub max_per_client: i64,
}

/// Refuses a new sign-in start when its client already has `max_per_client` requests in
/// flight (SAML and OpenID Connect together; expired ones do not count). Concurrent starts of
/// one client may pass it together, so the bound can be overshot by at most the number of
/// requests served at once.
pub(crate) fn check_pending_bound(
    conn: &mut DbConnection,
    bound: &PendingBound<'_>,
    now: i64,
) -> Result<(), StartError> {
    let Some(client) = bound.client else {
        return Ok(());
    };
    let (saml, saml_first) = pending::in_flight_for_client(conn, client.as_str(), now)?;
    let (oidc, oidc_first) = oidc::in_flight_for_client(conn, client.as_str(), now)?;
    let in_flight = saml + oidc;
    if in_flight < bound.max_per_client {
        return Ok(());
    }
    let first = [saml_first, oidc_first].into_iter().flatten().min();
    Err(StartError::TooManyInFlight {
        in_flight,
        retry_after_secs: first.map_or(60, |f| (f - now).max(1)),
    })
}

/// Where to send the browser, and the cookie that ties the request to it.
#[derive(Debug)]
pub struct Started {
    pub url: String,
    pub binding_cookie_name: String,
    pub binding_token: String,
}

/// Browser-binding cookies of SAML (ACS path) and OIDC (callback path) sign-ins.
pub const SAML_BINDING_PREFIX: &str = "ssogate_authn_";
pub const OIDC_BINDING_PREFIX: &str = "ssogate_oidc_";

/// Names the browser-binding cookie of one pending request: one cookie per sign-in in
/// flight, so two tabs signing in at once do not overwrite each other.
pub fn binding_cookie_name(prefix: &str, request: &str) -> String {
    format!("{prefix}{}", request.chars().take(16).collect::<String>())
}

/// Whether the callback carried the binding cookie `name`: None when it did not, otherwise
/// whether its token hashes to `expected_hash`.
pub(crate) fn presented_binding(
    cookies: &[(String, String)],
    name: &str,
    expected_hash: &str,
) -> Option<bool> {
    cookies
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, token)| sha256_hex(token) == expected_hash)
}

#[derive(Debug)]
pub struct SignedIn {
    pub user_id: UserId,
    pub session_token: String,
    pub session_expires_at: i64,
    /// Validated against the tenant's allowed origins.
    pub redirect_to: Option<String>,
    /// The browser-binding cookie this sign-in used up (only it is expired: other sign-ins
    /// of the same browser may still be in flight).
    pub binding_cookie: Option<String>,
    /// For a console sign-in: the ticket this browser takes to /admin/sso.
    pub console_ticket: Option<String>,
}

/// How a valid response ended: a sign-in, or a console test sign-in's report.
#[derive(Debug)]
pub enum Completed {
    SignedIn(SignedIn),
    Tested(Box<TestReport>),
}

#[derive(Debug)]
pub struct Failure {
    pub reason: Reason,
    pub idp_message: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CompleteError {
    #[error("sign-in refused: {}", .0.reason.code())]
    Refused(Failure),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Why a sign-in was refused, before it is recorded.
#[derive(Debug)]
pub struct Refusal {
    pub(crate) reason: Reason,
    pub(crate) detail: String,
    pub(crate) user: Option<UserId>,
    /// The IdP's own words (SAML StatusMessage, OIDC error_description): shown only to the
    /// browser whose pending request the message answers.
    pub(crate) idp_message: Option<String>,
    /// SAML: whether a signature of the IdP verified before the refusal.
    pub(crate) signature_verified: bool,
    /// SAML, before any signature verified: the Response's InResponseTo, unverified.
    pub(crate) unverified_request: Option<String>,
}

impl Refusal {
    pub(crate) fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
            user: None,
            idp_message: None,
            signature_verified: false,
            unverified_request: None,
        }
    }
}

/// Who was signing in, as far as the response told.
#[derive(Default)]
pub(crate) struct Who {
    pub subject: Option<String>,
    pub email: Option<String>,
}

/// Writes an outcome to the sign-in history: a row (every string capped), or, for a refusal
/// that `evidence` ties to nothing, one more in its hour's count.
pub(crate) fn record(
    c: &mut DbConnection,
    tenant: &Tenant,
    connection: &Connection,
    who: &Who,
    outcome: &Result<(UserId, &str), &Refusal>,
    evidence: Evidence,
    now: i64,
) -> Result<(), StorageError> {
    let (success, reason, detail, user) = match outcome {
        Ok((user, detail)) => (true, Reason::Success, *detail, Some(*user)),
        Err(r) => (false, r.reason, r.detail.as_str(), r.user),
    };
    if !success && let Entry::Counted { hour } = history::entry_for(evidence, now) {
        return refusal_counts::bump(
            c,
            &NewRefusal {
                tenant: tenant.id,
                connection: connection.id,
                reason: reason.code(),
                hour_start: hour,
                detail: &capped(detail),
            },
            now,
        );
    }
    login_attempts::record(
        c,
        &NewAttempt {
            tenant: tenant.id,
            connection: Some(connection.id),
            user,
            success,
            reason: reason.code(),
            detail: &capped(detail),
            subject: capped_opt(who.subject.as_deref()).as_deref(),
            email: capped_opt(who.email.as_deref()).as_deref(),
        },
        now,
    )
}

/// A valid response's end: signed in (with the history's detail), or a test described.
pub(crate) enum Done {
    SignedIn(SignedIn, String),
    Tested(Box<TestReport>),
}

impl From<Done> for Completed {
    fn from(d: Done) -> Self {
        match d {
            Done::SignedIn(s, _) => Completed::SignedIn(s),
            Done::Tested(t) => Completed::Tested(t),
        }
    }
}

pub(crate) type Outcome = Result<Done, Refusal>;

/// Sign-ins and refusals go to the history; a test sign-in is no sign-in and is only logged.
pub(crate) fn record_outcome(
    c: &mut DbConnection,
    tenant: &Tenant,
    connection: &Connection,
    who: &Who,
    outcome: &Outcome,
    evidence: Evidence,
    now: i64,
) -> Result<(), StorageError> {
    match outcome {
        Ok(Done::SignedIn(s, detail)) => record(
            c,
            tenant,
            connection,
            who,
            &Ok((s.user_id, detail.as_str())),
            evidence,
            now,
        ),
        Ok(Done::Tested(t)) => {
            tracing::info!(tenant = %tenant.slug, connection = %connection.slug, by = %t.tested_by, "test sign-in completed");
            Ok(())
        }
        Err(r) => record(c, tenant, connection, who, &Err(r), evidence, now),
    }
}

pub(crate) fn refused(tenant: &Tenant, connection: &Connection, r: Refusal) -> CompleteError {
    tracing::info!(tenant = %tenant.slug, connection = %connection.slug, reason = r.reason.code(), "sign-in refused");
    CompleteError::Refused(Failure {
        reason: r.reason,
        idp_message: r.idp_message,
    })
}
