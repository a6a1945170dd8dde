import assert from 'node:assert/strict';
import { test } from 'node:test';
import { totpAt } from '../../../src/core/mfa/totp.ts';
import {
  assertClean,
  consoleSuite,
  operatorConsole,
  passHours,
  screenshot,
  until,
  waitForWithdrawalState,
  watchedPage,
} from './harness.ts';

/**
 * A new customer, through the console only: signs up, confirms the email from the dev mailbox, enrols an
 * authenticator (the test computes codes from the secret the page shows), adds an address and sees it cool, lets
 * the server's clock pass the cooling period, withdraws, checks the confirmation screen against the server's own
 * summary, confirms, and watches it be released and completed. No console error or CSP violation on the way.
 */

const suite = consoleSuite();
const { skip } = suite;

test('sign up, verify, enrol TOTP, add an address, wait out the cooling, withdraw and watch it complete', {
  skip,
}, async () => {
  const email = 'grace@example.com';
  const password = 'correct horse battery staple';
  const context = await suite.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await watchedPage(context);

  // Sign up.
  await page.goto(`${suite.server.base}/signup`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await screenshot(page, 'customer-signup');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Check your email' }).waitFor();

  // The dev mailbox, and the email's link opened on the console's landing page.
  await page.getByRole('link', { name: 'dev mailbox' }).click();
  await page.getByRole('link', { name: 'Confirm my email' }).waitFor();
  await screenshot(page, 'dev-mailbox');
  await page.getByRole('link', { name: 'Confirm my email' }).click();
  await page.getByRole('button', { name: 'Confirm my email' }).waitFor();
  await screenshot(page, 'email-link-verify');
  await page.getByRole('button', { name: 'Confirm my email' }).click();
  await page.getByText('Your email is confirmed').waitFor();

  // Sign in (no second factor yet), then enrol an authenticator from the Security page.
  // The lock link's landing page: opening it changes nothing, its button does (not pressed here).
  await page.goto(`${suite.server.base}/lock-account?token=not-a-real-token`);
  await page.getByRole('heading', { name: 'Lock your account' }).waitFor();
  await screenshot(page, 'email-link-lock');
  await page.goto(`${suite.server.base}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await screenshot(page, 'customer-login');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Your balances' }).waitFor();
  await page.getByRole('link', { name: 'Security' }).click();
  await page.getByRole('button', { name: 'Add an authenticator app' }).click();
  const secret = (await page.getByTestId('totp-secret').textContent()) ?? '';
  assert.match(secret, /^[A-Z2-7]{16,}$/);
  assert.ok(await page.getByRole('img', { name: 'QR code of your authenticator secret' }).isVisible());
  await screenshot(page, 'customer-totp-enrolment');
  await page.getByLabel('Code from the app').fill(totpAt(secret, await suite.server.now()));
  await page.getByRole('button', { name: 'Activate' }).click();
  const codes = page.getByTestId('recovery-codes').getByRole('listitem');
  await codes.first().waitFor();
  assert.equal(await codes.count(), 10);
  await screenshot(page, 'customer-recovery-codes');
  await page.getByRole('button', { name: 'I saved them' }).click();

  // Set an anti-phishing code: every page a customer acts on shows it from then on.
  await page.getByLabel('New anti-phishing code').fill('blue heron 42');
  await page.getByRole('button', { name: 'Set code' }).click();
  await page.getByLabel('Authenticator code').fill(await suite.server.nextCode(secret));
  await page.getByRole('button', { name: 'Set anti-phishing code' }).click();
  await until('the anti-phishing code in the header', async () =>
    (await page.getByTestId('anti-phishing-code').textContent()) === 'blue heron 42' ? true : undefined,
  );

  // Add an address: it cools, with a live countdown and what cooling means.
  await page.getByRole('link', { name: 'Addresses' }).click();
  await page.getByRole('heading', { name: 'What cooling means' }).waitFor();
  // The cooling period said without its zero parts: 24 hours is "1 d", not "1 d 0 h 0 min 0 s".
  await page.locator('.explainer strong', { hasText: /^1 d$/ }).waitFor();
  await page.getByRole('button', { name: 'Add an address' }).click();
  await page.getByLabel('Network').selectOption('bitcoin');
  await page.getByLabel('Address', { exact: true }).fill('bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq');
  await page.getByLabel('Label').fill('My hardware wallet');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Authenticator code').fill(await suite.server.nextCode(secret));
  await page.getByRole('button', { name: 'Add address' }).click();
  const row = page.locator('tr', { hasText: 'My hardware wallet' });
  await row.getByText('cooling').waitFor();
  const first = await row.locator('.countdown').textContent();
  await page.waitForTimeout(1100);
  assert.notEqual(await row.locator('.countdown').textContent(), first, 'the countdown moves');
  assert.match(first ?? '', /^in (23 h 5\d min|1 d)( \d+ s)?$/);
  assert.ok(
    await page.getByTestId('anti-phishing-code').isVisible(),
    'the anti-phishing code is on the page',
  );
  await screenshot(page, 'customer-address-book-cooling');

  // Money arrives (an incident commander records a deposit through the API), and a day passes on the server.
  const commander = await suite.server.operatorToken(suite.server.demo().commander);
  const customers = await suite.server.call(
    'GET',
    `/v1/operator/customers?email=${encodeURIComponent(email)}`,
    {
      token: commander,
    },
  );
  const deposit = await suite.server.call('POST', '/v1/operator/deposits', {
    token: commander,
    body: {
      account_id: customers.body.customers[0].id,
      asset: 'BTC',
      network: 'bitcoin',
      amount: '0.5',
      txid: 'aa'.repeat(32),
      output_index: 0,
    },
  });
  assert.equal(deposit.status, 200, JSON.stringify(deposit.body));
  // A deposit entered by hand is credited once a second operator approves it: the admin, on the dashboard.
  const admin = await operatorConsole(suite, suite.server.demo().admin);
  const pending = admin.page.getByTestId('pending-deposits');
  await pending.getByRole('button', { name: 'Approve and credit 0.5 BTC' }).waitFor();
  await screenshot(admin.page, 'operator-dashboard-deposit-awaiting');
  await pending.getByRole('button', { name: 'Approve and credit 0.5 BTC' }).click();
  await pending.getByText('No deposit awaits approval.').waitFor();
  assertClean(admin.page);
  await admin.context.close();
  const credited = await suite.server.call(
    'GET',
    `/v1/operator/customers/${customers.body.customers[0].id}`,
    {
      token: commander,
    },
  );
  assert.equal(credited.status, 200, JSON.stringify(credited.body));
  assert.ok(
    JSON.stringify(credited.body.balances).includes('"available":"0.5"'),
    JSON.stringify(credited.body.balances),
  );
  await passHours(suite.server, page, 25);
  await row.getByText('usable').waitFor();

  // Withdraw: the confirmation screen shows the server's own summary before the code is asked for.
  await page.getByRole('link', { name: 'Withdraw', exact: true }).click();
  await page.getByLabel('Asset').selectOption('BTC');
  await page.getByLabel('Amount (BTC)').fill('0.1');
  await screenshot(page, 'customer-withdraw');
  await page.getByRole('button', { name: 'Review withdrawal' }).click();
  const summary = page.getByTestId('confirmation-summary');
  await summary.waitFor();
  const support = await suite.server.operatorToken(suite.server.demo().admin);
  const listed = await suite.server.call('GET', '/v1/operator/withdrawals?limit=1', { token: support });
  const made = listed.body.withdrawals[0];
  const shown = async (field: string) =>
    (await summary.locator(`[data-field="${field}"]`).textContent())?.trim();
  assert.equal(await shown('amount'), `${made.amount} ${made.asset}`);
  assert.equal(await shown('network'), made.network);
  assert.equal(await shown('address'), made.destination);
  assert.equal(await shown('address'), 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq');
  assert.equal(await shown('label'), 'My hardware wallet');
  assert.equal(await shown('fee'), `${made.fee} BTC`);
  assert.equal(await shown('summary'), made.summary);
  assert.equal(await shown('digest'), made.digest);
  await screenshot(page, 'customer-withdraw-confirmation');
  await page.getByLabel('Authenticator code').fill(await suite.server.nextCode(secret));
  await page.getByRole('button', { name: 'Confirm withdrawal' }).click();

  // Live: the withdrawal page follows it through its states, on the real clock (2 s cancel window, fast blocks).
  await page.getByRole('heading', { name: 'Withdrawal', exact: true }).waitFor();
  await waitForWithdrawalState(suite.server, page, 'completed');
  const history = await page.locator('.history li').allTextContents();
  for (const state of ['queued', 'released', 'broadcast', 'completed'])
    assert.ok(
      history.some((line) => line.includes(state)),
      `history shows ${state}: ${history.join(' | ')}`,
    );
  await screenshot(page, 'customer-withdrawal-completed');

  // The other customer pages render: overview, withdrawals, sessions and devices, lock.
  await page.getByRole('link', { name: 'Overview' }).click();
  await page.getByRole('rowheader', { name: 'BTC' }).waitFor();
  await screenshot(page, 'customer-overview');
  await page.getByRole('link', { name: 'Withdrawals', exact: true }).click();
  await page.getByRole('cell', { name: /0\.1 BTC/ }).waitFor();
  await screenshot(page, 'customer-withdrawals');
  await page.getByRole('link', { name: 'Sessions' }).click();
  await page.getByText('This browser').waitFor();
  await screenshot(page, 'customer-sessions');
  await page.getByRole('link', { name: 'Lock account' }).click();
  await page.getByRole('button', { name: 'Lock my account now' }).waitFor();
  await screenshot(page, 'customer-lock');

  // A failure is said, never a blank page or a raw error: an answer of a shape the page did not expect (the header
  // and its navigation stay), a 429 with its Retry-After, and Drawbridge unreachable while the session is checked
  // (not "signed out": a retry brings the page back).
  const quiet = page.problems.length;
  await page.route('**/v1/balances', (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: '{}' }),
  );
  await page.goto(`${suite.server.base}/`);
  await page.getByRole('heading', { name: 'Something went wrong' }).waitFor();
  await page.getByRole('alert').getByText('Drawbridge answered in a way it did not expect').waitFor();
  assert.ok(
    await page.getByRole('link', { name: 'Withdraw', exact: true }).isVisible(),
    'the navigation stays',
  );
  assert.ok(await page.getByRole('button', { name: 'Reload the page' }).isVisible());
  await screenshot(page, 'customer-page-failed');
  await page.unroute('**/v1/balances');
  await page.route('**/v1/account/sessions', (route) =>
    route.fulfill({
      status: 429,
      headers: { 'retry-after': '37' },
      contentType: 'application/problem+json',
      body: JSON.stringify({ status: 429, code: 'RATE_LIMITED', title: 'Too many requests' }),
    }),
  );
  await page.goto(`${suite.server.base}/sessions`);
  await page.getByRole('alert').getByText('Too many attempts. Wait 37 seconds, then try again.').waitFor();
  await page.unroute('**/v1/account/sessions');
  await page.route('**/v1/account', (route) => route.abort('connectionrefused'));
  await page.goto(`${suite.server.base}/sessions`);
  await page.getByRole('heading', { name: 'Drawbridge could not check your session' }).waitFor();
  await page.getByRole('alert').getByText('Drawbridge could not be reached.').waitFor();
  await page.unroute('**/v1/account');
  await page.getByRole('button', { name: 'Try again' }).click();
  await page.getByRole('heading', { name: 'Sessions and devices' }).waitFor();
  // What the browser itself logs for those answers is expected here; nothing else may appear.
  const expected = /Failed to load resource|ERR_CONNECTION_REFUSED|Cannot read properties of undefined/;
  const logged = page.problems.splice(quiet);
  assert.deepEqual(
    logged.filter((line) => !expected.test(line)),
    [],
    logged.join('\n'),
  );
  assertClean(page);
  await context.close();
});
