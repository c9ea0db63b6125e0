//! SCIM `co`, `sw` and `ew` filters answered from trigram indexes (pg_trgm on PostgreSQL, an
//! FTS5 trigram table on SQLite): the same users as the filters' LIKE semantics for every
//! attribute and tricky value, the index in the plan, and filters no index narrows refused
//! from their shape on a large tenant.
use diesel::prelude::*;
use serde_json::{Value, json};
use ssogate::domain::email::EmailAddress;
use ssogate::domain::provisioning::NewUser;
use ssogate::domain::slug::Slug;
use ssogate::domain::user::CreatedVia;
use ssogate::service::admin::TenantInput;
use ssogate::storage::{DbConnection, scim_filter, tenants, users as user_rows, users::scim};

use crate::helpers::{Scim, TestApp, spawn_app, spawn_app_with};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

fn tenant_id(c: &mut DbConnection, slug: &str) -> ssogate::domain::ids::TenantId {
    tenants::find_by_slug(c, &Slug::parse(slug).unwrap())
        .unwrap()
        .unwrap()
        .id
}

/// A user a sign-in created (SCIM never wrote it: its userName is its email).
fn sso_user(app: &TestApp, email: &str, first: &str, last: &str) {
    app.with_db(|c| {
        let t = tenant_id(c, "acme");
        let u = NewUser {
            email: EmailAddress::parse(email).unwrap(),
            first_name: Some(first.to_owned()),
            last_name: Some(last.to_owned()),
            iwms_id: None,
        };
        user_rows::insert(c, t, &u, CreatedVia::Sso, crate::helpers::now()).unwrap();
    });
}

async fn list(scim: &Scim<'_>, filter: &str) -> (u16, Value) {
    let q = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>();
    scim.get(&format!("/Users?count=100&filter={q}")).await
}

/// How an attribute compares: userName and emails fold ASCII (`Key`), the names fold as the
/// database's lower() does, externalId is case-exact.
#[derive(Clone, Copy)]
enum Case {
    Key,
    Fold,
    Exact,
}

/// The SCIM attributes under test, how they compare, and where a user's values are.
const ATTRS: [(&str, Case, &[&str]); 6] = [
    ("userName", Case::Key, &["userName"]),
    ("emails.value", Case::Key, &["emails"]),
    ("name.givenName", Case::Fold, &["name", "givenName"]),
    ("name.familyName", Case::Fold, &["name", "familyName"]),
    ("displayName", Case::Fold, &["displayName"]),
    ("externalId", Case::Exact, &["externalId"]),
];

