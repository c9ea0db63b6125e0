//! Persistence: one schema, SQLite or PostgreSQL picked by the database URL.
pub mod admin;
pub mod audit;
pub mod connections;
pub mod domains;
mod error;
pub mod events;
pub mod identities;
pub mod login_attempts;
pub mod oidc;
pub mod outbox;
pub mod pending;
mod pool;
pub mod refusal_counts;
pub mod replay;
pub mod roles;
pub mod schema;
pub mod scim_filter;
pub mod scim_groups;
pub mod scim_tokens;
pub mod sessions;
pub mod sql;
pub mod tenants;
pub mod users;
pub mod workbench;
mod writer;

pub use error::StorageError;
pub use pool::{DbConnection, DbPool, MultiBackend, build_pool, init_tls, ping, run_migrations};

use diesel::connection::{AnsiTransactionManager, TransactionManager};

/// Runs blocking database work off the async executor; no connection is held across an await.
pub async fn block<T, E, F>(pool: &DbPool, f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<StorageError> + Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get().map_err(StorageError::from)?;
        f(&mut conn)
    })
    .await
    .map_err(|_| E::from(StorageError::Cancelled))?
}

/// [`block`] after `pre`, CPU work that needs no connection (a signature check), on the same
/// blocking thread: one hand-off instead of two, and no connection is held while `pre` runs.
pub async fn block_after<P, T, E, F>(
    pool: &DbPool,
    pre: impl FnOnce() -> P + Send + 'static,
    f: F,
) -> Result<T, E>
where
    P: Send + 'static,
    T: Send + 'static,
    E: From<StorageError> + Send + 'static,
    F: FnOnce(&mut DbConnection, P) -> Result<T, E> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let done = pre();
        let mut conn = pool.get().map_err(StorageError::from)?;
        f(&mut conn, done)
    })
    .await
    .map_err(|_| E::from(StorageError::Cancelled))?
}

/// Errors a transaction body may end with: storage errors, or a use case's own refusal
/// (which rolls back like any error).
pub trait TxError: From<StorageError> {
    fn is_retryable(&self) -> bool;
}

impl TxError for StorageError {
    fn is_retryable(&self) -> bool {
        StorageError::is_retryable(self)
    }
}

/// A transaction retried on lock contention and unique-key races, so that two concurrent
/// first sign-ins converge on one row instead of failing.
pub fn transaction<T, F>(conn: &mut DbConnection, f: F) -> Result<T, StorageError>
where
    F: FnMut(&mut DbConnection) -> Result<T, StorageError>,
{
    transaction_with(conn, f)
}

/// [`transaction`] for bodies with their own error type: any error rolls back.
pub fn transaction_with<T, E, F>(conn: &mut DbConnection, mut f: F) -> Result<T, E>
where
    E: TxError,
    F: FnMut(&mut DbConnection) -> Result<T, E>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match write_transaction(conn, &mut f) {
            Err(e) if e.is_retryable() && attempt < 12 => {
                let jitter = u64::from(crate::random::bytes::<1>()[0] % 8);
                std::thread::sleep(std::time::Duration::from_millis(2 * attempt + jitter));
            }
            other => return other,
        }
    }
}

/// Runs a tenant-scoped `SELECT … FOR UPDATE` (`$1` tenant, `$2` id) on PostgreSQL, so that
/// concurrent writers to one row apply one after the other until the transaction ends.
/// SQLite's BEGIN IMMEDIATE already serialises writers.
pub(crate) fn lock_row(
    conn: &mut DbConnection,
    select_for_update: &'static str,
    tenant: crate::domain::ids::TenantId,
    id: i64,
) -> Result<(), StorageError> {
    if let DbConnection::Pg(c) = conn {
        use diesel::RunQueryDsl;
        use diesel::sql_types::BigInt;
        diesel::sql_query(select_for_update)
            .bind::<BigInt, _>(tenant.0)
            .bind::<BigInt, _>(id)
            .execute(c)?;
    }
    Ok(())
}

/// Not reentrant: a write transaction never opens another. Serialises this process's writes
/// to a SQLite database no pool opened a writer for.
static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// SQLite has one writer at a time; queueing this process's writers on a mutex is fair and
/// prompt, where busy_timeout's back-off sleeps (up to 100 ms each) stretch the tail. Their
/// transactions run on the file's writer connection (`writer`), whose page cache stays warm.
fn write_transaction<T, E, F>(conn: &mut DbConnection, f: &mut F) -> Result<T, E>
where
    E: TxError,
    F: FnMut(&mut DbConnection) -> Result<T, E>,
{
    if !matches!(conn, DbConnection::Sqlite(_)) {
        return run_transaction(conn, f);
    }
    match writer::of(conn)? {
        Some(w) => writer::with(&w, |c| run_transaction(c, f))?,
        None => {
            let _writer = SQLITE_WRITER.lock().unwrap_or_else(|p| p.into_inner());
            run_transaction(conn, f)
        }
    }
}

/// SQLite write transactions start with BEGIN IMMEDIATE: a deferred transaction that reads
/// and then writes fails at once with SQLITE_BUSY when another writer committed meanwhile,
/// while IMMEDIATE queues behind it under busy_timeout.
fn run_transaction<T, E, F>(conn: &mut DbConnection, f: &mut F) -> Result<T, E>
where
    E: TxError,
    F: FnMut(&mut DbConnection) -> Result<T, E>,
{
    match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
                .map_err(StorageError::from)?
        }
        DbConnection::Pg(c) => {
            AnsiTransactionManager::begin_transaction(c).map_err(StorageError::from)?
        }
    }
    let end = |conn: &mut DbConnection, commit: bool| -> diesel::QueryResult<()> {
        match (conn, commit) {
            (DbConnection::Sqlite(c), true) => AnsiTransactionManager::commit_transaction(c),
            (DbConnection::Sqlite(c), false) => AnsiTransactionManager::rollback_transaction(c),
            (DbConnection::Pg(c), true) => AnsiTransactionManager::commit_transaction(c),
            (DbConnection::Pg(c), false) => AnsiTransactionManager::rollback_transaction(c),
        }
    };
    match f(conn) {
        Ok(v) => match end(conn, true) {
            Ok(()) => Ok(v),
            Err(e) => {
                let _ = end(conn, false);
                Err(StorageError::from(e).into())
            }
        },
        Err(e) => {
            end(conn, false).map_err(StorageError::from)?;
            Err(e)
        }
    }
}
