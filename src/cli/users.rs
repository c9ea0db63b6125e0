//! `ssogate user list|show` and `ssogate sign-ins`: the users wing's views
//! (`service::admin::users`), rendered as the CLI always printed them.
use clap::ValueEnum;
use clap::builder::PossibleValue;
use serde::Serialize;
use serde_json::Value;

use super::args::UserCmd;
use super::output::{emit, json, opt, table, when};
use crate::domain::audit::Actor;
use crate::domain::user::UserViewKind;
use crate::service::admin::users::{
    self as admin_users, MAX_LIMIT, RefusalCountItem, RefusalCountQuery, SignInItem, SignInQuery,
    UserDetailView, UserView,
};
use crate::service::admin::{self, AdminError};
use crate::storage::DbConnection;

impl ValueEnum for UserViewKind {
    fn value_variants<'a>() -> &'a [Self] {
        &UserViewKind::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.as_str()))
    }
}

/// How many sign-in attempts `user show` lists.
const SHOWN_SIGN_INS: usize = 50;
/// The most attempts and counts `sign-ins` prints.
const MAX_SIGN_INS: i64 = 1000;

pub fn run(conn: &mut DbConnection, cmd: UserCmd, now: i64) -> anyhow::Result<()> {
    match cmd {
        UserCmd::Create {
            tenant,
            email,
            first_name,
            last_name,
            iwms_id,
            json: j,
        } => {
            let t = admin::tenant_by_slug(conn, &tenant)?;
            let input = admin_users::NewUserInput {
                email,
                first_name,
                last_name,
                iwms_id,
            };
            let u = admin_users::create_user(conn, &t, &input, &Actor::Cli, now)?;
            changed(&u, "created", j)
        }
        UserCmd::Deactivate {
            tenant,
            user,
            json: j,
        } => {
            let t = admin::tenant_by_slug(conn, &tenant)?;
            let id = admin_users::find_user(conn, &t, &user)?;
            let u = admin_users::deactivate_user(conn, &t, id, &Actor::Cli, now)?;
            changed(&u, "deactivated (sessions ended)", j)
        }
        UserCmd::Reactivate {
            tenant,
            user,
            json: j,
        } => {
            let t = admin::tenant_by_slug(conn, &tenant)?;
            let id = admin_users::find_user(conn, &t, &user)?;
            let u = admin_users::reactivate_user(conn, &t, id, &Actor::Cli, now)?;
            changed(&u, "reactivated", j)
        }
        UserCmd::Unlink {
            tenant,
            user,
            identity,
        } => {
            let t = admin::tenant_by_slug(conn, &tenant)?;
            let id = admin_users::find_user(conn, &t, &user)?;
            admin_users::unlink_identity(conn, &t, id, identity, &Actor::Cli, now)?;
            emit(&format!("identity {identity} unlinked from user {id}"));
            Ok(())
        }
        UserCmd::Link {
            tenant,
            user,
            attempt,
            connection,
            subject,
            replace,
            json: j,
        } => super::workbench::link(
            conn,
            (tenant.as_str(), user.as_str()),
            attempt,
            (connection, subject),
            replace,
            j,
            now,
        ),
        UserCmd::List {
            tenant,
            status,
            limit,
            offset,
            json: j,
        } => {
            let t = admin::tenant_by_slug(conn, &tenant)?;
            let list = admin_users::list_users_by_offset(conn, &t, status, limit, offset)?;
            if j {
                return json(&list);
            }
            print_users(&list);
            Ok(())
        }
        UserCmd::Show {
            tenant,
            user,
            json: j,
        } => {
            let t = admin::tenant_by_slug(conn, &tenant)?;
            let id = admin_users::find_user(conn, &t, &user)?;
            let d = admin_users::user_detail(conn, &t, id)?;
            let shown = ShownUser {
                identities: d
                    .identities
                    .iter()
                    .map(|i| ShownIdentity {
                        connection_id: i.connection_id,
                        subject: &i.subject,
                        created_at: i.created_at,
                        last_used_at: i.last_used_at,
                    })
                    .collect(),
                groups: &d.groups,
                timeline: d
                    .events()
                    .map(|(e, _)| ShownEvent {
                        kind: &e.kind,
                        detail: &e.detail,
                        created_at: e.at,
                    })
                    .collect(),
                sign_ins: d
                    .sign_ins()
                    .rev()
                    .take(SHOWN_SIGN_INS)
                    .map(ShownAttempt::from)
                    .collect(),
                user: &d.user.user,
            };
            if j {
                return json(&shown);
            }
            print_user(&d);
            Ok(())
        }
    }
}

