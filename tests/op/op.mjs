// A small OpenID Provider for ssogate's OIDC integration tests, built on oidc-provider.
//
//   node tests/op/op.mjs --port 0 --client-id ID --client-secret SECRET --redirect-uri URI \
//        --users PATH [--host 127.0.0.1] [--error CODE]
//
// Once listening it prints exactly one JSON line to stdout, {"port": N, "issuer": "http://HOST:N"};
// everything else goes to stderr. --users is a JSON file {"<login>": {"sub": ..., "email": ...,
// "email_verified": ..., "given_name": ..., "family_name": ..., "employee_number": ...}}.
//
// Sign-in needs no JavaScript: /auth redirects to GET /interaction/:uid, a form that POSTs `login`
// to /interaction/:uid/login; a known login finishes the interaction with the login and an
// automatic consent, an unknown one gets 403. Cookies (_interaction, _interaction_resume, _session
// and their .sig) must be kept between /auth, /interaction and /auth/:uid.
// With --error CODE every authorization request is answered with error=CODE at the redirect_uri.

// oidc-provider prints its notices with console.info; stdout carries only the JSON line.
console.log = console.error;
console.info = console.error;

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'redirect-uri': { type: 'string' },
    users: { type: 'string' },
    error: { type: 'string' },
  },
  strict: true,
});

for (const required of ['client-id', 'client-secret', 'redirect-uri', 'users']) {
  if (!args[required]) {
    console.error(`op.mjs: --${required} is required`);
    process.exit(2);
  }
}

// login -> claims, and sub (the accountId) -> claims.
const usersByLogin = JSON.parse(fs.readFileSync(args.users, 'utf8'));
const usersBySub = new Map();
for (const [login, claims] of Object.entries(usersByLogin)) {
  claims.sub ??= login;
  usersBySub.set(claims.sub, claims);
}

