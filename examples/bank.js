// bank.js — a small bank as an ES module: each export is a reducer a host calls by name
// with JSON arguments (`jspool run --data DIR examples/bank.js transfer '["alice","bob",5]'`).
// Balances live in a durable table: every call is one transaction, committed before its
// result is sent, so a VM recycle, a restart or a kill -9 loses no acknowledged transfer.
// Module-level variables would only be caches; this module keeps none.

db.declare({
  accounts: {
    columns: { name: 'string', balance: 'integer' },
    primaryKey: 'name',
  },
});

function account(name) {
  const row = db.accounts.get(name);
  if (!row) throw new RangeError(`no account '${name}'`);
  return row;
}

function amountOf(value) {
  if (!Number.isSafeInteger(value) || value < 0) throw new TypeError('amount must be a non-negative integer');
  return value;
}

export function open(name, amount = 0) {
  if (typeof name !== 'string' || name === '') throw new TypeError('account name must be a non-empty string');
  db.accounts.insert({ name, balance: amountOf(amount) }); // an existing name: ConstraintError
  return { account: name, balance: amount };
}

// Moves amount from one account to another: reads both, checks funds, debits, credits.
export function transfer(from, to, amount) {
  amountOf(amount);
  if (from === to) throw new RangeError('cannot transfer to the same account');
  const source = account(from), target = account(to);
  if (source.balance < amount) throw new RangeError(`insufficient funds in '${from}'`);
  source.balance -= amount;
  target.balance += amount;
  db.accounts.update(source);
  db.accounts.update(target);
  return { [from]: source.balance, [to]: target.balance };
}

export function balance(name) {
  return account(name).balance;
}

// Opens accounts String(first) .. String(first + count - 1) with balance each, skipping
// names that exist (so a benchmark can seed again after a restart). At most 10,000 per
// call (the store's per-call write limit).
export function seed(first, count, balance) {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(count) || count < 0 || count > 10000)
    throw new TypeError('seed(first, count, balance): integers, count at most 10000');
  amountOf(balance);
  let opened = 0;
  for (let i = first; i < first + count; i++) {
    const name = String(i);
    if (db.accounts.get(name)) continue;
    db.accounts.insert({ name, balance });
    opened++;
  }
  return opened;
}

// Sums every balance: transfers move money, never make or lose it.
export function audit() {
  let accounts = 0, total = 0;
  for (const { balance } of db.accounts.scan()) {
    accounts++;
    total += balance;
  }
  return { accounts, total };
}

// The main job's demonstration: open alice and bob once, move money, check the books.
// Run it again (or after a restart): the balances carry on from where they were.
export function demo() {
  if (!db.accounts.get('alice')) open('alice', 200);
  if (!db.accounts.get('bob')) open('bob', 100);
  transfer('alice', 'bob', 5);
  return { alice: balance('alice'), bob: balance('bob'), audit: audit() };
}
