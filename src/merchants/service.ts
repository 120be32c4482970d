// Merchants of the installation: created by the operator (API or CLI), each with its platform fee.
import type { SqlClient } from '../store/database.ts';
import { newId } from '../api/ids.ts';

export interface Merchant {
  id: string;
  name: string;
  /** Platform fee: basis points of each captured amount plus a fixed part per currency (minor units). */
  feeBps: number;
  feeFixed: Record<string, bigint>;
  status: 'active' | 'disabled';
  metadata: Record<string, string> | null;
  createdAt: Date;
}

export interface MerchantInput {
  name: string;
  feeBps?: number;
  feeFixed?: Record<string, bigint>;
  metadata?: Record<string, string> | null;
}

export interface MerchantService {
  create(input: MerchantInput): Promise<Merchant>;
  get(id: string): Promise<Merchant | null>;
  list(options: { limit: number; startingAfter?: string }): Promise<{ data: Merchant[]; hasMore: boolean }>;
  /** The platform fee of `amount`: basis points rounded half up, plus the fixed part, never above the amount. */
  feeFor(merchant: Merchant, amount: bigint, currency: string): bigint;
}

interface MerchantRow {
  id: string;
  name: string;
  fee_bps: number;
  fee_fixed: Record<string, string | number>;
  status: 'active' | 'disabled';
  metadata: Record<string, string> | null;
  created_at: Date;
}

const COLUMNS = 'id, name, fee_bps, fee_fixed, status, metadata, created_at';

function merchantOf(row: MerchantRow): Merchant {
  return {
    id: row.id,
    name: row.name,
    feeBps: row.fee_bps,
    feeFixed: Object.fromEntries(Object.entries(row.fee_fixed).map(([currency, value]) => [currency, BigInt(value)])),
    status: row.status,
    metadata: row.metadata,
    createdAt: row.created_at,
  };
}

const MERCHANT_CACHE_TTL_MS = 5_000;

export function createMerchantService({ db }: { db: SqlClient }): MerchantService {
  // Merchants are read on every payment; their fee changes rarely, so a short cache is enough.
  const cache = new Map<string, { merchant: Merchant; expiresAtMs: number }>();
  return {
    async create(input) {
      const feeFixed = Object.fromEntries(Object.entries(input.feeFixed ?? {}).map(([currency, value]) => [currency, value.toString()]));
      const { rows } = await db.query<MerchantRow>(
        `INSERT INTO merchants (id, name, fee_bps, fee_fixed, metadata) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
        [newId('mer'), input.name, input.feeBps ?? 0, JSON.stringify(feeFixed), input.metadata ? JSON.stringify(input.metadata) : null],
      );
      return merchantOf(rows[0]!);
    },

    async get(id) {
      const cached = cache.get(id);
      if (cached && cached.expiresAtMs > Date.now()) return cached.merchant;
      const { rows } = await db.query<MerchantRow>(`SELECT ${COLUMNS} FROM merchants WHERE id = $1`, [id]);
      if (!rows[0]) return null;
      const merchant = merchantOf(rows[0]);
      if (cache.size > 10_000) cache.clear();
      cache.set(id, { merchant, expiresAtMs: Date.now() + MERCHANT_CACHE_TTL_MS });
      return merchant;
    },

    async list({ limit, startingAfter }) {
      const { rows } = await db.query<MerchantRow>(
        `SELECT ${COLUMNS} FROM merchants
         WHERE ($1::text IS NULL OR seq > (SELECT seq FROM merchants WHERE id = $1))
         ORDER BY seq LIMIT $2`,
        [startingAfter ?? null, limit + 1],
      );
      return { data: rows.slice(0, limit).map(merchantOf), hasMore: rows.length > limit };
    },

    feeFor(merchant, amount, currency) {
      const proportional = (amount * BigInt(merchant.feeBps) + 5_000n) / 10_000n;
      const fee = proportional + (merchant.feeFixed[currency] ?? 0n);
      return fee > amount ? amount : fee;
    },
  };
}
