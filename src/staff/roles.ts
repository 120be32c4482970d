// Roles and permissions of staff users, and which permission each /v1 route needs of a staff session
// (docs/api/staff.md). Enforced centrally by the API plumbing (src/api/http.ts) before a route runs;
// the route's own checks (requireMerchant, requireOperator, the merchant's scoping) still apply after.

export const MERCHANT_ROLES = ['owner', 'admin', 'developer', 'finance', 'support', 'analyst'] as const;
export const OPERATOR_ROLES = ['admin', 'risk_analyst', 'support', 'viewer'] as const;
export type MerchantRole = (typeof MERCHANT_ROLES)[number];
export type OperatorRole = (typeof OPERATOR_ROLES)[number];
export type StaffRole = MerchantRole | OperatorRole;

/** Which app a staff user works in: a merchant's dashboard or the operator's console. */
export type StaffApp = 'dashboard' | 'console';

export const MERCHANT_PERMISSIONS = [
  // Payments, refunds, disputes, customers, events, balance, payouts, loyalty and receipts: to look at.
  'payments:read',
  'payments:write',
  'customers:write',
  'refunds:write',
  'disputes:write',
  'payouts:write',
  'api_keys:read',
  'api_keys:write',
  'webhooks:read',
  'webhooks:write',
  'loyalty:write',
  'support:read',
  'support:write',
  'team:read',
  'team:write',
  // Invite owners, and change or disable an owner.
  'team:owners',
  // Read the team's audit log (owners and admins).
  'audit:read',
] as const;

export const OPERATOR_PERMISSIONS = [
  'merchants:read',
  'merchants:write',
  'risk:read',
  'reviews:write',
  'rules:write',
  'disputes:read',
  'disputes:decide',
  'refunds:write',
  'ledger:read',
  'team:read',
  'team:write',
  'audit:read',
] as const;

export type MerchantPermission = (typeof MERCHANT_PERMISSIONS)[number];
export type OperatorPermission = (typeof OPERATOR_PERMISSIONS)[number];
export type Permission = MerchantPermission | OperatorPermission;

const MERCHANT_READ: MerchantPermission[] = ['payments:read', 'support:read', 'team:read'];

export const MERCHANT_ROLE_PERMISSIONS: Record<MerchantRole, readonly MerchantPermission[]> = {
  owner: MERCHANT_PERMISSIONS,
  admin: MERCHANT_PERMISSIONS.filter((permission) => permission !== 'team:owners'),
  developer: [...MERCHANT_READ, 'payments:write', 'customers:write', 'api_keys:read', 'api_keys:write', 'webhooks:read', 'webhooks:write'],
  finance: [...MERCHANT_READ, 'refunds:write', 'disputes:write', 'payouts:write'],
  support: [...MERCHANT_READ, 'support:write', 'customers:write'],
  analyst: [...MERCHANT_READ],
};

const OPERATOR_READ: OperatorPermission[] = ['merchants:read', 'risk:read', 'disputes:read', 'ledger:read', 'team:read'];

export const OPERATOR_ROLE_PERMISSIONS: Record<OperatorRole, readonly OperatorPermission[]> = {
  admin: OPERATOR_PERMISSIONS,
  risk_analyst: [...OPERATOR_READ, 'reviews:write', 'rules:write', 'disputes:decide'],
  support: [...OPERATOR_READ, 'refunds:write'],
  viewer: [...OPERATOR_READ],
};

export function isRoleOf(app: StaffApp, role: string): role is StaffRole {
  return app === 'dashboard' ? (MERCHANT_ROLES as readonly string[]).includes(role) : (OPERATOR_ROLES as readonly string[]).includes(role);
}

export function permissionsOf(app: StaffApp, role: StaffRole): readonly Permission[] {
  return app === 'dashboard' ? MERCHANT_ROLE_PERMISSIONS[role as MerchantRole] ?? [] : OPERATOR_ROLE_PERMISSIONS[role as OperatorRole] ?? [];
}

/**
 * What a merchant's secret write key may do: every merchant permission a /v1 route asks for, except the
 * team's and the audit log's (those routes take staff sessions only, never a merchant's key). A staff
 * session creates or rolls such a key only when its role holds all of them (owner, admin); otherwise a
 * developer could mint a key that moves payouts and refunds, outside the staff audit log.
 */
export const SECRET_WRITE_KEY_PERMISSIONS: readonly MerchantPermission[] = MERCHANT_PERMISSIONS.filter(
  (permission) => !permission.startsWith('team:') && permission !== 'audit:read',
);

