// The admin console as an administrator uses it, in headless Chromium: a bootstrap link signs
// in the super-admin, who whitelists the tenant's email domain, adds a SAML connection from the
// pysaml2 IdP's metadata URL, hands the IdP ssogate's SP metadata, tests the sign-in as a user,
// finds that user, reads their timeline, deactivates and reactivates them, follows their last
// sign-in into the history, and creates a SCIM token.
//
//   node tests/browser/admin.mjs --base http://127.0.0.1:PORT --bootstrap TOKEN \
//        --tenant acme --domain acme.test --idp-metadata-url http://127.0.0.1:IDP/metadata \
//        --sp-metadata /tmp/sp.xml --username ada --email ada@acme.test \
//        --artifacts tests/artifacts/admin-console
//
// Run by tests/api/browser.rs, which starts ssogate and the IdP. Screenshots of each page go
// to --artifacts. Success: exit 0, last stdout line is JSON {"ok":true,...}. Failure: the
// error, the current URL and an excerpt of the page on stderr, failure.png, exit 1.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { check, onOrigin, runBrowser } from './common.mjs';

const { values: opt } = parseArgs({
  options: {
    base: { type: 'string' },
    bootstrap: { type: 'string' },
    tenant: { type: 'string', default: 'acme' },
    domain: { type: 'string', default: 'acme.test' },
    'idp-metadata-url': { type: 'string' },
    'sp-metadata': { type: 'string' },
    connection: { type: 'string', default: 'pysaml2' },
    username: { type: 'string', default: 'ada' },
    email: { type: 'string', default: 'ada@acme.test' },
    artifacts: { type: 'string', default: 'tests/artifacts/admin-console' },
  },
});
for (const required of ['base', 'bootstrap', 'idp-metadata-url', 'sp-metadata']) {
  if (!opt[required]) throw new Error(`--${required} is required`);
}
const base = opt.base.replace(/\/$/, '');
const t = `${base}/admin/t/${opt.tenant}`;

