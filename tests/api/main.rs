//! One integration-test binary: every test spawns the real app on a random port with a
//! fresh database (SQLite by default; TEST_DB=postgres for PostgreSQL).
mod browser;
mod cli;
mod cluster;
mod demo;
mod forward_auth;
mod health;
mod helpers;
mod hostile_op;
mod iwms_outbox;
mod logging;
mod login;
mod oidc_flow;
mod oidc_hostile;
mod provisioning;
mod pysaml2;
mod saml_fixtures;
mod saml_flow;
mod saml_hostile;
mod scim_idp_sequences;
mod scim_security;
mod scim_sso;
mod scim_tester;
mod stale;
