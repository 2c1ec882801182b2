// Partner orders for operators behind the http connector (docs/partners.md "Operators behind an
// HTTP connector"), against fake operators that speak the documented protocol: every outcome the
// operator can give (succeeded, failed, pending, no answer, a late answer, the outcome twice, 5xx,
// a badly signed or unsigned answer) settles each order exactly once, only on a signed answer;
// the circuit breaker opens after failures, refuses new orders with nothing debited, probes and
// closes. Callbacks report each final state once. `topup verify` runs after every test.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, afterEach, before, test } from 'node:test';

import { api, assertJson, assertProblem, createKey, createWorkspace, freePort } from '../integration/harness.mjs';
import { startFakeOperator } from './fake-operator.mjs';
import { PartnerClient, show, startCallbackReceiver } from './partner-client.mjs';
import {
  addHttpOperator,
  addMerchant,
  beijingDate,
  callbacksOf,
  checkStatement,
  newMerchantOrderId,
  setPrice,
  sleep,
  startPartnerDaemon,
  stopDaemonClean,
  verifyLedger,
  waitFor,
} from './partner-setup.mjs';

const TIMEOUT_MS = 500; // each operator's --timeout-ms
const PERCENT = '97.00';
const PRICE_50 = 4850; // 50.00 at 97.00 %

let ws;
let daemon;
let shop;
let readKey;
let receiver;
const ops = {}; // name -> { fake, id, prefix, product, behaviours (msisdn -> spec) }
const allOrders = []; // { moid, orderId, final, callback } of every order that settled
let msisdnSeq = 0;

// Each scenario has its own operator, so that the failures of one never add up to open another's
// circuit (5 failures in a row open it).
const OPERATORS = [
  ['main', 'mvno-main', '86170'],
  ['timeout', 'mvno-slow', '86162'],
  ['late', 'mvno-late', '86165'],
  ['twice', 'mvno-twice', '86192'],
  ['bad', 'mvno-bad', '86194'],
  ['bad2', 'mvno-bad2', '86146'],
  ['breaker', 'mvno-brk', '86174'],
  ['rotated', 'mvno-rot', '86179'], // topup holds another secret than this operator
];

before(async () => {
  ws = await createWorkspace('partners-connector');
  readKey = await createKey(ws.db, 'pc-read', 'read');
  const secret = await addMerchant(ws, 'conn-shop', { float: '2000.00' });
  for (const [name, id, prefix] of OPERATORS) {
    const behaviours = new Map(); // msisdn -> spec
    const opSecret = crypto.randomBytes(32).toString('hex');
    const fakeSecret = name === 'rotated' ? crypto.randomBytes(32).toString('hex') : opSecret;
    const fake = await startFakeOperator({ secret: fakeSecret, behaviour: (req) => behaviours.get(req.msisdn) ?? { kind: 'succeed' } });
    ops[name] = { fake, id, prefix, product: `${id}-50`, behaviours };
    await addHttpOperator(ws, { id, url: fake.url, prefix, products: [[`${id}-50`, '50.00']], timeoutMs: TIMEOUT_MS, secret: opSecret });
    await setPrice(ws, 'conn-shop', { operator: id, percent: PERCENT });
  }
  receiver = await startCallbackReceiver({ 'conn-shop': secret });
  daemon = await startPartnerDaemon(ws, { 'partners.breaker_failures': 5 });
  shop = new PartnerClient(daemon, 'conn-shop', secret);
});

after(async () => {
  try {
    if (daemon) await stopDaemonClean(daemon);
  } finally {
    for (const op of Object.values(ops)) await op.fake.close();
    if (receiver) await receiver.close();
    if (ws) await ws.cleanup();
  }
});

afterEach(async () => {
  if (ws) await verifyLedger(ws.db);
  for (const [name, op] of Object.entries(ops)) {
    if (name === 'rotated') continue;
    const bad = op.fake.requests.filter((r) => !r.verified);
    assert.deepEqual(bad.map((r) => `${r.method} ${r.path}: ${r.why}`), [], `topup's requests to ${name} are signed correctly`);
  }
});

