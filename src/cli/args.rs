//! The command line's arguments (clap derive types).
//!
//! One cohesive thing: the whole command-line contract in one place, so this file and
//! `ssogate --help` read the same; the commands themselves live beside it, one file per group.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::domain::user::UserViewKind;

#[derive(Debug, Parser)]
#[command(
    name = "ssogate",
    version,
    about = "Multi-tenant SSO gateway: SAML 2.0 and OpenID Connect sign-in with just-in-time provisioning, SCIM 2.0 provisioning, an IWMS feed, forward-auth for reverse proxies, and an admin console, API and CLI"
)]
pub struct Cli {
    /// Config file (default: config/default.toml when present). SSOGATE_SECTION__KEY variables override it.
    #[arg(long, global = true, env = "SSOGATE_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (applies pending migrations first).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage tenants (companies).
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// Manage a tenant's whitelisted email domains.
    #[command(subcommand)]
    Domain(DomainCmd),
    /// Manage a tenant's identity-provider connections.
    #[command(subcommand)]
    Connection(ConnectionCmd),
    /// A tenant's users: list, show, create, deactivate, link and unlink identities (there is
    /// no delete).
    #[command(subcommand)]
    User(UserCmd),
    /// The provisioning workbench: refused and new people, linked users, removed users, and
    /// actions applied together in one transaction.
    #[command(subcommand)]
    Workbench(WorkbenchCmd),
    /// Show a tenant's recent sign-in attempts, with reason codes, and the refusals counted
    /// per connection, reason and hour.
    SignIns {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Roles: the tenant's rules mapping groups to roles, and roles set by hand on a user.
    #[command(subcommand)]
    Role(RoleCmd),
    /// Inspect and retry the IWMS outbox.
    #[command(subcommand)]
    Outbox(OutboxCmd),
    /// Manage a tenant's SCIM bearer tokens (shown once, stored hashed).
    #[command(subcommand)]
    ScimToken(ScimTokenCmd),
    /// Console and API access: admin grants, the IdP admin role, API tokens, the bootstrap link.
    #[command(subcommand)]
    Admin(AdminCmd),
    /// The audit trail of admin changes (console, API, CLI), newest first; without --tenant,
    /// every tenant's and those that belong to none.
    Audit {
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Entries older than this id (`next_before` of the previous page).
        #[arg(long)]
        before: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Flag users whose last sign-in is older than their tenant's stale_after_days.
    FlagStale {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutboxStatus {
    Pending,
    Delivered,
    Dead,
    All,
}

#[derive(Debug, Subcommand)]
pub enum OutboxCmd {
    /// Recent IWMS events, newest first, with attempts and the last error.
    List {
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long, value_enum, default_value = "all")]
        status: OutboxStatus,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Put a dead event (or, with --all-dead, every dead event) back in the queue.
    Retry {
        /// The event id from `outbox list`.
        #[arg(required_unless_present = "all_dead", conflicts_with = "all_dead")]
        id: Option<i64>,
        #[arg(long)]
        all_dead: bool,
        /// With --all-dead: only this tenant's.
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScimTokenCmd {
    /// Create a token for the tenant's SCIM client; it is printed once.
    Create {
        #[arg(long)]
        tenant: String,
        /// What the token is for, e.g. "okta" (shown by list).
        #[arg(long, default_value = "scim")]
        label: String,
        #[arg(long)]
        json: bool,
    },
    /// List the tenant's tokens with their last use (never the tokens themselves).
    List {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by the id that create and list show.
    Revoke {
        #[arg(long)]
        tenant: String,
        id: i64,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

impl From<OnOff> for bool {
    fn from(v: OnOff) -> bool {
        matches!(v, OnOff::On)
    }
}

#[derive(Debug, Args)]
pub struct TenantFieldArgs {
    /// Display name shown on sign-in pages.
    #[arg(long)]
    pub name: Option<String>,
    /// Create users on their first sign-in.
    #[arg(long, value_enum)]
    pub auto_create_users: Option<OnOff>,
    /// The IdP attribute that carries the IWMS ID.
    #[arg(long)]
    pub iwms_attribute: Option<String>,
    /// The SCIM attribute that carries the IWMS ID (e.g. employeeNumber, externalId).
    #[arg(long)]
    pub scim_iwms_attribute: Option<String>,
    /// Create an IWMS account for new users without an IWMS ID (needs --auto-create-users on).
    #[arg(long, value_enum)]
    pub auto_create_iwms: Option<OnOff>,
    /// Where user events are POSTed (https; http only for loopback).
    #[arg(long)]
    pub iwms_endpoint: Option<String>,
    /// File holding the signing secret (read at every delivery; never stored).
    #[arg(long, conflicts_with = "iwms_secret_env")]
    pub iwms_secret_file: Option<PathBuf>,
    /// Environment variable holding the signing secret, in the server's environment.
    #[arg(long)]
    pub iwms_secret_env: Option<String>,
    /// Events to send: comma-separated (user.created, user.updated, user.deactivated,
    /// user.reactivated, user.flagged_stale, user.unflagged) or `all` (the default).
    #[arg(long)]
    pub iwms_events: Option<String>,
    /// The IWMS field a person is looked up by before an IWMS account is created:
    /// iwms_id, email, employee_number, user_name, or none (create without asking).
    #[arg(long)]
    pub iwms_join_key: Option<String>,
    /// Days without sign-in before a user is flagged stale (default 90).
    #[arg(long)]
    pub stale_after_days: Option<i64>,
    /// An origin (scheme://host[:port]) return_to may point at; repeatable.
    #[arg(long = "allowed-origin")]
    pub allowed_origins: Vec<String>,
    /// Attributes sent to apps as X-Auth-Request-* headers: comma-separated of department,
    /// title, employee-number, manager; "" sends none.
    #[arg(long)]
    pub forward_attributes: Option<String>,
}

/// The groups and directory attribute names of a connection; "" goes back to the defaults.
#[derive(Debug, Args)]
pub struct DirectoryArgs {
    /// The attribute / claim holding the user's groups (default: groups, and Entra ID's
    /// http://schemas.microsoft.com/ws/2008/06/identity/claims/groups).
    #[arg(long)]
    pub groups_attribute: Option<String>,
    #[arg(long)]
    pub department_attribute: Option<String>,
    #[arg(long)]
    pub title_attribute: Option<String>,
    #[arg(long)]
    pub employee_number_attribute: Option<String>,
    /// The attribute holding the manager's SCIM id or email.
    #[arg(long)]
    pub manager_attribute: Option<String>,
}

impl DirectoryArgs {
    pub fn patch(self) -> crate::service::admin::DirectoryPatch {
        crate::service::admin::DirectoryPatch {
            groups_attribute: self.groups_attribute.map(Some),
            department_attribute: self.department_attribute.map(Some),
            title_attribute: self.title_attribute.map(Some),
            employee_number_attribute: self.employee_number_attribute.map(Some),
            manager_attribute: self.manager_attribute.map(Some),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum TenantCmd {
    /// Create a tenant.
    Create {
        slug: String,
        #[command(flatten)]
        fields: TenantFieldArgs,
        #[arg(long)]
        json: bool,
    },
    /// List tenants.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one tenant with its domains and connections.
    Show {
        slug: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a tenant's settings; options not given keep their value.
    Update {
        slug: String,
        #[command(flatten)]
        fields: TenantFieldArgs,
        /// Remove the IWMS attribute.
        #[arg(long, conflicts_with = "iwms_attribute")]
        clear_iwms_attribute: bool,
        /// Stop the IWMS feed (endpoint, secret and account creation).
        #[arg(long, conflicts_with_all = ["iwms_endpoint", "auto_create_iwms"])]
        clear_iwms: bool,
        /// Stop reading the IWMS ID from SCIM.
        #[arg(long, conflicts_with = "scim_iwms_attribute")]
        clear_scim_iwms_attribute: bool,
        /// Remove every allowed return_to origin.
        #[arg(long, conflicts_with = "allowed_origins")]
        clear_allowed_origins: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RoleCmd {
    /// List the tenant's role rules (group → role).
    Rules {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        json: bool,
    },
    /// Members of GROUP (IdP groups attribute or SCIM group; case-insensitive) get ROLE.
    AddRule {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        group: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove a rule (its id from `role rules`); the roles it gave are removed.
    RemoveRule {
        #[arg(long)]
        tenant: String,
        id: i64,
    },
    /// Show a user's (by email or id) groups and roles, with each role's source.
    Show {
        #[arg(long)]
        tenant: String,
        user: String,
        #[arg(long)]
        json: bool,
    },
    /// Replace the roles set by hand on a user (kept whatever the groups say); no --role
    /// clears them.
    Set {
        #[arg(long)]
        tenant: String,
        user: String,
        /// A role; repeatable or comma-separated.
        #[arg(long = "role", value_delimiter = ',')]
        roles: Vec<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DomainCmd {
    /// Whitelist an email domain for a tenant (a domain belongs to at most one tenant).
    Add {
        tenant: String,
        domain: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove a whitelisted domain.
    Remove { tenant: String, domain: String },
    /// List whitelisted domains.
    List {
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct AddSamlArgs {
    #[arg(long)]
    pub tenant: String,
    /// Connection slug, used in the ACS and metadata URLs.
    #[arg(long)]
    pub slug: String,
    #[arg(long)]
    pub name: Option<String>,
    /// IdP metadata XML file.
    #[arg(long, conflicts_with_all = ["metadata_url", "entity_id"])]
    pub metadata_file: Option<PathBuf>,
    /// IdP metadata URL (fetched once now; http(s)).
    #[arg(long, conflicts_with = "entity_id")]
    pub metadata_url: Option<String>,
    /// IdP entity ID (with --sso-url and --cert-file, instead of metadata).
    #[arg(long, requires_all = ["sso_url", "cert_files"])]
    pub entity_id: Option<String>,
    /// IdP SSO URL for the HTTP-Redirect binding.
    #[arg(long)]
    pub sso_url: Option<String>,
    /// IdP signing certificate (PEM or DER); repeatable.
    #[arg(long = "cert-file")]
    pub cert_files: Vec<PathBuf>,
    /// Attribute names for the email, first to match wins (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub attr_email: Vec<String>,
    #[arg(long, value_delimiter = ',')]
    pub attr_first_name: Vec<String>,
    #[arg(long, value_delimiter = ',')]
    pub attr_last_name: Vec<String>,
    /// IWMS ID attribute for this connection (default: the tenant's).
    #[arg(long)]
    pub attr_iwms_id: Option<String>,
    /// Accept IdP-initiated (unsolicited) responses; off by default.
    #[arg(long)]
    pub allow_idp_initiated: bool,
    /// Accept responses posted by a browser without the cookie set when sign-in started
    /// (turns off login-CSRF protection; for plain-http development with a cross-site IdP).
    #[arg(long)]
    pub allow_unbound_responses: bool,
    /// Sign AuthnRequests with the SP key from the config.
    #[arg(long)]
    pub sign_requests: bool,
    /// Allowed clock skew in seconds (default 60).
    #[arg(long)]
    pub clock_skew_secs: Option<i64>,
    /// Accepted signature algorithms (default: all of rsa/ecdsa-sha256/384/512; SHA-1 is never accepted).
    #[arg(long, value_delimiter = ',')]
    pub allowed_algorithms: Option<Vec<String>>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UpdateSamlArgs {
    #[arg(long)]
    pub tenant: String,
    /// The connection to change (its slug never changes).
    pub slug: String,
    #[arg(long)]
    pub name: Option<String>,
    /// Re-read entity ID, SSO URL and certificates from this IdP metadata file.
    #[arg(long, conflicts_with = "metadata_url")]
    pub metadata_file: Option<PathBuf>,
    /// Re-read entity ID, SSO URL and certificates from this URL.
    #[arg(long)]
    pub metadata_url: Option<String>,
    #[arg(long, conflicts_with_all = ["metadata_file", "metadata_url"])]
    pub entity_id: Option<String>,
    #[arg(long, conflicts_with_all = ["metadata_file", "metadata_url"])]
    pub sso_url: Option<String>,
    /// Replace the trusted certificates with these (PEM or DER); repeatable.
    #[arg(long = "cert-file")]
    pub cert_files: Vec<PathBuf>,
    /// Trust this certificate in addition to the current ones (rotation); repeatable.
    #[arg(long = "add-cert-file")]
    pub add_cert_files: Vec<PathBuf>,
    #[arg(long, value_delimiter = ',')]
    pub attr_email: Option<Vec<String>>,
    #[arg(long, value_delimiter = ',')]
    pub attr_first_name: Option<Vec<String>>,
    #[arg(long, value_delimiter = ',')]
    pub attr_last_name: Option<Vec<String>>,
    #[arg(long)]
    pub attr_iwms_id: Option<String>,
    /// Use the tenant's IWMS attribute again.
    #[arg(long, conflicts_with = "attr_iwms_id")]
    pub clear_attr_iwms_id: bool,
    #[command(flatten)]
    pub directory: DirectoryArgs,
    #[arg(long, value_enum)]
    pub allow_idp_initiated: Option<OnOff>,
    #[arg(long, value_enum)]
    pub allow_unbound_responses: Option<OnOff>,
    #[arg(long, value_enum)]
    pub sign_requests: Option<OnOff>,
    #[arg(long)]
    pub clock_skew_secs: Option<i64>,
    #[arg(long, value_delimiter = ',')]
    pub allowed_algorithms: Option<Vec<String>>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AddOidcArgs {
    #[arg(long)]
    pub tenant: String,
    /// Connection slug, used in the redirect URI.
    #[arg(long)]
    pub slug: String,
    #[arg(long)]
    pub name: Option<String>,
    /// Issuer URL; its /.well-known/openid-configuration is read now.
    #[arg(long)]
    pub issuer: String,
    #[arg(long)]
    pub client_id: String,
    /// File holding the client secret (never echoed).
    #[arg(
        long,
        conflicts_with = "client_secret_env",
        required_unless_present = "client_secret_env"
    )]
    pub client_secret_file: Option<PathBuf>,
    /// Environment variable holding the client secret (never echoed).
    #[arg(long)]
    pub client_secret_env: Option<String>,
    /// client_secret_basic (default) or client_secret_post.
    #[arg(long)]
    pub client_auth: Option<String>,
    /// Scopes (comma-separated; default openid,email,profile).
    #[arg(long, value_delimiter = ',')]
    pub scopes: Option<Vec<String>>,
    /// Accepted ID-token algorithms (default RS256,ES256,PS256; never none).
    #[arg(long, value_delimiter = ',')]
    pub allowed_algorithms: Option<Vec<String>>,
    /// Also accept HS256 ID tokens signed with the client secret.
    #[arg(long)]
    pub allow_hs256: bool,
    /// Merge the userinfo endpoint's claims (its sub must match the ID token's).
    #[arg(long)]
    pub userinfo: bool,
    #[arg(long)]
    pub clock_skew_secs: Option<i64>,
    /// Claim names for the email, first to match wins (default email; Entra ID without the
    /// optional email claim: email,preferred_username,upn).
    #[arg(long, value_delimiter = ',')]
    pub attr_email: Vec<String>,
    /// (default given_name)
    #[arg(long, value_delimiter = ',')]
    pub attr_first_name: Vec<String>,
    /// (default family_name)
    #[arg(long, value_delimiter = ',')]
    pub attr_last_name: Vec<String>,
    #[arg(long)]
    pub attr_iwms_id: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UpdateOidcArgs {
    #[arg(long)]
    pub tenant: String,
    /// The connection to change (its slug never changes).
    pub slug: String,
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub client_id: Option<String>,
    /// Rotate the client secret from this file (never echoed).
    #[arg(long, conflicts_with = "client_secret_env")]
    pub client_secret_file: Option<PathBuf>,
    /// Rotate the client secret from this environment variable.
    #[arg(long)]
    pub client_secret_env: Option<String>,
    #[arg(long)]
    pub client_auth: Option<String>,
    #[arg(long, value_delimiter = ',')]
    pub scopes: Option<Vec<String>>,
    #[arg(long, value_delimiter = ',')]
    pub allowed_algorithms: Option<Vec<String>>,
    #[arg(long, value_enum)]
    pub allow_hs256: Option<OnOff>,
    #[arg(long, value_enum)]
    pub userinfo: Option<OnOff>,
    #[arg(long)]
    pub clock_skew_secs: Option<i64>,
    /// Re-read the issuer's discovery document and JWKS now.
    #[arg(long)]
    pub rediscover: bool,
    #[arg(long, value_delimiter = ',')]
    pub attr_email: Option<Vec<String>>,
    #[arg(long, value_delimiter = ',')]
    pub attr_first_name: Option<Vec<String>>,
    #[arg(long, value_delimiter = ',')]
    pub attr_last_name: Option<Vec<String>>,
    #[arg(long)]
    pub attr_iwms_id: Option<String>,
    /// Use the tenant's IWMS attribute again.
    #[arg(long, conflicts_with = "attr_iwms_id")]
    pub clear_attr_iwms_id: bool,
    #[command(flatten)]
    pub directory: DirectoryArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConnectionCmd {
    /// Add a SAML IdP connection from metadata or explicit flags.
    AddSaml(Box<AddSamlArgs>),
    /// Add an OpenID Connect provider by issuer (discovery is read now).
    AddOidc(Box<AddOidcArgs>),
    /// Change a SAML connection: rotate certificates, re-read metadata, edit the mapping.
    UpdateSaml(Box<UpdateSamlArgs>),
    /// Change an OpenID Connect connection: rotate the client secret, re-read discovery, edit
    /// the mapping.
    UpdateOidc(Box<UpdateOidcArgs>),
    /// List a tenant's connections.
    List {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        json: bool,
    },
    /// Show a connection and the values to configure in the IdP.
    Show {
        #[arg(long)]
        tenant: String,
        slug: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove a connection (kept for history; its slug stays reserved).
    Remove {
        #[arg(long)]
        tenant: String,
        slug: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// List a tenant's users.
    List {
        #[arg(long)]
        tenant: String,
        /// As the console's tabs: deactivated users exclude those SCIM deprovisioned.
        #[arg(long, value_enum, default_value_t = UserViewKind::All)]
        status: UserViewKind,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long, default_value_t = 0)]
        offset: i64,
        #[arg(long)]
        json: bool,
    },
    /// Show a user (by email or id) with identities, timeline and sign-ins.
    Show {
        #[arg(long)]
        tenant: String,
        user: String,
        #[arg(long)]
        json: bool,
    },
    /// Add a user by hand before their first sign-in (the email's domain must be whitelisted).
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        first_name: Option<String>,
        #[arg(long)]
        last_name: Option<String>,
        #[arg(long)]
        iwms_id: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Deactivate a user (by email or id) and end their sessions. There is no delete.
    Deactivate {
        #[arg(long)]
        tenant: String,
        user: String,
        #[arg(long)]
        json: bool,
    },
    /// Make a deactivated user active again.
    Reactivate {
        #[arg(long)]
        tenant: String,
        user: String,
        #[arg(long)]
        json: bool,
    },
    /// Unlink one IdP identity (its id from `user show`) from the user; the user stays.
    Unlink {
        #[arg(long)]
        tenant: String,
        user: String,
        #[arg(long)]
        identity: i64,
    },
    /// Link an identity to the user (by email or id): a refused sign-in's (`--attempt`, its
    /// id from `workbench list`), or the one named by `--connection` and `--subject`.
    Link {
        #[arg(long)]
        tenant: String,
        user: String,
        #[arg(long, conflicts_with_all = ["connection", "subject"])]
        attempt: Option<i64>,
        #[arg(long, requires = "subject")]
        connection: Option<String>,
        #[arg(long, requires = "connection")]
        subject: Option<String>,
        /// Unlink what stands in the way: the identity's link to another user, the user's
        /// other identity on that connection.
        #[arg(long)]
        replace: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WorkbenchCmd {
    /// One view of the workbench, newest first.
    List {
        #[arg(long)]
        tenant: String,
        #[arg(long, value_parser = ["new", "existing", "deleted"], default_value = "new")]
        view: String,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// `next_after` of the previous page (a row key).
        #[arg(long)]
        after: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Apply the actions of a JSON file (`{"actions": [...]}`, as the API's POST takes) in one
    /// transaction: all of them, or none.
    Apply {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCmd {
    /// Make a person (by email) an admin of a tenant; they sign in to /admin through the
    /// tenant's SSO. Works before their first sign-in.
    Grant {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
    },
    /// Withdraw a grant and end that person's console sessions.
    Revoke {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
    },
    /// List a tenant's admin grants.
    List {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        json: bool,
    },
    /// Make the IdP's attribute value an admin role on a connection (e.g. --attribute groups
    /// --value ssogate-admins), or --clear it.
    Role {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        connection: String,
        #[arg(long, required_unless_present = "clear")]
        attribute: Option<String>,
        #[arg(long, required_unless_present = "clear")]
        value: Option<String>,
        #[arg(long, conflicts_with_all = ["attribute", "value"])]
        clear: bool,
    },
    /// Print a single-use, short-lived link that signs its first visitor in as super-admin
    /// (every tenant). There are no passwords.
    BootstrapLink {
        #[arg(long)]
        json: bool,
    },
    /// Admin API bearer tokens (shown once, stored hashed).
    #[command(subcommand)]
    Token(AdminTokenCmd),
}

#[derive(Debug, Subcommand)]
pub enum AdminTokenCmd {
    /// Create a token for one tenant (--tenant) or every tenant (--all-tenants). It expires
    /// after --expires-in-days (default 90); --no-expiry is the explicit, looser choice.
    Create {
        #[arg(long, required_unless_present = "all_tenants")]
        tenant: Option<String>,
        #[arg(long, conflicts_with = "tenant")]
        all_tenants: bool,
        #[arg(long, default_value = "api")]
        label: String,
        /// Days until the token stops working (1-3650).
        #[arg(long, default_value_t = 90, conflicts_with = "no_expiry")]
        expires_in_days: i64,
        /// The token works until it is revoked.
        #[arg(long)]
        no_expiry: bool,
        #[arg(long)]
        json: bool,
    },
    /// List tokens with their last use (never the tokens themselves).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id.
    Revoke { id: i64 },
}
