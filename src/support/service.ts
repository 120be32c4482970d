// Support and self-service refunds: from a purchase, the buyer asks for a refund (the refunds service's
// buyer path and its automatic policy), opens a dispute (the disputes service's buyer path), or opens a
// support ticket that the merchant answers. Ticket changes and their webhook events commit in one
// transaction; the buyer is told of an answer by the message gateway after the commit.
//
// Tenancy: every buyer operation is scoped to the buyer's own payments and tickets in the key's mode;
// through a merchant's key also to that merchant, through the platform's wallet key to every merchant
// (src/wallet/reach.ts, docs/wallet.md). Anything else answers as missing.
import type { ApiErrorCode } from '../api/errors.ts';
import { idFor } from '../api/ids.ts';
import type { BuyerIdentity } from '../buyers/model.ts';
import type { Scope } from '../customers/service.ts';
import type { DisputeRequest, DisputeResult, DisputeService } from '../disputes/service.ts';
import { insertEvents } from '../events/outbox.ts';
import type { Logger } from '../log/logger.ts';
import type { MerchantService } from '../merchants/service.ts';
import type { MessageGateway } from '../messages/gateway.ts';
import type { Payment } from '../payments/model.ts';
import type { PaymentService } from '../payments/service.ts';
import type { BuyerRefundRequest, RefundResult, RefundService } from '../refunds/service.ts';
import type { Database } from '../store/database.ts';
import { TICKET_MESSAGES_MAX, ticketJson, type Ticket, type TicketAuthor, type TicketMessage, type TicketStatus } from './model.ts';
import * as store from './store.ts';

/** A signed-in buyer: through one merchant's key (`merchantId`), or through the wallet key (null: every merchant). */
export interface BuyerScope {
  buyerId: string;
  livemode: boolean;
  merchantId: string | null;
}

export type SupportResult =
  | { ok: true; ticket: Ticket; messages: TicketMessage[] }
  | { ok: false; code: ApiErrorCode; message?: string; param?: string };

export interface ListOptions {
  limit: number;
  startingAfter?: string;
  status?: TicketStatus;
}

export interface SupportService {
  requestRefund(buyer: BuyerScope, input: Omit<BuyerRefundRequest, 'buyerId'>, idSeed?: string): Promise<RefundResult>;
  openDispute(buyer: BuyerScope, input: Omit<DisputeRequest, 'buyerId'>, idSeed?: string): Promise<DisputeResult>;
  openTicket(buyer: BuyerScope, input: { paymentId: string; subject: string; message: string }, idSeed?: string): Promise<SupportResult>;
  buyerReply(buyer: BuyerScope, ticketId: string, body: string, idSeed?: string): Promise<SupportResult>;
  buyerTicket(buyer: BuyerScope, ticketId: string): Promise<SupportResult>;
  buyerTickets(buyer: BuyerScope, options: ListOptions): Promise<{ data: Ticket[]; hasMore: boolean }>;
  merchantReply(scope: Scope, ticketId: string, body: string, idSeed?: string): Promise<SupportResult>;
  merchantTicket(scope: Scope, ticketId: string): Promise<SupportResult>;
  merchantTickets(scope: Scope, options: ListOptions): Promise<{ data: Ticket[]; hasMore: boolean }>;
  close(scope: Scope, ticketId: string): Promise<SupportResult>;
}

export interface SupportDependencies {
  db: Database;
  payments: PaymentService;
  refunds: RefundService;
  disputes: DisputeService;
  merchants: MerchantService;
  buyerIdentity: Pick<BuyerIdentity, 'profile'>;
  messages: MessageGateway;
  logger: Logger;
}

/** How much of an answer the notification quotes. */
const EXCERPT_LENGTH_MAX = 300;

const missing = (what: string, id: string, param: string): SupportResult => ({ ok: false, code: 'resource_missing', message: `No such ${what}: ${id}.`, param });

const owns = (buyer: BuyerScope, ticket: Ticket) =>
  ticket.buyerId === buyer.buyerId && ticket.livemode === buyer.livemode && (buyer.merchantId === null || ticket.merchantId === buyer.merchantId);