runBrowser({ artifacts: opt.artifacts }, async (b) => {
  const { page, context, shot, pageText } = b;
  await page.setViewportSize({ width: 1280, height: 860 });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const nav = (name) => page.locator('nav.tenant-nav').getByRole('link', { name, exact: true }).click();
  const expectText = async (what, text) => {
    const body = await pageText();
    check(body.includes(text), `${what}: "${text}" not in: ${body.slice(0, 1500)}`);
  };

  // 1. The bootstrap link shows a button (link previews must not spend it); pressing it signs
  //    the super-admin in and lands on the tenant list.
  await page.goto(`${base}/admin/bootstrap?token=${encodeURIComponent(opt.bootstrap)}`);
  await page.getByRole('button', { name: 'Sign in as super-admin' }).click();
  await page.waitForURL(`${base}/admin`);
  const cookie = (await context.cookies(`${base}/admin`)).find((c) => c.name === 'ssogate_admin');
  check(cookie?.httpOnly && cookie.path === '/admin', `console cookie: ${JSON.stringify(cookie)}`);
  await shot('01-tenants.png');

  // 2. Tenant settings: users are auto-created and no domain is whitelisted yet, so the page
  //    warns that anyone the IdP signs in gets an account.
  await page.getByRole('link', { name: 'Acme Corp' }).click();
  await page.waitForURL(t);
  await expectText('settings', 'Local attribute mapping of the IWMS user ID');
  check(await page.locator('.banner.warning').isVisible(), 'open-enrolment warning on the settings page');
  await shot('02-settings.png');

  // 3. Whitelist the email domain (a typo is refused next to the form); the warning goes.
  await nav('Domains');
  await page.fill('#domain', 'not a domain');
  await page.getByRole('button', { name: 'Add domain' }).click();
  await page.locator('.alert.error').waitFor();
  check((await page.locator('.alert.error').innerText()).startsWith('Domain:'), 'the refusal names the field');
  check((await page.locator('#domain').getAttribute('aria-invalid')) === 'true', 'the field is marked');
  await page.fill('#domain', opt.domain);
  await page.getByRole('button', { name: 'Add domain' }).click();
  await page.waitForURL(`${t}/domains?done=domain-added`);
  await expectText('domains', 'Domain added.');
  check((await page.locator('table.list code').allInnerTexts()).includes(opt.domain), `${opt.domain} listed`);
  check(!(await page.locator('.banner.warning').count()), 'no warning once a domain is whitelisted');
  await shot('03-domains.png');

  // 4. Add the IdP from its metadata URL; the connection page shows what was read from it.
  await nav('Connections');
  await shot('04-connections.png');
  await page.fill('#saml-slug', opt.connection);
  await page.fill('#saml-name', 'pysaml2 test IdP');
  await page.fill('#metadata_url', opt['idp-metadata-url']);
  await page.getByRole('button', { name: 'Add SAML connection' }).click();
  await page.waitForURL(`${t}/connections/${opt.connection}?done=connection-added`);
  const entityId = (await page.locator('#idp-entity-id').innerText()).trim();
  check(entityId === opt['idp-metadata-url'], `IdP entity ID ${entityId}`);
  const ssoUrl = (await page.locator('#idp-sso-url').innerText()).trim();
  check(ssoUrl.endsWith('/sso/redirect'), `IdP SSO URL ${ssoUrl}`);
  const certRows = page.locator('table.certs tbody tr');
  check((await certRows.count()) >= 1, 'a signing certificate is listed');
  const certText = await certRows.first().innerText();
  check(/\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/.test(certText), `certificate expiry: ${certText}`);
  const acsUrl = (await page.locator('#acs-url').innerText()).trim();
  check(acsUrl === `${base}/t/${opt.tenant}/saml/${opt.connection}/acs`, `ACS URL ${acsUrl}`);
  await shot('05-connection.png');

  // The copy buttons work under the console's CSP (static/admin.js).
  await page.locator('button[data-copy="#acs-url"]').click();
  await page.locator('button[data-copy="#acs-url"]', { hasText: 'Copied' }).waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  check(copied === acsUrl, `clipboard holds the ACS URL: ${copied}`);

  // Give the IdP ssogate's SP metadata, from the URL the page shows.
  const spMetadataUrl = (await page.locator('#sp-metadata-url').innerText()).trim();
  const sp = await page.request.get(spMetadataUrl);
  check(sp.ok(), `SP metadata ${spMetadataUrl}: ${sp.status()}`);
  writeFileSync(opt['sp-metadata'], await sp.text());

  // 5. "Test sign-in" runs the IdP round trip in a new tab and reports what arrived, without
  // creating anyone; then the person signs in for real in that tab.
  const [tab] = await Promise.all([
    context.waitForEvent('page'),
    page.getByRole('button', { name: 'Test sign-in' }).click(),
  ]);
  const username = tab.locator('input[name="username"]');
  await username.waitFor();
  check(!onOrigin(tab.url(), base), `expected the IdP, at ${tab.url()}`);
  await username.fill(opt.username);
  await tab.getByRole('button', { name: 'Sign in' }).click();
  await tab.locator('#test-outcome').waitFor();
  const outcome = await tab.locator('#test-outcome').innerText();
  check(outcome.includes(`Would create a new user, ${opt.email}`), `test outcome: ${outcome}`);
  const attributes = await tab.locator('#test-attributes').innerText();
  check(attributes.includes(opt.email), `the IdP's attributes are listed: ${attributes}`);
  await shot('05b-test-sign-in.png', tab);
  await tab.goto(`${base}/t/${opt.tenant}/login?connection=${opt.connection}`);
  // The IdP may remember the person from the test and answer at once.
  await Promise.race([username.waitFor(), tab.waitForURL(`${base}/signed-in`)]);
  if (!tab.url().startsWith(`${base}/signed-in`)) {
    await username.fill(opt.username);
    await tab.getByRole('button', { name: 'Sign in' }).click();
    await tab.waitForURL(`${base}/signed-in`);
  }
  const signedIn = await tab.locator('body').innerText();
  check(signedIn.includes(opt.email), `signed in as ${opt.email}: ${signedIn}`);
  await tab.close();

  // 6. Find the new user with the search box.
  await nav('Users');
  await page.fill('#q', opt.email.split('@')[0]);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/\/users\?view=active&q=/);
  const row = page.locator('table.users tbody tr', { hasText: opt.email });
  check((await row.count()) === 1, `${opt.email} found by search`);
  check(await row.locator('.badge.success').isVisible(), 'last sign-in shows success');
  await shot('06-users.png');

  // 7. Their page: attributes, identity, and the timeline of what happened.
  await row.getByRole('link', { name: opt.email }).click();
  await page.waitForURL(/\/users\/\d+$/);
  const userUrl = page.url();
  await expectText('user page', 'created by just-in-time provisioning');
  await expectText('user page', `signed in (${opt.connection})`);
  check((await page.locator('#user-status').innerText()) === 'active', 'status active');
  await shot('07-user.png');
  // Opening Unlink keeps the identities table as it was: the columns keep their widths.
  const identities = page.locator('section.panel', { hasText: 'Linked identities' });
  const subjectWidth = () => identities.locator('tbody td:nth-child(2)').first().evaluate((td) => td.getBoundingClientRect().width);
  const unlink = identities.locator('details.confirm').first();
  const closed = await subjectWidth();
  await unlink.locator('summary').click();
  await identities.getByRole('button', { name: 'Yes, unlink' }).waitFor();
  const open = await subjectWidth();
  check(open >= closed * 0.9, `the subject column keeps its width with Unlink open: ${closed} -> ${open}`);
  await shot('07a-user-confirm-unlink.png');
  await unlink.locator('summary').click();
  await b.narrow('07-user', {
    contrast: ['h1', '.badge.status-active', 'dl.facts dt'],
    before: async () => {
      if (!(await unlink.evaluate((d) => d.open))) await unlink.locator('summary').click();
      const w = await subjectWidth();
      check(w >= 60, `at 390 px with Unlink open the subject column is ${w} px wide`);
    },
  });
  if (await unlink.evaluate((d) => d.open)) await unlink.locator('summary').click();

  // 8. Deactivate, then reactivate: the status and the timeline follow.
  // Deactivating takes a confirmation: the first click only opens it.
  await page.locator('#confirm-deactivate summary').click();
  check((await page.locator('#user-status').innerText()) === 'active', 'still active after the first click');
  await shot('07b-user-confirm-deactivate.png');
  await page.getByRole('button', { name: 'Yes, deactivate' }).click();
  await page.waitForURL(`${userUrl}?done=deactivated`);
  check((await page.locator('#user-status').innerText()) === 'deactivated', 'status deactivated');
  await expectText('after deactivation', 'deactivated by admin super-admin (bootstrap link)');
  await shot('08-user-deactivated.png');
  await page.getByRole('button', { name: 'Reactivate' }).click();
  await page.waitForURL(`${userUrl}?done=reactivated`);
  check((await page.locator('#user-status').innerText()) === 'active', 'status active again');
  await expectText('after reactivation', 'reactivated by admin super-admin (bootstrap link)');
  const timeline = await page.locator('#timeline li').allInnerTexts();
  check(timeline[0].includes('reactivated') && timeline[1].includes('deactivated'), `newest first: ${timeline}`);
  await shot('09-user-reactivated.png');

  // 9. From the users list, the last sign-in's badge opens that attempt in the history.
  await nav('Users');
  await page.locator('table.users tbody tr', { hasText: opt.email }).locator('a.last-sign-in').click();
  await page.waitForURL(/\/sign-ins\?before=\d+&highlight=\d+#attempt-\d+$/);
  const marked = page.locator('table.sign-ins tr.highlight');
  check((await marked.count()) === 1, 'the attempt is highlighted');
  check((await marked.innerText()).includes(opt.email), 'highlighted attempt is the user\'s');
  await shot('10-sign-ins.png');
  await b.narrow('10-sign-ins', { contrast: ['h1', 'table.sign-ins th', '.badge.success'], headers: ['table.sign-ins'] });

  // 10. A SCIM token: shown once with the base URL, then only its label and use.
  await nav('SCIM tokens');
  await page.fill('#label', 'Browser test');
  await page.getByRole('button', { name: 'Create token' }).click();
  const token = (await page.locator('#scim-token').innerText()).trim();
  check(token.startsWith('scim_'), `token ${token.slice(0, 8)}…`);
  const scimBase = (await page.locator('#scim-base-url').innerText()).trim();
  check(scimBase === `${base}/t/${opt.tenant}/scim/v2`, `SCIM base URL ${scimBase}`);
  await shot('11-scim-token-created.png');
  await page.getByRole('link', { name: 'Back to SCIM tokens' }).click();
  check(!(await pageText()).includes(token), 'the token is not shown again');
  await shot('12-scim-tokens.png');

  // 11. No console page may break its own CSP, nor throw.
  const csp = b.cspViolations(base);
  check(!csp.length, `CSP violations on ssogate pages: ${JSON.stringify(csp)}`);
  // (A refused form answers 400, which Chromium logs; that one is expected.)
  const refusal = (m) => /Failed to load resource: .* status of 400/.test(m.text) && m.url === `${t}/domains`;
  const errors = b.consoleMessages.filter(
    (m) => m.type === 'pageerror' || (m.type === 'error' && onOrigin(m.url, base) && !refusal(m)),
  );
  check(!errors.length, `page errors: ${JSON.stringify(errors)}`);

  return {
    ok: true,
    user_url: userUrl,
    entity_id: entityId,
    scim_token: token,
    screenshots: b.screenshots,
    duration_ms: Date.now() - b.started,
  };
});
