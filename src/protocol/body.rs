//! A response body from a host ssogate does not control (providers, IdP metadata hosts, the
//! IWMS), read only up to a cap: nothing it sends can make ssogate buffer more.

pub enum ReadError {
    TooLarge,
    Failed(reqwest::Error),
}

pub async fn read_capped(mut res: reqwest::Response, cap: usize) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(ReadError::Failed)? {
        if body.len() + chunk.len() > cap {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
