"""Unsigned SAML Responses shaped like what real IdPs send, for the differential corpus.

Each vendor function returns the XML text of one samlp:Response with exactly one Assertion and
no signature; the signers (generate.py, sign_xmlcrypto.js) insert the ds:Signature after the
Issuer of the element they sign. The shapes follow published samples of each product's output
(prefixes, where namespaces are declared, ID styles, attribute naming), not their exact text.

Options every vendor takes:
  pretty    indent the document (text nodes of whitespace inside signed content)
  comments  put XML comments inside signed content
  cdata     write some attribute values as CDATA sections
  ds_root   declare xmlns:ds on the Response itself (signers then reuse that binding)
"""
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

P = "urn:oasis:names:tc:SAML:2.0:protocol"
A = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
XS = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

SP_ENTITY = "https://sso.example.com/t/acme/saml/idp/metadata"
ACS = "https://sso.example.com/t/acme/saml/idp/acs"
REQ_ID = "_f3c9a1d2b7e84c6f9d0a5b1e2c3d4e5f"
T_ISSUE = "2025-03-14T09:26:53Z"
T_BEFORE = "2025-03-14T09:21:53Z"
T_AFTER = "2025-03-14T09:31:53Z"
T_SESSION = "2025-03-14T17:26:53Z"

EMAIL = "emailAddress"
FMT = {
    "email": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "persistent": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "transient": "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
    "unspecified": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
}


@dataclass
class User:
    name_id: str = "alice.oconnor@example.com"
    email: str = "alice.oconnor@example.com"
    first: str = "Alice"
    last: str = "O'Connor"
    iwms: str = "IW-004217"
    dept: str = "R&D <Facilities> \"West\""
    groups: list = field(default_factory=lambda: ["sso-users", "Émile's team", "日本"])


USERS = [
    User(),
    User(name_id="bjørn.åberg@example.org", email="bjørn.åberg@example.org", first="Bjørn",
         last="Åberg", iwms="IW-1&2", dept="Ops > Infra", groups=["a", "b & c"]),
    User(name_id="00u1a2b3c4D5e6F7g8h9", email="carol@example.com", first="Carol", last="Nguyễn",
         iwms="  padded  ", dept="", groups=[]),
]


@dataclass
class Opts:
    pretty: bool = False
    comments: bool = False
    cdata: bool = False
    ds_root: bool = False
    user: User = field(default_factory=User)
    rid: str = "_r0"
    aid: str = "_a0"
    name_id_format: str = "email"


def t(s: str) -> str:
    """Text content, escaped."""
    return escape(s)


def cdata_or_text(o: Opts, s: str) -> str:
    if o.cdata and s and "]]>" not in s:
        return f"<![CDATA[{s}]]>"
    return t(s)


def c(o: Opts, text: str) -> str:
    return f"<!-- {text} -->" if o.comments else ""


def ds_decl(o: Opts) -> str:
    return f' xmlns:ds="{DS}"' if o.ds_root else ""


def finish(xml: str, o: Opts, indent: str = "  ") -> str:
    """Checks well-formedness; pretty-prints when asked (comments and CDATA kept)."""
    parser = etree.XMLParser(strip_cdata=False, remove_blank_text=True, resolve_entities=False)
    root = etree.fromstring(xml.encode(), parser)
    if not o.pretty:
        return xml
    etree.indent(root, space=indent)
    return etree.tostring(root, encoding="unicode")


