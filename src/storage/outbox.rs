//! The IWMS outbox: events written in the change's own transaction, claimed by workers with
//! a lease (PostgreSQL adds SKIP LOCKED), one event per user at a time in order.
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Text};

use super::schema::outbox_events;
use super::{DbConnection, StorageError};
use crate::domain::ids::{TenantId, UserId};

pub struct NewEvent<'a> {
    pub tenant: TenantId,
    pub user: UserId,
    pub event: &'a str,
    pub payload: &'a str,
    pub create_iwms: bool,
}

pub fn enqueue(conn: &mut DbConnection, e: &NewEvent<'_>, now: i64) -> Result<i64, StorageError> {
    let key = format!("ssogate-{}", crate::random::token());
    diesel::insert_into(outbox_events::table)
        .values((
            outbox_events::tenant_id.eq(e.tenant.0),
            outbox_events::user_id.eq(e.user.0),
            outbox_events::event.eq(e.event),
            outbox_events::payload.eq(e.payload),
            outbox_events::idempotency_key.eq(&key),
            outbox_events::create_iwms.eq(e.create_iwms),
            outbox_events::status.eq("pending"),
            outbox_events::next_attempt_at.eq(now),
            outbox_events::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(outbox_events::table
        .filter(outbox_events::idempotency_key.eq(&key))
        .select(outbox_events::id)
        .first(conn)?)
}

/// An event a worker holds the lease of.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = BigInt)]
    pub tenant_id: i64,
    #[diesel(sql_type = BigInt)]
    pub user_id: i64,
    #[diesel(sql_type = Text)]
    pub event: String,
    #[diesel(sql_type = Text)]
    pub payload: String,
    #[diesel(sql_type = Text)]
    pub idempotency_key: String,
    #[diesel(sql_type = Bool)]
    pub create_iwms: bool,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = BigInt)]
    pub created_at: i64,
}

const RETURNING: &str = "RETURNING id, tenant_id, user_id, event, payload, idempotency_key, create_iwms, attempts, created_at";

/// Due, unleased events whose user has no earlier undelivered event (dead ones included: a
/// parked event holds its user's later events back, so order is never broken).
const ELIGIBLE: &str = "o.status = 'pending' AND o.next_attempt_at <= {now} \
    AND (o.lease_until IS NULL OR o.lease_until < {now}) \
    AND NOT EXISTS (SELECT 1 FROM outbox_events p WHERE p.tenant_id = o.tenant_id \
    AND p.user_id = o.user_id AND p.id < o.id AND p.status <> 'delivered')";

/// Which due events a claim may lease.
#[derive(Debug, Clone)]
pub enum Scope {
    /// Only this event (a first sign-in waiting for its account).
    Event(i64),
    /// Any due event but these tenants' (they have their share of deliveries in flight).
    Except(Vec<i64>),
}

/// Leases up to `limit` due events of `scope` to `owner` until `lease_until`, oldest first.
/// Runs in its own short transaction.
pub fn claim(
    conn: &mut DbConnection,
    owner: &str,
    now: i64,
    lease_until: i64,
    limit: i64,
    scope: Scope,
) -> Result<Vec<Claimed>, StorageError> {
    super::transaction(conn, |c| {
        // Tenant ids are integers from this database, written into the SQL as numbers;
        // `o.id <> 0` (ids start at 1) keeps one bind list for every scope.
        let (only_sql, only) = match &scope {
            Scope::Event(id) => (" AND o.id = {only}".to_owned(), *id),
            Scope::Except(ts) => {
                let list: Vec<String> = ts.iter().map(i64::to_string).collect();
                let not_in = if list.is_empty() {
                    String::new()
                } else {
                    format!(" AND o.tenant_id NOT IN ({})", list.join(", "))
                };
                (format!(" AND o.id <> {{only}}{not_in}"), 0)
            }
        };
        let rows = match c {
            DbConnection::Sqlite(s) => {
                let sql = format!(
                    "UPDATE outbox_events SET lease_owner = ?, lease_until = ? WHERE id IN \
                     (SELECT o.id FROM outbox_events o WHERE {ELIGIBLE}{only_sql} ORDER BY o.id LIMIT ?) {RETURNING}"
                )
                .replace("{now}", "?")
                .replace("{only}", "?");
                diesel::sql_query(sql)
                    .bind::<Text, _>(owner)
                    .bind::<BigInt, _>(lease_until)
                    .bind::<BigInt, _>(now)
                    .bind::<BigInt, _>(now)
                    .bind::<BigInt, _>(only)
                    .bind::<BigInt, _>(limit)
                    .load::<Claimed>(s)?
            }
            DbConnection::Pg(p) => {
                let sql = format!(
                    "UPDATE outbox_events SET lease_owner = $1, lease_until = $2 WHERE id IN \
                     (SELECT o.id FROM outbox_events o WHERE {ELIGIBLE}{only_sql} ORDER BY o.id LIMIT $5 \
                     FOR UPDATE SKIP LOCKED) {RETURNING}"
                )
                .replace("{now}", "$3")
                .replace("{only}", "$4");
                diesel::sql_query(sql)
                    .bind::<Text, _>(owner)
                    .bind::<BigInt, _>(lease_until)
                    .bind::<BigInt, _>(now)
                    .bind::<BigInt, _>(only)
                    .bind::<BigInt, _>(limit)
                    .load::<Claimed>(p)?
            }
        };
        Ok(rows)
    })
}

