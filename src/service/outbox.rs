//! The IWMS feed: events enqueued with the change that caused them, then delivered at least
//! once, in order per user, signed, with backoff; account creation stores the returned ID.
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::clock::Clock;
use crate::clock::rfc3339;
use crate::config::IwmsSettings;
use crate::domain::ids::{TenantId, UserId};
use crate::domain::iwms::{EventKind, SecretSource, backoff_secs, signature};
use crate::domain::tenant::Tenant;
use crate::domain::user_event::UserEvent;
use crate::protocol::body::read_capped;
use crate::protocol::outbound::{self, AddressPolicy};
use crate::storage::outbox::{self, Claimed, NewEvent, Scope};
use crate::storage::{
    self, DbConnection, DbPool, StorageError, events, tenants, users, users::scim as scim_users,
};

const MAX_IWMS_ID_CHARS: usize = 256;
/// A shorter HMAC key could be guessed; the CLI checks the same when the secret is set.
const MIN_SECRET_BYTES: usize = 16;
/// An account-creation answer is `{"iwms_id": …}`; anything longer is no usable answer.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Writes the event for a change, in the caller's transaction, when the tenant's feed
/// sends it. Returns the event id.
pub fn enqueue(
    conn: &mut DbConnection,
    tenant: &Tenant,
    user: UserId,
    kind: EventKind,
    changes: Option<&Value>,
    now: i64,
) -> Result<Option<i64>, StorageError> {
    if !tenant.iwms.sends(kind) {
        return Ok(None);
    }
    let u = users::get(conn, tenant.id, user)?;
    let t = scim_users::tracked(conn, tenant.id, user)?;
    let mut payload = json!({
        "tenant": tenant.slug.as_str(),
        "user": {
            "id": u.id.0,
            "email": u.email.as_str(),
            "first_name": u.first_name,
            "last_name": u.last_name,
            "iwms_id": u.iwms_id,
            "status": u.status.as_str(),
            "stale": u.stale_since.is_some(),
            "created_via": u.created_via,
            "attributes": {
                "user_name": t.scim_user_name, "external_id": t.external_id,
                "display_name": t.display_name, "nick_name": t.nick_name, "title": t.title,
                "department": t.department, "employee_number": t.employee_number,
                "manager": t.manager_id,
            },
        },
    });
    let computed = crate::storage::roles::computed(conn, tenant.id, user)?;
    payload["user"]["groups"] = json!(computed.groups);
    payload["user"]["roles"] = json!(computed.roles);
    if let Some(c) = changes {
        payload["changes"] = c.clone();
    }
    let create_iwms = kind == EventKind::Created && tenant.iwms.auto_create && u.iwms_id.is_none();
    outbox::enqueue(
        conn,
        &NewEvent {
            tenant: tenant.id,
            user,
            event: kind.as_str(),
            payload: &payload.to_string(),
            create_iwms,
        },
        now,
    )
    .map(Some)
}

/// Appends to a user's timeline and, for the kinds the IWMS hears about, enqueues the event
/// in the same transaction.
pub fn record(
    conn: &mut DbConnection,
    tenant: &Tenant,
    user: UserId,
    event: &UserEvent,
    now: i64,
) -> Result<(), StorageError> {
    events::record(conn, tenant.id, user, event, now)?;
    if let Some(e) = event.iwms_event() {
        enqueue(conn, tenant, user, e, event.iwms_changes().as_ref(), now)?;
    }
    Ok(())
}

/// Delivers leased events; several instances may run one each.
#[derive(Clone)]
pub struct Deliverer {
    pub pool: DbPool,
    pub clock: Arc<dyn Clock>,
    pub settings: IwmsSettings,
    pub http: reqwest::Client,
    /// This worker's name; each claim's lease owner starts with it.
    pub owner: String,
}

/// One claim's lease: its own owner name, so a delivery that outlived its lease can never
/// finish an event that was claimed again meanwhile (by another worker, or by this one).
#[derive(Debug, Clone)]
pub struct Lease {
    owner: String,
    until: i64,
}

enum Outcome {
    Delivered { iwms_id: Option<String> },
    Failed { error: String },
}

