//! OpenID Connect sign-in: the same pipeline as SAML after the protocol step. The request is
//! consumed (single use, browser-bound) before any network call; the provider is called with
//! no database connection held; provisioning and the record commit in one transaction.
use serde_json::{Map, Value};

use crate::config::Secret;
use crate::domain::claims::map_claims;
use crate::domain::client::ClientKey;
use crate::domain::connection::Connection;
use crate::domain::history::Evidence;
use crate::domain::oidc::OidcSettings;
use crate::domain::reason::Reason;
use crate::domain::return_to;
use crate::domain::tenant::Tenant;
use crate::protocol::oidc::{self, OidcError, VerifiedIdentity, authorize, client, id_token, jose};
use crate::service::session::{console_ticket, sha256_hex};
use crate::storage::{self, DbConnection, DbPool, StorageError, oidc as store};

use super::core::{
    CompleteError, Completed, Done, OIDC_BINDING_PREFIX, PendingBound, Refusal, SignedIn,
    StartError, Started, Who, binding_cookie_name, check_pending_bound, presented_binding, record,
    record_outcome, refused,
};
use super::provisioning::{SessionIssue, decide, provision};
use super::test_report;

pub struct StartParams<'a> {
    pub redirect_uri: &'a str,
    pub return_to: Option<&'a str>,
    pub request_ttl_secs: i64,
    pub now: i64,
    /// A console test sign-in, started by this admin: described, never provisioned.
    pub test_by: Option<&'a str>,
    /// A console sign-in: SHA-256 of its hand-off value (see `saml::StartParams`).
    pub console_handoff: Option<&'a str>,
    pub bound: PendingBound<'a>,
}

pub fn start(
    conn: &mut DbConnection,
    tenant: &Tenant,
    connection: &Connection,
    p: &StartParams<'_>,
) -> Result<Started, StartError> {
    let s = store::settings(conn, tenant.id, connection.id)?;
    let req = authorize::build(&authorize::Params {
        issuer: &s.issuer,
        authorization_endpoint: &s.metadata.authorization_endpoint,
        client_id: &s.client_id,
        redirect_uri: p.redirect_uri,
        scopes: &s.scopes,
    })
    .map_err(|e| StartError::Oidc(e.detail))?;
    let binding_token = crate::random::token();
    let return_to = return_to::resolve(p.return_to, &tenant.allowed_return_origins);
    storage::transaction_with(conn, |c| {
        check_pending_bound(c, &p.bound, p.now)?;
        store::insert_request(
            c,
            &store::NewRequest {
                state_hash: &sha256_hex(&req.state),
                tenant: tenant.id,
                connection: connection.id,
                nonce: &req.nonce,
                pkce_verifier: &req.pkce_verifier,
                browser_binding: &sha256_hex(&binding_token),
                return_to: return_to.as_deref(),
                expires_at: p.now + p.request_ttl_secs,
                test_by: p.test_by,
                console_handoff: p.console_handoff,
                client_key: p.bound.client.map(ClientKey::as_str),
            },
            p.now,
        )?;
        Ok::<_, StartError>(())
    })?;
    Ok(Started {
        url: req.url,
        binding_cookie_name: binding_cookie_name(OIDC_BINDING_PREFIX, &req.state),
        binding_token,
    })
}

/// The callback's query, as the provider sent it.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

pub struct FinishParams<'a> {
    pub redirect_uri: &'a str,
    pub binding_cookies: &'a [(String, String)],
    pub session_ttl_secs: i64,
    pub session_secret: &'a Secret,
    pub jwks_refetch_interval_secs: i64,
    pub jwks_max_age_secs: i64,
    pub now: i64,
}

fn refusal(e: OidcError) -> Refusal {
    Refusal {
        idp_message: e.op_message,
        ..Refusal::new(e.reason, e.detail)
    }
}

/// A callback that named a pending request of this connection, and used it up.
const ANSWERED: Evidence = Evidence {
    signature_verified: false,
    answered_request: true,
};

struct Bound {
    settings: OidcSettings,
    nonce: String,
    verifier: String,
    return_to: Option<String>,
    code: String,
    binding_cookie: String,
    test_by: Option<String>,
    console_handoff: Option<String>,
}

