//! The SCIM schemas ssogate serves (RFC 7643 §4, §8.7): the core User with the enterprise
//! extension, and Group. One definition drives /Schemas, attribute-name case folding,
//! value checks, mutability and what is returned.

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Reference,
    Binary,
    Complex,
}

impl Type {
    pub fn as_str(self) -> &'static str {
        match self {
            Type::String => "string",
            Type::Boolean => "boolean",
            Type::Decimal => "decimal",
            Type::Integer => "integer",
            Type::DateTime => "dateTime",
            Type::Reference => "reference",
            Type::Binary => "binary",
            Type::Complex => "complex",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

impl Mutability {
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

impl Returned {
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Attr {
    pub name: &'static str,
    pub ty: Type,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    /// "server" for userName; "none" otherwise.
    pub unique: bool,
    pub canonical: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub: &'static [Attr],
    pub description: &'static str,
}

const fn s(name: &'static str, description: &'static str) -> Attr {
    Attr {
        name,
        ty: Type::String,
        multi: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        unique: false,
        canonical: &[],
        reference_types: &[],
        sub: &[],
        description,
    }
}

const fn typed(name: &'static str, ty: Type, description: &'static str) -> Attr {
    let mut a = s(name, description);
    a.ty = ty;
    a
}

const fn complex(name: &'static str, sub: &'static [Attr], description: &'static str) -> Attr {
    let mut a = s(name, description);
    a.ty = Type::Complex;
    a.sub = sub;
    a
}

const fn multi(mut a: Attr) -> Attr {
    a.multi = true;
    a
}

const fn read_only(mut a: Attr) -> Attr {
    a.mutability = Mutability::ReadOnly;
    a
}

const fn exact(mut a: Attr) -> Attr {
    a.case_exact = true;
    a
}

const fn reference(name: &'static str, types: &'static [&'static str], d: &'static str) -> Attr {
    let mut a = typed(name, Type::Reference, d);
    a.reference_types = types;
    a.case_exact = true;
    a
}

const fn canonical(mut a: Attr, values: &'static [&'static str]) -> Attr {
    a.canonical = values;
    a
}

/// value/display/type/primary, the shape of most multi-valued attributes.
const fn plural(ty: Type, kinds: &'static [&'static str]) -> [Attr; 4] {
    let mut value = typed("value", ty, "The value.");
    value.required = true;
    [
        value,
        s(
            "display",
            "A human-readable name, primarily used for display purposes.",
        ),
        canonical(
            s("type", "A label indicating the attribute's function."),
            kinds,
        ),
        typed(
            "primary",
            Type::Boolean,
            "Whether this is the primary value; at most one value is primary.",
        ),
    ]
}

const EMAIL_SUB: [Attr; 4] = plural(Type::String, &["work", "home", "other"]);
const PHONE_SUB: [Attr; 4] = plural(
    Type::String,
    &["work", "home", "mobile", "fax", "pager", "other"],
);
const IMS_SUB: [Attr; 4] = plural(
    Type::String,
    &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
);
const PHOTO_SUB: [Attr; 4] = [
    reference("value", &["external"], "URL of a photo of the user."),
    s("display", "A human-readable name."),
    canonical(s("type", "photo or thumbnail."), &["photo", "thumbnail"]),
    typed(
        "primary",
        Type::Boolean,
        "Whether this is the primary photo.",
    ),
];
const PLAIN_SUB: [Attr; 4] = plural(Type::String, &[]);
const CERT_SUB: [Attr; 4] = plural(Type::Binary, &[]);

const NAME_SUB: [Attr; 6] = [
    s("formatted", "The full name, formatted for display."),
    s("familyName", "The family name (last name)."),
    s("givenName", "The given name (first name)."),
    s("middleName", "The middle name(s)."),
    s("honorificPrefix", "The honorific prefix(es), e.g. 'Ms.'."),
    s("honorificSuffix", "The honorific suffix(es), e.g. 'III'."),
];

const ADDRESS_SUB: [Attr; 8] = [
    s(
        "formatted",
        "The full mailing address, formatted for display.",
    ),
    s("streetAddress", "The street address."),
    s("locality", "The city or locality."),
    s("region", "The state or region."),
    s("postalCode", "The zip code or postal code."),
    s("country", "The country name (ISO 3166-1 alpha-2)."),
    canonical(
        s("type", "work, home or other."),
        &["work", "home", "other"],
    ),
    typed(
        "primary",
        Type::Boolean,
        "Whether this is the primary address.",
    ),
];

const GROUP_REF_SUB: [Attr; 4] = [
    exact(read_only(s("value", "The id of the group."))),
    read_only(reference("$ref", &["Group"], "The URI of the group.")),
    read_only(s("display", "The group's displayName.")),
    read_only(canonical(
        s("type", "direct or indirect."),
        &["direct", "indirect"],
    )),
];

pub const USER_ATTRS: &[Attr] = &[
    {
        let mut a = s(
            "userName",
            "Unique identifier for the user, typically the sign-in name; unique per tenant, case-insensitive.",
        );
        a.required = true;
        a.unique = true;
        a
    },
    complex("name", &NAME_SUB, "The components of the user's name."),
    s("displayName", "The name of the user, suitable for display."),
    s("nickName", "The casual way to address the user."),
    reference(
        "profileUrl",
        &["external"],
        "A URL of the user's online profile.",
    ),
    s("title", "The user's title, such as 'Vice President'."),
    s(
        "userType",
        "The relationship between the organization and the user.",
    ),
    s(
        "preferredLanguage",
        "The user's preferred written or spoken language.",
    ),
    s("locale", "The user's default location, e.g. en-US."),
    s(
        "timezone",
        "The user's time zone in IANA format, e.g. Europe/Paris.",
    ),
    typed("active", Type::Boolean, "Whether the user can sign in."),
    {
        let mut a = s(
            "password",
            "Accepted and discarded: ssogate has no password sign-in and never stores passwords.",
        );
        a.mutability = Mutability::WriteOnly;
        a.returned = Returned::Never;
        a.case_exact = true;
        a
    },
    {
        // Required: ssogate keeps an email for every user. A userName that is an email
        // address stands in when `emails` is absent.
        let mut a = multi(complex(
            "emails",
            &EMAIL_SUB,
            "Email addresses; the primary (or work, or first) one is the sign-in email. Required unless userName is an email address.",
        ));
        a.required = true;
        a
    },
    multi(complex("phoneNumbers", &PHONE_SUB, "Phone numbers.")),
    multi(complex("ims", &IMS_SUB, "Instant messaging addresses.")),
    multi(complex("photos", &PHOTO_SUB, "URLs of photos of the user.")),
    multi(complex(
        "addresses",
        &ADDRESS_SUB,
        "Physical mailing addresses.",
    )),
    read_only(multi(complex(
        "groups",
        &GROUP_REF_SUB,
        "The groups the user belongs to (managed through /Groups).",
    ))),
    multi(complex("entitlements", &PLAIN_SUB, "Entitlements.")),
    multi(complex("roles", &PLAIN_SUB, "Roles.")),
    multi(complex(
        "x509Certificates",
        &CERT_SUB,
        "X.509 certificates (base64 DER).",
    )),
];

const MANAGER_SUB: [Attr; 3] = [
    exact(s("value", "The id of the user's manager.")),
    reference(
        "$ref",
        &["User"],
        "The URI of the manager, as the client sent it.",
    ),
    read_only(s("displayName", "The manager's displayName.")),
];

pub const ENTERPRISE_ATTRS: &[Attr] = &[
    s(
        "employeeNumber",
        "A string identifier, typically numeric or alphanumeric.",
    ),
    s("costCenter", "The name of a cost center."),
    s("organization", "The name of an organization."),
    s("division", "The name of a division."),
    s("department", "The name of a department."),
    complex("manager", &MANAGER_SUB, "The user's manager."),
];

const MEMBER_SUB: [Attr; 4] = [
    {
        let mut a = exact(s("value", "The id of a member (a user)."));
        a.mutability = Mutability::Immutable;
        a
    },
    {
        let mut a = reference("$ref", &["User"], "The URI of the member.");
        a.mutability = Mutability::Immutable;
        a
    },
    read_only(s("display", "The member's displayName.")),
    {
        let mut a = canonical(
            s("type", "User (nested groups are not supported)."),
            &["User"],
        );
        a.mutability = Mutability::Immutable;
        a
    },
];

pub const GROUP_ATTRS: &[Attr] = &[
    {
        let mut a = s("displayName", "A human-readable name for the group.");
        a.required = true;
        a
    },
    multi(complex("members", &MEMBER_SUB, "The users in the group.")),
];

/// A resource's schemas: its core schema and the extensions it may carry.
#[derive(Debug, Clone, Copy)]
pub struct ResourceSchema {
    pub core: &'static str,
    pub core_name: &'static str,
    pub core_attrs: &'static [Attr],
    pub extensions: &'static [(&'static str, &'static str, &'static [Attr])],
}

pub const USER_RESOURCE: ResourceSchema = ResourceSchema {
    core: USER,
    core_name: "User",
    core_attrs: USER_ATTRS,
    extensions: &[(ENTERPRISE_USER, "EnterpriseUser", ENTERPRISE_ATTRS)],
};

pub const GROUP_RESOURCE: ResourceSchema = ResourceSchema {
    core: GROUP,
    core_name: "Group",
    core_attrs: GROUP_ATTRS,
    extensions: &[],
};

/// The common attribute clients set (RFC 7643 §3.1): their own identifier for the resource.
pub const EXTERNAL_ID: Attr = exact(s(
    "externalId",
    "An identifier for the resource as defined by the provisioning client.",
));

pub const ID: Attr = read_only(exact(s("id", "The server's identifier for the resource.")));

const META_SUB: [Attr; 5] = [
    read_only(s("resourceType", "User or Group.")),
    read_only(typed(
        "created",
        Type::DateTime,
        "When the resource was created.",
    )),
    read_only(typed(
        "lastModified",
        Type::DateTime,
        "When the resource last changed.",
    )),
    read_only(reference("location", &["uri"], "The URI of the resource.")),
    read_only(s("version", "The resource version.")),
];
pub const META: Attr = read_only(complex("meta", &META_SUB, "Resource metadata."));

/// The common attributes (RFC 7643 §3.1), by name.
pub fn common(name: &str) -> Option<&'static Attr> {
    [&ID, &EXTERNAL_ID, &META]
        .into_iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

pub fn find<'a>(attrs: &'a [Attr], name: &str) -> Option<&'a Attr> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

