use crate::domain::reason::Reason;

/// Why a response was refused: a reason code for the sign-in record, a detail for admins,
/// and (for IdP status errors only) the IdP's own message to show the user.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {detail}", reason.code())]
pub struct SamlError {
    pub reason: Reason,
    pub detail: String,
    pub idp_message: Option<String>,
}

impl SamlError {
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
            idp_message: None,
        }
    }
}

pub(crate) fn err(reason: Reason, detail: impl Into<String>) -> SamlError {
    SamlError::new(reason, detail)
}
