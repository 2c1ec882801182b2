// Crash safety: "a 2xx means the state is on disk". Rounds of concurrent recharges are cut short by
// SIGKILL; afterwards every acknowledged order must exist exactly once, every balance must equal
// the sum of the orders that exist, requests whose answer was lost must, when retried with the same
// Idempotency-Key, either replay the committed order or create exactly one, and the ledger must
// verify.
//
// TOPUP_CRASH_SEED=<n> replays a schedule; TOPUP_CRASH_ROUNDS=<n> changes the number of rounds.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  api,
  assertJson,
  createKey,
  createWorkspace,
  enc,
  pool,
  postRecharge,
  prng,
  show,
  sleep,
  startDaemon,
  verifyLedger,
  walkPages,
} from './harness.mjs';

const ROUNDS = Number(process.env.TOPUP_CRASH_ROUNDS || 20);
const IN_FLIGHT = 16;
const SEED = Number(process.env.TOPUP_CRASH_SEED || Math.floor(Math.random() * 2 ** 31));
const BUDGET_MS = 60000; // the rounds stop early (with at least 5 done) if they take longer

const NUMBERS = [
  { msisdn: '+8613822220001', menu: [['cmcc-10', 1000], ['cmcc-20', 2000], ['cmcc-100-promo', 10000]] },
  { msisdn: '+8613822220002', menu: [['cmcc-50', 5000], [{ amount_minor: 3000, currency: 'CNY' }, 3000]] },
  { msisdn: '+8618622220003', menu: [['cucc-10', 1000], ['cucc-30', 3000]] },
  { msisdn: '+8618922220004', menu: [['ctcc-20', 2000], ['ctcc-50', 5000]] },
];

let ws;
let key;
let readKey;
let daemon;

before(async () => {
  ws = await createWorkspace('crash');
  key = await createKey(ws.db, 'it-crash', 'recharge');
  readKey = await createKey(ws.db, 'it-crash-read', 'read');
});

after(async () => {
  if (daemon) await daemon.stop({ signal: 'SIGKILL' });
  if (ws) await ws.cleanup();
});

