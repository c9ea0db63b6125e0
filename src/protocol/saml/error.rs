use crate::domain::reason::Reason;

/// Why a response was refused: a reason code for the sign-in record, a detail for admins,
/// and (for IdP status errors only) the IdP's own message, which the caller shows only to
/// the browser whose request it answers.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {detail}", reason.code())]
pub struct SamlError {
    pub reason: Reason,
    pub detail: String,
    pub idp_message: Option<String>,
    /// Whether a signature of the IdP had verified when the response was refused.
    pub signature_verified: bool,
    /// Before any signature verified: the Response's InResponseTo, as sent (unverified), so
    /// the caller can tell whether the response answers a request of this browser.
    pub in_response_to: Option<String>,
}

impl SamlError {
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
            idp_message: None,
            signature_verified: false,
            in_response_to: None,
        }
    }
}

pub(crate) fn err(reason: Reason, detail: impl Into<String>) -> SamlError {
    SamlError::new(reason, detail)
}

/// At most `max` characters of an untrusted value, for a detail.
pub(crate) fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