/// `user show` for people: the record, its identities (with the ids `user unlink` takes),
/// groups and roles, the lifecycle events and the newest sign-in attempts.
fn print_user(d: &UserDetailView) {
    let u = &d.user.user;
    let list = |l: &[String]| {
        if l.is_empty() {
            "-".to_owned()
        } else {
            l.join(", ")
        }
    };
    let rows = [
        ("id", u.id.to_string()),
        ("email", u.email.clone()),
        ("first name", opt(&u.first_name)),
        ("last name", opt(&u.last_name)),
        ("IWMS ID", opt(&u.iwms_id)),
        ("status", u.status.to_owned()),
        (
            "stale",
            match u.stale_since {
                Some(since) => format!("yes, since {}", when(Some(since))),
                None => "no".into(),
            },
        ),
        ("created via", u.created_via.clone()),
        ("created", when(Some(u.created_at))),
        ("last sign-in", when(u.last_login_at)),
        ("groups", list(&d.groups)),
        ("roles", list(&d.roles)),
    ];
    for (label, value) in rows {
        emit(&format!("{:<14}{value}", format!("{label}:")));
    }
    emit("");
    if d.identities.is_empty() {
        emit("No linked identities.");
    } else {
        table(
            &["IDENTITY", "CONNECTION", "SUBJECT", "LINKED", "LAST USED"],
            d.identities
                .iter()
                .map(|i| {
                    vec![
                        i.id.to_string(),
                        i.connection.clone(),
                        i.subject.clone(),
                        when(Some(i.created_at)),
                        when(Some(i.last_used_at)),
                    ]
                })
                .collect(),
        );
    }
    emit("");
    table(
        &["WHEN", "EVENT"],
        d.events()
            .map(|(e, _)| vec![when(Some(e.at)), e.summary.clone()])
            .collect(),
    );
    let attempts: Vec<&SignInItem> = d.sign_ins().rev().take(SHOWN_SIGN_INS).collect();
    emit("");
    if attempts.is_empty() {
        emit("No sign-in attempts.");
    } else {
        table(
            &["SIGN-IN", "OUTCOME", "REASON", "CONNECTION"],
            attempts
                .iter()
                .map(|a| {
                    vec![
                        when(Some(a.at)),
                        a.outcome.clone(),
                        a.reason.clone(),
                        opt(&a.connection),
                    ]
                })
                .collect(),
        );
    }
}

fn print_users(list: &[UserView]) {
    table(
        &[
            "ID",
            "EMAIL",
            "FIRST",
            "LAST",
            "IWMS ID",
            "STATUS",
            "STALE",
            "LAST SIGN-IN",
        ],
        list.iter()
            .map(|u| {
                vec![
                    u.id.to_string(),
                    u.email.clone(),
                    opt(&u.first_name),
                    opt(&u.last_name),
                    opt(&u.iwms_id),
                    u.status.to_owned(),
                    (if u.stale { "yes" } else { "no" }).into(),
                    when(u.last_login_at),
                ]
            })
            .collect(),
    );
}

// `user show --json`: the detail view under the CLI's own names (fields in this order).
#[derive(Serialize)]
struct ShownUser<'a> {
    user: &'a UserView,
    identities: Vec<ShownIdentity<'a>>,
    groups: &'a [String],
    timeline: Vec<ShownEvent<'a>>,
    sign_ins: Vec<ShownAttempt>,
}

#[derive(Serialize)]
struct ShownIdentity<'a> {
    connection_id: i64,
    subject: &'a str,
    created_at: i64,
    last_used_at: i64,
}

#[derive(Serialize)]
struct ShownEvent<'a> {
    kind: &'a str,
    detail: &'a Value,
    created_at: i64,
}

#[derive(Serialize)]
struct ShownAttempt {
    id: i64,
    connection_id: Option<i64>,
    user_id: Option<i64>,
    outcome: String,
    reason: String,
    detail: String,
    subject: Option<String>,
    email: Option<String>,
    created_at: i64,
}

