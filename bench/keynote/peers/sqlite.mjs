// sqlite.mjs — keynote-2's "Node.js + SQLite" peer: node:http in front of better-sqlite3 on
// the Node thread (synchronous calls: one transaction at a time, no pool), one transaction
// per transfer (reads both rows, checks funds, two UPDATEs). Here WAL with synchronous=FULL:
// each COMMIT fsyncs the WAL before the HTTP answer, durable before acknowledged like jspool.
// keynote-2's SQLite modes differ (src/connectors/sqlite_common.ts): .env.example sets
// SQLITE_MODE=default (no pragmas: better-sqlite3's build defaults, WAL synchronous=NORMAL,
// no fsync per commit) and an unset mode means "realistic_cached", WAL + `synchronous =
// MEMORY`, a value SQLite does not know and reads as NORMAL. SQLITE_SYNC=NORMAL reproduces
// those; see README.md.
//
//   SQLITE_FILE=/path/accounts.db PORT=4103 [SQLITE_SYNC=FULL] node sqlite.mjs
import Database from 'better-sqlite3';
import { serve, accountId, amountOf, ACCOUNTS, BALANCE } from './serve.mjs';

const PORT = Number(process.env.PORT ?? 4103);
const FILE = process.env.SQLITE_FILE ?? '/var/tmp/jspool-keynote/accounts.sqlite';
const SYNC = (process.env.SQLITE_SYNC ?? 'FULL').toUpperCase();
if (!['FULL', 'NORMAL', 'OFF', 'EXTRA'].includes(SYNC)) throw new Error('SQLITE_SYNC must be FULL, NORMAL, EXTRA or OFF');

const db = new Database(FILE);
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${SYNC}`);
db.exec('CREATE TABLE IF NOT EXISTS accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)');

const insert = db.prepare('INSERT INTO accounts (id, balance) VALUES (?, ?)');
const readTwo = db.prepare('SELECT id, balance FROM accounts WHERE id IN (?, ?)');
const setBalance = db.prepare('UPDATE accounts SET balance = ? WHERE id = ?');
const total = db.prepare('SELECT count(*) AS n, coalesce(sum(balance), 0) AS total FROM accounts');

const seedTx = db.transaction((first, count, balance) => {
  for (let id = first; id < first + count; id++) insert.run(id, balance);
});

function seed(first, count, balance) {
  seedTx(first, count, balance);
  return { seeded: count };
}

const transferTx = db.transaction((from, to, a, b, amount) => {
  const rows = readTwo.all(a, b);
  if (rows.length !== 2) throw new RangeError(`no account '${rows.some((r) => r.id === a) ? to : from}'`);
  const source = rows[0].id === a ? rows[0] : rows[1], target = rows[0].id === a ? rows[1] : rows[0];
  if (source.balance < amount) throw new RangeError(`insufficient funds in '${from}'`);
  setBalance.run(source.balance - amount, a);
  setBalance.run(target.balance + amount, b);
  return { [from]: source.balance - amount, [to]: target.balance + amount };
});

function transfer(from, to, amount) {
  const a = accountId(from), b = accountId(to);
  amountOf(amount);
  if (a === b) throw new RangeError('cannot transfer to the same account');
  return transferTx(from, to, a, b, amount);
}

function audit() {
  const row = total.get();
  return { accounts: row.n, total: row.total };
}

db.exec('DELETE FROM accounts');
seed(0, ACCOUNTS, BALANCE);
db.pragma('wal_checkpoint(TRUNCATE)');
console.error(`[sqlite] seeded ${ACCOUNTS} accounts of ${BALANCE} in ${FILE}; journal_mode ${db.pragma('journal_mode', { simple: true })}, synchronous ${db.pragma('synchronous', { simple: true })} (2 = FULL)`);
serve('sqlite', PORT, { seed, transfer, audit });
