#!/usr/bin/env python3
"""A tiny SAML 2.0 identity provider for ssogate's integration tests, built on pysaml2.

    pysaml2_idp.py --sp-metadata PATH --key PATH --cert PATH --users PATH
                   [--host 127.0.0.1] [--port 0] [--workdir DIR]

Endpoints:
    GET  /metadata       this IdP's metadata (entity ID == this URL)
    GET  /sso/redirect   HTTP-Redirect AuthnRequest -> login form
    POST /login          username + key -> auto-submitting HTTP-POST form with a signed Response
    GET  /healthz        "ok"

Once listening it prints ONE JSON line to stdout ({"port", "entity_id", "sso_url",
"metadata_url"}); all logging goes to stderr.

The SP metadata file is (re)read when it changes, and it need not exist at start-up: with
--port 0 the test only learns the IdP's URLs from that JSON line, so it can start the IdP
first, register it with ssogate (--metadata-url), and only then download ssogate's SP
metadata (served only once the connection exists) to --sp-metadata.
"""
import argparse
import html
import json
import logging
import os
import secrets
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.authn_context import PASSWORDPROTECTEDTRANSPORT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

log = logging.getLogger("pysaml2_idp")

NAMEID_FORMATS = {"persistent": NAMEID_FORMAT_PERSISTENT, "email": NAMEID_FORMAT_EMAILADDRESS}


def idp_config(args, base, with_sp_metadata):
    conf = {
        "entityid": f"{base}/metadata",
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "key_file": args.key,
        "cert_file": args.cert,
        # pysaml2's defaults are SHA-1, which ssogate (rightly) refuses.
        "signing_algorithm": SIG_RSA_SHA256,
        "digest_algorithm": DIGEST_SHA256,
        # Attribute names in the identity are LDAP friendly names (mail, givenName, ...);
        # pysaml2's bundled maps turn them into urn:oid: Names with FriendlyName set.
        "allow_unknown_attributes": True,
        "service": {
            "idp": {
                "endpoints": {
                    "single_sign_on_service": [(f"{base}/sso/redirect", BINDING_HTTP_REDIRECT)],
                },
                # ssogate's AuthnRequests are unsigned (its metadata has no KeyDescriptor).
                "want_authn_requests_signed": False,
                "name_id_format": [NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_EMAILADDRESS],
                # Release every attribute; lifetime bounds the assertion's NotOnOrAfter.
                "policy": {"default": {"lifetime": {"minutes": 5}, "attribute_restrictions": None}},
                "sign_response": True,
                "sign_assertion": True,
                "encrypt_assertion": False,
            },
        },
    }
    if with_sp_metadata:
        conf["metadata"] = {"local": [args.sp_metadata]}
    return IdPConfig().load(conf)


class IdP:
    """Holds the pysaml2 Server (rebuilt when the SP metadata file changes) and pending requests."""

    def __init__(self, args, base):
        self.args, self.base = args, base
        self.users = json.load(open(args.users))
        self.lock = threading.Lock()
        self.server, self.sp_mtime = None, None
        self.pending = {}  # key -> parsed AuthnRequest details; each key is used once
        # Our own metadata does not depend on the SP, so it is built once, up front.
        self.metadata_xml = create_metadata_string(
            None, config=idp_config(args, base, with_sp_metadata=False)
        )

    def saml_server(self):
        mtime = os.stat(self.args.sp_metadata).st_mtime_ns  # FileNotFoundError -> caller's 400
        with self.lock:
            if self.server is None or mtime != self.sp_mtime:
                log.info("loading SP metadata from %s", self.args.sp_metadata)
                self.server = Server(config=idp_config(self.args, self.base, with_sp_metadata=True))
                self.sp_mtime = mtime
            return self.server