impl From<&SignInItem> for ShownAttempt {
    fn from(a: &SignInItem) -> Self {
        ShownAttempt {
            id: a.id,
            connection_id: a.connection_id,
            user_id: a.user_id,
            outcome: a.outcome.clone(),
            reason: a.reason.clone(),
            detail: a.detail.clone(),
            subject: a.subject.clone(),
            email: a.asserted_email.clone(),
            created_at: a.at,
        }
    }
}

#[derive(Serialize)]
struct ShownCount<'a> {
    id: i64,
    connection: &'a str,
    reason: &'a str,
    hour_start: i64,
    refusals: i64,
    last_at: i64,
    detail: &'a str,
}

impl<'a> From<&'a RefusalCountItem> for ShownCount<'a> {
    fn from(c: &'a RefusalCountItem) -> Self {
        ShownCount {
            id: c.id,
            connection: &c.connection,
            reason: &c.reason,
            hour_start: c.hour,
            refusals: c.count,
            last_at: c.last_at,
            detail: &c.detail,
        }
    }
}

/// The newest `limit` of a history, read page by page (a page holds at most [`MAX_LIMIT`]).
fn newest<T>(
    limit: i64,
    mut page: impl FnMut(i64, Option<i64>) -> Result<(Vec<T>, Option<i64>), AdminError>,
) -> Result<Vec<T>, AdminError> {
    let mut out = Vec::new();
    let mut before = None;
    loop {
        let want = (limit - out.len() as i64).min(MAX_LIMIT);
        let (items, next) = page(want, before)?;
        out.extend(items);
        match next {
            Some(n) if (out.len() as i64) < limit => before = Some(n),
            _ => return Ok(out),
        }
    }
}

/// `ssogate sign-ins`: the newest attempts and counted refusals of the tenant.
pub fn sign_ins(
    conn: &mut DbConnection,
    tenant: &str,
    limit: i64,
    as_json: bool,
) -> anyhow::Result<()> {
    let t = admin::tenant_by_slug(conn, tenant)?;
    let limit = limit.clamp(1, MAX_SIGN_INS);
    let list = newest(limit, |limit, before| {
        let q = SignInQuery {
            limit,
            before,
            ..Default::default()
        };
        admin_users::sign_ins(conn, &t, &q).map(|p| (p.items, p.next_before))
    })?;
    let counted = newest(limit, |limit, before| {
        let q = RefusalCountQuery {
            limit,
            before,
            ..Default::default()
        };
        admin_users::refusal_counts(conn, &t, &q).map(|p| (p.items, p.next_before))
    })?;
    if as_json {
        let attempts: Vec<ShownAttempt> = list.iter().map(ShownAttempt::from).collect();
        let counts: Vec<ShownCount> = counted.iter().map(ShownCount::from).collect();
        return json(&serde_json::json!({
            "attempts": attempts,
            "counted_refusals": counts,
        }));
    }
    table(
        &["TIME", "OUTCOME", "REASON", "USER", "EMAIL", "DETAIL"],
        list.iter()
            .map(|a| {
                vec![
                    when(Some(a.at)),
                    a.outcome.clone(),
                    a.reason.clone(),
                    a.user_id.map(|u| u.to_string()).unwrap_or("-".into()),
                    opt(&a.asserted_email),
                    a.detail.clone(),
                ]
            })
            .collect(),
    );
    if !counted.is_empty() {
        emit("");
        emit("Refusals counted per hour (no valid signature, no sign-in of the browser):");
        table(
            &[
                "HOUR",
                "CONNECTION",
                "REASON",
                "COUNT",
                "LAST",
                "LAST DETAIL",
            ],
            counted
                .iter()
                .map(|c| {
                    vec![
                        when(Some(c.hour)),
                        c.connection.clone(),
                        c.reason.clone(),
                        c.count.to_string(),
                        when(Some(c.last_at)),
                        c.detail.clone(),
                    ]
                })
                .collect(),
        );
    }
    Ok(())
}

/// What a lifecycle command prints: the user's list item as JSON, or one line.
fn changed(u: &admin_users::UserListItem, what: &str, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return json(u);
    }
    emit(&format!("user {} ({}) {what}", u.user.id, u.user.email));
    Ok(())
}
