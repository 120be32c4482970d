// Files a merchant attaches to a dispute as evidence (a delivery photo, a signed receipt, a log as PDF).
// They arrive as base64 in JSON, like every other request body; the type is decided by the file's first
// bytes (PNG, JPEG or PDF only), never by the name or the declared type alone, and a file is attached
// only while the dispute waits for the merchant's response. Stored files never change.
import { createHash } from 'node:crypto';
import type { ApiErrorCode } from '../api/errors.ts';
import { idFor } from '../api/ids.ts';
import type { Scope } from '../customers/service.ts';
import type { Database } from '../store/database.ts';
import * as disputeStore from './store.ts';

/** The operator's reach: every merchant's disputes of one mode. */
export interface OperatorScope {
  merchantId: null;
  livemode: boolean;
}

export const EVIDENCE_FILE_BYTES_MAX = 2 * 1024 * 1024;
export const EVIDENCE_FILES_PER_DISPUTE_MAX = 10;
export const EVIDENCE_FILENAME_LENGTH_MAX = 200;
export const EVIDENCE_CONTENT_TYPES = ['image/png', 'image/jpeg', 'application/pdf'] as const;
export type EvidenceContentType = (typeof EVIDENCE_CONTENT_TYPES)[number];

export interface EvidenceFile {
  id: string;
  disputeId: string;
  merchantId: string;
  livemode: boolean;
  filename: string;
  contentType: EvidenceContentType;
  sizeBytes: number;
  sha256: string;
  createdAt: Date;
}

export type EvidenceFileResult = { ok: true; file: EvidenceFile } | { ok: false; code: ApiErrorCode; message: string; param?: string };

export interface EvidenceFileService {
  attach(scope: Scope, disputeId: string, input: { filename: string; contentType: string; base64: string }, idSeed?: string): Promise<EvidenceFileResult>;
  /** The files of a dispute, oldest first; an operator scope (`merchantId` null) sees every merchant's of its mode. */
  list(scope: OperatorScope | Scope, disputeId: string): Promise<EvidenceFile[] | null>;
  content(scope: OperatorScope | Scope, disputeId: string, fileId: string): Promise<{ file: EvidenceFile; content: Buffer } | null>;
}

