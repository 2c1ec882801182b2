// Partner orders for hosted operators, end to end (docs/partners.md "Orders"): the wholesale
// price, the float debited exactly once, merchant_order_id as the idempotency key under races,
// the credit limit under 200 concurrent orders, reads (order, balance), the statement CSV and
// the validation refusals. `topup verify` runs after every test.
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';

import { api, assertJson, assertProblem, createKey, createWorkspace, rfc3339Seconds } from '../integration/harness.mjs';
import { PartnerClient, show } from './partner-client.mjs';
import {
  addMerchant,
  beijingDate,
  checkStatement,
  merchantFloat,
  newMerchantOrderId,
  startPartnerDaemon,
  stopDaemonClean,
  topupFloat,
  verifyLedger,
} from './partner-setup.mjs';

let ws;
let daemon;
let readKey;
let shopA; // the main merchant: credit limit 100.00, float 1000.00, cmcc 98.50 %, cmcc-100 98.00 %, cucc 98.55 %
const ordersA = []; // every order shopA created, as the 202 gave it

before(async () => {
  ws = await createWorkspace('partners-orders');
  readKey = await createKey(ws.db, 'po-read', 'read');
  const secret = await addMerchant(ws, 'shop-a', {
    creditLimit: '100.00',
    allowIp: '127.0.0.1',
    float: '1000.00',
    prices: [
      { operator: 'cmcc', percent: '98.50' },
      { product: 'cmcc-100', percent: '98.00' },
      { operator: 'cucc', percent: '98.55' },
    ],
  });
  daemon = await startPartnerDaemon(ws);
  shopA = new PartnerClient(daemon, 'shop-a', secret);
});

after(async () => {
  try {
    if (daemon) await stopDaemonClean(daemon);
  } finally {
    if (ws) await ws.cleanup();
  }
});

afterEach(async () => {
  if (ws) await verifyLedger(ws.db);
});

/** Asserts a 202 order and records it as one of shopA's. */
function created(res, what) {
  const o = assertJson(res, 202, what);
  assert.notEqual(res.header('idempotent-replayed'), 'true', `a new order is not a replay: ${what}`);
  return o;
}

function assertOrderShape(o, expect) {
  for (const [k, v] of Object.entries(expect)) assert.deepEqual(o[k], v, `order.${k}: ${JSON.stringify(o)}`);
  assert.match(o.order_id, /^\d+$/, `order_id is a string of digits: ${JSON.stringify(o)}`);
  rfc3339Seconds(o.created_at, 'created_at');
  rfc3339Seconds(o.updated_at, 'updated_at');
}

async function subscriberBalance(msisdn) {
  const res = await api(daemon, 'GET', `/v1/subscribers/${encodeURIComponent(msisdn)}`, { key: readKey });
  if (res.status === 404) return 0;
  return assertJson(res, 200, `subscriber ${msisdn}`).balance_minor;
}

test('a hosted order: 202 succeeded at the wholesale price, the float debited once, the number credited', async () => {
  const before0 = await shopA.floatMinor();
  assert.equal(before0, 100000, 'the deposit of 1000.00');
  const numberBefore = await subscriberBalance('+8613800138000');
  const moid = newMerchantOrderId('JD');
  const res = await shopA.postOrder({ merchant_order_id: moid, msisdn: '13800138000', product: 'cmcc-50' });
  const o = created(res, 'first order');
  assert.match(res.contentType, /^application\/json/i);
  assertOrderShape(o, {
    merchant_order_id: moid,
    status: 'succeeded',
    msisdn: '+8613800138000',
    operator: 'cmcc',
    product: 'cmcc-50',
    amount_minor: 5000,
    price_minor: 4925,
    currency: 'CNY',
  });
  ordersA.push(o);
  assert.equal(await shopA.floatMinor(), before0 - 4925, 'float debited by the price');
  assert.equal(await merchantFloat(ws, 'shop-a'), before0 - 4925, 'the CLI reads the same float');
  assert.equal(await subscriberBalance('+8613800138000'), numberBefore + 5000, 'the number got the face value');
});

