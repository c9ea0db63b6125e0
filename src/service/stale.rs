//! Flagging accounts that stopped signing in. Flagging changes nothing but the flag (and the
//! timeline); the next successful sign-in clears it.

use crate::domain::staleness;
use crate::domain::user_event::UserEvent;
use crate::service::outbox;
use crate::storage::{self, DbConnection, StorageError, tenants, users};

#[derive(Debug, Clone, serde::Serialize)]
pub struct TenantFlagged {
    pub tenant: String,
    pub stale_after_days: u32,
    pub flagged: usize,
}

pub fn flag_all(conn: &mut DbConnection, now: i64) -> Result<Vec<TenantFlagged>, StorageError> {
    let mut out = Vec::new();
    for t in tenants::list(conn)? {
        let cutoff = staleness::cutoff(now, t.stale_after_days);
        let flagged = storage::transaction(conn, |c| {
            let mut n = 0;
            for id in users::stale_candidates(c, t.id, cutoff)? {
                if users::flag_stale(c, t.id, id, cutoff, now)? {
                    outbox::record(
                        c,
                        &t,
                        id,
                        &UserEvent::StaleFlagged {
                            stale_after_days: Some(u64::from(t.stale_after_days)),
                        },
                        now,
                    )?;
                    n += 1;
                }
            }
            Ok(n)
        })?;
        out.push(TenantFlagged {
            tenant: t.slug.to_string(),
            stale_after_days: t.stale_after_days,
            flagged,
        });
    }
    Ok(out)
}
