//! Building the application: database, migrations, state, routes, background jobs.
use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::http::state::SpSigning;
use crate::http::{self, AppState};
use crate::storage::{self, DbPool};
use crate::{demo, jobs};

pub struct Application {
    port: u16,
    server: Server,
    /// The metrics listener's port and server, when `metrics.bind` is set.
    metrics: Option<(u16, Server)>,
}

/// Opens the pool and applies pending migrations.
pub fn open_database(settings: &Settings) -> anyhow::Result<DbPool> {
    let pool = storage::build_pool(&settings.database.url, settings.database.pool_size)
        .with_context(|| "config key `database.url`: cannot open the database")?;
    let mut conn = pool.get().context("cannot get a database connection")?;
    storage::run_migrations(&mut conn).context("applying migrations")?;
    Ok(pool)
}

fn load_sp_signing(settings: &Settings) -> anyhow::Result<Option<SpSigning>> {
    let (Some(key_path), Some(cert_path)) = (
        &settings.saml.sp_private_key_file,
        &settings.saml.sp_certificate_file,
    ) else {
        return Ok(None);
    };
    let key_pem = std::fs::read(key_path).with_context(|| {
        format!(
            "config key `saml.sp_private_key_file`: cannot read {}",
            key_path.display()
        )
    })?;
    let cert_pem = std::fs::read(cert_path).with_context(|| {
        format!(
            "config key `saml.sp_certificate_file`: cannot read {}",
            cert_path.display()
        )
    })?;
    let key = openssl::pkey::PKey::private_key_from_pem(&key_pem)
        .context("config key `saml.sp_private_key_file`: not a PEM private key")?;
    let cert = openssl::x509::X509::from_pem(&cert_pem)
        .context("config key `saml.sp_certificate_file`: not a PEM certificate")?;
    Ok(Some(SpSigning {
        key,
        certificate_b64: STANDARD.encode(cert.to_der()?),
    }))
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let session_secret = settings.session_secret()?;
        if settings.demo.enabled {
            demo::check_loopback(&settings)?;
        }
        let pool = open_database(&settings)?;
        let sp_signing = load_sp_signing(&settings)?;
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))
            .with_context(|| {
                format!(
                    "cannot listen on {}:{}",
                    settings.server.host, settings.server.port
                )
            })?;
        let port = listener.local_addr()?.port();
        let metrics_listener =
            match settings.metrics.bind_addr()? {
                Some(addr) => Some(TcpListener::bind(addr).with_context(|| {
                    format!("config key `metrics.bind`: cannot listen on {addr}")
                })?),
                None => None,
            };
        let metrics = crate::metrics::Metrics::new();
        // Without an explicit base_url the listener's real port is used (port 0 in tests).
        let base_url = match &settings.server.base_url {
            Some(_) => settings.base_url(),
            None => format!("http://{}:{port}", settings.server.host),
        };
        let secure_cookies = url::Url::parse(&base_url).is_ok_and(|u| u.scheme() == "https");
        let demo: demo::DemoData = web::Data::new(if settings.demo.enabled {
            Some(demo::setup(&settings, &base_url, &pool, clock.as_ref())?)
        } else {
            None
        });
        let workers = settings.server.workers;
        let oidc_http = crate::protocol::oidc::client::http_client(
            std::time::Duration::from_secs(settings.oidc.http_timeout_secs),
            settings.oidc.allow_http_loopback,
        )
        .context("building the HTTP client for OpenID providers")?;
        let iwms = crate::service::outbox::Deliverer::new(
            pool.clone(),
            clock.clone(),
            settings.iwms.clone(),
        )
        .context("building the HTTP client for IWMS deliveries")?;
        jobs::spawn_outbox(iwms.clone());
        let limits =
            crate::service::rate_limit::RateLimits::new(&settings.rate_limit, clock.clone());
        let state = web::Data::new(AppState {
            iwms,
            limits,
            metrics: metrics.clone(),
            verify_cache: crate::service::verify_cache::VerifyCache::new(
                settings.session.verify_cache_ms,
            ),
            pool,
            settings,
            base_url,
            clock,
            session_secret,
            secure_cookies,
            sp_signing,
            oidc_http,
        });
        let job_context = jobs::JobContext {
            pool: state.pool.clone(),
            clock: state.clock.clone(),
            retention: crate::service::maintenance::Retention::from_settings(&state.settings),
        };
        jobs::spawn(job_context.clone(), &state.settings.jobs);
        let metrics_server = match metrics_listener {
            Some(listener) => {
                let port = listener.local_addr()?.port();
                jobs::spawn_metrics_refresh(
                    job_context,
                    metrics.clone(),
                    std::time::Duration::from_secs(state.settings.metrics.refresh_interval_secs),
                );
                Some((port, crate::metrics::server(listener, metrics)?))
            }
            None => None,
        };
        let openapi = web::Data::new(http::api::OpenApiDocument(http::api::openapi_json()));
        let server = HttpServer::new(move || {
            let app = App::new()
                .app_data(state.clone())
                .app_data(demo.clone())
                .app_data(openapi.clone())
                .app_data(web::FormConfig::default().limit(16 * 1024))
                .wrap(from_fn(http::middleware::security_and_access_log))
                .configure(routes);
            http::api::mount(app).0
        })
        .workers(workers)
        .listen(listener)?
        .run();
        Ok(Self {
            port,
            server,
            metrics: metrics_server,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server from outside (tests take ssogate down behind a proxy).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// The metrics listener's port; None when `metrics.bind` is empty.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// Serves until the server stops; the metrics server, if any, runs beside it and is
    /// stopped with it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        use futures_util::future::{Either, select};
        let Some((_, metrics)) = self.metrics else {
            return self.server.await;
        };
        let stop_metrics = metrics.handle();
        match select(self.server, metrics).await {
            Either::Left((served, metrics)) => {
                stop_metrics.stop(true).await;
                served.and(metrics.await)
            }
            Either::Right((metrics_done, server)) => {
                let served = server.await;
                metrics_done.and(served)
            }
        }
    }
}

/// The public URL contract; see docs/urls.md.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(http::login::index)
        .service(http::login::discover)
        .service(http::login::tenant_login)
        .service(http::saml::metadata)
        .service(http::saml::acs)
        .service(http::oidc::callback)
        .service(http::forward_auth::verify)
        .service(http::session::me)
        .service(http::session::signed_in)
        .service(http::session::logout)
        .service(http::health::healthz)
        .service(http::health::readyz)
        .service(http::assets::app_css)
        .service(http::assets::favicon)
        .service(http::assets::admin_css)
        .service(http::assets::admin_js)
        .service(http::api::openapi_document)
        .configure(http::scim::routes)
        .configure(http::console::routes)
        .configure(demo::routes);
}