/** A fresh number of an operator. */
function numberOf(op) {
  msisdnSeq += 1;
  const digits = `${op.prefix}${String(msisdnSeq).padStart(13 - op.prefix.length, '0')}`;
  return `+${digits}`;
}

/** Places an order for op with behaviour spec; asserts the 202 (paid or submitted, debited). */
async function place(op, spec) {
  const msisdn = numberOf(op);
  if (spec) op.behaviours.set(msisdn, spec);
  const moid = newMerchantOrderId(`C-${op.id}-`);
  const start = await shop.floatMinor();
  const res = await shop.postOrder({ merchant_order_id: moid, msisdn, product: op.product, callback_url: receiver.url('/cb/conn?shop=conn-shop') });
  const o = assertJson(res, 202, `order for ${op.id}`);
  assert.ok(['paid', 'submitted'].includes(o.status), `an http operator's order is not final in the 202: ${show(res)}`);
  assert.equal(o.operator, op.id);
  assert.equal(o.msisdn, msisdn);
  assert.equal(o.amount_minor, 5000);
  assert.equal(o.price_minor, PRICE_50);
  assert.equal(typeof o.order_id, 'string', `order_id is a string: ${show(res)}`);
  assert.equal(await shop.floatMinor(), start - PRICE_50, 'the float is debited in the 202');
  return { o, moid, msisdn, start };
}

/** Polls the order until it is succeeded or refunded; returns it with every status seen. */
async function settle(moid, { timeoutMs = 12000 } = {}) {
  const seen = [];
  const order = await waitFor(
    async () => {
      const res = await shop.getOrder(moid);
      const o = assertJson(res, 200, `GET ${moid}`);
      if (seen.at(-1) !== o.status) seen.push(o.status);
      return ['succeeded', 'refunded'].includes(o.status) ? o : null;
    },
    { timeoutMs, intervalMs: 50, what: `order ${moid} to settle`, describe: () => `statuses seen: ${seen.join(' -> ')}` },
  );
  return { order, seen };
}

/** The POSTs topup sent for an order, each checked against the documented request. */
function checkSubmits(op, placed) {
  const submits = op.fake.requestsFor(placed.o.order_id).filter((r) => r.kind === 'submit');
  assert.ok(submits.length >= 1, `${op.id} received the order`);
  for (const r of submits) {
    assert.deepEqual(r.json, {
      order_id: placed.o.order_id,
      msisdn: placed.msisdn,
      amount_minor: 5000,
      currency: 'CNY',
      product: op.product,
    }, `the request body for ${placed.moid}`);
    assert.equal(r.path, '/api/recharges');
  }
  return submits;
}

/** Waits for the callback of an order and checks it: signed, the event, the order as GET gives it. */
async function checkCallback(placed, order) {
  const event = order.status === 'succeeded' ? 'order.succeeded' : 'order.refunded';
  const d = await waitFor(() => receiver.deliveries.find((x) => x.json?.order?.order_id === placed.o.order_id),
    { timeoutMs: 8000, what: `the callback of ${placed.moid}` });
  assert.ok(d.verified, `callback signature: ${d.why}`);
  assert.equal(d.method, 'POST');
  assert.equal(d.path, '/cb/conn?shop=conn-shop');
  assert.equal(d.merchant, 'conn-shop');
  assert.equal(d.json.event, event);
  for (const k of ['merchant_order_id', 'order_id', 'status', 'msisdn', 'operator', 'product', 'amount_minor', 'price_minor', 'currency']) {
    assert.deepEqual(d.json.order[k], order[k], `callback order.${k}`);
  }
  return d;
}

function remember(placed, order, callback = true) {
  allOrders.push({ moid: placed.moid, orderId: placed.o.order_id, final: order.status, callback });
}

