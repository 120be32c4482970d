// /v1/disputes/:id/evidence_files: the merchant attaches files (PNG, JPEG, PDF; base64 in JSON) while the
// dispute needs a response; the merchant and the operator list and download them.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../api/errors.ts';
import { errorResponses, idSeedOf, requireMerchant } from '../api/http.ts';
import type { Scope } from '../customers/service.ts';
import {
  EVIDENCE_CONTENT_TYPES,
  EVIDENCE_FILE_BYTES_MAX,
  EVIDENCE_FILENAME_LENGTH_MAX,
  evidenceFileJson,
  type EvidenceFileService,
  type OperatorScope,
} from './evidence-files.ts';

/** Room for a file of the largest size in base64 (4/3 of it) and the other fields. */
export const EVIDENCE_FILE_BODY_BYTES_MAX = Math.ceil(EVIDENCE_FILE_BYTES_MAX / 3) * 4 + 16 * 1024;

export const EVIDENCE_FILE_SCHEMA = {
  $id: 'DisputeEvidenceFile',
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['dispute_evidence_file'] },
    livemode: { type: 'boolean' },
    dispute: { type: 'string' },
    filename: { type: 'string' },
    content_type: { type: 'string', enum: [...EVIDENCE_CONTENT_TYPES] },
    size: { type: 'integer', description: 'Bytes.' },
    sha256: { type: 'string', description: 'Hex SHA-256 of the content.' },
    created: { type: 'integer', description: 'Unix seconds.' },
  },
  required: ['id', 'object', 'livemode', 'dispute', 'filename', 'content_type', 'size', 'sha256', 'created'],
} as const;

const ATTACH_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    filename: { type: 'string', minLength: 1, maxLength: EVIDENCE_FILENAME_LENGTH_MAX, pattern: '^[^/\\\\\\u0000-\\u001f\\u007f]+$' },
    content_type: { type: 'string', maxLength: 100, description: 'image/png, image/jpeg or application/pdf; must match the content.' },
    data: { type: 'string', minLength: 4, description: `The file in standard base64 (at most ${EVIDENCE_FILE_BYTES_MAX} bytes decoded).` },
  },
  required: ['filename', 'content_type', 'data'],
} as const;

const PARAMS = {
  type: 'object',
  properties: { id: { type: 'string', maxLength: 64 } },
  required: ['id'],
} as const;

const FILE_PARAMS = {
  type: 'object',
  properties: { id: { type: 'string', maxLength: 64 }, file: { type: 'string', maxLength: 64 } },
  required: ['id', 'file'],
} as const;

/** The merchant's own scope, or the operator's (every merchant's dispute files of its mode). */
function readerScope(request: FastifyRequest): Scope | OperatorScope {
  if (request.principal?.kind === 'operator') return { merchantId: null, livemode: request.principal.livemode };
  const principal = requireMerchant(request, { write: false });
  return { merchantId: principal.merchantId, livemode: principal.livemode };
}

export async function evidenceFileRoutes(app: FastifyInstance, { evidenceFiles }: { evidenceFiles: EvidenceFileService }): Promise<void> {
  app.addSchema(EVIDENCE_FILE_SCHEMA);
  const tags = ['disputes'];

  app.post<{ Params: { id: string }; Body: { filename: string; content_type: string; data: string } }>(
    '/v1/disputes/:id/evidence_files',
    {
      bodyLimit: EVIDENCE_FILE_BODY_BYTES_MAX,
      // The Idempotency-Key record digests the file's hash, not megabytes of base64.
      config: {
        digestBody: (body) => ({ ...(body as object), data: digestOf((body as { data?: unknown }).data) }),
        staff: { dashboard: 'disputes:write' },
      },
      schema: {
        tags,
        summary: 'Attach a file (PNG, JPEG or PDF, at most 2 MiB) to a dispute that needs a response',
        params: PARAMS,
        body: ATTACH_BODY,
        response: { 200: { $ref: 'DisputeEvidenceFile#' }, ...errorResponses(409, 413) },
      },
    },
    async (request) => {
      const principal = requireMerchant(request, { write: true });
      const { filename, content_type, data } = request.body;
      const result = await evidenceFiles.attach(
        { merchantId: principal.merchantId, livemode: principal.livemode },
        request.params.id,
        { filename, contentType: content_type, base64: data },
        idSeedOf(request),
      );
      if (!result.ok) throw new ApiError(result.code, result.message, result.param);
      return evidenceFileJson(result.file);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/disputes/:id/evidence_files',
    {
      config: { staff: { dashboard: 'payments:read', console: 'disputes:read' } },
      schema: {
        tags,
        summary: "A dispute's evidence files, oldest first (the merchant's own, or any for the operator)",
        params: PARAMS,
        response: {
          200: {
            type: 'object',
            properties: { object: { type: 'string', enum: ['list'] }, data: { type: 'array', items: { $ref: 'DisputeEvidenceFile#' } }, has_more: { type: 'boolean' } },
            required: ['object', 'data', 'has_more'],
          },
          ...errorResponses(),
        },
      },
    },
    async (request) => {
      const files = await evidenceFiles.list(readerScope(request), request.params.id);
      if (!files) throw new ApiError('resource_missing', `No such dispute: ${request.params.id}.`, 'id');
      return { object: 'list', data: files.map(evidenceFileJson), has_more: false };
    },
  );

  app.get<{ Params: { id: string; file: string } }>(
    '/v1/disputes/:id/evidence_files/:file/content',
    {
      config: { staff: { dashboard: 'payments:read', console: 'disputes:read' } },
      schema: { tags, summary: "An evidence file's bytes, as an attachment of its content type", params: FILE_PARAMS, response: errorResponses() },
    },
    async (request, reply) => {
      const found = await evidenceFiles.content(readerScope(request), request.params.id, request.params.file);
      if (!found) throw new ApiError('resource_missing', `No such evidence file: ${request.params.file}.`, 'file');
      // Served as a download that the browser never sniffs or runs (a PDF's scripts, an SVG posing as PNG).
      return reply
        .type(found.file.contentType)
        .header('content-disposition', `attachment; filename="${asciiName(found.file.filename)}"; filename*=UTF-8''${encodeURIComponent(found.file.filename)}`)
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "sandbox; default-src 'none'")
        .header('cache-control', 'private, no-store')
        .send(found.content);
    },
  );
}

function digestOf(data: unknown): string {
  return typeof data === 'string' ? `sha256:${createHash('sha256').update(data).digest('hex')}` : String(data);
}

/** The filename with anything outside printable ASCII (and quotes) replaced, for the plain `filename=`. */
function asciiName(name: string): string {
  return name.replace(/[^\x20-\x7e]|["\\]/g, '_');
}
