// Puts the demo storefronts on a Micropay server: routes first (before it listens), then, once its
// address is known, the merchant servers' SDK clients and webhook endpoints.
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../server/runtime.ts';
import type { DemoKeys } from '../server/bootstrap.ts';
import { demoRoutes } from './routes.ts';
import { createDemoService, type DemoService } from './service.ts';

/** The demo's webhook endpoints (ids and signing secrets), kept in the data folder between starts. */
export const DEMO_STATE_FILE = 'demo-webhooks.json';

export interface MountedDemo {
  service: DemoService;
  /** Call after `listen`: points the SDK at the server and registers the webhook endpoints. */
  start(app: FastifyInstance): Promise<void>;
}

/** The address the merchant servers reach Micropay at: the one it listens on (loopback for 0.0.0.0). */
export function listeningUrl(app: FastifyInstance): string {
  const address = app.server.address() as AddressInfo | null;
  if (!address || typeof address === 'string') throw new Error('The server is not listening yet.');
  const unspecified = address.address === '0.0.0.0' || address.address === '::';
  const host = unspecified ? '127.0.0.1' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

export async function mountDemo(app: FastifyInstance, runtime: Runtime, keys: DemoKeys, options: { stateFile?: string | null } = {}): Promise<MountedDemo> {
  const stateFile = options.stateFile === undefined ? join(runtime.config.dataDir, DEMO_STATE_FILE) : (options.stateFile ?? undefined);
  const service = createDemoService({ keys, logger: runtime.logger, ...(stateFile ? { stateFile } : {}) });
  await app.register(demoRoutes, { demo: service });
  return {
    service,
    async start(listening) {
      try {
        await service.start(listeningUrl(listening));
      } catch (error) {
        // The API works without the demo; its pages then say it is starting.
        runtime.logger.warn({ err: error }, 'the demo storefronts could not start');
      }
    },
  };
}
