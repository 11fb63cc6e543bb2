// The console, walked as a person would in headless Chromium: sign in, register a tenant,
// write a config with a mistake and see the field error, fix it, deploy and watch the live
// log reach the summary (through a connection that is cut on the way), see the outputs with
// secrets masked, compare config versions, label the tenant and the environment and filter the
// fleet by a selector, hold a deploy for approval (the environment's policy set to `always`),
// find it among the pending approvals, approve it and watch it apply, reject another with a
// reason, see a stale approval's 409 in words, read the drift pages, sign out; a viewer sees no deploy button; a forged
// cross-site POST is refused. The page never shows the external ID after creation, nor a
// secret output value. Started by tests/console/browser.rs with a real `byoc serve`.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { assertAbsent, assertContrast, assertLabelled, launch, startForger, startProxy } from './lib.mjs';

const env = (name) => {
  const value = process.env[name];
  assert.ok(value, `${name} must be set`);
  return value;
};
const upstream = env('BYOC_URL');
const adminToken = env('BYOC_ADMIN_TOKEN');
const viewerToken = env('BYOC_VIEWER_TOKEN');
const shots = env('SCREENSHOT_DIR');

const proxy = await startProxy(upstream);
const base = proxy.url;
const browser = await launch(env('CHROMIUM'));
const page = await browser.context.newPage();
const secrets = { 'external ID': null, 'secret output': null, 'admin token': adminToken, 'viewer token': viewerToken };
const problems = [];
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('console', (m) => {
  // The API's own 4xx answers (who is signed in before anyone is, a status before the first
  // deploy) are logged by Chromium as failed loads; anything else (a CSP violation, a script
  // error) is a problem.
  if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
});

let step = 0;
async function shot(name) {
  step += 1;
  await page.screenshot({ path: path.join(shots, `${String(step).padStart(2, '0')}-${name}.png`), fullPage: true });
}
/** Checks every page must pass, then a screenshot. */
async function visited(name) {
  await assertLabelled(page, name);
  await assertContrast(page, name);
  await assertAbsent(page, secrets, name);
  await shot(name);
}
const api = async (method, p, token = adminToken, body = undefined) => {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(upstream + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, body: await response.json().catch(() => null) };
};

