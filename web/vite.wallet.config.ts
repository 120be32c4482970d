// The buyer's wallet (React) at /wallet; the server fills its publishable key into
// <meta name="micropay-publishable-key"> (docs/wallet.md).
import { appConfig } from './vite.app.ts';

export default appConfig('wallet');
