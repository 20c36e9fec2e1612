// pg.mjs — keynote-2's "Node.js + Postgres" peer: node:http in front of a `pg` Pool of 64
// (keynote-2's MAX_POOL), one transaction per transfer. keynote-2 runs its local Postgres with
// default_transaction_isolation = 'serializable' (docker-compose.yml), locks both rows with
// SELECT ... WHERE id IN (from, to) ORDER BY id FOR UPDATE (stable order: no deadlock between
// two transfers of the same pair in opposite directions), updates both, and retries
// serialization failures (40001), deadlocks (40P01) and lock timeouts (55P03) up to 10 times
// with a jittered backoff (5 ms × 2^attempt, at most 200 ms). This peer does the same with
// plain SQL instead of Drizzle (what Drizzle sends, without its per-query overhead).
// PG_ISOLATION (default "serializable") can be "read committed" or "repeatable read".
// Durability: Postgres's defaults (fsync on, synchronous_commit on): COMMIT returns once the
// WAL is flushed, so the HTTP answer follows a durable commit.
//
//   PG_URL=postgres://... PORT=4101 [ACCOUNTS=100000] [BALANCE=1000000000] node pg.mjs
import pg from 'pg';
import { serve, accountId, amountOf, ACCOUNTS, BALANCE } from './serve.mjs';

const PORT = Number(process.env.PORT ?? 4101);
const ISOLATION = (process.env.PG_ISOLATION ?? 'serializable').toUpperCase();
if (!['SERIALIZABLE', 'REPEATABLE READ', 'READ COMMITTED'].includes(ISOLATION)) {
  throw new Error(`PG_ISOLATION must be serializable, repeatable read or read committed`);
}
const RETRYABLE = new Set(['40001', '40P01', '55P03']);
const pool = new pg.Pool({ connectionString: process.env.PG_URL, max: Number(process.env.MAX_POOL ?? 64) });
const BEGIN = `BEGIN ISOLATION LEVEL ${ISOLATION}`;

async function inTransaction(body) {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    try {
      await client.query(BEGIN);
      const value = await body(client);
      await client.query('COMMIT');
      return value;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      if (!RETRYABLE.has(err.code) || attempt === 10) throw err;
      const cap = Math.min(200, 5 * 2 ** attempt);
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * cap)));
    } finally {
      client.release();
    }
  }
}

async function seed(first, count, balance) {
  await pool.query('INSERT INTO accounts(id, balance) SELECT g, $1 FROM generate_series($2::int, $3::int) AS g',
                   [balance, first, first + count - 1]);
  return { seeded: count };
}

async function transfer(from, to, amount) {
  const a = accountId(from), b = accountId(to);
  amountOf(amount);
  if (a === b) throw new RangeError('cannot transfer to the same account');
  return inTransaction(async (client) => {
    const { rows } = await client.query(
      'SELECT id, balance FROM accounts WHERE id IN ($1, $2) ORDER BY id FOR UPDATE', [a, b]);
    if (rows.length !== 2) throw new RangeError(`no account '${rows.some((r) => r.id === a) ? to : from}'`);
    const source = rows[0].id === a ? rows[0] : rows[1], target = rows[0].id === a ? rows[1] : rows[0];
    const sourceBalance = Number(source.balance), targetBalance = Number(target.balance);
    if (sourceBalance < amount) throw new RangeError(`insufficient funds in '${from}'`);
    await client.query('UPDATE accounts SET balance = $1 WHERE id = $2', [sourceBalance - amount, a]);
    await client.query('UPDATE accounts SET balance = $1 WHERE id = $2', [targetBalance + amount, b]);
    return { [from]: sourceBalance - amount, [to]: targetBalance + amount };
  });
}

async function audit() {
  const { rows } = await pool.query('SELECT count(*)::bigint AS n, coalesce(sum(balance), 0)::bigint AS total FROM accounts');
  return { accounts: Number(rows[0].n), total: Number(rows[0].total) };
}

await pool.query('CREATE TABLE IF NOT EXISTS accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL)');
await pool.query('TRUNCATE accounts');
await seed(0, ACCOUNTS, BALANCE);
await pool.query('VACUUM ANALYZE accounts');
const { rows: [iso] } = await pool.query('SHOW default_transaction_isolation');
console.error(`[pg] seeded ${ACCOUNTS} accounts of ${BALANCE}; transactions ${ISOLATION} (server default ${iso.default_transaction_isolation}), pool ${pool.options.max}`);
serve('pg', PORT, { seed, transfer, audit });
