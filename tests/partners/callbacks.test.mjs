// Partner callbacks (docs/partners.md "Callbacks"): written with the final state, delivered to a
// merchant endpoint that is down for a while or answers 500 first, exactly as recorded (the same
// bytes `topup callbacks show` reports), signed with the merchant's secret over the URL's own
// path and query, every attempt visible in `topup callbacks list/show`, one callback per final
// state. The daemon retries after 1, 1, 2, 2, ... s. `topup verify` runs after every test.
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';

import { assertJson, createWorkspace, topup } from '../integration/harness.mjs';
import { PartnerClient, startCallbackReceiver } from './partner-client.mjs';
import {
  addMerchant,
  callbackBodyText,
  callbackShow,
  callbacksList,
  callbacksOf,
  newMerchantOrderId,
  sleep,
  startPartnerDaemon,
  stopDaemonClean,
  verifyLedger,
  waitFor,
} from './partner-setup.mjs';

let ws;
let daemon;
let shop;
let receiver;
const HOOK = '/hooks/topup?shop=cb-shop&v=2';

before(async () => {
  ws = await createWorkspace('partners-callbacks');
  const secret = await addMerchant(ws, 'cb-shop', { float: '500.00', prices: [{ operator: 'cmcc', percent: '99.00' }] });
  receiver = await startCallbackReceiver({ 'cb-shop': secret });
  daemon = await startPartnerDaemon(ws);
  shop = new PartnerClient(daemon, 'cb-shop', secret);
});

after(async () => {
  try {
    if (daemon) await stopDaemonClean(daemon);
  } finally {
    if (receiver) await receiver.close();
    if (ws) await ws.cleanup();
  }
});

afterEach(async () => {
  if (ws) await verifyLedger(ws.db);
});

async function order(fields = {}) {
  const body = { merchant_order_id: newMerchantOrderId('CB'), msisdn: '13800138200', product: 'cmcc-20', callback_url: receiver.url(HOOK), ...fields };
  const res = await shop.postOrder(body);
  const o = assertJson(res, 202, 'order');
  assert.equal(o.status, 'succeeded');
  return { o, body };
}

const deliveriesOf = (o) => receiver.deliveries.filter((d) => d.json?.order?.order_id === o.order_id);

/** The one callback of an order in the outbox, with its attempts. */
async function outboxOf(o) {
  const list = await callbacksOf(ws, o.order_id);
  assert.equal(list.length, 1, `one callback for order ${o.order_id}: ${JSON.stringify(list)}`);
  return callbackShow(ws, list[0].id);
}

/** A delivery must be the recorded body byte for byte, signed, for the order as it is now. */
async function checkDelivered(o, d, shown) {
  assert.ok(d.verified, `signature of the callback: ${d.why}`);
  assert.equal(d.method, 'POST');
  assert.equal(d.path, HOOK, 'sent to the URL\'s own path and query');
  assert.equal(d.merchant, 'cb-shop');
  assert.match(d.headers['content-type'] ?? '', /^application\/json/i);
  assert.equal(d.text, await callbackBodyText(ws, shown.id), 'the bytes recorded in the outbox');
  assert.deepEqual(d.json, shown.body, 'callbacks show --json reports the same body');
  assert.equal(d.json.event, 'order.succeeded');
  const now = assertJson(await shop.getOrder(o.merchant_order_id), 200);
  assert.deepEqual(d.json.order, now, 'the body holds the order as the API gives it');
}

