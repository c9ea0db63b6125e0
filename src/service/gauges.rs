//! What the metrics' gauges report, read from the database in one pass: the IWMS outbox per
//! state and its oldest pending event, users per tenant and view, and how many days each
//! SAML connection's IdP certificate has left. `jobs::metrics_refresh` runs it on a timer.
use crate::domain::connection::Protocol;
use crate::domain::user::UserViewKind;
use crate::protocol::saml::certificate;
use crate::storage::{self, DbConnection, StorageError, connections, outbox, tenants};

/// The outbox states always reported (0 when there are none).
pub const OUTBOX_STATES: [&str; 3] = ["pending", "delivered", "dead"];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gauges {
    /// Events per state, each of [`OUTBOX_STATES`].
    pub outbox: Vec<(&'static str, i64)>,
    /// Age of the oldest pending event in seconds, 0 when none is pending.
    pub oldest_pending_secs: i64,
    /// (tenant slug, view, users).
    pub users: Vec<(String, &'static str, i64)>,
    /// (tenant slug, connection slug, days until the IdP certificate expires; negative once
    /// it has). A connection with several certificates reports the one that lasts longest.
    pub certificate_days: Vec<(String, String, f64)>,
}

pub fn read(conn: &mut DbConnection, now: i64) -> Result<Gauges, StorageError> {
    let counts = outbox::state_counts(conn)?;
    let oldest = counts.oldest_pending_created_at;
    let outbox = OUTBOX_STATES
        .into_iter()
        .map(|state| {
            let n = counts
                .per_status
                .iter()
                .find(|(s, _)| s == state)
                .map_or(0, |(_, n)| *n);
            (state, n)
        })
        .collect();
    let mut g = Gauges {
        outbox,
        oldest_pending_secs: oldest.map_or(0, |t| (now - t).max(0)),
        ..Gauges::default()
    };
    for tenant in tenants::list(conn)? {
        let slug = tenant.slug.as_str().to_owned();
        let c = storage::users::count_views(conn, tenant.id)?;
        for (view, n) in [
            (UserViewKind::Active, c.active),
            (UserViewKind::Stale, c.stale),
            (UserViewKind::Deactivated, c.deactivated),
            (UserViewKind::Deprovisioned, c.deprovisioned),
            (UserViewKind::All, c.all),
        ] {
            g.users.push((slug.clone(), view.as_str(), n));
        }
        for connection in connections::list_active(conn, tenant.id)? {
            if connection.protocol != Protocol::Saml {
                continue;
            }
            let idp = connections::saml_settings(conn, tenant.id, connection.id)?;
            let latest = idp
                .idp_certificates
                .iter()
                .filter_map(|der| certificate::summary(der))
                .map(|s| s.not_after)
                .max();
            if let Some(not_after) = latest {
                g.certificate_days.push((
                    slug.clone(),
                    connection.slug.as_str().to_owned(),
                    (not_after - now) as f64 / 86_400.0,
                ));
            }
        }
    }
    Ok(g)
}
