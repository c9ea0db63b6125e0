//! JSON bodies and query strings whose errors name the field that is wrong.
use std::future::Future;
use std::pin::Pin;

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::ApiError;

/// The largest JSON body the API reads (IdP metadata included).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A JSON request body (`Content-Type: application/json`, at most 256 KiB).
pub struct ApiJson<T>(pub T);

impl<T> ApiJson<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

fn body_error(message: String, field: Option<String>) -> ApiError {
    ApiError::BadRequest {
        message: format!("request body: {message}"),
        field,
    }
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(ct) = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
    else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// True when a string (or object key) anywhere in `v` holds a NUL character, which no text
/// column can store (PostgreSQL refuses it).
fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(has_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// The field serde names in "missing field `x`" or "unknown field `x`, expected ...".
fn field_in_message(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("missing field `")
        .or_else(|| message.strip_prefix("unknown field `"))?;
    rest.split_once('`').map(|(f, _)| f.to_owned())
}

/// Deserializes `bytes`, naming the JSON path of a value of the wrong type or shape.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| body_error(format!("not valid JSON: {e}"), None))?;
    // Every body of this API is an object (serde would also read a struct from an array).
    if !value.is_object() {
        return Err(body_error("must be a JSON object".into(), None));
    }
    if has_nul(&value) {
        return Err(body_error(
            "strings must not contain NUL characters".into(),
            None,
        ));
    }
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            body_error(format!("{inner}"), field_in_message(&inner.to_string()))
        } else {
            body_error(format!("{path}: {inner}"), Some(path))
        }
    })
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        // web::Payload decodes Content-Encoding; it never fails to extract.
        let body = web::Payload::from_request(req, payload).into_inner();
        Box::pin(async move {
            if !json {
                return Err(body_error(
                    "Content-Type must be application/json".into(),
                    None,
                ));
            }
            let body = body.map_err(|e| body_error(e.to_string(), None))?;
            let bytes = crate::http::body::read_capped(body, MAX_BODY_BYTES)
                .await
                .map_err(|e| body_error(format!("could not be read: {e}"), None))?
                .ok_or_else(|| {
                    body_error(format!("larger than {} KiB", MAX_BODY_BYTES / 1024), None)
                })?;
            parse_json(&bytes).map(ApiJson)
        })
    }
}

/// Query parameters. Every field of `T` must be optional: a bad value is found by reading
/// the parameters one at a time, so the error can name it.
pub struct ApiQuery<T>(pub T);

impl<T> ApiQuery<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    if let Some((k, _)) = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        return Err(ApiError::BadRequest {
            message: format!(
                "query parameter {}: must not contain NUL characters",
                k.replace('\0', "")
            ),
            field: Some(k.replace('\0', "")),
        });
    }
    match web::Query::<T>::from_query(query) {
        Ok(q) => Ok(q.into_inner()),
        Err(e) => {
            let field = url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, _)| k.into_owned())
                .find(|k| {
                    let alone: String = url::form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(
                            url::form_urlencoded::parse(query.as_bytes()).filter(|(n, _)| n == k),
                        )
                        .finish();
                    web::Query::<T>::from_query(&alone).is_err()
                });
            let detail = match &e {
                actix_web::error::QueryPayloadError::Deserialize(d) => d.to_string(),
                other => other.to_string(),
            };
            Err(match field {
                Some(f) => ApiError::BadRequest {
                    message: format!("query parameter {f}: {detail}"),
                    field: Some(f),
                },
                None => ApiError::BadRequest {
                    message: format!("query string: {detail}"),
                    field: None,
                },
            })
        }
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiQuery<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(ApiQuery))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[expect(dead_code, reason = "only deserialized")]
        name: Option<String>,
        #[expect(dead_code, reason = "only deserialized")]
        list: Option<Vec<u8>>,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Query {
        limit: Option<i64>,
        q: Option<String>,
    }

    fn field(e: ApiError) -> Option<String> {
        match e {
            ApiError::BadRequest { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn json_errors_name_the_field() {
        assert_eq!(
            field(parse_json::<Body>(br#"{"name": 5}"#).unwrap_err()).as_deref(),
            Some("name")
        );
        assert_eq!(
            field(parse_json::<Body>(br#"{"list": [1, 999]}"#).unwrap_err()).as_deref(),
            Some("list[1]")
        );
        assert_eq!(field(parse_json::<Body>(b"{").unwrap_err()), None);
        assert_eq!(field(parse_json::<Body>(b"[]").unwrap_err()), None);
        assert!(parse_json::<Body>(br#"["x", null]"#).is_err());
        assert!(parse_json::<Body>(br#"{"name": "a\u0000"}"#).is_err());
        assert!(parse_json::<Body>(br#"{"name": "x"} x"#).is_err());
        assert!(parse_json::<Body>(br#"{"name": "x"}"#).is_ok());
    }

    #[test]
    fn query_errors_name_the_parameter() {
        assert_eq!(
            field(parse_query::<Query>("q=a&limit=99999999999999999999999").unwrap_err())
                .as_deref(),
            Some("limit")
        );
        let ok = parse_query::<Query>("q=a%20b&limit=5&other=1").unwrap();
        assert_eq!((ok.limit, ok.q.as_deref()), (Some(5), Some("a b")));
    }
}