test('a receiver that is down: attempts recorded as failed, then delivered exactly as recorded once it is up', async () => {
  await receiver.down();
  const a = await order();
  const b = await order({ msisdn: '13900139200', product: 'cmcc-30' });
  for (const { o } of [a, b]) {
    const shown = await outboxOf(o);
    assert.equal(shown.merchant, 'cb-shop');
    assert.equal(shown.url, receiver.url(HOOK));
    assert.deepEqual(shown.body, { event: 'order.succeeded', order: o }, 'the body fixed at the final state: the order as the 202 gave it');
  }
  // With 1 s, 1 s between attempts, three have failed after ~2.5 s.
  await waitFor(async () => {
    for (const { o } of [a, b]) if ((await outboxOf(o)).attempt_history.length < 2) return false;
    return true;
  }, { timeoutMs: 8000, intervalMs: 250, what: 'two failed attempts of each callback' });
  for (const { o } of [a, b]) {
    // The count and the history are read one after the other; an attempt may land in between.
    const shown = await waitFor(async () => {
      const x = await outboxOf(o);
      return x.attempts === x.attempt_history.length ? x : null;
    }, { timeoutMs: 3000, intervalMs: 50, what: 'attempts counted as recorded' });
    assert.equal(shown.status, 'queued', 'still queued while the receiver is down');
    assert.ok(shown.attempts >= 2, `attempts counted: ${JSON.stringify(shown)}`);
    for (const at of shown.attempt_history) {
      assert.equal(at.http_status, null, `no answer from a closed port: ${JSON.stringify(at)}`);
      assert.ok(at.error.length > 0, `the error is recorded: ${JSON.stringify(at)}`);
    }
    assert.ok(shown.last_error.length > 0);
    assert.notEqual(shown.next_attempt_at, null, 'a next attempt is planned');
  }
  const listed = await callbacksList(ws, ['--merchant', 'cb-shop', '--status', 'queued']);
  assert.ok(listed.length >= 2, 'list --status queued shows them');
  assert.equal(deliveriesOf(a.o).length + deliveriesOf(b.o).length, 0, 'nothing arrived while down');

  await receiver.up();
  for (const { o } of [a, b]) {
    const d = await waitFor(() => deliveriesOf(o)[0], { timeoutMs: 8000, what: `the callback of ${o.merchant_order_id}` });
    const shown = await waitFor(async () => {
      const s = await outboxOf(o);
      return s.status === 'delivered' ? s : null;
    }, { timeoutMs: 5000, what: 'status delivered' });
    await checkDelivered(o, d, shown);
    const last = shown.attempt_history.at(-1);
    assert.equal(last.http_status, 200);
    assert.ok(shown.attempt_history.slice(0, -1).every((x) => x.http_status === null), 'the earlier attempts failed');
    assert.equal(shown.next_attempt_at, null, 'nothing more is due');
  }
  await sleep(2500);
  assert.equal(deliveriesOf(a.o).length, 1, 'a delivered callback is not sent again');
  assert.equal(deliveriesOf(b.o).length, 1);
});

test('a receiver answering 500 twice, then 200: three attempts with the same bytes, fresh nonces, then delivered', async () => {
  receiver.setMode('500', 2);
  const { o } = await order({ msisdn: '13800138201' });
  const shown = await waitFor(async () => {
    const s = await outboxOf(o);
    return s.status === 'delivered' ? s : null;
  }, { timeoutMs: 10000, intervalMs: 200, what: 'delivery after two 500s' });
  const got = deliveriesOf(o);
  assert.deepEqual(got.map((d) => d.answered), [500, 500, 200]);
  assert.deepEqual(shown.attempt_history.map((x) => x.http_status), [500, 500, 200], 'every attempt recorded with its status');
  assert.equal(shown.attempts, 3);
  for (const d of got) await checkDelivered(o, d, shown);
  assert.equal(new Set(got.map((d) => d.text)).size, 1, 'every attempt sends the same body');
  assert.equal(new Set(got.map((d) => d.headers['x-topup-nonce'])).size, 3, 'each attempt is signed with a fresh nonce');
  await sleep(2500);
  assert.equal(deliveriesOf(o).length, 3, 'nothing after the 200');
});

test('an answer slower than callback_timeout_ms is a failed attempt: sent again, the same bytes, delivered by the next 200', async () => {
  receiver.setMode('slow', 1, 3000); // the daemon waits 2000 ms (partners.callback_timeout_ms)
  const { o } = await order({ msisdn: '13800138204' });
  const shown = await waitFor(async () => {
    const s = await outboxOf(o);
    return s.status === 'delivered' ? s : null;
  }, { timeoutMs: 10000, intervalMs: 200, what: 'delivery after a slow answer' });
  const got = deliveriesOf(o);
  assert.equal(got.length, 2, 'the merchant receives it twice (its first answer came too late)');
  assert.equal(got[0].text, got[1].text, 'the same bytes both times');
  assert.equal(shown.attempt_history.length, 2);
  assert.equal(shown.attempt_history[0].http_status, null, `the slow attempt counts as failed: ${JSON.stringify(shown.attempt_history[0])}`);
  assert.ok(shown.attempt_history[0].error.length > 0);
  assert.equal(shown.attempt_history[1].http_status, 200);
  for (const d of got) await checkDelivered(o, d, shown);
});