# --- Okta: saml2p/saml2, every element declares its own prefix, xs/xsi on each AttributeValue.
def okta(o: Opts) -> str:
    u = o.user

    def attr(name, values):
        vals = "".join(
            f'<saml2:AttributeValue xmlns:xs="{XS}" xmlns:xsi="{XSI}" xsi:type="xs:string">'
            f"{cdata_or_text(o, v)}</saml2:AttributeValue>"
            for v in values
        )
        return (f'<saml2:Attribute Name="{name}" '
                f'NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified">{vals}</saml2:Attribute>')

    return finish(
        f'<saml2p:Response xmlns:saml2p="{P}"{ds_decl(o)} Destination="{ACS}" ID="{o.rid}" '
        f'InResponseTo="{REQ_ID}" IssueInstant="{T_ISSUE}" Version="2.0">'
        f'<saml2:Issuer xmlns:saml2="{A}" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">'
        f"http://www.okta.com/exk1fxp2z3Q4R5s6T7u8</saml2:Issuer>"
        f'<saml2p:Status xmlns:saml2p="{P}"><saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></saml2p:Status>'
        f'<saml2:Assertion xmlns:saml2="{A}" ID="{o.aid}" IssueInstant="{T_ISSUE}" Version="2.0">'
        f'<saml2:Issuer xmlns:saml2="{A}" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">'
        f"http://www.okta.com/exk1fxp2z3Q4R5s6T7u8</saml2:Issuer>"
        f"{c(o, 'okta subject')}"
        f'<saml2:Subject xmlns:saml2="{A}"><saml2:NameID Format="{FMT[o.name_id_format]}">{t(u.name_id)}</saml2:NameID>'
        f'<saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
        f'<saml2:SubjectConfirmationData InResponseTo="{REQ_ID}" NotOnOrAfter="{T_AFTER}" Recipient="{ACS}"/>'
        f"</saml2:SubjectConfirmation></saml2:Subject>"
        f'<saml2:Conditions xmlns:saml2="{A}" NotBefore="{T_BEFORE}" NotOnOrAfter="{T_AFTER}">'
        f"<saml2:AudienceRestriction><saml2:Audience>{SP_ENTITY}</saml2:Audience></saml2:AudienceRestriction>"
        f"</saml2:Conditions>"
        f'<saml2:AuthnStatement xmlns:saml2="{A}" AuthnInstant="{T_ISSUE}" SessionIndex="{o.aid}">'
        f"<saml2:AuthnContext><saml2:AuthnContextClassRef>"
        f"urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml2:AuthnContextClassRef>"
        f"</saml2:AuthnContext></saml2:AuthnStatement>"
        f'<saml2:AttributeStatement xmlns:saml2="{A}">'
        f"{attr('email', [u.email])}{attr('firstName', [u.first])}{c(o, 'names & ids')}"
        f"{attr('lastName', [u.last])}{attr('iwmsId', [u.iwms])}{attr('department', [u.dept])}"
        f"{attr('groups', u.groups) if u.groups else ''}"
        f"</saml2:AttributeStatement></saml2:Assertion></saml2p:Response>",
        o,
    )


# --- Microsoft Entra ID: samlp prefix on the Response, default namespace on Issuer and
# Assertion, claim-URI attribute names, no xsi:type; signs the Assertion by default.
def entra(o: Opts) -> str:
    u = o.user
    claims = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims"

    def attr(name, values):
        vals = "".join(f"<AttributeValue>{cdata_or_text(o, v)}</AttributeValue>" for v in values)
        return f'<Attribute Name="{name}">{vals}</Attribute>'

    return finish(
        f'<samlp:Response ID="{o.rid}" Version="2.0" IssueInstant="{T_ISSUE}" Destination="{ACS}" '
        f'InResponseTo="{REQ_ID}" xmlns:samlp="{P}"{ds_decl(o)}>'
        f'<Issuer xmlns="{A}">https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/</Issuer>'
        f'<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>'
        f'<Assertion ID="{o.aid}" IssueInstant="{T_ISSUE}" Version="2.0" xmlns="{A}">'
        f"<Issuer>https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/</Issuer>"
        f'<Subject><NameID Format="{FMT[o.name_id_format]}">{t(u.name_id)}</NameID>'
        f'<SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
        f'<SubjectConfirmationData InResponseTo="{REQ_ID}" NotOnOrAfter="{T_AFTER}" Recipient="{ACS}"/>'
        f"</SubjectConfirmation></Subject>{c(o, 'entra conditions')}"
        f'<Conditions NotBefore="{T_BEFORE}" NotOnOrAfter="{T_AFTER}">'
        f"<AudienceRestriction><Audience>{SP_ENTITY}</Audience></AudienceRestriction></Conditions>"
        f"<AttributeStatement>"
        f"{attr('http://schemas.microsoft.com/identity/claims/tenantid', ['72f988bf-86f1-41af-91ab-2d7cd011db47'])}"
        f"{attr('http://schemas.microsoft.com/identity/claims/objectidentifier', ['4b9b1c1e-2a3d-4e5f-8a9b-0c1d2e3f4a5b'])}"
        f"{attr(claims + '/emailaddress', [u.email])}{attr(claims + '/givenname', [u.first])}"
        f"{attr(claims + '/surname', [u.last])}{c(o, 'extension attribute')}"
        f"{attr('http://schemas.microsoft.com/identity/claims/extn.iwmsid', [u.iwms])}"
        f"{attr('http://schemas.microsoft.com/ws/2008/06/identity/claims/groups', u.groups) if u.groups else ''}"
        f"</AttributeStatement>"
        f'<AuthnStatement AuthnInstant="{T_ISSUE}" SessionIndex="{o.aid}"><AuthnContext>'
        f"<AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</AuthnContextClassRef>"
        f"</AuthnContext></AuthnStatement></Assertion></samlp:Response>",
        o,
    )