test(`SIGKILL during concurrent recharges loses no acknowledged order and duplicates none (seed ${SEED})`, { timeout: 120000 }, async (t) => {
  const rnd = prng(SEED);
  t.diagnostic(`seed ${SEED} (TOPUP_CRASH_SEED=${SEED} replays the schedule)`);
  let serial = 0;

  /** @type {Map<string, {idem, body, msisdn, amount}>} every request ever sent, by Idempotency-Key */
  const jobs = new Map();
  /** Idempotency-Key -> order answered with 201 (the first 201 seen for that key) */
  const acked = new Map();
  /** keys whose outcome is unknown: connection cut, or 503; retried later with the same body */
  const unresolved = new Set();
  /** keys that ever went unresolved (for the retry statistics) */
  const everUnresolved = new Set();
  const unexpected = []; // answers that are neither 201 nor 503 busy
  let retryReplayed = 0; // a cut request that had committed: the retry replayed it
  let retryCreated = 0; // a cut request that had not committed: the retry created it
  let cutCount = 0;
  let busyCount = 0;

  function newJob() {
    const target = rnd.pick(NUMBERS);
    const [what, amount] = rnd.pick(target.menu);
    serial += 1;
    const idem = `crash-${SEED}-${serial}`;
    const body = typeof what === 'string' ? { msisdn: target.msisdn, product: what } : { msisdn: target.msisdn, ...what };
    const job = { idem, body: JSON.stringify(body), msisdn: target.msisdn, amount };
    jobs.set(idem, job);
    return job;
  }

  /** Sends a job once; classifies the outcome. */
  async function send(d, job) {
    let res;
    try {
      res = await postRecharge(d, key, job.idem, job.body, { timeoutMs: 15000 });
    } catch {
      cutCount += 1;
      unresolved.add(job.idem);
      everUnresolved.add(job.idem);
      return;
    }
    if (res.status === 201 && res.body && typeof res.body.id === 'string') {
      const previous = acked.get(job.idem);
      if (previous) {
        assert.equal(res.body.id, previous.id, `key ${job.idem} answered with two different orders: ${previous.id} and ${show(res)}`);
      } else {
        acked.set(job.idem, res.body);
        if (everUnresolved.has(job.idem)) {
          if (res.header('idempotent-replayed') === 'true') retryReplayed += 1;
          else retryCreated += 1;
        }
      }
      assert.equal(res.body.msisdn, job.msisdn, `order for the wrong number: ${show(res)}`);
      assert.equal(res.body.amount_minor, job.amount, `wrong amount: ${show(res)}`);
      unresolved.delete(job.idem);
      return;
    }
    if (res.status === 503) {
      busyCount += 1;
      unresolved.add(job.idem);
      everUnresolved.add(job.idem);
      return;
    }
    unexpected.push(`${job.idem} ${job.body}: ${show(res)}`);
    unresolved.delete(job.idem);
  }

  const started = Date.now();
  let rounds = 0;
  for (let round = 0; round < ROUNDS; round++) {
    if (round >= 5 && Date.now() - started > BUDGET_MS) {
      t.diagnostic(`time budget reached after ${round} rounds`);
      break;
    }
    daemon = await startDaemon(ws.db);
    const d = daemon;
    let stopping = false;
    // Requests whose answer was lost in an earlier round go first, mixed into the new traffic.
    const retries = [...unresolved];
    async function worker() {
      while (!stopping) {
        const idem = retries.shift();
        const job = idem ? jobs.get(idem) : newJob();
        await send(d, job);
      }
    }
    const workers = Array.from({ length: IN_FLIGHT }, worker);
    await sleep(rnd.int(100, 600));
    stopping = true;
    const exit = await d.stop({ signal: 'SIGKILL' });
    assert.equal(exit.signal, 'SIGKILL', `topupd exited on its own before the kill: ${JSON.stringify(exit)}\n${d.log().slice(-3000)}`);
    await Promise.all(workers);
    daemon = null;
    // The database must be consistent after every crash, not just at the end.
    await verifyLedger(ws.db);
    rounds += 1;
  }
  t.diagnostic(`${rounds} rounds, ${jobs.size} requests, ${acked.size} acknowledged, ${cutCount} cut by the kill, ${busyCount} busy`);
  assert.ok(rounds >= 5, 'too few rounds ran');
  assert.ok(acked.size > 0, 'no request was ever acknowledged: the test exercised nothing');
  assert.ok(everUnresolved.size > 0, 'no request was ever cut by a kill: the test exercised no crash');

  // Calm phase: the daemon runs without kills; every unresolved request is retried until answered.
  daemon = await startDaemon(ws.db);
  for (let attempt = 0; attempt < 10 && unresolved.size > 0; attempt++) {
    await pool([...unresolved], 8, (idem) => send(daemon, jobs.get(idem)));
    if (unresolved.size) await sleep(200);
  }
  assert.deepEqual(unexpected, [], 'answers other than 201 or 503 busy');
  assert.equal(unresolved.size, 0, `requests still without an answer after retries: ${[...unresolved].slice(0, 5).join(', ')}`);
  assert.equal(acked.size, jobs.size, 'every request has an order');

  // Every key maps to its own order.
  const keyOfOrder = new Map();
  for (const [idem, order] of acked) {
    assert.ok(!keyOfOrder.has(order.id), `order ${order.id} answered for two keys: ${keyOfOrder.get(order.id)} and ${idem}`);
    keyOfOrder.set(order.id, idem);
  }

  // Every acknowledged order exists, once, as acknowledged.
  await pool([...acked], 16, async ([idem, order]) => {
    const res = await api(daemon, 'GET', `/v1/recharges/${order.id}`, { key: readKey });
    const stored = assertJson(res, 200, `GET /v1/recharges/${order.id} (key ${idem})`);
    assert.equal(stored.id, order.id);
    assert.equal(stored.status, 'succeeded', `order ${order.id}`);
    assert.equal(stored.msisdn, order.msisdn);
    assert.equal(stored.amount_minor, order.amount_minor);
    assert.equal(stored.price_minor, order.price_minor);
    assert.deepEqual((stored.events ?? []).map((e) => `${e.from}->${e.to}`), ['none->paid', 'paid->submitted', 'submitted->succeeded'],
      `order ${order.id} lacks part of its event trail`);
  });

  t.diagnostic(`${everUnresolved.size} requests had their answer cut; on retry ${retryReplayed} replayed a ` +
    `committed order and ${retryCreated} created one`);

  // Replaying every request returns its order: the idempotency record survived every crash too.
  await pool([...acked], 16, async ([idem, order]) => {
    const job = jobs.get(idem);
    const res = await postRecharge(daemon, key, idem, job.body);
    assertJson(res, 201, `replay of ${idem}`);
    assert.equal(res.header('idempotent-replayed'), 'true', `replay of ${idem} was not marked replayed: ${show(res)}`);
    assert.equal(res.body.id, order.id, `replay of ${idem} answered another order: ${show(res)}`);
  });

  // Per number: the listing holds exactly the acknowledged orders, once each, and the balance is
  // their sum (an order committed without its idempotency record would show up as an extra).
  for (const { msisdn } of NUMBERS) {
    const mine = [...acked.values()].filter((o) => o.msisdn === msisdn);
    const { items } = await walkPages(daemon, readKey, `/v1/recharges?msisdn=${enc(msisdn)}`, { limit: 200 });
    const listedIds = items.map((o) => o.id);
    assert.equal(new Set(listedIds).size, listedIds.length, `${msisdn}: the listing repeats orders`);
    const extra = listedIds.filter((id) => !keyOfOrder.has(id));
    assert.deepEqual(extra, [], `${msisdn}: orders no request was answered with (duplicates of a retried request?)`);
    assert.deepEqual([...listedIds].sort(), mine.map((o) => o.id).sort(), `${msisdn}: listed orders differ from acknowledged ones`);
    const listedSum = items.reduce((s, o) => s + o.amount_minor, 0);
    const ackedSum = mine.reduce((s, o) => s + o.amount_minor, 0);
    assert.equal(listedSum, ackedSum);
    if (mine.length === 0) continue;
    const sub = assertJson(await api(daemon, 'GET', `/v1/subscribers/${enc(msisdn)}`, { key: readKey }), 200, msisdn);
    assert.equal(sub.balance_minor, ackedSum, `${msisdn}: balance ${sub.balance_minor} != sum of its orders ${ackedSum}`);
    // The statement credits each order exactly its amount, and nothing else.
    const statement = await walkPages(daemon, readKey, `/v1/subscribers/${enc(msisdn)}/transactions`, { limit: 200 });
    const credited = new Map();
    for (const tx of statement.items) {
      assert.equal(tx.direction, 'credit', `${msisdn}: unexpected debit ${JSON.stringify(tx)}`);
      credited.set(tx.order_id, (credited.get(tx.order_id) ?? 0) + tx.amount_minor);
    }
    assert.deepEqual([...credited.keys()].sort(), mine.map((o) => o.id).sort(), `${msisdn}: statement orders differ from acknowledged ones`);
    for (const o of mine) assert.equal(credited.get(o.id), o.amount_minor, `${msisdn}: credits of order ${o.id}`);
  }

  const exit = await daemon.stop({ signal: 'SIGTERM' });
  assert.equal(exit.timedOut, false, 'topupd did not exit within 10 s of SIGTERM');
  assert.equal(exit.code, 0, `topupd exit ${JSON.stringify(exit)}`);
  daemon = null;
  await verifyLedger(ws.db);
});
