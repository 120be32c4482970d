// The history as CSV (RFC 4180: comma-separated, CRLF line ends, fields quoted when they hold a comma, a
// quote or a line break, quotes doubled). A text cell that starts with =, +, -, @, a tab or a carriage
// return gets a leading single quote, so that a spreadsheet shows it as text instead of running it as a
// formula (a merchant names its own products and could otherwise plant one).
import { decimalAmount } from '../checkout/money.ts';
import { seconds, type HistoryEntry } from './model.ts';

export const CSV_COLUMNS = [
  'id',
  'created',
  'type',
  'merchant_id',
  'merchant_name',
  'description',
  'categories',
  'status',
  'currency',
  'amount',
  'amount_minor',
  'refunded_amount',
  'refunded_amount_minor',
] as const;

const FORMULA_START = /^[=+\-@\t\r]/;

/** One text cell: guarded against formula injection, then quoted if it needs to be. */
export function csvCell(value: string): string {
  const guarded = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(guarded) ? `"${guarded.replaceAll('"', '""')}"` : guarded;
}

export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

/** The entry's row; amounts both as decimal major units (with the currency's digits) and as minor units. */
export function csvRow(entry: HistoryEntry): string {
  const cells = [
    entry.id,
    new Date(seconds(entry.createdAt) * 1000).toISOString().replace('.000Z', 'Z'),
    entry.type,
    entry.merchant?.id ?? '',
    entry.merchant?.name ?? '',
    entry.description ?? '',
    entry.categories.join(' '),
    entry.status,
    entry.currency,
    decimalAmount(entry.amount, entry.currency),
    entry.amount.toString(),
    decimalAmount(entry.refundedAmount, entry.currency),
    entry.refundedAmount.toString(),
  ];
  return `${cells.map(csvCell).join(',')}\r\n`;
}
