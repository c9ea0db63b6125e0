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

// Runs in the page (for `narrow`): sideways scroll, contrast of the `contrast` selectors'
// text against the first opaque background behind it, and header words split over lines.
function measure({ contrast, headers }) {
  // rgb(r, g, b[, a]) or, from color-mix(), color(srgb r g b[ / a]) with channels in 0..1.
  const rgb = (s) => {
    const n = (s.replace(/^color\(srgb/, '').match(/[\d.]+/g) || []).map(Number);
    return s.startsWith('color(') ? n.map((v, i) => (i < 3 ? v * 255 : v)) : n;
  };
  const lum = ([r, g, b]) => {
    const f = (c) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
    }
    return rgb(getComputedStyle(document.documentElement).backgroundColor || 'rgb(255,255,255)');
  };
  const out = { contrast: [], missing: [], brokenWords: [] };
  for (const selector of contrast) {
    const el = document.querySelector(selector);
    if (!el) { out.missing.push(selector); continue; }
    const fg = rgb(getComputedStyle(el).color).slice(0, 3);
    const bg = background(el);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    out.contrast.push({ selector, ratio: (hi + 0.05) / (lo + 0.05), fg: `rgb(${fg})`, bg: `rgb(${bg})` });
  }
  for (const selector of headers) {
    const ths = document.querySelectorAll(`${selector} th`);
    if (!ths.length) out.missing.push(selector);
    for (const th of ths) {
      const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        for (const w of n.data.matchAll(/\S+/g)) {
          const r = document.createRange();
          r.setStart(n, w.index);
          r.setEnd(n, w.index + w[0].length);
          const tops = new Set([...r.getClientRects()].map((x) => Math.round(x.top)));
          if (tops.size > 1) out.brokenWords.push(w[0]);
        }
      }
    }
  }
  const se = document.scrollingElement;
  out.scrollWidth = se.scrollWidth;
  out.clientWidth = se.clientWidth;
  return out;
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
    // The page at 390 px wide (a phone) in the light and the dark color scheme: a screenshot
    // of each (`<name>-390-light.png`, `<name>-390-dark.png`), and checks that the page does
    // not scroll sideways, that the text of each `contrast` selector meets WCAG AA (4.5:1)
    // against its background, and that no header of a `headers` table breaks inside a word.
    // `before(scheme)` runs first in each scheme (e.g. opening a confirmation).
    async narrow(name, { contrast = [], headers = [], before } = {}) {
      const { page } = b;
      const size = page.viewportSize();
      await page.setViewportSize({ width: 390, height: 844 });
      try {
        for (const colorScheme of ['light', 'dark']) {
          await page.emulateMedia({ colorScheme });
          if (before) await before(colorScheme);
          const m = await page.evaluate(measure, { contrast, headers });
          check(m.scrollWidth <= m.clientWidth,
            `${name} at 390 px (${colorScheme}) scrolls sideways: ${m.scrollWidth} > ${m.clientWidth}`);
          for (const c of m.contrast) {
            check(c.ratio >= 4.5, `${name} (${colorScheme}): ${c.selector} contrast ${c.ratio.toFixed(2)}:1 (${c.fg} on ${c.bg})`);
          }
          check(m.missing.length === 0, `${name}: nothing matches ${m.missing}`);
          check(m.brokenWords.length === 0, `${name} (${colorScheme}): headers broken inside a word: ${m.brokenWords}`);
          await b.shot(`${name}-390-${colorScheme}.png`);
        }
      } finally {
        await page.emulateMedia({ colorScheme: 'light' });
        await page.setViewportSize(size);
      }
    },
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
