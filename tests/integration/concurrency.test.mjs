// Concurrency: many clients at once must not break exactly-once crediting, lose an update, or let
// one refused request roll back its neighbours in the same commit batch.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  api,
  assertJson,
  assertProblem,
  createKey,
  createWorkspace,
  enc,
  newIdemKey,
  postRecharge,
  postRechargeRetryBusy,
  show,
  startDaemon,
  topup,
  verifyLedger,
  walkPages,
} from './harness.mjs';

let ws;
let daemon;
let key;
let readKey;
let busyWs;
let busyDaemon;
const CLOSED = '+8613900000099';

before(async () => {
  ws = await createWorkspace('concurrency');
  key = await createKey(ws.db, 'it-conc', 'recharge');
  readKey = await createKey(ws.db, 'it-conc-read', 'read');
  const csv = await ws.writeFile('closed.csv', `msisdn,status\n${CLOSED},closed\n`);
  await topup(['subscribers', 'import', '--db', ws.db, csv]);
  daemon = await startDaemon(ws.db);
});

after(async () => {
  if (daemon) await daemon.stop();
  if (busyDaemon) await busyDaemon.stop();
  if (ws) await ws.cleanup();
  if (busyWs) await busyWs.cleanup();
});

async function balanceOf(msisdn) {
  const res = await api(daemon, 'GET', `/v1/subscribers/${enc(msisdn)}`, { key: readKey });
  return assertJson(res, 200, `subscriber ${msisdn}`).balance_minor;
}

async function orderIdsOf(msisdn) {
  const { items } = await walkPages(daemon, readKey, `/v1/recharges?msisdn=${enc(msisdn)}`, { limit: 200 });
  return items.map((o) => o.id);
}

test('50 concurrent identical requests: one order, the same 201 body for all, credited once', async () => {
  const msisdn = '+8613811110050';
  const idem = newIdemKey('same');
  const body = JSON.stringify({ msisdn, product: 'cmcc-50' });
  const results = await Promise.all(Array.from({ length: 50 }, () => postRechargeRetryBusy(daemon, key, idem, body)));
  const responses = results.map((r) => r.res);
  for (const res of responses) assertJson(res, 201, 'concurrent duplicate');
  const first = responses[0].body;
  for (const res of responses) assert.deepEqual(res.body, first, `bodies differ: ${show(res)} vs ${JSON.stringify(first)}`);
  const originals = responses.filter((r) => r.header('idempotent-replayed') !== 'true');
  assert.equal(originals.length, 1, `exactly one answer is the original, the other ${responses.length - 1} are replays; ` +
    `got ${originals.length} without Idempotent-Replayed: true`);
  assert.equal(first.amount_minor, 5000);
  assert.equal(await balanceOf(msisdn), 5000, 'credited exactly once');
  assert.deepEqual(await orderIdsOf(msisdn), [first.id]);
});

test('one Idempotency-Key raced with two different bodies: one wins everywhere, the other is 409', async () => {
  const msisdn = '+8613811110060';
  const idem = newIdemKey('race');
  const variants = [{ msisdn, product: 'cmcc-10' }, { msisdn, product: 'cmcc-20' }];
  const sent = Array.from({ length: 40 }, (_, i) => i % 2);
  const responses = await Promise.all(sent.map((v) => postRechargeRetryBusy(daemon, key, idem, variants[v]).then((r) => r.res)));
  const winners = new Set(sent.filter((v, i) => responses[i].status === 201));
  assert.equal(winners.size, 1, `both bodies were accepted under one key: ${responses.map(show).slice(0, 4).join(' | ')}`);
  const [winner] = winners;
  let order;
  responses.forEach((res, i) => {
    if (sent[i] === winner) {
      const o = assertJson(res, 201, `request ${i} with the winning body`);
      if (order) assert.deepEqual(o, order, 'every winner got the same body');
      order = o;
    } else {
      assertProblem(res, 409, 'idempotency_key_reused', `request ${i} with the losing body`);
    }
  });
  const amount = winner === 0 ? 1000 : 2000;
  assert.equal(order.amount_minor, amount);
  assert.equal(await balanceOf(msisdn), amount, 'credited once, with the winning body');
  assert.deepEqual(await orderIdsOf(msisdn), [order.id]);
});

test('200 concurrent distinct recharges to one number: no lost update, distinct ids, balance is the sum', async (t) => {
  const msisdn = '+8613811110200';
  const menu = [['cmcc-10', 1000], ['cmcc-20', 2000], ['cmcc-50', 5000], ['cmcc-100', 10000], ['cmcc-100-promo', 10000]];
  const jobs = Array.from({ length: 200 }, (_, i) => {
    const [product, amount] = menu[i % menu.length];
    return { idem: newIdemKey(`d${i}`), body: { msisdn, product }, amount };
  });
  let busy = 0;
  const responses = await Promise.all(jobs.map(async (j) => {
    const r = await postRechargeRetryBusy(daemon, key, j.idem, j.body);
    busy += r.busy;
    return r.res;
  }));
  const orders = responses.map((res, i) => {
    const o = assertJson(res, 201, `request ${i}`);
    assert.equal(o.amount_minor, jobs[i].amount, `amount of request ${i}`);
    assert.equal(o.msisdn, msisdn);
    return o;
  });
  const ids = orders.map((o) => o.id);
  assert.equal(new Set(ids).size, 200, 'ids are distinct');
  const sum = jobs.reduce((s, j) => s + j.amount, 0);
  assert.equal(await balanceOf(msisdn), sum, 'balance equals the sum of all 200 recharges');

  // The commits were serialised: in commit order, each balance_after is the previous plus its amount.
  const byBalance = [...orders].sort((a, b) => a.balance_after_minor - b.balance_after_minor);
  let running = 0;
  for (const o of byBalance) {
    running += o.amount_minor;
    assert.equal(o.balance_after_minor, running, `order ${o.id}: balance_after ${o.balance_after_minor}, expected ${running} (a lost or reordered update)`);
  }

  const listed = await orderIdsOf(msisdn);
  assert.equal(listed.length, 200);
  assert.deepEqual([...listed].sort(), [...ids].sort(), 'the listing holds exactly these 200 orders');
  if (busy) t.diagnostic(`503 busy answers retried: ${busy}`);
});

