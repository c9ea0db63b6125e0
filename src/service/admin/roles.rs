//! Roles: the tenant's rules mapping groups to roles, and the roles an admin sets by hand
//! on a user. Each change is audited in its transaction and recomputes the roles it touches
//! (the timeline gets `role_added` / `role_removed`).
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::audit::{self, Change};
use super::{AdminError, invalid};
use crate::domain::audit::{Actor as AuditActor, AuditAction};
use crate::domain::ids::UserId;
use crate::domain::roles::{
    MAX_MANUAL_ROLES, MAX_RULES, RoleName, RoleRule, RoleSource, usable_group_name,
};
use crate::domain::tenant::Tenant;
use crate::domain::user_event::Actor;
use crate::service::roles as sync;
use crate::storage::roles::{self as store, StoredRule};
use crate::storage::{self, DbConnection, StorageError, users};

/// Members of `group` (from the IdP or SCIM; matched case-insensitively) get `role`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoleRuleView {
    pub id: i64,
    #[schema(example = "Managers")]
    pub group: String,
    #[schema(example = "manager")]
    pub role: String,
    pub created_at: i64,
}

impl From<StoredRule> for RoleRuleView {
    fn from(r: StoredRule) -> Self {
        RoleRuleView {
            id: r.id,
            group: r.rule.group,
            role: r.rule.role.to_string(),
            created_at: r.created_at,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRuleInput {
    /// A group name as the IdP or SCIM sends it (for Entra ID usually the group's object id).
    #[schema(example = "Managers")]
    pub group: String,
    /// Letters, digits and `. _ : -`, at most 64.
    #[schema(example = "manager")]
    pub role: String,
}

pub fn list_rules(conn: &mut DbConnection, t: &Tenant) -> Result<Vec<RoleRuleView>, AdminError> {
    Ok(store::rules(conn, t.id)?
        .into_iter()
        .map(RoleRuleView::from)
        .collect())
}

fn admin_actor(who: &AuditActor) -> Actor {
    Actor::admin(&who.label())
}

/// Adds a rule and recomputes the roles of every user with a group. `Conflict` when the same
/// rule exists.
pub fn add_rule(
    conn: &mut DbConnection,
    t: &Tenant,
    input: &RoleRuleInput,
    who: &AuditActor,
    now: i64,
) -> Result<RoleRuleView, AdminError> {
    let group = usable_group_name(&input.group)
        .ok_or_else(|| {
            invalid(
                "group",
                "must be 1-256 characters without commas or control characters",
            )
        })?
        .to_owned();
    let role = RoleName::parse(&input.role).map_err(|e| invalid("role", e))?;
    let rule = RoleRule { group, role };
    storage::transaction_with(conn, |c| {
        if store::rule_exists(c, t.id, &rule)? {
            return Err(AdminError::Conflict(format!(
                "group `{}` already gives role `{}`",
                rule.group, rule.role
            )));
        }
        if store::rules(c, t.id)?.len() >= MAX_RULES {
            return Err(invalid(
                "role",
                format!("a tenant has at most {MAX_RULES} rules"),
            ));
        }
        let id = store::insert_rule(c, t.id, &rule, now)?;
        let view = RoleRuleView {
            id,
            group: rule.group.clone(),
            role: rule.role.to_string(),
            created_at: now,
        };
        let change = Change {
            action: AuditAction::RoleRuleAdded,
            target: &format!("{} → {}", rule.group, rule.role),
            before: None,
            after: audit::snapshot(&view),
        };
        audit::record(c, Some(t.id), who, change, now)?;
        sync::recompute_tenant(c, t, &admin_actor(who), now)?;
        Ok(view)
    })
}

/// Removes a rule and recomputes: the roles it gave are removed (unless set by hand).
pub fn remove_rule(
    conn: &mut DbConnection,
    t: &Tenant,
    id: i64,
    who: &AuditActor,
    now: i64,
) -> Result<RoleRuleView, AdminError> {
    storage::transaction_with(conn, |c| {
        let Some(view) = store::rules(c, t.id)?
            .into_iter()
            .find(|r| r.id == id)
            .map(RoleRuleView::from)
        else {
            return Err(AdminError::NotFound(format!("role rule {id}")));
        };
        store::delete_rule(c, t.id, id)?;
        let change = Change {
            action: AuditAction::RoleRuleRemoved,
            target: &format!("{} → {}", view.group, view.role),
            before: audit::snapshot(&view),
            after: None,
        };
        audit::record(c, Some(t.id), who, change, now)?;
        sync::recompute_tenant(c, t, &admin_actor(who), now)?;
        Ok(view)
    })
}

/// One role of a user and where it comes from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserRole {
    pub role: String,
    /// `idp` (a group of the last sign-in), `scim` (a SCIM group) or `manual` (set by hand).
    pub source: String,
}

/// A user's groups and roles as the app sees them, and where each role comes from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserRolesView {
    pub user_id: i64,
    /// The groups of the last sign-in and the SCIM groups, sorted.
    pub groups: Vec<String>,
    /// Every role, once, sorted: what `X-Auth-Request-Roles` carries.
    pub roles: Vec<String>,
    /// The roles set by hand (kept whatever the groups say).
    pub manual: Vec<String>,
    pub sources: Vec<UserRole>,
}

fn user_exists(c: &mut DbConnection, t: &Tenant, id: i64) -> Result<UserId, AdminError> {
    match users::get(c, t.id, UserId(id)) {
        Ok(u) => Ok(u.id),
        Err(StorageError::NotFound) => Err(AdminError::NotFound(format!(
            "user {id} in tenant `{}`",
            t.slug
        ))),
        Err(e) => Err(e.into()),
    }
}

fn view(c: &mut DbConnection, t: &Tenant, user: UserId) -> Result<UserRolesView, StorageError> {
    let computed = store::computed(c, t.id, user)?;
    let rows = sync::of_user(c, t, user)?;
    Ok(UserRolesView {
        user_id: user.0,
        groups: computed.groups,
        roles: computed.roles,
        manual: rows
            .iter()
            .filter(|(_, s)| *s == RoleSource::Manual)
            .map(|(r, _)| r.clone())
            .collect(),
        sources: rows
            .into_iter()
            .map(|(role, s)| UserRole {
                role,
                source: s.as_str().to_owned(),
            })
            .collect(),
    })
}

pub fn user_roles(
    conn: &mut DbConnection,
    t: &Tenant,
    user_id: i64,
) -> Result<UserRolesView, AdminError> {
    let id = user_exists(conn, t, user_id)?;
    Ok(view(conn, t, id)?)
}

/// The roles an admin sets by hand; they replace the user's current hand-set roles.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualRolesInput {
    #[schema(example = json!(["employee", "manager"]))]
    pub roles: Vec<String>,
}

