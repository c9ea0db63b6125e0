//! A SCIM User and ssogate's user record: which SCIM attributes are the columns SSO sign-ins
//! also write (first name, last name, IWMS ID, email), and how a stored user is rendered.
//!
//! One cohesive thing: the SCIM User <-> user record mapping, both directions side by side.
use serde_json::{Map, Value, json};

use super::error::{ScimError, quote};
use super::normalize;
use super::schema::{ENTERPRISE_USER, USER_RESOURCE};
use crate::clock::rfc3339;
use crate::domain::email::EmailAddress;

/// Values stored in columns are what forward-auth headers and the IWMS see: one line, short.
const MAX_COLUMN_CHARS: usize = 256;

/// The SCIM attribute that carries a tenant's IWMS ID (`tenant.scim_iwms_attribute`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IwmsSource {
    pub extension: Option<&'static str>,
    pub attr: &'static str,
}

/// Single-valued string attributes a tenant may pick as its IWMS ID.
const IWMS_CHOICES: &[IwmsSource] = &[
    IwmsSource {
        extension: None,
        attr: "externalId",
    },
    IwmsSource {
        extension: None,
        attr: "nickName",
    },
    IwmsSource {
        extension: None,
        attr: "title",
    },
    IwmsSource {
        extension: None,
        attr: "userType",
    },
    IwmsSource {
        extension: Some(ENTERPRISE_USER),
        attr: "employeeNumber",
    },
    IwmsSource {
        extension: Some(ENTERPRISE_USER),
        attr: "costCenter",
    },
    IwmsSource {
        extension: Some(ENTERPRISE_USER),
        attr: "organization",
    },
    IwmsSource {
        extension: Some(ENTERPRISE_USER),
        attr: "division",
    },
    IwmsSource {
        extension: Some(ENTERPRISE_USER),
        attr: "department",
    },
];

