// Builds the Fastify application from the domain plugins; listening is server.ts's job, so tests
// drive the app with inject().
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Runtime } from './runtime.ts';
import { buildSerializerFactory } from './serializers.ts';
import { ApiError, ERROR_BODY_SCHEMA, errorBody } from '../api/errors.ts';
import { registerApiPlumbing } from '../api/http.ts';
import { apiKeyRoutes } from '../auth/routes.ts';
import { customerRoutes } from '../customers/routes.ts';
import { merchantRoutes } from '../merchants/routes.ts';
import { paymentRoutes } from '../payments/routes.ts';
import { topUpRoutes } from '../top-ups/routes.ts';
import { eventRoutes } from '../events/routes.ts';
import { webhookRoutes } from '../webhooks/routes.ts';
import { payoutRoutes } from '../payouts/routes.ts';
import { refundRoutes } from '../refunds/routes.ts';
import { disputeRoutes } from '../disputes/routes.ts';
import { evidenceFileRoutes } from '../disputes/evidence-file-routes.ts';
import { createEvidenceFileService } from '../disputes/evidence-files.ts';
import { riskRoutes } from '../risk/routes.ts';
import { riskMetricsRoutes } from '../risk/metrics-routes.ts';
import { ledgerRoutes } from '../ledger/routes.ts';
import { createLedgerHealth } from '../ledger/health.ts';
import { buyerRoutes } from '../buyers/routes.ts';
import { buyerWalletRoutes } from '../buyers/wallet-routes.ts';
import { checkoutRoutes } from '../checkout/routes.ts';
import { checkoutOriginRoutes, frameAncestors } from '../checkout/origins.ts';
import { historyRoutes } from '../history/routes.ts';
import { buyerReceiptRoutes } from '../history/receipt-routes.ts';
import { createHistoryService } from '../history/service.ts';
import { sandboxMessageRoutes } from '../messages/routes.ts';
import { supportRoutes } from '../support/routes.ts';
import { DOCS_CSP, webAssetRoutes } from './web-assets.ts';
import { walletPublishableKeyResolver } from './bootstrap.ts';
import { receiptRoutes } from '../receipts/routes.ts';
import { loyaltyRoutes } from '../loyalty/routes.ts';
import { staffRoutes } from '../staff/routes.ts';
import { createAuditLog } from '../staff/audit.ts';
import { createBuyerReach, isWalletKeyRequest } from '../wallet/reach.ts';
import { walletRoutes } from '../wallet/routes.ts';

export const BODY_BYTES_MAX = 1024 * 1024;
/** Headers beyond this are refused by Node's HTTP parser (431). */
export const HEADER_BYTES_MAX = 16 * 1024;

/** The nearest `hops` proxies are trusted, as Fastify does for a number (its types accept no number). */
const trustHops = (hops: number) => (_address: string, hop: number): boolean => hop < hops;

