//! An OpenID provider of the tests' own that says whatever a test tells it to: discovery,
//! JWKS and token responses are set per test, so every ID-token check can be attacked.
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::{Padding, Rsa};
use openssl::sign::{RsaPssSaltlen, Signer};
use serde_json::{Value, json};

pub struct Key {
    pub kid: String,
    pub pkey: PKey<Private>,
    pub kind: &'static str,
}

impl Key {
    pub fn rsa(kid: &str) -> Self {
        Key {
            kid: kid.into(),
            pkey: PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap(),
            kind: "RSA",
        }
    }

    pub fn ec(kid: &str) -> Self {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        Key {
            kid: kid.into(),
            pkey: PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap(),
            kind: "EC",
        }
    }

    pub fn jwk(&self) -> Value {
        let b = |v: Vec<u8>| URL_SAFE_NO_PAD.encode(v);
        if self.kind == "RSA" {
            let rsa = self.pkey.rsa().unwrap();
            json!({"kty": "RSA", "kid": self.kid, "use": "sig", "n": b(rsa.n().to_vec()), "e": b(rsa.e().to_vec())})
        } else {
            let ec = self.pkey.ec_key().unwrap();
            let mut ctx = openssl::bn::BigNumContext::new().unwrap();
            let (mut x, mut y) = (
                openssl::bn::BigNum::new().unwrap(),
                openssl::bn::BigNum::new().unwrap(),
            );
            ec.public_key()
                .affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx)
                .unwrap();
            json!({"kty": "EC", "kid": self.kid, "use": "sig", "crv": "P-256", "x": b(x.to_vec_padded(32).unwrap()), "y": b(y.to_vec_padded(32).unwrap())})
        }
    }

    pub fn public_pem(&self) -> Vec<u8> {
        self.pkey.public_key_to_pem().unwrap()
    }
}

/// Signs `claims` as a compact JWS. `alg` decides how; `kid` None leaves it out.
pub fn sign(
    alg: &str,
    key: Option<&Key>,
    hmac_secret: &[u8],
    kid: Option<&str>,
    claims: &Value,
) -> String {
    let mut header = json!({"alg": alg, "typ": "JWT"});
    if let Some(k) = kid {
        header["kid"] = json!(k);
    }
    sign_header(&header, alg, key, hmac_secret, claims)
}

/// Signs `claims` under `header` as it is (its `alg` may differ from `alg`, the algorithm
/// actually used).
pub fn sign_header(
    header: &Value,
    alg: &str,
    key: Option<&Key>,
    hmac_secret: &[u8],
    claims: &Value,
) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = match alg {
        "none" => Vec::new(),
        "HS256" => {
            let k = PKey::hmac(hmac_secret).unwrap();
            let mut s = Signer::new(MessageDigest::sha256(), &k).unwrap();
            s.update(input.as_bytes()).unwrap();
            s.sign_to_vec().unwrap()
        }
        "ES256" => {
            let key = key.unwrap();
            let mut s = Signer::new(MessageDigest::sha256(), &key.pkey).unwrap();
            s.update(input.as_bytes()).unwrap();
            let der = s.sign_to_vec().unwrap();
            let sig = openssl::ecdsa::EcdsaSig::from_der(&der).unwrap();
            let mut raw = sig.r().to_vec_padded(32).unwrap();
            raw.extend(sig.s().to_vec_padded(32).unwrap());
            raw
        }
        "PS256" | "RS256" => {
            let key = key.unwrap();
            let mut s = Signer::new(MessageDigest::sha256(), &key.pkey).unwrap();
            if alg == "PS256" {
                s.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
                s.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH).unwrap();
            }
            s.update(input.as_bytes()).unwrap();
            s.sign_to_vec().unwrap()
        }
        other => panic!("test OP cannot sign {other}"),
    };
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

#[derive(Default)]
pub struct OpState {
    pub jwks: Value,
    pub token_response: Value,
    pub token_status: u16,
    pub token_delay: Duration,
    pub userinfo: Value,
    pub jwks_fetches: usize,
    pub token_requests: Vec<(Option<String>, String)>,
}

pub struct HostileOp {
    pub issuer: String,
    pub state: Arc<Mutex<OpState>>,
}

impl HostileOp {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(OpState {
            token_status: 200,
            ..Default::default()
        }));
        let (st, iss) = (state.clone(), issuer.clone());
        let server = HttpServer::new(move || {
            let (st, iss) = (st.clone(), iss.clone());
            App::new()
                .app_data(web::Data::new(st))
                .app_data(web::Data::new(iss))
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(discovery),
                )
                .route("/jwks", web::get().to(jwks))
                .route("/token", web::post().to(token))
                .route("/userinfo", web::get().to(userinfo))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        HostileOp { issuer, state }
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut OpState) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }
}

async fn discovery(iss: web::Data<String>) -> HttpResponse {
    let i = iss.get_ref();
    HttpResponse::Ok().json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/auth"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "userinfo_endpoint": format!("{i}/userinfo"),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn jwks(st: web::Data<Arc<Mutex<OpState>>>) -> HttpResponse {
    let mut s = st.lock().unwrap();
    s.jwks_fetches += 1;
    HttpResponse::Ok().json(s.jwks.clone())
}

async fn token(req: HttpRequest, body: String, st: web::Data<Arc<Mutex<OpState>>>) -> HttpResponse {
    let (delay, status, resp) = {
        let mut s = st.lock().unwrap();
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned);
        s.token_requests.push((auth, body));
        (s.token_delay, s.token_status, s.token_response.clone())
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).json(resp)
}

async fn userinfo(st: web::Data<Arc<Mutex<OpState>>>) -> HttpResponse {
    HttpResponse::Ok().json(st.lock().unwrap().userinfo.clone())
}
