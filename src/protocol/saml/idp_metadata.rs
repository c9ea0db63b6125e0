//! Reading an IdP's metadata document: entity ID, Redirect-binding SSO URL, signing certs.
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use roxmltree::Node;

use super::ns;
use super::roxml::{children, is, parse, text};

#[derive(Debug, Clone)]
pub struct IdpMetadata {
    pub entity_id: String,
    pub sso_url: String,
    /// DER certificates from every KeyDescriptor usable for signing.
    pub signing_certificates: Vec<Vec<u8>>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MetadataError {
    #[error("metadata is not acceptable XML: {0}")]
    Xml(String),
    #[error("metadata has no IdP EntityDescriptor (found {0}); pass one entity's metadata")]
    Entity(usize),
    #[error("metadata EntityDescriptor has no entityID")]
    EntityId,
    #[error("metadata has no SingleSignOnService with the HTTP-Redirect binding")]
    SsoUrl,
    #[error("metadata has no signing certificate; ssogate refuses unsigned IdPs")]
    NoCertificate,
    #[error("metadata certificate #{0} is not a valid X.509 certificate")]
    BadCertificate(usize),
}

pub fn parse_certificate_b64(raw: &str) -> Option<Vec<u8>> {
    let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let der = STANDARD.decode(compact).ok()?;
    openssl::x509::X509::from_der(&der).ok()?;
    Some(der)
}

fn idp_descriptor<'a, 'i>(entity: Node<'a, 'i>) -> Option<Node<'a, 'i>> {
    children(entity, ns::METADATA, "IDPSSODescriptor").next()
}

pub fn parse_idp_metadata(xml: &str) -> Result<IdpMetadata, MetadataError> {
    let doc = parse(xml).map_err(|e| MetadataError::Xml(e.detail))?;
    let entities: Vec<_> = doc
        .descendants()
        .filter(|n| is(n, ns::METADATA, "EntityDescriptor") && idp_descriptor(*n).is_some())
        .collect();
    let [entity] = entities.as_slice() else {
        return Err(MetadataError::Entity(entities.len()));
    };
    let entity_id = entity
        .attribute("entityID")
        .filter(|s| !s.trim().is_empty())
        .ok_or(MetadataError::EntityId)?;
    let idp = idp_descriptor(*entity).ok_or(MetadataError::Entity(0))?;
    let sso_url = children(idp, ns::METADATA, "SingleSignOnService")
        .find(|s| s.attribute("Binding") == Some(ns::BINDING_REDIRECT))
        .and_then(|s| s.attribute("Location"))
        .ok_or(MetadataError::SsoUrl)?;
    let mut certs = Vec::new();
    for kd in children(idp, ns::METADATA, "KeyDescriptor")
        .filter(|k| k.attribute("use").is_none_or(|u| u == "signing"))
    {
        for c in kd
            .descendants()
            .filter(|n| is(n, ns::DSIG, "X509Certificate"))
        {
            let der = parse_certificate_b64(&text(c))
                .ok_or(MetadataError::BadCertificate(certs.len() + 1))?;
            if !certs.contains(&der) {
                certs.push(der);
            }
        }
    }
    if certs.is_empty() {
        return Err(MetadataError::NoCertificate);
    }
    Ok(IdpMetadata {
        entity_id: entity_id.trim().to_owned(),
        sso_url: sso_url.trim().to_owned(),
        signing_certificates: certs,
    })
}
