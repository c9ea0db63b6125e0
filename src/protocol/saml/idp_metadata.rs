//! Reading an IdP's metadata document: entity ID, Redirect-binding SSO URL, signing certs.
use super::certificate;
use super::ns;
use super::xml::{Document, Limits, NodeId, parse_with};

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

fn idp_descriptor(doc: &Document<'_>, entity: NodeId) -> Option<NodeId> {
    doc.child(entity, ns::METADATA, "IDPSSODescriptor")
}

/// Metadata is an admin's document (pasted, or fetched from a URL they gave): bigger than a
/// response may be, read by the same strict parser.
const METADATA_LIMITS: Limits = Limits {
    max_bytes: 4 * 1024 * 1024,
    max_depth: 64,
    max_attributes: 64,
    max_name_len: 200,
    max_nodes: 500_000,
};

pub fn parse_idp_metadata(xml: &str) -> Result<IdpMetadata, MetadataError> {
    let doc = parse_with(xml, METADATA_LIMITS).map_err(|e| MetadataError::Xml(e.detail))?;
    let entities: Vec<NodeId> = doc
        .descendants(doc.root())
        .filter(|n| {
            doc.is(*n, ns::METADATA, "EntityDescriptor") && idp_descriptor(&doc, *n).is_some()
        })
        .collect();
    let [entity] = entities.as_slice() else {
        return Err(MetadataError::Entity(entities.len()));
    };
    let entity_id = doc
        .attribute(*entity, "entityID")
        .filter(|s| !s.trim().is_empty())
        .ok_or(MetadataError::EntityId)?;
    let idp = idp_descriptor(&doc, *entity).ok_or(MetadataError::Entity(0))?;
    let sso_url = doc
        .children_named(idp, ns::METADATA, "SingleSignOnService")
        .find(|s| doc.attribute(*s, "Binding") == Some(ns::BINDING_REDIRECT))
        .and_then(|s| doc.attribute(s, "Location"))
        .ok_or(MetadataError::SsoUrl)?;
    let mut certs = Vec::new();
    for kd in doc
        .children_named(idp, ns::METADATA, "KeyDescriptor")
        .filter(|k| doc.attribute(*k, "use").is_none_or(|u| u == "signing"))
    {
        for c in doc
            .descendants(kd)
            .filter(|n| doc.is(*n, ns::DSIG, "X509Certificate"))
        {
            let der = certificate::from_base64(&doc.text(c))
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
