//! OIDC provider settings, their cached discovery and keys, and requests in flight.
use diesel::prelude::*;

use super::error::corrupt;
use super::schema::{oidc_providers as o, pending_oidc_requests as p};
use super::{DbConnection, StorageError};
use crate::domain::ids::{ConnectionId, TenantId};
use crate::domain::oidc::{ClientAuth, JwsAlgorithm, OidcSettings, ProviderMetadata};

#[derive(Queryable, Selectable)]
#[diesel(table_name = o)]
struct Row {
    issuer: String,
    client_id: String,
    client_secret: String,
    client_auth: String,
    scopes: String,
    allowed_algorithms: String,
    use_userinfo: bool,
    clock_skew_secs: i64,
    metadata_json: String,
    jwks_json: String,
    jwks_fetched_at: i64,
}

fn list(column: &'static str, raw: &str) -> Result<Vec<String>, StorageError> {
    serde_json::from_str(raw).map_err(|e| corrupt(column, e))
}

impl TryFrom<Row> for OidcSettings {
    type Error = StorageError;
    fn try_from(r: Row) -> Result<Self, StorageError> {
        Ok(OidcSettings {
            issuer: r.issuer,
            client_id: r.client_id,
            client_secret: r.client_secret,
            client_auth: ClientAuth::parse(&r.client_auth)
                .map_err(|e| corrupt("oidc_providers.client_auth", e))?,
            scopes: list("oidc_providers.scopes", &r.scopes)?,
            allowed_algorithms: list("oidc_providers.allowed_algorithms", &r.allowed_algorithms)?
                .iter()
                .map(|a| {
                    JwsAlgorithm::parse(a)
                        .map_err(|e| corrupt("oidc_providers.allowed_algorithms", e))
                })
                .collect::<Result<_, _>>()?,
            use_userinfo: r.use_userinfo,
            clock_skew_secs: r.clock_skew_secs,
            metadata: serde_json::from_str::<ProviderMetadata>(&r.metadata_json)
                .map_err(|e| corrupt("oidc_providers.metadata_json", e))?,
            jwks_json: r.jwks_json,
            jwks_fetched_at: r.jwks_fetched_at,
        })
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, StorageError> {
    serde_json::to_string(v).map_err(|e| corrupt("oidc_providers", e))
}

pub fn insert(
    conn: &mut DbConnection,
    tenant: TenantId,
    connection: ConnectionId,
    s: &OidcSettings,
) -> Result<(), StorageError> {
    let algs: Vec<&str> = s.allowed_algorithms.iter().map(|a| a.name()).collect();
    diesel::insert_into(o::table)
        .values((
            o::connection_id.eq(connection.0),
            o::tenant_id.eq(tenant.0),
            o::issuer.eq(&s.issuer),
            o::client_id.eq(&s.client_id),
            o::client_secret.eq(&s.client_secret),
            o::client_auth.eq(s.client_auth.name()),
            o::scopes.eq(json(&s.scopes)?),
            o::allowed_algorithms.eq(json(&algs)?),
            o::use_userinfo.eq(s.use_userinfo),
            o::clock_skew_secs.eq(s.clock_skew_secs),
            o::metadata_json.eq(json(&s.metadata)?),
            o::jwks_json.eq(&s.jwks_json),
            o::jwks_fetched_at.eq(s.jwks_fetched_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Overwrites a provider's settings (secret rotation, rediscovery, options).
pub fn update(
    conn: &mut DbConnection,
    tenant: TenantId,
    connection: ConnectionId,
    s: &OidcSettings,
) -> Result<(), StorageError> {
    let algs: Vec<&str> = s.allowed_algorithms.iter().map(|a| a.name()).collect();
    diesel::update(
        o::table
            .filter(o::tenant_id.eq(tenant.0))
            .filter(o::connection_id.eq(connection.0)),
    )
    .set((
        o::issuer.eq(&s.issuer),
        o::client_id.eq(&s.client_id),
        o::client_secret.eq(&s.client_secret),
        o::client_auth.eq(s.client_auth.name()),
        o::scopes.eq(json(&s.scopes)?),
        o::allowed_algorithms.eq(json(&algs)?),
        o::use_userinfo.eq(s.use_userinfo),
        o::clock_skew_secs.eq(s.clock_skew_secs),
        o::metadata_json.eq(json(&s.metadata)?),
        o::jwks_json.eq(&s.jwks_json),
        o::jwks_fetched_at.eq(s.jwks_fetched_at),
    ))
    .execute(conn)?;
    Ok(())
}

pub fn settings(
    conn: &mut DbConnection,
    tenant: TenantId,
    connection: ConnectionId,
) -> Result<OidcSettings, StorageError> {
    o::table
        .filter(o::tenant_id.eq(tenant.0))
        .filter(o::connection_id.eq(connection.0))
        .select(Row::as_select())
        .first(conn)?
        .try_into()
}

/// Stores a newly fetched JWKS for every instance to use.
pub fn store_jwks(
    conn: &mut DbConnection,
    tenant: TenantId,
    connection: ConnectionId,
    jwks_json: &str,
    now: i64,
) -> Result<(), StorageError> {
    diesel::update(
        o::table
            .filter(o::tenant_id.eq(tenant.0))
            .filter(o::connection_id.eq(connection.0)),
    )
    .set((o::jwks_json.eq(jwks_json), o::jwks_fetched_at.eq(now)))
    .execute(conn)?;
    Ok(())
}

/// Claims the right to refetch the JWKS: true for one caller per `min_interval` across all
/// instances (the conditional update is the lock).
pub fn claim_jwks_refetch(
    conn: &mut DbConnection,
    tenant: TenantId,
    connection: ConnectionId,
    now: i64,
    min_interval: i64,
) -> Result<bool, StorageError> {
    let n = diesel::update(
        o::table
            .filter(o::tenant_id.eq(tenant.0))
            .filter(o::connection_id.eq(connection.0))
            .filter(o::jwks_refetch_at.le(now - min_interval)),
    )
    .set(o::jwks_refetch_at.eq(now))
    .execute(conn)?;
    Ok(n == 1)
}

pub struct NewRequest<'a> {
    pub state_hash: &'a str,
    pub tenant: TenantId,
    pub connection: ConnectionId,
    pub nonce: &'a str,
    pub pkce_verifier: &'a str,
    pub browser_binding: &'a str,
    pub return_to: Option<&'a str>,
    pub expires_at: i64,
    /// A console test sign-in: the admin who started it.
    pub test_by: Option<&'a str>,
    /// A console sign-in: SHA-256 of its hand-off value.
    pub console_handoff: Option<&'a str>,
    /// Who started it (`domain::client::ClientKey`), for the bound on requests per client.
    pub client_key: Option<&'a str>,
}

pub fn insert_request(
    conn: &mut DbConnection,
    r: &NewRequest<'_>,
    now: i64,
) -> Result<(), StorageError> {
    diesel::insert_into(p::table)
        .values((
            p::state_hash.eq(r.state_hash),
            p::tenant_id.eq(r.tenant.0),
            p::connection_id.eq(r.connection.0),
            p::nonce.eq(r.nonce),
            p::pkce_verifier.eq(r.pkce_verifier),
            p::browser_binding.eq(r.browser_binding),
            p::return_to.eq(r.return_to),
            p::created_at.eq(now),
            p::expires_at.eq(r.expires_at),
            p::test_by.eq(r.test_by),
            p::console_handoff.eq(r.console_handoff),
            p::client_key.eq(r.client_key),
        ))
        .execute(conn)?;
    Ok(())
}

/// How many unexpired requests `client_key` has in flight, and when the first of them
/// expires.
pub fn in_flight_for_client(
    conn: &mut DbConnection,
    client_key: &str,
    now: i64,
) -> Result<(i64, Option<i64>), StorageError> {
    use diesel::dsl::{count_star, min};
    Ok(p::table
        .filter(p::client_key.eq(client_key))
        .filter(p::expires_at.gt(now))
        .select((count_star(), min(p::expires_at)))
        .first(conn)?)
}

#[derive(Debug, Clone)]
pub struct PendingRequest {
    pub nonce: String,
    pub pkce_verifier: String,
    pub browser_binding: String,
    pub return_to: Option<String>,
    pub test_by: Option<String>,
    pub console_handoff: Option<String>,
}

/// Consumes the request named by the state: single use, like SAML's AuthnRequests.
pub fn take_request(
    conn: &mut DbConnection,
    tenant: TenantId,
    connection: ConnectionId,
    state_hash: &str,
    now: i64,
) -> Result<Option<PendingRequest>, StorageError> {
    let scoped = p::table
        .filter(p::state_hash.eq(state_hash))
        .filter(p::tenant_id.eq(tenant.0))
        .filter(p::connection_id.eq(connection.0));
    type Row = (
        String,
        String,
        String,
        Option<String>,
        i64,
        Option<String>,
        Option<String>,
    );
    let Some((
        nonce,
        pkce_verifier,
        browser_binding,
        return_to,
        expires_at,
        test_by,
        console_handoff,
    )) = scoped
        .select((
            p::nonce,
            p::pkce_verifier,
            p::browser_binding,
            p::return_to,
            p::expires_at,
            p::test_by,
            p::console_handoff,
        ))
        .first::<Row>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let deleted = diesel::delete(scoped).execute(conn)?;
    Ok(
        (deleted == 1 && expires_at > now).then_some(PendingRequest {
            nonce,
            pkce_verifier,
            browser_binding,
            return_to,
            test_by,
            console_handoff,
        }),
    )
}

pub fn purge_expired(conn: &mut DbConnection, now: i64) -> Result<usize, StorageError> {
    Ok(diesel::delete(p::table.filter(p::expires_at.le(now))).execute(conn)?)
}
