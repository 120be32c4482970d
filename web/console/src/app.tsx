// The console's shell once an operator is signed in: navigation (a menu button on a phone) and the
// page for the current path under /console. Pages and actions the role lacks are hidden.
import type { Me } from './api.ts';
import { DisputesPage } from './pages/disputes.tsx';
import { LedgerPage } from './pages/ledger.tsx';
import { MerchantDetailPage, MerchantsPage } from './pages/merchants.tsx';
import { OverviewPage } from './pages/overview.tsx';
import { ReviewDetailPage, ReviewsPage } from './pages/reviews.tsx';
import { RuleEditPage, RulesPage } from './pages/rules.tsx';
import { AuditLogPage } from '../../staff/audit.tsx';
import { PasskeysPage } from '../../staff/passkeys.tsx';
import { missingPage, parsePath, StaffShell, type Routed, type Section } from '../../staff/layout.tsx';
import { BASE } from './ui.tsx';

const SECTIONS: Section[] = [
  { path: '', label: 'Overview', needs: 'risk:read' },
  { path: '/reviews', label: 'Review queue', needs: 'risk:read' },
  { path: '/rules', label: 'Rules', needs: 'risk:read' },
  { path: '/disputes', label: 'Disputes', needs: 'disputes:read' },
  { path: '/merchants', label: 'Merchants', needs: 'merchants:read' },
  { path: '/ledger', label: 'Ledger health', needs: 'ledger:read' },
  { path: '/audit', label: 'Audit log', needs: 'audit:read' },
  { path: '/passkeys', label: 'Passkeys', needs: null },
];

function route(path: string): Routed {
  const { first, detail } = parsePath(path, BASE);
  switch (first) {
    case '':
      return { section: '', page: <OverviewPage /> };
    case 'reviews':
      return { section: '/reviews', page: detail ? <ReviewDetailPage id={detail} /> : <ReviewsPage /> };
    case 'rules':
      return { section: '/rules', page: detail ? <RuleEditPage id={detail === 'new' ? null : detail} key={detail} /> : <RulesPage /> };
    case 'disputes':
      return { section: '/disputes', page: <DisputesPage /> };
    case 'merchants':
      return { section: '/merchants', page: detail ? <MerchantDetailPage id={detail} /> : <MerchantsPage /> };
    case 'ledger':
      return { section: '/ledger', page: <LedgerPage /> };
    case 'audit':
      return { section: '/audit', page: <AuditLogPage /> };
    case 'passkeys':
      return { section: '/passkeys', page: <PasskeysPage /> };
    default:
      return missingPage;
  }
}

export function Console(props: { me: Me }) {
  return <StaffShell me={props.me} app="console" label="Console" base={BASE} sections={SECTIONS} route={route} />;
}
