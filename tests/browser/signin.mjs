// A person's SAML sign-in, in headless Chromium: ssogate's home page -> pysaml2 IdP login
// form -> auto-posted SAMLResponse -> /signed-in -> /me and /auth/verify -> sign out.
//
//   node tests/browser/signin.mjs --base http://127.0.0.1:PORT --email ada@acme.test \
//        --username ada --artifacts tests/artifacts/browser [--iwms-id IW-1]
//
// Run by tests/api/browser.rs, which starts ssogate and the IdP. Screenshots go to
// --artifacts. Success: exit 0, last stdout line is JSON {"ok":true,...}. Failure: the
// error, the current URL and an excerpt of the page on stderr, failure.png, exit 1.
// Uses Debian's Chromium (never a downloaded browser): CHROMIUM overrides its path.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

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
const started = Date.now();
const TOTAL_TIMEOUT_MS = 60_000; // the whole run; a hang must never block CI
const STEP_TIMEOUT_MS = 15_000; // one navigation / wait

mkdirSync(opt.artifacts, { recursive: true });
rmSync(join(opt.artifacts, 'failure.png'), { force: true }); // no stale failure from an older run
const profile = mkdtempSync(join(tmpdir(), 'ssogate-chromium-'));
const screenshots = [];
const consoleMessages = []; // every console message / page error, with the page's URL
let context, page;

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

async function shot(name) {
  const path = join(opt.artifacts, name);
  await page.screenshot({ path, fullPage: true });
  screenshots.push(path);
}

async function pageText() {
  return page.locator('body').innerText({ timeout: 2_000 });
}

async function cleanup() {
  await context?.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}

let failing = false;
async function fail(err) {
  if (failing) return; // the total timeout and the failed step may both get here
  failing = true;
  // Whatever happens here, exit within 10 s.
  setTimeout(() => process.exit(1), 10_000).unref();
  console.error(`browser sign-in failed: ${err?.stack ?? err}`);
  if (page) {
    console.error(`current URL: ${page.url()}`);
    const text = await pageText().catch((e) => `(no page text: ${e.message})`);
    console.error(`page text: ${text.slice(0, 800)}`);
    await page
      .screenshot({ path: join(opt.artifacts, 'failure.png'), fullPage: true })
      .then(() => console.error(`screenshot: ${join(opt.artifacts, 'failure.png')}`))
      .catch(() => {});
  }
  if (consoleMessages.length) console.error(`console: ${JSON.stringify(consoleMessages, null, 1)}`);
  await cleanup();
  process.exit(1);
}

async function run() {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 900, height: 640 },
    timeout: STEP_TIMEOUT_MS,
  });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  page = context.pages()[0] ?? (await context.newPage());
  // CSP violations and script errors show up here ("Refused to ...", uncaught exceptions).
  page.on('console', (m) =>
    consoleMessages.push({ type: m.type(), url: page.url(), source: m.location().url, text: m.text() }),
  );
  page.on('pageerror', (e) => consoleMessages.push({ type: 'pageerror', url: page.url(), text: String(e) }));

  // 1. ssogate's home page: home-realm discovery by email.
  const home = await page.goto(`${base}/`);
  check(home.status() === 200, `GET / status ${home.status()}`);
  await page.locator('#email').waitFor();
  await shot('01-sign-in.png');
  await page.fill('#email', opt.email);
  await page.getByRole('button', { name: 'Sign in with SSO' }).click();

  // 2. The IdP's login form (ssogate 303s there with a Redirect-binding AuthnRequest).
  const username = page.locator('input[name="username"]');
  await username.waitFor();
  check(!page.url().startsWith(base), `expected the IdP, still on ${page.url()}`);
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
    if (page.url().startsWith(base) || !(await cont.count())) throw new Error(`no /signed-in: at ${page.url()}`);
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

  // 7. No page of ssogate's may break its own CSP (a blocked style or script is a bug).
  const csp = consoleMessages.filter((m) => m.url.startsWith(base) && /Content Security Policy/i.test(m.text));
  check(!csp.length, `CSP violations on ssogate pages: ${JSON.stringify(csp)}`);

  await cleanup();
  console.log(JSON.stringify({
    ok: true,
    me,
    verify_headers: h,
    cookie: { httpOnly: cookie.httpOnly, sameSite: cookie.sameSite, secure: cookie.secure },
    screenshots,
    console: consoleMessages,
    duration_ms: Date.now() - started,
  }));
}

setTimeout(() => fail(new Error(`gave up after ${TOTAL_TIMEOUT_MS / 1000} s`)), TOTAL_TIMEOUT_MS).unref();
run().catch(fail);
