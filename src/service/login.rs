//! Starting and completing a sign-in. The ACS path: protocol validation -> binding to the
//! pending request and replay cache -> provisioning decision -> one transaction -> session.
use openssl::pkey::{PKey, Private};
use time::OffsetDateTime;

use sha2::{Digest, Sha256};

use crate::config::Secret;
use crate::domain::claims::{MappedClaims, map_claims};
use crate::domain::client::ClientKey;
use crate::domain::connection::{Connection, SamlIdpSettings};
use crate::domain::history::{self, Entry, Evidence, capped, capped_opt};
use crate::domain::ids::UserId;
use crate::domain::provisioning::{self, Candidate, Candidates, Decision};
use crate::domain::reason::Reason;
use crate::domain::return_to;
use crate::domain::tenant::{Tenant, TenantPolicy};
use crate::domain::user::CreatedVia;
use crate::domain::user_event::{Actor, UserEvent};
use crate::protocol::saml::authn_request::{self, RequestError};
use crate::protocol::saml::{self, AcsContext, SpEndpoints, ValidatedAssertion};
use crate::service::outbox;
use crate::service::session;
use crate::service::test_sign_in::{self, TestReport};
use crate::storage::admin as admin_store;
use crate::storage::login_attempts::NewAttempt;
use crate::storage::pending::NewPending;
use crate::storage::refusal_counts::{self, NewRefusal};
use crate::storage::{
    self, DbConnection, StorageError, connections, domains, identities, login_attempts, oidc,
    pending, replay, scim_users, users,
};

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

pub struct StartParams<'a> {
    pub sp: &'a SpEndpoints,
    pub return_to: Option<&'a str>,
    pub request_ttl_secs: i64,
    pub signing_key: Option<&'a PKey<Private>>,
    pub now: OffsetDateTime,
    /// A console test sign-in, started by this admin: described, never provisioned.
    pub test_by: Option<&'a str>,
    /// A console sign-in (from /admin/login): SHA-256 of the hand-off value whose cookie the
    /// browser holds; the session this sign-in opens keeps it for /admin/sso.
    pub console_handoff: Option<&'a str>,
    pub bound: PendingBound<'a>,
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

/// Hex SHA-256: what is stored of binding tokens and OIDC states.
pub(crate) fn sha256_hex(v: &str) -> String {
    hex::encode(Sha256::digest(v.as_bytes()))
}

/// What a console sign-in's session keeps of its hand-off: the hash of the value the browser
/// that started it at /admin/login holds, joined with the ticket the browser that finished
/// it got from the ACS or callback. /admin/sso needs both cookies, so neither another app
/// that sees the shared SSO cookie nor the starter of a sign-in someone else finished opens
/// the console.
pub fn console_handoff_hash(handoff_hash: &str, ticket: &str) -> String {
    sha256_hex(&format!("{handoff_hash}:{ticket}"))
}

