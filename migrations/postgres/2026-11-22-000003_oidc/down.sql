DROP TABLE pending_oidc_requests;
DROP TABLE oidc_providers;
