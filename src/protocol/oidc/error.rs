use crate::domain::reason::Reason;

/// Why a callback was refused: a reason code and a detail for the sign-in record; the
/// provider's own error description (untrusted, shown escaped) when it sent one.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {detail}", reason.code())]
pub struct OidcError {
    pub reason: Reason,
    pub detail: String,
    pub op_message: Option<String>,
}

pub(crate) fn err(reason: Reason, detail: impl Into<String>) -> OidcError {
    OidcError {
        reason,
        detail: detail.into(),
        op_message: None,
    }
}
