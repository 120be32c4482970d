// A receipt as a page and as a PDF, both made from the signed receipt's JSON.
import type { Receipt } from './model.ts';
import { formatAmount } from './format.ts';

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escape = (text: string) => text.replace(/[&<>"']/g, (character) => escapes[character]!);
const when = (created: number) => new Date(created * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
const TITLES: Record<Receipt['kind'], string> = { payment: 'Payment receipt', tip: 'Tip receipt', top_up: 'Top-up receipt', refund: 'Refund receipt' };

function methodText(method: Receipt['method']): string {
  return method.type === 'wallet' ? 'Micropay wallet' : `Card ${method.brand} ending ${method.last4}`;
}

export function receiptHtml(receipt: Receipt, links: { json: string; pdf: string }): string {
  const rows = receipt.items
    .map((item) => `<tr><td>${escape(item.description)}</td><td class="n">${item.quantity}</td><td class="n">${escape(item.amount_formatted)}</td></tr>`)
    .join('');
  const refunds = receipt.refunds.length
    ? `<h2>Refunds</h2><table><tbody>${receipt.refunds
        .map((refund) => `<tr><td>${escape(refund.id)}</td><td>${escape(when(refund.created))}</td><td class="n">${escape(refund.amount_formatted)}</td></tr>`)
        .join('')}</tbody></table>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escape(TITLES[receipt.kind])} · ${escape(receipt.merchant.name)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}table{width:100%;border-collapse:collapse}td,th{padding:.4rem 0;border-bottom:1px solid #ddd;text-align:left}.n{text-align:right}.total{font-size:1.4rem;font-weight:600}</style>
</head><body><main>
<h1>${escape(TITLES[receipt.kind])}</h1>
<p>${escape(receipt.merchant.name)}</p>
<table><thead><tr><th>Item</th><th class="n">Qty</th><th class="n">Amount</th></tr></thead><tbody>${rows}</tbody></table>
${
    receipt.points
      ? `<p>Paid with ${escape(receipt.points.redeemed.toLocaleString('en-US'))} loyalty points: −${escape(receipt.points.amount_formatted)}</p>`
      : ''
  }<p class="total">Total ${escape(receipt.amount_formatted)}</p>
<dl><dt>Paid with</dt><dd>${escape(methodText(receipt.method))}</dd><dt>Date</dt><dd>${escape(when(receipt.created))}</dd><dt>Reference</dt><dd>${escape(receipt.source.id)}</dd>${
    receipt.payment ? `<dt>Refund of payment</dt><dd>${escape(receipt.payment)}</dd>` : ''
  }</dl>
${refunds}
<p><a href="${escape(links.pdf)}">PDF</a> · <a href="${escape(links.json)}">Signed JSON</a> (verify with <code>micropay receipt verify</code>)</p>
</main></body></html>`;
}

/** The PDF of a receipt. PDFKit's standard fonts cover Latin-1 only, so amounts are written with the
 * currency code rather than a symbol such as ₩. */
export async function receiptPdf(receipt: Receipt): Promise<Buffer> {
  // PDFKit (and its fonts) load with the first PDF a process makes, not when it starts.
  const { default: PDFDocument } = await import('pdfkit');
  return new Promise((resolve, reject) => {
    const document = new PDFDocument({ size: 'A5', margin: 40, info: { Title: TITLES[receipt.kind], Author: receipt.merchant.name } });
    const chunks: Buffer[] = [];
    document.on('data', (chunk: Buffer) => chunks.push(chunk));
    document.on('end', () => resolve(Buffer.concat(chunks)));
    document.on('error', reject);
    const latin = (text: string) => text.replace(/[^\x20-\x7e\xa0-\xff]/g, '?');
    const plain = (amount: number) => formatAmount(BigInt(amount), receipt.currency, 'code');
    document.fontSize(18).text(TITLES[receipt.kind]);
    document.fontSize(12).text(latin(receipt.merchant.name)).moveDown();
    for (const item of receipt.items) document.text(`${latin(item.description)} x ${item.quantity}: ${plain(item.amount)}`);
    if (receipt.points) document.moveDown().text(`Paid with ${receipt.points.redeemed} loyalty points: -${plain(receipt.points.amount)}`);
    document.moveDown().fontSize(14).text(`Total: ${plain(receipt.amount)}`);
    document.fontSize(10).text(`Paid with: ${latin(methodText(receipt.method))}`).text(`Date: ${when(receipt.created)}`).text(`Reference: ${receipt.source.id}`);
    if (receipt.payment) document.text(`Refund of payment: ${receipt.payment}`);
    if (receipt.refunds.length) {
      document.moveDown().fontSize(12).text('Refunds');
      for (const refund of receipt.refunds) document.fontSize(10).text(`${refund.id}  ${when(refund.created)}  ${plain(refund.amount)}`);
    }
    document.end();
  });
}
