//! `role`: rules mapping groups to roles, and roles set by hand on a user.
use super::args::RoleCmd;
use super::output::{emit, json, table};
use crate::domain::audit::Actor;
use crate::service::admin::roles::{self, ManualRolesInput, RoleRuleInput, UserRolesView};
use crate::service::admin::{self, users as admin_users};
use crate::storage::DbConnection;

fn print_user(v: &UserRolesView, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return json(v);
    }
    emit(&format!("groups: {}", v.groups.join(", ")));
    emit(&format!("roles:  {}", v.roles.join(", ")));
    table(
        &["ROLE", "SOURCE"],
        v.sources
            .iter()
            .map(|r| vec![r.role.clone(), r.source.clone()])
            .collect(),
    );
    Ok(())
}

pub(super) fn run(conn: &mut DbConnection, cmd: RoleCmd, now: i64) -> anyhow::Result<()> {
    match cmd {
        RoleCmd::Rules { tenant, json: j } => {
            let t = admin::tenant_by_slug(conn, &tenant)?;
            let rules = roles::list_rules(conn, &t)?;
            if j {
                return json(&rules);
            }
            table(
                &["ID", "GROUP", "ROLE"],
                rules
                    .into_iter()
                    .map(|r| vec![r.id.to_string(), r.group, r.role])
                    .collect(),
            );
            Ok(())
        }
        RoleCmd::AddRule {
            tenant,
            group,
            role,
            json: j,
        } => {
            let t = admin::tenant_by_slug(conn, &tenant)?;
            let r = roles::add_rule(conn, &t, &RoleRuleInput { group, role }, &Actor::Cli, now)?;
            if j {
                return json(&r);
            }
            emit(&format!(
                "rule {}: members of {} get role {}",
                r.id, r.group, r.role
            ));
            Ok(())
        }
        RoleCmd::RemoveRule { tenant, id } => {
            let t = admin::tenant_by_slug(conn, &tenant)?;
            let r = roles::remove_rule(conn, &t, id, &Actor::Cli, now)?;
            emit(&format!("rule {} removed ({} → {})", r.id, r.group, r.role));
            Ok(())
        }
        RoleCmd::Show {
            tenant,
            user,
            json: j,
        } => {
            let t = admin::tenant_by_slug(conn, &tenant)?;
            let id = admin_users::find_user(conn, &t, &user)?;
            print_user(&roles::user_roles(conn, &t, id)?, j)
        }
        RoleCmd::Set {
            tenant,
            user,
            roles: wanted,
            json: j,
        } => {
            let t = admin::tenant_by_slug(conn, &tenant)?;
            let id = admin_users::find_user(conn, &t, &user)?;
            let input = ManualRolesInput { roles: wanted };
            print_user(
                &roles::set_user_roles(conn, &t, id, &input, &Actor::Cli, now)?,
                j,
            )
        }
    }
}
