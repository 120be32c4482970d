// The ledger side of a payout's life, in one place (docs/api/payouts.md draws it):
//
//   created   hold     merchant → payout_clearing   pending, no timeout: the bank may take days, and
//                                                  the money must stay out of reach until it answers
//   paid      post     the hold                     linked with
//             settle   payout_clearing → bank_settlement (the money left through the bank)
//   failed    void     the hold                     the amount is available to the merchant again
//
// payout_clearing is zero for every payout that is paid or failed; what it holds is in transit.
// bank_settlement (debit-normal) goes below zero by everything paid out through the bank.
import type { Books } from '../books/service.ts';
import { TRANSFER_CODES } from '../books/service.ts';
import { ledgerId } from '../api/ids.ts';
import type { TransferInput } from '../ledger/model.ts';
import type { UnitWrite } from '../ledger/unit-of-work.ts';
import { eventWrite } from '../events/outbox.ts';
import { payoutJson, type Payout } from './model.ts';

type Owner = Pick<Payout, 'merchantId' | 'livemode' | 'currency'>;

export function payoutAccounts(books: Books, payout: Owner) {
  return {
    merchant: books.account('merchant', payout.merchantId, payout.livemode, payout.currency),
    clearing: books.account('payout_clearing', 'platform', payout.livemode, payout.currency),
    bank: books.account('bank_settlement', 'platform', payout.livemode, payout.currency),
  };
}

export function holdTransfer(books: Books, payout: Payout): TransferInput {
  const accounts = payoutAccounts(books, payout);
  return {
    id: ledgerId(`${payout.id}:hold`),
    debitAccountId: accounts.merchant.id,
    creditAccountId: accounts.clearing.id,
    amount: payout.amount,
    pending: true,
    code: TRANSFER_CODES.payout,
    metadata: { payout: payout.id },
  };
}

export function settleTransfers(books: Books, payout: Payout): TransferInput[] {
  const accounts = payoutAccounts(books, payout);
  return [
    { id: ledgerId(`${payout.id}:post`), postPendingId: ledgerId(`${payout.id}:hold`), code: TRANSFER_CODES.payout, linked: true },
    {
      id: ledgerId(`${payout.id}:settle`),
      debitAccountId: accounts.clearing.id,
      creditAccountId: accounts.bank.id,
      amount: payout.amount,
      code: TRANSFER_CODES.payout,
      metadata: payout.bankReference ? { payout: payout.id, bank_reference: payout.bankReference } : { payout: payout.id },
    },
  ];
}

export function voidTransfer(payout: Payout): TransferInput {
  return { id: ledgerId(`${payout.id}:void`), voidPendingId: ledgerId(`${payout.id}:hold`), code: TRANSFER_CODES.payout };
}

/** The outbox write of `type` for `payout` as it is after the change (its version names the occurrence). */
export function payoutEvent(payout: Payout, type: 'payout.created' | 'payout.paid' | 'payout.failed'): UnitWrite {
  return eventWrite({
    merchantId: payout.merchantId,
    livemode: payout.livemode,
    type,
    object: payoutJson(payout),
    occurrence: String(payout.version),
  });
}
