// A person's OpenID Connect sign-in, in headless Chromium: /t/TENANT/login -> the OP's login
// form (tests/op/op.mjs, oidc-provider) -> ssogate's callback -> /signed-in -> /me.
//
//   node tests/browser/oidc_signin.mjs --base http://127.0.0.1:PORT [--tenant acme] \
//        [--connection okta] [--login ada] [--email ada@acme.test] [--iwms-id IW-42] \
//        [--artifacts tests/artifacts/browser-oidc]
//
// Run by tests/api/browser.rs, which starts ssogate and the OP. Screenshots (oidc-*.png) go
// to --artifacts. Success: exit 0, last stdout line is JSON {"ok":true,...}. Failure: the
// error, the current URL and an excerpt of the page on stderr, oidc-failure.png, exit 1.
// Browser, timeouts and failure handling: common.mjs.
import { parseArgs } from 'node:util';
import { check, onOrigin, runBrowser } from './common.mjs';

const { values: opt } = parseArgs({
  options: {
    base: { type: 'string' },
    tenant: { type: 'string', default: 'acme' },
    connection: { type: 'string', default: 'okta' },
    login: { type: 'string', default: 'ada' },
    email: { type: 'string', default: 'ada@acme.test' },
    'iwms-id': { type: 'string', default: 'IW-42' },
    artifacts: { type: 'string', default: 'tests/artifacts/browser-oidc' },
  },
});
if (!opt.base) throw new Error('--base is required');
const base = opt.base.replace(/\/$/, '');
const callbackPath = `/t/${opt.tenant}/oidc/${opt.connection}/callback`;
const isBinding = (c) => c.name.startsWith('ssogate_oidc_');

runBrowser({ artifacts: opt.artifacts, failureShot: 'oidc-failure.png' }, async (b) => {
  const { page, context, shot, pageText } = b;

  // 1. The tenant's login URL: ssogate 303s to the OP's /auth, which sends the browser on to
  //    its login form; ssogate has set the binding cookie for its callback path only.
  await page.goto(`${base}/t/${opt.tenant}/login`);
  const login = page.locator('input[name="login"]');
  await login.waitFor();
  check(!onOrigin(page.url(), base), `expected the OP, still on ${page.url()}`);
  const opLogin = page.url();
  await shot('oidc-01-op-login.png');
  const bindings = (await context.cookies()).filter(isBinding);
  check(bindings.length === 1, `one ssogate_oidc_* cookie after /login: ${JSON.stringify(bindings)}`);
  const [binding] = bindings;
  check(binding.path === callbackPath, `binding cookie path ${binding.path}, not ${callbackPath}`);
  check(binding.httpOnly, 'binding cookie is HttpOnly');
  check(!(await context.cookies(base)).some(isBinding), 'binding cookie not sent to /');
  check((await context.cookies(base + callbackPath)).some(isBinding), 'binding cookie sent to the callback');

  // 2. Sign in at the OP; it redirects (GET) to the callback, which 303s to /signed-in.
  await login.fill(opt.login);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/signed-in`);
  const signedIn = await pageText();
  check(signedIn.includes('You are signed in'), `"You are signed in" on /signed-in: ${signedIn}`);
  check(signedIn.includes(opt.email), `${opt.email} on /signed-in: ${signedIn}`);
  await shot('oidc-02-signed-in.png');

  // 3. The session cookie: set, HttpOnly, SameSite=Lax, invisible to page scripts; the
  //    binding cookie is no more visible on ssogate's pages than it was before.
  const cookie = (await context.cookies(base)).find((c) => c.name === 'ssogate_session');
  check(cookie, 'ssogate_session cookie after sign-in');
  check(cookie.httpOnly, 'ssogate_session is HttpOnly');
  check(cookie.sameSite === 'Lax', `ssogate_session SameSite=${cookie.sameSite}`);
  const jsCookies = await page.evaluate(() => document.cookie);
  check(!/ssogate_(session|oidc_)/.test(jsCookies), `cookies hidden from JS: ${jsCookies}`);

  // 4. /me, loaded by the browser with its cookie (not fetch(): ssogate's CSP forbids it).
  const meRes = await page.goto(`${base}/me`);
  check(meRes.status() === 200, `/me status ${meRes.status()}`);
  const me = await meRes.json();
  check(me.email === opt.email, `/me email ${me.email}`);
  check(me.iwms_id === opt['iwms-id'], `/me iwms_id ${me.iwms_id}`);

  // 5. At the end, still no binding cookie for ssogate's other paths.
  const exposed = (await context.cookies([base, `${base}/signed-in`, `${base}/me`])).filter(isBinding);
  check(!exposed.length, `binding cookie exposed outside ${callbackPath}: ${JSON.stringify(exposed)}`);
  const left = (await context.cookies()).filter(isBinding);

  // 6. No page of ssogate's may break its own CSP, nor log an error on this happy path.
  const csp = b.cspViolations(base);
  check(!csp.length, `CSP violations on ssogate pages: ${JSON.stringify(csp)}`);
  const errors = b.consoleMessages.filter((m) => onOrigin(m.url, base) && /error/.test(m.type));
  check(!errors.length, `console errors on ssogate pages: ${JSON.stringify(errors)}`);

  return {
    ok: true,
    op_login: opLogin,
    me,
    cookie: { httpOnly: cookie.httpOnly, sameSite: cookie.sameSite, secure: cookie.secure },
    binding_cookie: {
      path: binding.path,
      httpOnly: binding.httpOnly,
      sameSite: binding.sameSite,
      left_after_sign_in: left.length,
    },
    screenshots: b.screenshots,
    console: b.consoleMessages,
    duration_ms: Date.now() - b.started,
  };
});
