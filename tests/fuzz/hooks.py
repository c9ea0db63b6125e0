"""Schemathesis hooks for tests/api/api_fuzz.rs.

The server fetches some URLs it is given (SAML metadata, OIDC discovery) and later POSTs to
another (the IWMS endpoint). Generated values could name any host, so before each request
these fields are pointed at loopback addresses: the fuzzer still exercises the validation
and refusal paths, and no request ever leaves this machine.

Generated SAML connections rarely carry a usable IdP; every other one that names no source
gets valid metadata (idp-metadata.xml, a self-signed certificate good for 100 years), so
that creations succeed and their answers are checked too.
"""
import pathlib

import schemathesis

SAFE_URLS = {
    # Refused before any connection: an internal address.
    "metadata_url": "https://127.0.0.1:1/metadata",
    "issuer": "https://127.0.0.1:1",
    # Accepted (http is allowed to loopback); deliveries would fail against a closed port.
    "iwms_endpoint": "http://127.0.0.1:9/iwms",
}

METADATA = (pathlib.Path(__file__).parent / "idp-metadata.xml").read_text().strip()
SOURCES = ("metadata_xml", "metadata_url", "idp_entity_id", "idp_sso_url")
_saml_posts = 0


@schemathesis.hook
def before_call(context, case, kwargs):
    global _saml_posts
    body = case.body
    if not isinstance(body, dict):
        return
    for field, safe in SAFE_URLS.items():
        if field in body and body[field] is not None:
            body[field] = safe
    if case.method.upper() == "POST" and case.path.endswith("/connections/saml"):
        _saml_posts += 1
        if _saml_posts % 2 == 0 and all(body.get(f) is None for f in SOURCES):
            body["metadata_xml"] = METADATA