fn read_secret(source: &SecretSource) -> Result<Vec<u8>, String> {
    // A source stored before today's rules loads, but is not used: no signing with
    // ssogate's own secrets or a path relative to wherever the process started.
    SecretSource::parse(&source.as_string())
        .map_err(|e| format!("the tenant's signing secret source is refused: {e}"))?;
    let raw = match source {
        SecretSource::File(p) => std::fs::read_to_string(p)
            .map_err(|e| format!("cannot read the signing secret file {p}: {}", e.kind()))?,
        SecretSource::Env(v) => {
            std::env::var(v).map_err(|_| format!("the signing secret variable {v} is not set"))?
        }
    };
    let s = raw.trim();
    if s.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "the signing secret must hold at least {MIN_SECRET_BYTES} characters"
        ));
    }
    Ok(s.as_bytes().to_vec())
}

impl Deliverer {
    pub fn new(
        pool: DbPool,
        clock: Arc<dyn Clock>,
        settings: IwmsSettings,
    ) -> reqwest::Result<Self> {
        // The same client as for OpenID providers: no redirects, no proxy, and only the
        // addresses the policy allows (public ones, and the operator's listed networks).
        let http = outbound::client(
            Duration::from_secs(settings.http_timeout_secs),
            AddressPolicy::from(&settings),
        )?;
        Ok(Self {
            pool,
            clock,
            settings,
            http,
            owner: format!("worker-{}", hex::encode(crate::random::bytes::<8>())),
        })
    }

    fn lease(&self, now: i64) -> Lease {
        Lease {
            owner: format!(
                "{}.{}",
                self.owner,
                hex::encode(crate::random::bytes::<6>())
            ),
            until: now + (self.settings.http_timeout_secs + self.settings.lease_grace_secs) as i64,
        }
    }

    /// Claims up to `n` due events, oldest first, leaving out the tenants in `except`, under
    /// one new lease.
    pub async fn claim(
        &self,
        n: usize,
        except: Vec<i64>,
    ) -> Result<(Lease, Vec<Claimed>), StorageError> {
        let now = self.clock.unix();
        let lease = self.lease(now);
        let l = lease.clone();
        let claimed = storage::block(&self.pool, move |c| {
            outbox::claim(c, &l.owner, now, l.until, n as i64, Scope::Except(except))
        })
        .await?;
        Ok((lease, claimed))
    }

    /// Gives claimed events back unattempted. Should this fail, they are delivered once their
    /// lease runs out.
    pub async fn give_back(&self, ids: Vec<i64>, lease: &Lease) {
        let owner = lease.owner.clone();
        if let Err(e) = storage::block(&self.pool, move |c| outbox::release(c, &ids, &owner)).await
        {
            tracing::warn!(error = %e, "could not give back IWMS events");
        }
    }

