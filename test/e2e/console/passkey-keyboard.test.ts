import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import {
  assertClean,
  consoleSuite,
  passHours,
  screenshot,
  waitForWithdrawalState,
  watchedPage,
} from './harness.ts';

/**
 * Passkeys through Chromium's virtual authenticator (the CDP WebAuthn domain), on the embedded default's own
 * origin (http://localhost:<port>, the relying party `localhost`): enrol one, then confirm a withdrawal with it.
 * And the withdraw flow at 390 px wide, with the keyboard only.
 */

const suite = consoleSuite();
const { skip } = suite;
const demo = () => suite.server.demo();

async function signIn(page: Page) {
  await page.goto(`${suite.server.base}/login`);
  await page.getByLabel('Email').fill(demo().customer.email);
  await page.getByLabel('Password').fill(demo().customer.password);
  await page.getByLabel('Authenticator code').fill(await suite.server.nextCode(demo().customer.secret));
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Your balances' }).waitFor();
}

test('a passkey enrolled in the console confirms a withdrawal it signs', { skip }, async () => {
  // In the dark colour scheme (prefers-color-scheme), so the screenshots show both.
  const context = await suite.browser.newContext({
    viewport: { width: 1280, height: 900 },
    colorScheme: 'dark',
  });
  const page = await watchedPage(context);
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = (await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  })) as { authenticatorId: string };
  await signIn(page);
  await page.getByRole('link', { name: 'Security' }).click();
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await page.getByLabel('Name for this passkey').fill('Virtual authenticator');
  await page.getByLabel('Authenticator code').fill(await suite.server.nextCode(demo().customer.secret));
  await page.getByRole('button', { name: 'Create passkey' }).click();
  await page.getByText('Virtual authenticator').waitFor();
  const held = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })) as { credentials: unknown[] };
  assert.equal(held.credentials.length, 1, 'the virtual authenticator holds the new passkey');
  await screenshot(page, 'customer-security-passkey-dark');

  // A second-factor change and a new browser pause withdrawals for a day: let it pass on the server.
  await passHours(suite.server, page, 25);
  await page.getByRole('link', { name: 'Withdraw', exact: true }).click();
  await page.getByLabel('Amount (BTC)').fill('0.01');
  await page.getByRole('button', { name: 'Review withdrawal' }).click();
  await page.getByTestId('confirmation-summary').waitFor();
  await page.getByRole('button', { name: 'Use my passkey' }).click();
  await page.getByRole('heading', { name: 'Withdrawal', exact: true }).waitFor();
  await waitForWithdrawalState(suite.server, page, 'completed');
  const history = await page.locator('.history li').allTextContents();
  assert.ok(
    history.some((line) => line.includes('released')),
    history.join(' | '),
  );
  assertClean(page);
  await context.close();
});

/** The focused element's label (or text), evaluated in the page (this file is compiled without the DOM's types). */
const FOCUSED_NAME = `(() => {
  const element = document.activeElement;
  if (element === null) return '';
  const label = element.id === '' ? null : document.querySelector('label[for="' + element.id + '"]');
  return ((label && label.textContent) || element.getAttribute('aria-label') || element.textContent || '').trim();
})()`;

/** Presses Tab until the focused element is the one named, as a keyboard user moves through the page. */
async function tabTo(page: Page, name: string | RegExp, limit = 40): Promise<void> {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    const focused = (await page.evaluate(FOCUSED_NAME)) as string;
    if (typeof name === 'string' ? focused === name : name.test(focused)) return;
  }
  throw new Error(`${String(name)} is not reachable with Tab`);
}

test('at 390 px and with the keyboard only: sign in, withdraw, confirm and watch it complete', {
  skip,
}, async () => {
  const context = await suite.browser.newContext({
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
  });
  const page = await watchedPage(context);
  await page.goto(`${suite.server.base}/login`);
  await tabTo(page, 'Email');
  await page.keyboard.type(demo().customer.email);
  await tabTo(page, 'Password');
  await page.keyboard.type(demo().customer.password);
  await tabTo(page, 'Authenticator code');
  await page.keyboard.type(await suite.server.nextCode(demo().customer.secret));
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Your balances' }).waitFor();
  // A new browser: its first withdrawals wait a day (the new-device rule), so a day passes on the server.
  await passHours(suite.server, page, 25);
  await screenshot(page, 'mobile-overview');

  await tabTo(page, 'Withdraw');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Withdraw' }).waitFor();
  await tabTo(page, 'Amount (BTC)');
  await page.keyboard.type('0.02');
  await page.keyboard.press('Enter');
  await page.getByTestId('confirmation-summary').waitFor();
  const overflow = (await page.evaluate(
    'document.documentElement.scrollWidth - window.innerWidth',
  )) as number;
  assert.ok(overflow <= 0, `nothing wider than the 390 px screen (${overflow} px over)`);
  assert.equal(
    (await page.getByTestId('confirmation-summary').locator('[data-field="address"]').textContent())?.trim(),
    'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4',
    'the full address, not a shortened one',
  );
  await screenshot(page, 'mobile-withdraw-confirmation');
  await tabTo(page, 'Authenticator code');
  await page.keyboard.type(await suite.server.nextCode(demo().customer.secret));
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Withdrawal', exact: true }).waitFor();
  await waitForWithdrawalState(suite.server, page, 'completed');
  await screenshot(page, 'mobile-withdrawal-completed');

  // The customer's tables fit the screen: each row a block, nothing to scroll sideways to reach (Remove, the state).
  for (const [path, heading] of [
    ['/withdrawals', 'Withdrawals'],
    ['/addresses', 'Address book'],
  ] as const) {
    await page.goto(`${suite.server.base}${path}`);
    await page.getByRole('heading', { name: heading, exact: true }).waitFor();
    const over = (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
    assert.ok(over <= 0, `${path}: nothing wider than the 390 px screen (${over} px over)`);
  }
  const remove = await page.getByRole('button', { name: 'Remove Cold wallet' }).boundingBox();
  assert.ok(
    remove !== null && remove.x + remove.width <= 390,
    `Remove is on screen: ${JSON.stringify(remove)}`,
  );
  await screenshot(page, 'mobile-address-book');
  assertClean(page);
  await context.close();
});