test('succeeded: the operator says so at once; the order succeeds with one callback order.succeeded', async () => {
  const op = ops.main;
  const placed = await place(op, { kind: 'succeed' });
  const { order } = await settle(placed.moid);
  assert.equal(order.status, 'succeeded');
  assert.equal(await shop.floatMinor(), placed.start - PRICE_50, 'the price stays paid');
  assert.equal(checkSubmits(op, placed).length, 1, 'sent once');
  await checkCallback(placed, order);
  remember(placed, order);
});

test('failed: the order is refunded, the price back on the float, callback order.refunded', async () => {
  const op = ops.main;
  const placed = await place(op, { kind: 'fail', reason: 'subscriber barred' });
  const { order, seen } = await settle(placed.moid);
  assert.equal(order.status, 'refunded', `statuses: ${seen.join(' -> ')}`);
  assert.equal(await shop.floatMinor(), placed.start, 'the price went back');
  await checkCallback(placed, order);
  remember(placed, order);
  const date = beijingDate();
  const stmt = checkStatement(await shop.statements(date), date);
  const lines = stmt.movements.filter((m) => m.merchant_order_id === placed.moid);
  assert.deepEqual(lines.map((m) => [m.kind, Number(m.amount_minor), m.status]), [['recharge', -PRICE_50, 'refunded'], ['refund', PRICE_50, 'refunded']],
    'the statement shows the debit and the refund');
});

test('pending: asked again until the operator settles it; never refunded on the way', async () => {
  const op = ops.main;
  const placed = await place(op, { kind: 'pending', final: 'succeeded', pendingQueries: 2 });
  const { order, seen } = await settle(placed.moid);
  assert.equal(order.status, 'succeeded', `statuses: ${seen.join(' -> ')}`);
  const statusQueries = op.fake.requestsFor(placed.o.order_id).filter((r) => r.kind === 'status');
  assert.ok(statusQueries.length >= 3, `two pending answers, then succeeded: ${statusQueries.length} queries`);
  for (const q of statusQueries) assert.equal(q.path, `/api/recharges/${placed.o.order_id}`);
  assert.equal(await shop.floatMinor(), placed.start - PRICE_50);
  await checkCallback(placed, order);
  remember(placed, order);
});

test('no answer within the timeout: unknown, then settled by the status worker (succeeded, and failed)', async () => {
  const op = ops.timeout;
  for (const final of ['succeeded', 'failed']) {
    const placed = await place(op, { kind: 'timeout', final, holdMs: 4000 });
    const { order, seen } = await settle(placed.moid);
    assert.ok(seen.includes('unknown'), `the order was unknown before the query: ${seen.join(' -> ')}`);
    assert.equal(order.status, final === 'succeeded' ? 'succeeded' : 'refunded', `statuses: ${seen.join(' -> ')}`);
    const queries = op.fake.requestsFor(placed.o.order_id).filter((r) => r.kind === 'status');
    const submits = op.fake.requestsFor(placed.o.order_id).filter((r) => r.kind === 'submit');
    assert.ok(queries.length >= 1 || submits.length >= 2, 'settled by asking the operator');
    assert.equal(await shop.floatMinor(), final === 'succeeded' ? placed.start - PRICE_50 : placed.start);
    await checkCallback(placed, order);
    remember(placed, order);
  }
});

test('a late answer (after the timeout) is not trusted alone; the status query settles the order once', async () => {
  const op = ops.late;
  const placed = await place(op, { kind: 'late', final: 'failed', delayMs: TIMEOUT_MS + 300, pendingQueries: 1 });
  // The first status query hears "pending": the order must still be open then, whatever came late.
  await waitFor(() => op.fake.requestsFor(placed.o.order_id).find((r) => r.kind === 'status' && r.answered),
    { timeoutMs: 8000, what: 'the first status query' });
  const mid = assertJson(await shop.getOrder(placed.moid), 200);
  assert.ok(!['succeeded', 'refunded'].includes(mid.status) || op.fake.requestsFor(placed.o.order_id).filter((r) => r.kind === 'status').length > 1,
    `settled before the operator said so: ${mid.status}`);
  const { order, seen } = await settle(placed.moid);
  assert.equal(order.status, 'refunded', `statuses: ${seen.join(' -> ')}`);
  assert.equal(await shop.floatMinor(), placed.start, 'refunded exactly once');
  await checkCallback(placed, order);
  remember(placed, order);
});