impl ResourceSchema {
    /// The extension whose URN is `uri` (case-insensitive).
    pub fn extension(&self, uri: &str) -> Option<(&'static str, &'static [Attr])> {
        self.extensions
            .iter()
            .find(|(u, _, _)| u.eq_ignore_ascii_case(uri))
            .map(|(u, _, a)| (*u, *a))
    }

    /// The attribute list a URN prefix (or none, for the core) refers to.
    pub fn attrs_for(&self, uri: Option<&str>) -> Option<(&'static str, &'static [Attr])> {
        match uri {
            None => Some((self.core, self.core_attrs)),
            Some(u) if u.eq_ignore_ascii_case(self.core) => Some((self.core, self.core_attrs)),
            Some(u) => self.extension(u),
        }
    }

    pub fn schema_uris(&self) -> Vec<&'static str> {
        std::iter::once(self.core)
            .chain(self.extensions.iter().map(|(u, _, _)| *u))
            .collect()
    }
}

fn attr_json(a: &Attr) -> serde_json::Value {
    let mut v = serde_json::json!({
        "name": a.name,
        "type": a.ty.as_str(),
        "multiValued": a.multi,
        "description": a.description,
        "required": a.required,
        "mutability": a.mutability.as_str(),
        "returned": a.returned.as_str(),
    });
    if a.ty != Type::Complex && a.ty != Type::Boolean {
        v["caseExact"] = a.case_exact.into();
        v["uniqueness"] = (if a.unique { "server" } else { "none" }).into();
    }
    if !a.canonical.is_empty() {
        v["canonicalValues"] = a.canonical.into();
    }
    if a.ty == Type::Reference {
        v["referenceTypes"] = a.reference_types.into();
    }
    if a.ty == Type::Complex {
        v["subAttributes"] = a.sub.iter().map(attr_json).collect();
    }
    v
}

/// The /Schemas representation of one schema (RFC 7643 §7), with its meta.
pub fn schema_json(
    id: &str,
    name: &str,
    description: &str,
    attrs: &[Attr],
    base: &str,
) -> serde_json::Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attrs.iter().map(attr_json).collect::<Vec<_>>(),
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{id}") },
    })
}

pub fn all_schemas(base: &str) -> Vec<serde_json::Value> {
    vec![
        schema_json(USER, "User", "User Account", USER_ATTRS, base),
        schema_json(
            ENTERPRISE_USER,
            "EnterpriseUser",
            "Enterprise User",
            ENTERPRISE_ATTRS,
            base,
        ),
        schema_json(GROUP, "Group", "Group", GROUP_ATTRS, base),
    ]
}
