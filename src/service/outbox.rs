//! The IWMS feed: events enqueued with the change that caused them, then delivered at least
//! once, in order per user, signed, with backoff; account creation first looks the person up
//! by the tenant's join key (`lookup`), then links to the ID found or stores the created one.
mod account;
mod lookup;
mod secret;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::clock::Clock;
use crate::clock::rfc3339;
use crate::config::IwmsSettings;
use crate::domain::ids::{TenantId, UserId};
use crate::domain::iwms::{
    EventKind, JoinFacts, JoinKey, LookupAnswer, backoff_secs, parse_iwms_id, signature,
};
use crate::domain::reason::Reason;
use crate::domain::tenant::Tenant;
use crate::domain::user_event::UserEvent;
use crate::protocol::body::read_capped;
use crate::protocol::outbound::{self, AddressPolicy};
use crate::storage::outbox::{self, Claimed, NewEvent, Scope};
use crate::storage::{
    self, DbConnection, DbPool, StorageError, events, tenants, users, users::scim as scim_users,
};

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
    // With `iwms_id` as the join key, an IWMS ID the IdP or SCIM sent is looked up too: the
    // IWMS confirms it (linked) or is asked for the account.
    let create_iwms = kind == EventKind::Created
        && tenant.iwms.auto_create
        && (u.iwms_id.is_none() || tenant.iwms.join_key == Some(JoinKey::IwmsId));
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

/// A tenant's feed as the worker reads it at each claim: where to, signed with what, and
/// the join key.
#[derive(Clone)]
pub struct Feed {
    pub endpoint: String,
    pub secret: Vec<u8>,
    pub join_key: Option<JoinKey>,
}

enum Outcome {
    /// `linked`: the ID is the one a lookup by this key found (no account was created).
    Delivered {
        iwms_id: Option<String>,
        linked: Option<JoinKey>,
    },
    Failed {
        error: String,
    },
    /// The lookup found a person whose IWMS ID another user holds: nothing is linked or
    /// created, and the event is parked as dead until an admin resolves it and retries.
    Conflict {
        iwms_id: String,
        key: JoinKey,
        holder: UserId,
    },
}

/// A lookup to make before the delivery.
struct Join {
    key: JoinKey,
    value: String,
    /// The user has an IWMS ID already: an account found is only recorded (as unused),
    /// never linked.
    only_record: bool,
}

/// The user's values a join key is read from.
struct UserKeys {
    email: String,
    iwms_id: Option<String>,
    employee_number: Option<String>,
    user_name: Option<String>,
}

