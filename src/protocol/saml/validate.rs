use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::assertion::{self, BearerConfirmation, SignedAssertion};
use super::dsig::{self, Keys};
use super::error::{SamlError, err};
use super::structure::{self, Envelope};
use super::{SpEndpoints, ns, xml};
use crate::domain::connection::{SamlIdpSettings, SignatureAlgorithm};
use crate::domain::reason::Reason;

pub struct AcsContext<'a> {
    pub idp: &'a SamlIdpSettings,
    pub sp: &'a SpEndpoints,
    pub now: i64,
    /// Cap on the base64 SAMLResponse, checked before decoding.
    pub max_response_bytes: usize,
}

/// A response that passed every check. Binding it to a pending request and the replay cache
/// is the caller's job (storage lives there).
#[derive(Debug, Clone)]
pub struct ValidatedAssertion {
    pub assertion_id: String,
    pub subject: String,
    pub name_id_format: Option<String>,
    /// From the signed SubjectConfirmationData; None for IdP-initiated responses.
    pub in_response_to: Option<String>,
    pub attributes: BTreeMap<String, Vec<String>>,
    /// Keep the assertion ID in the replay cache until then.
    pub replay_until: i64,
    pub session_not_on_or_after: Option<i64>,
}

impl ValidatedAssertion {
    pub fn name_id_is_email(&self) -> bool {
        self.name_id_format.as_deref() == Some(ns::NAMEID_EMAIL)
    }
}

pub fn validate_response(
    saml_response: &str,
    ctx: &AcsContext<'_>,
) -> Result<ValidatedAssertion, SamlError> {
    if saml_response.len() > ctx.max_response_bytes {
        return Err(err(
            Reason::ResponseTooLarge,
            format!(
                "SAMLResponse is {} bytes, the cap is {}",
                saml_response.len(),
                ctx.max_response_bytes
            ),
        ));
    }
    let compact: Vec<u8> = saml_response
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let bytes = STANDARD.decode(&compact).map_err(|_| {
        err(
            Reason::MalformedEncoding,
            "SAMLResponse is not valid base64",
        )
    })?;
    let decoded = String::from_utf8(bytes)
        .map_err(|_| err(Reason::MalformedEncoding, "SAMLResponse is not UTF-8"))?;
    // The one parse: every check, the signatures and every value below work on this tree.
    let doc = xml::parse(&decoded)?;
    let envelope = structure::inspect(&doc, &ctx.idp.allowed_algorithms)?;
    // Until a signature verifies, a refusal names the request the Response claims to
    // answer; after, it says a signature verified.
    let unverified = |mut e: SamlError| {
        e.in_response_to = envelope.in_response_to.map(str::to_owned);
        e
    };
    let verified = |mut e: SamlError| {
        e.signature_verified = true;
        e
    };
    let assertion = before_signatures(&doc, &envelope, ctx).map_err(unverified)?;
    // Both signatures cover the assertion: the Response's holds it, the Assertion's is it.
    let a = assertion::read(&doc, assertion).map_err(verified)?;
    check(&a, envelope.in_response_to, ctx).map_err(verified)
}

/// The Response-level checks and the signatures; returns the one assertion.
fn before_signatures<'d>(
    doc: &'d xml::Document<'_>,
    envelope: &Envelope<'d>,
    ctx: &AcsContext<'_>,
) -> Result<xml::NodeId, SamlError> {
    if let Some(dest) = envelope.destination
        && dest != ctx.sp.acs_url
    {
        return Err(err(
            Reason::DestinationMismatch,
            format!("Destination `{}` is not this ACS", clip(dest)),
        ));
    }
    if envelope.status_code != ns::STATUS_SUCCESS {
        return Err(status_error(envelope));
    }
    let assertion = match (envelope.assertion_count, envelope.assertion) {
        (1, Some(a)) => a,
        (n, _) => {
            return Err(err(
                Reason::AssertionCount,
                format!("expected exactly one assertion in the Response, found {n}"),
            ));
        }
    };
    if let Some(issuer) = &envelope.issuer
        && issuer != &ctx.idp.idp_entity_id
    {
        return Err(err(
            Reason::IssuerMismatch,
            format!(
                "response Issuer `{}` is not the configured IdP",
                clip(issuer)
            ),
        ));
    }
    verify_present_signatures(doc, envelope, &ctx.idp.idp_certificates)?;
    Ok(assertion)
}