test('one callback per final state: none without a callback_url, none more for a replay', async () => {
  const { o, body } = await order({ msisdn: '13800138202' });
  const replay = await shop.postOrder(body);
  assertJson(replay, 200, 'replay');
  assert.equal(replay.header('idempotent-replayed'), 'true');
  const quiet = await shop.postOrder({ merchant_order_id: newMerchantOrderId('NOCB'), msisdn: '13800138203', product: 'cmcc-10' });
  const q = assertJson(quiet, 202, 'an order without callback_url');
  await waitFor(() => deliveriesOf(o)[0], { timeoutMs: 8000, what: 'the callback' });
  await sleep(2500);
  assert.equal(deliveriesOf(o).length, 1, 'one delivery');
  assert.equal((await callbacksOf(ws, o.order_id)).length, 1, 'one callback in the outbox after a replay');
  assert.equal((await callbacksOf(ws, q.order_id)).length, 0, 'no callback without a URL');
  assert.equal(deliveriesOf(q).length, 0);
  for (const d of receiver.deliveries) assert.ok(d.verified, `every delivery is signed: ${d.why}`);
});

test('a callback not delivered within callback_give_up_s is dead, never sent again by itself; topup callbacks retry sends it', async () => {
  // A daemon of its own: giving up after 3 s would cut the other tests' outages short.
  const ws2 = await createWorkspace('partners-callbacks-dead');
  let daemon2;
  let receiver2;
  try {
    const secret = await addMerchant(ws2, 'dead-shop', { float: '100.00' });
    receiver2 = await startCallbackReceiver({ 'dead-shop': secret });
    await receiver2.down();
    daemon2 = await startPartnerDaemon(ws2, { 'partners.callback_give_up_s': 3 });
    const client = new PartnerClient(daemon2, 'dead-shop', secret);
    const o = assertJson(await client.postOrder({ merchant_order_id: newMerchantOrderId('DEAD'), msisdn: '13800138300', product: 'cmcc-10',
      callback_url: receiver2.url('/dead?x=1') }), 202);
    const [listed] = await waitFor(async () => {
      const l = (await callbacksList(ws2)).filter((c) => String(c.order_id) === String(o.order_id));
      return l.length === 1 && l[0].status === 'dead' ? l : null;
    }, { timeoutMs: 10000, intervalMs: 250, what: 'the callback to be dead' });
    const shown = await callbackShow(ws2, listed.id);
    assert.ok(shown.attempt_history.length >= 2, `attempts before giving up: ${JSON.stringify(shown.attempt_history)}`);
    assert.ok(shown.attempt_history.every((x) => x.http_status === null && x.error.length > 0));
    assert.equal(shown.next_attempt_at, null, 'a dead callback is not due');
    assert.deepEqual(await callbacksList(ws2, ['--status', 'dead']).then((l) => l.map((c) => c.id)), [listed.id], 'list --status dead');
    await receiver2.up();
    await sleep(2500);
    assert.equal(receiver2.deliveries.length, 0, 'dead: not sent again by itself');
    await topup(['callbacks', 'retry', '--db', ws2.db, '--id', String(listed.id)]);
    const d = await waitFor(() => receiver2.deliveries[0], { timeoutMs: 8000, what: 'the retried callback' });
    assert.ok(d.verified, d.why);
    assert.equal(d.text, await callbackBodyText(ws2, listed.id), 'the recorded bytes');
    const after = await waitFor(async () => {
      const x = await callbackShow(ws2, listed.id);
      return x.status === 'delivered' ? x : null;
    }, { timeoutMs: 5000, what: 'delivered after the retry' });
    assert.equal(after.attempt_history.at(-1).http_status, 200);
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
