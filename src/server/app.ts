// Builds the Fastify application from the domain plugins; listening is server.ts's job, so tests
// drive the app with inject().
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Runtime } from './runtime.ts';

export const BODY_BYTES_MAX = 1024 * 1024;

export async function buildApp(runtime: Runtime): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: runtime.logger as FastifyBaseLogger,
    bodyLimit: BODY_BYTES_MAX,
    routerOptions: { maxParamLength: 200 },
    genReqId: () => `req_${crypto.randomUUID().replaceAll('-', '')}`,
  });

  app.get(
    '/healthz',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            properties: { status: { type: 'string' }, store: { type: 'string' } },
            required: ['status', 'store'],
          },
          503: {
            type: 'object',
            properties: { status: { type: 'string' }, store: { type: 'string' } },
          },
        },
      },
      logLevel: 'warn',
    },
    async (_request, reply) => {
      try {
        await runtime.db.query('SELECT 1');
        return { status: 'ok', store: runtime.db.kind };
      } catch {
        return reply.code(503).send({ status: 'unavailable', store: runtime.db.kind });
      }
    },
  );

  return app;
}