impl UserKeys {
    fn facts(&self) -> JoinFacts<'_> {
        JoinFacts {
            email: &self.email,
            iwms_id: self.iwms_id.as_deref(),
            employee_number: self.employee_number.as_deref(),
            user_name: self.user_name.as_deref(),
        }
    }
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
    pub async fn feed(&self, tid: TenantId) -> Result<Feed, String> {
        let tenant = storage::block(&self.pool, move |c| tenants::get(c, tid))
            .await
            .map_err(|e| format!("cannot load the tenant: {e}"))?;
        let (Some(endpoint), Some(source)) = (&tenant.iwms.endpoint, &tenant.iwms.secret) else {
            return Err("the tenant's IWMS feed is not configured".into());
        };
        Ok(Feed {
            endpoint: endpoint.clone(),
            secret: secret::read(source)?,
            join_key: tenant.iwms.join_key,
        })
    }

    pub async fn deliver(&self, mut e: Claimed, feed: Result<Feed, String>, lease: &Lease) {
        let (id, attempts, tenant, user) =
            (e.id, e.attempts, TenantId(e.tenant_id), UserId(e.user_id));
        let join_key = feed.as_ref().ok().and_then(|f| f.join_key);
        let mut join = None;
        if e.create_iwms
            && let Some(u) = self.user_keys(tenant, user).await
        {
            if u.iwms_id.is_some() && join_key != Some(JoinKey::IwmsId) {
                // The user got an IWMS ID while the creation waited (SCIM, a sign-in): asking
                // now would make a second account, so it goes out as a plain user.created.
                e.create_iwms = false;
                // An earlier attempt may have created an account whose answer was lost: a
                // lookup finds it, and the timeline shows it unused (never linked).
                if e.attempts > 0
                    && let Some(k) = join_key
                {
                    join = k.value(&u.facts()).map(|v| Join {
                        key: k,
                        value: v,
                        only_record: true,
                    });
                }
            } else if let Some(k) = join_key {
                // No value for the key (no employee number yet, …): nothing to look up by,
                // so the account is created as without a join key.
                join = k.value(&u.facts()).map(|v| Join {
                    key: k,
                    value: v,
                    only_record: false,
                });
            }
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
            Ok(f) => {
                self.attempt(e, &f.endpoint, &f.secret, join, lease.until)
                    .await
            }
            Err(error) => Outcome::Failed { error },
        };
        self.finish(id, attempts, outcome, tenant, user, lease)
            .await;
    }

    /// None when the database failed: that counts as "no IWMS ID" and no lookup (the
    /// idempotency key still keeps a retry from creating a second account).
    async fn user_keys(&self, tenant: TenantId, user: UserId) -> Option<UserKeys> {
        let r = storage::block(&self.pool, move |c| -> Result<UserKeys, StorageError> {
            let u = users::get(c, tenant, user)?;
            let t = scim_users::tracked(c, tenant, user)?;
            Ok(UserKeys {
                email: u.email.as_str().to_owned(),
                iwms_id: u.iwms_id,
                employee_number: t.employee_number,
                user_name: t.scim_user_name,
            })
        })
        .await;
        match r {
            Ok(k) => Some(k),
            Err(err) => {
                tracing::warn!(error = %err, "could not read the user before an IWMS creation");
                None
            }
        }
    }

    /// The user who holds `iwms_id`, if any (None also when the database failed: the
    /// stored link checks again in its transaction).
    async fn holder_of(&self, tenant: TenantId, iwms_id: &str) -> Option<UserId> {
        let v = iwms_id.to_owned();
        storage::block(&self.pool, move |c| users::find_by_iwms_id(c, tenant, &v))
            .await
            .ok()
            .flatten()
            .map(|u| u.id)
    }

    /// Looks the person up by the join key (when there is one): found, the account is
    /// linked and the event goes out without `create_iwms_account`; not found, it is
    /// created; no answer, the attempt fails and is retried.
    async fn attempt(
        &self,
        mut e: Claimed,
        endpoint: &str,
        secret: &[u8],
        join: Option<Join>,
        lease_until: i64,
    ) -> Outcome {
        let mut data: Value = serde_json::from_str(&e.payload).unwrap_or(Value::Null);
        let policy = AddressPolicy::from(&self.settings);
        let mut linked = None;
        if let Some(Join {
            key,
            value,
            only_record,
        }) = &join
        {
            let tenant_slug = data["tenant"].as_str().unwrap_or_default().to_owned();
            let question = lookup::Question {
                event_id: &format!("evt_{}", e.id),
                tenant: &tenant_slug,
                user_id: e.user_id,
                key: *key,
                value,
            };
            let now = self.clock.unix();
            match lookup::ask(&self.http, &policy, endpoint, secret, &question, now).await {
                Err(error) => return Outcome::Failed { error },
                Ok(LookupAnswer::NotFound) => {}
                // store_iwms_id keeps the user's ID and records the account found as unused.
                Ok(LookupAnswer::Found(iwms_id)) if *only_record => {
                    linked = Some((iwms_id, *key));
                }
                Ok(LookupAnswer::Found(iwms_id)) => {
                    let tenant = TenantId(e.tenant_id);
                    if let Some(holder) = self.holder_of(tenant, &iwms_id).await
                        && holder != UserId(e.user_id)
                    {
                        return Outcome::Conflict {
                            iwms_id,
                            key: *key,
                            holder,
                        };
                    }
                    // The IWMS hears of the user with the ID it knows them by.
                    if let Some(u) = data.pointer_mut("/user/iwms_id") {
                        *u = Value::from(iwms_id.clone());
                    }
                    e.create_iwms = false;
                    linked = Some((iwms_id, *key));
                }
            }
        }
        if join.is_some()
            && self.clock.unix() + self.settings.http_timeout_secs as i64 >= lease_until
        {
            // The lookup took so long that the event's request might outlive the lease (and
            // another worker could send it meanwhile): this attempt ends here.
            return Outcome::Failed {
                error: "the IWMS lookup answered too late to send the event within its lease"
                    .into(),
            };
        }
        let body = json!({
            "id": format!("evt_{}", e.id),
            "type": e.event,
            "idempotency_key": e.idempotency_key,
            "occurred_at": rfc3339(e.created_at),
            "create_iwms_account": e.create_iwms,
            "data": data,
        })
        .to_string();
        if let Err(error) = lookup::permitted(&policy, endpoint) {
            return Outcome::Failed { error };
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
            Err(err) => {
                return Outcome::Failed {
                    error: lookup::send_failure(&err, endpoint),
                };
            }
        };
        let status = res.status();
        if !status.is_success() {
            return Outcome::Failed {
                error: format!("HTTP {} from {endpoint}", status.as_u16()),
            };
        }
        if let Some((iwms_id, key)) = linked {
            return Outcome::Delivered {
                iwms_id: Some(iwms_id),
                linked: Some(key),
            };
        }
        if !e.create_iwms {
            return Outcome::Delivered {
                iwms_id: None,
                linked: None,
            };
        }
        let answer: Value = read_capped(res, MAX_ANSWER_BYTES)
            .await
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        match answer
            .get("iwms_id")
            .and_then(Value::as_str)
            .and_then(parse_iwms_id)
        {
            Some(v) => Outcome::Delivered {
                iwms_id: Some(v),
                linked: None,
            },
            None => Outcome::Failed {
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
                Outcome::Delivered { iwms_id, linked } => storage::transaction(c, |tx| {
                    if outbox::delivered(tx, id, &owner, now)?
                        && let Some(v) = &iwms_id
                    {
                        account::store_iwms_id(tx, tenant, user, v, linked, now)?;
                    }
                    Ok(())
                }),
                Outcome::Conflict {
                    iwms_id,
                    key,
                    holder,
                } => storage::transaction(c, |tx| {
                    let error = format!(
                        "{}: the IWMS found this person by {key} with IWMS ID {iwms_id}, which user {holder} holds; nothing was linked or created",
                        Reason::IwmsIdConflict.code()
                    );
                    tracing::warn!(event = id, "IWMS event parked as dead: iwms_id_conflict");
                    if outbox::failed(tx, id, &owner, now, true, &error)? {
                        let refused = UserEvent::IwmsLinkRefused {
                            iwms_id: Some(iwms_id.clone()),
                            matched_by: Some(key.as_str().to_owned()),
                            reason: Some(Reason::IwmsIdConflict.code().to_owned()),
                            holder: Some(holder.0),
                        };
                        events::record(tx, tenant, user, &refused, now)?;
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