test('wholesale prices: product percent wins over the operator, half up rounding, 100 % without a price, amount_minor', async () => {
  const cases = [
    [{ msisdn: '13900139001', product: 'cmcc-100' }, 10000, 9800, 'cmcc-100 at the product price 98.00 %'],
    [{ msisdn: '13900139002', product: 'cmcc-100-promo' }, 10000, 9850, 'face value times 98.50 %, not the retail price'],
    [{ msisdn: '13000130003', product: 'cucc-10' }, 1000, 986, '985.5 rounds half up to 986'],
    [{ msisdn: '13300133004', product: 'ctcc-20' }, 2000, 2000, 'no price for ctcc: 100 %'],
    [{ msisdn: '13900139005', amount_minor: 1200, currency: 'CNY' }, 1200, 1182, 'an amount of a range product at 98.50 %'],
  ];
  for (const [fields, face, price, what] of cases) {
    const start = await shopA.floatMinor();
    const moid = newMerchantOrderId('PR');
    const o = created(await shopA.postOrder({ merchant_order_id: moid, ...fields }), what);
    assert.equal(o.amount_minor, face, `${what}: face`);
    assert.equal(o.price_minor, price, `${what}: price`);
    assert.equal(o.status, 'succeeded', what);
    assert.equal(await shopA.floatMinor(), start - price, `${what}: float debited by the price`);
    ordersA.push(o);
  }
});

test('replay: the same body is 200 Idempotent-Replayed with the same order; another body is 409; nothing debited again', async () => {
  const moid = newMerchantOrderId('RP');
  const body = JSON.stringify({ merchant_order_id: moid, msisdn: '13800138010', product: 'cmcc-20' });
  const first = created(await shopA.postOrder(body), 'original');
  ordersA.push(first);
  const afterFirst = await shopA.floatMinor();
  for (let i = 0; i < 3; i++) {
    const again = await shopA.postOrder(body);
    const o = assertJson(again, 200, `replay ${i}`);
    assert.equal(again.header('idempotent-replayed'), 'true', `replay ${i} header: ${show(again)}`);
    assert.equal(String(o.order_id), String(first.order_id), 'the same order');
    assert.equal(o.status, 'succeeded');
    assert.equal(o.price_minor, first.price_minor);
  }
  const others = [
    { merchant_order_id: moid, msisdn: '13800138010', product: 'cmcc-30' },
    { merchant_order_id: moid, msisdn: '13800138011', product: 'cmcc-20' },
    { merchant_order_id: moid, msisdn: '13800138010', product: 'cmcc-20', callback_url: 'http://127.0.0.1:9/cb' },
  ];
  for (const other of others) {
    assertProblem(await shopA.postOrder(other), 409, 'merchant_order_id_reused', `other body ${JSON.stringify(other)}`);
  }
  assert.equal(await shopA.floatMinor(), afterFirst, 'neither replays nor 409s debit');
  const got = assertJson(await shopA.getOrder(moid), 200, 'GET after the 409s');
  assert.equal(got.product, 'cmcc-20', 'the order is still the first body');
});

test('100 parallel submissions of one merchant_order_id: exactly one order, one debit', async () => {
  const moid = newMerchantOrderId('PAR');
  const body = JSON.stringify({ merchant_order_id: moid, msisdn: '13800138020', product: 'cmcc-30' });
  const start = await shopA.floatMinor();
  const responses = await Promise.all(Array.from({ length: 100 }, () => shopA.postOrderRetryBusy(body)));
  const originals = responses.filter((r) => r.status === 202);
  const replays = responses.filter((r) => r.status === 200);
  const other = responses.filter((r) => r.status !== 202 && r.status !== 200);
  assert.deepEqual(other.map(show), [], 'every answer is the order, new or replayed');
  assert.equal(originals.length, 1, `exactly one 202, got ${originals.length}`);
  for (const r of replays) assert.equal(r.header('idempotent-replayed'), 'true', show(r));
  const ids = new Set(responses.map((r) => String(r.json.order_id)));
  assert.equal(ids.size, 1, `one order id for all: ${[...ids].join(', ')}`);
  assert.equal(await shopA.floatMinor(), start - 2955, 'debited once: 30.00 at 98.50 %');
  ordersA.push(originals[0].json);
});

test('200 concurrent orders with distinct ids never take the float below minus its credit limit', async () => {
  const secret = await addMerchant(ws, 'shop-credit', { creditLimit: '100.00', float: '500.00', prices: [{ operator: 'cmcc', percent: '98.50' }] });
  const client = new PartnerClient(daemon, 'shop-credit', secret);
  const start = await client.floatMinor();
  assert.equal(start, 50000);
  const price = 4925;
  const creditLimit = 10000;
  const moids = Array.from({ length: 200 }, (_, i) => newMerchantOrderId(`CR${i}-`));
  const responses = await Promise.all(
    moids.map((moid, i) => client.postOrderRetryBusy({ merchant_order_id: moid, msisdn: `1380013${String(1000 + i).padStart(4, '0')}`, product: 'cmcc-50' })),
  );
  const ok = [];
  const refused = [];
  responses.forEach((res, i) => {
    if (res.status === 202) ok.push(moids[i]);
    else {
      assertProblem(res, 402, 'insufficient_float', `order ${i}`);
      refused.push(moids[i]);
    }
  });
  const expectedOk = Math.floor((start + creditLimit) / price);
  assert.equal(ok.length, expectedOk, `every order that fitted was taken: ${ok.length} of 200 (expected ${expectedOk})`);
  const final = await client.floatMinor();
  assert.equal(final, start - ok.length * price, 'float = start - n_ok * price');
  assert.ok(final >= -creditLimit, `float ${final} went below minus the credit limit`);
  assert.equal(await merchantFloat(ws, 'shop-credit'), final);
  const bal = assertJson(await client.balance(), 200, 'balance');
  assert.equal(bal.available_minor, final + creditLimit);
  for (const moid of refused.slice(0, 20)) assertProblem(await client.getOrder(moid), 404, undefined, `refused ${moid} left no order`);
  for (const moid of ok.slice(0, 5)) assert.equal(assertJson(await client.getOrder(moid), 200).status, 'succeeded');
  const stmt = checkStatement(await client.statements(beijingDate()), beijingDate());
  assert.equal(stmt.movements.filter((m) => m.kind === 'recharge').length, ok.length, 'one recharge line per accepted order');
});

