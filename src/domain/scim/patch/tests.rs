use serde_json::{Value, json};

use super::*;
use crate::domain::scim::schema::{ENTERPRISE_USER, GROUP_RESOURCE, USER, USER_RESOURCE};

fn run(doc: Value, body: Value, rs: &ResourceSchema) -> Result<Value, ScimError> {
    let mut d = doc.as_object().unwrap().clone();
    apply(&mut d, &parse_request(&body)?, rs)?;
    Ok(Value::Object(d))
}

fn ops(list: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": list})
}

fn user() -> Value {
    json!({"schemas": [USER], "id": "7", "userName": "bob@acme.com", "active": true,
           "name": {"givenName": "Bob", "familyName": "B"},
           "emails": [{"value": "bob@acme.com", "type": "work", "primary": true}]})
}

#[test]
fn okta_pathless_replace_deactivates() {
    let d = run(
        user(),
        ops(json!([{"op": "replace", "value": {"active": false}}])),
        &USER_RESOURCE,
    )
    .unwrap();
    assert_eq!(d["active"], false);
}

#[test]
fn entra_capitalised_ops_string_booleans_and_value_paths() {
    let d = run(
        user(),
        ops(json!([
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "robert@acme.com"},
            {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Paris"},
            {"op": "Replace", "path": "name.givenName", "value": "Robert"},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "701984"},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": {"value": "12"}}
        ])),
        &USER_RESOURCE,
    )
    .unwrap();
    assert_eq!(
        d["active"], "False",
        "coerced when the result is re-validated"
    );
    assert_eq!(d["emails"][0]["value"], "robert@acme.com");
    assert_eq!(
        d["addresses"],
        json!([{"type": "work", "locality": "Paris"}])
    );
    assert_eq!(d["name"], json!({"givenName": "Robert", "familyName": "B"}));
    assert_eq!(
        d[ENTERPRISE_USER],
        json!({"employeeNumber": "701984", "manager": {"value": "12"}})
    );
    let canonical = crate::domain::scim::normalize::resource(&d, &USER_RESOURCE).unwrap();
    assert_eq!(canonical["active"], false);
}

#[test]
fn pathless_value_object_with_dotted_and_urn_keys() {
    let d = run(
        user(),
        ops(json!([{"op": "replace", "value": {
            "name.familyName": "Builder",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "R&D",
            ENTERPRISE_USER: {"costCenter": "42"},
            "id": "7"
        }}])),
        &USER_RESOURCE,
    )
    .unwrap();
    assert_eq!(d["name"]["familyName"], "Builder");
    assert_eq!(
        d[ENTERPRISE_USER],
        json!({"department": "R&D", "costCenter": "42"})
    );
}

#[test]
fn read_only_targets_refuse_changes_but_accept_their_own_value() {
    let e = run(
        user(),
        ops(json!([{"op": "replace", "value": {"id": "8"}}])),
        &USER_RESOURCE,
    )
    .unwrap_err();
    assert_eq!(
        e.scim_type,
        Some(crate::domain::scim::error::ScimType::Mutability)
    );
    let e = run(
        user(),
        ops(json!([{"op": "add", "path": "groups", "value": [{"value": "1"}]}])),
        &USER_RESOURCE,
    )
    .unwrap_err();
    assert_eq!(
        e.scim_type,
        Some(crate::domain::scim::error::ScimType::Mutability)
    );
}

#[test]
fn remove_needs_a_path_and_removes_matches_only() {
    let e = run(user(), ops(json!([{"op": "remove"}])), &USER_RESOURCE).unwrap_err();
    assert_eq!(
        e.scim_type,
        Some(crate::domain::scim::error::ScimType::NoTarget)
    );
    let mut u = user();
    u["emails"] = json!([{"value": "a@x.y", "type": "work"}, {"value": "b@x.y", "type": "home"}]);
    let d = run(
        u,
        ops(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}])),
        &USER_RESOURCE,
    )
    .unwrap();
    assert_eq!(d["emails"], json!([{"value": "a@x.y", "type": "work"}]));
    let d = run(
        d,
        ops(json!([{"op": "remove", "path": "emails[type eq \"nothing\"]"}])),
        &USER_RESOURCE,
    )
    .unwrap();
    assert_eq!(
        d["emails"].as_array().unwrap().len(),
        1,
        "no match removes nothing"
    );
}

#[test]
fn adding_a_primary_value_demotes_the_old_one() {
    let d = run(
        user(),
        ops(json!([{"op": "add", "path": "emails", "value": [{"value": "new@acme.com", "type": "home", "primary": true}]}])),
        &USER_RESOURCE,
    )
    .unwrap();
    assert_eq!(d["emails"][0].get("primary"), None);
    assert_eq!(d["emails"][1]["primary"], true);
}

#[test]
fn group_members_add_and_remove_the_ways_idps_send_them() {
    let g = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "3", "displayName": "Eng",
                   "members": [{"value": "1"}, {"value": "2"}]});
    let d = run(
        g,
        ops(json!([
            {"op": "add", "path": "members", "value": [{"value": "3"}, {"value": "1"}]},
            {"op": "remove", "path": "members[value eq \"2\"]"},
            {"op": "Remove", "path": "members", "value": [{"value": "1"}]},
            {"op": "replace", "value": {"id": "3", "displayName": "Engineering"}}
        ])),
        &GROUP_RESOURCE,
    )
    .unwrap();
    assert_eq!(d["members"], json!([{"value": "3"}]));
    assert_eq!(d["displayName"], "Engineering");
    let d = run(
        d,
        ops(json!([{"op": "remove", "path": "members"}])),
        &GROUP_RESOURCE,
    )
    .unwrap();
    assert_eq!(d.get("members"), None);
}