/** The first permission a secret write key grants that these permissions lack; null when none is missing. */
export function missingWriteKeyPermission(permissions: readonly Permission[]): MerchantPermission | null {
  return SECRET_WRITE_KEY_PERMISSIONS.find((permission) => !permissions.includes(permission)) ?? null;
}

/** Whether a role of this app may write anything (read-only roles act with a read-scoped principal). */
export function canWrite(app: StaffApp, role: StaffRole): boolean {
  return permissionsOf(app, role).some((permission) => permission.endsWith(':write') || permission.endsWith(':decide') || permission === 'team:owners');
}

/**
 * What a route asks of a staff session, per app: a permission, `any` (every signed-in staff user of
 * that app), or nothing (the app's staff may not call it). Routes added later declare it in their
 * config (`config: { staff: { dashboard: 'payments:read' } }`) instead of this table.
 */
export interface StaffRouteAccess {
  dashboard?: MerchantPermission | 'any';
  console?: OperatorPermission | 'any';
}

const dashboard = (permission: MerchantPermission | 'any'): StaffRouteAccess => ({ dashboard: permission });
const consoleOnly = (permission: OperatorPermission | 'any'): StaffRouteAccess => ({ console: permission });

/** The existing /v1 routes, by `METHOD /path` as Fastify names them. */
export const ROUTE_PERMISSIONS: Record<string, StaffRouteAccess> = {
  'GET /v1/account': dashboard('any'),
  'GET /v1/balance': dashboard('payments:read'),
  'GET /v1/api_keys': dashboard('api_keys:read'),
  'POST /v1/api_keys': dashboard('api_keys:write'),
  'POST /v1/api_keys/:id/roll': dashboard('api_keys:write'),
  'POST /v1/api_keys/:id/revoke': dashboard('api_keys:write'),
  'GET /v1/customers': dashboard('payments:read'),
  'POST /v1/customers': dashboard('customers:write'),
  'GET /v1/customers/:id': dashboard('payments:read'),
  'GET /v1/customers/:id/wallet': dashboard('payments:read'),
  'GET /v1/payment_methods': dashboard('payments:read'),
  'GET /v1/payment_methods/:id': dashboard('payments:read'),
  'POST /v1/payment_methods': dashboard('customers:write'),
  'GET /v1/payments': dashboard('payments:read'),
  'POST /v1/payments': dashboard('payments:write'),
  'GET /v1/payments/:id': dashboard('payments:read'),
  'POST /v1/payments/:id/cancel': dashboard('payments:write'),
  'POST /v1/payments/:id/capture': dashboard('payments:write'),
  'POST /v1/payments/:id/confirm': dashboard('payments:write'),
  'GET /v1/payments/:id/receipt': dashboard('payments:read'),
  'GET /v1/top_ups': dashboard('payments:read'),
  'POST /v1/top_ups': dashboard('payments:write'),
  'GET /v1/top_ups/:id': dashboard('payments:read'),
  'POST /v1/top_ups/:id/confirm': dashboard('payments:write'),
  'GET /v1/top_ups/:id/receipt': dashboard('payments:read'),
  'GET /v1/refunds': dashboard('payments:read'),
  'POST /v1/refunds': dashboard('refunds:write'),
  'GET /v1/refunds/:id': dashboard('payments:read'),
  'POST /v1/refunds/:id/approve': dashboard('refunds:write'),
  'POST /v1/refunds/:id/decline': dashboard('refunds:write'),
  'GET /v1/refunds/:id/receipt': dashboard('payments:read'),
  'POST /v1/refund_requests': consoleOnly('refunds:write'),
  'GET /v1/disputes': dashboard('payments:read'),
  'POST /v1/disputes': consoleOnly('disputes:decide'),
  'GET /v1/disputes/:id': dashboard('payments:read'),
  'POST /v1/disputes/:id/evidence': dashboard('disputes:write'),
  'POST /v1/disputes/:id/decide': consoleOnly('disputes:decide'),
  'GET /v1/events': dashboard('payments:read'),
  'GET /v1/events/:id': dashboard('payments:read'),
  'GET /v1/payouts': dashboard('payments:read'),
  'POST /v1/payouts': dashboard('payouts:write'),
  'GET /v1/payouts/:id': dashboard('payments:read'),
  'GET /v1/checkout_settings': dashboard('api_keys:read'),
  'POST /v1/checkout_settings': dashboard('api_keys:write'),
  'GET /v1/payout_settings': dashboard('payments:read'),
  'POST /v1/payout_settings': dashboard('payouts:write'),
  'GET /v1/loyalty/program': dashboard('payments:read'),
  'PUT /v1/loyalty/program': dashboard('loyalty:write'),
  'GET /v1/loyalty/balances/:customer': dashboard('payments:read'),
  'GET /v1/loyalty/badges': dashboard('payments:read'),
  'GET /v1/support/tickets': dashboard('support:read'),
  'GET /v1/support/tickets/:id': dashboard('support:read'),
  'POST /v1/support/tickets/:id/messages': dashboard('support:write'),
  'POST /v1/support/tickets/:id/close': dashboard('support:write'),
  'GET /v1/webhook_endpoints': dashboard('webhooks:read'),
  'POST /v1/webhook_endpoints': dashboard('webhooks:write'),
  'GET /v1/webhook_endpoints/:id': dashboard('webhooks:read'),
  'POST /v1/webhook_endpoints/:id': dashboard('webhooks:write'),
  'DELETE /v1/webhook_endpoints/:id': dashboard('webhooks:write'),
  'GET /v1/webhook_endpoints/:id/deliveries': dashboard('webhooks:read'),
  'POST /v1/webhook_endpoints/:id/deliveries': dashboard('webhooks:write'),
  'POST /v1/webhook_endpoints/:id/rotate_secret': dashboard('webhooks:write'),
  'GET /v1/webhook_deliveries/:id': dashboard('webhooks:read'),
  'POST /v1/webhook_deliveries/:id/retry': dashboard('webhooks:write'),
  'GET /v1/merchants': consoleOnly('merchants:read'),
  'POST /v1/merchants': consoleOnly('merchants:write'),
  'GET /v1/merchants/:id': consoleOnly('merchants:read'),
  'POST /v1/merchants/:id/api_keys': consoleOnly('merchants:write'),
  'GET /v1/risk/buyers/:id': consoleOnly('risk:read'),
  'GET /v1/risk/decisions/:id': consoleOnly('risk:read'),
  'GET /v1/risk/lists': consoleOnly('risk:read'),
  'POST /v1/risk/lists/:list/items': consoleOnly('rules:write'),
  'DELETE /v1/risk/lists/:list/items/:value': consoleOnly('rules:write'),
  'GET /v1/risk/models': consoleOnly('risk:read'),
  'POST /v1/risk/models/:version/activate': consoleOnly('rules:write'),
  'GET /v1/risk/policy': consoleOnly('risk:read'),
  'GET /v1/risk/reviews': consoleOnly('risk:read'),
  'GET /v1/risk/reviews/:id': consoleOnly('risk:read'),
  'POST /v1/risk/reviews/:id/claim': consoleOnly('reviews:write'),
  'POST /v1/risk/reviews/:id/approve': consoleOnly('reviews:write'),
  'POST /v1/risk/reviews/:id/reject': consoleOnly('reviews:write'),
  'GET /v1/risk/rules': consoleOnly('risk:read'),
  'GET /v1/risk/rules/:id': consoleOnly('risk:read'),
  'PUT /v1/risk/rules/:id': consoleOnly('rules:write'),
  'GET /v1/risk/rules/:id/versions': consoleOnly('risk:read'),
  'POST /v1/risk/rules/backtest': consoleOnly('risk:read'),
};