# --- Google Workspace: saml2p/saml2 declared once each, Assertion redeclares saml2.
def google(o: Opts) -> str:
    u = o.user

    def attr(name, values):
        vals = "".join(
            f'<saml2:AttributeValue xmlns:xsi="{XSI}" xsi:type="xs:anyType">{cdata_or_text(o, v)}</saml2:AttributeValue>'
            for v in values
        )
        return f'<saml2:Attribute Name="{name}">{vals}</saml2:Attribute>'

    return finish(
        f'<saml2p:Response xmlns:saml2p="{P}"{ds_decl(o)} Destination="{ACS}" ID="{o.rid}" '
        f'InResponseTo="{REQ_ID}" IssueInstant="{T_ISSUE}" Version="2.0">'
        f'<saml2:Issuer xmlns:saml2="{A}">https://accounts.google.com/o/saml2?idpid=C01abcd2e</saml2:Issuer>'
        f'<saml2p:Status><saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></saml2p:Status>'
        f'<saml2:Assertion xmlns:saml2="{A}" ID="{o.aid}" IssueInstant="{T_ISSUE}" Version="2.0">'
        f"<saml2:Issuer>https://accounts.google.com/o/saml2?idpid=C01abcd2e</saml2:Issuer>"
        f'<saml2:Subject><saml2:NameID Format="{FMT[o.name_id_format]}">{t(u.name_id)}</saml2:NameID>'
        f'<saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
        f'<saml2:SubjectConfirmationData InResponseTo="{REQ_ID}" NotOnOrAfter="{T_AFTER}" Recipient="{ACS}"/>'
        f"</saml2:SubjectConfirmation></saml2:Subject>"
        f'<saml2:Conditions NotBefore="{T_BEFORE}" NotOnOrAfter="{T_AFTER}">'
        f"<saml2:AudienceRestriction><saml2:Audience>{SP_ENTITY}</saml2:Audience></saml2:AudienceRestriction>"
        f"</saml2:Conditions>{c(o, 'google attributes')}"
        f"<saml2:AttributeStatement>{attr('email', [u.email])}{attr('first_name', [u.first])}"
        f"{attr('last_name', [u.last])}{attr('employee_id', [u.iwms])}</saml2:AttributeStatement>"
        f'<saml2:AuthnStatement AuthnInstant="{T_ISSUE}" SessionIndex="{o.aid}"><saml2:AuthnContext>'
        f"<saml2:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified</saml2:AuthnContextClassRef>"
        f"</saml2:AuthnContext></saml2:AuthnStatement></saml2:Assertion></saml2p:Response>",
        o,
    )


# --- AD FS: samlp Response with Consent, default-namespace Issuer/Assertion, claim URIs,
# AttributeValues without types; signs the Assertion by default.
def adfs(o: Opts) -> str:
    u = o.user
    claims = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims"

    def attr(name, values):
        vals = "".join(f"<AttributeValue>{cdata_or_text(o, v)}</AttributeValue>" for v in values)
        return f'<Attribute Name="{name}">{vals}</Attribute>'

    return finish(
        f'<samlp:Response ID="{o.rid}" Version="2.0" IssueInstant="{T_ISSUE}" Destination="{ACS}" '
        f'Consent="urn:oasis:names:tc:SAML:2.0:consent:unspecified" InResponseTo="{REQ_ID}" '
        f'xmlns:samlp="{P}"{ds_decl(o)}>'
        f'<Issuer xmlns="{A}">http://adfs.example.com/adfs/services/trust</Issuer>'
        f'<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success" /></samlp:Status>'
        f'<Assertion ID="{o.aid}" IssueInstant="{T_ISSUE}" Version="2.0" xmlns="{A}">'
        f"<Issuer>http://adfs.example.com/adfs/services/trust</Issuer>"
        f'<Subject><NameID Format="{FMT[o.name_id_format]}">{t(u.name_id)}</NameID>'
        f'<SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
        f'<SubjectConfirmationData InResponseTo="{REQ_ID}" NotOnOrAfter="{T_AFTER}" Recipient="{ACS}" />'
        f"</SubjectConfirmation></Subject>"
        f'<Conditions NotBefore="{T_BEFORE}" NotOnOrAfter="{T_AFTER}"><AudienceRestriction>'
        f"<Audience>{SP_ENTITY}</Audience></AudienceRestriction></Conditions>"
        f"<AttributeStatement>{attr(claims + '/emailaddress', [u.email])}{attr(claims + '/givenname', [u.first])}"
        f"{c(o, 'adfs claim rules')}{attr(claims + '/surname', [u.last])}"
        f"{attr('http://schemas.xmlsoap.org/claims/Group', u.groups) if u.groups else ''}"
        f"{attr('iwms_id', [u.iwms])}</AttributeStatement>"
        f'<AuthnStatement AuthnInstant="{T_ISSUE}" SessionIndex="{o.aid}"><AuthnContext>'
        f"<AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</AuthnContextClassRef>"
        f"</AuthnContext></AuthnStatement></Assertion></samlp:Response>",
        o,
    )