test('402 insufficient_float changes nothing; after a deposit the same merchant_order_id is taken', async () => {
  const secret = await addMerchant(ws, 'shop-poor', { float: '10.00' });
  const client = new PartnerClient(daemon, 'shop-poor', secret);
  const moid = newMerchantOrderId('POOR');
  const body = JSON.stringify({ merchant_order_id: moid, msisdn: '13800138030', product: 'cmcc-50' });
  const res = await client.postOrder(body);
  assertProblem(res, 402, 'insufficient_float');
  assert.equal(await client.floatMinor(), 1000, 'float unchanged');
  assertProblem(await client.getOrder(moid), 404, undefined, 'no order after a 402');
  const bal = assertJson(await client.balance(), 200);
  assert.deepEqual(bal, { merchant: 'shop-poor', currency: 'CNY', float_minor: 1000, credit_limit_minor: 0, available_minor: 1000 });
  await topupFloat(ws, 'shop-poor', '100.00');
  const retry = await client.postOrder(body);
  const o = assertJson(retry, 202, 'the retry after the deposit is a new order, not a replay');
  assert.equal(o.price_minor, 5000, 'no price set: 100 %');
  assert.equal(await client.floatMinor(), 11000 - 5000);
});

test('GET /v1/partner/orders/{merchant_order_id}: the order; 404 for an unknown id and for another merchant\'s', async () => {
  const o = ordersA[0];
  const res = await shopA.getOrder(o.merchant_order_id);
  const got = assertJson(res, 200, 'GET own order');
  for (const k of ['merchant_order_id', 'order_id', 'status', 'msisdn', 'operator', 'product', 'amount_minor', 'price_minor', 'currency', 'created_at']) {
    assert.deepEqual(got[k], o[k], `GET order.${k}`);
  }
  assertProblem(await shopA.getOrder('NO-SUCH-ORDER-1'), 404, undefined, 'unknown id');
  const secret = await addMerchant(ws, 'shop-b', { float: '10.00' });
  const shopB = new PartnerClient(daemon, 'shop-b', secret);
  assertProblem(await shopB.getOrder(o.merchant_order_id), 404, undefined, 'another merchant\'s order is not visible');
  // The same merchant_order_id is each merchant's own: shop-b may use shop-a's.
  const mine = assertJson(await shopB.postOrder({ merchant_order_id: o.merchant_order_id, msisdn: '13800138040', product: 'cmcc-10' }), 202,
    'shop-b reuses shop-a\'s merchant_order_id');
  assert.notEqual(String(mine.order_id), String(o.order_id));
});

test('GET /v1/partner/balance: float, credit limit and available', async () => {
  const bal = assertJson(await shopA.balance(), 200);
  assert.equal(bal.merchant, 'shop-a');
  assert.equal(bal.currency, 'CNY');
  assert.equal(bal.credit_limit_minor, 10000);
  assert.equal(bal.float_minor, await merchantFloat(ws, 'shop-a'));
  assert.equal(bal.available_minor, bal.float_minor + bal.credit_limit_minor);
  const spent = ordersA.reduce((s, o) => s + o.price_minor, 0);
  assert.equal(bal.float_minor, 100000 - spent, 'the deposit minus every price paid');
});

test('GET /v1/partner/operators lists each operator with connector and available', async () => {
  const res = await shopA.operators();
  const body = assertJson(res, 200);
  const items = Array.isArray(body) ? body : body.items;
  assert.ok(Array.isArray(items), `operators list: ${show(res)}`);
  const cmcc = items.find((op) => op.id === 'cmcc');
  assert.ok(cmcc, `cmcc listed: ${show(res)}`);
  assert.equal(cmcc.connector, 'hosted');
  assert.equal(cmcc.available, true);
  const viaKey = assertJson(await api(daemon, 'GET', '/v1/operators', { key: readKey }), 200);
  const cmccKey = viaKey.items.find((op) => op.id === 'cmcc');
  assert.equal(cmccKey.connector, 'hosted');
  assert.equal(cmccKey.available, true);
});