/// Which elements carry a verified signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedParts {
    pub response: bool,
    pub assertion: bool,
}

/// The signature half of [`validate_response`] on a decoded document: parse, structural
/// checks, and every signature verified with `certs` (DER) under `allowed`. No time,
/// audience or recipient checks.
pub fn verify_signatures(
    xml_text: &str,
    certs: &[Vec<u8>],
    allowed: &[SignatureAlgorithm],
) -> Result<SignedParts, SamlError> {
    let doc = xml::parse(xml_text)?;
    let envelope = structure::inspect(&doc, allowed)?;
    verify_present_signatures(&doc, &envelope, certs)?;
    Ok(SignedParts {
        response: envelope.response_signature.is_some(),
        assertion: envelope.assertion_signature.is_some(),
    })
}

fn verify_present_signatures(
    doc: &xml::Document<'_>,
    envelope: &Envelope<'_>,
    certs: &[Vec<u8>],
) -> Result<(), SamlError> {
    if certs.is_empty() {
        return Err(err(
            Reason::NoIdpCertificate,
            "the connection has no IdP signing certificate",
        ));
    }
    let shapes: Vec<_> = [&envelope.response_signature, &envelope.assertion_signature]
        .into_iter()
        .flatten()
        .collect();
    if shapes.is_empty() {
        return Err(err(
            Reason::Unsigned,
            "neither the Response nor the Assertion is signed",
        ));
    }
    let keys = Keys::from_der_certificates(certs)?;
    for shape in shapes {
        dsig::verify(doc, shape, &keys)?;
    }
    Ok(())
}

fn status_error(envelope: &Envelope<'_>) -> SamlError {
    let detail = envelope
        .status_detail
        .map(|d| format!(" / {}", clip(d)))
        .unwrap_or_default();
    let message = envelope
        .status_message
        .as_deref()
        .filter(|m| !m.is_empty())
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    let mut e = err(
        Reason::IdpStatus,
        format!("IdP status {}{detail}{message}", clip(envelope.status_code)),
    );
    e.idp_message = envelope.status_message.clone().filter(|m| !m.is_empty());
    e
}

/// At most 200 characters of an untrusted value, for a detail (marked when cut).
fn clip(s: &str) -> String {
    crate::domain::history::cut_to(s, 200).into_owned()
}