test('the outcome heard twice (answer around the timeout and on status queries) settles each order once', async () => {
  const op = ops.twice;
  const start = await shop.floatMinor();
  const delays = [TIMEOUT_MS - 40, TIMEOUT_MS, TIMEOUT_MS + 40];
  const placedAll = [];
  for (const delayMs of delays) placedAll.push(await place(op, { kind: 'twice', final: 'succeeded', delayMs }));
  for (const placed of placedAll) {
    const { order, seen } = await settle(placed.moid);
    assert.equal(order.status, 'succeeded', `statuses: ${seen.join(' -> ')}`);
    await checkCallback(placed, order);
    remember(placed, order);
  }
  // One more failure-then-success pair: the same outcome twice must not refund twice either.
  const failed = await place(op, { kind: 'twice', final: 'failed', delayMs: TIMEOUT_MS });
  const { order } = await settle(failed.moid);
  assert.equal(order.status, 'refunded');
  await checkCallback(failed, order);
  remember(failed, order);
  await sleep(1500); // further status answers or re-sends must change nothing
  assert.equal(await shop.floatMinor(), start - delays.length * PRICE_50, 'three debits, the fourth given back once');
});

test('5xx: unknown, then settled by the query; a signed 404 (never taken) fails and refunds', async () => {
  const op = ops.bad;
  const taken = await place(op, { kind: 'error500', final: 'succeeded' });
  const r1 = await settle(taken.moid);
  assert.ok(r1.seen.includes('unknown'), `unknown after the 500: ${r1.seen.join(' -> ')}`);
  assert.equal(r1.order.status, 'succeeded');
  await checkCallback(taken, r1.order);
  remember(taken, r1.order);
  const notTaken = await place(op, { kind: 'error500', final: 'notfound' });
  const r2 = await settle(notTaken.moid);
  assert.equal(r2.order.status, 'refunded', `statuses: ${r2.seen.join(' -> ')}`);
  assert.equal(await shop.floatMinor(), notTaken.start, 'the price came back');
  await checkCallback(notTaken, r2.order);
  remember(notTaken, r2.order);
});

test('an answer with a wrong signature, or none, is not trusted: unknown, then settled by a signed query', async () => {
  const op = ops.bad2;
  for (const kind of ['badsig', 'unsigned']) {
    // The untrusted answer says "failed"; the operator really recharged the number.
    const placed = await place(op, { kind, final: 'succeeded', claim: 'failed' });
    const { order, seen } = await settle(placed.moid);
    assert.ok(!seen.includes('refunded'), `${kind}: refunded on an untrusted answer: ${seen.join(' -> ')}`);
    assert.ok(seen.includes('unknown'), `${kind}: unknown after the untrusted answer: ${seen.join(' -> ')}`);
    assert.equal(order.status, 'succeeded');
    assert.equal(await shop.floatMinor(), placed.start - PRICE_50);
    await checkCallback(placed, order);
    remember(placed, order);
  }
});

test('an operator that refuses topup\'s signature (401, unsigned): the order stays unknown, never refunded by guess', async () => {
  const op = ops.rotated;
  const placed = await place(op, { kind: 'succeed' });
  await waitFor(() => op.fake.requests.length >= 2, { timeoutMs: 8000, what: 'the request and a second try or status query' });
  const o = assertJson(await shop.getOrder(placed.moid), 200);
  assert.equal(o.status, 'unknown', 'sent, and no signed answer: unknown');
  assert.ok(op.fake.requests.every((r) => !r.verified && r.answered?.status === 401), 'the operator refused every request');
  assert.equal(await shop.floatMinor(), placed.start - PRICE_50, 'still debited: topup does not know the outcome');
  assert.equal(receiver.deliveries.filter((d) => d.json?.order?.order_id === placed.o.order_id).length, 0, 'no callback before a final state');
});