const inScope = (scope: Scope, ticket: Ticket) => ticket.merchantId === scope.merchantId && ticket.livemode === scope.livemode;

export function createSupportService(deps: SupportDependencies): SupportService {
  const { db } = deps;

  /** The payment when it is the buyer's, in the buyer's mode and reach; null otherwise. */
  async function buyersPayment(buyer: BuyerScope, paymentId: string): Promise<Payment | null> {
    const payment = await deps.payments.find(paymentId);
    if (!payment || payment.buyerId !== buyer.buyerId || payment.livemode !== buyer.livemode) return null;
    return buyer.merchantId === null || payment.merchantId === buyer.merchantId ? payment : null;
  }

  async function withThread(ticket: Ticket): Promise<SupportResult> {
    return { ok: true, ticket, messages: await store.listMessages(db, ticket.id, TICKET_MESSAGES_MAX) };
  }

  /** The event's object: the ticket, with only the message that caused the event. */
  const eventObject = (ticket: Ticket, message: TicketMessage) => ticketJson(ticket, [message]) as unknown as Record<string, unknown>;

  /** Appends a message by `author` to a ticket `allowed` to see it; a retry (same id) changes nothing again. */
  async function reply(ticketId: string, author: TicketAuthor, body: string, idSeed: string | undefined, allowed: (ticket: Ticket) => boolean) {
    const messageId = idFor('tmsg', idSeed);
    return db.transaction(async (tx): Promise<{ result: SupportResult; appended: TicketMessage | null }> => {
      const ticket = await store.getTicket(tx, ticketId, { lock: true });
      if (!ticket || !allowed(ticket)) return { result: missing('support ticket', ticketId, 'id'), appended: null };
      const earlier = await store.getMessage(tx, messageId);
      if (earlier) return { result: { ok: true, ticket, messages: [] }, appended: null };
      if (ticket.status === 'closed') return { result: { ok: false, code: 'support_ticket_closed' }, appended: null };
      if (ticket.messageCount >= TICKET_MESSAGES_MAX) return { result: { ok: false, code: 'support_ticket_too_long' }, appended: null };
      await store.insertMessage(tx, { id: messageId, ticketId, author, body });
      const updated = await store.recordMessage(tx, ticketId, author === 'buyer' ? 'open' : 'answered');
      const message = (await store.getMessage(tx, messageId))!;
      if (author === 'buyer') {
        await insertEvents(tx, [{ merchantId: updated.merchantId, livemode: updated.livemode, type: 'support_ticket.buyer_replied', object: eventObject(updated, message), occurrence: messageId }]);
      }
      return { result: { ok: true, ticket: updated, messages: [] }, appended: message };
    });
  }

  /** Tells the buyer the merchant answered; a failure to send is logged, the answer stays. */
  async function notifyBuyer(ticket: Ticket, message: TicketMessage): Promise<void> {
    try {
      const profile = await deps.buyerIdentity.profile(ticket.buyerId);
      const email = profile?.email != null && deps.messages.canSend('email') ? profile.email : null;
      const phone = profile?.phone != null && deps.messages.canSend('sms') ? profile.phone : null;
      if (email === null && phone === null) return;
      const merchant = await deps.merchants.get(ticket.merchantId);
      const excerpt = message.body.length > EXCERPT_LENGTH_MAX ? `${message.body.slice(0, EXCERPT_LENGTH_MAX)}…` : message.body;
      const text = `${merchant?.name ?? 'The merchant'} answered your support ticket "${ticket.subject}" (${ticket.id}): ${excerpt}\nRead the thread and reply in your Micropay wallet.`;
      const subject = `Your support ticket at ${merchant?.name ?? 'a merchant'} was answered`;
      await deps.messages.send(email !== null ? { channel: 'email', to: email, subject, body: text } : { channel: 'sms', to: phone!, body: text });
    } catch (error) {
      deps.logger.warn({ err: error, ticket: ticket.id }, 'support answer notification failed');
    }
  }

  return {
    async requestRefund(buyer, input, idSeed) {
      if (!(await buyersPayment(buyer, input.paymentId))) return { ok: false, code: 'resource_missing', message: `No such payment: ${input.paymentId}.`, param: 'id' };
      return deps.refunds.requestByBuyer({ ...input, buyerId: buyer.buyerId }, idSeed);
    },

    async openDispute(buyer, input, idSeed) {
      if (!(await buyersPayment(buyer, input.paymentId))) return { ok: false, code: 'resource_missing', message: `No such payment: ${input.paymentId}.`, param: 'id' };
      return deps.disputes.openByBuyer({ ...input, buyerId: buyer.buyerId }, idSeed);
    },

    async openTicket(buyer, input, idSeed) {
      const payment = await buyersPayment(buyer, input.paymentId);
      if (!payment) return missing('payment', input.paymentId, 'payment');
      const ticketId = idFor('tkt', idSeed);
      const messageId = idFor('tmsg', idSeed);
      const ticket = await db.transaction(async (tx) => {
        const inserted = await store.insertTicket(tx, { id: ticketId, merchantId: payment.merchantId, livemode: buyer.livemode, buyerId: buyer.buyerId, paymentId: input.paymentId, subject: input.subject });
        if (!inserted) return store.getTicket(tx, ticketId);
        await store.insertMessage(tx, { id: messageId, ticketId, author: 'buyer', body: input.message });
        const opened = (await store.getTicket(tx, ticketId))!;
        const message = (await store.getMessage(tx, messageId))!;
        await insertEvents(tx, [{ merchantId: opened.merchantId, livemode: opened.livemode, type: 'support_ticket.created', object: eventObject(opened, message), occurrence: ticketId }]);
        return opened;
      });
      if (!ticket || !owns(buyer, ticket)) return missing('support ticket', ticketId, 'id');
      return withThread(ticket);
    },

    async buyerReply(buyer, ticketId, body, idSeed) {
      const { result } = await reply(ticketId, 'buyer', body, idSeed, (ticket) => owns(buyer, ticket));
      return result.ok ? withThread(result.ticket) : result;
    },

    async buyerTicket(buyer, ticketId) {
      const ticket = await store.getTicket(db, ticketId);
      return ticket && owns(buyer, ticket) ? withThread(ticket) : missing('support ticket', ticketId, 'id');
    },

    buyerTickets: (buyer, options) =>
      store.listTickets(db, { ...options, ...(buyer.merchantId === null ? {} : { merchantId: buyer.merchantId }), livemode: buyer.livemode, buyerId: buyer.buyerId }),

    async merchantReply(scope, ticketId, body, idSeed) {
      const { result, appended } = await reply(ticketId, 'merchant', body, idSeed, (ticket) => inScope(scope, ticket));
      if (!result.ok) return result;
      if (appended) await notifyBuyer(result.ticket, appended);
      return withThread(result.ticket);
    },

    async merchantTicket(scope, ticketId) {
      const ticket = await store.getTicket(db, ticketId);
      return ticket && inScope(scope, ticket) ? withThread(ticket) : missing('support ticket', ticketId, 'id');
    },

    merchantTickets: (scope, options) => store.listTickets(db, { ...options, merchantId: scope.merchantId, livemode: scope.livemode }),

    async close(scope, ticketId) {
      const ticket = await db.transaction(async (tx) => {
        const found = await store.getTicket(tx, ticketId, { lock: true });
        if (!found || !inScope(scope, found)) return null;
        if (found.status === 'closed') return found;
        const closed = await store.closeTicket(tx, ticketId);
        await insertEvents(tx, [{ merchantId: closed.merchantId, livemode: closed.livemode, type: 'support_ticket.closed', object: ticketJson(closed) as unknown as Record<string, unknown>, occurrence: ticketId }]);
        return closed;
      });
      return ticket ? withThread(ticket) : missing('support ticket', ticketId, 'id');
    },
  };
}

