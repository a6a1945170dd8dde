import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertClean, consoleSuite, demoWithdrawal, operatorConsole, screenshot, until } from './harness.ts';

/**
 * The incident playbook through the console: an incident commander opens an incident and halts everything through
 * it; the customer's withdrawal, confirmed then, stays queued; the halt cannot be lifted from the dashboard
 * by one person, the commander asks for the resume, and a second operator (the admin, in a browser of their own)
 * approves it: the withdrawal is released and completes.
 */

const suite = consoleSuite();
const { skip } = suite;

test('an incident commander halts, the withdrawal stays queued, a second operator approves the resume', {
  skip,
}, async () => {
  const demo = suite.server.demo();

  // The incident commander opens an incident and halts every withdrawal through it.
  const commander = await operatorConsole(suite, demo.commander);
  const page = commander.page;
  await page.getByRole('link', { name: 'Incidents', exact: true }).click();
  await page.getByLabel('Title').fill('Approvals without a second factor');
  await page.getByLabel('Severity').selectOption('critical');
  await page.getByRole('button', { name: 'Open the incident' }).click();
  await page.getByRole('heading', { name: 'Approvals without a second factor' }).waitFor();
  const incidentUrl = page.url();
  // A field and the buttons that act on it line up (the hint under the field does not push them down).
  const note = await page.getByLabel('Status note').boundingBox();
  const mark = await page.getByRole('button', { name: 'Mark contained' }).boundingBox();
  assert.ok(note !== null && mark !== null && Math.abs(note.y - mark.y) <= 2, `${note?.y} vs ${mark?.y}`);
  await page.getByLabel('Why halt every withdrawal?').fill('forged approvals under investigation');
  await page.getByRole('button', { name: 'Halt all withdrawals for this incident' }).click();
  await page.getByRole('heading', { name: /Halted by this incident/ }).waitFor();

  // Then the demo customer withdraws a little BTC to their cooled cold wallet: it is queued, not released.
  const { confirmed, stateOf } = await demoWithdrawal(suite.server, '0.01');
  assert.equal(confirmed.state, 'queued', JSON.stringify(confirmed));

  // Past any cancel window, the halt keeps it queued.
  await suite.server.advance(60);
  await new Promise((resolve) => setTimeout(resolve, 2500));
  assert.equal(await stateOf(), 'queued', 'the halt keeps it queued');

  // The dashboard says who placed the halt and leads to the incident's resume, with no lift button that would fail.
  await page.getByRole('link', { name: 'Dashboard', exact: true }).click();
  await page.getByRole('heading', { name: 'ALL WITHDRAWALS ARE HALTED' }).waitFor();
  await page.getByTestId('active-halts').getByText('for an incident').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Lift this halt' }).count(), 0);
  await screenshot(page, 'operator-dashboard-incident-halt');
  await page.getByRole('link', { name: "Lifted by two people: the incident's resume" }).click();

  // The commander asks for the resume: nothing is lifted until someone else approves.
  await page.getByLabel('Why is it safe to resume?').fill('forged approvals stopped; verifier deployed');
  await page.getByRole('button', { name: 'Request the resume' }).click();
  await page.getByText('waiting for a second, different operator to approve').waitFor();
  // People are named by email, not by their principal id (kept in the title).
  const asker = page.getByTestId('resume-requests').getByText(demo.commander.email, { exact: true });
  assert.match((await asker.getAttribute('title')) ?? '', /^operator:[0-9a-f-]{36}$/);
  await page.getByTestId('incident-status').getByText(demo.commander.email, { exact: true }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Approve the resume' }).count(), 0);
  await screenshot(page, 'operator-incident-resume-requested');
  assert.equal(await stateOf(), 'queued');

  // A second operator, in a browser of their own, approves: the halt is lifted, it is released and completes.
  const admin = await operatorConsole(suite, demo.admin);
  await admin.page.goto(incidentUrl);
  await admin.page.getByRole('button', { name: 'Approve the resume' }).click();
  await admin.page
    .getByTestId('resume-requests')
    .getByText(/approved by/)
    .waitFor();
  await admin.page.getByTestId('resume-requests').getByText(demo.admin.email, { exact: true }).waitFor();
  await admin.page.getByRole('heading', { name: 'No halt of this incident in force' }).waitFor();
  await until('completed', async () => ((await stateOf()) === 'completed' ? true : undefined), 30_000);

  // The commander's page follows live: the timeline, the halt lifted; then the report.
  await page.getByRole('heading', { name: 'No halt of this incident in force' }).waitFor();
  await page
    .getByTestId('incident-timeline')
    .getByText(/resume/)
    .first()
    .waitFor();
  await page.getByRole('button', { name: 'Show the report' }).click();
  await page.getByTestId('report-summary').waitFor();
  // The summary in the report's own words, a duration in d/h/min/s rather than raw ms.
  await page.getByTestId('report-summary').getByText('Withdrawals halted (global and asset halts)').waitFor();
  const halted = await page
    .getByTestId('report-summary')
    .locator('[data-field="halt_duration_ms"]')
    .textContent();
  assert.match(halted ?? '', /^\d+ (d|h|min|s)( \d+ (h|min|s))*$/);
  await screenshot(page, 'operator-incident');
  await page.getByRole('link', { name: 'Incidents', exact: true }).click();
  await page.getByRole('link', { name: 'Approvals without a second factor' }).waitFor();
  await screenshot(page, 'operator-incidents');

  // Paged at night, the commander opens the console on a phone: at 390 px every operator table is one block per
  // row, nothing scrolls sideways (the page or a table inside it).
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [path, heading] of [
    ['/operator/incidents', 'Incidents'],
    [new URL(incidentUrl).pathname, 'Approvals without a second factor'],
    ['/operator/review', 'Review queue'],
    ['/operator/audit', 'Audit log'],
  ] as const) {
    await page.goto(`${suite.server.base}${path}`);
    await page.getByRole('heading', { name: heading, exact: true }).waitFor();
    await page.locator('table tbody tr').first().waitFor();
    const over = (await page.evaluate(`Math.max(
      document.documentElement.scrollWidth - window.innerWidth,
      ...[...document.querySelectorAll('table')].map((t) => t.scrollWidth - t.clientWidth),
    )`)) as number;
    assert.ok(over <= 1, `${path}: nothing wider than the 390 px screen (${over} px over)`);
  }
  await page.goto(incidentUrl);
  await page.getByRole('heading', { name: 'Approvals without a second factor' }).waitFor();
  await screenshot(page, 'mobile-operator-incident');
  for (const p of [page, admin.page]) assertClean(p);
});