test('GET /v1/partner/statements: today\'s CSV in Beijing time adds up and lists every order', async (t) => {
  const date = beijingDate();
  const res = await shopA.statements(date);
  if (beijingDate() !== date || ordersA.some((o) => beijingDate(Date.parse(o.created_at)) !== date)) {
    t.skip('the Beijing date changed during the run');
    return;
  }
  const stmt = checkStatement(res, date);
  assert.equal(stmt.opening, 0, 'the merchant was created today: opening 0');
  assert.equal(stmt.closing, await shopA.floatMinor(), 'closing is the float now');
  const deposits = stmt.movements.filter((m) => m.kind === 'float_deposit');
  assert.deepEqual(deposits.map((m) => Number(m.amount_minor)), [100000], 'the one deposit');
  const recharges = stmt.movements.filter((m) => m.kind === 'recharge');
  assert.equal(recharges.length, ordersA.length, 'one recharge line per order, no more');
  for (const o of ordersA) {
    const line = recharges.find((m) => m.merchant_order_id === o.merchant_order_id);
    assert.ok(line, `order ${o.merchant_order_id} in the statement`);
    assert.equal(line.order_id, String(o.order_id));
    assert.equal(line.msisdn, o.msisdn);
    assert.equal(Number(line.face_minor), o.amount_minor);
    assert.equal(Number(line.price_minor), o.price_minor);
    assert.equal(line.status, 'succeeded');
    assert.equal(Number(line.amount_minor), -o.price_minor);
  }
  // Yesterday, before the merchant existed: nothing moved.
  const yesterday = beijingDate(Date.now() - 86400000);
  const y = checkStatement(await shopA.statements(yesterday), yesterday);
  assert.equal(y.movements.length, 0);
  assert.equal(y.opening, 0);
  for (const bad of ['2026-13-01', '20261125', 'today', '']) {
    const r = await shopA.statements(bad);
    assertProblem(r, 400, undefined, `date=${bad}`);
  }
});

test('validation: unknown field, bad merchant_order_id, bad callback_url are 400 with a code, and change nothing', async () => {
  const start = await shopA.floatMinor();
  const base = () => ({ merchant_order_id: newMerchantOrderId('V'), msisdn: '13800138050', product: 'cmcc-10' });
  const unknown = { ...base(), coupon: 'FREE' };
  assertProblem(await shopA.postOrder(unknown), 400, 'unknown_field', 'unknown field');
  const tried = [unknown.merchant_order_id];
  const badIds = ['', 'has space', 'a'.repeat(65), '中文订单', 'semi;colon', 'slash/1', 42, null];
  for (const id of badIds) {
    const res = await shopA.postOrder({ ...base(), merchant_order_id: id });
    assertProblem(res, 400, undefined, `merchant_order_id ${JSON.stringify(id)}`);
  }
  const noId = base();
  delete noId.merchant_order_id;
  assertProblem(await shopA.postOrder(noId), 400, undefined, 'no merchant_order_id');
  const badUrls = ['ftp://partner.example/cb', 'javascript:alert(1)', 'partner.example/cb', '', `http://127.0.0.1:9/${'x'.repeat(501 - 'http://127.0.0.1:9/'.length)}`, 7];
  for (const url of badUrls) {
    const b = { ...base(), callback_url: url };
    tried.push(b.merchant_order_id);
    assertProblem(await shopA.postOrder(b), 400, undefined, `callback_url ${JSON.stringify(url).slice(0, 60)}`);
  }
  assertProblem(await shopA.postOrder('{"merchant_order_id": "X1", '), 400, undefined, 'not JSON');
  assertProblem(await shopA.postOrder('[]'), 400, undefined, 'not an object');
  assert.equal(await shopA.floatMinor(), start, 'no 400 debits anything');
  for (const moid of tried) assertProblem(await shopA.getOrder(moid), 404, undefined, `${moid} left no order`);
  // The limits themselves are allowed: 64 characters of the whole alphabet, a 500-character URL.
  const longId = `Az09_.:-${'x'.repeat(56)}`;
  const url500 = `http://127.0.0.1:9/${'y'.repeat(500 - 'http://127.0.0.1:9/'.length)}`;
  assert.equal(url500.length, 500);
  const o = assertJson(await shopA.postOrder({ merchant_order_id: longId, msisdn: '13800138051', product: 'cmcc-10', callback_url: url500 }), 202,
    '64-character id, 500-character URL');
  assert.equal(o.merchant_order_id, longId);
  ordersA.push(o);
});