const SIGNATURES: Array<{ type: EvidenceContentType; bytes: number[] }> = [
  { type: 'image/png', bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { type: 'image/jpeg', bytes: [0xff, 0xd8, 0xff] },
  { type: 'application/pdf', bytes: [0x25, 0x50, 0x44, 0x46, 0x2d] },
];

/** The type of a file by its first bytes, or null when it is none of the accepted ones. */
export function sniffContentType(content: Uint8Array): EvidenceContentType | null {
  const match = SIGNATURES.find((signature) => signature.bytes.every((byte, index) => content[index] === byte));
  return match?.type ?? null;
}

/** Strict base64: the alphabet with padding, and a length that is a multiple of four. */
export function decodeBase64(text: string): Buffer | null {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  return Buffer.from(text, 'base64');
}

interface FileRow {
  id: string;
  dispute_id: string;
  merchant_id: string;
  livemode: boolean;
  filename: string;
  content_type: EvidenceContentType;
  size_bytes: number;
  sha256: string;
  created_at: Date;
}

const COLUMNS = 'id, dispute_id, merchant_id, livemode, filename, content_type, size_bytes, sha256, created_at';

function fileOf(row: FileRow): EvidenceFile {
  return {
    id: row.id,
    disputeId: row.dispute_id,
    merchantId: row.merchant_id,
    livemode: row.livemode,
    filename: row.filename,
    contentType: row.content_type,
    sizeBytes: Number(row.size_bytes),
    sha256: row.sha256,
    createdAt: row.created_at,
  };
}

function failure(code: ApiErrorCode, message: string, param?: string): EvidenceFileResult {
  return { ok: false, code, message, ...(param === undefined ? {} : { param }) };
}

export function createEvidenceFileService({ db }: { db: Database }): EvidenceFileService {
  async function disputeIn(scope: OperatorScope | Scope, disputeId: string) {
    const dispute = await disputeStore.getDispute(db, disputeId);
    if (!dispute || dispute.livemode !== scope.livemode) return null;
    if (scope.merchantId !== null && dispute.merchantId !== scope.merchantId) return null;
    return dispute;
  }

  return {
    async attach(scope, disputeId, input, idSeed) {
      const dispute = await disputeIn(scope, disputeId);
      if (!dispute) return failure('resource_missing', `No such dispute: ${disputeId}.`, 'id');
      const id = idFor('dpf', idSeed);
      // A retry of an upload that stored its file gets that file, even once the evidence was submitted
      // (the request plumbing refused a different body under the same Idempotency-Key already).
      if (idSeed !== undefined) {
        const stored = await db.query<FileRow>(`SELECT ${COLUMNS} FROM dispute_evidence_files WHERE id = $1 AND dispute_id = $2`, [id, dispute.id]);
        if (stored.rows[0]) return { ok: true, file: fileOf(stored.rows[0]) };
      }
      if (dispute.status !== 'needs_response') {
        return failure('dispute_unexpected_state', `Files are attached before the evidence is submitted; this dispute is ${dispute.status}.`);
      }
      if (!(EVIDENCE_CONTENT_TYPES as readonly string[]).includes(input.contentType)) {
        return failure('evidence_file_type_unsupported', 'content_type must be image/png, image/jpeg or application/pdf.', 'content_type');
      }
      const content = decodeBase64(input.base64);
      if (!content || content.length === 0) return failure('parameter_invalid', 'data must be the file in standard base64 with padding.', 'data');
      if (content.length > EVIDENCE_FILE_BYTES_MAX) {
        return failure('evidence_file_too_large', `The file has ${content.length} bytes; at most ${EVIDENCE_FILE_BYTES_MAX} are accepted.`, 'data');
      }
      const sniffed = sniffContentType(content);
      if (sniffed !== input.contentType) {
        return failure('evidence_file_type_unsupported', `The file's content is ${sniffed ?? 'not PNG, JPEG or PDF'}, not ${input.contentType}.`, 'data');
      }
      const sha256 = createHash('sha256').update(content).digest('hex');
      // The dispute's row is locked while the file is counted and inserted: two uploads at once cannot
      // pass the limit together, and an evidence submission (which updates the row) waits for the file,
      // or the file sees the dispute under review and is refused.
      const outcome = await db.transaction(async (tx): Promise<EvidenceFileResult> => {
        const locked = await tx.query<{ status: string }>('SELECT status FROM disputes WHERE id = $1 FOR UPDATE', [dispute.id]);
        const existing = await tx.query<FileRow>(`SELECT ${COLUMNS} FROM dispute_evidence_files WHERE id = $1 AND dispute_id = $2`, [id, dispute.id]);
        if (existing.rows[0]) return { ok: true, file: fileOf(existing.rows[0]) };
        if (locked.rows[0]?.status !== 'needs_response') return failure('dispute_unexpected_state', 'The evidence was submitted meanwhile; no more files are attached.');
        const count = await tx.query<{ files: string }>('SELECT count(*)::text AS files FROM dispute_evidence_files WHERE dispute_id = $1', [dispute.id]);
        if (Number(count.rows[0]?.files ?? 0) >= EVIDENCE_FILES_PER_DISPUTE_MAX) {
          return failure('evidence_files_limit_reached', `A dispute has at most ${EVIDENCE_FILES_PER_DISPUTE_MAX} evidence files.`);
        }
        const inserted = await tx.query<FileRow>(
          `INSERT INTO dispute_evidence_files (id, dispute_id, merchant_id, livemode, filename, content_type, size_bytes, sha256, content)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           RETURNING ${COLUMNS}`,
          [id, dispute.id, dispute.merchantId, dispute.livemode, input.filename, input.contentType, content.length, sha256, content],
        );
        return { ok: true, file: fileOf(inserted.rows[0]!) };
      });
      return outcome;
    },

    async list(scope, disputeId) {
      const dispute = await disputeIn(scope, disputeId);
      if (!dispute) return null;
      const { rows } = await db.query<FileRow>(
        `SELECT ${COLUMNS} FROM dispute_evidence_files WHERE dispute_id = $1 ORDER BY seq LIMIT $2`,
        [dispute.id, EVIDENCE_FILES_PER_DISPUTE_MAX],
      );
      return rows.map(fileOf);
    },

    async content(scope, disputeId, fileId) {
      const dispute = await disputeIn(scope, disputeId);
      if (!dispute) return null;
      const { rows } = await db.query<FileRow & { content: Uint8Array }>(
        `SELECT ${COLUMNS}, content FROM dispute_evidence_files WHERE id = $1 AND dispute_id = $2`,
        [fileId, dispute.id],
      );
      const row = rows[0];
      return row ? { file: fileOf(row), content: Buffer.from(row.content) } : null;
    },
  };
}

export function evidenceFileJson(file: EvidenceFile) {
  return {
    id: file.id,
    object: 'dispute_evidence_file' as const,
    livemode: file.livemode,
    dispute: file.disputeId,
    filename: file.filename,
    content_type: file.contentType,
    size: file.sizeBytes,
    sha256: file.sha256,
    created: Math.floor(file.createdAt.getTime() / 1000),
  };
}
