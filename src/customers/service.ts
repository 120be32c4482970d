// Customers: a merchant's record of a buyer. Creating a customer creates its buyer (the person, whose
// wallet works at every merchant of the installation). Attaching an existing buyer to a second merchant
// needs the buyer's own consent (a passkey sign-in at checkout), never a merchant's word, so the API
// has no way to name another merchant's buyer.
import type { Database } from '../store/database.ts';
import type { Books } from '../books/service.ts';
import type { Balance } from '../ledger/model.ts';
import { idFor } from '../api/ids.ts';
import { merchantPage } from '../store/pages.ts';
import { createMicroBatcher } from '../store/micro-batch.ts';

export interface Customer {
  id: string;
  merchantId: string;
  livemode: boolean;
  buyerId: string;
  email: string | null;
  name: string | null;
  metadata: Record<string, string> | null;
  createdAt: Date;
}

export interface CustomerInput {
  email?: string | null;
  name?: string | null;
  metadata?: Record<string, string> | null;
}

export interface Scope {
  merchantId: string;
  livemode: boolean;
}

export interface WalletBalance extends Balance {
  currency: string;
}

export interface CustomerService {
  create(scope: Scope, input: CustomerInput, idSeed?: string): Promise<Customer>;
  get(scope: Scope, id: string): Promise<Customer | null>;
  list(scope: Scope, options: { limit: number; startingAfter?: string }): Promise<{ data: Customer[]; hasMore: boolean }>;
  /** The customer of `buyerId` at this merchant, created (with no email or name: the merchant learns
   * nothing of the buyer it was not told) when the buyer first pays the merchant at the checkout. The
   * buyer must be of the scope's mode. */
  findOrCreateForBuyer(scope: Scope, buyerId: string): Promise<Customer>;
  /** The customer of `buyerId` at this merchant, if the buyer ever paid it at the checkout. */
  findForBuyer(scope: Scope, buyerId: string): Promise<Customer | null>;
  /** The buyer's wallet balance in each currency it has ever held. */
  walletBalances(customer: Customer): Promise<WalletBalance[]>;
}

interface CustomerRow {
  id: string;
  merchant_id: string;
  livemode: boolean;
  buyer_id: string;
  email: string | null;
  name: string | null;
  metadata: Record<string, string> | null;
  created_at: Date;
}

const COLUMNS = 'id, merchant_id, livemode, buyer_id, email, name, metadata, created_at';
const FOR_BUYER = `SELECT ${COLUMNS} FROM customers WHERE merchant_id = $1 AND livemode = $2 AND buyer_id = $3`;

function customerOf(row: CustomerRow): Customer {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    livemode: row.livemode,
    buyerId: row.buyer_id,
    email: row.email,
    name: row.name,
    metadata: row.metadata,
    createdAt: row.created_at,
  };
}

/** Customers are read on every payment and never change owner, mode or buyer; a short cache saves a
 * round trip per payment (email and name may be up to this old in reads that go through it). */
const CUSTOMER_CACHE_TTL_MS = 30_000;
const CUSTOMER_CACHE_SIZE_MAX = 100_000;
/** Reads of customers the cache lacks that arrive together share one statement (a server that just
 * started meets many at once). */
const READ_BATCH_OPTIONS = { batchMax: 500, inFlightMax: 4 };

export function createCustomerService({ db, books }: { db: Database; books: Books }): CustomerService {
  const cache = new Map<string, { customer: Customer; expiresAtMs: number }>();
  const read = createMicroBatcher(async (ids: string[]) => {
    const { rows } = await db.query<CustomerRow>(`SELECT ${COLUMNS} FROM customers WHERE id = ANY($1::text[])`, [[...new Set(ids)]]);
    const found = new Map(rows.map((row) => [row.id, customerOf(row)]));
    return ids.map((id) => found.get(id) ?? null);
  }, READ_BATCH_OPTIONS);
  return {
    async create(scope, input, idSeed) {
      const id = idFor('cus', idSeed);
      const buyerId = idFor('buy', idSeed);
      return db.transaction(async (tx) => {
        await tx.query('INSERT INTO buyers (id, livemode) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [buyerId, scope.livemode]);
        await tx.query(
          `INSERT INTO customers (id, merchant_id, livemode, buyer_id, email, name, metadata)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
          [id, scope.merchantId, scope.livemode, buyerId, input.email ?? null, input.name ?? null, input.metadata ? JSON.stringify(input.metadata) : null],
        );
        const { rows } = await tx.query<CustomerRow>(`SELECT ${COLUMNS} FROM customers WHERE id = $1`, [id]);
        return customerOf(rows[0]!);
      });
    },

    async get(scope, id) {
      const cached = cache.get(id);
      let customer = cached && cached.expiresAtMs > Date.now() ? cached.customer : null;
      if (!customer) {
        customer = await read(id);
        if (!customer) return null;
        if (cache.size >= CUSTOMER_CACHE_SIZE_MAX) cache.clear();
        cache.set(id, { customer, expiresAtMs: Date.now() + CUSTOMER_CACHE_TTL_MS });
      }
      // Another merchant's customer, or the other mode's, does not exist for this caller.
      return customer.merchantId === scope.merchantId && customer.livemode === scope.livemode ? customer : null;
    },

    async findForBuyer(scope, buyerId) {
      const { rows } = await db.query<CustomerRow>(FOR_BUYER, [scope.merchantId, scope.livemode, buyerId]);
      return rows[0] ? customerOf(rows[0]) : null;
    },

    async findOrCreateForBuyer(scope, buyerId) {
      const found = await db.query<CustomerRow>(FOR_BUYER, [scope.merchantId, scope.livemode, buyerId]);
      if (found.rows[0]) return customerOf(found.rows[0]);
      await db.query(
        `INSERT INTO customers (id, merchant_id, livemode, buyer_id)
         SELECT $1, $2, $3, id FROM buyers WHERE id = $4 AND livemode = $3
         ON CONFLICT (merchant_id, livemode, buyer_id) DO NOTHING`,
        [idFor('cus', undefined), scope.merchantId, scope.livemode, buyerId],
      );
      const { rows } = await db.query<CustomerRow>(FOR_BUYER, [scope.merchantId, scope.livemode, buyerId]);
      if (!rows[0]) throw new Error(`buyer ${buyerId} does not exist in this mode`);
      return customerOf(rows[0]);
    },

    async list(scope, { limit, startingAfter }) {
      const page = await merchantPage<CustomerRow>(db, { table: 'customers', columns: COLUMNS, scope, limit, startingAfter, oldestFirst: true });
      return { data: page.rows.map(customerOf), hasMore: page.hasMore };
    },

    walletBalances: (customer) => books.balancesByCurrency('wallet', customer.buyerId, customer.livemode),
  };
}