# --- Keycloak: samlp and saml both declared on the Response, so the Assertion inherits its
# prefix from outside what it signs; IDs "ID_<uuid>"; xs/xsi declared on AttributeValue.
def keycloak(o: Opts) -> str:
    u = o.user

    def attr(name, friendly, values):
        vals = "".join(
            f'<saml:AttributeValue xmlns:xs="{XS}" xmlns:xsi="{XSI}" xsi:type="xs:string">'
            f"{cdata_or_text(o, v)}</saml:AttributeValue>"
            for v in values
        )
        return (f'<saml:Attribute FriendlyName="{friendly}" Name="{name}" '
                f'NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">{vals}</saml:Attribute>')

    return finish(
        f'<samlp:Response xmlns:samlp="{P}" xmlns:saml="{A}"{ds_decl(o)} Destination="{ACS}" ID="{o.rid}" '
        f'InResponseTo="{REQ_ID}" IssueInstant="{T_ISSUE}" Version="2.0">'
        f"<saml:Issuer>https://keycloak.example.com/realms/acme</saml:Issuer>"
        f'<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>'
        f'<saml:Assertion xmlns="{A}" ID="{o.aid}" IssueInstant="{T_ISSUE}" Version="2.0">'
        f"<saml:Issuer>https://keycloak.example.com/realms/acme</saml:Issuer>"
        f'<saml:Subject><saml:NameID Format="{FMT[o.name_id_format]}">{t(u.name_id)}</saml:NameID>'
        f'<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
        f'<saml:SubjectConfirmationData InResponseTo="{REQ_ID}" NotOnOrAfter="{T_AFTER}" Recipient="{ACS}"/>'
        f"</saml:SubjectConfirmation></saml:Subject>"
        f'<saml:Conditions NotBefore="{T_BEFORE}" NotOnOrAfter="{T_AFTER}"><saml:AudienceRestriction>'
        f"<saml:Audience>{SP_ENTITY}</saml:Audience></saml:AudienceRestriction></saml:Conditions>"
        f'<saml:AuthnStatement AuthnInstant="{T_ISSUE}" SessionIndex="{o.aid}::b2c7f1e0" '
        f'SessionNotOnOrAfter="{T_SESSION}"><saml:AuthnContext>'
        f"<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified</saml:AuthnContextClassRef>"
        f"</saml:AuthnContext></saml:AuthnStatement>{c(o, 'keycloak mappers')}"
        f"<saml:AttributeStatement>{attr('email', 'email', [u.email])}{attr('firstName', 'givenName', [u.first])}"
        f"{attr('lastName', 'surname', [u.last])}{attr('iwms', 'iwms', [u.iwms])}"
        f"{attr('Role', 'Role', u.groups) if u.groups else ''}</saml:AttributeStatement>"
        f"</saml:Assertion></samlp:Response>",
        o,
    )


