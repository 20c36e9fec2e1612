// bench/server/bank.js — the bank as it was before the store (balances in the JS heap), kept for
// bench/server/run.sh: it compares the HTTP serving path of jspool and Node (vm) on the same
// module, so both run this one; durable transfers are bench/keynote's job.

const accounts = new Map();

function account(name) {
  if (!accounts.has(name)) throw new RangeError(`no account '${name}'`);
  return accounts.get(name);
}

function amountOf(value) {
  if (!Number.isSafeInteger(value) || value < 0) throw new TypeError('amount must be a non-negative integer');
  return value;
}

export function open(name, amount = 0) {
  if (typeof name !== 'string' || name === '') throw new TypeError('account name must be a non-empty string');
  if (accounts.has(name)) throw new RangeError(`account '${name}' already exists`);
  accounts.set(name, { balance: amountOf(amount) });
  return { account: name, balance: amount };
}

export function transfer(from, to, amount) {
  const source = account(from), target = account(to);
  amountOf(amount);
  if (source.balance < amount) throw new RangeError(`insufficient funds in '${from}'`);
  source.balance -= amount;
  target.balance += amount;
  return { [from]: source.balance, [to]: target.balance };
}

export function balance(name) {
  return account(name).balance;
}

export function audit() {
  let total = 0;
  for (const { balance } of accounts.values()) total += balance;
  return { accounts: accounts.size, total };
}

// The main job's demonstration: open two accounts, move money, check nothing was lost.
export function demo() {
  open('alice', 200);
  open('bob', 100);
  transfer('alice', 'bob', 75);
  const { total } = audit();
  return { alice: balance('alice'), bob: balance('bob'), audit: total };
}
