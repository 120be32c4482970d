// The dashboard's shell once a staff user is signed in: navigation (a menu button on a phone) and the
// page for the current path under /dashboard. Pages and actions the role lacks are hidden.
import type { Me } from './api.ts';
import { ApiKeysPage } from './pages/api-keys.tsx';
import { DisputeDetailPage, DisputesPage } from './pages/disputes.tsx';
import { LoyaltyPage } from './pages/loyalty.tsx';
import { OverviewPage } from './pages/overview.tsx';
import { PaymentDetailPage, PaymentsPage } from './pages/payments.tsx';
import { PayoutsPage } from './pages/payouts.tsx';
import { RefundsPage } from './pages/refunds.tsx';
import { SupportPage, TicketPage } from './pages/support.tsx';
import { TeamPage } from './pages/team.tsx';
import { WebhookEndpointPage, WebhooksPage } from './pages/webhooks.tsx';
import { AuditLogPage } from '../../staff/audit.tsx';
import { PasskeysPage } from '../../staff/passkeys.tsx';
import { missingPage, parsePath, StaffShell, type Routed, type Section } from '../../staff/layout.tsx';
import { BASE } from './ui.tsx';

const SECTIONS: Section[] = [
  { path: '', label: 'Overview', needs: 'payments:read' },
  { path: '/payments', label: 'Payments', needs: 'payments:read' },
  { path: '/refunds', label: 'Refunds', needs: 'payments:read' },
  { path: '/disputes', label: 'Disputes', needs: 'payments:read' },
  { path: '/payouts', label: 'Payouts', needs: 'payments:read' },
  { path: '/api-keys', label: 'API keys', needs: 'api_keys:read' },
  { path: '/webhooks', label: 'Webhooks', needs: 'webhooks:read' },
  { path: '/loyalty', label: 'Loyalty', needs: 'payments:read' },
  { path: '/support', label: 'Support', needs: 'support:read' },
  { path: '/team', label: 'Team', needs: 'team:read' },
  { path: '/audit', label: 'Audit log', needs: 'audit:read' },
  { path: '/passkeys', label: 'Passkeys', needs: null },
];

function route(path: string): Routed {
  const { first, detail } = parsePath(path, BASE);
  switch (first) {
    case '':
      return { section: '', page: <OverviewPage /> };
    case 'payments':
      return { section: '/payments', page: detail ? <PaymentDetailPage id={detail} /> : <PaymentsPage /> };
    case 'refunds':
      return { section: '/refunds', page: <RefundsPage /> };
    case 'disputes':
      return { section: '/disputes', page: detail ? <DisputeDetailPage id={detail} /> : <DisputesPage /> };
    case 'payouts':
      return { section: '/payouts', page: <PayoutsPage /> };
    case 'api-keys':
      return { section: '/api-keys', page: <ApiKeysPage /> };
    case 'webhooks':
      return { section: '/webhooks', page: detail ? <WebhookEndpointPage id={detail} /> : <WebhooksPage /> };
    case 'loyalty':
      return { section: '/loyalty', page: <LoyaltyPage /> };
    case 'support':
      return { section: '/support', page: detail ? <TicketPage id={detail} /> : <SupportPage /> };
    case 'team':
      return { section: '/team', page: <TeamPage /> };
    case 'audit':
      return { section: '/audit', page: <AuditLogPage /> };
    case 'passkeys':
      return { section: '/passkeys', page: <PasskeysPage /> };
    default:
      return missingPage;
  }
}

export function Dashboard(props: { me: Me }) {
  return <StaffShell me={props.me} app="dashboard" label="Dashboard" base={BASE} sections={SECTIONS} route={route} />;
}
