use askama::Template;

use super::SpEndpoints;

#[derive(Template)]
#[template(path = "saml/sp_metadata.xml", escape = "html")]
struct SpMetadataXml<'a> {
    entity_id: &'a str,
    acs_url: &'a str,
    requests_signed: bool,
    signing_certificate: Option<&'a str>,
}

/// `signing_certificate_b64` is the SP's certificate (base64 DER) when requests are signed.
pub fn render(
    sp: &SpEndpoints,
    signing_certificate_b64: Option<&str>,
) -> Result<String, askama::Error> {
    SpMetadataXml {
        entity_id: &sp.entity_id,
        acs_url: &sp.acs_url,
        requests_signed: signing_certificate_b64.is_some(),
        signing_certificate: signing_certificate_b64,
    }
    .render()
}
