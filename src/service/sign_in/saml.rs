//! SAML sign-in: the AuthnRequest, the ACS path's protocol step (no database), then binding
//! to the pending request and replay cache, provisioning and the record in one transaction.
use openssl::pkey::{PKey, Private};
use time::OffsetDateTime;

use crate::config::Secret;
use crate::domain::claims::map_claims;
use crate::domain::client::ClientKey;
use crate::domain::connection::{Connection, SamlIdpSettings};
use crate::domain::history::Evidence;
use crate::domain::reason::Reason;
use crate::domain::return_to;
use crate::domain::tenant::Tenant;
use crate::protocol::saml::authn_request;
use crate::protocol::saml::{self, AcsContext, SpEndpoints, ValidatedAssertion};
use crate::service::session::{console_ticket, sha256_hex};
use crate::storage::pending::NewPending;
use crate::storage::{self, DbConnection, StorageError, connections, pending, replay};

use super::core::{
    CompleteError, Completed, Done, Outcome, PendingBound, Refusal, SAML_BINDING_PREFIX, SignedIn,
    StartError, Started, Who, binding_cookie_name, check_pending_bound, presented_binding, record,
    record_outcome, refused,
};
use super::provisioning::{SessionIssue, decide, provision};
use super::test_report;

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

/// Builds the AuthnRequest, remembers it with the hash of a fresh browser-binding token, and
/// returns the IdP URL and the cookie to set.
pub fn start(
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

/// Completes a SAML sign-in after [`validate`]. Every outcome is recorded in the sign-in
/// history; everything a valid response changes (pending request, replay cache, user,
/// session, record) commits in one transaction.
pub fn finish(
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
        Err(r) => Err(refused(tenant, connection, r)),
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

/// The protocol step, without the database: it is CPU work and holds no connection.
pub fn validate(
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
        let decision = decide(conn, tenant, connection, &assertion.subject, &claims)?;
        let report = test_report::report(
            tenant,
            connection,
            &assertion.subject,
            &assertion.attributes,
            &claims,
            &decision,
            by,
            bound.binding_cookie,
        );
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