impl IwmsSource {
    /// `employeeNumber`, `externalId`, or the full `urn:…:enterprise:2.0:User:employeeNumber`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let (ext, name) = match raw.rsplit_once(':') {
            Some((uri, name)) if uri.eq_ignore_ascii_case(ENTERPRISE_USER) => {
                (Some(ENTERPRISE_USER), name)
            }
            Some((uri, name)) if uri.eq_ignore_ascii_case(super::schema::USER) => (None, name),
            Some(_) => (Some(""), raw),
            None => (None, raw),
        };
        IWMS_CHOICES
            .iter()
            .find(|c| c.attr.eq_ignore_ascii_case(name) && (ext.is_none() || ext == c.extension))
            .copied()
            .ok_or_else(|| {
                format!(
                    "`{}` cannot carry the IWMS ID; choose one of: {}",
                    quote(raw),
                    IWMS_CHOICES
                        .iter()
                        .map(|c| c.attr)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }

    /// The canonical spelling stored in the tenant's settings.
    pub fn as_string(&self) -> String {
        match self.extension {
            Some(u) => format!("{u}:{}", self.attr),
            None => self.attr.to_owned(),
        }
    }

    fn get<'a>(&self, doc: &'a Map<String, Value>) -> Option<&'a Value> {
        match self.extension {
            None => doc.get(self.attr),
            Some(u) => doc.get(u)?.get(self.attr),
        }
    }

    fn set(&self, doc: &mut Map<String, Value>, v: Option<&str>) {
        let target = match self.extension {
            None => doc,
            Some(u) => {
                let e = doc.entry(u.to_owned()).or_insert_with(|| json!({}));
                match e.as_object_mut() {
                    Some(o) => o,
                    None => return,
                }
            }
        };
        match v {
            Some(v) => target.insert(self.attr.to_owned(), Value::from(v)),
            None => target.remove(self.attr),
        };
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailValue {
    pub value: String,
    pub kind: Option<String>,
    pub primary: bool,
}

/// A SCIM User body, checked and split into what ssogate stores.
#[derive(Debug, Clone)]
pub struct UserFields {
    pub user_name: String,
    pub external_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    pub nick_name: Option<String>,
    pub title: Option<String>,
    pub department: Option<String>,
    pub employee_number: Option<String>,
    pub manager_id: Option<String>,
    /// Set only when the tenant names an IWMS attribute.
    pub iwms_id: Option<String>,
    /// None when the body leaves `active` out.
    pub active: Option<bool>,
    pub email: EmailAddress,
    pub emails: Vec<EmailValue>,
    /// The whole canonical resource, kept for the attributes that have no column.
    pub doc: Map<String, Value>,
    /// Attributes outside the schema the body carried: left out, shown to admins.
    pub ignored: Vec<String>,
}

/// userName is unique per tenant regardless of case (caseExact=false); ASCII folding, as
/// for email addresses.
pub fn user_name_key(user_name: &str) -> String {
    user_name.to_ascii_lowercase()
}

fn column(doc: &Map<String, Value>, path: &[&str]) -> Result<Option<String>, ScimError> {
    let mut cur = doc.get(path[0]);
    for p in &path[1..] {
        cur = cur.and_then(|v| v.get(p));
    }
    one_line(path.last().copied().unwrap_or_default(), cur)
}

/// A value that goes into a column, and from there into forward-auth headers: one line of
/// at most MAX_COLUMN_CHARS characters (a CR or LF could never be sent as a header).
fn one_line(name: &str, v: Option<&Value>) -> Result<Option<String>, ScimError> {
    let Some(v) = v.and_then(Value::as_str) else {
        return Ok(None);
    };
    let v = v.trim();
    if v.chars().any(char::is_control) || v.chars().count() > MAX_COLUMN_CHARS {
        return Err(ScimError::invalid_value(format!(
            "`{name}` must be one line of at most {MAX_COLUMN_CHARS} characters"
        )));
    }
    Ok((!v.is_empty()).then(|| v.to_owned()))
}

fn emails(doc: &Map<String, Value>) -> Vec<EmailValue> {
    doc.get("emails")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|e| {
                    Some(EmailValue {
                        value: e.get("value")?.as_str()?.trim().to_owned(),
                        kind: e.get("type").and_then(Value::as_str).map(str::to_owned),
                        primary: e.get("primary") == Some(&Value::Bool(true)),
                    })
                })
                .filter(|e| !e.value.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The sign-in email, the address that is the person's own (linking, admin grants and
/// forward-auth headers use it): the primary address, else the work address, else the first
/// address listed without a type, else an email-shaped userName, else (for a stored user) the
/// sign-in email it has. An address typed as anything else (`home`, `other`: a private
/// address a directory also lists) is kept as data and never chosen.
fn sign_in_email(
    emails: &[EmailValue],
    user_name: &str,
    current: Option<&EmailAddress>,
) -> Result<EmailAddress, ScimError> {
    let pick = emails
        .iter()
        .find(|e| e.primary)
        // Canonical values are not case-exact: Entra ID and others send "Work".
        .or_else(|| {
            emails.iter().find(|e| {
                e.kind
                    .as_deref()
                    .is_some_and(|k| k.eq_ignore_ascii_case("work"))
            })
        })
        .or_else(|| emails.iter().find(|e| e.kind.is_none()));
    match pick {
        Some(e) => EmailAddress::parse(&e.value).map_err(|_| {
            ScimError::invalid_value(format!(
                "`emails` value `{}` is not an email address",
                quote(&e.value)
            ))
        }),
        None => match (EmailAddress::parse(user_name), current) {
            (Ok(a), _) => Ok(a),
            (Err(_), Some(kept)) => Ok(kept.clone()),
            (Err(_), None) => Err(ScimError::invalid_value(
                "an email address is required: send a primary or work address in `emails`, or a userName that is an email address",
            )),
        },
    }
}

/// Whose whitelisted domain an address is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainHolder {
    ThisTenant,
    OtherTenant,
    Nobody,
}

/// Whether SCIM may give `address` to a person as their own (`what` names it in the error):
/// never in another tenant's domain, and only in the tenant's own domains when it has any.
pub fn check_own_address(
    what: &str,
    address: &EmailAddress,
    holder: DomainHolder,
    tenant_has_domains: bool,
) -> Result<(), ScimError> {
    match holder {
        DomainHolder::ThisTenant => Ok(()),
        DomainHolder::OtherTenant => Err(ScimError::invalid_value(format!(
            "{what} `{address}` is in {}, a domain another tenant has whitelisted",
            address.domain()
        ))),
        DomainHolder::Nobody if tenant_has_domains => Err(ScimError::invalid_value(format!(
            "{what} `{address}` is not in a whitelisted domain of this tenant"
        ))),
        DomainHolder::Nobody => Ok(()),
    }
}

impl UserFields {
    /// The addresses the body gives as the person's own, each with what it is: the userName
    /// when it is an address, and the sign-in email.
    pub fn own_addresses(&self) -> Vec<(&'static str, EmailAddress)> {
        let mut out = Vec::with_capacity(2);
        if let Ok(a) = EmailAddress::parse(&self.user_name) {
            out.push(("userName", a));
        }
        if !out.iter().any(|(_, a)| *a == self.email) {
            out.push(("the sign-in email", self.email.clone()));
        }
        out
    }

    /// Checks a POST body and splits it.
    pub fn from_body(body: &Value, iwms: Option<IwmsSource>) -> Result<Self, ScimError> {
        Self::parse(body, iwms, None)
    }

    /// Checks a PUT body (or a patched resource) for a stored user whose sign-in email is
    /// `current`: a body that names no address of the person's own (only private ones, and
    /// a userName that is no address) leaves it as it is.
    pub fn from_body_replacing(
        body: &Value,
        iwms: Option<IwmsSource>,
        current: Option<&EmailAddress>,
    ) -> Result<Self, ScimError> {
        Self::parse(body, iwms, current)
    }

    fn parse(
        body: &Value,
        iwms: Option<IwmsSource>,
        current: Option<&EmailAddress>,
    ) -> Result<Self, ScimError> {
        let (doc, ignored) = normalize::resource_ignoring_unknown(body, &USER_RESOURCE)?;
        let user_name = column(&doc, &["userName"])?
            .ok_or_else(|| ScimError::invalid_value("`userName` must not be blank"))?;
        let emails = emails(&doc);
        let email = sign_in_email(&emails, &user_name, current)?;
        let ent = |attr: &str| column(&doc, &[ENTERPRISE_USER, attr]);
        Ok(Self {
            external_id: column(&doc, &["externalId"])?,
            first_name: column(&doc, &["name", "givenName"])?,
            last_name: column(&doc, &["name", "familyName"])?,
            display_name: column(&doc, &["displayName"])?,
            nick_name: column(&doc, &["nickName"])?,
            title: column(&doc, &["title"])?,
            department: ent("department")?,
            employee_number: ent("employeeNumber")?,
            manager_id: column(&doc, &[ENTERPRISE_USER, "manager", "value"])?,
            // Whatever attribute carries it, the IWMS ID is held to the column rule.
            iwms_id: match iwms {
                Some(src) => one_line(src.attr, src.get(&doc))?,
                None => None,
            },
            active: doc.get("active").and_then(Value::as_bool),
            user_name,
            email,
            emails,
            doc,
            ignored,
        })
    }
}

/// The SCIM document of a user SCIM never wrote (a sign-in or an admin created it): its email
/// is its userName (set by the caller) and its one, primary, work address; `active` is shown.
pub fn directory_doc(email: &str) -> Map<String, Value> {
    let mut doc = Map::new();
    doc.insert(
        "emails".into(),
        json!([{"value": email, "type": "work", "primary": true}]),
    );
    doc.insert("active".into(), Value::Bool(true));
    doc
}

/// A stored user as SCIM sees it.
#[derive(Debug, Clone)]
pub struct StoredUser {
    pub id: i64,
    pub user_name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub iwms_id: Option<String>,
    pub active: bool,
    pub doc: Map<String, Value>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct GroupRef {
    pub id: i64,
    pub display_name: String,
}

fn set_name_part(doc: &mut Map<String, Value>, part: &str, v: &Option<String>) {
    let name = doc.entry("name").or_insert_with(|| json!({}));
    if let Some(o) = name.as_object_mut() {
        match v {
            Some(v) => o.insert(part.to_owned(), Value::from(v.as_str())),
            None => o.remove(part),
        };
        if o.is_empty() {
            doc.remove("name");
        }
    }
}

/// The resource as GET returns it: the stored document, with the values SSO sign-ins and
/// admins also change (names, IWMS ID, active) taken from the user record.
pub fn render(u: &StoredUser, groups: &[GroupRef], base: &str, iwms: Option<IwmsSource>) -> Value {
    let mut doc = u.doc.clone();
    doc.insert("id".into(), Value::from(u.id.to_string()));
    doc.insert("userName".into(), Value::from(u.user_name.as_str()));
    set_name_part(&mut doc, "givenName", &u.first_name);
    set_name_part(&mut doc, "familyName", &u.last_name);
    if let Some(src) = iwms {
        src.set(&mut doc, u.iwms_id.as_deref());
        if doc
            .get(ENTERPRISE_USER)
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
        {
            doc.remove(ENTERPRISE_USER);
        }
    }
    let mut schemas = vec![Value::from(super::schema::USER)];
    if doc.contains_key(ENTERPRISE_USER) {
        schemas.push(Value::from(ENTERPRISE_USER));
    }
    doc.insert("schemas".into(), Value::Array(schemas));
    // `active` is shown when the client assigned it, with the account's real state (which
    // SCIM keeps in step). Removing it leaves the account as it is.
    if doc.contains_key("active") {
        doc.insert("active".into(), Value::Bool(u.active));
    }
    if !groups.is_empty() {
        doc.insert(
            "groups".into(),
            groups
                .iter()
                .map(|g| {
                    json!({"value": g.id.to_string(), "display": g.display_name,
                           "$ref": format!("{base}/Groups/{}", g.id), "type": "direct"})
                })
                .collect(),
        );
    }
    doc.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": rfc3339(u.created_at),
            "lastModified": rfc3339(u.updated_at),
            "location": format!("{base}/Users/{}", u.id),
        }),
    );
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::scim::schema::USER;

    fn body() -> Value {
        json!({"schemas": [USER, ENTERPRISE_USER], "userName": "Bob@Acme.com", "externalId": "00u1",
               "name": {"givenName": "Bob", "familyName": "Builder"},
               "emails": [{"value": "home@mail.test", "type": "home"}, {"value": "Bob@Acme.com", "type": "work"}],
               ENTERPRISE_USER: {"employeeNumber": "E-7", "manager": {"value": "42"}}})
    }

    #[test]
    fn splits_columns_and_picks_the_sign_in_email() {
        let iwms = IwmsSource::parse("employeeNumber").unwrap();
        let f = UserFields::from_body(&body(), Some(iwms)).unwrap();
        assert_eq!(
            f.email.as_str(),
            "bob@acme.com",
            "work beats the first address"
        );
        assert_eq!(f.iwms_id.as_deref(), Some("E-7"));
        assert_eq!(f.manager_id.as_deref(), Some("42"));
        assert_eq!(f.active, None);
        assert_eq!(user_name_key(&f.user_name), "bob@acme.com");
        let f = UserFields::from_body(&body(), None).unwrap();
        assert_eq!(f.iwms_id, None, "no IWMS attribute configured");
        let mut b = body();
        b["emails"][1]["type"] = json!("Work");
        let f = UserFields::from_body(&b, None).unwrap();
        assert_eq!(f.email.as_str(), "bob@acme.com", "type values ignore case");
    }

    #[test]
    fn needs_an_email_somewhere() {
        let b = json!({"schemas": [USER], "userName": "bob"});
        assert!(
            UserFields::from_body(&b, None)
                .unwrap_err()
                .detail
                .contains("email address is required")
        );
        let b = json!({"schemas": [USER], "userName": "bob", "emails": [{"value": "not-mail"}]});
        assert!(UserFields::from_body(&b, None).is_err());
        let b = json!({"schemas": [USER], "userName": "bob", "name": {"givenName": "a\nb"}, "emails": [{"value": "a@b.co"}]});
        assert!(
            UserFields::from_body(&b, None)
                .unwrap_err()
                .detail
                .contains("one line")
        );
    }

    #[test]
    fn a_private_address_is_never_the_sign_in_email() {
        let pick = |emails: Value, user_name: &str| {
            let b = json!({"schemas": [USER], "userName": user_name, "emails": emails});
            UserFields::from_body(&b, None).map(|f| f.email.as_str().to_owned())
        };
        let private = json!([{"value": "me@home.test", "type": "home"},
                             {"value": "me@mail.test", "type": "other"}]);
        assert_eq!(
            pick(private.clone(), "bob@acme.com").unwrap(),
            "bob@acme.com",
            "the userName, not the first (private) address"
        );
        assert!(
            pick(private, "bob")
                .unwrap_err()
                .detail
                .contains("primary or work address")
        );
        let kept = EmailAddress::parse("bob@acme.com").unwrap();
        let b = json!({"schemas": [USER], "userName": "bob",
                       "emails": [{"value": "me@home.test", "type": "home"}]});
        assert_eq!(
            UserFields::from_body_replacing(&b, None, Some(&kept))
                .unwrap()
                .email,
            kept,
            "a stored user keeps the sign-in email a body gives no replacement for"
        );
        let untyped = json!([{"value": "me@home.test", "type": "home"}, {"value": "b@acme.com"}]);
        assert_eq!(pick(untyped, "bob").unwrap(), "b@acme.com");
        let declared = json!([{"value": "w@acme.com", "type": "work"},
                              {"value": "me@home.test", "type": "home", "primary": true}]);
        assert_eq!(
            pick(declared, "bob").unwrap(),
            "me@home.test",
            "primary is the client's own declaration"
        );
    }

    #[test]
    fn own_addresses_and_their_domains() {
        let b = json!({"schemas": [USER], "userName": "Bob@Acme.com",
                       "emails": [{"value": "bob@acme.com", "type": "work"}]});
        let f = UserFields::from_body(&b, None).unwrap();
        let own = f.own_addresses();
        assert_eq!(own.len(), 1, "the same address once: {own:?}");
        let b = json!({"schemas": [USER], "userName": "bob@globex.com",
                       "emails": [{"value": "bob@acme.com", "type": "work"}]});
        let f = UserFields::from_body(&b, None).unwrap();
        let own: Vec<String> = f
            .own_addresses()
            .iter()
            .map(|(_, a)| a.as_str().to_owned())
            .collect();
        assert_eq!(own, ["bob@globex.com", "bob@acme.com"]);
        let b = json!({"schemas": [USER], "userName": "00u1abc",
                       "emails": [{"value": "bob@acme.com", "primary": true}]});
        let f = UserFields::from_body(&b, None).unwrap();
        assert_eq!(f.own_addresses().len(), 1, "a userName that is no address");

        let a = EmailAddress::parse("bob@globex.com").unwrap();
        let check = |h, has| check_own_address("userName", &a, h, has);
        assert!(check(DomainHolder::ThisTenant, true).is_ok());
        assert!(check(DomainHolder::Nobody, false).is_ok());
        for (h, has) in [
            (DomainHolder::Nobody, true),
            (DomainHolder::OtherTenant, true),
            (DomainHolder::OtherTenant, false),
        ] {
            let e = check(h, has).unwrap_err();
            assert_eq!(
                (e.status, e.scim_type.map(|t| t.as_str())),
                (400, Some("invalidValue"))
            );
        }
    }

    #[test]
    fn render_overlays_what_sign_ins_change() {
        let iwms = IwmsSource::parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        )
        .unwrap();
        let mut b = body();
        b["active"] = json!(true);
        let f = UserFields::from_body(&b, Some(iwms)).unwrap();
        let u = StoredUser {
            id: 9,
            user_name: f.user_name.clone(),
            first_name: Some("Robert".into()),
            last_name: None,
            iwms_id: Some("E-8".into()),
            active: false,
            doc: f.doc.clone(),
            created_at: 0,
            updated_at: 60,
        };
        let r = render(
            &u,
            &[GroupRef {
                id: 3,
                display_name: "Eng".into(),
            }],
            "https://x/scim/v2",
            Some(iwms),
        );
        assert_eq!(r["name"], json!({"givenName": "Robert"}));
        assert_eq!(r[ENTERPRISE_USER]["employeeNumber"], "E-8");
        assert_eq!(
            r[ENTERPRISE_USER]["manager"],
            json!({"value": "42"}),
            "echoed as sent"
        );
        assert_eq!(r["active"], false);
        assert_eq!(r["groups"][0]["value"], "3");
        assert_eq!(r["meta"]["lastModified"], "1970-01-01T00:01:00Z");
        assert_eq!(r["id"], "9");
    }

    #[test]
    fn iwms_source_choices() {
        assert_eq!(
            IwmsSource::parse("EMPLOYEENUMBER").unwrap().as_string(),
            format!("{ENTERPRISE_USER}:employeeNumber")
        );
        assert_eq!(IwmsSource::parse("externalId").unwrap().extension, None);
        assert!(IwmsSource::parse("userName").is_err());
        assert!(IwmsSource::parse("urn:x:employeeNumber").is_err());
    }
}