    /// A first sign-in waits up to `wait` for the account-creation event `id`. Past that the
    /// delivery goes on without it and records its own outcome; a failure is retried by the
    /// worker.
    pub async fn deliver_now(&self, id: i64, wait: Duration) -> Result<(), StorageError> {
        let deadline = tokio::time::Instant::now() + wait;
        let (claimed, lease) = loop {
            let now = self.clock.unix();
            let lease = self.lease(now);
            let l = lease.clone();
            let claimed = storage::block(&self.pool, move |c| {
                outbox::claim(c, &l.owner, now, l.until, 1, Scope::Event(id))
            })
            .await?;
            if !claimed.is_empty() {
                break (claimed, lease);
            }
            // Another worker is delivering it: wait for that delivery instead. Delivered, or
            // failed and waiting for its retry: nothing to wait for.
            let in_flight =
                storage::block(&self.pool, move |c| outbox::in_flight(c, id, now)).await?;
            if !in_flight || tokio::time::Instant::now() >= deadline {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        };
        for e in claimed {
            let feed = self.feed(TenantId(e.tenant_id)).await;
            // The delivery runs to its end on its own (it records its outcome, and an account
            // the IWMS creates late is still stored); the sign-in waits only until `deadline`.
            let (me, lease) = (self.clone(), lease.clone());
            let delivery = tokio::spawn(async move { me.deliver(e, feed, &lease).await });
            let _ = tokio::time::timeout_at(deadline, delivery).await;
        }
        Ok(())
    }

    /// The tenant's endpoint and signing secret as they are now (settings may have changed
    /// since the event was written).
    pub async fn feed(&self, tid: TenantId) -> Result<(String, Vec<u8>), String> {
        let tenant = storage::block(&self.pool, move |c| tenants::get(c, tid))
            .await
            .map_err(|e| format!("cannot load the tenant: {e}"))?;
        let (Some(endpoint), Some(source)) = (&tenant.iwms.endpoint, &tenant.iwms.secret) else {
            return Err("the tenant's IWMS feed is not configured".into());
        };
        Ok((endpoint.clone(), read_secret(source)?))
    }

    pub async fn deliver(
        &self,
        mut e: Claimed,
        feed: Result<(String, Vec<u8>), String>,
        lease: &Lease,
    ) {
        let (id, attempts, tenant, user) =
            (e.id, e.attempts, TenantId(e.tenant_id), UserId(e.user_id));
        if e.create_iwms && self.has_iwms_id(tenant, user).await {
            // The user got an IWMS ID while the creation waited (SCIM, a sign-in): asking
            // now would make a second account, so it goes out as a plain user.created.
            e.create_iwms = false;
        }
        if self.clock.unix() + self.settings.http_timeout_secs as i64 >= lease.until {
            // Too little lease is left to finish the request before another worker may take
            // the event (the database was slow): give it back unattempted.
            let owner = lease.owner.clone();
            if let Err(err) =
                storage::block(&self.pool, move |c| outbox::release(c, &[id], &owner)).await
            {
                tracing::warn!(event = id, error = %err, "could not release an IWMS event");
            }
            return;
        }
        let outcome = match feed {
            Ok((endpoint, secret)) => self.attempt(e, &endpoint, &secret).await,
            Err(error) => Outcome::Failed { error },
        };
        self.finish(id, attempts, outcome, tenant, user, lease)
            .await;
    }

    /// Unknown (the database failed) counts as no: the idempotency key still keeps a retry
    /// from creating a second account.
    async fn has_iwms_id(&self, tenant: TenantId, user: UserId) -> bool {
        match storage::block(&self.pool, move |c| users::get(c, tenant, user)).await {
            Ok(u) => u.iwms_id.is_some(),
            Err(err) => {
                tracing::warn!(error = %err, "could not read the user before an IWMS creation");
                false
            }
        }
    }

    async fn attempt(&self, e: Claimed, endpoint: &str, secret: &[u8]) -> Outcome {
        let data: Value = serde_json::from_str(&e.payload).unwrap_or(Value::Null);
        let body = json!({
            "id": format!("evt_{}", e.id),
            "type": e.event,
            "idempotency_key": e.idempotency_key,
            "occurred_at": rfc3339(e.created_at),
            "create_iwms_account": e.create_iwms,
            "data": data,
        })
        .to_string();
        let policy = AddressPolicy::from(&self.settings);
        match url::Url::parse(endpoint) {
            Ok(u) if policy.permits_url(&u) => {}
            Ok(_) => {
                return Outcome::Failed {
                    error: format!(
                        "refused: {endpoint} is an internal address outside iwms.allowed_networks"
                    ),
                };
            }
            Err(_) => {
                return Outcome::Failed {
                    error: format!("the endpoint `{endpoint}` is not a URL"),
                };
            }
        }
        let sig = signature(secret, self.clock.unix(), body.as_bytes());
        let res = self
            .http
            .post(endpoint)
            .header("content-type", "application/json")
            .header("idempotency-key", &e.idempotency_key)
            .header("x-ssogate-event", &e.event)
            .header("x-ssogate-event-id", format!("evt_{}", e.id))
            .header("x-ssogate-signature", sig)
            .body(body)
            .send()
            .await;
        let res = match res {
            Ok(r) => r,
            Err(err) if outbound::refused_by_policy(&err) => {
                return Outcome::Failed {
                    error: format!(
                        "refused: {endpoint} resolves only to internal addresses outside iwms.allowed_networks"
                    ),
                };
            }
            Err(err) => {
                let why = if err.is_timeout() {
                    "timed out"
                } else if err.is_connect() {
                    "connection failed"
                } else {
                    "request failed"
                };
                return Outcome::Failed {
                    error: format!("{why}: {endpoint}"),
                };
            }
        };
        let status = res.status();
        if !status.is_success() {
            return Outcome::Failed {
                error: format!("HTTP {} from {endpoint}", status.as_u16()),
            };
        }
        if !e.create_iwms {
            return Outcome::Delivered { iwms_id: None };
        }
        let answer: Value = read_capped(res, MAX_ANSWER_BYTES)
            .await
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        match answer.get("iwms_id").and_then(Value::as_str).map(str::trim) {
            Some(v)
                if !v.is_empty()
                    && v.chars().count() <= MAX_IWMS_ID_CHARS
                    && !v.chars().any(char::is_control) =>
            {
                Outcome::Delivered {
                    iwms_id: Some(v.to_owned()),
                }
            }
            _ => Outcome::Failed {
                error: "the IWMS answered without a usable `iwms_id` (1-256 printable characters)"
                    .into(),
            },
        }
    }

    async fn finish(
        &self,
        id: i64,
        attempts: i32,
        outcome: Outcome,
        tenant: TenantId,
        user: UserId,
        lease: &Lease,
    ) {
        let now = self.clock.unix();
        let s = self.settings.clone();
        let owner = lease.owner.clone();
        let jitter = f64::from(crate::random::bytes::<1>()[0]) / 255.0;
        let r = storage::block(&self.pool, move |c| -> Result<(), StorageError> {
            match outcome {
                Outcome::Delivered { iwms_id } => storage::transaction(c, |tx| {
                    if outbox::delivered(tx, id, &owner, now)?
                        && let Some(v) = &iwms_id
                    {
                        store_iwms_id(tx, tenant, user, v, now)?;
                    }
                    Ok(())
                }),
                Outcome::Failed { error } => {
                    let tries = u32::try_from(attempts).unwrap_or(0) + 1;
                    let dead = tries >= s.max_attempts;
                    let next = now + backoff_secs(tries, s.backoff_base_secs, s.backoff_max_secs, jitter) as i64;
                    if dead {
                        tracing::warn!(event = id, attempts = tries, error = %error, "IWMS event parked as dead");
                    }
                    outbox::failed(c, id, &owner, next, dead, &error).map(|_| ())
                }
            }
        })
        .await;
        if let Err(e) = r {
            tracing::warn!(event = id, error = %e, "could not record an IWMS delivery");
        }
    }
}

/// The IWMS created an account: its ID becomes the user's, unless the user got one meanwhile
/// or another user holds it (both recorded, nothing overwritten).
fn store_iwms_id(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
    iwms_id: &str,
    now: i64,
) -> Result<(), StorageError> {
    // A SCIM write may be setting the IdP's IWMS ID right now: lock the row before reading it.
    users::lock(conn, tenant, user)?;
    let u = users::get(conn, tenant, user)?;
    let holder = users::find_by_iwms_id(conn, tenant, iwms_id)?.map(|h| h.id);
    let event = match (&u.iwms_id, holder) {
        (Some(existing), _) => UserEvent::IwmsAccountIgnored {
            iwms_id: Some(iwms_id.to_owned()),
            kept: Some(existing.clone()),
            why: Some("the user already has an IWMS ID".into()),
        },
        (None, Some(other)) if other != user => UserEvent::IwmsAccountIgnored {
            iwms_id: Some(iwms_id.to_owned()),
            kept: None,
            why: Some(format!("user {other} holds this IWMS ID")),
        },
        (None, _) => {
            scim_users::set_iwms_id(conn, tenant, user, Some(iwms_id))?;
            UserEvent::IwmsAccountCreated {
                iwms_id: Some(iwms_id.to_owned()),
            }
        }
    };
    events::record(conn, tenant, user, &event, now)
}

/// After a sign-in: if the user's IWMS account is still being created, wait for it at most
/// `iwms.first_sign_in_wait_ms`. The sign-in succeeds either way; a failed or slow creation
/// stays queued for the worker.
pub async fn await_account(d: &Deliverer, tenant: &Tenant, user: UserId) {
    if !tenant.iwms.auto_create || d.settings.first_sign_in_wait_ms == 0 {
        return;
    }
    let tid = tenant.id;
    let pending = storage::block(&d.pool, move |c| outbox::pending_create(c, tid, user)).await;
    let wait = Duration::from_millis(d.settings.first_sign_in_wait_ms);
    let r = match pending {
        Ok(Some(id)) => d.deliver_now(id, wait).await,
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    if let Err(e) = r {
        tracing::warn!(error = %e, "could not deliver the IWMS account creation at sign-in");
    }
}
