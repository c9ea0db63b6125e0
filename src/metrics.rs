//! Prometheus metrics: one registry per application (several apps in one process, as in the
//! tests, never share series), the counters the HTTP layer bumps, the gauges the refresh job
//! sets, and the small server that answers `GET /metrics` on `metrics.bind`.
//!
//! Every label value is bounded: tenant and connection slugs are admin-created (a URL naming
//! an unknown one never reaches a label: it is `unknown`), reasons are the fixed reason codes,
//! routes are route templates (`unmatched` when no route matched), statuses are HTTP codes.
use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, web};
use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::service::gauges::Gauges;

/// The label value for a tenant or connection the request did not resolve.
pub const UNKNOWN: &str = "unknown";
/// The route label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

/// How a sign-in ended, for `ssogate_sign_ins_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInOutcome {
    Success,
    Refused,
}

impl SignInOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            SignInOutcome::Success => "success",
            SignInOutcome::Refused => "refused",
        }
    }
}

pub struct Metrics {
    registry: Registry,
    sign_ins: IntCounterVec,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    scim_requests: IntCounterVec,
    outbox_events: IntGaugeVec,
    outbox_oldest_pending: Gauge,
    users: IntGaugeVec,
    certificate_expiry: GaugeVec,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry
        .register(Box::new(c.clone()))
        .expect("registered once");
    c
}

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry
        .register(Box::new(g.clone()))
        .expect("registered once");
    g
}

impl Metrics {
    /// A fresh registry with every ssogate metric and the process collector.
    pub fn new() -> Arc<Self> {
        let registry = Registry::new();
        let sign_ins = counter(
            &registry,
            "ssogate_sign_ins_total",
            "Sign-in attempts recorded in the sign-in history, SAML and OpenID Connect.",
            &["tenant", "connection", "protocol", "outcome", "reason"],
        );
        let http_requests = counter(
            &registry,
            "ssogate_http_requests_total",
            "HTTP requests answered, by route template and status.",
            &["route", "status"],
        );
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "ssogate_http_request_duration_seconds",
                "Time to answer an HTTP request, by route template.",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["route"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(http_duration.clone()))
            .expect("registered once");
        let scim_requests = counter(
            &registry,
            "ssogate_scim_requests_total",
            "SCIM requests, by tenant (unknown until a token is accepted), operation and status.",
            &["tenant", "operation", "status"],
        );
        let outbox_events = gauge(
            &registry,
            "ssogate_outbox_events",
            "IWMS outbox events per state.",
            &["state"],
        );
        let outbox_oldest_pending = Gauge::new(
            "ssogate_outbox_oldest_pending_seconds",
            "Age of the oldest pending IWMS outbox event (0: none pending).",
        )
        .expect("valid metric");
        registry
            .register(Box::new(outbox_oldest_pending.clone()))
            .expect("registered once");
        let users = gauge(
            &registry,
            "ssogate_users",
            "Users per tenant and view (active, stale, deactivated, deprovisioned, all).",
            &["tenant", "view"],
        );
        let certificate_expiry = GaugeVec::new(
            Opts::new(
                "ssogate_saml_certificate_expiry_days",
                "Days until the SAML IdP signing certificate expires (the latest notAfter of the connection's certificates).",
            ),
            &["tenant", "connection"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(certificate_expiry.clone()))
            .expect("registered once");
        // process_* metrics of this process, read from /proc at each scrape (Linux only).
        #[cfg(target_os = "linux")]
        if let Err(e) = registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        )) {
            tracing::warn!(error = %e, "process metrics unavailable");
        }
        Arc::new(Self {
            registry,
            sign_ins,
            http_requests,
            http_duration,
            scim_requests,
            outbox_events,
            outbox_oldest_pending,
            users,
            certificate_expiry,
        })
    }

    pub fn sign_in(
        &self,
        tenant: &str,
        connection: &str,
        protocol: &str,
        outcome: SignInOutcome,
        reason: &str,
    ) {
        self.sign_ins
            .with_label_values(&[tenant, connection, protocol, outcome.as_str(), reason])
            .inc();
    }

    /// `route` is a route template or [`UNMATCHED`], never a raw path.
    pub fn http_request(&self, route: &str, status: u16, seconds: f64) {
        self.http_requests
            .with_label_values(&[route, status.to_string().as_str()])
            .inc();
        self.http_duration
            .with_label_values(&[route])
            .observe(seconds);
    }

    pub fn scim_request(&self, tenant: &str, operation: &str, status: u16) {
        self.scim_requests
            .with_label_values(&[tenant, operation, status.to_string().as_str()])
            .inc();
    }

    /// Replaces every gauge of the refresh job with `s` (a removed tenant's series go).
    pub fn apply(&self, s: &Gauges) {
        for (state, n) in &s.outbox {
            self.outbox_events.with_label_values(&[*state]).set(*n);
        }
        self.outbox_oldest_pending.set(s.oldest_pending_secs as f64);
        self.users.reset();
        for (tenant, view, n) in &s.users {
            self.users
                .with_label_values(&[tenant.as_str(), *view])
                .set(*n);
        }
        self.certificate_expiry.reset();
        for (tenant, connection, days) in &s.certificate_days {
            self.certificate_expiry
                .with_label_values(&[tenant.as_str(), connection.as_str()])
                .set(*days);
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "could not encode the metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

async fn scrape(metrics: web::Data<Arc<Metrics>>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(TextEncoder::new().format_type())
        .body(metrics.render())
}

/// The metrics server: `GET /metrics` on its own listener, anything else 404.
pub fn server(listener: TcpListener, metrics: Arc<Metrics>) -> std::io::Result<Server> {
    let data = web::Data::new(metrics);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/metrics", web::get().to(scrape))
            .default_service(web::to(HttpResponse::NotFound))
    })
    .workers(1)
    .listen(listener)?
    .run())
}
