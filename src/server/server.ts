// Starts the HTTP server on the configured port and shuts it down cleanly on SIGINT or SIGTERM:
// stop accepting requests, let the commit pipeline drain, close the store.
import type { Config } from '../config/config.ts';
import { buildApp } from './app.ts';
import { openRuntime } from './runtime.ts';
import { bootstrapDevelopment } from './bootstrap.ts';
import { mountDemo } from '../demo/wiring.ts';

export async function startServer(config: Config): Promise<{ url: string; stop: () => Promise<void> }> {
  const runtime = await openRuntime(config);
  const app = await buildApp(runtime);
  const development = await bootstrapDevelopment(runtime);
  // The demo storefronts (development only): their routes now, their SDK clients once the address is known.
  const demo = development?.keys.demo ? await mountDemo(app, runtime, development.keys.demo) : null;
  const url = await app.listen({ port: config.port, host: config.host });
  await demo?.start(app);
  if (development) {
    const { keys, path, created } = development;
    process.stdout.write(
      `\n${created ? 'Created development keys' : 'Development keys'} (test mode; also in ${path}):\n` +
        `  operator key:            ${keys.operator_key}\n` +
        `  merchant ${keys.merchant.id} (${keys.merchant.name})\n` +
        `    secret key:            ${keys.merchant.secret_key}\n` +
        `    publishable key:       ${keys.merchant.publishable_key}\n` +
        `  API docs:                ${url}/docs\n` +
        (demo ? `  demo storefronts:        ${config.publicUrl}/demo/news, /demo/shop, /demo/creator\n` : '') +
        (keys.staff_invitations
          ? `  staff sign-in (each link works once, until ${keys.staff_invitations.expires_at}; register a passkey):\n` +
            `    dashboard owner:       ${keys.staff_invitations.dashboard_owner}\n` +
            `    console admin:         ${keys.staff_invitations.console_admin}\n`
          : '') +
        '\n',
    );
  }
  runtime.logger.info(
    { url, store: runtime.db.kind, dataDir: runtime.db.kind === 'pglite' ? config.dataDir : undefined },
    'Micropay is listening',
  );
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      await app.close();
      await runtime.close();
    })();
    return stopping;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      runtime.logger.info({ signal }, 'shutting down');
      void stop().then(() => process.exit(0));
    });
  }
  return { url, stop };
}