/// A ticket for the browser finishing a console sign-in, and what its session keeps.
pub fn console_ticket(handoff_hash: Option<&str>) -> Option<(String, String)> {
    handoff_hash.map(|h| {
        let ticket = crate::random::token();
        let kept = console_handoff_hash(h, &ticket);
        (ticket, kept)
    })
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

/// Builds the AuthnRequest, remembers it with the hash of a fresh browser-binding token, and
/// returns the IdP URL and the cookie to set.
pub fn start_saml(
    conn: &mut DbConnection,
    tenant: &Tenant,
    connection: &Connection,
    p: &StartParams<'_>,
) -> Result<Started, StartError> {
    let idp = connections::saml_settings(conn, tenant.id, connection.id)?;
    let key = if idp.sign_requests {
        p.signing_key
    } else {
        None
    };
    let req = authn_request::build(p.sp, &idp.idp_sso_url, p.now, key)?;
    // Only an allowed return_to is remembered; anything else ends on the neutral page.
    let return_to = return_to::resolve(p.return_to, &tenant.allowed_return_origins);
    let now = p.now.unix_timestamp();
    let binding_token = crate::random::token();
    storage::transaction_with(conn, |c| {
        check_pending_bound(c, &p.bound, now)?;
        pending::insert(
            c,
            &NewPending {
                request_id: &req.request_id,
                tenant: tenant.id,
                connection: connection.id,
                relay_state: &req.relay_state,
                return_to: return_to.as_deref(),
                expires_at: now + p.request_ttl_secs,
                browser_binding: &sha256_hex(&binding_token),
                test_by: p.test_by,
                console_handoff: p.console_handoff,
                client_key: p.bound.client.map(ClientKey::as_str),
            },
            now,
        )?;
        Ok::<_, StartError>(())
    })?;
    Ok(Started {
        url: req.url,
        binding_cookie_name: binding_cookie_name(SAML_BINDING_PREFIX, &req.relay_state),
        binding_token,
    })
}

pub struct CompleteParams<'a> {
    pub relay_state: Option<&'a str>,
    /// The `ssogate_authn_*` cookies the ACS request carried (name, value).
    pub binding_cookies: &'a [(String, String)],
    pub session_ttl_secs: i64,
    pub session_secret: &'a Secret,
    pub now: i64,
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

/// Completes a SAML sign-in after [`validate_saml`]. Every outcome is recorded in the sign-in
/// history; everything a valid response changes (pending request, replay cache, user,
/// session, record) commits in one transaction.
pub fn finish_saml(
    conn: &mut DbConnection,
    tenant: &Tenant,
    connection: &Connection,
    idp: &SamlIdpSettings,
    validated: Result<ValidatedAssertion, Refusal>,
    p: &CompleteParams<'_>,
) -> Result<Completed, CompleteError> {
    let outcome = match validated {
        Err(mut refusal) => {
            let bound = storage::transaction(conn, |c| {
                // Before any signature verified, only this browser's own pending request ties
                // the response to a sign-in; it earns a row once (the request stays open for
                // the IdP's real answer).
                let bound = if refusal.signature_verified {
                    None
                } else {
                    bound_request(c, tenant, connection, &refusal, p)?
                };
                let evidence = Evidence {
                    signature_verified: refusal.signature_verified,
                    answered_request: bound == Some(FirstRefusal(true)),
                };
                record(
                    c,
                    tenant,
                    connection,
                    &Who::default(),
                    &Err(&refusal),
                    evidence,
                    p.now,
                )?;
                Ok(bound)
            })?;
            // The IdP's words are unsigned: another site may post any. Only the browser
            // that started the sign-in they answer sees them.
            if bound.is_none() {
                refusal.idp_message = None;
            }
            Err(refusal)
        }
        Ok(assertion) => storage::transaction(conn, |c| {
            let (who, result) = bind_and_provision(c, tenant, connection, idp, &assertion, p)?;
            let evidence = Evidence {
                signature_verified: true,
                answered_request: false,
            };
            record_outcome(c, tenant, connection, &who, &result, evidence, p.now)?;
            Ok(result)
        })?,
    };
    match outcome {
        Ok(done) => Ok(done.into()),
        Err(r) => {
            tracing::info!(tenant = %tenant.slug, connection = %connection.slug, reason = r.reason.code(), "sign-in refused");
            Err(CompleteError::Refused(Failure {
                reason: r.reason,
                idp_message: r.idp_message,
            }))
        }
    }
}

/// Whether this is the first refusal of a pending request (see [`bound_request`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FirstRefusal(bool);

/// Whether the unsigned response names a pending request of this connection that was started
/// in this browser (its binding cookie came along); if so, whether it is the first refusal
/// of that request. The request is not used up: a response nobody signed must not cancel the
/// sign-in it names.
fn bound_request(
    conn: &mut DbConnection,
    tenant: &Tenant,
    connection: &Connection,
    refusal: &Refusal,
    p: &CompleteParams<'_>,
) -> Result<Option<FirstRefusal>, StorageError> {
    let Some(id) = refusal
        .unverified_request
        .as_deref()
        .filter(|id| !id.is_empty() && id.len() <= 256)
    else {
        return Ok(None);
    };
    let Some(pending) = pending::peek(conn, tenant.id, connection.id, id, p.now)? else {
        return Ok(None);
    };
    let Some(expected) = &pending.browser_binding else {
        return Ok(None);
    };
    let name = binding_cookie_name(SAML_BINDING_PREFIX, &pending.relay_state);
    if presented_binding(p.binding_cookies, &name, expected) != Some(true) {
        return Ok(None);
    }
    let first = pending::mark_refused(conn, tenant.id, connection.id, id, p.now)?;
    Ok(Some(FirstRefusal(first)))
}

/// Records a refusal that happened before the response could be read (e.g. an oversized
/// body): nothing ties it to a sign-in, so it is counted.
pub fn record_refusal(
    conn: &mut DbConnection,
    tenant: &Tenant,
    connection: &Connection,
    reason: Reason,
    detail: &str,
    now: i64,
) -> Result<(), StorageError> {
    storage::transaction(conn, |c| {
        record(
            c,
            tenant,
            connection,
            &Who::default(),
            &Err(&Refusal::new(reason, detail)),
            Evidence::default(),
            now,
        )
    })
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

/// The protocol step, without the database: it is CPU work and holds no connection.
pub fn validate_saml(
    connection: &Connection,
    idp: &SamlIdpSettings,
    sp: &SpEndpoints,
    saml_response: &str,
    max_response_bytes: usize,
    now: i64,
) -> Result<ValidatedAssertion, Refusal> {
    if connection.removed_at.is_some() {
        return Err(Refusal::new(
            Reason::ConnectionRemoved,
            "the connection was removed",
        ));
    }
    let ctx = AcsContext {
        idp,
        sp,
        now,
        max_response_bytes,
    };
    saml::validate_response(saml_response, &ctx).map_err(|e| Refusal {
        reason: e.reason,
        detail: e.detail,
        user: None,
        idp_message: e.idp_message,
        signature_verified: e.signature_verified,
        unverified_request: e.in_response_to,
    })
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

type Outcome = Result<Done, Refusal>;

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

fn bind_and_provision(
    conn: &mut DbConnection,
    tenant: &Tenant,
    connection: &Connection,
    idp: &SamlIdpSettings,
    assertion: &ValidatedAssertion,
    p: &CompleteParams<'_>,
) -> Result<(Who, Outcome), StorageError> {
    let email_fallback = Some(assertion.subject.as_str())
        .filter(|s| assertion.name_id_is_email() || s.contains('@'));
    let claims = map_claims(
        &connection.effective_mapping(tenant.iwms_attribute.as_deref()),
        &assertion.attributes,
        email_fallback,
    );
    let who = Who {
        subject: Some(assertion.subject.clone()),
        email: claims
            .email
            .as_ref()
            .map(|e| e.to_string())
            .or_else(|| claims.invalid_email.clone()),
    };
    // The pending request is consumed and the assertion ID burned even when provisioning
    // refuses: a response is never usable twice.
    let bound = match bind_request(
        conn,
        tenant,
        connection,
        assertion,
        p,
        idp.allow_idp_initiated,
        idp.allow_unbound_responses,
    )? {
        Ok(r) => r,
        Err(refusal) => return Ok((who, Err(refusal))),
    };
    if let Some(by) = bound.test_by {
        let report = test_sign_in::report(
            conn,
            tenant,
            connection,
            &assertion.subject,
            &assertion.attributes,
            &claims,
            by,
            bound.binding_cookie,
        )?;
        return Ok((who, Ok(Done::Tested(Box::new(report)))));
    }
    let session_expires_at = assertion
        .session_not_on_or_after
        .map_or(p.now + p.session_ttl_secs, |t| {
            t.min(p.now + p.session_ttl_secs)
        });
    let ticket = console_ticket(bound.console_handoff.as_deref());
    let provisioned = provision(
        conn,
        tenant,
        connection,
        &assertion.subject,
        &claims,
        &SessionIssue {
            secret: p.session_secret,
            now: p.now,
            expires_at: session_expires_at,
            console_handoff: ticket.as_ref().map(|(_, kept)| kept.as_str()),
        },
    )?;
    let outcome = provisioned.map(|(user_id, session_token, detail)| {
        let redirect_to =
            return_to::resolve(bound.return_to.as_deref(), &tenant.allowed_return_origins);
        Done::SignedIn(
            SignedIn {
                user_id,
                session_token,
                session_expires_at,
                redirect_to,
                binding_cookie: bound.binding_cookie,
                console_ticket: ticket.map(|(t, _)| t),
            },
            detail,
        )
    });
    Ok((who, outcome))
}

/// What a response was bound to: the return_to to use and the binding cookie it spent.
struct Bound {
    return_to: Option<String>,
    binding_cookie: Option<String>,
    test_by: Option<String>,
    console_handoff: Option<String>,
}

/// Ties the response to the AuthnRequest it answers (or admits it as IdP-initiated) and
/// records the assertion ID.
fn bind_request(
    conn: &mut DbConnection,
    tenant: &Tenant,
    connection: &Connection,
    a: &ValidatedAssertion,
    p: &CompleteParams<'_>,
    allow_idp_initiated: bool,
    allow_unbound: bool,
) -> Result<Result<Bound, Refusal>, StorageError> {
    let bound = match &a.in_response_to {
        Some(req_id) => match pending::take(conn, tenant.id, connection.id, req_id, p.now)? {
            None => {
                return Ok(Err(Refusal::new(
                    Reason::UnknownInResponseTo,
                    "InResponseTo matches no pending request of this connection (unknown, used or expired)",
                )));
            }
            Some(pending) => {
                if p.relay_state.is_some_and(|rs| rs != pending.relay_state) {
                    return Ok(Err(Refusal::new(
                        Reason::RelayStateMismatch,
                        "RelayState differs from the one sent with the request",
                    )));
                }
                let cookie = binding_cookie_name(SAML_BINDING_PREFIX, &pending.relay_state);
                // A test's report names users, and a console hand-off opens the console: only
                // the browser that started either may finish it, whatever the connection allows.
                let allow_unbound =
                    allow_unbound && pending.test_by.is_none() && pending.console_handoff.is_none();
                if let Err(why) = check_binding(&pending, &cookie, p.binding_cookies, allow_unbound)
                {
                    return Ok(Err(Refusal::new(Reason::BrowserMismatch, why)));
                }
                Bound {
                    binding_cookie: Some(cookie),
                    return_to: pending.return_to,
                    test_by: pending.test_by,
                    console_handoff: pending.console_handoff,
                }
            }
        },
        // An unsolicited response never opens the console: no /admin/login started it.
        None if allow_idp_initiated => Bound {
            return_to: p.relay_state.map(str::to_owned),
            binding_cookie: None,
            test_by: None,
            console_handoff: None,
        },
        None => {
            return Ok(Err(Refusal::new(
                Reason::UnsolicitedDisabled,
                "IdP-initiated (unsolicited) response, and the connection does not allow them",
            )));
        }
    };
    if !replay::remember(
        conn,
        tenant.id,
        connection.id,
        &a.assertion_id,
        a.replay_until,
    )? {
        return Ok(Err(Refusal::new(
            Reason::AssertionReplay,
            "this assertion ID was already used",
        )));
    }
    Ok(Ok(bound))
}

/// Login CSRF: the response must come back to the browser that started the request, which
/// holds the cookie `name`.
fn check_binding(
    pending: &pending::Pending,
    name: &str,
    cookies: &[(String, String)],
    allow_unbound: bool,
) -> Result<(), &'static str> {
    let Some(expected) = &pending.browser_binding else {
        return Ok(()); // requests stored before browser binding existed
    };
    match presented_binding(cookies, name, expected) {
        Some(true) => Ok(()),
        Some(false) => Err("the browser-binding cookie does not match the request"),
        None if allow_unbound => Ok(()),
        None => {
            Err("the response was posted by a browser without the cookie set when sign-in started")
        }
    }
}

fn candidate(
    conn: &mut DbConnection,
    tenant: &Tenant,
    connection: &Connection,
    user: Option<crate::domain::user::User>,
) -> Result<Option<Candidate>, StorageError> {
    user.map(|u| {
        let linked_subject = identities::subject_for_user(conn, tenant.id, connection.id, u.id)?;
        Ok(Candidate {
            user: u,
            linked_subject,
        })
    })
    .transpose()
}

/// What a successful sign-in's session is made of.
pub(crate) struct SessionIssue<'a> {
    pub secret: &'a Secret,
    pub now: i64,
    pub expires_at: i64,
    /// The console hand-off of a sign-in started at /admin/login.
    pub console_handoff: Option<&'a str>,
}

pub(crate) type Provisioned = Result<(UserId, String, String), Refusal>;

/// What the tenant's rules decide for this sign-in, from the users that could be this person.
/// Reads only: `provision` applies the decision, a test sign-in only describes it.
pub(crate) fn decide(
    c: &mut DbConnection,
    tenant: &Tenant,
    connection: &Connection,
    subject: &str,
    claims: &MappedClaims,
) -> Result<Decision, StorageError> {
    let policy = TenantPolicy {
        auto_create_users: tenant.auto_create_users,
        whitelisted_domains: domains::list_for_tenant(c, tenant.id)?,
        iwms_attribute_configured: tenant.iwms_attribute.is_some()
            || connection.attr_iwms_id.is_some(),
    };
    let by_link = match identities::user_for_subject(c, tenant.id, connection.id, subject)? {
        Some(id) => Some(Candidate {
            user: users::get(c, tenant.id, id)?,
            linked_subject: Some(subject.to_owned()),
        }),
        None => None,
    };
    let by_iwms = match &claims.iwms_id {
        Some(iwms) => {
            let u = users::find_by_iwms_id(c, tenant.id, iwms)?;
            candidate(c, tenant, connection, u)?
        }
        None => None,
    };
    let by_scim = match scim_users::for_subject(c, tenant.id, subject)? {
        Some(id) => {
            let u = users::get(c, tenant.id, id)?;
            candidate(c, tenant, connection, Some(u))?
        }
        None => None,
    };
    let by_email = match &claims.email {
        Some(e) => {
            let u = users::find_by_email(c, tenant.id, e)?;
            candidate(c, tenant, connection, u)?
        }
        None => None,
    };
    // Only a grant no one has claimed yet names a person by the address asserted now; a
    // claimed grant belongs to its user, whatever address they have since.
    let email_granted_admin = match &claims.email {
        Some(e) if !tenant.auto_create_users => {
            admin_store::has_unclaimed_grant(c, tenant.id, e.as_str())?
        }
        _ => false,
    };
    let cands = Candidates {
        by_link,
        by_iwms,
        by_scim,
        by_email,
        email_granted_admin,
    };
    Ok(provisioning::decide(&policy, subject, claims, &cands))
}

pub(crate) fn provision(
    c: &mut DbConnection,
    tenant: &Tenant,
    connection: &Connection,
    subject: &str,
    claims: &MappedClaims,
    session: &SessionIssue<'_>,
) -> Result<Provisioned, StorageError> {
    let (session_secret, now, session_expires_at) =
        (session.secret, session.now, session.expires_at);
    let (user_id, detail) = match decide(c, tenant, connection, subject, claims)? {
        Decision::Reject {
            reason,
            user_id,
            detail,
        } => {
            return Ok(Err(Refusal {
                user: user_id,
                ..Refusal::new(reason, detail)
            }));
        }
        Decision::Create(new_user) => {
            let u = users::insert(c, tenant.id, &new_user, CreatedVia::Sso, now)?;
            outbox::record(
                c,
                tenant,
                u.id,
                &UserEvent::Created {
                    by: Actor::Sso,
                    connection: Some(connection.slug.to_string()),
                    user_name: None,
                    email: Some(u.email.to_string()),
                    first_name: u.first_name.clone(),
                    last_name: u.last_name.clone(),
                    iwms_id: u.iwms_id.clone(),
                    active: None,
                },
                now,
            )?;
            identities::link(c, tenant.id, connection.id, subject, u.id, now)?;
            users::record_sign_in(c, tenant.id, u.id, now)?; // new: active, never stale
            (u.id, "created by just-in-time provisioning".to_owned())
        }
        Decision::SignIn {
            user_id,
            matched_by,
            create_link,
            changes,
            // The row, not the earlier read behind the decision, says whether a flag is
            // cleared: the stale job may have flagged the user since.
            clear_stale: _,
        } => {
            // Write the user row first: on PostgreSQL that locks it, so this sign-in's events
            // queue behind (never beside) an admin's or SCIM's change to the same user, and
            // the stale flag is already cleared when `user.unflagged` copies the user.
            let Some(clear_stale) = users::record_sign_in(c, tenant.id, user_id, now)? else {
                return Ok(Err(Refusal {
                    user: Some(user_id),
                    ..Refusal::new(
                        Reason::UserDeactivated,
                        format!("user {user_id} was deactivated while signing in"),
                    )
                }));
            };
            if create_link {
                identities::link(c, tenant.id, connection.id, subject, user_id, now)?;
                outbox::record(
                    c,
                    tenant,
                    user_id,
                    &UserEvent::IdentityLinked {
                        connection: Some(connection.slug.to_string()),
                        matched_by: Some(matched_by.as_str().to_owned()),
                    },
                    now,
                )?;
            } else {
                identities::touch(c, tenant.id, connection.id, subject, now)?;
            }
            if !changes.is_empty() {
                let u = users::get(c, tenant.id, user_id)?;
                let pick = |f, cur: &Option<String>| {
                    changes
                        .iter()
                        .find(|ch| ch.field == f)
                        .map_or(cur.clone(), |ch| ch.new.clone())
                };
                use provisioning::Field;
                users::update_attributes(
                    c,
                    tenant.id,
                    user_id,
                    &users::AttributeUpdate {
                        first_name: &pick(Field::FirstName, &u.first_name),
                        last_name: &pick(Field::LastName, &u.last_name),
                        iwms_id: &pick(Field::IwmsId, &u.iwms_id),
                    },
                    now,
                )?;
                outbox::record(
                    c,
                    tenant,
                    user_id,
                    &UserEvent::AttributesUpdated {
                        by: Actor::Sso,
                        changes: changes.iter().map(provisioning::Change::recorded).collect(),
                        sessions_ended: None,
                    },
                    now,
                )?;
            }
            if clear_stale {
                outbox::record(
                    c,
                    tenant,
                    user_id,
                    &UserEvent::StaleCleared { by: Actor::Sso },
                    now,
                )?;
            }
            (
                user_id,
                format!(
                    "matched by {}; {} attribute(s) changed",
                    matched_by.as_str(),
                    changes.len()
                ),
            )
        }
    };
    let token = session::open(
        c,
        session_secret,
        tenant.id,
        user_id,
        now,
        session_expires_at,
        session::SignInFacts {
            idp_admin: claims.admin_role,
            console_handoff: session.console_handoff,
            // An address the IdP did not vouch for claims no admin grant.
            asserted_email: claims
                .email
                .as_ref()
                .filter(|_| !claims.email_unverified)
                .map(|e| e.as_str()),
        },
    )?;
    Ok(Ok((user_id, token, detail)))
}
