use diesel::prelude::*;

use super::error::corrupt;
use super::schema::tenants;
use super::{DbConnection, StorageError};
use crate::domain::ids::TenantId;
use crate::domain::iwms::{EventKind, IwmsFeed, JoinKey, SecretSource};
use crate::domain::return_to::AllowedOrigin;
use crate::domain::scim::user::IwmsSource;
use crate::domain::slug::Slug;
use crate::domain::tenant::Tenant;

#[derive(Queryable, Selectable)]
#[diesel(table_name = tenants)]
struct TenantRow {
    id: i64,
    slug: String,
    display_name: String,
    auto_create_users: bool,
    iwms_attribute: Option<String>,
    stale_after_days: i32,
    allowed_return_origins: String,
    created_at: i64,
    updated_at: i64,
    scim_iwms_attribute: Option<String>,
    auto_create_iwms: bool,
    iwms_endpoint: Option<String>,
    iwms_secret_source: Option<String>,
    iwms_events: String,
    iwms_join_key: Option<String>,
}

impl TryFrom<TenantRow> for Tenant {
    type Error = StorageError;
    fn try_from(r: TenantRow) -> Result<Self, StorageError> {
        let origins: Vec<String> = serde_json::from_str(&r.allowed_return_origins)
            .map_err(|e| corrupt("tenants.allowed_return_origins", e))?;
        Ok(Tenant {
            id: TenantId(r.id),
            slug: Slug::parse(&r.slug).map_err(|e| corrupt("tenants.slug", e))?,
            display_name: r.display_name,
            auto_create_users: r.auto_create_users,
            iwms_attribute: r.iwms_attribute,
            scim_iwms_attribute: r
                .scim_iwms_attribute
                .as_deref()
                .map(IwmsSource::parse)
                .transpose()
                .map_err(|e| corrupt("tenants.scim_iwms_attribute", e))?,
            iwms: IwmsFeed {
                auto_create: r.auto_create_iwms,
                endpoint: r.iwms_endpoint,
                secret: r
                    .iwms_secret_source
                    .as_deref()
                    .map(SecretSource::stored)
                    .transpose()
                    .map_err(|e| corrupt("tenants.iwms_secret_source", e))?,
                events: serde_json::from_str::<Vec<String>>(&r.iwms_events)
                    .map_err(|e| corrupt("tenants.iwms_events", e))?
                    .iter()
                    .map(|e| EventKind::parse(e).ok_or_else(|| corrupt("tenants.iwms_events", e)))
                    .collect::<Result<_, _>>()?,
                join_key: r
                    .iwms_join_key
                    .as_deref()
                    .map(JoinKey::parse)
                    .transpose()
                    .map_err(|e| corrupt("tenants.iwms_join_key", e))?
                    .flatten(),
            },
            stale_after_days: u32::try_from(r.stale_after_days)
                .map_err(|e| corrupt("tenants.stale_after_days", e))?,
            allowed_return_origins: origins
                .iter()
                .map(|o| AllowedOrigin::parse(o))
                .collect::<Result<_, _>>()
                .map_err(|e| corrupt("tenants.allowed_return_origins", e))?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// The settings an admin can set on a tenant.
#[derive(Debug, Clone)]
pub struct TenantFields {
    pub display_name: String,
    pub auto_create_users: bool,
    pub iwms_attribute: Option<String>,
    pub scim_iwms_attribute: Option<IwmsSource>,
    pub iwms: IwmsFeed,
    pub stale_after_days: u32,
    pub allowed_return_origins: Vec<AllowedOrigin>,
}

fn events_json(e: &[EventKind]) -> String {
    serde_json::to_string(&e.iter().map(|e| e.as_str()).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into())
}

fn origins_json(o: &[AllowedOrigin]) -> String {
    serde_json::to_string(&o.iter().map(AllowedOrigin::as_str).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into())
}

pub fn create(
    conn: &mut DbConnection,
    slug: &Slug,
    f: &TenantFields,
    now: i64,
) -> Result<Tenant, StorageError> {
    let res = diesel::insert_into(tenants::table)
        .values((
            tenants::slug.eq(slug.as_str()),
            tenants::display_name.eq(&f.display_name),
            tenants::auto_create_users.eq(f.auto_create_users),
            tenants::iwms_attribute.eq(&f.iwms_attribute),
            tenants::scim_iwms_attribute.eq(f.scim_iwms_attribute.map(|s| s.as_string())),
            tenants::auto_create_iwms.eq(f.iwms.auto_create),
            tenants::iwms_endpoint.eq(&f.iwms.endpoint),
            tenants::iwms_secret_source.eq(f.iwms.secret.as_ref().map(SecretSource::as_string)),
            tenants::iwms_events.eq(events_json(&f.iwms.events)),
            tenants::iwms_join_key.eq(f.iwms.join_key.map(JoinKey::as_str)),
            tenants::stale_after_days.eq(f.stale_after_days as i32),
            tenants::allowed_return_origins.eq(origins_json(&f.allowed_return_origins)),
            tenants::created_at.eq(now),
            tenants::updated_at.eq(now),
        ))
        .execute(conn);
    match res.map_err(StorageError::from) {
        Err(e) if e.is_unique_violation() => Err(StorageError::Conflict(format!(
            "tenant `{slug}` already exists"
        ))),
        Err(e) => Err(e),
        Ok(_) => find_by_slug(conn, slug)?.ok_or(StorageError::NotFound),
    }
}

pub fn update(
    conn: &mut DbConnection,
    id: TenantId,
    f: &TenantFields,
    now: i64,
) -> Result<(), StorageError> {
    diesel::update(tenants::table.filter(tenants::id.eq(id.0)))
        .set((
            tenants::display_name.eq(&f.display_name),
            tenants::auto_create_users.eq(f.auto_create_users),
            tenants::iwms_attribute.eq(&f.iwms_attribute),
            tenants::scim_iwms_attribute.eq(f.scim_iwms_attribute.map(|s| s.as_string())),
            tenants::auto_create_iwms.eq(f.iwms.auto_create),
            tenants::iwms_endpoint.eq(&f.iwms.endpoint),
            tenants::iwms_secret_source.eq(f.iwms.secret.as_ref().map(SecretSource::as_string)),
            tenants::iwms_events.eq(events_json(&f.iwms.events)),
            tenants::iwms_join_key.eq(f.iwms.join_key.map(JoinKey::as_str)),
            tenants::stale_after_days.eq(f.stale_after_days as i32),
            tenants::allowed_return_origins.eq(origins_json(&f.allowed_return_origins)),
            tenants::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find_by_slug(conn: &mut DbConnection, slug: &Slug) -> Result<Option<Tenant>, StorageError> {
    tenants::table
        .filter(tenants::slug.eq(slug.as_str()))
        .select(TenantRow::as_select())
        .first(conn)
        .optional()?
        .map(Tenant::try_from)
        .transpose()
}

pub fn get(conn: &mut DbConnection, id: TenantId) -> Result<Tenant, StorageError> {
    tenants::table
        .filter(tenants::id.eq(id.0))
        .select(TenantRow::as_select())
        .first(conn)?
        .try_into()
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<Tenant>, StorageError> {
    tenants::table
        .order(tenants::slug.asc())
        .select(TenantRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Tenant::try_from)
        .collect()
}
