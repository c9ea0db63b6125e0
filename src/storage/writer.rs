//! SQLite's write transactions, on one connection per database file: SQLite lets one writer
//! in at a time anyway, and a connection that only this process's writes change keeps its page
//! cache. (A pooled connection's cache is emptied whenever another connection has written, so
//! each write transaction on a pooled connection began by reading its pages again.) Beside
//! each writer, a thread checkpoints the WAL, so that commits do not.
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl, SqliteConnection};

use super::{DbConnection, StorageError};

/// Opens a SQLite connection to a file, set up as the pool's are.
pub(crate) type Open = fn(&str) -> Result<SqliteConnection, StorageError>;

/// The writer connection of one database file.
pub(crate) struct WriterConn {
    conn: Mutex<DbConnection>,
    file: String,
    open: Open,
}

pub(crate) type Writer = Arc<WriterConn>;

/// The writers of this process by database file (as SQLite names it), held by the pools
/// that use them: a writer closes with the last pool on its file.
static WRITERS: Mutex<Option<HashMap<String, Weak<WriterConn>>>> = Mutex::new(None);

#[derive(QueryableByName)]
struct MainFile {
    #[diesel(sql_type = Text)]
    file: String,
}

/// The file behind a connection's main database (empty for an in-memory one).
fn main_file(conn: &mut SqliteConnection) -> Result<String, StorageError> {
    Ok(
        diesel::sql_query("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .get_result::<MainFile>(conn)?
            .file,
    )
}

/// The writer of the file at `path`, opened if this process has none: the pool keeps it.
/// None for an in-memory database (each of its connections is its own database).
pub(crate) fn for_file(path: &str, open: Open) -> Result<Option<Writer>, StorageError> {
    let mut conn = open(path)?;
    let file = main_file(&mut conn)?;
    if file.is_empty() {
        return Ok(None);
    }
    let mut writers = WRITERS.lock().unwrap_or_else(PoisonError::into_inner);
    let writers = writers.get_or_insert_with(HashMap::new);
    writers.retain(|_, w| w.strong_count() > 0);
    if let Some(w) = writers.get(&file).and_then(Weak::upgrade) {
        return Ok(Some(w));
    }
    let w = Arc::new(WriterConn {
        conn: Mutex::new(DbConnection::Sqlite(conn)),
        file: file.clone(),
        open,
    });
    writers.insert(file.clone(), Arc::downgrade(&w));
    checkpoint_beside(Arc::downgrade(&w), file, open);
    Ok(Some(w))
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Copies the WAL back into the database file from a thread of its own, every 100 ms while
/// the writer lives, so that commits do not: SQLite's automatic checkpoint runs inside the
/// commit that crosses `wal_autocheckpoint` pages, with the writer held, and was most of a
/// sign-in's commit time. A passive checkpoint neither waits for nor blocks the writer. The
/// connections' own `wal_autocheckpoint` (10,000 pages) stays as the bound should this thread
/// fall behind.
fn checkpoint_beside(writer: Weak<WriterConn>, file: String, open: Open) {
    let spawned = std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            let mut conn = match open(&file) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot open the WAL checkpoint connection; commits will checkpoint");
                    return;
                }
            };
            loop {
                std::thread::sleep(CHECKPOINT_EVERY);
                if writer.strong_count() == 0 {
                    return;
                }
                if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
                    tracing::debug!(error = %e, "WAL checkpoint failed; the next one retries");
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the WAL checkpoint thread; commits will checkpoint");
    }
}

/// The writer of the file `conn` is on, if a pool opened one.
pub(crate) fn of(conn: &mut DbConnection) -> Result<Option<Writer>, StorageError> {
    let DbConnection::Sqlite(c) = conn else {
        return Ok(None);
    };
    let file = main_file(c)?;
    let writers = WRITERS.lock().unwrap_or_else(PoisonError::into_inner);
    Ok(writers
        .as_ref()
        .and_then(|w| w.get(&file))
        .and_then(Weak::upgrade))
}

/// Runs `f` with the writer to itself. A writer whose last user panicked may have been left
/// inside a transaction: it is replaced by a new connection to the same file.
pub(crate) fn with<T>(
    writer: &Writer,
    f: impl FnOnce(&mut DbConnection) -> T,
) -> Result<T, StorageError> {
    let mut guard = match writer.conn.lock() {
        Ok(g) => g,
        Err(poisoned) => {
            let mut g = poisoned.into_inner();
            *g = DbConnection::Sqlite((writer.open)(&writer.file)?);
            writer.conn.clear_poison();
            g
        }
    };
    Ok(f(&mut guard))
}
