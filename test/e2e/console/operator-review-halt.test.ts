import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { openConfiguredDatabase } from '../../../src/cli/context.ts';
import { operatorSession } from '../../../src/cli/operator-auth.ts';
import { composeServices } from '../../../src/composition.ts';
import { loadConfig } from '../../../src/config.ts';
import { systemClock } from '../../../src/core/clock.ts';
import { createOperator } from '../../../src/services/identity/operators.ts';
import {
  assertClean,
  consoleSuite,
  demoWithdrawal,
  operatorConsole as harnessOperatorConsole,
  screenshot,
  until,
} from './harness.ts';

/**
 * Operators through the console: a withdrawal above REVIEW_TWO_ANALYST_USD is held; one analyst's approval leaves
 * it held ("1 of 2 approvals") and a second, different analyst queues it; an incident commander pressed the big
 * red button first, so it stays queued past its cancel window; the halt is lifted and it is released and completed.
 * (A halt set by hand outside an incident is lifted by one commander; an incident's needs two people, as
 * incident-resume.test.ts shows.)
 */

const suite = consoleSuite();
const { skip } = suite;

interface Person {
  email: string;
  password: string;
  secret: string;
}

/**
 * Risk analysts made by the demo admin, through the services the CLI's `operator create` runs, on the server's
 * database (in this process: a CLI process each would cost seconds).
 */
async function createAnalysts(emails: readonly string[], adminToken: string): Promise<Person[]> {
  const config = loadConfig({ DRAWBRIDGE_DATA_DIR: join(suite.server.dataDir, 'data'), LOG_LEVEL: 'warn' });
  const database = openConfiguredDatabase(config);
  try {
    const context = await composeServices(config, database, systemClock);
    const { actor } = await operatorSession(context, adminToken);
    const made: Person[] = [];
    for (const email of emails) {
      const created = await createOperator(context, actor, { email, role: 'risk_analyst' });
      made.push({
        email,
        password: created.password,
        secret: new URL(created.otpauth_uri).searchParams.get('secret') ?? '',
      });
    }
    return made;
  } finally {
    await database.close();
  }
}

const operatorConsole = (who: Person) => harnessOperatorConsole(suite, who);

test('two analysts approve a large withdrawal; a halt keeps it queued until lifted, then it completes', {
  skip,
}, async () => {
  const demo = suite.server.demo();
  const admin = await suite.server.operatorToken(demo.admin);
  const [first, second] = (await createAnalysts(
    ['analyst.one@drawbridge.local', 'analyst.two@drawbridge.local'],
    admin,
  )) as [Person, Person];

  // The demo customer asks for 1 BTC (worth far more than the 10,000 USD threshold): held for review.
  const { id, confirmed, stateOf } = await demoWithdrawal(suite.server, '1');
  assert.equal(confirmed.state, 'held_for_review', JSON.stringify(confirmed));

  // The incident commander presses the big red button.
  const commander = await operatorConsole(demo.commander);
  await commander.page.getByRole('button', { name: 'Halt all withdrawals' }).click();
  await commander.page.getByLabel('Why halt everything?').fill('suspicious approvals under investigation');
  await commander.page.getByRole('button', { name: 'Halt now' }).click();
  await commander.page.getByRole('heading', { name: 'ALL WITHDRAWALS ARE HALTED' }).waitFor();

  // The first analyst approves: above the threshold that is 1 of 2, and it stays held.
  const one = await operatorConsole(first);
  await one.page.getByRole('link', { name: 'Review queue', exact: true }).click();
  await one.page.getByRole('cell', { name: '1 BTC' }).waitFor();
  await screenshot(one.page, 'operator-review-queue');
  await one.page.locator('tbody tr').first().getByRole('link').click();
  await one.page.getByTestId('review-status').getByText('0 of 2 approvals').waitFor();
  await one.page
    .getByRole('cell', { name: /daily_limit|velocity/ })
    .first()
    .waitFor();
  await one.page.getByLabel('Your reason').fill('customer confirmed by phone');
  await one.page.getByRole('button', { name: 'Approve' }).click();
  await one.page.getByTestId('review-status').getByText('1 of 2 approvals').waitFor();
  await screenshot(one.page, 'operator-review-one-of-two');
  assert.equal(await stateOf(), 'held_for_review');

  // A second, different analyst: it is queued, but the halt holds it past its cancel window.
  const two = await operatorConsole(second);
  await two.page.goto(`${suite.server.base}/operator/review/${id}`);
  await two.page.getByLabel('Your reason').fill('second look: destination is the long-standing cold wallet');
  await two.page.getByRole('button', { name: 'Approve' }).click();
  await two.page.getByTestId('review-status').getByText('2 of 2 approvals').waitFor();
  assert.equal(await stateOf(), 'queued');
  await suite.server.advance(60);
  await new Promise((resolve) => setTimeout(resolve, 2500));
  assert.equal(await stateOf(), 'queued', 'the halt keeps it queued');
  await commander.page.reload();
  await commander.page.getByTestId('active-halts').waitFor();
  await screenshot(commander.page, 'operator-dashboard-halted');

  // A halt set by hand outside an incident: one commander lifts it; released, then completed.
  await commander.page.getByRole('button', { name: 'Lift this halt' }).click();
  await commander.page.getByRole('heading', { name: 'Withdrawals are flowing' }).waitFor();
  await until('completed', async () => ((await stateOf()) === 'completed' ? true : undefined), 30_000);

  // The dashboard's chart and counts, the search and the audit log.
  await commander.page.reload();
  await commander.page.locator('.chart canvas').first().waitFor();
  await commander.page.locator('[data-state-count="completed"]').waitFor();
  await screenshot(commander.page, 'operator-dashboard');
  await commander.page.getByRole('link', { name: 'Search' }).click();
  await commander.page.getByLabel('Email starts with').fill('demo');
  await commander.page.getByRole('button', { name: 'Search' }).click();
  await commander.page.getByRole('cell', { name: demo.customer.email, exact: true }).waitFor();
  await commander.page.getByRole('button', { name: `Withdrawals of ${demo.customer.email}` }).click();
  await commander.page.getByRole('cell', { name: '1 BTC' }).waitFor();
  await screenshot(commander.page, 'operator-search');
  await commander.page.getByRole('link', { name: 'Audit log' }).click();
  await commander.page.getByLabel('Action').fill('halt.*');
  await commander.page.getByRole('button', { name: 'Filter' }).click();
  await until('the halt entries', async () =>
    (await commander.page.locator('tbody tr').count()) === 2 ? true : undefined,
  );
  // Each entry names its operator by email, the whole id in the title; ids are shown short, on one line.
  assert.equal(
    await commander.page.getByRole('cell', { name: demo.commander.email, exact: true }).count(),
    2,
  );
  const subject = commander.page.locator('tbody tr').first().locator('.id').first();
  assert.match((await subject.getAttribute('title')) ?? '', /^halt:[0-9a-f-]{36}$/);
  const box = await subject.boundingBox();
  assert.ok(box !== null && box.height < 30, `one line: ${box?.height}`);
  await screenshot(commander.page, 'operator-audit-log');
  for (const page of [commander.page, one.page, two.page]) assertClean(page);
});
