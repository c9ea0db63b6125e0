// A person's SAML sign-in, in headless Chromium: ssogate's home page -> pysaml2 IdP login
// form -> auto-posted SAMLResponse -> /signed-in -> /me and /auth/verify -> sign out.
//
//   node tests/browser/signin.mjs --base http://127.0.0.1:PORT --email ada@acme.test \
//        --username ada --artifacts tests/artifacts/browser [--iwms-id IW-1]
//
// Run by tests/api/browser.rs, which starts ssogate and the IdP. Screenshots go to
// --artifacts. Success: exit 0, last stdout line is JSON {"ok":true,...}. Failure: the
// error, the current URL and an excerpt of the page on stderr, failure.png, exit 1.
// Browser, timeouts and failure handling: common.mjs.
import { parseArgs } from 'node:util';
import { check, onOrigin, runBrowser } from './common.mjs';

const { values: opt } = parseArgs({
  options: {
    base: { type: 'string' },
    email: { type: 'string', default: 'ada@acme.test' },
    username: { type: 'string', default: 'ada' },
    'iwms-id': { type: 'string', default: 'IW-1' },
    artifacts: { type: 'string', default: 'tests/artifacts/browser' },
  },
});
if (!opt.base) throw new Error('--base is required');
const base = opt.base.replace(/\/$/, '');

runBrowser({ artifacts: opt.artifacts }, async (b) => {
  const { page, context, shot, pageText } = b;

  // 1. ssogate's home page: home-realm discovery by email.
  const home = await page.goto(`${base}/`);
  check(home.status() === 200, `GET / status ${home.status()}`);
  await page.locator('#email').waitFor();
  await shot('01-sign-in.png');
  // On a phone, in both color schemes: no sideways scroll, readable text.
  await b.narrow('01-sign-in', { contrast: ['h1', 'label', 'button'] });
  // An address whose domain uses no SSO: the error next to the field, readable in both schemes.
  await page.fill('#email', 'someone@no-sso.example');
  await page.getByRole('button', { name: 'Sign in with SSO' }).click();
  await page.locator('p.error').waitFor();
  await b.narrow('01b-sign-in-error', { contrast: ['p.error', 'h1'] });
  // An error page of its own (an unknown tenant URL).
  const missing = await page.goto(`${base}/t/no-such-tenant/login`);
  check(missing.status() === 404, `unknown tenant status ${missing.status()}`);
  await b.narrow('01c-error-page', { contrast: ['h1', 'main p'] });
  await page.goto(`${base}/`);
  await page.fill('#email', opt.email);
  await page.getByRole('button', { name: 'Sign in with SSO' }).click();

  // 2. The IdP's login form (ssogate 303s there with a Redirect-binding AuthnRequest).
  const username = page.locator('input[name="username"]');
  await username.waitFor();
  check(!onOrigin(page.url(), base), `expected the IdP, still on ${page.url()}`);
  await shot('02-idp-login.png');
  await username.fill(opt.username);
  await page.getByRole('button', { name: 'Sign in' }).click();

  // 3. The IdP answers an HTML form that posts the SAMLResponse to ssogate's ACS on load
  //    (<body onload=submit>); the ACS 303s to /signed-in. Should the form not submit by
  //    itself (no JS), press its Continue button.
  try {
    await page.waitForURL(`${base}/signed-in`, { timeout: 5_000 });
  } catch {
    const cont = page.locator('input[type="submit"], button[type="submit"]');
    if (onOrigin(page.url(), base) || !(await cont.count())) throw new Error(`no /signed-in: at ${page.url()}`);
    await cont.first().click();
    await page.waitForURL(`${base}/signed-in`);
  }
  const signedIn = await pageText();
  check(signedIn.includes('You are signed in'), `"You are signed in" on /signed-in: ${signedIn}`);
  check(signedIn.includes(opt.email), `${opt.email} on /signed-in: ${signedIn}`);
  await shot('03-signed-in.png');

  // 4. The session cookie: set, HttpOnly, SameSite=Lax, invisible to page scripts.
  const cookie = (await context.cookies(base)).find((c) => c.name === 'ssogate_session');
  check(cookie, 'ssogate_session cookie after sign-in');
  check(cookie.httpOnly, 'ssogate_session is HttpOnly');
  check(cookie.sameSite === 'Lax', `ssogate_session SameSite=${cookie.sameSite}`);
  check(!(await page.evaluate(() => document.cookie)).includes('ssogate_session'), 'cookie hidden from JS');

  // 5. /me and /auth/verify, loaded by the browser with its cookie. Not fetch() from the
  //    page: ssogate's pages carry CSP default-src 'none', which (rightly, they run no
  //    script) blocks connect-src; a real app calls these from its own pages or its proxy.
  const meRes = await page.goto(`${base}/me`);
  check(meRes.status() === 200, `/me status ${meRes.status()}`);
  const me = await meRes.json();
  check(me.email === opt.email, `/me email ${me.email}`);
  check(me.iwms_id === opt['iwms-id'], `/me iwms_id ${me.iwms_id}`);
  const verifyRes = await page.goto(`${base}/auth/verify`);
  check(verifyRes.status() === 200, `/auth/verify status ${verifyRes.status()}`);
  const h = Object.fromEntries(
    Object.entries(await verifyRes.allHeaders()).filter(([k]) => k.startsWith('x-auth-request-')),
  );
  check(h['x-auth-request-email'] === opt.email, `x-auth-request-email ${h['x-auth-request-email']}`);
  check(h['x-auth-request-iwms-id'] === opt['iwms-id'], `x-auth-request-iwms-id ${h['x-auth-request-iwms-id']}`);

  // 6. Sign out (a form POST to /logout); the session is gone, server- and browser-side.
  await page.goto(`${base}/signed-in`);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${base}/logout`);
  const signedOut = await pageText();
  check(signedOut.includes('signed out'), `sign-out page: ${signedOut}`);
  await shot('04-signed-out.png');
  const left = (await context.cookies(base)).find((c) => c.name === 'ssogate_session');
  check(!left, 'ssogate_session cookie cleared by sign-out');
  const meAfter = (await page.goto(`${base}/me`)).status();
  check(meAfter === 401, `/me after sign-out: ${meAfter}`);

  // 7. No page of ssogate's may break its own CSP.
  const csp = b.cspViolations(base);
  check(!csp.length, `CSP violations on ssogate pages: ${JSON.stringify(csp)}`);

  return {
    ok: true,
    me,
    verify_headers: h,
    cookie: { httpOnly: cookie.httpOnly, sameSite: cookie.sameSite, secure: cookie.secure },
    screenshots: b.screenshots,
    console: b.consoleMessages,
    duration_ms: Date.now() - b.started,
  };
});