#[test]
fn malformed_requests_are_refused() {
    for (body, t) in [
        (
            json!({"Operations": [{"op": "add", "path": "title", "value": "x"}]}),
            "invalidSyntax",
        ),
        (ops(json!([])), "invalidSyntax"),
        (
            ops(json!([{"op": "upsert", "path": "title", "value": "x"}])),
            "invalidSyntax",
        ),
        (
            ops(json!([{"op": "add", "path": "shoeSize", "value": 1}])),
            "invalidPath",
        ),
        (ops(json!([{"op": "add", "path": "title"}])), "invalidValue"),
        (
            ops(json!([{"op": "replace", "value": "x"}])),
            "invalidValue",
        ),
        (
            ops(json!([{"op": "replace", "path": "emails[type co \"zz\"].value", "value": "x"}])),
            "noTarget",
        ),
        (
            ops(json!([{"op": "replace", "path": "emails.value", "value": "x"}])),
            "invalidPath",
        ),
    ] {
        let e = run(user(), body.clone(), &USER_RESOURCE).unwrap_err();
        assert_eq!(e.scim_type.map(|t| t.as_str()), Some(t), "{body}");
    }
}

#[test]
fn remove_by_value_matches_every_given_sub_attribute_with_case_rules() {
    let mut u = user();
    u["emails"] = json!([{"value": "Other@acme.test", "type": "home"}, {"value": "bob@acme.com", "type": "work"}]);
    u["addresses"] =
        json!([{"type": "work", "locality": "Paris"}, {"type": "home", "locality": "Lyon"}]);
    let d = run(
        u,
        ops(json!([
            {"op": "remove", "path": "emails", "value": [{"value": "other@acme.test"}]},
            {"op": "remove", "path": "addresses", "value": [{"type": "work"}]}
        ])),
        &USER_RESOURCE,
    )
    .unwrap();
    assert_eq!(
        d["emails"],
        json!([{"value": "bob@acme.com", "type": "work"}])
    );
    assert_eq!(
        d["addresses"],
        json!([{"type": "home", "locality": "Lyon"}])
    );
    let e = run(
        user(),
        ops(json!([{"op": "remove", "path": "emails", "value": ["x"]}])),
        &USER_RESOURCE,
    )
    .unwrap_err();
    assert_eq!(
        e.scim_type,
        Some(crate::domain::scim::error::ScimType::InvalidValue)
    );
}

#[test]
fn too_many_values_are_refused_before_anything_is_applied() {
    let many: Vec<Value> = (0..MAX_VALUES + 1)
        .map(|i| json!({"value": i.to_string()}))
        .collect();
    let e = parse_request(&ops(
        json!([{"op": "add", "path": "members", "value": many}]),
    ))
    .unwrap_err();
    assert!(e.detail.contains("at most"), "{e}");
}

#[test]
fn sub_attributes_sent_in_another_case_replace_the_stored_ones() {
    let mut u = user();
    u[ENTERPRISE_USER] = json!({"manager": {"value": "42"}});
    let d = run(
        u,
        ops(json!([
            {"op": "replace", "path": "name", "value": {"GivenName": "Robert"}},
            {"op": "replace", "value": {"name": {"FAMILYNAME": "Builder"}}},
            {"op": "replace", "path": format!("{ENTERPRISE_USER}:manager"), "value": {"Value": "43"}},
            {"op": "add", "path": "emails[type eq \"work\"]", "value": {"Value": "robert@acme.com"}}
        ])),
        &USER_RESOURCE,
    )
    .unwrap();
    assert_eq!(
        d["name"],
        json!({"givenName": "Robert", "familyName": "Builder"})
    );
    assert_eq!(d[ENTERPRISE_USER]["manager"], json!({"value": "43"}));
    assert_eq!(
        d["emails"],
        json!([{"value": "robert@acme.com", "type": "work", "primary": true}])
    );
}

#[test]
fn members_are_removed_by_value_whatever_display_or_ref_says() {
    let g = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "3", "displayName": "Eng",
                   "members": [{"value": "1", "display": "a"}, {"value": "2"}, {"value": "5", "type": "User"}]});
    let d = run(
        g.clone(),
        ops(json!([{"op": "remove", "path": "members", "value": [
            {"value": "1", "display": "someone else"},
            {"value": "2", "$ref": "/Users/2"},
            {"value": "5", "type": "user", "$ref": "https://sso.test/t/acme/scim/v2/Users/5"}
        ]}])),
        &GROUP_RESOURCE,
    )
    .unwrap();
    assert_eq!(d.get("members"), None, "{d}");
    for bad in [
        json!({"display": "a"}),
        json!({"$ref": "/Users/1"}),
        json!({"value": "1", "shoeSize": 9}),
    ] {
        let e = run(
            g.clone(),
            ops(json!([{"op": "remove", "path": "members", "value": [bad]}])),
            &GROUP_RESOURCE,
        )
        .unwrap_err();
        assert_eq!(
            e.scim_type,
            Some(crate::domain::scim::error::ScimType::InvalidValue),
            "{bad}"
        );
    }
}

#[test]
fn replacing_the_extension_keeps_the_attributes_it_does_not_name() {
    let mut doc = user();
    doc[ENTERPRISE_USER] = json!({"employeeNumber": "701984", "department": "Ops"});
    let d = run(
        doc,
        ops(json!([{"op": "Replace", "path": ENTERPRISE_USER, "value": {"department": "R&D"}}])),
        &USER_RESOURCE,
    )
    .unwrap();
    assert_eq!(
        d[ENTERPRISE_USER],
        json!({"employeeNumber": "701984", "department": "R&D"})
    );
}