/// Gives leased events back unattempted (a lease ran too short to send safely, or the worker
/// claimed more of a tenant than its share).
pub fn release(conn: &mut DbConnection, ids: &[i64], owner: &str) -> Result<usize, StorageError> {
    let n = diesel::update(
        outbox_events::table
            .filter(outbox_events::id.eq_any(ids))
            .filter(outbox_events::lease_owner.eq(owner)),
    )
    .set((
        outbox_events::lease_owner.eq(None::<String>),
        outbox_events::lease_until.eq(None::<i64>),
    ))
    .execute(conn)?;
    Ok(n)
}

/// Marks a leased event delivered; false when the lease was lost meanwhile.
pub fn delivered(
    conn: &mut DbConnection,
    id: i64,
    owner: &str,
    now: i64,
) -> Result<bool, StorageError> {
    let n = diesel::update(
        outbox_events::table
            .filter(outbox_events::id.eq(id))
            .filter(outbox_events::lease_owner.eq(owner)),
    )
    .set((
        outbox_events::status.eq("delivered"),
        outbox_events::attempts.eq(outbox_events::attempts + 1),
        outbox_events::delivered_at.eq(Some(now)),
        outbox_events::lease_owner.eq(None::<String>),
        outbox_events::lease_until.eq(None::<i64>),
        outbox_events::last_error.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Records a failed attempt: tried again at `next_at`, or parked as dead.
pub fn failed(
    conn: &mut DbConnection,
    id: i64,
    owner: &str,
    next_at: i64,
    dead: bool,
    error: &str,
) -> Result<bool, StorageError> {
    let n = diesel::update(
        outbox_events::table
            .filter(outbox_events::id.eq(id))
            .filter(outbox_events::lease_owner.eq(owner)),
    )
    .set((
        outbox_events::status.eq(if dead { "dead" } else { "pending" }),
        outbox_events::attempts.eq(outbox_events::attempts + 1),
        outbox_events::next_attempt_at.eq(next_at),
        outbox_events::lease_owner.eq(None::<String>),
        outbox_events::lease_until.eq(None::<i64>),
        outbox_events::last_error.eq(Some(error)),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

#[derive(Debug, Clone, serde::Serialize, Queryable)]
pub struct OutboxRow {
    pub id: i64,
    pub tenant_id: i64,
    pub user_id: i64,
    pub event: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

pub fn list(
    conn: &mut DbConnection,
    tenant: Option<TenantId>,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<OutboxRow>, StorageError> {
    let mut q = outbox_events::table
        .select((
            outbox_events::id,
            outbox_events::tenant_id,
            outbox_events::user_id,
            outbox_events::event,
            outbox_events::status,
            outbox_events::attempts,
            outbox_events::next_attempt_at,
            outbox_events::last_error,
            outbox_events::created_at,
            outbox_events::delivered_at,
        ))
        .order(outbox_events::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(t) = tenant {
        q = q.filter(outbox_events::tenant_id.eq(t.0));
    }
    if let Some(s) = status {
        q = q.filter(outbox_events::status.eq(s.to_owned()));
    }
    Ok(q.load(conn)?)
}

/// The tenant of event `id`, if there is one.
pub fn tenant_of(conn: &mut DbConnection, id: i64) -> Result<Option<TenantId>, StorageError> {
    Ok(outbox_events::table
        .filter(outbox_events::id.eq(id))
        .select(outbox_events::tenant_id)
        .first::<i64>(conn)
        .optional()?
        .map(TenantId))
}

/// Puts dead events (one, or all of a tenant / everywhere) back in the queue, due now.
pub fn retry(
    conn: &mut DbConnection,
    id: Option<i64>,
    tenant: Option<TenantId>,
    now: i64,
) -> Result<usize, StorageError> {
    let mut q = diesel::update(outbox_events::table)
        .filter(outbox_events::status.eq("dead"))
        .set((
            outbox_events::status.eq("pending"),
            outbox_events::attempts.eq(0),
            outbox_events::next_attempt_at.eq(now),
        ))
        .into_boxed();
    if let Some(i) = id {
        q = q.filter(outbox_events::id.eq(i));
    }
    if let Some(t) = tenant {
        q = q.filter(outbox_events::tenant_id.eq(t.0));
    }
    Ok(q.execute(conn)?)
}

/// Whether event `id` is pending and either leased right now (being delivered) or due (a
/// worker may be claiming it in a transaction not yet committed). False once it is
/// delivered, dead, or waiting for a scheduled retry.
pub fn in_flight(conn: &mut DbConnection, id: i64, now: i64) -> Result<bool, StorageError> {
    Ok(outbox_events::table
        .filter(outbox_events::id.eq(id))
        .filter(outbox_events::status.eq("pending"))
        .filter(
            outbox_events::lease_until
                .gt(now)
                .or(outbox_events::next_attempt_at.le(now)),
        )
        .count()
        .get_result::<i64>(conn)?
        == 1)
}

/// The user's undelivered account-creation event, if any (the first sign-in waits for it).
pub fn pending_create(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<Option<i64>, StorageError> {
    Ok(outbox_events::table
        .filter(outbox_events::tenant_id.eq(tenant.0))
        .filter(outbox_events::user_id.eq(user.0))
        .filter(outbox_events::create_iwms.eq(true))
        .filter(outbox_events::status.eq("pending"))
        .select(outbox_events::id)
        .first(conn)
        .optional()?)
}

/// Deletes up to `batch` events delivered before `cutoff`, oldest first. The status is
/// literal SQL so that both backends see the partial index's predicate.
pub fn purge_delivered(
    conn: &mut DbConnection,
    cutoff: i64,
    batch: i64,
) -> Result<usize, StorageError> {
    let oldest: Vec<i64> = outbox_events::table
        .filter(diesel::dsl::sql::<Bool>(
            "outbox_events.status = 'delivered'",
        ))
        .filter(outbox_events::delivered_at.lt(cutoff))
        .order(outbox_events::delivered_at.asc())
        .select(outbox_events::id)
        .limit(batch)
        .load(conn)?;
    if oldest.is_empty() {
        return Ok(0);
    }
    // Delivered rows never change again, so the ids read above are still safe to delete.
    Ok(
        diesel::delete(outbox_events::table.filter(outbox_events::id.eq_any(&oldest)))
            .execute(conn)?,
    )
}

/// Events per status (`pending`, `delivered`, `dead`), and the creation time of the oldest
/// pending one: what the metrics report.
#[derive(Debug, Clone, Default)]
pub struct StateCounts {
    pub per_status: Vec<(String, i64)>,
    pub oldest_pending_created_at: Option<i64>,
}

pub fn state_counts(conn: &mut DbConnection) -> Result<StateCounts, StorageError> {
    let per_status: Vec<(String, i64)> = outbox_events::table
        .group_by(outbox_events::status)
        .select((outbox_events::status, diesel::dsl::count_star()))
        .load(conn)?;
    let oldest_pending_created_at: Option<i64> = outbox_events::table
        .filter(outbox_events::status.eq("pending"))
        .select(diesel::dsl::min(outbox_events::created_at))
        .first(conn)?;
    Ok(StateCounts {
        per_status,
        oldest_pending_created_at,
    })
}