/// Step 1: the state names a pending request of this connection, started in this browser.
/// A refusal comes with what the callback proved: a callback whose state names no pending
/// request is anyone's, and is only counted.
fn bind(
    conn: &mut DbConnection,
    tenant: &Tenant,
    connection: &Connection,
    cb: &Callback,
    p: &FinishParams<'_>,
) -> Result<Result<Bound, (Refusal, Evidence)>, StorageError> {
    let anyones = |r: Refusal| Ok(Err((r, Evidence::default())));
    if connection.removed_at.is_some() {
        return anyones(Refusal::new(
            Reason::ConnectionRemoved,
            "the connection was removed",
        ));
    }
    let Some(state) = cb
        .state
        .as_deref()
        .filter(|s| !s.is_empty() && s.len() <= 256)
    else {
        return anyones(Refusal::new(
            Reason::UnknownState,
            "the callback has no state",
        ));
    };
    let Some(pending) =
        store::take_request(conn, tenant.id, connection.id, &sha256_hex(state), p.now)?
    else {
        return anyones(Refusal::new(
            Reason::UnknownState,
            "state matches no pending request of this connection (unknown, used or expired)",
        ));
    };
    let name = binding_cookie_name(OIDC_BINDING_PREFIX, state);
    match presented_binding(p.binding_cookies, &name, &pending.browser_binding) {
        Some(true) => {}
        _ => {
            return Ok(Err((
                Refusal::new(
                    Reason::BrowserMismatch,
                    "the callback reached a browser other than the one that started the sign-in",
                ),
                ANSWERED,
            )));
        }
    }
    // From here on the callback answers this browser's own request: the provider's words
    // (error_description) may be shown to it.
    if let Some(error) = &cb.error {
        let mut r = Refusal::new(
            Reason::OpError,
            format!(
                "provider error `{}`",
                error.chars().take(64).collect::<String>()
            ),
        );
        r.idp_message = cb
            .error_description
            .as_ref()
            .map(|d| d.chars().filter(|c| !c.is_control()).take(200).collect());
        return Ok(Err((r, ANSWERED)));
    }
    let Some(code) = cb.code.clone().filter(|c| !c.is_empty() && c.len() <= 2048) else {
        return Ok(Err((
            Refusal::new(
                Reason::TokenExchangeFailed,
                "the callback has neither code nor error",
            ),
            ANSWERED,
        )));
    };
    let settings = store::settings(conn, tenant.id, connection.id)?;
    Ok(Ok(Bound {
        settings,
        nonce: pending.nonce,
        verifier: pending.pkce_verifier,
        return_to: pending.return_to,
        code,
        binding_cookie: name,
        test_by: pending.test_by,
        console_handoff: pending.console_handoff,
    }))
}

/// The keys to verify `jws` with: the cached set, refreshed when it lacks the token's key or
/// is older than `jwks_max_age_secs`. Refreshes are rate-limited across instances; a failed
/// refresh keeps the cached keys when they can still verify.
async fn current_jwks(
    pool: &DbPool,
    http: &reqwest::Client,
    tenant: &Tenant,
    connection: &Connection,
    s: &OidcSettings,
    jws: &jose::Jws<'_>,
    p: &FinishParams<'_>,
) -> Result<String, OidcError> {
    let known = jose::has_key(jws, &jose::parse_jwks(&s.jwks_json)?);
    let stale = p.now - s.jwks_fetched_at >= p.jwks_max_age_secs;
    if known && !stale {
        return Ok(s.jwks_json.clone());
    }
    let (tid, cid, now, interval) = (
        tenant.id,
        connection.id,
        p.now,
        p.jwks_refetch_interval_secs,
    );
    let claimed = match storage::block(pool, move |c| {
        store::claim_jwks_refetch(c, tid, cid, now, interval)
    })
    .await
    {
        Ok(claimed) => claimed,
        Err(e) => {
            tracing::warn!(error = %e, "could not claim a JWKS refetch");
            false
        }
    };
    if !claimed {
        if known {
            return Ok(s.jwks_json.clone());
        }
        // Another instance may have fetched the new keys a moment ago.
        let latest = storage::block(pool, move |c| store::settings(c, tid, cid)).await;
        return Ok(latest.map_or_else(|_| s.jwks_json.clone(), |l| l.jwks_json));
    }
    match client::fetch_jwks(http, &s.metadata.jwks_uri).await {
        Ok(fresh) => {
            let stored = fresh.clone();
            if let Err(e) =
                storage::block(pool, move |c| store::store_jwks(c, tid, cid, &stored, now)).await
            {
                tracing::warn!(error = %e, "could not cache the provider's JWKS");
            }
            Ok(fresh)
        }
        Err(e) if known => {
            tracing::warn!(
                reason = e.reason.code(),
                "JWKS refresh failed; using the cached keys"
            );
            Ok(s.jwks_json.clone())
        }
        Err(e) => Err(e),
    }
}

/// Step 2: code exchange, keys, ID token, userinfo. No database connection is held while the
/// provider is called; a JWKS refetch is claimed in the database so that one instance fetches.
async fn verify(
    pool: &DbPool,
    http: &reqwest::Client,
    tenant: &Tenant,
    connection: &Connection,
    b: &Bound,
    p: &FinishParams<'_>,
) -> Result<VerifiedIdentity, OidcError> {
    let s = &b.settings;
    let tokens = client::exchange_code(http, s, &b.code, p.redirect_uri, &b.verifier).await?;
    let jws = jose::parse(&tokens.id_token, &s.allowed_algorithms)?;
    let jwks_json = current_jwks(pool, http, tenant, connection, s, &jws, p).await?;
    let key = jose::verify(&jws, &jose::parse_jwks(&jwks_json)?, &s.client_secret)?;
    let expectations = id_token::Expectations {
        issuer: &s.issuer,
        client_id: &s.client_id,
        nonce: &b.nonce,
        now: p.now,
        skew: s.clock_skew_secs,
        access_token: tokens.access_token.as_deref(),
        code: &b.code,
    };
    let subject = id_token::check(&jws.payload, jws.alg, &key, &expectations)?;
    let mut claims: Map<String, Value> = jws.payload.clone();
    if s.use_userinfo
        && let (Some(endpoint), Some(at)) = (&s.metadata.userinfo_endpoint, &tokens.access_token)
    {
        let info = client::userinfo(http, endpoint, at).await?;
        if info.get("sub").and_then(Value::as_str) != Some(subject.as_str()) {
            return Err(oidc::OidcError {
                reason: Reason::UserinfoSubMismatch,
                detail: "userinfo sub differs from the ID token's".into(),
                op_message: None,
            });
        }
        // The signed ID token wins; userinfo fills what it lacks.
        for (k, v) in info {
            claims.entry(k).or_insert(v);
        }
    }
    Ok(VerifiedIdentity {
        email_verified: id_token::email_verified(&claims),
        claims: id_token::flatten(&claims),
        subject,
    })
}

