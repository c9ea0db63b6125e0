//! Reason codes stored with every sign-in attempt. The codes are a public contract: admins
//! filter on them, so existing codes never change meaning.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Success,
    // transport / parsing
    ResponseTooLarge,
    MalformedEncoding,
    DoctypeForbidden,
    MalformedXml,
    ForbiddenXmlConstruct,
    InvalidReference,
    ForbiddenTransform,
    WeakAlgorithm,
    EncryptedAssertionUnsupported,
    // signature
    NoIdpCertificate,
    Unsigned,
    InvalidSignature,
    // assertion content
    AssertionCount,
    IssuerMismatch,
    AudienceMissing,
    AudienceMismatch,
    DestinationMismatch,
    RecipientMismatch,
    NoBearerConfirmation,
    MissingAuthnStatement,
    NotYetValid,
    Expired,
    MissingSubject,
    IdpStatus,
    // request binding
    UnknownInResponseTo,
    UnsolicitedDisabled,
    RelayStateMismatch,
    BrowserMismatch,
    AssertionReplay,
    // provisioning
    MissingEmail,
    InvalidEmail,
    NotSetUp,
    EmailDomainNotAllowed,
    EmailLinkNotAllowed,
    IdentityConflict,
    IwmsIdConflict,
    UserDeactivated,
    ConnectionRemoved,
    // OpenID Connect
    OpError,
    OpUnreachable,
    TokenExchangeFailed,
    MalformedIdToken,
    IdTokenAlgorithm,
    IdTokenSignature,
    UnknownSigningKey,
    AzpMismatch,
    NonceMismatch,
    AtHashMismatch,
    CHashMismatch,
    UserinfoSubMismatch,
    UnknownState,
    EmailNotVerified,
}

impl Reason {
    pub fn code(self) -> &'static str {
        use Reason::*;
        match self {
            Success => "success",
            ResponseTooLarge => "response_too_large",
            MalformedEncoding => "malformed_encoding",
            DoctypeForbidden => "doctype_forbidden",
            MalformedXml => "malformed_xml",
            ForbiddenXmlConstruct => "forbidden_xml_construct",
            InvalidReference => "invalid_reference",
            ForbiddenTransform => "forbidden_transform",
            WeakAlgorithm => "weak_algorithm",
            EncryptedAssertionUnsupported => "encrypted_assertion_unsupported",
            NoIdpCertificate => "no_idp_certificate",
            Unsigned => "unsigned",
            InvalidSignature => "invalid_signature",
            AssertionCount => "assertion_count",
            IssuerMismatch => "issuer_mismatch",
            AudienceMissing => "audience_missing",
            AudienceMismatch => "audience_mismatch",
            DestinationMismatch => "destination_mismatch",
            RecipientMismatch => "recipient_mismatch",
            NoBearerConfirmation => "no_bearer_confirmation",
            MissingAuthnStatement => "missing_authn_statement",
            NotYetValid => "not_yet_valid",
            Expired => "expired",
            MissingSubject => "missing_subject",
            IdpStatus => "idp_status",
            UnknownInResponseTo => "unknown_in_response_to",
            UnsolicitedDisabled => "unsolicited_disabled",
            RelayStateMismatch => "relay_state_mismatch",
            BrowserMismatch => "browser_mismatch",
            AssertionReplay => "assertion_replay",
            MissingEmail => "missing_email",
            InvalidEmail => "invalid_email",
            NotSetUp => "not_set_up",
            EmailDomainNotAllowed => "email_domain_not_allowed",
            EmailLinkNotAllowed => "email_link_not_allowed",
            IdentityConflict => "identity_conflict",
            IwmsIdConflict => "iwms_id_conflict",
            UserDeactivated => "user_deactivated",
            ConnectionRemoved => "connection_removed",
            OpError => "op_error",
            OpUnreachable => "op_unreachable",
            TokenExchangeFailed => "token_exchange_failed",
            MalformedIdToken => "malformed_id_token",
            IdTokenAlgorithm => "id_token_algorithm",
            IdTokenSignature => "id_token_signature",
            UnknownSigningKey => "unknown_signing_key",
            AzpMismatch => "azp_mismatch",
            NonceMismatch => "nonce_mismatch",
            AtHashMismatch => "at_hash_mismatch",
            CHashMismatch => "c_hash_mismatch",
            UserinfoSubMismatch => "userinfo_sub_mismatch",
            UnknownState => "unknown_state",
            EmailNotVerified => "email_not_verified",
        }
    }

    /// What the person signing in is told. Deliberately generic for validation failures:
    /// the specifics are in the sign-in record for admins, not for whoever sent the response.
    pub fn user_message(self) -> &'static str {
        use Reason::*;
        match self {
            Success => "You are signed in.",
            NotSetUp
            | EmailDomainNotAllowed
            | EmailLinkNotAllowed
            | MissingEmail
            | InvalidEmail => "Your account has not been set up; contact your administrator.",
            IdentityConflict | IwmsIdConflict => {
                "Your sign-in matches an account that is linked to someone else; contact your administrator."
            }
            UserDeactivated => "Your account is deactivated; contact your administrator.",
            IdpStatus => "Your identity provider did not sign you in.",
            Expired | NotYetValid => {
                "The sign-in response has expired or is not yet valid. Check the clocks and try signing in again."
            }
            OpError => "Your identity provider did not sign you in.",
            OpUnreachable => {
                "Your identity provider could not be reached. Please try again in a moment."
            }
            EmailNotVerified => {
                "Your email address is not verified at your identity provider; contact your administrator."
            }
            UnknownInResponseTo | AssertionReplay | RelayStateMismatch | UnsolicitedDisabled
            | UnknownState => {
                "This sign-in response was already used or was not requested here. Please start signing in again."
            }
            ConnectionRemoved => "This sign-in method is no longer available.",
            BrowserMismatch => {
                "This sign-in was not started in this browser, or its cookie was blocked. Please start signing in again here."
            }
            _ => {
                "The sign-in response from your identity provider could not be accepted. Your administrator can see why in the sign-in history."
            }
        }
    }
}

