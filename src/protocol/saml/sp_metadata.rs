//! The SP metadata an IdP imports for one connection.
use samael::key_info::{KeyInfo, X509Data};
use samael::metadata::{
    EntityDescriptor, HTTP_POST_BINDING, IndexedEndpoint, KeyDescriptor, NameIdFormat,
    SpSsoDescriptor,
};
use samael::traits::ToXml;

use super::SpEndpoints;

const PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";

/// `signing_certificate_b64` is the SP's certificate (base64 DER) when requests are signed.
/// samael writes element text unescaped (samael 0.0.20 src/key_info.rs, `from_escaped`): base64
/// needs no escaping, and every other value goes into attributes, which samael escapes.
pub fn render(
    sp: &SpEndpoints,
    signing_certificate_b64: Option<&str>,
) -> Result<String, askama::Error> {
    let key_descriptors = signing_certificate_b64.map(|cert| {
        vec![KeyDescriptor {
            key_use: Some("signing".to_owned()),
            key_info: KeyInfo {
                id: None,
                x509_data: Some(X509Data {
                    certificates: vec![cert.to_owned()],
                }),
            },
            encryption_methods: None,
        }]
    });
    let descriptor = SpSsoDescriptor {
        protocol_support_enumeration: Some(PROTOCOL.to_owned()),
        authn_requests_signed: Some(signing_certificate_b64.is_some()),
        want_assertions_signed: Some(true),
        key_descriptors,
        name_id_formats: Some(vec![
            NameIdFormat::PersistentNameIDFormat.value().to_owned(),
            NameIdFormat::EmailAddressNameIDFormat.value().to_owned(),
        ]),
        assertion_consumer_services: vec![IndexedEndpoint {
            binding: HTTP_POST_BINDING.to_owned(),
            location: sp.acs_url.clone(),
            response_location: None,
            index: 0,
            is_default: Some(true),
        }],
        ..SpSsoDescriptor::default()
    };
    let entity = EntityDescriptor {
        entity_id: Some(sp.entity_id.clone()),
        sp_sso_descriptors: Some(vec![descriptor]),
        ..EntityDescriptor::default()
    };
    ToXml::to_string(&entity).map_err(|e| askama::Error::Custom(e.to_string().into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::saml::ns;

    fn descriptor(xml: &str) -> (String, String, Option<String>) {
        let doc = roxmltree::Document::parse(xml).unwrap();
        let sp = doc
            .descendants()
            .find(|n| n.has_tag_name((ns::METADATA, "SPSSODescriptor")))
            .unwrap();
        let cert = doc
            .descendants()
            .find(|n| n.has_tag_name((ns::DSIG, "X509Certificate")))
            .and_then(|n| n.text())
            .map(str::to_owned);
        (
            doc.root_element().attribute("entityID").unwrap().to_owned(),
            sp.attribute("AuthnRequestsSigned").unwrap().to_owned(),
            cert,
        )
    }

    #[test]
    fn the_certificate_is_advertised_only_for_signed_requests() {
        let sp = SpEndpoints::new("https://sso.test/a&b<c>", "acme", "okta");
        let (entity, signed, cert) = descriptor(&render(&sp, None).unwrap());
        assert_eq!(
            (entity.as_str(), signed.as_str(), cert),
            (sp.entity_id.as_str(), "false", None)
        );
        let (_, signed, cert) = descriptor(&render(&sp, Some("MIIBsz+/=")).unwrap());
        assert_eq!(
            (signed.as_str(), cert.as_deref()),
            ("true", Some("MIIBsz+/="))
        );
    }
}
