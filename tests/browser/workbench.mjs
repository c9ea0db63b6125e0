// The provisioning workbench as an administrator uses it, in headless Chromium: a bootstrap link
// signs in the super-admin, who opens the workbench's New tab, stages a link that conflicts
// (refused: nothing is saved), then creates a refused person's user (as employee and manager) and deactivates a SCIM user
// with one Save, and looks at the Existing (following a last sign-in icon) and Deleted tabs.
//
//   node tests/browser/workbench.mjs --base http://127.0.0.1:PORT --bootstrap TOKEN --tenant acme \
//        --create attempt:3 --deactivate user:1 --conflict attempt:5 --artifacts tests/artifacts/workbench
//
// Run by tests/api/workbench.rs, which fills the views. Success: exit 0, last stdout line is
// JSON {"ok":true,...}. Failure: the error and an excerpt of the page on stderr, failure.png.
import { parseArgs } from 'node:util';
import { check, onOrigin, runBrowser } from './common.mjs';

const { values: opt } = parseArgs({
  options: {
    base: { type: 'string' },
    bootstrap: { type: 'string' },
    tenant: { type: 'string', default: 'acme' },
    create: { type: 'string' },
    deactivate: { type: 'string' },
    conflict: { type: 'string' },
    artifacts: { type: 'string', default: 'tests/artifacts/workbench' },
  },
});
for (const required of ['base', 'bootstrap', 'create', 'deactivate', 'conflict']) {
  if (!opt[required]) throw new Error(`--${required} is required`);
}
const base = opt.base.replace(/\/$/, '');
const t = `${base}/admin/t/${opt.tenant}`;

runBrowser({ artifacts: opt.artifacts }, async (b) => {
  const { page, shot, pageText } = b;
  await page.setViewportSize({ width: 1280, height: 860 });
  const expectText = async (what, text) => {
    const body = await pageText();
    check(body.includes(text), `${what}: "${text}" not in: ${body.slice(0, 1500)}`);
  };
  const stage = async (row, action) => {
    await page.selectOption(`select[name="action:${row}"]`, action);
    // Choosing an action selects the row (admin.js); the checkbox is what Save reads.
    check(await page.isChecked(`input[name="select"][value="${row}"]`), `${row} selected`);
  };

  // 1. Sign in as super-admin; the tenant's navigation leads to the workbench's New tab.
  await page.goto(`${base}/admin/bootstrap?token=${encodeURIComponent(opt.bootstrap)}`);
  await page.getByRole('button', { name: 'Sign in as super-admin' }).click();
  await page.waitForURL(`${base}/admin`);
  await page.goto(`${t}/users`);
  await page.locator('nav.tenant-nav').getByRole('link', { name: 'Workbench', exact: true }).click();
  await page.waitForURL(`${t}/workbench`);
  await expectText('new tab', 'email_domain_not_allowed');
  await expectText('new tab', 'identity_conflict');
  await expectText('new tab', 'SCIM, never signed in');
  check((await page.locator(`tr[data-row="${opt.create}"] td.attempts`).innerText()).trim() === '3', 'three attempts');
  await shot('01-new.png');

  // 2. Linking the conflicting identity to the user it matched, without "replace", is refused,
  //    together with the other staged row: nothing is saved, the alert names the row.
  await stage(opt.create, 'create');
  await stage(opt.conflict, 'link');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForSelector('#save-problem');
  const problem = await page.locator('#save-problem').innerText();
  check(problem.includes(`(${opt.conflict})`) && problem.includes('replace'), `problem: ${problem}`);
  // What was staged is shown again.
  check(await page.isChecked(`input[name="select"][value="${opt.conflict}"]`), 'the conflict row is still selected');
  check((await page.inputValue(`select[name="action:${opt.create}"]`)) === 'create', 'create is still staged');
  await shot('02-refused.png');

  // 3. One Save: a user for the refused person, the SCIM user deactivated (the conflict row
  //    unselected).
  await page.uncheck(`input[name="select"][value="${opt.conflict}"]`);
  await stage(opt.create, 'create');
  // Provisioned as employee and manager (WhenToWork's two boxes).
  await page.check(`input[name="role:${opt.create}"][value="employee"]`);
  await page.check(`input[name="role:${opt.create}"][value="manager"]`);
  await stage(opt.deactivate, 'deactivate');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/done=workbench-saved/);
  await expectText('saved', "every selected row's action was applied");
  check(!(await pageText()).includes('email_domain_not_allowed'), 'the created person left New');
  await shot('03-saved.png');

  // 4. Existing: the last sign-in icon opens that sign-in in the history.
  await page.getByRole('link', { name: /^Existing/ }).click();
  await expectText('existing tab', 'eve@other.test');
  await shot('04-existing.png');
  const icon = page.locator('a.last-sign-in').first();
  await icon.click();
  await page.waitForURL(/\/sign-ins\?.*highlight=/);
  await page.goBack();

  // 5. Deleted: the deprovisioned user and the one just deactivated.
  await page.getByRole('link', { name: /^Deleted/ }).click();
  await expectText('deleted tab', 'carol@acme.test');
  await shot('05-deleted.png');

  const csp = b.cspViolations(base);
  check(!csp.length, `CSP violations on ssogate pages: ${JSON.stringify(csp)}`);
  // (The refused Save answers 409, which Chromium logs; that one is expected.)
  const refusal = (m) => /status of 409/.test(m.text) && m.url === `${t}/workbench`;
  const errors = b.consoleMessages.filter(
    (m) => m.type === 'pageerror' || (m.type === 'error' && onOrigin(m.url, base) && !refusal(m)),
  );
  check(!errors.length, `page errors: ${JSON.stringify(errors)}`);
  return { ok: true, refused: true, screenshots: b.screenshots, duration_ms: Date.now() - b.started };
});
