//! Request bodies read up to a limit, without ever buffering more (ACS forms, SCIM JSON).
use actix_web::error::PayloadError;
use actix_web::web;
use futures_util::StreamExt;

/// The body, or None as soon as it grows past `limit` bytes.
pub async fn read_capped(
    mut payload: web::Payload,
    limit: usize,
) -> Result<Option<Vec<u8>>, PayloadError> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}