# --- Shibboleth IdP: saml2p/saml2, xsd prefix for XML Schema (PrefixList="xsd"),
# pretty-printed by default with four spaces.
def shibboleth(o: Opts) -> str:
    u = o.user

    def attr(oid, friendly, values):
        vals = "".join(
            f'<saml2:AttributeValue xmlns:xsd="{XS}" xmlns:xsi="{XSI}" xsi:type="xsd:string">'
            f"{cdata_or_text(o, v)}</saml2:AttributeValue>"
            for v in values
        )
        return (f'<saml2:Attribute FriendlyName="{friendly}" Name="urn:oid:{oid}" '
                f'NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">{vals}</saml2:Attribute>')

    return finish(
        f'<saml2p:Response xmlns:saml2p="{P}"{ds_decl(o)} Destination="{ACS}" ID="{o.rid}" '
        f'InResponseTo="{REQ_ID}" IssueInstant="{T_ISSUE}" Version="2.0">'
        f'<saml2:Issuer xmlns:saml2="{A}">https://idp.example.edu/idp/shibboleth</saml2:Issuer>'
        f'<saml2p:Status><saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></saml2p:Status>'
        f'<saml2:Assertion xmlns:saml2="{A}" xmlns:xsd="{XS}" ID="{o.aid}" IssueInstant="{T_ISSUE}" Version="2.0">'
        f"<saml2:Issuer>https://idp.example.edu/idp/shibboleth</saml2:Issuer>"
        f'<saml2:Subject><saml2:NameID Format="{FMT[o.name_id_format]}" NameQualifier="https://idp.example.edu/idp/shibboleth" '
        f'SPNameQualifier="{SP_ENTITY}">{t(u.name_id)}</saml2:NameID>'
        f'<saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
        f'<saml2:SubjectConfirmationData Address="192.0.2.10" InResponseTo="{REQ_ID}" NotOnOrAfter="{T_AFTER}" Recipient="{ACS}"/>'
        f"</saml2:SubjectConfirmation></saml2:Subject>"
        f'<saml2:Conditions NotBefore="{T_BEFORE}" NotOnOrAfter="{T_AFTER}"><saml2:AudienceRestriction>'
        f"<saml2:Audience>{SP_ENTITY}</saml2:Audience></saml2:AudienceRestriction></saml2:Conditions>"
        f'<saml2:AuthnStatement AuthnInstant="{T_ISSUE}" SessionIndex="{o.aid}"><saml2:SubjectLocality Address="192.0.2.10"/>'
        f"<saml2:AuthnContext><saml2:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
        f"</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement>{c(o, 'released by attribute-filter')}"
        f"<saml2:AttributeStatement>{attr('0.9.2342.19200300.100.1.3', 'mail', [u.email])}"
        f"{attr('2.5.4.42', 'givenName', [u.first])}{attr('2.5.4.4', 'sn', [u.last])}"
        f"{attr('2.16.840.1.113730.3.1.3', 'employeeNumber', [u.iwms])}"
        f"{attr('1.3.6.1.4.1.5923.1.1.1.7', 'eduPersonEntitlement', u.groups) if u.groups else ''}"
        f"</saml2:AttributeStatement></saml2:Assertion></saml2p:Response>",
        o,
        indent="    ",
    )


# --- JAXB-style (WSO2, older Java stacks): ns2/ns3 prefixes declared on the Response.
def ns2(o: Opts) -> str:
    u = o.user
    return finish(
        f'<ns2:Response xmlns:ns2="{P}" xmlns:ns3="{A}" xmlns:xs="{XS}" xmlns:xsi="{XSI}"{ds_decl(o)} '
        f'ID="{o.rid}" Version="2.0" IssueInstant="{T_ISSUE}" Destination="{ACS}" InResponseTo="{REQ_ID}">'
        f"<ns3:Issuer>https://wso2.example.com/oauth2/token</ns3:Issuer>"
        f'<ns2:Status><ns2:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></ns2:Status>'
        f'<ns3:Assertion ID="{o.aid}" Version="2.0" IssueInstant="{T_ISSUE}">'
        f"<ns3:Issuer>https://wso2.example.com/oauth2/token</ns3:Issuer>"
        f'<ns3:Subject><ns3:NameID Format="{FMT[o.name_id_format]}">{t(u.name_id)}</ns3:NameID>'
        f'<ns3:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
        f'<ns3:SubjectConfirmationData InResponseTo="{REQ_ID}" NotOnOrAfter="{T_AFTER}" Recipient="{ACS}"/>'
        f"</ns3:SubjectConfirmation></ns3:Subject>"
        f'<ns3:Conditions NotBefore="{T_BEFORE}" NotOnOrAfter="{T_AFTER}"><ns3:AudienceRestriction>'
        f"<ns3:Audience>{SP_ENTITY}</ns3:Audience></ns3:AudienceRestriction></ns3:Conditions>"
        f'<ns3:AuthnStatement AuthnInstant="{T_ISSUE}"><ns3:AuthnContext><ns3:AuthnContextClassRef>'
        f"urn:oasis:names:tc:SAML:2.0:ac:classes:Password</ns3:AuthnContextClassRef></ns3:AuthnContext></ns3:AuthnStatement>"
        f"<ns3:AttributeStatement>{c(o, 'claims')}"
        f'<ns3:Attribute Name="http://wso2.org/claims/emailaddress"><ns3:AttributeValue xsi:type="xs:string">{cdata_or_text(o, u.email)}</ns3:AttributeValue></ns3:Attribute>'
        f'<ns3:Attribute Name="http://wso2.org/claims/givenname"><ns3:AttributeValue xsi:type="xs:string">{cdata_or_text(o, u.first)}</ns3:AttributeValue></ns3:Attribute>'
        f'<ns3:Attribute Name="http://wso2.org/claims/lastname"><ns3:AttributeValue xsi:type="xs:string">{cdata_or_text(o, u.last)}</ns3:AttributeValue></ns3:Attribute>'
        f'<ns3:Attribute Name="http://wso2.org/claims/department"><ns3:AttributeValue xsi:type="xs:string">{cdata_or_text(o, u.dept)}</ns3:AttributeValue></ns3:Attribute>'
        f"</ns3:AttributeStatement></ns3:Assertion></ns2:Response>",
        o,
    )


