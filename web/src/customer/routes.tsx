import type { Route } from '../router.tsx';
import { AddressesPage } from './addresses.tsx';
import { LockLinkPage, LoginPage, SignUpPage, VerifyEmailPage } from './auth-pages.tsx';
import { DevMailboxPage } from './dev-mailbox.tsx';
import { LockPage } from './lock.tsx';
import { OverviewPage } from './overview.tsx';
import { ReEnrolPage } from './re-enrol.tsx';
import { SecurityPage } from './security.tsx';
import { SessionsPage } from './sessions.tsx';
import { WithdrawPage } from './withdraw.tsx';
import { WithdrawalPage, WithdrawalsPage } from './withdrawals.tsx';

/** Pages anyone may open: signing up and in, the email links' landing pages, the dev mailbox. */
export const publicRoutes: readonly Route[] = [
  { pattern: '/signup', title: 'Create your account', render: () => <SignUpPage /> },
  { pattern: '/login', title: 'Sign in', render: () => <LoginPage /> },
  { pattern: '/verify-email', title: 'Confirm your email', render: () => <VerifyEmailPage /> },
  { pattern: '/lock-account', title: 'Lock your account', render: () => <LockLinkPage /> },
  { pattern: '/dev/mailbox', title: 'Dev mailbox', render: () => <DevMailboxPage /> },
];

/** The signed-in customer's pages; those with `nav` are in the header. */
export const customerRoutes: readonly Route[] = [
  { pattern: '/', nav: 'Overview', title: 'Overview', render: () => <OverviewPage /> },
  { pattern: '/withdraw', nav: 'Withdraw', title: 'Withdraw', render: () => <WithdrawPage /> },
  { pattern: '/withdrawals', nav: 'Withdrawals', title: 'Withdrawals', render: () => <WithdrawalsPage /> },
  { pattern: '/withdrawals/:id', title: 'Withdrawal', render: (p) => <WithdrawalPage id={p.id ?? ''} /> },
  { pattern: '/addresses', nav: 'Addresses', title: 'Address book', render: () => <AddressesPage /> },
  { pattern: '/security', nav: 'Security', title: 'Security', render: () => <SecurityPage /> },
  { pattern: '/sessions', nav: 'Sessions', title: 'Sessions and devices', render: () => <SessionsPage /> },
  { pattern: '/lock', nav: 'Lock account', title: 'Lock my account', render: () => <LockPage /> },
  { pattern: '/mfa/re-enrol', title: 'Enrol your second factor again', render: () => <ReEnrolPage /> },
];