/** Routes that act for a signed-in buyer (publishable key and buyer session): never for staff. */
export function isBuyerRoute(url: string): boolean {
  return url.startsWith('/v1/buyer/') || url.startsWith('/v1/checkout/');
}

export type StaffAccessDecision =
  | { ok: true }
  | { ok: false; code: 'staff_route_not_allowed' }
  | { ok: false; code: 'staff_permission_missing'; permission: Permission };

/**
 * Whether a staff session of `app` with `permissions` may call `method url`. Buyer routes never; a
 * route neither in the table nor declaring `staff` in its config is allowed to read (GET) and refused
 * to write: a new write route is closed to staff until someone decides which permission it needs.
 */
export function staffAccess(
  app: StaffApp,
  permissions: readonly Permission[],
  method: string,
  url: string,
  declared: StaffRouteAccess | undefined,
): StaffAccessDecision {
  if (isBuyerRoute(url)) return { ok: false, code: 'staff_route_not_allowed' };
  // Fastify answers HEAD with each GET route: it asks what the GET asks, or it would read past the table.
  const tableMethod = method === 'HEAD' ? 'GET' : method;
  const access = declared ?? ROUTE_PERMISSIONS[`${tableMethod} ${url}`];
  if (!access) return method === 'GET' || method === 'HEAD' ? { ok: true } : { ok: false, code: 'staff_route_not_allowed' };
  const needed = access[app];
  if (needed === undefined) return { ok: false, code: 'staff_route_not_allowed' };
  if (needed === 'any' || permissions.includes(needed)) return { ok: true };
  return { ok: false, code: 'staff_permission_missing', permission: needed };
}
