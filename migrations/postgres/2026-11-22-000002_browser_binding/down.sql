ALTER TABLE saml_idps DROP COLUMN allow_unbound_responses;
ALTER TABLE pending_authn_requests DROP COLUMN browser_binding;