/// Checks role names: each valid, at most [`MAX_MANUAL_ROLES`] (duplicates count once).
pub fn parse_roles(raw: &[String]) -> Result<Vec<RoleName>, AdminError> {
    let mut roles = raw
        .iter()
        .map(|r| RoleName::parse(r).map_err(|e| invalid("roles", e)))
        .collect::<Result<Vec<_>, _>>()?;
    roles.sort();
    roles.dedup();
    if roles.len() > MAX_MANUAL_ROLES {
        return Err(invalid(
            "roles",
            format!("at most {MAX_MANUAL_ROLES} roles set by hand"),
        ));
    }
    Ok(roles)
}

/// Sets the hand-set roles of a user inside the caller's transaction (the provisioning
/// workbench applies several actions in one): the timeline gets each added and removed
/// role, the audit trail one `user.roles_set` entry. The roles from groups are untouched.
pub fn set_manual(
    conn: &mut DbConnection,
    t: &Tenant,
    user: UserId,
    roles: &[RoleName],
    who: &AuditActor,
    now: i64,
) -> Result<(), StorageError> {
    let before = view(conn, t, user)?;
    let email = users::get(conn, t.id, user)?.email.to_string();
    sync::set_manual(conn, t, user, roles, &admin_actor(who), now)?;
    let after = view(conn, t, user)?;
    let change = Change {
        action: AuditAction::UserRolesSet,
        target: &email,
        before: audit::snapshot(&before),
        after: audit::snapshot(&after),
    };
    audit::record(conn, Some(t.id), who, change, now)
}

/// [`set_manual`] in its own transaction, for the API, console and CLI.
pub fn set_user_roles(
    conn: &mut DbConnection,
    t: &Tenant,
    user_id: i64,
    input: &ManualRolesInput,
    who: &AuditActor,
    now: i64,
) -> Result<UserRolesView, AdminError> {
    let roles = parse_roles(&input.roles)?;
    storage::transaction_with(conn, |c| {
        let id = user_exists(c, t, user_id)?;
        users::lock(c, t.id, id)?;
        set_manual(c, t, id, &roles, who, now)?;
        Ok(view(c, t, id)?)
    })
}