pub async fn finish(
    pool: &DbPool,
    http: &reqwest::Client,
    tenant: &Tenant,
    connection: &Connection,
    cb: Callback,
    p: &FinishParams<'_>,
) -> Result<Completed, CompleteError> {
    let (t, c) = (tenant.clone(), connection.clone());
    let bound = {
        let cookies = p.binding_cookies.to_vec();
        let (redirect_uri, now) = (p.redirect_uri.to_owned(), p.now);
        let (secret, ttl, refetch, max_age) = (
            p.session_secret.clone(),
            p.session_ttl_secs,
            p.jwks_refetch_interval_secs,
            p.jwks_max_age_secs,
        );
        storage::block(pool, move |db| {
            let fp = FinishParams {
                redirect_uri: &redirect_uri,
                binding_cookies: &cookies,
                session_ttl_secs: ttl,
                session_secret: &secret,
                jwks_refetch_interval_secs: refetch,
                jwks_max_age_secs: max_age,
                now,
            };
            let bound = bind(db, &t, &c, &cb, &fp)?;
            if let Err((r, evidence)) = &bound {
                storage::transaction(db, |tx| {
                    record(tx, &t, &c, &Who::default(), &Err(r), *evidence, now)
                })?;
            }
            Ok::<_, StorageError>(bound)
        })
        .await?
    };
    let bound = bound.map_err(|(r, _)| refused(tenant, connection, r))?;
    let verified = verify(pool, http, tenant, connection, &bound, p).await;
    let (t, c, secret, now, ttl) = (
        tenant.clone(),
        connection.clone(),
        p.session_secret.clone(),
        p.now,
        p.session_ttl_secs,
    );
    let return_to = bound.return_to.clone();
    let binding_cookie = bound.binding_cookie.clone();
    let test_by = bound.test_by.clone();
    let console_handoff = bound.console_handoff.clone();
    let mapping = connection.effective_mapping(tenant.iwms_attribute.as_deref());
    let outcome = storage::block(pool, move |db| {
        let identity = match verified {
            Err(e) => {
                let r = refusal(e);
                record(db, &t, &c, &Who::default(), &Err(&r), ANSWERED, now)?;
                return Ok(Err(r));
            }
            Ok(v) => v,
        };
        let mut claims = map_claims(&mapping, &identity.claims, None);
        claims.email_unverified = identity.email_verified == Some(false);
        let who = Who {
            subject: Some(identity.subject.clone()),
            email: claims
                .email
                .as_ref()
                .map(|e| e.to_string())
                .or_else(|| claims.invalid_email.clone()),
        };
        if let Some(by) = test_by {
            let decision = decide(db, &t, &c, &identity.subject, &claims)?;
            let report = test_report::report(
                &t,
                &c,
                &identity.subject,
                &identity.claims,
                &claims,
                &decision,
                by,
                Some(binding_cookie),
            );
            let done = Ok(Done::Tested(Box::new(report)));
            record_outcome(db, &t, &c, &who, &done, ANSWERED, now)?;
            return Ok(done);
        }
        storage::transaction(db, |tx| {
            let ticket = console_ticket(console_handoff.as_deref());
            let provisioned = provision(
                tx,
                &t,
                &c,
                &identity.subject,
                &claims,
                &SessionIssue {
                    secret: &secret,
                    now,
                    expires_at: now + ttl,
                    console_handoff: ticket.as_ref().map(|(_, kept)| kept.as_str()),
                },
            )?;
            let result = provisioned.map(|(user_id, session_token, detail)| {
                let redirect_to =
                    return_to::resolve(return_to.as_deref(), &t.allowed_return_origins);
                Done::SignedIn(
                    SignedIn {
                        user_id,
                        session_token,
                        session_expires_at: now + ttl,
                        redirect_to,
                        binding_cookie: Some(binding_cookie.clone()),
                        console_ticket: ticket.map(|(t, _)| t),
                    },
                    detail,
                )
            });
            record_outcome(tx, &t, &c, &who, &result, ANSWERED, now)?;
            Ok(result)
        })
    })
    .await?;
    match outcome {
        Ok(done) => Ok(done.into()),
        Err(r) => Err(refused(tenant, connection, r)),
    }
}
