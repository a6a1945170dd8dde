import type { Route } from '../router.tsx';
import { AuditPage } from './audit.tsx';
import { DashboardPage } from './dashboard.tsx';
import { incidentRoutes } from './incidents.tsx';
import { ReviewItemPage, ReviewQueuePage } from './review.tsx';
import { SearchPage } from './search.tsx';

/**
 * The operator console's pages, in navigation order. An area with several pages is a module exporting its routes,
 * as the incident playbook's (incidents, losses, reimbursement, the report, the two-person resume).
 */
export const operatorRoutes: readonly Route[] = [
  { pattern: '/operator', nav: 'Dashboard', title: 'Dashboard', render: () => <DashboardPage /> },
  {
    pattern: '/operator/review',
    nav: 'Review queue',
    title: 'Review queue',
    render: () => <ReviewQueuePage />,
  },
  { pattern: '/operator/review/:id', title: 'Review', render: (p) => <ReviewItemPage id={p.id ?? ''} /> },
  ...incidentRoutes,
  {
    pattern: '/operator/search',
    nav: 'Search',
    title: 'Customers and withdrawals',
    render: () => <SearchPage />,
  },
  { pattern: '/operator/audit', nav: 'Audit log', title: 'Audit log', render: () => <AuditPage /> },
];