fn check(
    a: &SignedAssertion,
    response_in_response_to: Option<&str>,
    ctx: &AcsContext<'_>,
) -> Result<ValidatedAssertion, SamlError> {
    let skew = ctx.idp.clock_skew_secs;
    let now = ctx.now;
    if a.issuer != ctx.idp.idp_entity_id {
        return Err(err(
            Reason::IssuerMismatch,
            format!("assertion Issuer `{}` is not the configured IdP", a.issuer),
        ));
    }
    if a.id.is_empty() {
        return Err(err(Reason::MalformedXml, "the assertion has no ID"));
    }
    if a.audience_restrictions.is_empty() || a.audience_restrictions.iter().any(Vec::is_empty) {
        return Err(err(
            Reason::AudienceMissing,
            "the assertion has no Audience",
        ));
    }
    if let Some(r) = a
        .audience_restrictions
        .iter()
        .find(|r| !r.contains(&ctx.sp.entity_id))
    {
        return Err(err(
            Reason::AudienceMismatch,
            format!(
                "Audience {:?} does not name this SP ({})",
                r, ctx.sp.entity_id
            ),
        ));
    }
    if let Some(nb) = a.not_before
        && now + skew < nb
    {
        return Err(err(
            Reason::NotYetValid,
            format!("Conditions NotBefore is {} s in the future", nb - now),
        ));
    }
    if let Some(noa) = a.not_on_or_after
        && now - skew >= noa
    {
        return Err(err(
            Reason::Expired,
            format!("Conditions NotOnOrAfter passed {} s ago", now - noa),
        ));
    }
    // The IdP's session has ended: a session made from it would be born expired, and the
    // browser sent back to sign in would loop through the IdP.
    if let Some(s) = a.session_not_on_or_after
        && now >= s
    {
        return Err(err(
            Reason::Expired,
            format!(
                "AuthnStatement SessionNotOnOrAfter passed {} s ago",
                now - s
            ),
        ));
    }
    // Web Browser SSO profile §4.1.4.2: the assertion says how the person authenticated.
    if a.authn_statements == 0 {
        return Err(err(
            Reason::MissingAuthnStatement,
            "the assertion has no AuthnStatement",
        ));
    }
    let bearer = pick_bearer(a, ctx)?;
    let in_response_to = bearer.in_response_to.clone();
    if let (Some(outer), Some(inner)) = (response_in_response_to, in_response_to.as_deref())
        && outer != inner
    {
        return Err(err(
            Reason::UnknownInResponseTo,
            "Response and assertion InResponseTo differ",
        ));
    }
    if response_in_response_to.is_some() && in_response_to.is_none() {
        return Err(err(
            Reason::UnknownInResponseTo,
            "InResponseTo is only on the unsigned Response",
        ));
    }
    let subject = a
        .name_id
        .clone()
        .ok_or_else(|| err(Reason::MissingSubject, "the assertion has no NameID"))?;
    let replay_until = [a.not_on_or_after, bearer.not_on_or_after]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(now)
        + skew;
    Ok(ValidatedAssertion {
        assertion_id: a.id.clone(),
        subject,
        name_id_format: a.name_id_format.clone(),
        in_response_to,
        attributes: a.attributes.clone(),
        replay_until,
        session_not_on_or_after: a.session_not_on_or_after,
    })
}

/// The Web Browser SSO profile requires a bearer confirmation naming this ACS, with an expiry.
fn pick_bearer<'a>(
    a: &'a SignedAssertion,
    ctx: &AcsContext<'_>,
) -> Result<&'a BearerConfirmation, SamlError> {
    let skew = ctx.idp.clock_skew_secs;
    let mut first_err = None;
    for b in &a.bearers {
        let res = if b.recipient.as_deref() != Some(ctx.sp.acs_url.as_str()) {
            Err(err(
                Reason::RecipientMismatch,
                format!(
                    "SubjectConfirmationData Recipient {:?} is not this ACS",
                    b.recipient
                ),
            ))
        } else if let Some(nb) = b.not_before.filter(|nb| ctx.now + skew < *nb) {
            Err(err(
                Reason::NotYetValid,
                format!(
                    "SubjectConfirmationData NotBefore is {} s in the future",
                    nb - ctx.now
                ),
            ))
        } else {
            match b.not_on_or_after {
                None => Err(err(
                    Reason::NoBearerConfirmation,
                    "SubjectConfirmationData has no NotOnOrAfter",
                )),
                Some(noa) if ctx.now - skew >= noa => Err(err(
                    Reason::Expired,
                    format!(
                        "SubjectConfirmationData NotOnOrAfter passed {} s ago",
                        ctx.now - noa
                    ),
                )),
                Some(_) => Ok(b),
            }
        };
        match res {
            Ok(b) => return Ok(b),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or_else(|| {
        err(
            Reason::NoBearerConfirmation,
            "the assertion has no bearer SubjectConfirmation",
        )
    }))
}
