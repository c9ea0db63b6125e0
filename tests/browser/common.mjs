// What the headless-Chromium sign-in scripts (signin.mjs, oidc_signin.mjs) share: Debian's
// Chromium in a throwaway profile, the timeouts, screenshots, console capture, and the failure
// path (error, current URL, page text, a failure screenshot, console messages; exit 1).
// Uses Debian's Chromium (never a downloaded browser): CHROMIUM overrides its path.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const TOTAL_TIMEOUT_MS = 60_000; // the whole run; a hang must never block CI
const STEP_TIMEOUT_MS = 15_000; // one navigation / wait

export function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

// Whether `url` is on `base`'s origin (a prefix test would take port 80801 for 8080).
export function onOrigin(url, base) {
  try {
    return new URL(url).origin === new URL(base).origin;
  } catch {
    return false;
  }
}

// Runs `steps(b)` in a fresh browser and prints the object it returns as the final stdout
// line. `b` holds { page, context, shot(name, page?), pageText(), screenshots, consoleMessages,
// started, cspViolations(base) }. Failure (or the total timeout): diagnostics on stderr,
// `failureShot` in `artifacts`, exit 1.
export function runBrowser({ artifacts, failureShot = 'failure.png' }, steps) {
  mkdirSync(artifacts, { recursive: true });
  rmSync(join(artifacts, failureShot), { force: true }); // no stale failure from an older run
  const profile = mkdtempSync(join(tmpdir(), 'ssogate-chromium-'));
  const b = {
    started: Date.now(),
    screenshots: [],
    consoleMessages: [], // every console message / page error, with the page's URL
    context: undefined,
    page: undefined,
    async shot(name, of = b.page) {
      const path = join(artifacts, name);
      await of.screenshot({ path, fullPage: true });
      b.screenshots.push(path);
    },
    pageText: () => b.page.locator('body').innerText({ timeout: 2_000 }),
    // A page of ssogate's that breaks its own CSP (a blocked style or script) is a bug.
    cspViolations: (base) =>
      b.consoleMessages.filter((m) => onOrigin(m.url, base) && /Content Security Policy/i.test(m.text)),
  };

  async function cleanup() {
    await b.context?.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }

  let failing = false;
  async function fail(err) {
    if (failing) return; // the total timeout and the failed step may both get here
    failing = true;
    // Whatever happens here, exit within 10 s.
    setTimeout(() => process.exit(1), 10_000).unref();
    console.error(`browser sign-in failed: ${err?.stack ?? err}`);
    const { page } = b;
    if (page) {
      console.error(`current URL: ${page.url()}`);
      const text = await b.pageText().catch((e) => `(no page text: ${e.message})`);
      console.error(`page text: ${text.slice(0, 800)}`);
      await page
        .screenshot({ path: join(artifacts, failureShot), fullPage: true })
        .then(() => console.error(`screenshot: ${join(artifacts, failureShot)}`))
        .catch(() => {});
    }
    if (b.consoleMessages.length) console.error(`console: ${JSON.stringify(b.consoleMessages, null, 1)}`);
    await cleanup();
    process.exit(1);
  }

  async function run() {
    b.context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync',
      ],
      viewport: { width: 900, height: 640 },
      timeout: STEP_TIMEOUT_MS,
    });
    b.context.setDefaultTimeout(STEP_TIMEOUT_MS);
    const page = (b.page = b.context.pages()[0] ?? (await b.context.newPage()));
    // CSP violations and script errors show up here ("Refused to ...", uncaught exceptions).
    page.on('console', (m) =>
      b.consoleMessages.push({ type: m.type(), url: page.url(), source: m.location().url, text: m.text() }),
    );
    page.on('pageerror', (e) => b.consoleMessages.push({ type: 'pageerror', url: page.url(), text: String(e) }));

    const result = await steps(b);
    await cleanup();
    console.log(JSON.stringify(result));
  }

  setTimeout(() => fail(new Error(`gave up after ${TOTAL_TIMEOUT_MS / 1000} s`)), TOTAL_TIMEOUT_MS).unref();
  run().catch(fail);
}
