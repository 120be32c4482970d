// The pieces every page of the dashboard shares live in web/staff/ui.tsx (shared by the dashboard and the
// console); here only where the dashboard's paths start.
export const BASE = '/dashboard';

export * from '../../staff/ui.tsx';
