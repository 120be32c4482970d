// The card vault: card numbers come in only to be tokenised. The vault checks a card, encrypts it
// (envelope encryption, see crypto.ts) under a token, and gives back what may be shown: the token,
// brand, last four digits, expiry and a keyed fingerprint for spotting the same card twice. The number
// leaves the vault again only through `reveal`, which the card connector calls to authorise a charge.
// The security code (CVC) is never stored: it is checked, forwarded once to the processor with the
// request that carried it, and dropped.
import type { Database, SqlClient } from '../store/database.ts';
import { checkCard, type CardBrand, type CardCheck, type CardInput, type CheckedCard } from './card.ts';
import { fingerprint, secretDigest, seal, unseal, type Keyring } from './crypto.ts';
import * as store from './store.ts';

export interface VaultScope {
  merchantId: string;
  livemode: boolean;
}

export interface TokenizedCard {
  token: string;
  brand: CardBrand;
  last4: string;
  expMonth: number;
  expYear: number;
  fingerprint: string;
}

/** The card data the processor needs, in memory only for the call that needs it. */
export interface RevealedCard {
  number: string;
  expMonth: number;
  expYear: number;
}

export interface CardVault {
  check(input: CardInput): CardCheck;
  /** Encrypts and stores a checked card under `token` (writes with `client`, e.g. the caller's transaction). */
  tokenize(scope: VaultScope, card: CheckedCard, token: string, client?: SqlClient): Promise<TokenizedCard>;
  /** The card behind a token of this scope, or null; throws `VaultIntegrityError` if the record was altered. */
  reveal(scope: VaultScope, token: string): Promise<RevealedCard | null>;
  /** A keyed digest of card fields, safe to store where a request must be recognised again (idempotency). */
  digestOf(parts: string[]): string;
}

interface SealedPayload {
  number: string;
  exp_month: number;
  exp_year: number;
}

function scopeName(scope: VaultScope): string {
  return `${scope.merchantId}:${scope.livemode ? 'live' : 'test'}`;
}

/** What the encryption binds a record to: its token and its owner. */
export function contextOf(token: string, scope: VaultScope): string {
  return `${token}|${scopeName(scope)}`;
}

export function createCardVault({ db, keyring }: { db: Database; keyring: Keyring }): CardVault {
  return {
    check: (input) => checkCard(input),

    async tokenize(scope, card, token, client = db) {
      const payload: SealedPayload = { number: card.number, exp_month: card.expMonth, exp_year: card.expYear };
      const plaintext = Buffer.from(JSON.stringify(payload), 'utf8');
      const sealed = seal(keyring, plaintext, contextOf(token, scope));
      plaintext.fill(0);
      const cardFingerprint = fingerprint(keyring, scopeName(scope), card.number);
      await store.insertVaultRecord(client, { token, merchantId: scope.merchantId, livemode: scope.livemode, fingerprint: cardFingerprint, ...sealed });
      return { token, brand: card.brand, last4: card.last4, expMonth: card.expMonth, expYear: card.expYear, fingerprint: cardFingerprint };
    },

    async reveal(scope, token) {
      const record = await store.getVaultRecord(db, token);
      if (!record || record.merchantId !== scope.merchantId || record.livemode !== scope.livemode) return null;
      const plaintext = unseal(keyring, record, contextOf(token, scope));
      const payload = JSON.parse(plaintext.toString('utf8')) as SealedPayload;
      plaintext.fill(0);
      return { number: payload.number, expMonth: payload.exp_month, expYear: payload.exp_year };
    },

    digestOf: (parts) => secretDigest(keyring, parts),
  };
}
