#!/usr/bin/env node
// Signs corpus jobs with npm's xml-crypto and samlify (never with anything written here).
//   node sign_node.js < jobs.json > results.json
// jobs: [{name, signer: "xml-crypto", xml, key, cert, steps: [{id, prefix, existingPrefixes,
//          sigAlg, digestAlg, refPrefixList, siPrefixList}]}
//        {name, signer: "samlify", key, cert, parts: "A"|"R"|"RA", sigAlg, rid, aid, user, template}]
// results: [{name, xml}] in job order.
"use strict";
const crypto = require("crypto");
const { SignedXml } = require("xml-crypto");
const saml = require("samlify");

const EXC = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENV = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

// xml-crypto's documented extension point for algorithms it does not ship: SHA-384 digests,
// RSA-SHA384 and ECDSA (raw r||s, as XML-DSig 1.1 requires).
class Sha384 {
  getHash(xml) {
    return crypto.createHash("sha384").update(xml, "utf8").digest("base64");
  }
  getAlgorithmName() {
    return "http://www.w3.org/2001/04/xmldsig-more#sha384";
  }
}
function asymmetric(uri, hash, ec) {
  return class {
    getSignature(signedInfo, privateKey, callback) {
      const opts = ec ? { key: privateKey, dsaEncoding: "ieee-p1363" } : privateKey;
      const sig = crypto.sign(hash, Buffer.from(signedInfo, "utf8"), opts).toString("base64");
      if (callback) callback(null, sig);
      return sig;
    }
    verifySignature(material, key, signatureValue, callback) {
      const opts = ec ? { key, dsaEncoding: "ieee-p1363" } : key;
      const ok = crypto.verify(hash, Buffer.from(material, "utf8"), opts, Buffer.from(signatureValue, "base64"));
      if (callback) callback(null, ok);
      return ok;
    }
    getAlgorithmName() {
      return uri;
    }
  };
}
const EXTRA_SIG = {
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": asymmetric("http://www.w3.org/2001/04/xmldsig-more#rsa-sha384", "sha384", false),
  "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": asymmetric("http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", "sha256", true),
  "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": asymmetric("http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384", "sha384", true),
};

function signXmlCrypto(job) {
  let xml = job.xml;
  for (const step of job.steps) {
    const sig = new SignedXml({
      privateKey: job.key,
      publicCert: job.cert,
      canonicalizationAlgorithm: EXC,
      signatureAlgorithm: step.sigAlg,
      inclusiveNamespacesPrefixList: step.siPrefixList || undefined,
    });
    sig.HashAlgorithms["http://www.w3.org/2001/04/xmldsig-more#sha384"] = Sha384;
    Object.assign(sig.SignatureAlgorithms, EXTRA_SIG);
    sig.addReference({
      xpath: `//*[@ID='${step.id}']`,
      transforms: [ENV, EXC],
      digestAlgorithm: step.digestAlg,
      inclusiveNamespacesPrefixList: step.refPrefixList ? step.refPrefixList.split(" ") : [],
    });
    sig.computeSignature(xml, {
      prefix: step.prefix || undefined,
      existingPrefixes: step.existingPrefixes || undefined,
      location: { reference: `//*[@ID='${step.id}']/*[local-name(.)='Issuer']`, action: "after" },
    });
    xml = sig.getSignedXml();
  }
  return xml;
}

async function signSamlify(job) {
  saml.setSchemaValidator({ validate: () => Promise.resolve("not validated: corpus generation") });
  const POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
  const u = job.user;
  const attributes = [
    { name: "mail", valueTag: "mail", nameFormat: "urn:oasis:names:tc:SAML:2.0:attrname-format:basic", valueXsiType: "xs:string" },
    { name: "givenName", valueTag: "givenName", nameFormat: "urn:oasis:names:tc:SAML:2.0:attrname-format:basic", valueXsiType: "xs:string" },
    { name: "sn", valueTag: "sn", nameFormat: "urn:oasis:names:tc:SAML:2.0:attrname-format:basic", valueXsiType: "xs:string" },
    { name: "iwmsId", valueTag: "iwmsId", nameFormat: "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified", valueXsiType: "xs:string" },
  ];
  const template = job.template || saml.SamlLib.defaultLoginResponseTemplate.context;
  const idp = saml.IdentityProvider({
    entityID: "https://samlify-idp.example.com/metadata",
    privateKey: job.key,
    signingCert: job.cert,
    requestSignatureAlgorithm: job.sigAlg,
    nameIDFormat: ["urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"],
    singleSignOnService: [{ Binding: POST, Location: "https://samlify-idp.example.com/sso" }],
    loginResponseTemplate: { context: template, attributes },
  });
  const sp = saml.ServiceProvider({
    entityID: job.sp_entity,
    assertionConsumerService: [{ Binding: POST, Location: job.acs }],
    wantAssertionsSigned: job.parts.includes("A"),
    wantMessageSigned: job.parts.includes("R"),
  });
  const tvalue = {
    ID: job.rid,
    AssertionID: job.aid,
    Destination: job.acs,
    Audience: job.sp_entity,
    EntityID: job.sp_entity,
    SubjectRecipient: job.acs,
    Issuer: "https://samlify-idp.example.com/metadata",
    IssueInstant: job.times.issue,
    StatusCode: "urn:oasis:names:tc:SAML:2.0:status:Success",
    ConditionsNotBefore: job.times.before,
    ConditionsNotOnOrAfter: job.times.after,
    SubjectConfirmationDataNotOnOrAfter: job.times.after,
    NameIDFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    NameID: u.name_id,
    InResponseTo: job.in_response_to,
    AuthnStatement:
      `<saml:AuthnStatement AuthnInstant="${job.times.issue}" SessionIndex="${job.aid}"><saml:AuthnContext>` +
      "<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>" +
      "</saml:AuthnContext></saml:AuthnStatement>",
    AttributeStatement: saml.SamlLib.attributeStatementBuilder(attributes),
    attrMail: u.email,
    attrGivenName: u.first,
    attrSn: u.last,
    attrIwmsId: u.iwms,
  };
  const res = await idp.createLoginResponse(sp, { extract: { request: { id: job.in_response_to } } }, "post", { email: u.email }, (tpl) => {
    // samlify escapes values itself (replaceTagsByValue); the statements are markup, so they go in first.
    const withStatements = tpl.replace("{AuthnStatement}", tvalue.AuthnStatement).replace("{AttributeStatement}", tvalue.AttributeStatement);
    const rest = { ...tvalue };
    delete rest.AuthnStatement;
    delete rest.AttributeStatement;
    return { id: job.rid, context: saml.SamlLib.replaceTagsByValue(withStatements, rest) };
  });
  return Buffer.from(res.context, "base64").toString("utf8");
}

async function main() {
  const jobs = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const out = [];
  for (const job of jobs) {
    const xml = job.signer === "samlify" ? await signSamlify(job) : signXmlCrypto(job);
    out.push({ name: job.name, xml });
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