fn values_of(user: &Value, at: &[&str]) -> Vec<String> {
    if at == ["emails"] {
        return user["emails"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["value"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
    }
    let mut v = user;
    for k in at {
        v = &v[*k];
    }
    v.as_str().map(|s| vec![s.to_owned()]).unwrap_or_default()
}

fn matches(op: &str, have: &str, want: &str) -> bool {
    match op {
        "co" => have.contains(want),
        "sw" => have.starts_with(want),
        _ => have.ends_with(want),
    }
}

const VALUES: [&str; 32] = [
    "abc",
    "ABC",
    "Abc%",
    "%",
    "_",
    "\\",
    "100%",
    "bob_",
    "b\\1",
    "ller",
    "üller",
    "ÜLLER",
    "Üller",
    "ex",
    "e",
    "@acme.test",
    "ACME.TEST",
    "smith",
    "a.smith+",
    ".example.org",
    "ext_abc",
    "ext%abc",
    "xt-abc%",
    "alice",
    "ALICE.S",
    "l",
    "ü",
    "ext\\abc",
    "c%_x",
    "o'b",
    "",
    "müller",
];

async fn seed(app: &TestApp) -> Scim<'_> {
    app.create_tenant("acme", TenantInput::default());
    let scim = app.scim("acme");
    for body in [
        json!({"schemas": [USER], "userName": "Alice.Smith%_x@Example.com", "externalId": "EXT-abc%1",
               "displayName": "Alice Smith",
               "name": {"givenName": "Alice", "familyName": "Smith"},
               "emails": [{"value": "alice_x@example.com", "type": "work", "primary": true},
                          {"value": "A.Smith+home@Mail.example.org", "type": "home"}]}),
        json!({"schemas": [USER], "userName": "bob\\100%@acme.test", "externalId": "ext_abc_2",
               "displayName": "100% Bob_Ü",
               "name": {"givenName": "Bob_", "familyName": "O'Brien"},
               "emails": [{"value": "bob_100@acme.test", "type": "work"}]}),
        json!({"schemas": [USER], "userName": "CAROL", "externalId": "Ext\\abc",
               "displayName": "Carol Müller",
               "name": {"givenName": "Carol", "familyName": "MÜLLER"},
               "emails": [{"value": "Carol@ACME.test", "type": "work"}]}),
        json!({"schemas": [USER], "userName": "dave@acme.test", "externalId": "abc",
               "displayName": "dAVE",
               "name": {"givenName": "Dávid", "familyName": "Üller"},
               "emails": [{"value": "dave@acme.test", "type": "work"}]}),
    ] {
        let (s, u) = scim.post("/Users", body).await;
        assert_eq!(s, 201, "{u}");
    }
    sso_user(app, "erin.example@acme.test", "Erin", "Smith");
    scim
}

/// Every `co`/`sw`/`ew` on the six attributes (and `emails[value …]`) gives exactly the users
/// the LIKE semantics give: wildcards and `\` are literal, userName and emails fold ASCII case,
/// the names fold as the database's lower() does (ASCII on SQLite, Unicode on PostgreSQL),
/// externalId is exact; values of one or two characters (no trigram) too, on a small tenant.
#[tokio::test]
async fn trigram_filters_give_the_same_users_as_like() {
    let app = spawn_app().await;
    let scim = seed(&app).await;
    let (s, all) = scim.get("/Users?count=100").await;
    assert_eq!((s, all["totalResults"].as_i64()), (200, Some(5)), "{all}");
    let users = all["Resources"].as_array().unwrap().clone();
    let db_lower = |s: &str| {
        app.with_db(|c| {
            diesel::select(lower(s.to_owned()))
                .get_result::<String>(c)
                .unwrap()
        })
    };
    let mut checked = 0;
    for (attr, case, at) in ATTRS {
        for op in ["co", "sw", "ew"] {
            for v in VALUES {
                let fold = |s: &str| match case {
                    Case::Key => s.to_ascii_lowercase(),
                    Case::Fold => db_lower(s),
                    Case::Exact => s.to_owned(),
                };
                let want_v = fold(v);
                let mut want: Vec<String> = users
                    .iter()
                    .filter(|u| {
                        values_of(u, at)
                            .iter()
                            .any(|have| matches(op, &fold(have), &want_v))
                    })
                    .map(|u| u["userName"].as_str().unwrap().to_owned())
                    .collect();
                want.sort();
                let quoted = serde_json::to_string(v).unwrap();
                let mut filters = vec![format!("{attr} {op} {quoted}")];
                if attr == "emails.value" {
                    filters.push(format!("emails[value {op} {quoted}]"));
                }
                for filter in filters {
                    let (s, l) = list(&scim, &filter).await;
                    assert_eq!(s, 200, "{filter}: {l}");
                    let mut got: Vec<String> = l["Resources"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .map(|u| u["userName"].as_str().unwrap().to_owned())
                                .collect()
                        })
                        .unwrap_or_default();
                    got.sort();
                    assert_eq!(got, want, "{filter}");
                    assert_eq!(
                        l["totalResults"].as_i64(),
                        Some(want.len() as i64),
                        "{filter}"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 6 * 3 * VALUES.len() + 3 * VALUES.len());
    // The trigram tables follow renames, new names and new emails (SQLite triggers).
    let carol = users.iter().find(|u| u["userName"] == "CAROL").unwrap();
    let id = carol["id"].as_str().unwrap();
    let (s, u) = scim
        .patch(
            &format!("/Users/{id}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "replace", "path": "name.familyName", "value": "Zquorum"},
                                  {"op": "replace", "path": "userName", "value": "carol.zq@acme.test"},
                                  {"op": "replace", "path": "emails", "value": [{"value": "czqx@acme.test", "type": "work"}]}]}),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    for (filter, n) in [
        (r#"name.familyName co "quor""#, 1),
        (r#"name.familyName co "Üller""#, 1),
        (r#"userName sw "carol.zq""#, 1),
        (r#"userName co "arol""#, 1),
        (r#"emails.value co "czqx""#, 1),
        (r#"emails[value co "carol@"]"#, 0),
    ] {
        let (s, l) = list(&scim, filter).await;
        assert_eq!(
            (s, l["totalResults"].as_i64()),
            (200, Some(n)),
            "{filter}: {l}"
        );
    }
}

/// The count behind a trigram filter reads the trigram index: removing an index (or the
/// FTS5 table) fails this test.
#[tokio::test]
async fn trigram_filters_are_planned_on_the_index() {
    let app = spawn_app().await;
    app.create_tenant("acme", TenantInput::default());
    // Enough users that PostgreSQL's planner prefers an index to reading the tenant.
    app.with_db(|c| {
        let t = tenant_id(c, "acme");
        if matches!(c, DbConnection::Pg(_)) {
            for sql in [
                format!(
                    "INSERT INTO users (tenant_id, email, first_name, last_name, status, created_via, created_at, updated_at) \
                     SELECT {}, 'user' || g || '@example.com', 'First' || g, 'Last' || g, 'active', 'sso', 0, 0 \
                     FROM generate_series(1, 30000) g",
                    t.0
                ),
                "INSERT INTO user_emails (tenant_id, user_id, value, value_lc, kind, is_primary) \
                 SELECT tenant_id, id, 'home' || id || '@example.org', 'home' || id || '@example.org', 'home', FALSE \
                 FROM users"
                    .to_owned(),
                // As autovacuum would: merges the GIN indexes' pending lists too.
                "VACUUM ANALYZE users".to_owned(),
                "VACUUM ANALYZE user_emails".to_owned(),
            ] {
                diesel::sql_query(sql).execute(c).unwrap();
            }
        } else {
            for i in 0..300 {
                let u = NewUser {
                    email: EmailAddress::parse(&format!("user{i}@example.com")).unwrap(),
                    first_name: Some(format!("First{i}")),
                    last_name: Some(format!("Last{i}")),
                    iwms_id: None,
                };
                user_rows::insert(c, t, &u, CreatedVia::Sso, crate::helpers::now()).unwrap();
            }
        }
    });
    let pg = app.with_db(|c| matches!(c, DbConnection::Pg(_)));
    for (filter, pg_index, sqlite_table) in [
        (
            r#"userName co "zq7x""#,
            "users_trgm_user_name",
            "users_trgm",
        ),
        (
            r#"userName ew "zq7x""#,
            "users_trgm_user_name",
            "users_trgm",
        ),
        (
            r#"emails.value co "zq7x""#,
            "user_emails_trgm_value",
            "user_emails_trgm",
        ),
        (
            r#"emails[value ew "zq7x"]"#,
            "users_trgm_email",
            "users_trgm",
        ),
        (
            r#"name.givenName co "zq7x""#,
            "users_trgm_first_name",
            "users_trgm",
        ),
        (
            r#"name.familyName sw "zq7x""#,
            "users_trgm_last_name",
            "users_trgm",
        ),
        (
            r#"name.familyName co "zq7x""#,
            "users_trgm_last_name",
            "users_trgm",
        ),
        (
            r#"displayName co "zq7x""#,
            "users_trgm_display_name",
            "users_trgm",
        ),
        (
            r#"externalId ew "zq7x""#,
            "users_trgm_external_id",
            "users_trgm",
        ),
    ] {
        let plan = app.with_db(|c| {
            let t = tenant_id(c, "acme");
            let f = ssogate::domain::scim::filter::parse(filter).unwrap();
            assert_eq!(
                scim_filter::users_narrowing(&f, None),
                scim_filter::Narrowing::Trigram,
                "{filter}"
            );
            let w = scim_filter::users(&f, t, None).unwrap();
            scim::count_plan(c, t, w).unwrap()
        });
        println!("{filter}:\n{plan}\n");
        if pg {
            // A prefix may also be a range of a B-tree on the same expression.
            assert!(
                plan.contains(pg_index) || (filter.contains(" sw ") && plan.contains("Index")),
                "{filter}: {plan}"
            );
            assert!(!plan.contains("Seq Scan"), "{filter}: {plan}");
        } else {
            assert!(
                plan.contains(&format!("{sqlite_table} VIRTUAL TABLE INDEX")),
                "{filter}: {plan}"
            );
            // Every table is searched, never read whole.
            for line in plan.lines() {
                assert!(
                    !line.starts_with("SCAN users ") && line != "SCAN users",
                    "{filter}: {plan}"
                );
                assert!(
                    !line.starts_with("SCAN user_emails ") && line != "SCAN user_emails",
                    "{filter}: {plan}"
                );
            }
            if filter.starts_with("emails") {
                assert!(
                    plan.contains("SEARCH user_emails USING INTEGER PRIMARY KEY"),
                    "{filter}: {plan}"
                );
            }
        }
    }
}

/// A filter no index narrows (a `co`/`ew` value without three letters or digits in a row,
/// `ne`, `not`, `title`, ...) is refused on a tenant larger than `scim.max_scanned_matches`
/// before any scan, even when it would match nothing; a trigram filter is answered.
#[tokio::test]
async fn unnarrowable_filters_are_refused_from_their_shape() {
    let app = spawn_app_with(|s| s.scim.max_scanned_matches = 3).await;
    let scim = seed(&app).await;
    for filter in [
        r#"title eq "nobody has this title""#,
        r#"userName co "zz""#,
        r#"emails[value ew ".x"]"#,
        r#"displayName co "ü""#,
        r#"not (userName eq "nobody")"#,
        r#"userName co "abc" or title eq "x""#,
    ] {
        let (s, e) = list(&scim, filter).await;
        assert_eq!(s, 400, "{filter}: {e}");
        assert_eq!(e["scimType"], "tooMany", "{filter}: {e}");
        assert!(
            e["detail"]
                .as_str()
                .unwrap()
                .contains("cannot be answered from an index and the tenant has more than 3 users"),
            "{filter}: {e}"
        );
    }
    for (filter, n) in [
        (r#"userName co "zzz""#, 0),
        (r#"name.familyName co "smi""#, 2),
        (r#"userName co "abc" and title eq "x""#, 0),
        (r#"emails[value co "acme" and type eq "work"]"#, 4),
        // An `and` is bounded by its smaller side (2 and 3 here), then counted exactly.
        (r#"userName co "acme" and name.familyName co "smi""#, 1),
    ] {
        let (s, l) = list(&scim, filter).await;
        if n > 3 {
            // A trigram condition's matches are counted through its index up to the bound.
            assert_eq!(
                (s, l["scimType"].as_str()),
                (400, Some("tooMany")),
                "{filter}: {l}"
            );
            assert!(
                l["detail"]
                    .as_str()
                    .unwrap()
                    .contains("may match more than 3 users"),
                "{filter}: {l}"
            );
        } else {
            assert_eq!(
                (s, l["totalResults"].as_i64()),
                (200, Some(n)),
                "{filter}: {l}"
            );
        }
    }
    // The bound comes from the trigram condition alone: 4 emails contain "acme", so this is
    // refused though none of them is a home address (a condition no index narrows does not
    // lower it).
    let (s, l) = list(&scim, r#"emails[value co "acme" and type eq "home"]"#).await;
    assert_eq!((s, l["scimType"].as_str()), (400, Some("tooMany")), "{l}");
}
