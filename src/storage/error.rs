use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid stored value in {column}: {reason}")]
    Corrupt {
        column: &'static str,
        reason: String,
    },
    #[error("database error")]
    Database(#[source] DieselError),
    #[error("could not get a database connection")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("cannot open the database: {0}")]
    Open(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("database work was cancelled")]
    Cancelled,
}

impl From<DieselError> for StorageError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => StorageError::NotFound,
            other => StorageError::Database(other),
        }
    }
}

impl StorageError {
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            StorageError::Database(DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }

    /// Lock contention (SQLite's BUSY after its timeout, PostgreSQL serialization failures)
    /// and unique races are worth one more try.
    pub fn is_retryable(&self) -> bool {
        match self {
            StorageError::Database(DieselError::DatabaseError(kind, info)) => {
                matches!(
                    kind,
                    DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::SerializationFailure
                ) || info.message().contains("database is locked")
            }
            _ => false,
        }
    }
}

pub(crate) fn corrupt(column: &'static str, reason: impl ToString) -> StorageError {
    StorageError::Corrupt {
        column,
        reason: reason.to_string(),
    }
}
