#![forbid(unsafe_code)]
//! ssogate: a multi-tenant SSO gateway (SAML 2.0 SP with just-in-time provisioning).

pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod hmac;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod protocol;
pub mod random;
pub mod service;
pub mod startup;
pub mod storage;
pub mod telemetry;