try {
  // --- sign in -----------------------------------------------------------------------------
  await page.goto(`${base}/`);
  await page.waitForURL(/\/ui\/signin/);
  await page.getByLabel('API token').waitFor();
  await visited('sign-in');
  await page.getByLabel('API token').fill('byoc_not-a-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#token-error').getByText('not valid').waitFor();
  await page.getByLabel('API token').fill(adminToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Fleet', level: 1 }).waitFor();
  const cookies = await browser.context.cookies(base);
  const session = cookies.find((c) => c.name === 'byoc_session');
  assert.ok(session, 'a session cookie');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');
  assert.ok(session.expires > Date.now() / 1000 && session.expires < Date.now() / 1000 + 8 * 3600 + 60, 'expires within 8 h');
  const stored = await page.evaluate(() => JSON.stringify({ c: document.cookie, l: { ...localStorage }, s: { ...sessionStorage } }));
  assert.ok(!stored.includes(adminToken) && !stored.includes('byoc_session'), `the browser keeps no token: ${stored}`);
  await visited('fleet-empty');

  // --- register a tenant: the external ID is shown once ----------------------------------
  await page.getByRole('link', { name: 'New tenant' }).click();
  await page.getByLabel('Name', { exact: true }).fill('Acme Corp');
  await page.getByLabel('Slug').fill('acme');
  await page.getByLabel('AWS account ID').fill('12345');
  await page.getByRole('button', { name: 'Register tenant' }).click();
  await page.locator('#tenant-aws_account_id-error').waitFor({ state: 'visible' });
  await page.getByLabel('AWS account ID').fill('123456789012');
  await page.getByRole('button', { name: 'Register tenant' }).click();
  await page.getByRole('heading', { name: 'Registered Acme Corp' }).waitFor();
  secrets['external ID'] = (await page.locator('figure.code', { hasText: 'External ID' }).locator('code').textContent()).trim();
  assert.match(secrets['external ID'], /^[A-Za-z0-9_-]{43}$/);
  await shot('tenant-registered-external-id-shown-once');
  await page.getByRole('link', { name: 'Continue to Acme Corp' }).click();
  await page.getByRole('heading', { name: 'Acme Corp', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Verify role' }).click();
  await page.getByText('The role works').waitFor();
  await page.locator('summary', { hasText: 'Edit labels' }).click();
  await page.locator('#tenant-labels-text').fill('tier=gold');
  await page.getByRole('button', { name: 'Save labels' }).click();
  await page.locator('#tenant-labels').getByText('tier=gold').waitFor();
  assert.deepEqual((await api('GET', '/api/v1/tenants/acme')).body.labels, { tier: 'gold' });
  await visited('tenant');

  // --- a config with a mistake, then fixed --------------------------------------------------
  await page.getByLabel('New environment').fill('prod');
  await page.getByRole('button', { name: 'Write its config' }).click();
  await page.getByRole('heading', { name: 'Config of acme/prod' }).waitFor();
  const cidr = page.locator('[data-pointer="/vpc_cidr"] input');
  await cidr.fill('10.0.0.0/33');
  await page.getByRole('button', { name: 'Validate and save' }).click();
  const fieldError = page.locator('[data-pointer="/vpc_cidr"] .field-error');
  await fieldError.waitFor({ state: 'visible' });
  assert.equal(await cidr.getAttribute('aria-invalid'), 'true');
  assert.match(await page.locator('#error-summary').textContent(), /\/vpc_cidr/);
  await visited('config-field-error');
  await cidr.fill('10.20.0.0/16');
  // The JSON view edits what the form does not show: a stack without the Kubernetes add-ons
  // keeps the walk short.
  await page.getByRole('button', { name: 'Edit as JSON' }).click();
  const json = JSON.parse(await page.locator('#config-json').inputValue());
  assert.equal(json.vpc_cidr, '10.20.0.0/16', 'the form and the JSON are one document');
  json.components = Object.fromEntries(['karpenter', 'argocd', 'cert_manager', 'external_secrets', 'ingress'].map((c) => [c, { enabled: false }]));
  await page.locator('#config-json').fill(JSON.stringify(json, null, 2));
  await page.getByRole('button', { name: 'Edit as a form' }).click();
  await page.locator('[data-pointer="/components/argocd/enabled"] input').waitFor();
  await page.getByRole('button', { name: 'Validate and save' }).click();
  await page.locator('#config-saved').getByText('Saved version 1').waitFor();
  assert.equal(await fieldError.isVisible(), false, 'the error is gone once fixed');
  await visited('config-saved');

  // --- deploy, and follow it live through a cut connection -------------------------------
  await page.getByRole('link', { name: 'Back to acme/prod' }).click();
  await page.getByRole('heading', { name: 'acme/prod', level: 1 }).waitFor();
  await visited('environment-before-deploy');
  let streams = 0;
  page.on('request', (r) => { if (r.url().includes('/events')) streams += 1; });
  await page.getByRole('button', { name: 'Deploy' }).click();
  await page.waitForURL(/\/ui\/operations\//);
  const log = page.locator('#op-log');
  await log.locator('li.step').nth(4).waitFor();
  const total = Number(await page.locator('#op-progress').getAttribute('max'));
  assert.ok(total > 10, `the bar's total is the plan's resource count (${total})`);
  await shot('operation-live');
  proxy.cut();
  await log.locator('li.summary').waitFor({ timeout: 120000 });
  await page.locator('#op-connection').getByText('finished').waitFor();
  assert.ok(streams >= 2, `the stream was resumed after the cut (${streams} requests)`);
  const seqs = await log.locator('li').evaluateAll((items) => items.map((li) => li.dataset.seq));
  assert.equal(new Set(seqs).size, seqs.length, 'no event shown twice');
  const steps = await log.locator('li.step .name').allTextContents();
  assert.equal(new Set(steps).size, steps.length, `no resource step shown twice: ${steps}`);
  assert.ok(steps.length > 10);
  assert.match(await log.locator('li.summary').textContent(), /created/);
  await page.locator('#op-progress').evaluate((bar) => bar.value === bar.max).then((full) => assert.ok(full, 'the bar is full'));
  assert.ok(await log.locator('li.step .dur').count() > 0, 'steps show their duration');
  await page.getByText('succeeded').first().waitFor();
  assert.equal(await page.locator('#op-cancel').count(), 0, 'no cancel once finished');
  await visited('operation-finished');

  // --- outputs with secrets masked, history, program, a second version and its diff ------
  const revealed = await api('GET', '/api/v1/tenants/acme/environments/prod/outputs?show_secrets=true');
  const secretOutputs = Object.entries(revealed.body).filter(([, o]) => o.secret);
  assert.ok(secretOutputs.length > 0, 'the stack has a secret output');
  secrets['secret output'] = String(typeof secretOutputs[0][1].value === 'string' ? secretOutputs[0][1].value : JSON.stringify(secretOutputs[0][1].value));
  await page.getByRole('link', { name: 'prod' }).first().click();
  await page.getByRole('heading', { name: 'acme/prod', level: 1 }).waitFor();
  const secretRow = page.locator('#outputs tr', { hasText: secretOutputs[0][0] });
  await secretRow.getByText('secret').waitFor();
  assert.equal(await page.locator('#history tbody tr').count(), 1);
  await page.locator('#program summary').click();
  await page.locator('#program pre').waitFor();
  await visited('environment-deployed');
  await page.getByRole('link', { name: 'Edit config' }).click();
  await page.locator('[data-pointer$="/scaling/desired_size"] input').first().fill('3');
  // Every deploy from now on waits for a reviewer.
  await page.getByRole('button', { name: 'Edit as JSON' }).click();
  const v2 = JSON.parse(await page.locator('#config-json').inputValue());
  v2.approval = { policy: 'always' };
  await page.locator('#config-json').fill(JSON.stringify(v2, null, 2));
  await page.getByRole('button', { name: 'Validate and save' }).click();
  await page.locator('#config-saved').getByText('Saved version 2').waitFor();
  await page.getByRole('link', { name: 'Back to acme/prod' }).click();
  const diff = page.locator('#config-diff');
  await diff.getByText('desired_size').waitFor();
  assert.match(await diff.textContent(), /v1[\s\S]*v2/);
  await visited('environment-config-diff');

  // --- labels on the environment, the fleet filtered by a label selector ------------------
  await page.locator('summary', { hasText: 'Edit labels' }).click();
  const envLabels = page.locator('#env-labels-text');
  await envLabels.fill('ring=canary\nBad Key=x');
  await page.getByRole('button', { name: 'Save labels' }).click();
  await page.locator('#env-labels-error [role=alert]').waitFor();
  assert.equal(await envLabels.getAttribute('aria-invalid'), 'true', 'the API refused the key');
  await envLabels.fill('ring=canary');
  await page.getByRole('button', { name: 'Save labels' }).click();
  await page.locator('#env-labels').getByText('ring=canary').waitFor();
  assert.equal(await envLabels.getAttribute('aria-invalid'), null);
  await visited('environment-labels');
  await page.getByRole('link', { name: 'Fleet' }).first().click();
  const selector = page.getByLabel('Label selector');
  await selector.fill('ring=stable');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.getByText('Nothing matches the filter.').waitFor();
  await selector.fill('ring in (canary,beta)');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.locator('table.grid tbody tr', { hasText: 'ring=canary' }).waitFor();
  assert.match(page.url(), /\?selector=ring/, 'the selector is kept in the address');
  await visited('fleet-label-selector');
  await selector.fill('ring in (');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.locator('#fleet-selector-error [role=alert]').getByText('selector').waitFor();
  await selector.fill('');
  await page.getByRole('button', { name: 'Apply' }).click();

  // --- a deploy held for approval: its plan, the pending list, approve, it applies --------
  await page.locator('table.grid tbody tr', { hasText: 'prod' }).getByRole('link', { name: 'prod' }).click();
  await page.getByRole('heading', { name: 'acme/prod', level: 1 }).waitFor();
  const deployHeld = async () => {
    await page.getByRole('button', { name: 'Deploy' }).click();
    await page.waitForURL(/\/ui\/operations\//);
    await page.getByRole('button', { name: 'Approve' }).waitFor({ timeout: 120000 });
    await page.getByText('This deploy waits for approval').waitFor();
    return page.url();
  };
  const held = await deployHeld();
  const approval = page.locator('#op-approval');
  assert.match(await approval.textContent(), /Held because.*approval policy is `always`/s);
  assert.ok(await approval.locator('dt', { hasText: 'Plan expires' }).count() === 1, 'the expiry is shown');
  const planned = await approval.locator('#plan-changes').textContent();
  assert.match(planned, /update/, `the change list names the scaling update: ${planned}`);
  assert.ok(await approval.locator('#plan-changes ul.paths li').count() > 0, 'changed property paths are listed');
  await page.getByRole('link', { name: 'Pending approvals' }).click();
  await page.getByRole('heading', { name: 'Pending approvals', level: 1 }).waitFor();
  const pendingRow = page.locator('#approvals tbody tr', { hasText: 'acme/prod' });
  await pendingRow.waitFor();
  assert.match(await pendingRow.textContent(), /to update/);
  await visited('pending-approvals');
  await pendingRow.getByRole('link', { name: /Review/ }).click();
  await page.waitForURL(held);
  await page.getByRole('button', { name: 'Approve' }).waitFor();
  await visited('operation-awaiting-approval');
  await page.getByRole('button', { name: 'Approve' }).click();
  await approval.getByText('approved by').waitFor({ timeout: 60000 });
  await page.locator('dl.facts dd .badge', { hasText: 'succeeded' }).first().waitFor({ timeout: 120000 });
  await page.locator('#op-connection').getByText('finished').waitFor({ timeout: 120000 });
  assert.equal(await page.getByRole('button', { name: 'Approve' }).count(), 0, 'decided once');
  assert.equal((await api('GET', `/api/v1/operations/${held.split('/').pop()}`)).body.status, 'succeeded', 'the approved plan applied');
  await visited('operation-approved-and-applied');

  // --- another held deploy, rejected with a reason ----------------------------------------
  await page.getByRole('link', { name: 'prod' }).first().click();
  await page.getByRole('heading', { name: 'acme/prod', level: 1 }).waitFor();
  await deployHeld();
  await page.getByLabel('Reason for rejecting (optional)').fill('not during the freeze');
  await page.getByRole('button', { name: 'Reject' }).click();
  await page.locator('dl.facts dd .badge', { hasText: 'cancelled' }).first().waitFor();
  await page.getByText('not during the freeze').first().waitFor();
  assert.equal(await page.getByRole('button', { name: 'Approve' }).count(), 0);
  await visited('operation-rejected');

  // --- a held deploy made stale by a newer config: the 409 in words -----------------------
  await page.getByRole('link', { name: 'prod' }).first().click();
  await page.getByRole('heading', { name: 'acme/prod', level: 1 }).waitFor();
  await deployHeld();
  const current = await api('GET', '/api/v1/tenants/acme/environments/prod/config');
  // The newer version also asks for drift checks (read below).
  const newer = await api('POST', '/api/v1/tenants/acme/environments/prod/config', adminToken, { ...current.body.request, drift_check: { every: '1m' } });
  assert.equal(newer.status, 201, JSON.stringify(newer.body));
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.locator('#approval-feedback [role=alert]').getByText('A newer config version was saved').waitFor();
  await page.locator('dl.facts dd .badge', { hasText: 'cancelled' }).first().waitFor();
  await visited('operation-stale-approval-refused');

  // --- drift: the fake cloud changed out of band, the check's report on both pages -------
  await page.getByRole('link', { name: 'Drift', exact: true }).click();
  await page.getByRole('heading', { name: 'Drift', level: 1 }).waitFor();
  await page.locator('#drift-summary').getByText('No drift found').waitFor();
  await page.getByRole('link', { name: 'Fleet', exact: true }).first().click();
  await page.locator('table.grid tbody tr', { hasText: 'prod' }).getByRole('link', { name: 'prod' }).click();
  await page.getByRole('heading', { name: 'acme/prod', level: 1 }).waitFor();
  await page.locator('#drift').getByText('Not checked yet').waitFor();
  // The stand-in's cloud now reports the VPC's DNS hostnames off (tests/support/pulumi_standin/
  // cloud.py); the check, scheduled by the config's drift_check, is made due at once (as
  // tests/support/app.rs make_drift_checks_due does) and the server looks every second.
  const knobsFile = env('STANDIN_KNOBS');
  const knobs = JSON.parse(fs.readFileSync(knobsFile, 'utf8'));
  fs.writeFileSync(knobsFile, JSON.stringify({ ...knobs, PULUMI_STANDIN_DRIFT: 'vpc:enableDnsHostnames=false' }));
  const makeDue = () => execFileSync('python3', ['-c',
    'import sqlite3, sys\nc = sqlite3.connect(sys.argv[1], timeout=10)\nc.execute("UPDATE drift_checks SET next_at = \'2000-01-01 00:00:00\' WHERE checked_at IS NULL")\nc.commit()',
    env('BYOC_DB')]);
  const driftDeadline = Date.now() + 120000;
  for (;;) {
    const report = (await api('GET', '/api/v1/tenants/acme/environments/prod/drift')).body;
    if (report?.resources?.length) break;
    assert.ok(Date.now() < driftDeadline && !report?.error, `a drift report: ${JSON.stringify(report)}`);
    if (report?.scheduled && !report.checked_at) makeDue();
    await new Promise((resolve) => { setTimeout(resolve, 300); });
  }
  await page.reload();
  const drifted = page.locator('#drift table tbody tr', { hasText: 'vpc' });
  await drifted.waitFor();
  assert.match(await drifted.textContent(), /aws:ec2\/vpc:Vpc.*properties differ.*enableDnsHostnames/s);
  assert.equal(await drifted.locator('time').count(), 2, 'first and last seen');
  await visited('environment-drift');
  await page.getByRole('link', { name: 'Drift', exact: true }).click();
  await page.getByRole('heading', { name: 'Drift', level: 1 }).waitFor();
  await page.locator('#drift-summary').getByText('1 drifted resource(s) in 1 environment(s)').waitFor();
  const fleetRow = page.locator('section', { hasText: 'aws:ec2/vpc:Vpc' }).locator('tbody tr', { hasText: 'acme/prod' });
  assert.match(await fleetRow.textContent(), /vpc.*enableDnsHostnames/s);
  await visited('fleet-drift');

  // --- a forged cross-site POST, with the admin's session in the browser ------------------
  const forger = await startForger(`${base}/api/v1/tenants`, [
    '{"name":"Forged","slug":"forged","aws_account_id":"123456789012","role_name":"R',
    'x"}',
  ]);
  const forgedPage = await browser.context.newPage();
  const answer = forgedPage.waitForResponse((r) => r.url() === `${base}/api/v1/tenants` && r.request().method() === 'POST');
  await forgedPage.goto(forger.url);
  const forged = await answer;
  assert.equal(forged.status(), 403, 'the forged POST is refused');
  assert.equal((await forged.json()).type, '/problems/cross-site-request');
  assert.equal((await api('GET', '/api/v1/tenants/forged')).status, 404, 'nothing was created');
  await forgedPage.screenshot({ path: path.join(shots, `${String(++step).padStart(2, '0')}-forged-post-refused.png`) });
  await forgedPage.close();
  forger.close();

  // --- fleet, then sign out -------------------------------------------------------------
  await page.getByRole('link', { name: 'Fleet' }).first().click();
  await page.getByRole('heading', { name: 'Fleet', level: 1 }).waitFor();
  await page.getByLabel('Status').selectOption('succeeded');
  await page.locator('table.grid tbody tr', { hasText: 'prod' }).waitFor();
  await visited('fleet');
  await page.emulateMedia({ colorScheme: 'light' });
  await visited('fleet-light-theme');
  await page.emulateMedia({ colorScheme: 'dark' });

  // --- destroy (confirmed by the stack's name), and cancel it from the page ---------------
  await page.getByRole('link', { name: 'prod' }).first().click();
  await page.getByRole('heading', { name: 'acme/prod', level: 1 }).waitFor();
  await page.locator('summary', { hasText: 'Destroy…' }).click();
  await page.getByRole('button', { name: 'Destroy stack' }).click();
  await page.getByText('Type acme-prod to confirm').waitFor();
  await page.getByLabel('Type the stack name to confirm').fill('acme-prod');
  await page.getByRole('button', { name: 'Destroy stack' }).click();
  await page.waitForURL(/\/ui\/operations\//);
  await page.getByRole('heading', { name: 'destroy of acme-prod' }).waitFor();
  await page.locator('#op-log li.step').nth(1).waitFor();
  await page.getByRole('button', { name: 'Cancel operation' }).click();
  await page.locator('#op-connection').getByText('finished').waitFor({ timeout: 120000 });
  await page.locator('dd .badge', { hasText: 'cancelled' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Cancel operation' }).count(), 0);
  await visited('operation-cancelled');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to byoc' }).waitFor();
  assert.equal((await browser.context.cookies(base)).filter((c) => c.name === 'byoc_session').length, 0, 'the cookie is gone');
  const after = await page.request.get(`${base}/console/session`);
  assert.equal(after.status(), 401);

  // --- a viewer: no deploy, cancel, verify or save --------------------------------------
  // By keyboard alone: the skip link comes first and shows itself, Enter submits.
  await page.goto(`${base}/ui/signin`);
  await page.getByLabel('API token').waitFor();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
  assert.ok((await page.locator('.skip').boundingBox()).x >= 0, 'the focused skip link is on screen');
  await page.getByLabel('API token').focus();
  await page.keyboard.type(viewerToken);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Fleet', level: 1 }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'New tenant' }).count(), 0);
  await page.goto(`${base}/ui/tenants/acme/environments/prod`);
  await page.getByRole('heading', { name: 'acme/prod', level: 1 }).waitFor();
  await page.locator('#outputs').waitFor();
  for (const name of ['Deploy', 'Preview', 'Refresh', 'Destroy stack']) {
    assert.equal(await page.getByRole('button', { name }).count(), 0, `a viewer sees no ${name} button`);
  }
  assert.equal(await page.locator('summary', { hasText: 'Edit labels' }).count(), 0, 'a viewer cannot edit labels');
  await page.locator('#env-labels').getByText('ring=canary').waitFor();
  await visited('environment-as-viewer');
  await page.goto(`${base}/ui/tenants/acme/environments/prod/config`);
  await page.getByRole('heading', { name: 'Config of acme/prod' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Validate and save' }).count(), 0);
  assert.equal(await page.locator('fieldset.config-form').evaluate((f) => f.disabled), true, 'the form is read-only');
  await visited('config-as-viewer');
  await page.goto(`${base}/ui/tenants/acme`);
  await page.getByRole('heading', { name: 'Acme Corp', level: 1 }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Verify role' }).count(), 0);
  await visited('tenant-as-viewer');
  // A deploy held for approval: a viewer reads its plan but has no decision to make.
  const heldForViewer = await api('POST', '/api/v1/tenants/acme/environments/prod/deploy');
  assert.equal(heldForViewer.status, 202, JSON.stringify(heldForViewer.body));
  // The list is read once per visit: visit it once the preview has saved the plan.
  const deadline = Date.now() + 120000;
  for (;;) {
    const { body } = await api('GET', `/api/v1/operations/${heldForViewer.body.id}`);
    if (body.status === 'awaiting_approval') break;
    assert.ok(['queued', 'running'].includes(body.status) && Date.now() < deadline, `the deploy is held: ${JSON.stringify(body)}`);
    await new Promise((resolve) => { setTimeout(resolve, 200); });
  }
  await page.goto(`${base}/ui/approvals`);
  await page.locator('#approvals tbody tr', { hasText: 'acme/prod' }).waitFor();
  await page.goto(`${base}/ui/operations/${heldForViewer.body.id}`);
  await page.getByText('This deploy waits for approval').waitFor({ timeout: 120000 });
  await page.locator('#plan-changes').waitFor();
  for (const name of ['Approve', 'Reject']) {
    assert.equal(await page.getByRole('button', { name }).count(), 0, `a viewer sees no ${name} button`);
  }
  await visited('operation-awaiting-approval-as-viewer');
  assert.equal((await api('POST', `/api/v1/operations/${heldForViewer.body.id}/approve`, viewerToken)).status, 403, 'the server refuses a viewer\'s approval');
  assert.equal((await api('POST', `/api/v1/operations/${heldForViewer.body.id}/reject`, adminToken, {})).status, 200);
  // The server refuses it anyway: the page's own session, the page's own CSRF token.
  const refused = await page.evaluate(async () => {
    const me = await (await fetch('/console/session')).json();
    const r = await fetch('/api/v1/tenants/acme/environments/prod/deploy', { method: 'POST', headers: { 'X-CSRF-Token': me.csrf_token } });
    return r.status;
  });
  assert.equal(refused, 403, 'the server refuses a viewer\'s deploy');

  assert.deepEqual(problems, [], 'no script errors');
  console.log('console walkthrough: every step passed');
} catch (e) {
  await shot('failure').catch(() => {});
  throw e;
} finally {
  await browser.close();
  proxy.close();
}
