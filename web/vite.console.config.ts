// The operators' console (React) at /console (docs/console.md).
import { appConfig } from './vite.app.ts';

export default appConfig('console');
