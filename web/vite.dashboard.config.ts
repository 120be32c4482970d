// The merchants' dashboard (React) at /dashboard (docs/dashboard.md).
import { appConfig } from './vite.app.ts';

export default appConfig('dashboard');