/** Whether the partner API and the API-key API both say op is available. */
async function availability(op) {
  const partner = assertJson(await shop.operators(), 200, 'partner operators');
  const items = Array.isArray(partner) ? partner : partner.items;
  const viaPartner = items.find((x) => x.id === op.id);
  assert.ok(viaPartner, `${op.id} in GET /v1/partner/operators`);
  assert.equal(viaPartner.connector, 'http');
  const viaKey = assertJson(await api(daemon, 'GET', '/v1/operators', { key: readKey }), 200).items.find((x) => x.id === op.id);
  assert.equal(viaKey.connector, 'http');
  assert.equal(viaKey.available, viaPartner.available, 'both APIs agree');
  return viaPartner.available;
}

test('circuit breaker: operator down -> 503 operator_unavailable with nothing debited; probes; back up -> orders flow', async (t) => {
  const op = ops.breaker;
  assert.equal(await availability(op), true);
  const first = await place(op, { kind: 'succeed' });
  assert.equal((await settle(first.moid)).order.status, 'succeeded');
  remember(first, { status: 'succeeded' });

  // Down: orders are taken (and debited) until failures to connect open the circuit.
  await op.fake.down();
  const queued = [];
  let opened = false;
  for (let i = 0; i < 20 && !opened; i++) {
    const moid = newMerchantOrderId('BRK');
    const res = await shop.postOrder({ merchant_order_id: moid, msisdn: numberOf(op), product: op.product, callback_url: receiver.url('/cb/conn?shop=conn-shop') });
    if (res.status === 503) {
      assertProblem(res, 503, 'operator_unavailable');
      opened = true;
      break;
    }
    const o = assertJson(res, 202, `order ${i} while the operator is down`);
    queued.push({ o, moid });
    await sleep(400);
    opened = !(await availability(op));
  }
  assert.ok(opened, 'the circuit opened after failures to connect');
  t.diagnostic(`orders taken while down before the circuit opened: ${queued.length}`);
  assert.equal(await availability(op), false, 'available false while open');
  const floatOpen = await shop.floatMinor();
  const refusedMoid = newMerchantOrderId('BRK-OPEN');
  const refusedBody = { merchant_order_id: refusedMoid, msisdn: numberOf(op), product: op.product };
  assertProblem(await shop.postOrder(refusedBody), 503, 'operator_unavailable');
  assert.equal(await shop.floatMinor(), floatOpen, 'nothing debited for a 503');
  assertProblem(await shop.getOrder(refusedMoid), 404, undefined, 'no order for a 503');
  // Other operators are not affected.
  const other = await place(ops.main, { kind: 'succeed' });
  remember(other, (await settle(other.moid)).order);

  // Up, but failing every request: only single probes, one per cool-down (2 s), reach it.
  op.fake.setMode('error500');
  const upAt = Date.now();
  await op.fake.up();
  await sleep(4500);
  const probes = op.fake.requests.filter((r) => r.at >= upAt);
  t.diagnostic(`probes while failing: ${probes.map((p) => `${p.at - upAt} ms ${p.method} ${p.path}`).join(', ')}`);
  assert.ok(probes.length >= 1, 'a probe went through after the cool-down');
  for (let i = 1; i < probes.length; i++) {
    assert.ok(probes[i].at - probes[i - 1].at >= 1500,
      `one request per probe, a cool-down apart: ${probes.map((p) => `${p.at - upAt}ms ${p.method} ${p.path}`).join(', ')}`);
  }
  assert.equal(await availability(op), false, 'still open after failed probes');
  assertProblem(await shop.postOrder(refusedBody), 503, 'operator_unavailable', 'still refused');

  // Healthy again: the next probe closes the circuit and orders flow.
  op.fake.setMode('ok');
  await waitFor(() => availability(op), { timeoutMs: 8000, intervalMs: 200, what: 'the circuit to close' });
  const res = await shop.postOrder(refusedBody);
  assertJson(res, 202, 'the id refused with 503 is taken now');
  const { order } = await settle(refusedMoid);
  assert.equal(order.status, 'succeeded');
  remember({ moid: refusedMoid, o: res.json }, order, false);
  for (const q of queued) {
    const r = await settle(q.moid, { timeoutMs: 15000 });
    assert.equal(r.order.status, 'succeeded', `order ${q.moid} taken while down: ${r.seen.join(' -> ')}`);
    remember(q, r.order);
  }
});

