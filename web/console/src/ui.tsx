// The pieces every page of the console shares live in web/staff/ui.tsx (shared by the dashboard and the
// console); here only where the console's paths start.
export const BASE = '/console';

export * from '../../staff/ui.tsx';
