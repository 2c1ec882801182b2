// A retry must get its first answer even when the world moved on between the two: the number
// was ported, so resolving it again would now give another operator and refuse the product.
// Without this, a client whose connection dropped after a successful recharge would see a
// refusal, conclude it had not paid, and pay again under a new key.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  api,
  assertJson,
  assertProblem,
  createKey,
  createWorkspace,
  newIdemKey,
  postRecharge,
  run,
  startDaemon,
  TOPUP,
  topup,
  verifyLedger,
} from './harness.mjs';

let ws;
let daemon;
let key;
before(async () => {
  ws = await createWorkspace('replay');
  key = await createKey(ws.db, 'replayer', 'admin');
  daemon = await startDaemon(ws.db);
});
after(async () => {
  await daemon?.stop();
  await ws?.cleanup();
});

async function balance(msisdn) {
  const res = await api(daemon, 'GET', `/v1/subscribers/${encodeURIComponent(msisdn)}`, { key });
  assertJson(res, 200, 'subscriber');
  return res.body.balance_minor;
}

test('a replay after the number was ported returns the first answer, not a refusal', async () => {
  const idem = newIdemKey('ported');
  const body = { msisdn: '13900139001', product: 'cmcc-50' };
  const first = await postRecharge(daemon, key, idem, body);
  assertJson(first, 201, 'first recharge');

  await topup(['portability', 'set', '--db', ws.db, '--msisdn', '13900139001', '--operator', 'cucc']);
  // A new request for the same number now resolves to China Unicom, which does not sell cmcc-50.
  const fresh = await postRecharge(daemon, key, newIdemKey('fresh'), body);
  assertProblem(fresh, 422, 'product_unknown', 'a new request sees the port');

  const again = await postRecharge(daemon, key, idem, body);
  assert.equal(again.status, 201, `replay status: ${again.text}`);
  assert.equal(again.text, first.text, 'the replay is the first answer byte for byte');
  assert.equal(again.header('idempotent-replayed'), 'true');
  assert.equal(await balance('+8613900139001'), 5000, 'credited once');
});

test('a replay with another body after the port is still refused as a reused key', async () => {
  const idem = newIdemKey('ported-other');
  const first = await postRecharge(daemon, key, idem, { msisdn: '13900139002', product: 'cmcc-20' });
  assertJson(first, 201, 'first recharge');
  await topup(['portability', 'set', '--db', ws.db, '--msisdn', '13900139002', '--operator', 'ctcc']);
  const other = await postRecharge(daemon, key, idem, { msisdn: '13900139002', product: 'cmcc-30' });
  assertProblem(other, 409, 'idempotency_key_reused', 'same key, different body');
});

test('the CLI replays a --key recharge after the number was ported', async () => {
  const args = ['recharge', '--db', ws.db, '--msisdn', '13900139003', '--product', 'cmcc-10',
    '--key', 'cli-ported', '--json'];
  const first = await topup(args);
  const order = JSON.parse(first.stdout);
  await topup(['portability', 'set', '--db', ws.db, '--msisdn', '13900139003', '--operator', 'cucc']);
  const again = await run(TOPUP, args);
  assert.equal(again.code, 0, `replay exit: ${again.stderr}`);
  assert.deepEqual(JSON.parse(again.stdout), order, 'the same order comes back');
  assert.equal(await balance('+8613900139003'), 1000, 'credited once');
});

test('an over-long number filter is refused, not cut down to a number that fits', async () => {
  const padded = `13900139001${'%20'.repeat(53)}99`;
  const res = await api(daemon, 'GET', `/v1/recharges?msisdn=${padded}`, { key });
  assertProblem(res, 422, 'invalid_number', 'over-long msisdn filter');
});

test('the ledger is consistent after the replays', async () => {
  await verifyLedger(ws.db);
});