class Handler(BaseHTTPRequestHandler):
    idp: IdP  # set on the subclass in main()

    def log_message(self, fmt, *a):  # stderr, never stdout
        log.info("%s %s", self.address_string(), fmt % a)

    def send(self, status, body, ctype="text/html; charset=utf-8"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.guarded(self.get)

    def do_POST(self):
        self.guarded(self.post)

    def guarded(self, handler):
        # A 500 with the error beats a dropped connection when a test goes wrong.
        try:
            handler()
        except Exception as e:  # noqa: BLE001
            log.exception("error handling %s %s", self.command, self.path)
            self.send(500, f"internal error: {e!r}", "text/plain")

    def get(self):
        url = urlsplit(self.path)
        if url.path == "/healthz":
            return self.send(200, "ok", "text/plain")
        if url.path == "/metadata":
            return self.send(200, self.idp.metadata_xml, "application/samlmetadata+xml")
        if url.path == "/sso/redirect":
            return self.sso(parse_qs(url.query))
        self.send(404, "not found", "text/plain")

    def post(self):
        if urlsplit(self.path).path != "/login":
            return self.send(404, "not found", "text/plain")
        length = int(self.headers.get("Content-Length") or 0)
        self.login(parse_qs(self.rfile.read(length).decode()))

    def sso(self, q):
        saml_request = q.get("SAMLRequest", [None])[0]
        if not saml_request:
            return self.send(400, "missing SAMLRequest", "text/plain")
        try:
            server = self.idp.saml_server()
            # The Signature/SigAlg query parameters (if any) are ignored: no SP key is known.
            req = server.parse_authn_request(saml_request, BINDING_HTTP_REDIRECT)
            # response_args checks the issuer is in the SP metadata and picks the ACS URL
            # (the request's AssertionConsumerServiceURL, if the metadata lists it).
            rargs = server.response_args(req.message, [BINDING_HTTP_POST])
        except Exception as e:  # noqa: BLE001 - any parse/lookup failure is the SP's fault here
            log.warning("bad AuthnRequest: %r", e)
            return self.send(400, f"bad SAML request: {e}", "text/plain")
        key = secrets.token_urlsafe(16)
        self.idp.pending[key] = {
            "in_response_to": rargs["in_response_to"],
            "destination": rargs["destination"],
            "sp_entity_id": rargs["sp_entity_id"],
            "relay_state": q.get("RelayState", [""])[0],
        }
        log.info("AuthnRequest %s from %s -> key %s", req.message.id, rargs["sp_entity_id"], key)
        self.send(
            200,
            "<!doctype html><title>Test IdP login</title>"
            '<form method="post" action="/login">'
            '<label>Username <input type="text" name="username" autofocus></label>'
            f'<input type="hidden" name="key" value="{html.escape(key)}">'
            '<button type="submit">Sign in</button></form>',
        )

    def login(self, form):
        username = form.get("username", [""])[0]
        pending = self.idp.pending.pop(form.get("key", [""])[0], None)  # single use
        if pending is None:
            return self.send(400, "unknown or already used key", "text/plain")
        user = self.idp.users.get(username)
        if user is None:
            return self.send(403, "<!doctype html><title>Denied</title><p>Unknown user.</p>")
        server = self.idp.saml_server()
        name_id = NameID(
            text=user["name_id"],
            format=NAMEID_FORMATS[user.get("name_id_format", "persistent")],
            name_qualifier=server.config.entityid,
            sp_name_qualifier=pending["sp_entity_id"],
        )
        resp = server.create_authn_response(
            identity=user.get("attributes", {}),
            userid=username,
            name_id=name_id,
            in_response_to=pending["in_response_to"],
            destination=pending["destination"],
            sp_entity_id=pending["sp_entity_id"],
            # Without authn pysaml2 emits no AuthnStatement, which the Web SSO profile requires.
            authn={"class_ref": PASSWORDPROTECTEDTRANSPORT, "authn_auth": server.config.entityid},
            sign_response=True,
            sign_assertion=True,
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
        )
        http_args = server.apply_binding(
            BINDING_HTTP_POST, str(resp), pending["destination"], pending["relay_state"], response=True
        )
        self.send(200, http_args["data"])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sp-metadata", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--users", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--workdir", default=None)
    args = p.parse_args()
    args.workdir = args.workdir or tempfile.mkdtemp(prefix="pysaml2-idp-")
    os.makedirs(args.workdir, exist_ok=True)
    # pysaml2 hands xmlsec1 its input through NamedTemporaryFile()s; keep them in the workdir.
    tempfile.tempdir = args.workdir
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="idp: %(levelname)s %(name)s: %(message)s")

    # Bind first so that --port 0 resolves before the URLs (and entity ID) are derived from it.
    httpd = ThreadingHTTPServer((args.host, args.port), Handler)
    httpd.daemon_threads = True
    port = httpd.server_address[1]
    base = f"http://{args.host}:{port}"
    Handler.idp = IdP(args, base)

    print(json.dumps({
        "port": port,
        "entity_id": f"{base}/metadata",
        "sso_url": f"{base}/sso/redirect",
        "metadata_url": f"{base}/metadata",
    }), flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
