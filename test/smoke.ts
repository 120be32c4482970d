import { randomUUID } from 'node:crypto';
import { openDatabase } from '../src/store/database.ts';
import { migrate } from '../src/store/migrate.ts';
import { createLedgerService } from '../src/ledger/service.ts';

const url = process.argv[2];
if (url?.startsWith('postgres')) {
  const admin = await openDatabase({ databaseUrl: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await admin.query('DROP DATABASE IF EXISTS micropay_smoke');
  await admin.query('CREATE DATABASE micropay_smoke');
  await admin.close();
}
const db = await openDatabase(url?.startsWith('postgres') ? { databaseUrl: 'postgres://postgres@127.0.0.1:5432/micropay_smoke' } : { dataDir: '/tmp/smoke-' + Date.now() });
await migrate(db);
const ledger = createLedgerService({ db });
const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
console.log(await ledger.createAccounts([
  { id: a, asset: 'USD', kind: 'rail_settlement' },
  { id: b, asset: 'USD', kind: 'buyer_wallet', flags: { debitsMustNotExceedCredits: true } },
  { id: c, asset: 'USD', kind: 'merchant' },
]).then(r => r.map(x => x.result)));
const t1 = randomUUID(), h = randomUUID();
console.log((await ledger.createTransfers([{ id: t1, debitAccountId: a, creditAccountId: b, amount: 1000n, code: 1 }])).map(r=>r.result));
console.log((await ledger.createTransfers([{ id: t1, debitAccountId: a, creditAccountId: b, amount: 1000n, code: 1 }])).map(r=>r.result));
console.log((await ledger.createTransfers([{ id: t1, debitAccountId: a, creditAccountId: b, amount: 999n, code: 1 }])).map(r=>r.result));
console.log((await ledger.createTransfers([{ id: h, debitAccountId: b, creditAccountId: c, amount: 600n, code: 2, pending: true, timeoutSeconds: 1 }])).map(r=>r.result));
console.log((await ledger.createTransfers([{ id: randomUUID(), debitAccountId: b, creditAccountId: c, amount: 600n, code: 2 }])).map(r=>r.result));
console.log(await ledger.getBalance(b));
await new Promise(r => setTimeout(r, 1200));
console.log('expired', await ledger.expireDueHolds(10));
console.log((await ledger.createTransfers([{ id: randomUUID(), postPendingId: h, code: 2 }])).map(r=>r.result));
console.log(await ledger.getBalance(b));
const before = new Date();
await new Promise(r => setTimeout(r, 20));
const x = randomUUID();
console.log((await ledger.createTransfers([{ id: x, debitAccountId: b, creditAccountId: c, amount: 100n, code: 2, linked: true }, { id: randomUUID(), debitAccountId: b, creditAccountId: c, amount: 1000n, code: 2 }])).map(r=>r.result));
console.log((await ledger.createTransfers([{ id: x, debitAccountId: b, creditAccountId: c, amount: 100n, code: 2, linked: true }, { id: randomUUID(), debitAccountId: b, creditAccountId: c, amount: 10n, code: 2 }])).map(r=>r.result));
console.log(await ledger.getBalance(b), await ledger.getBalanceAt(b, before));
console.log((await ledger.listAccountTransfers(b, { limit: 2 })).data.map(e => [e.cursor, e.transfer.kind, e.transfer.amount]));
console.log(await ledger.verify());
const ps = [];
for (let i = 0; i < 2000; i++) ps.push(ledger.createTransfers([{ id: randomUUID(), debitAccountId: a, creditAccountId: c, amount: 1n, code: 1 }]));
const t0 = performance.now(); await Promise.all(ps); console.log('2000 in', performance.now() - t0, ledger.pipelineStats());
console.log((await ledger.verify()).ok);
await ledger.close(); await db.close();