test('one callback per final state for every order, each delivered and signed', async () => {
  await sleep(2000); // time for any extra (wrong) deliveries
  for (const { moid, orderId, final, callback } of allOrders) {
    const got = receiver.deliveries.filter((d) => d.json?.order?.order_id === orderId);
    const cbs = await callbacksOf(ws, orderId);
    if (!callback) {
      assert.equal(got.length + cbs.length, 0, `${moid} had no callback_url: no callback`);
      continue;
    }
    const event = final === 'succeeded' ? 'order.succeeded' : 'order.refunded';
    assert.deepEqual([...new Set(got.map((d) => d.json.event))], [event], `${moid}: the one event of its final state`);
    assert.equal(got.filter((d) => d.answered === 200).length, 1, `${moid}: delivered once`);
    for (const d of got) assert.ok(d.verified, `${moid}: ${d.why}`);
    assert.equal(cbs.length, 1, `${moid}: one callback in the outbox, got ${JSON.stringify(cbs)}`);
    assert.equal(cbs[0].status, 'delivered', `${moid}: ${JSON.stringify(cbs[0])}`);
  }
});

test('an order that could never be sent is failed and refunded after send_give_up_s', async () => {
  // A daemon of its own, so that giving up after 2 s cannot cut the breaker test's outage short.
  const ws2 = await createWorkspace('partners-giveup');
  let daemon2;
  let receiver2;
  try {
    const secret = await addMerchant(ws2, 'gu-shop', { float: '100.00' });
    const closedPort = await freePort(); // nothing listens there: every connection is refused
    await addHttpOperator(ws2, { id: 'mvno-gone', url: `http://127.0.0.1:${closedPort}/api`, prefix: '86170', products: [['gone-50', '50.00']] });
    receiver2 = await startCallbackReceiver({ 'gu-shop': secret });
    daemon2 = await startPartnerDaemon(ws2, { 'partners.send_give_up_s': 2 });
    const client = new PartnerClient(daemon2, 'gu-shop', secret);
    const moid = newMerchantOrderId('GONE');
    const res = await client.postOrder({ merchant_order_id: moid, msisdn: '17000000001', product: 'gone-50', callback_url: receiver2.url('/gone') });
    const o = assertJson(res, 202);
    assert.equal(o.status, 'paid', 'debited, not yet sent');
    assert.equal(await client.floatMinor(), 10000 - 5000);
    const seen = [];
    const final = await waitFor(async () => {
      const g = assertJson(await client.getOrder(moid), 200);
      if (seen.at(-1) !== g.status) seen.push(g.status);
      return ['succeeded', 'refunded'].includes(g.status) ? g : null;
    }, { timeoutMs: 10000, intervalMs: 100, what: 'the order to be given up', describe: () => seen.join(' -> ') });
    assert.equal(final.status, 'refunded', `statuses: ${seen.join(' -> ')}`);
    assert.equal(await client.floatMinor(), 10000, 'the price came back');
    const d = await waitFor(() => receiver2.deliveries[0], { timeoutMs: 8000, what: 'the refund callback' });
    assert.ok(d.verified, d.why);
    assert.equal(d.json.event, 'order.refunded');
    assert.equal(d.json.order.status, 'refunded');
    await verifyLedger(ws2.db);
  } finally {
    try {
      if (daemon2) await stopDaemonClean(daemon2);
    } finally {
      if (receiver2) await receiver2.close();
      await ws2.cleanup();
    }
  }
});