const htmlEscape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, status, title, body) {
  const html = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${htmlEscape(title)}</title></head>
<body><h1>${htmlEscape(title)}</h1>
${body}
</body></html>
`;
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(html));
  res.end(html);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// A fresh RS256 signing key each run; oidc-provider derives the kid (RFC 7638 thumbprint).
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = { ...privateKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig' };

let provider;
let providerCallback;

async function interactionRoutes(req, res, url) {
  const m = /^\/interaction\/([^/]+)(\/login)?$/.exec(url.pathname);
  if (!m) return false;
  const [, uid, login] = m;

  try {
    if (!login && req.method === 'GET') {
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== uid) return page(res, 400, 'Interaction mismatch', ''), true;

      if (args.error) {
        await provider.interactionFinished(req, res, {
          error: args.error,
          error_description: `test OP configured to answer ${args.error}`,
        }, { mergeWithLastSubmission: false });
        return true;
      }

      page(res, 200, 'Sign in', `<p>Client: ${htmlEscape(details.params.client_id)}</p>
<form method="post" action="/interaction/${htmlEscape(uid)}/login">
  <label>Login <input type="text" name="login" autofocus></label>
  <button type="submit">Sign in</button>
</form>`);
      return true;
    }

    if (login && req.method === 'POST') {
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== uid) return page(res, 400, 'Interaction mismatch', ''), true;
      const form = await readForm(req);
      const name = form.get('login') ?? '';
      const user = Object.hasOwn(usersByLogin, name) ? usersByLogin[name] : undefined;
      if (!user) {
        page(res, 403, 'Unknown login', `<p>No account named ${htmlEscape(name)}.</p>`);
        return true;
      }

      // Consent on the user's behalf: every requested scope, and every claim named in the claims parameter.
      const accountId = user.sub;
      const { params } = details;
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId, clientId: params.client_id });
      if (params.scope) grant.addOIDCScope(params.scope);
      if (params.claims) {
        const requested = typeof params.claims === 'string' ? JSON.parse(params.claims) : params.claims;
        const names = new Set();
        for (const part of ['id_token', 'userinfo']) {
          Object.keys(requested?.[part] ?? {}).forEach((c) => names.add(c));
        }
        if (names.size) grant.addOIDCClaims([...names]);
      }
      const grantId = await grant.save();

      await provider.interactionFinished(req, res, {
        login: { accountId },
        consent: { grantId },
      }, { mergeWithLastSubmission: false });
      return true;
    }

    page(res, 405, 'Method not allowed', '');
    return true;
  } catch (err) {
    console.error('interaction error:', err);
    if (!res.headersSent) {
      // SessionNotFound etc.: no (or an expired) interaction cookie.
      page(res, err.statusCode ?? 400, 'Interaction failed', `<p>${htmlEscape(err.error ?? err.message)}</p>`);
    }
    return true;
  }
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  console.error(`${req.method} ${url.pathname}`);
  if (!providerCallback) return page(res, 503, 'Starting', '');
  if (await interactionRoutes(req, res, url)) return;
  providerCallback(req, res);
});

server.listen(Number(args.port), args.host, () => {
  const { port } = server.address();
  const hostForUrl = args.host.includes(':') ? `[${args.host}]` : args.host;
  const issuer = `http://${hostForUrl}:${port}`;

  provider = new Provider(issuer, {
    clients: [{
      client_id: args['client-id'],
      client_secret: args['client-secret'],
      redirect_uris: [args['redirect-uri']],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    }],
    jwks: { keys: [signingJwk] },
    cookies: {
      keys: [crypto.randomBytes(32).toString('base64url'), crypto.randomBytes(32).toString('base64url')],
    },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['given_name', 'family_name', 'employee_number', 'groups', 'department'],
      iwms: ['employee_number'],
    },
    // Scope-requested claims go into the ID token as well, not only to userinfo.
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      claimsParameter: { enabled: true },
      revocation: { enabled: false },
    },
    interactions: {
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    async findAccount(ctx, sub) {
      const user = usersBySub.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        async claims() {
          return { ...user, sub };
        },
      };
    },
    ttl: {
      AuthorizationCode: 60,
      IdToken: 300,
      AccessToken: 300,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
    renderError(ctx, out) {
      const body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>OP error</title></head><body>
<h1>${htmlEscape(out.error)}</h1><p>${htmlEscape(out.error_description ?? '')}</p></body></html>`;
      ctx.type = 'html';
      ctx.body = body;
    },
  });
  // oidc-provider puts at_hash only in ID tokens from the authorization endpoint (where OIDC requires it);
  // it is optional at the token endpoint and oidc-provider leaves it out. ssogate's tests want it there
  // too, so remember each access token's value and hash it into the ID token issued alongside it.
  const atValue = Symbol('access token value');
  const saveAccessToken = provider.AccessToken.prototype.save;
  provider.AccessToken.prototype.save = async function save(...a) {
    const value = await saveAccessToken.apply(this, a);
    this[atValue] = value;
    return value;
  };
  const issueIdToken = provider.IdToken.prototype.issue;
  provider.IdToken.prototype.issue = async function issue(opts) {
    const at = this.ctx?.oidc?.entities?.AccessToken;
    if (opts?.use === 'idtoken' && this.ctx?.oidc?.route === 'token' && at?.[atValue] && !this.extra.at_hash) {
      this.set('at_hash', at[atValue]);
    }
    return issueIdToken.call(this, opts);
  };

  provider.on('server_error', (ctx, err) => console.error('server_error:', err));
  provider.on('authorization.error', (ctx, err) => console.error('authorization.error:', err.message, err.error_description ?? ''));
  provider.on('grant.error', (ctx, err) => console.error('grant.error:', err.message, err.error_description ?? ''));
  providerCallback = provider.callback();

  process.stdout.write(`{"port": ${port}, "issuer": ${JSON.stringify(issuer)}}\n`);
});

const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
