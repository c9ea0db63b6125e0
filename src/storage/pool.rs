use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::{Connection, ConnectionError, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::StorageError;
use super::writer::Writer;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

pub type DbPool = r2d2::Pool<Manager>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct Manager {
    backend: Backend,
    target: String,
    /// SQLite: the file's writer connection, kept open while this pool lives.
    writer: Option<KeepWriter>,
}

#[derive(Clone)]
struct KeepWriter(#[allow(dead_code)] Writer);

impl std::fmt::Debug for KeepWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeepWriter")
    }
}

/// Initialises OpenSSL the way rust-openssl does (OPENSSL_INIT_NO_ATEXIT) before libpq
/// initialises it without that flag: OpenSSL's atexit cleanup would otherwise race threads
/// that still hold TLS connections to PostgreSQL when the process exits, and crash it.
/// Idempotent; called before any PostgreSQL connection is opened.
pub fn init_tls() {
    openssl::init();
}

impl Manager {
    /// `sqlite://path`, `sqlite:path` or a bare path pick SQLite; `postgres://` and
    /// `postgresql://` pick PostgreSQL.
    pub fn from_url(url: &str) -> Self {
        init_tls();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self {
                backend: Backend::Postgres,
                target: url.to_owned(),
                writer: None,
            }
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            Self {
                backend: Backend::Sqlite,
                target: path.to_owned(),
                writer: None,
            }
        }
    }
}

/// A SQLite connection set up as all of ours are. busy_timeout first: it makes writers queue
/// instead of failing at once. case_sensitive_like: LIKE behaves as on PostgreSQL (SCIM
/// caseExact filters). wal_autocheckpoint: a thread checkpoints every 100 ms
/// (`storage::writer`); a commit does only if the WAL outgrows 10,000 pages (40 MB) anyway.
fn sqlite_connection(path: &str) -> Result<SqliteConnection, r2d2::Error> {
    let mut c = SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
    c.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA case_sensitive_like = ON; PRAGMA wal_autocheckpoint = 10000;")
        .map_err(r2d2::Error::QueryError)?;
    Ok(c)
}

/// [`sqlite_connection`] for the writer (`storage::writer`).
fn open_sqlite(path: &str) -> Result<SqliteConnection, StorageError> {
    sqlite_connection(path).map_err(|e| StorageError::Open(e.to_string()))
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match self.backend {
            Backend::Sqlite => sqlite_connection(&self.target).map(DbConnection::Sqlite),
            // Every statement is planned with its parameters and the tables' current size.
            // A prepared statement's generic plan is made once per connection, often when the
            // tables are nearly empty, and kept until statistics change (never, where
            // autovacuum is off): sign-ins then walked the tenant's users through a
            // `(tenant_id, …)` index, ten times slower at 12,000 users (docs/benchmarks.md).
            Backend::Postgres => {
                let mut c =
                    PgConnection::establish(&self.target).map_err(r2d2::Error::ConnectionError)?;
                c.batch_execute("SET plan_cache_mode = force_custom_plan")
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Pg(c))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

pub fn build_pool(url: &str, size: u32) -> Result<DbPool, StorageError> {
    let mut manager = Manager::from_url(url);
    let backend = manager.backend;
    if backend == Backend::Sqlite
        && let Some(parent) = std::path::Path::new(&manager.target).parent()
        && !parent.as_os_str().is_empty()
        && !parent.exists()
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| StorageError::Open(format!("cannot create {}: {e}", parent.display())))?;
    }
    if backend == Backend::Sqlite {
        // WAL (readers beside the writer) is a property of the file: set it once, before the
        // pool opens its connections in parallel.
        let mut c = SqliteConnection::establish(&manager.target)?;
        c.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")
            .map_err(|e| StorageError::Open(format!("cannot enable WAL: {e}")))?;
        manager.writer = super::writer::for_file(&manager.target, open_sqlite)?.map(KeepWriter);
    }
    // Connections are opened on demand (min_idle 0): no background thread keeps reconnecting
    // to a database that went away, which also lets a process exit cleanly mid-outage.
    let pool = r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(std::time::Duration::from_secs(10))
        .build(manager)
        .map_err(|e| StorageError::Open(format!("cannot connect: {e}")))?;
    Ok(pool)
}

pub fn run_migrations(conn: &mut DbConnection) -> Result<usize, StorageError> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConnection::Pg(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    };
    applied.map_err(|e| StorageError::Migration(e.to_string()))
}

impl From<ConnectionError> for StorageError {
    fn from(e: ConnectionError) -> Self {
        StorageError::Open(e.to_string())
    }
}

/// A round trip to the database, for readiness checks.
pub fn ping(conn: &mut DbConnection) -> Result<(), StorageError> {
    use diesel::RunQueryDsl;
    diesel::sql_query("SELECT 1").execute(conn)?;
    Ok(())
}
