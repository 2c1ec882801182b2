// Refusals of a signed partner request (docs/partners.md "Refusals of a signed request"): each one
// is the documented status and code as application/problem+json, changes nothing (no order, the
// float as it was) and does not use up its nonce. `topup verify` runs after every test.
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';

import { assertJson, assertProblem, createWorkspace, topup } from '../integration/harness.mjs';
import { newNonce, nowSeconds, PartnerClient, show } from './partner-client.mjs';
import { addMerchant, beijingDate, newMerchantOrderId, startPartnerDaemon, stopDaemonClean, verifyLedger } from './partner-setup.mjs';

let ws;
let daemon;
let secret;
let shop; // allow-list 127.0.0.1, float 500.00
let openShop; // no allow-list
let openSecret;
let startFloat;

before(async () => {
  ws = await createWorkspace('partners-auth');
  secret = await addMerchant(ws, 'auth-shop', { allowIp: '127.0.0.1', float: '500.00' });
  openSecret = await addMerchant(ws, 'open-shop', { float: '50.00' });
  daemon = await startPartnerDaemon(ws);
  shop = new PartnerClient(daemon, 'auth-shop', secret);
  openShop = new PartnerClient(daemon, 'open-shop', openSecret);
  startFloat = await shop.floatMinor();
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

const orderBody = (moid = newMerchantOrderId('AU')) => ({ merchant_order_id: moid, msisdn: '13800138100', product: 'cmcc-10' });

/**
 * Sends a refused order (opts make it wrong) and checks: the status and code, the float
 * unchanged, no order under its merchant_order_id, and that its nonce is still good for a
 * correct request (which is then a GET of the balance, so nothing is bought).
 */
async function refusedOrder(status, code, opts, what, client = shop) {
  const body = orderBody();
  const nonce = opts.nonce ?? newNonce();
  const res = await client.postOrder(body, { ...opts, nonce });
  assertProblem(res, status, code, what);
  assert.equal(await shop.floatMinor(), startFloat, `${what}: float unchanged`);
  assertProblem(await shop.getOrder(body.merchant_order_id), 404, undefined, `${what}: no order`);
  if (typeof nonce === 'string' && /^[0-9A-Za-z_-]{8,64}$/.test(nonce)) {
    const reuse = await shop.balance({ nonce });
    assertJson(reuse, 200, `${what}: the refused request's nonce is not used up`);
  }
  return res;
}

test('a missing header is 401 unauthorized', async () => {
  for (const h of ['x-topup-merchant', 'x-topup-timestamp', 'x-topup-nonce', 'x-topup-signature']) {
    await refusedOrder(401, 'unauthorized', { omit: [h] }, `without ${h}`);
  }
  const bare = await shop.balance({ omit: ['x-topup-merchant', 'x-topup-timestamp', 'x-topup-nonce', 'x-topup-signature'] });
  assertProblem(bare, 401, 'unauthorized', 'no headers at all');
});

test('an unknown merchant is 401 unauthorized', async () => {
  await refusedOrder(401, 'unauthorized', { merchant: 'no-such-shop' }, 'unknown merchant');
});

test('a wrong secret is 401 bad_signature', async () => {
  const wrong = secret.replace(/^./, (c) => (c === '0' ? '1' : '0'));
  await refusedOrder(401, 'bad_signature', { secret: wrong }, 'wrong secret');
  await refusedOrder(401, 'bad_signature', { secret: openSecret }, 'another merchant\'s secret');
  await refusedOrder(401, 'bad_signature', { signature: 'a'.repeat(64) }, 'made-up signature');
  await refusedOrder(401, 'bad_signature', { signature: 'not-hex' }, 'malformed signature');
});

test('a timestamp more than 300 s away, or not a number, is 401 timestamp_out_of_window', async () => {
  await refusedOrder(401, 'timestamp_out_of_window', { timestamp: nowSeconds() - 301 }, '301 s old');
  await refusedOrder(401, 'timestamp_out_of_window', { timestamp: nowSeconds() + 301 }, '301 s ahead');
  await refusedOrder(401, 'timestamp_out_of_window', { timestamp: nowSeconds() - 86400 }, 'a day old');
  await refusedOrder(401, 'timestamp_out_of_window', { timestamp: 'yesterday' }, 'not a number');
  // Inside the window (with a margin for the second boundary) it is accepted.
  assertJson(await shop.balance({ timestamp: nowSeconds() - 290 }), 200, '290 s old');
  assertJson(await shop.balance({ timestamp: nowSeconds() + 290 }), 200, '290 s ahead');
});

test('a nonce used once is 401 nonce_reused the second time; the first use succeeded', async () => {
  const nonce = newNonce();
  const body = orderBody();
  const first = await shop.postOrder(body, { nonce });
  const o = assertJson(first, 202, 'first use of the nonce');
  const afterFirst = await shop.floatMinor();
  assert.equal(afterFirst, startFloat - o.price_minor);
  // A replay of the very same request, and a fresh request under the same nonce.
  const replay = await shop.postOrder(body, { nonce, timestamp: first.sent.timestamp });
  assertProblem(replay, 401, 'nonce_reused', 'the same signed request again');
  assertProblem(await shop.postOrder(orderBody(), { nonce }), 401, 'nonce_reused', 'another order under the nonce');
  assertProblem(await shop.balance({ nonce }), 401, 'nonce_reused', 'a read under the nonce');
  assert.equal(await shop.floatMinor(), afterFirst, 'the replays bought nothing');
  startFloat = afterFirst;
  // A nonce is the merchant's own: another merchant may use the same one.
  assertJson(await openShop.balance({ nonce }), 200, 'another merchant with the same nonce');
});

test('a malformed nonce is refused with 401', async () => {
  for (const nonce of ['short7c', 'x'.repeat(65), 'has space!', 'ünïcode1']) {
    const res = await refusedOrder(401, undefined, { nonce }, `nonce ${JSON.stringify(nonce)}`);
    assert.ok(['unauthorized', 'bad_signature'].includes(res.json.code), `code for a malformed nonce: ${show(res)}`);
  }
});

test('a suspended merchant is 403 merchant_suspended; activated again it orders', async () => {
  await topup(['merchant', 'suspend', '--db', ws.db, '--id', 'auth-shop']);
  try {
    const body = orderBody();
    const res = await shop.postOrder(body);
    assertProblem(res, 403, 'merchant_suspended');
    assertProblem(await shop.balance(), 403, 'merchant_suspended', 'reads too');
  } finally {
    await topup(['merchant', 'activate', '--db', ws.db, '--id', 'auth-shop']);
  }
  assert.equal(await shop.floatMinor(), startFloat, 'nothing bought while suspended');
  const o = assertJson(await shop.postOrder(orderBody()), 202, 'active again');
  startFloat -= o.price_minor;
});

test('a request from an address outside the allow-list is 403 ip_not_allowed', async () => {
  const foreign = { localAddress: '127.0.0.2' };
  await refusedOrder(403, 'ip_not_allowed', foreign, 'from 127.0.0.2');
  await refusedOrder(403, 'ip_not_allowed', { ...foreign, headers: { 'x-forwarded-for': '127.0.0.1', 'x-real-ip': '127.0.0.1' } },
    'from 127.0.0.2 claiming 127.0.0.1 in X-Forwarded-For');
  assertProblem(await shop.balance(foreign), 403, 'ip_not_allowed', 'reads too');
  // A merchant without an allow-list is served from anywhere.
  assertJson(await openShop.balance(foreign), 200, 'no allow-list');
});

test('a body changed after signing is 401 bad_signature and creates nothing', async () => {
  const signed = JSON.stringify(orderBody());
  const tampered = signed.replace('cmcc-10', 'cmcc-500');
  assert.notEqual(tampered, signed);
  const res = await shop.postOrder(tampered, { signBody: signed });
  assertProblem(res, 401, 'bad_signature');
  assertProblem(await shop.getOrder(JSON.parse(signed).merchant_order_id), 404);
  // One byte more (trailing whitespace) is another body as well.
  assertProblem(await shop.postOrder(`${signed} `, { signBody: signed }), 401, 'bad_signature', 'trailing space');
  assert.equal(await shop.floatMinor(), startFloat);
});

test('the signed path and method are checked: another route, query or method is 401 bad_signature', async () => {
  const today = beijingDate();
  const yesterday = beijingDate(Date.now() - 86400000);
  assertProblem(await shop.statements(today, { signPath: `/v1/partner/statements?date=${yesterday}` }), 401, 'bad_signature', 'query changed');
  assertProblem(await shop.statements(today, { signPath: '/v1/partner/statements' }), 401, 'bad_signature', 'query left out of the signature');
  assertProblem(await shop.balance({ signPath: '/v1/partner/operators' }), 401, 'bad_signature', 'another path');
  assertProblem(await shop.postOrder(orderBody(), { signMethod: 'PUT' }), 401, 'bad_signature', 'another method');
  const ok = await shop.statements(today);
  assert.equal(ok.status, 200, `the untampered statement: ${show(ok)}`);
  assert.equal(await shop.floatMinor(), startFloat);
});
