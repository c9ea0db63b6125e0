//! /ServiceProviderConfig, /ResourceTypes and /Schemas (RFC 7644 §4): what this server
//! supports, generated from the same schema definitions that validate requests.
use serde_json::{Value, json};

use crate::domain::scim::schema::{self, ENTERPRISE_USER, GROUP, USER};

pub fn service_provider_config(base: &str, max_page: i64, max_body: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/ssogate/ssogate#scim-20-provisioning",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": max_page},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": format!("A per-tenant token from `ssogate scim-token create`; request bodies up to {max_body} bytes"),
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
    })
}

pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User", "name": "User", "endpoint": "/Users", "description": "User Account",
            "schema": USER,
            "schemaExtensions": [{"schema": ENTERPRISE_USER, "required": false}],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group", "name": "Group", "endpoint": "/Groups", "description": "Group",
            "schema": GROUP,
            "schemaExtensions": [],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")},
        }),
    ]
}

pub fn schemas(base: &str) -> Vec<Value> {
    schema::all_schemas(base)
}

/// An entry of `list` whose `id` is `id` (case-insensitive, as URNs are).
pub fn find(list: Vec<Value>, id: &str) -> Option<Value> {
    list.into_iter()
        .find(|v| v["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(id)))
}