impl Reason {
    /// Every reason code an attempt can carry, `success` first, for the console's filter.
    pub const ALL: [Reason; 53] = {
        use Reason::*;
        [
            Success,
            ResponseTooLarge,
            MalformedEncoding,
            DoctypeForbidden,
            MalformedXml,
            ForbiddenXmlConstruct,
            InvalidReference,
            ForbiddenTransform,
            WeakAlgorithm,
            EncryptedAssertionUnsupported,
            NoIdpCertificate,
            Unsigned,
            InvalidSignature,
            AssertionCount,
            IssuerMismatch,
            AudienceMissing,
            AudienceMismatch,
            DestinationMismatch,
            RecipientMismatch,
            NoBearerConfirmation,
            MissingAuthnStatement,
            NotYetValid,
            Expired,
            MissingSubject,
            IdpStatus,
            UnknownInResponseTo,
            UnsolicitedDisabled,
            RelayStateMismatch,
            BrowserMismatch,
            AssertionReplay,
            MissingEmail,
            InvalidEmail,
            NotSetUp,
            EmailDomainNotAllowed,
            EmailLinkNotAllowed,
            IdentityConflict,
            IwmsIdConflict,
            UserDeactivated,
            ConnectionRemoved,
            OpError,
            OpUnreachable,
            TokenExchangeFailed,
            MalformedIdToken,
            IdTokenAlgorithm,
            IdTokenSignature,
            UnknownSigningKey,
            AzpMismatch,
            NonceMismatch,
            AtHashMismatch,
            CHashMismatch,
            UserinfoSubMismatch,
            UnknownState,
            EmailNotVerified,
        ]
    };
}

#[cfg(test)]
mod all_tests {
    use super::*;

    #[test]
    fn every_reason_code_is_listed_once() {
        let codes: Vec<_> = Reason::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(codes[0], "success");
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), codes.len());
        // Fails to compile when a reason is added, until Reason::ALL lists it too.
        let listed = |r: Reason| -> bool {
            use Reason::*;
            match r {
                Success
                | ResponseTooLarge
                | MalformedEncoding
                | DoctypeForbidden
                | MalformedXml
                | ForbiddenXmlConstruct
                | InvalidReference
                | ForbiddenTransform
                | WeakAlgorithm
                | EncryptedAssertionUnsupported
                | NoIdpCertificate
                | Unsigned
                | InvalidSignature
                | AssertionCount
                | IssuerMismatch
                | AudienceMissing
                | AudienceMismatch
                | DestinationMismatch
                | RecipientMismatch
                | NoBearerConfirmation
                | MissingAuthnStatement
                | NotYetValid
                | Expired
                | MissingSubject
                | IdpStatus
                | UnknownInResponseTo
                | UnsolicitedDisabled
                | RelayStateMismatch
                | BrowserMismatch
                | AssertionReplay
                | MissingEmail
                | InvalidEmail
                | NotSetUp
                | EmailDomainNotAllowed
                | EmailLinkNotAllowed
                | IdentityConflict
                | IwmsIdConflict
                | UserDeactivated
                | ConnectionRemoved
                | OpError
                | OpUnreachable
                | TokenExchangeFailed
                | MalformedIdToken
                | IdTokenAlgorithm
                | IdTokenSignature
                | UnknownSigningKey
                | AzpMismatch
                | NonceMismatch
                | AtHashMismatch
                | CHashMismatch
                | UserinfoSubMismatch
                | UnknownState
                | EmailNotVerified => Reason::ALL.contains(&r),
            }
        };
        assert!(Reason::ALL.iter().all(|r| listed(*r)));
    }
}