# --- Default namespaces all the way: Response in the protocol default namespace, Assertion
# switching the default to the assertion namespace; comments and CDATA are the point here.
def defaultns(o: Opts) -> str:
    u = o.user
    return finish(
        f'<Response xmlns="{P}"{ds_decl(o)} ID="{o.rid}" Version="2.0" IssueInstant="{T_ISSUE}" '
        f'Destination="{ACS}" InResponseTo="{REQ_ID}">'
        f'<Issuer xmlns="{A}">https://idp.example.net/saml</Issuer>'
        f'<Status><StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></Status>{c(o, "before the assertion")}'
        f'<Assertion xmlns="{A}" xmlns:xsi="{XSI}" xmlns:xs="{XS}" ID="{o.aid}" Version="2.0" IssueInstant="{T_ISSUE}">'
        f"<Issuer>https://idp.example.net/saml</Issuer>"
        f'<Subject>{c(o, "the subject")}<NameID Format="{FMT[o.name_id_format]}">{t(u.name_id)}</NameID>'
        f'<SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
        f'<SubjectConfirmationData InResponseTo="{REQ_ID}" NotOnOrAfter="{T_AFTER}" Recipient="{ACS}"/>'
        f"</SubjectConfirmation></Subject>"
        f'<Conditions NotBefore="{T_BEFORE}" NotOnOrAfter="{T_AFTER}"><AudienceRestriction>'
        f"<Audience>{SP_ENTITY}</Audience></AudienceRestriction></Conditions>"
        f'<AuthnStatement AuthnInstant="{T_ISSUE}"><AuthnContext><AuthnContextClassRef>'
        f"urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</AuthnContextClassRef></AuthnContext></AuthnStatement>"
        f"<AttributeStatement>"
        f'<Attribute Name="mail"><AttributeValue xsi:type="xs:string">{cdata_or_text(o, u.email)}</AttributeValue></Attribute>'
        f'<Attribute Name="givenName"><AttributeValue xsi:type="xs:string">{cdata_or_text(o, u.first)}</AttributeValue></Attribute>'
        f'<Attribute Name="sn">{c(o, "surname - with a dash & <markup>")}<AttributeValue xsi:type="xs:string">{cdata_or_text(o, u.last)}</AttributeValue></Attribute>'
        f'<Attribute Name="department"><AttributeValue xsi:type="xs:string">{cdata_or_text(o, u.dept)}</AttributeValue></Attribute>'
        f'<Attribute Name="iwms"><AttributeValue>{cdata_or_text(o, u.iwms)}</AttributeValue></Attribute>'
        f"</AttributeStatement></Assertion></Response>",
        o,
    )


VENDORS = {
    "okta": okta,
    "entra": entra,
    "google": google,
    "adfs": adfs,
    "keycloak": keycloak,
    "shibboleth": shibboleth,
    "ns2": ns2,
    "defaultns": defaultns,
}

# What each vendor's signatures look like: the ds prefix ("" = default namespace), and the
# InclusiveNamespaces PrefixList it puts on the Reference's exc-c14n transform (None = none).
SIG_STYLE = {
    "okta": ("ds", "xs"),
    "entra": ("", None),
    "google": ("ds", None),
    "adfs": ("ds", None),
    "keycloak": ("dsig", None),
    "shibboleth": ("ds", "xsd"),
    "ns2": ("ds", "xs xsi"),
    "defaultns": ("ds", "#default saml ds xs xsi"),
}