test('refused requests in the same commit batch do not roll back their neighbours', async () => {
  const msisdn = '+8613811110300';
  const reusedIdem = newIdemKey('reused');
  const original = assertJson(await postRecharge(daemon, key, reusedIdem, { msisdn: '+8613811110301', product: 'cmcc-10' }), 201);
  const jobs = [];
  for (let i = 0; i < 120; i++) {
    if (i % 4 === 1) jobs.push({ kind: 'closed', idem: newIdemKey('c'), body: { msisdn: CLOSED, product: 'cmcc-10' } });
    else if (i % 4 === 3) jobs.push({ kind: 'reused', idem: reusedIdem, body: { msisdn: '+8613811110301', product: 'cmcc-20' } });
    else jobs.push({ kind: 'good', idem: newIdemKey('g'), body: { msisdn, product: 'cmcc-10' } });
  }
  const responses = await Promise.all(jobs.map((j) => postRechargeRetryBusy(daemon, key, j.idem, j.body).then((r) => r.res)));
  let good = 0;
  responses.forEach((res, i) => {
    const j = jobs[i];
    if (j.kind === 'good') {
      assertJson(res, 201, `good request ${i}`);
      good += 1;
    } else if (j.kind === 'closed') {
      assertProblem(res, 422, 'subscriber_closed', `request ${i} to a closed number`);
    } else {
      assertProblem(res, 409, 'idempotency_key_reused', `request ${i} reusing a key`);
    }
  });
  assert.equal(await balanceOf(msisdn), good * 1000, 'every accepted request was credited');
  assert.equal((await orderIdsOf(msisdn)).length, good);
  assert.equal(await balanceOf(CLOSED), 0, 'the closed number was never credited');
  assert.equal(await balanceOf('+8613811110301'), 1000, 'the reused key credited only its original request');
  assert.deepEqual(await orderIdsOf('+8613811110301'), [original.id]);
});

test('a full write queue answers 503 busy with Retry-After, executes nothing, and the retry succeeds', async (t) => {
  // A second daemon on its own database with a write queue of one (topupd --queue-max).
  busyWs = await createWorkspace('busy');
  const busyKey = await createKey(busyWs.db, 'it-busy', 'recharge');
  const busyRead = await createKey(busyWs.db, 'it-busy-read', 'read');
  busyDaemon = await startDaemon(busyWs.db, { args: ['--queue-max', '1', '--batch-max', '1'] });
  const msisdn = '+8613811110400';
  const jobs = Array.from({ length: 150 }, (_, i) => ({ idem: newIdemKey(`b${i}`), body: { msisdn, product: 'cmcc-10' } }));
  const first = await Promise.all(jobs.map((j) => postRecharge(busyDaemon, busyKey, j.idem, j.body)));
  const refused = [];
  let created = 0;
  first.forEach((res, i) => {
    if (res.status === 503) {
      assertProblem(res, 503, 'busy', `request ${i}`);
      assert.match(res.header('retry-after') ?? '', /^[1-9][0-9]*$/, `503 without Retry-After seconds: ${show(res)}`);
      refused.push(jobs[i]);
    } else {
      assertJson(res, 201, `request ${i}`);
      created += 1;
    }
  });
  t.diagnostic(`${refused.length} of ${jobs.length} answered 503 busy`);
  assert.ok(refused.length > 0, 'a queue of one never overflowed under 150 concurrent writes');
  const balance = async () => assertJson(await api(busyDaemon, 'GET', `/v1/subscribers/${enc(msisdn)}`, { key: busyRead }), 200).balance_minor;
  assert.equal(await balance(), created * 1000, 'a 503 busy request must not have been executed');
  for (const j of refused) {
    const { res } = await postRechargeRetryBusy(busyDaemon, busyKey, j.idem, j.body);
    assertJson(res, 201, 'retry after busy');
    assert.notEqual(res.header('idempotent-replayed'), 'true', 'a busy request was not executed, so its retry is no replay');
  }
  assert.equal(await balance(), jobs.length * 1000);
  const exit = await busyDaemon.stop();
  assert.equal(exit.code, 0, `topupd exit ${JSON.stringify(exit)}`);
  await verifyLedger(busyWs.db);
});

test('topupd exits 0 on SIGTERM and the ledger verifies', async () => {
  const exit = await daemon.stop({ signal: 'SIGTERM', timeoutMs: 10000 });
  assert.equal(exit.timedOut, false, 'topupd did not exit within 10 s of SIGTERM');
  assert.equal(exit.code, 0, `topupd exit ${JSON.stringify(exit)}; log:\n${daemon.log().slice(-3000)}`);
  await verifyLedger(ws.db);
});
