import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertClean, consoleSuite, screenshot, watchedPage } from './harness.ts';

/**
 * After an incident revoked every customer's second factor, the password alone no longer enrols one: the demo
 * customer signs in with it, asks for the re-enrolment link, opens it from the dev mailbox on the console's page
 * and enrols an authenticator again with the link's token (codes computed from the secret the page shows).
 */

const suite = consoleSuite();
const { skip } = suite;

test('after a mass MFA revocation, a customer re-enrols from the emailed link in the browser', {
  skip,
}, async () => {
  const demo = suite.server.demo();
  const commander = await suite.server.operatorToken(demo.commander);
  const opened = await suite.server.call('POST', '/v1/operator/incidents', {
    token: commander,
    body: { title: 'Phished authenticator seeds', severity: 'critical' },
  });
  assert.equal(opened.status, 201, JSON.stringify(opened.body));
  const revoked = await suite.server.call('POST', `/v1/operator/incidents/${opened.body.id}/revoke`, {
    token: commander,
    body: { mfa: true },
  });
  assert.equal(revoked.status, 200, JSON.stringify(revoked.body));

  const context = await suite.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await watchedPage(context);
  await page.goto(`${suite.server.base}/login`);
  await page.getByLabel('Email').fill(demo.customer.email);
  await page.getByLabel('Password').fill(demo.customer.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('link', { name: 'Security', exact: true }).waitFor();

  // Without the link, the page offers to send one; the email's link opens the page with its token.
  await page.goto(`${suite.server.base}/mfa/re-enrol`);
  await page.getByRole('button', { name: 'Email me a new link' }).click();
  await page.getByText('A new link is on its way').waitFor();
  await page.goto(`${suite.server.base}/dev/mailbox?to=${encodeURIComponent(demo.customer.email)}`);
  await page.getByRole('link', { name: 'Enrol my second factor' }).first().click();
  await page.getByRole('heading', { name: 'Enrol your second factor again' }).waitFor();
  await screenshot(page, 'customer-re-enrol');
  await page.getByRole('button', { name: 'Add an authenticator app' }).click();
  const secret = (await page.getByTestId('totp-secret').textContent()) ?? '';
  await page.getByLabel('Code from the app').fill(await suite.server.nextCode(secret));
  await page.getByRole('button', { name: 'Activate' }).click();
  await page.getByText('Your second factor is set up again').waitFor();
  await page.getByTestId('recovery-codes').waitFor();
  await screenshot(page, 'customer-re-enrolled');
  assertClean(page);
});
