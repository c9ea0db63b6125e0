-- Login CSRF: a pending AuthnRequest remembers the hash of a cookie set in the browser that
-- started it; a connection may explicitly accept responses without it.
ALTER TABLE pending_authn_requests ADD COLUMN browser_binding TEXT;
ALTER TABLE saml_idps ADD COLUMN allow_unbound_responses BOOLEAN NOT NULL DEFAULT 0;