export async function buildApp(runtime: Runtime): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: runtime.logger as FastifyBaseLogger,
    bodyLimit: BODY_BYTES_MAX,
    http: { maxHeaderSize: HEADER_BYTES_MAX },
    routerOptions: { maxParamLength: 200 },
    // The client address (request.ip) behind a load balancer: only the configured proxies' forwarding
    // headers are believed, else a client could name any address and dodge rate limits and risk signals.
    trustProxy: typeof runtime.config.trustProxy === 'number' ? trustHops(runtime.config.trustProxy) : runtime.config.trustProxy,
    genReqId: () => `req_${crypto.randomUUID().replaceAll('-', '')}`,
    // Requests Node's HTTP parser refuses (headers over the limit, malformed requests) never reach a
    // route; they are still answered with the API's error shape.
    clientErrorHandler: (error, socket) => {
      const code = (error as { code?: string }).code === 'HPE_HEADER_OVERFLOW' ? 'header_too_large' : 'body_invalid';
      const status = code === 'header_too_large' ? 431 : 400;
      const body = JSON.stringify(errorBody(new ApiError(code, code === 'body_invalid' ? 'The request could not be parsed as HTTP.' : undefined), `req_${crypto.randomUUID().replaceAll('-', '')}`));
      if (socket.writable) {
        socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      } else {
        socket.destroy(error);
      }
    },
    // Requests are validated as sent: no type coercion, no silent removal of unknown fields.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    // Response serializers from the shared schemas each one reaches, compiled once per process.
    schemaController: { compilersFactory: { buildSerializer: buildSerializerFactory } },
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Micropay API',
        version: '1',
        description:
          'Amounts are integers in minor units of their currency. Authenticate with `Authorization: Bearer <key>`. ' +
          'Every POST accepts an `Idempotency-Key` header. Errors have the shape `{ "error": { type, code, message, param, request_id } }`.',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
    // A shared schema is named by its `$id` in the document (components.schemas.Payment, not def-3),
    // so that the SDK's generated type names stay stable as schemas are added.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, index) => (typeof json.$id === 'string' ? json.$id : `def-${index}`) },
  });
  // Its own Content-Security-Policy on every /docs response (staticCSP), scoped to /docs by the plugin.
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: DOCS_CSP });

  // The API speaks JSON only; any other body is refused with 415 rather than parsed as text.
  app.removeContentTypeParser('text/plain');
  app.addSchema(ERROR_BODY_SCHEMA);
  registerApiPlumbing(app, {
    auth: runtime.services.auth,
    staff: runtime.services.staff,
    audit: createAuditLog(runtime.db),
    idempotency: runtime.services.idempotency,
    logger: runtime.logger,
  });

  app.get(
    '/healthz',
    {
      schema: {
        hide: true,
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

  const { services } = runtime;
  // Route modules are added to the root (not encapsulated) so their shared schemas are one set,
  // which is also what the OpenAPI document's components are made of.
  await merchantRoutes(app, { merchants: services.merchants, books: services.books, db: runtime.db });
  await apiKeyRoutes(app, { auth: services.auth });
  await staffRoutes(app, { staff: services.staff });
  await customerRoutes(app, { customers: services.customers });
  await paymentRoutes(app, { payments: services.payments, clientSecrets: services.clientSecrets });
  await topUpRoutes(app, { topUps: services.topUps });
  await eventRoutes(app, { events: services.events });
  await webhookRoutes(app, { webhooks: services.webhooks });
  await payoutRoutes(app, { payouts: services.payouts });
  await refundRoutes(app, { refunds: services.refunds });
  await disputeRoutes(app, { disputes: services.disputes });
  await evidenceFileRoutes(app, { evidenceFiles: createEvidenceFileService({ db: runtime.db }) });
  await riskRoutes(app, { risk: services.riskEngine, reviews: services.riskReviews, db: runtime.db });
  await riskMetricsRoutes(app, { db: runtime.db });
  await ledgerRoutes(app, { health: createLedgerHealth({ db: runtime.db }) });
  // Which purchases a buyer's request reaches: every merchant's through the platform's wallet key with a
  // session opened through it, else the key's merchant's.
  const walletPublishableKey = walletPublishableKeyResolver(runtime.config);
  await buyerRoutes(app, { buyerIdentity: services.buyerIdentity, walletKey: (request) => isWalletKeyRequest(request, walletPublishableKey()) });
  await buyerWalletRoutes(app, {
    buyerIdentity: services.buyerIdentity,
    walletBalances: (buyerId, livemode) => services.books.balancesByCurrency('wallet', buyerId, livemode),
  });
  await checkoutRoutes(app, { checkout: services.checkout, buyerIdentity: services.buyerIdentity, topUps: services.topUps });
  await checkoutOriginRoutes(app, { origins: services.checkoutOrigins });
  const buyerReach = createBuyerReach({ buyerIdentity: services.buyerIdentity, walletPublishableKey });
  // The buyer's history reads payments, top-ups and refunds together: one query over their tables.
  await historyRoutes(app, { history: createHistoryService({ db: runtime.db }), buyerReach });
  await supportRoutes(app, { support: services.support, buyerReach });
  await loyaltyRoutes(app, { loyalty: services.loyalty, buyerIdentity: services.buyerIdentity, buyerReach });
  await walletRoutes(app, { db: runtime.db, buyerReach, loyalty: services.loyalty, customers: services.customers, topUps: services.topUps });
  // The sandbox's outbox shows codes to anyone who asks: development only.
  if (services.messageOutbox && runtime.config.mode !== 'production') await sandboxMessageRoutes(app, { outbox: services.messageOutbox });

  await receiptRoutes(app, { receipts: services.receipts, publicUrl: runtime.config.publicUrl });
  await buyerReceiptRoutes(app, { db: runtime.db, receipts: services.receipts, buyerReach, publicUrl: runtime.config.publicUrl });
  // The browser apps (the embeddable checkout) from web/dist.
  await webAssetRoutes(app, {
    walletPublishableKey,
    frameAncestorsFor: async (publishableKey) => {
      const principal = await services.auth.authenticate(publishableKey).catch(() => null);
      if (!principal || principal.kind !== 'merchant' || principal.keyKind !== 'publishable') return null;
      return frameAncestors(await services.checkoutOrigins.of({ merchantId: principal.merchantId, livemode: principal.livemode }));
    },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
