#!/usr/bin/env python3
"""Regenerates the SAML differential corpus: `make saml-corpus` (not part of `make ci`).

Every response here is signed by code nobody at ssogate wrote:
  pysaml2        its own IdP (Server.create_authn_response), which signs through xmlsec1
  python3-saml   OneLogin_Saml2_Utils.add_sign (python-xmlsec over libxmlsec1)
  python-xmlsec  the libxmlsec1 template API, for what add_sign cannot do (InclusiveNamespaces)
  signxml        a pure-Python XML-DSig implementation (lxml + cryptography)
  xml-crypto     npm's xml-crypto, over vendor-shaped templates (shapes.py)
  samlify        npm's samlify IdP (createLoginResponse), which signs through xml-crypto
Vendor shapes (Okta, Entra ID, Google Workspace, AD FS, Keycloak, Shibboleth, JAXB-style ns2,
all-default-namespace) are built by shapes.py and signed by the generic signers above. Some
files then get a c14n-invariant change of surface syntax (character references, quote style,
whitespace inside tags, CRLF line ends, empty-element form, an XML declaration): the signature
bytes stay the signer's, the text is what other serializers would have produced.

Every file is verified by the xmlsec1 command line (the oracle, with the same flags as
tests/api/saml_differential.rs) before it is written; a file it rejects stops the run.
Writes responses/*.xml, controls/*.xml and manifest.json next to this script.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import xmlsec
from lxml import etree

import shapes
from shapes import A, DS, P, Opts, USERS

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = os.path.join(HERE, "keys")
OUT = os.path.join(HERE, "responses")
CONTROLS = os.path.join(HERE, "controls")


def read(name):
    with open(os.path.join(KEYS, name)) as f:
        return f.read()


KEY = {"rsa": (read("rsa-key.pem"), read("rsa-cert.pem")), "ec": (read("ec-key.pem"), read("ec-cert.pem")),
       "foreign": (read("foreign-key.pem"), read("foreign-cert.pem"))}

SIG_URI = {
    "rsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "rsa-sha384": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "rsa-sha512": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "ecdsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "ecdsa-sha384": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
}
DIGEST_URI = {
    "sha256": "http://www.w3.org/2001/04/xmlenc#sha256",
    "sha384": "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "sha512": "http://www.w3.org/2001/04/xmlenc#sha512",
}
# Third-party signers' own mistakes, kept in the corpus: xmlsec1 rejects these documents and
# ssogate must too.
SIGNXML_BUG = ("signxml 5.2.0 with inclusive_ns_prefixes digests the Reference with the prefix list "
               "but writes InclusiveNamespaces only under SignedInfo's CanonicalizationMethod")
XMLCRYPTO_BUG = ("xml-crypto 6.3.2 canonicalizes SignedInfo without the in-scope default namespace that "
                 "'#default' in its CanonicalizationMethod's PrefixList must render")

PARTS = {"R": (True, False), "A": (False, True), "RA": (True, True)}

# The oracle: every ds:Signature verified with the configured certificate only. Keep in step
# with tests/api/saml_differential.rs.
XMLSEC_FLAGS = [
    "--verify", "--enabled-key-data", "key-name", "--enabled-reference-uris", "same-doc",
    "--id-attr:ID", f"{P}:Response", "--id-attr:ID", f"{A}:Assertion",
]
# No system CA for xmlsec1's X509 store: nothing in a document's KeyInfo can chain to one, and
# xmlsec1 starts in ~5 ms instead of ~25 ms.
ORACLE_ENV = dict(os.environ, SSL_CERT_FILE="/dev/null", SSL_CERT_DIR=os.path.join(tempfile.gettempdir(), "ssogate-no-ca-dir"))
SIG_XPATH = "(//*[local-name()='Signature' and namespace-uri()='http://www.w3.org/2000/09/xmldsig#'])[{}]"


def oracle(xml: str, key: str) -> tuple[bool, int, str]:
    """(accepted, signatures found, first failure) — accepted iff >= 1 signature and all verify."""
    cert = os.path.join(KEYS, f"{key}-cert.pem")
    with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False, encoding="utf-8") as f:
        f.write(xml)
        path = f.name
    try:
        n = 0
        while True:
            r = subprocess.run(["xmlsec1", *XMLSEC_FLAGS, "--pubkey-cert-pem", cert,
                                "--node-xpath", SIG_XPATH.format(n + 1), path],
                               capture_output=True, text=True, env=ORACLE_ENV)
            if "does not return a single node" in r.stderr:
                return (n > 0, n, "" if n else "no signature")
            n += 1
            if r.returncode != 0:
                return (False, n, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "rc != 0")
    finally:
        os.unlink(path)


def parse(xml: str):
    parser = etree.XMLParser(strip_cdata=False, resolve_entities=False, remove_blank_text=False)
    return etree.fromstring(xml.encode(), parser)


def by_id(root, id_):
    return root.xpath("//*[@ID=$id]", id=id_)[0]


def issuer_of(el):
    return el.find(f"{{{A}}}Issuer")


def tostr(root) -> str:
    return etree.tostring(root, encoding="unicode")


# ---------------------------------------------------------------------------------------------
# python-xmlsec (libxmlsec1 templates) and python3-saml (OneLogin add_sign)

XMLSEC_SIG = {
    "rsa-sha256": xmlsec.Transform.RSA_SHA256, "rsa-sha384": xmlsec.Transform.RSA_SHA384,
    "rsa-sha512": xmlsec.Transform.RSA_SHA512, "ecdsa-sha256": xmlsec.Transform.ECDSA_SHA256,
    "ecdsa-sha384": xmlsec.Transform.ECDSA_SHA384,
}
XMLSEC_DIGEST = {"sha256": xmlsec.Transform.SHA256, "sha384": xmlsec.Transform.SHA384,
                 "sha512": xmlsec.Transform.SHA512}


def sign_python_xmlsec(xml, ids, alg, digest, key, prefix="ds", ref_prefixes=None, si_prefixes=None):
    root = parse(xml)
    for id_ in ids:
        el = by_id(root, id_)
        sig = xmlsec.template.create(el, xmlsec.Transform.EXCL_C14N, XMLSEC_SIG[alg], ns=prefix or None)
        issuer_of(el).addnext(sig)
        if si_prefixes:
            cm = sig.find(f"{{{DS}}}SignedInfo/{{{DS}}}CanonicalizationMethod")
            xmlsec.template.transform_add_c14n_inclusive_namespaces(cm, si_prefixes)
        ref = xmlsec.template.add_reference(sig, XMLSEC_DIGEST[digest], uri="#" + id_)
        xmlsec.template.add_transform(ref, xmlsec.Transform.ENVELOPED)
        tr = xmlsec.template.add_transform(ref, xmlsec.Transform.EXCL_C14N)
        if ref_prefixes:
            xmlsec.template.transform_add_c14n_inclusive_namespaces(tr, ref_prefixes)
        xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(sig))
        xmlsec.tree.add_ids(root, ["ID"])
        ctx = xmlsec.SignatureContext()
        k = xmlsec.Key.from_memory(KEY[key][0], xmlsec.KeyFormat.PEM)
        k.load_cert_from_memory(KEY[key][1], xmlsec.KeyFormat.PEM)
        ctx.key = k
        ctx.sign(sig)
    return tostr(root)


def sign_python3_saml(xml, rid, aid, parts, alg, digest):
    """python3-saml signs the first saml:Issuer's parent of the document it is given: so the
    Assertion is signed as a document of its own and put back, then the Response."""
    from onelogin.saml2.utils import OneLogin_Saml2_Utils as U
    key, cert = KEY["rsa"]
    s, d = SIG_URI[alg], DIGEST_URI[digest]
    if "A" in parts:
        root = parse(xml)
        a = by_id(root, aid)
        # Standalone, the Assertion needs the bindings it inherits; lxml copies them over.
        signed = U.add_sign(etree.tostring(a), key, cert, sign_algorithm=s, digest_algorithm=d)
        signed = signed.decode() if isinstance(signed, bytes) else signed
        a.getparent().replace(a, parse(signed))
        xml = tostr(root)
    if "R" in parts:
        out = U.add_sign(xml.encode(), key, cert, sign_algorithm=s, digest_algorithm=d)
        xml = out.decode() if isinstance(out, bytes) else out
    return xml


def sign_signxml(xml, ids, alg, digest, key, prefix="ds", ref_prefixes=None):
    from signxml import XMLSigner, methods
    root = parse(xml)
    for id_ in ids:
        signer = XMLSigner(method=methods.enveloped, signature_algorithm=alg, digest_algorithm=digest,
                           c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
        signer.namespaces = {(prefix or None): DS}
        el = by_id(root, id_)
        placeholder = etree.Element(f"{{{DS}}}Signature", Id="placeholder", nsmap={(prefix or None): DS})
        issuer_of(el).addnext(placeholder)
        root = signer.sign(root, key=KEY[key][0], cert=KEY[key][1], reference_uri="#" + id_,
                           inclusive_ns_prefixes=ref_prefixes.split() if ref_prefixes else None)
    return tostr(root)


# ---------------------------------------------------------------------------------------------
# pysaml2: its own IdP

def pysaml2_responses(workdir):
    from saml2 import BINDING_HTTP_POST
    from saml2.authn_context import PASSWORDPROTECTEDTRANSPORT
    from saml2.config import IdPConfig
    from saml2.saml import NameID
    from saml2.server import Server

    tempfile.tempdir = workdir
    sp_md = os.path.join(workdir, "sp.xml")
    with open(sp_md, "w") as f:
        f.write(
            f'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{shapes.SP_ENTITY}">'
            f'<md:SPSSODescriptor protocolSupportEnumeration="{P}">'
            f'<md:AssertionConsumerService Binding="{BINDING_HTTP_POST}" Location="{shapes.ACS}" index="0"/>'
            f"</md:SPSSODescriptor></md:EntityDescriptor>")
    servers = {}

    def server(key):
        if key not in servers:
            kf = os.path.join(workdir, f"{key}-key.pem")
            cf = os.path.join(workdir, f"{key}-cert.pem")
            for path, text in ((kf, KEY[key][0]), (cf, KEY[key][1])):
                with open(path, "w") as f:
                    f.write(text)
            conf = {
                "entityid": "https://pysaml2-idp.example.com/metadata",
                "xmlsec_binary": shutil.which("xmlsec1"),
                "key_file": kf, "cert_file": cf,
                "allow_unknown_attributes": True,
                "metadata": {"local": [sp_md]},
                "service": {"idp": {
                    "endpoints": {"single_sign_on_service": [("https://pysaml2-idp.example.com/sso", BINDING_HTTP_POST)]},
                    "policy": {"default": {"lifetime": {"minutes": 5}, "attribute_restrictions": None}},
                }},
            }
            servers[key] = Server(config=IdPConfig().load(conf))
        return servers[key]

    identities = {
        "basic": lambda u: {"mail": [u.email], "givenName": [u.first], "sn": [u.last], "employeeNumber": [u.iwms]},
        "none": lambda u: {},
        "rich": lambda u: {"mail": [u.email], "givenName": [u.first], "sn": [u.last], "employeeNumber": [u.iwms],
                           "ou": [u.dept], "eduPersonEntitlement": u.groups or ["none"]},
    }
    out = []
    combos = []
    for parts in ("R", "A", "RA"):
        for alg, digest in (("rsa-sha256", "sha256"), ("rsa-sha384", "sha384"), ("rsa-sha512", "sha512"),
                            ("rsa-sha256", "sha512")):
            combos.append((parts, alg, digest, "rsa", "email", "basic", 0))
        for fmt, ident, user in (("persistent", "rich", 1), ("transient", "none", 2), ("unspecified", "rich", 0)):
            combos.append((parts, "rsa-sha256", "sha256", "rsa", fmt, ident, user))
        combos.append((parts, "rsa-sha512", "sha256", "rsa", "email", "rich", 1))  # pysaml2 refuses ECDSA
    for parts, alg, digest, key, fmt, ident, ui in combos:
        u = USERS[ui]
        srv = server(key)
        resp = srv.create_authn_response(
            identity=identities[ident](u), userid=u.name_id,
            name_id=NameID(text=u.name_id, format=shapes.FMT[fmt]),
            in_response_to=shapes.REQ_ID, destination=shapes.ACS, sp_entity_id=shapes.SP_ENTITY,
            authn={"class_ref": PASSWORDPROTECTEDTRANSPORT, "authn_auth": "https://pysaml2-idp.example.com/metadata"},
            sign_response="R" in parts, sign_assertion="A" in parts,
            sign_alg=SIG_URI[alg], digest_alg=DIGEST_URI[digest],
        )
        shape = f"{parts}-{alg}-{digest}-{fmt}-{ident}-u{ui}"
        # pysaml2 serialises through ElementTree: ns0/ns1/ns2 prefixes, xmlns:ns2 (ds) on the root.
        out.append(dict(generator="pysaml2", shape=shape, vendor="pysaml2", parts=parts, alg=alg, digest=digest,
                        key=key, features=["ds_root"], ds_prefix="ns2", prefix_list=None, xml=str(resp)))
    return out


# ---------------------------------------------------------------------------------------------
# Surface syntax changes that exclusive c14n cannot see (the signature stays valid)

TOKEN = re.compile(r"(<!\[CDATA\[.*?\]\]>|<!--.*?-->|<\?.*?\?>|<[^>]*>)", re.S)


def _map_tokens(xml, on_tag=None, on_text=None):
    """Rewrites start tags and text nodes; CDATA sections, comments and PIs are left alone, and
    so is everything inside ds:Signature when rewriting text."""
    out, in_sig = [], 0
    for i, tok in enumerate(TOKEN.split(xml)):
        if i % 2 == 0:
            out.append(on_text(tok) if on_text and tok and not in_sig else tok)
            continue
        if tok.startswith(("<!", "<?")):
            out.append(tok)
            continue
        name = re.match(r"</?([\w:.-]+)", tok).group(1).split(":")[-1]
        if name == "Signature":
            if tok.startswith("</"):
                in_sig -= 1
            elif not tok.endswith("/>"):
                in_sig += 1
        out.append(on_tag(tok) if on_tag and not tok.startswith("</") else tok)
    return "".join(out)


def surface_charrefs(xml):
    def text(s):
        pieces = re.split(r"(&[^;]+;)", s)
        done = set()
        for i in range(0, len(pieces), 2):
            p = pieces[i]
            for ch, ref in (("e", "&#101;"), ("a", "&#x61;")):
                if ch not in done and ch in p:
                    p = p.replace(ch, ref, 1)
                    done.add(ch)
            pieces[i] = p.replace("'", "&apos;").replace('"', "&quot;").replace(">", "&gt;")
        return "".join(pieces)

    def tag(t):
        return re.sub(r'((?:Recipient|Destination)=")https', r"\1&#x68;ttps", t)
    return _map_tokens(xml, on_tag=tag, on_text=text)


def surface_quotes(xml):
    def attr(m):
        return f"{m.group(1)}='{m.group(2).replace(chr(39), '&apos;')}'"
    return _map_tokens(xml, on_tag=lambda t: re.sub(r'(\s[\w:.-]+)="([^"]*)"', attr, t))


def surface_tagspace(xml):
    def tag(t):
        t = re.sub(r'\s+([\w:.-]+=")', lambda a: "\n\t " + a.group(1), t)
        return t[:-2] + " \n/>" if t.endswith("/>") else t[:-1] + "\t>"
    return _map_tokens(xml, on_tag=tag)


def surface_crlf(xml):
    return xml.replace("\r\n", "\n").replace("\n", "\r\n")


def surface_emptytags(xml):
    # <x a="1"/> -> <x a="1"></x>
    return _map_tokens(xml, on_tag=lambda t: re.sub(r"^<([\w:.-]+)(.*?)\s*/>$", r"<\1\2></\1>", t, flags=re.S))


def surface_decl(xml):
    xml = re.sub(r"^<\?xml[^>]*\?>\s*", "", xml)
    return '<?xml version="1.0" encoding="UTF-8"?>\n<!-- issued by a test IdP -->\n' + xml + "\n<!-- end -->\n"


SURFACES = {"charrefs": surface_charrefs, "quotes": surface_quotes, "tagspace": surface_tagspace,
            "crlf": surface_crlf, "emptytags": surface_emptytags, "decl": surface_decl}


# ---------------------------------------------------------------------------------------------

def vendor_jobs():
    """(python-side entries, node jobs) for the vendor shapes."""
    entries, node = [], []
    n = 0

    def ids(v, parts):
        nonlocal n
        n += 1
        style = {"keycloak": ("ID_{:08x}-1b2c-4d3e-8f90-a1b2c3d4e5f6", "ID_{:08x}-9a8b-4c7d-8e6f-5a4b3c2d1e0f"),
                 "okta": ("id{:08d}1234567890", "id{:08d}9876543210"),
                 "entra": ("_{:08x}-0f1e-4d2c-9b3a-79c8d6e5f4a3", "_{:08x}-1a2b-4c3d-8e5f-6a7b8c9d0e1f")}
        r, a = style.get(v, ("_r{:04d}", "_a{:04d}"))
        return r.format(n), a.format(n)

    def steps(parts, rid, aid):
        return ([aid] if "A" in parts else []) + ([rid] if "R" in parts else [])

    variants = [
        # (label, Opts kwargs, user index)
        ("plain", {}, 0),
        ("pretty-comments", {"pretty": True, "comments": True}, 1),
        ("cdata-dsroot", {"cdata": True, "ds_root": True}, 0),
    ]
    for v, build in shapes.VENDORS.items():
        prefix, ref_pl = shapes.SIG_STYLE[v]
        for label, kw, ui in variants:
            for parts in ("R", "A", "RA"):
                rid, aid = ids(v, parts)
                o = Opts(rid=rid, aid=aid, user=USERS[ui], **kw)
                xml = build(o)
                existing = {"ds": DS} if o.ds_root else None
                px = "ds" if (o.ds_root and prefix != "") else prefix
                meta = dict(vendor=v, parts=parts, features=[f for f in ("pretty", "comments", "cdata", "ds_root") if getattr(o, f)],
                            prefix_list=ref_pl, ds_prefix=px)
                # xml-crypto: every vendor, every variant, every part.
                alg, digest = (("rsa-sha256", "sha256"), ("rsa-sha512", "sha512"), ("rsa-sha384", "sha384"))[n % 3]
                si_pl = ref_pl if "#default" in (ref_pl or "") and label == "plain" else None
                bug = dict(expect="reject", why=XMLCRYPTO_BUG) if si_pl else {}
                node.append(dict(entry=dict(generator="xml-crypto", shape=f"{v}-{label}-{parts}-{alg}", alg=alg,
                                            digest=digest, key="rsa", **bug, **meta),
                                 job=dict(signer="xml-crypto", xml=xml, key=KEY["rsa"][0], cert=KEY["rsa"][1],
                                          steps=[dict(id=i, prefix=px, existingPrefixes=existing, sigAlg=SIG_URI[alg],
                                                      digestAlg=DIGEST_URI[digest], refPrefixList=ref_pl,
                                                      siPrefixList=si_pl)
                                                 for i in steps(parts, rid, aid)])))
                # signxml: the plain and pretty variants (it re-serialises CDATA as text).
                if label != "cdata-dsroot":
                    alg2, digest2, key2 = (("rsa-sha256", "sha256", "rsa"), ("ecdsa-sha256", "sha256", "ec"),
                                           ("rsa-sha512", "sha256", "rsa"))[n % 3]
                    entries.append(dict(generator="signxml", shape=f"{v}-{label}-{parts}-{alg2}", alg=alg2,
                                        digest=digest2, key=key2,
                                        xml=sign_signxml(xml, steps(parts, rid, aid), alg2, digest2, key2, prefix),
                                        **dict(meta, prefix_list=None)))
                    if ref_pl and label == "plain" and parts != "RA":
                        entries.append(dict(generator="signxml", shape=f"{v}-{label}-{parts}-{alg2}-prefixlist",
                                            alg=alg2, digest=digest2, key=key2, expect="reject", why=SIGNXML_BUG,
                                            xml=sign_signxml(xml, steps(parts, rid, aid), alg2, digest2, key2, prefix,
                                                             ref_pl),
                                            **meta))
                # python-xmlsec: the InclusiveNamespaces shapes, with the prefix list on SignedInfo too.
                if ref_pl and label != "plain":
                    alg3, digest3, key3 = (("rsa-sha384", "sha384", "rsa"), ("ecdsa-sha256", "sha512", "ec"))[n % 2]
                    entries.append(dict(generator="python-xmlsec", shape=f"{v}-{label}-{parts}-{alg3}", alg=alg3,
                                        digest=digest3, key=key3,
                                        xml=sign_python_xmlsec(xml, steps(parts, rid, aid), alg3, digest3, key3, px,
                                                               ref_pl.split(), ref_pl.split()),
                                        **meta))
    # python3-saml: the shapes whose Assertion declares every prefix it uses (it signs the
    # Assertion as a document of its own), plus pretty-printed ones.
    for v in ("okta", "google", "entra", "adfs", "shibboleth", "defaultns"):
        for parts in ("R", "A", "RA"):
            for label, kw in (("plain", {}), ("pretty", {"pretty": True, "comments": True})):
                rid, aid = ids(v, parts)
                alg, digest = (("rsa-sha256", "sha256"), ("rsa-sha384", "sha512"), ("rsa-sha512", "sha512"))[n % 3]
                o = Opts(rid=rid, aid=aid, user=USERS[n % 3], **kw)
                entries.append(dict(generator="python3-saml", shape=f"{v}-{label}-{parts}-{alg}", vendor=v, parts=parts,
                                    alg=alg, digest=digest, key="rsa", prefix_list=None, ds_prefix="ds",
                                    features=[f for f in ("pretty", "comments") if getattr(o, f)],
                                    xml=sign_python3_saml(shapes.VENDORS[v](o), rid, aid, parts, alg, digest)))
    # samlify: its own template, and an Okta-like one with saml2 prefixes.
    okta_like = (
        '<saml2p:Response xmlns:saml2p="urn:oasis:names:tc:SAML:2.0:protocol" ID="{ID}" Version="2.0" '
        'IssueInstant="{IssueInstant}" Destination="{Destination}" InResponseTo="{InResponseTo}">'
        '<saml2:Issuer xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion">{Issuer}</saml2:Issuer>'
        '<saml2p:Status><saml2p:StatusCode Value="{StatusCode}"/></saml2p:Status>'
        '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="{AssertionID}" Version="2.0" IssueInstant="{IssueInstant}">'
        '<saml:Issuer>{Issuer}</saml:Issuer><saml:Subject><saml:NameID Format="{NameIDFormat}">{NameID}</saml:NameID>'
        '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData '
        'NotOnOrAfter="{SubjectConfirmationDataNotOnOrAfter}" Recipient="{SubjectRecipient}" InResponseTo="{InResponseTo}"/>'
        '</saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{ConditionsNotBefore}" '
        'NotOnOrAfter="{ConditionsNotOnOrAfter}"><saml:AudienceRestriction><saml:Audience>{Audience}</saml:Audience>'
        '</saml:AudienceRestriction></saml:Conditions>{AuthnStatement}{AttributeStatement}</saml:Assertion></saml2p:Response>')
    for tpl_name, tpl in (("default", None), ("saml2p", okta_like)):
        for parts in ("R", "A", "RA"):
            for alg in ("rsa-sha256", "rsa-sha512"):
                for ui in (0, 1):
                    rid, aid = ids("samlify", parts)
                    u = USERS[ui].__dict__
                    node.append(dict(
                        entry=dict(generator="samlify", shape=f"{tpl_name}-{parts}-{alg}-u{ui}", vendor="samlify",
                                   parts=parts, alg=alg, digest=alg.split("-")[1], key="rsa", features=[],
                                   prefix_list=None, ds_prefix="ds"),
                        job=dict(signer="samlify", key=KEY["rsa"][0], cert=KEY["rsa"][1], parts=parts,
                                 sigAlg=SIG_URI[alg], rid=rid, aid=aid, user=u, template=tpl,
                                 sp_entity=shapes.SP_ENTITY, acs=shapes.ACS, in_response_to=shapes.REQ_ID,
                                 times=dict(issue=shapes.T_ISSUE, before=shapes.T_BEFORE, after=shapes.T_AFTER))))
    return entries, node


def run_node(node):
    if not node:
        return []
    jobs = [dict(name=str(i), **j["job"]) for i, j in enumerate(node)]
    r = subprocess.run(["node", os.path.join(HERE, "sign_node.js")], input=json.dumps(jobs), capture_output=True,
                       text=True, cwd=HERE)
    if r.returncode != 0:
        sys.exit(f"sign_node.js failed:\n{r.stderr}")
    results = json.loads(r.stdout)
    return [dict(xml=res["xml"], **j["entry"]) for j, res in zip(node, results)]


def controls():
    """Documents both verifiers must refuse: not signed by the configured key."""
    out = []
    o = Opts(rid="_ctl_r", aid="_ctl_a")
    base = shapes.okta(o)
    # Signed by another key that ships its own certificate in KeyInfo.
    out.append(("foreign-key-x509-in-keyinfo", sign_python_xmlsec(base, ["_ctl_a"], "rsa-sha256", "sha256", "foreign"),
                "signed by a key whose certificate is only in the document's KeyInfo"))
    # Signed by another key that ships its public key as a KeyValue.
    root = parse(base)
    el = by_id(root, "_ctl_a")
    sig = xmlsec.template.create(el, xmlsec.Transform.EXCL_C14N, xmlsec.Transform.RSA_SHA256, ns="ds")
    issuer_of(el).addnext(sig)
    ref = xmlsec.template.add_reference(sig, xmlsec.Transform.SHA256, uri="#_ctl_a")
    xmlsec.template.add_transform(ref, xmlsec.Transform.ENVELOPED)
    xmlsec.template.add_transform(ref, xmlsec.Transform.EXCL_C14N)
    xmlsec.template.add_key_value(xmlsec.template.ensure_key_info(sig))
    xmlsec.tree.add_ids(root, ["ID"])
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_memory(KEY["foreign"][0], xmlsec.KeyFormat.PEM)
    ctx.sign(sig)
    out.append(("foreign-key-keyvalue", tostr(root), "signed by a key given only as an RSAKeyValue in KeyInfo"))
    out.append(("foreign-key-both-signed", sign_python_xmlsec(base, ["_ctl_a", "_ctl_r"], "rsa-sha256", "sha256", "foreign"),
                "Response and Assertion signed by a foreign key"))
    out.append(("unsigned", base, "no signature at all"))
    return out


def accepted_controls():
    """Documents both verifiers must accept although their KeyInfo names another key: the
    configured certificate decides, KeyInfo is never trusted (nor required to match)."""
    o = Opts(rid="_ctl_r2", aid="_ctl_a2")
    signed = sign_python_xmlsec(shapes.okta(o), ["_ctl_a2"], "rsa-sha256", "sha256", "rsa")
    body = lambda pem: "".join(l for l in pem.splitlines() if not l.startswith("-----"))
    ours, theirs = body(KEY["rsa"][1]), body(KEY["foreign"][1])
    flat = re.sub(r"<ds:X509Certificate>[^<]*</ds:X509Certificate>",
                  f"<ds:X509Certificate>{theirs}</ds:X509Certificate>", signed)
    assert flat != signed and ours not in flat
    return [("foreign-cert-in-keyinfo-signed-by-configured-key", flat,
             "signed by the configured key; KeyInfo carries a foreign certificate", {"response": False, "assertion": True})]
    return out


def main():
    for d in (OUT, CONTROLS):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    work = tempfile.mkdtemp(prefix="saml-corpus-")
    try:
        entries = pysaml2_responses(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        tempfile.tempdir = None
    py, node = vendor_jobs()
    entries += py + run_node(node)

    # Surface variants of a spread of the signed files.
    extra = []
    for i, e in enumerate(entries):
        if i % 4 == 0 and e.get("expect") != "reject":
            name = list(SURFACES)[(i // 4) % len(SURFACES)]
            extra.append(dict(e, shape=f"{e['shape']}-surface-{name}", features=e["features"] + [f"surface:{name}"],
                              xml=SURFACES[name](e["xml"])))
    entries += extra

    manifest = {"comment": "Generated by generate.py (make saml-corpus); read by tests/api/saml_differential.rs.",
                "oracle_flags": XMLSEC_FLAGS, "responses": [], "controls": []}
    failures = []
    seen = set()
    for e in entries:
        name = f"{e['generator']}-{e['shape']}.xml"
        assert name not in seen, name
        seen.add(name)
        ok, n, why = oracle(e["xml"], e["key"])
        resp, asrt = PARTS[e["parts"]]
        expect = e.get("expect", "accept")
        if ok != (expect == "accept") or (ok and n != resp + asrt):
            failures.append(f"{name}: xmlsec1 {'accepted' if ok else 'rejected'} ({n} signatures; "
                            f"expected {expect}) {why}")
            continue
        with open(os.path.join(OUT, name), "w", encoding="utf-8", newline="") as f:
            f.write(e["xml"])
        manifest["responses"].append(dict(
            file=f"responses/{name}", generator=e["generator"], shape=e["shape"], vendor=e["vendor"],
            signed={"response": resp, "assertion": asrt}, algorithm=e["alg"], digest=e["digest"], key=e["key"],
            ds_prefix=e.get("ds_prefix"), prefix_list=e.get("prefix_list"), features=e["features"],
            xmlsec1=expect, **({"why": e["why"]} if "why" in e else {})))
    for name, xml, why in controls():
        ok, n, detail = oracle(xml, "rsa")
        if ok:
            failures.append(f"control {name}: xmlsec1 accepted it")
        with open(os.path.join(CONTROLS, name + ".xml"), "w", encoding="utf-8") as f:
            f.write(xml)
        manifest["controls"].append(dict(file=f"controls/{name}.xml", expect="reject", why=why, key="rsa"))
    for name, xml, why, signed in accepted_controls():
        ok, n, detail = oracle(xml, "rsa")
        if not ok or n != 1:
            failures.append(f"control {name}: xmlsec1 rejected it: {detail}")
        with open(os.path.join(CONTROLS, name + ".xml"), "w", encoding="utf-8") as f:
            f.write(xml)
        manifest["controls"].append(dict(file=f"controls/{name}.xml", expect="accept", why=why, key="rsa",
                                         signed=signed))
    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")
    by_gen = {}
    for r in manifest["responses"]:
        k = r["generator"] + ("" if r["xmlsec1"] == "accept" else " (rejected)")
        by_gen[k] = by_gen.get(k, 0) + 1
    print(f"{len(manifest['responses'])} responses {by_gen}, {len(manifest['controls'])} controls")
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(f"{len(failures)} generated documents were not accepted as expected by xmlsec1")


if __name__ == "__main__":
    main()
