//! A tenant's signing secret, read from its file or variable at each claim; never stored.
use crate::domain::iwms::SecretSource;

/// A shorter HMAC key could be guessed; the CLI checks the same when the secret is set.
const MIN_SECRET_BYTES: usize = 16;

pub(super) fn read(source: &SecretSource) -> Result<Vec<u8>, String> {
    // A source stored before today's rules loads, but is not used: no signing with
    // ssogate's own secrets or a path relative to wherever the process started.
    SecretSource::parse(&source.as_string())
        .map_err(|e| format!("the tenant's signing secret source is refused: {e}"))?;
    let raw = match source {
        SecretSource::File(p) => std::fs::read_to_string(p)
            .map_err(|e| format!("cannot read the signing secret file {p}: {}", e.kind()))?,
        SecretSource::Env(v) => {
            std::env::var(v).map_err(|_| format!("the signing secret variable {v} is not set"))?
        }
    };
    let s = raw.trim();
    if s.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "the signing secret must hold at least {MIN_SECRET_BYTES} characters"
        ));
    }
    Ok(s.as_bytes().to_vec())
}
