// Black-box tests of topupd's JSON API: every documented refusal with its status and stable code,
// the happy paths a client relies on (balances, validity, events, pagination, idempotency, scopes,
// portability), and a consistent ledger at the end.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  DAY_S,
  api,
  assertJson,
  assertProblem,
  createKey,
  createWorkspace,
  enc,
  metricValue,
  newIdemKey,
  postRecharge,
  raw,
  rfc3339Seconds,
  show,
  sleep,
  startDaemon,
  toRfc3339,
  topup,
  verifyLedger,
  walkPages,
} from './harness.mjs';

let ws;
let daemon;
const keys = {};

// Numbers that nothing in this file recharges unless the test says so.
let numberSeq = 0;
/** A fresh China Mobile number (+86139...), unique within this file. */
function freshCmcc() {
  numberSeq += 1;
  return `+86139${String(70000000 + numberSeq).padStart(8, '0')}`;
}

const PORTED = '+8613800000077'; // a China Mobile range number ported to China Unicom
const CLOSED = '+8613900000099'; // imported as closed
const SEEDED_FUTURE = '+8613900000097'; // imported with a balance and a validity in the future
const SEEDED_PAST = '+8613900000096'; // imported with a validity in the past
const SEEDED_BALANCE_MAJOR = '123.45';
const SEEDED_BALANCE_MINOR = 12345;
// Whole seconds, ten days ahead: the imported valid_until of SEEDED_FUTURE.
const seededFutureValidUntil = Math.floor(Date.now() / 1000) + 10 * DAY_S;

before(async () => {
  ws = await createWorkspace('api');
  keys.recharge = await createKey(ws.db, 'it-recharge', 'recharge');
  keys.recharge2 = await createKey(ws.db, 'it-recharge-2', 'recharge');
  keys.read = await createKey(ws.db, 'it-read', 'read');
  keys.admin = await createKey(ws.db, 'it-admin', 'admin');
  keys.doomed = await createKey(ws.db, 'it-doomed', 'recharge');
  await topup(['portability', 'set', '--db', ws.db, '--msisdn', PORTED, '--operator', 'cucc']);
  const statusCsv = await ws.writeFile('status.csv', `msisdn,status\n${CLOSED},closed\n`);
  await topup(['subscribers', 'import', '--db', ws.db, statusCsv]);
  const seededCsv = await ws.writeFile(
    'seeded.csv',
    'msisdn,status,balance,valid_until\n' +
      `${SEEDED_FUTURE},active,${SEEDED_BALANCE_MAJOR},${toRfc3339(seededFutureValidUntil)}\n` +
      `${SEEDED_PAST},active,0,2020-01-01T00:00:00Z\n`,
  );
  await topup(['subscribers', 'import', '--db', ws.db, seededCsv]);
  daemon = await startDaemon(ws.db);
});

after(async () => {
  if (daemon) await daemon.stop();
  if (ws) await ws.cleanup();
});

// ---------------------------------------------------------------- helpers

async function subscriber(msisdn) {
  return api(daemon, 'GET', `/v1/subscribers/${enc(msisdn)}`, { key: keys.read });
}

/** The subscriber's balance, or 0 for a number that is not a subscriber yet. */
async function balanceOf(msisdn) {
  const res = await subscriber(msisdn);
  if (res.status === 404) {
    assertProblem(res, 404, 'subscriber_unknown');
    return 0;
  }
  return assertJson(res, 200, `GET subscriber ${msisdn}`).balance_minor;
}

async function recharge(body, { key = keys.recharge, idem = newIdemKey() } = {}) {
  const res = await postRecharge(daemon, key, idem, body);
  return assertJson(res, 201, `POST /v1/recharges ${JSON.stringify(body)}`);
}

async function ordersOf(msisdn) {
  const { items } = await walkPages(daemon, keys.read, `/v1/recharges?msisdn=${enc(msisdn)}`, { limit: 200 });
  return items;
}

/** A valid recharge request sent with exactly these headers and this body (raw HTTP). */
function rawPost({ headers = {}, body, key = keys.recharge }) {
  return raw(daemon, {
    method: 'POST',
    path: '/v1/recharges',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      'idempotency-key': newIdemKey('raw'),
      ...headers,
    },
    body,
  });
}

// ---------------------------------------------------------------- public endpoints

describe('public endpoints', () => {
  test('GET /healthz answers 200 without a key', async () => {
    const res = await api(daemon, 'GET', '/healthz');
    assert.equal(res.status, 200, show(res));
  });

  test('GET /metrics is Prometheus text without a key', async () => {
    const res = await api(daemon, 'GET', '/metrics');
    assert.equal(res.status, 200, show(res));
    assert.match(res.contentType, /^text\/plain/, show(res));
    for (const name of [
      'topup_http_requests_total',
      'topup_recharges_total',
      'topup_commit_batch_size_bucket',
      'topup_write_queue_depth',
    ]) {
      assert.match(res.text, new RegExp(`^${name}[{ ]`, 'm'), `metric ${name} missing from /metrics`);
    }
  });

  test('GET /v1/openapi.json is an OpenAPI document without a key', async () => {
    const res = await api(daemon, 'GET', '/v1/openapi.json');
    const doc = assertJson(res, 200, 'openapi');
    assert.equal(typeof doc.openapi, 'string', 'no "openapi" version member');
    assert.ok(doc.paths && doc.paths['/v1/recharges'], 'the document does not describe /v1/recharges');
  });
});

// ---------------------------------------------------------------- authentication and scopes

describe('authentication and scopes', () => {
  const unauthorized = [
    ['no Authorization header', undefined],
    ['an unknown key', 'Bearer tk_this_key_does_not_exist_0123456789'],
    ['an empty bearer token', 'Bearer '],
    ['the Basic scheme', `Basic ${Buffer.from('it-read:x').toString('base64')}`],
    ['a key without the Bearer scheme', null], // filled in below with the raw secret
  ];
  for (const [name, header] of unauthorized) {
    test(`401 unauthorized with ${name}`, async () => {
      const value = header === null ? keys.read : header;
      const res = await raw(daemon, { path: '/v1/operators', headers: { authorization: value } });
      assertProblem(res, 401, 'unauthorized', name);
    });
  }

  test('the key is checked before the request: no key and a broken body is 401, not 400', async () => {
    const res = await raw(daemon, {
      method: 'POST',
      path: '/v1/recharges',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    assertProblem(res, 401, 'unauthorized');
  });

  test('a POST without a key is refused and credits nothing', async () => {
    const msisdn = freshCmcc();
    const res = await raw(daemon, {
      method: 'POST',
      path: '/v1/recharges',
      headers: { 'content-type': 'application/json', 'idempotency-key': newIdemKey() },
      body: JSON.stringify({ msisdn, product: 'cmcc-50' }),
    });
    assertProblem(res, 401, 'unauthorized');
    assert.equal(await balanceOf(msisdn), 0);
    assert.deepEqual(await ordersOf(msisdn), []);
  });

  test('a read key cannot recharge: 403 forbidden, nothing credited', async () => {
    const msisdn = freshCmcc();
    const res = await postRecharge(daemon, keys.read, newIdemKey(), { msisdn, product: 'cmcc-50' });
    assertProblem(res, 403, 'forbidden');
    assert.equal(await balanceOf(msisdn), 0);
    assert.deepEqual(await ordersOf(msisdn), []);
  });

  test('scopes are levels: read, recharge and admin keys can all read', async () => {
    for (const k of ['read', 'recharge', 'admin']) {
      const res = await api(daemon, 'GET', '/v1/operators', { key: keys[k] });
      assertJson(res, 200, `GET /v1/operators with the ${k} key`);
    }
  });

  test('scopes are levels: an admin key can recharge', async () => {
    const msisdn = freshCmcc();
    const order = await recharge({ msisdn, product: 'cmcc-10' }, { key: keys.admin });
    assert.equal(order.amount_minor, 1000);
    assert.equal(await balanceOf(msisdn), 1000);
  });

  test('a revoked key is refused with 401', async () => {
    const before = await api(daemon, 'GET', '/v1/operators', { key: keys.doomed });
    assertJson(before, 200, 'the key works before it is revoked');
    await topup(['apikey', 'revoke', '--db', ws.db, '--name', 'it-doomed']);
    // The daemon is running: the revocation must take effect without a restart (allow 2 s).
    let res;
    const deadline = Date.now() + 2000;
    do {
      res = await api(daemon, 'GET', '/v1/operators', { key: keys.doomed });
      if (res.status === 401) break;
      await sleep(100);
    } while (Date.now() < deadline);
    assertProblem(res, 401, 'unauthorized', 'GET with a key revoked 2 s ago');
    const post = await postRecharge(daemon, keys.doomed, newIdemKey(), { msisdn: freshCmcc(), product: 'cmcc-10' });
    assertProblem(post, 401, 'unauthorized', 'POST with a revoked key');
  });
});

// ---------------------------------------------------------------- POST /v1/recharges refusals

describe('POST /v1/recharges refuses bad input with a stable code', () => {
  const M = '+8613800000055'; // a valid China Mobile number; none of these requests may credit it
  const ok = JSON.stringify({ msisdn: M, product: 'cmcc-50' });
  const cases = [
    // headers
    { name: 'no Idempotency-Key', headers: { 'idempotency-key': undefined }, body: ok, status: 400, code: 'idempotency_key_missing' },
    { name: 'an empty Idempotency-Key', headers: { 'idempotency-key': '' }, body: ok, status: 400, code: ['idempotency_key_missing', 'idempotency_key_invalid'] },
    { name: 'Idempotency-Key with a space', headers: { 'idempotency-key': 'two words' }, body: ok, status: 400, code: 'idempotency_key_invalid' },
    { name: 'Idempotency-Key of 65 characters', headers: { 'idempotency-key': 'k'.repeat(65) }, body: ok, status: 400, code: 'idempotency_key_invalid' },
    { name: 'Idempotency-Key with a non-ASCII byte', headers: { 'idempotency-key': 'cl\u00e9' }, body: ok, status: 400, code: 'idempotency_key_invalid' },
    { name: 'Content-Type text/plain', headers: { 'content-type': 'text/plain' }, body: ok, status: 415, code: 'unsupported_media_type' },
    { name: 'no Content-Type', headers: { 'content-type': undefined }, body: ok, status: 415, code: 'unsupported_media_type' },
    { name: 'a form Content-Type', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `msisdn=${M}&product=cmcc-50`, status: 415, code: 'unsupported_media_type' },
    // JSON syntax and shape
    { name: 'truncated JSON', body: `{"msisdn": "${M}", "product": `, status: 400, code: 'malformed_json' },
    { name: 'trailing garbage after the object', body: `${ok} x`, status: 400, code: 'malformed_json' },
    { name: 'an empty body', body: '', status: 400, code: 'malformed_json' },
    { name: 'a JSON array', body: `[${ok}]`, status: 400, code: 'malformed_json' },
    { name: 'a JSON string', body: '"cmcc-50"', status: 400, code: 'malformed_json' },
    { name: 'JSON null', body: 'null', status: 400, code: 'malformed_json' },
    { name: 'an unknown field', json: { msisdn: M, product: 'cmcc-50', colour: 'red' }, status: 400, code: 'unknown_field', detailIncludes: 'colour' },
    { name: 'no fields at all', json: {}, status: 400, code: 'missing_field' },
    { name: 'no msisdn', json: { product: 'cmcc-50' }, status: 400, code: 'missing_field' },
    { name: 'neither product nor amount', json: { msisdn: M }, status: 400, code: 'missing_field' },
    { name: 'an amount without currency', json: { msisdn: M, amount_minor: 5000 }, status: 400, code: 'missing_field' },
    { name: 'msisdn as a number', json: { msisdn: 13800000055, product: 'cmcc-50' }, status: 400, code: 'invalid_field' },
    { name: 'msisdn null', json: { msisdn: null, product: 'cmcc-50' }, status: 400, code: 'invalid_field' },
    { name: 'product as a number', json: { msisdn: M, product: 50 }, status: 400, code: 'invalid_field' },
    { name: 'amount_minor as a string', json: { msisdn: M, amount_minor: '5000', currency: 'CNY' }, status: 400, code: 'invalid_field' },
    { name: 'amount_minor with a fraction', json: { msisdn: M, amount_minor: 5000.5, currency: 'CNY' }, status: 400, code: 'invalid_field' },
    { name: 'amount_minor as a boolean', json: { msisdn: M, amount_minor: true, currency: 'CNY' }, status: 400, code: 'invalid_field' },
    { name: 'currency as a number', json: { msisdn: M, amount_minor: 5000, currency: 156 }, status: 400, code: 'invalid_field' },
    // numbers
    { name: 'a too-short number', json: { msisdn: '12345', amount_minor: 5000, currency: 'CNY' }, status: 422, code: 'invalid_number' },
    { name: 'letters as a number', json: { msisdn: 'not-a-number', amount_minor: 5000, currency: 'CNY' }, status: 422, code: 'invalid_number' },
    { name: 'a landline number', json: { msisdn: '+8675512345678', amount_minor: 5000, currency: 'CNY' }, status: 422, code: 'number_not_mobile' },
    { name: 'a mobile number no operator serves', json: { msisdn: '+8617012345678', amount_minor: 5000, currency: 'CNY' }, status: 422, code: 'unknown_operator' },
    // money
    { name: 'a zero amount', json: { msisdn: M, amount_minor: 0, currency: 'CNY' }, status: 422, code: 'amount_zero' },
    { name: 'a negative amount', json: { msisdn: M, amount_minor: -5000, currency: 'CNY' }, status: 422, code: 'amount_negative' },
    { name: 'a currency that is not ISO 4217', json: { msisdn: M, amount_minor: 5000, currency: 'ABC' }, status: 422, code: 'currency_unknown' },
    { name: 'PHP for a Chinese number', json: { msisdn: M, amount_minor: 5000, currency: 'PHP' }, status: 422, code: 'currency_mismatch' },
    { name: 'USD for a Chinese number', json: { msisdn: M, amount_minor: 5000, currency: 'USD' }, status: 422, code: 'currency_mismatch' },
    { name: 'CNY for a Philippine number', json: { msisdn: '+639171234567', amount_minor: 5000, currency: 'CNY' }, status: 422, code: 'currency_mismatch' },
    { name: 'a Unicom product for a China Mobile number', json: { msisdn: M, product: 'cucc-50' }, status: 422, code: 'product_unknown' },
    { name: 'a Globe product for a China Mobile number', json: { msisdn: M, product: 'globe-50' }, status: 422, code: 'product_unknown' },
    { name: 'a product that does not exist', json: { msisdn: M, product: 'cmcc-51' }, status: 422, code: 'product_unknown' },
    { name: 'an amount no product offers (1234 CNY)', json: { msisdn: M, amount_minor: 1234, currency: 'CNY' }, status: 422, code: 'amount_not_offered' },
    { name: 'an amount above every product', json: { msisdn: M, amount_minor: 100000000, currency: 'CNY' }, status: 422, code: 'amount_not_offered' },
    { name: 'the largest int64 amount', json: { msisdn: M, amount_minor: '@INT64_MAX@', currency: 'CNY' }, status: 422, code: 'amount_not_offered' },
    { name: 'a range product off its step', json: { msisdn: M, product: 'cmcc-custom', amount_minor: 1050 }, status: 422, code: 'amount_not_offered' },
    { name: 'a range product below its minimum', json: { msisdn: M, product: 'cmcc-custom', amount_minor: 900 }, status: 422, code: 'amount_not_offered' },
    { name: 'a range product above its maximum', json: { msisdn: M, product: 'cmcc-custom', amount_minor: 50100 }, status: 422, code: 'amount_not_offered' },
    { name: 'a range product off its step (with currency)', json: { msisdn: M, product: 'cmcc-custom', amount_minor: 1050, currency: 'CNY' }, status: 422, code: 'amount_not_offered' },
    { name: 'a range product below its minimum (with currency)', json: { msisdn: M, product: 'cmcc-custom', amount_minor: 900, currency: 'CNY' }, status: 422, code: 'amount_not_offered' },
    { name: 'a range product above its maximum (with currency)', json: { msisdn: M, product: 'cmcc-custom', amount_minor: 50100, currency: 'CNY' }, status: 422, code: 'amount_not_offered' },
    // subscribers
    { name: 'a closed subscriber', json: { msisdn: CLOSED, product: 'cmcc-50' }, status: 422, code: 'subscriber_closed' },
  ];

  for (const c of cases) {
    test(`${c.status} ${[c.code].flat().join('|')}: ${c.name}`, async () => {
      const body = c.json !== undefined ? JSON.stringify(c.json).replace('"@INT64_MAX@"', '9223372036854775807') : c.body;
      const res = await rawPost({ headers: c.headers, body });
      assertProblem(res, c.status, c.code, c.name);
      if (c.detailIncludes) assert.ok(res.body.detail.includes(c.detailIncludes), `detail should name ${c.detailIncludes}: ${show(res)}`);
    });
  }

  test('malformed JSON: the detail says where (line/column/byte)', async () => {
    const res = await rawPost({ body: `{"msisdn": "${M}",\n "product": }` });
    assertProblem(res, 400, 'malformed_json');
    assert.match(res.body.detail, /(line|column|byte)\D{0,4}\d+/i, `no position in detail: ${show(res)}`);
    assert.match(res.body.detail, /line\D{0,4}2\b/i, `the error is on line 2: ${show(res)}`);
  });

  for (const literal of ['9223372036854775808', '-9223372036854775809', '1e400', '99999999999999999999999']) {
    test(`an amount_minor beyond int64 (${literal}) is refused with a 4xx problem`, async () => {
      const res = await rawPost({ body: `{"msisdn": "${M}", "amount_minor": ${literal}, "currency": "CNY"}` });
      // jansson refuses a number it cannot hold while parsing, so this is malformed JSON, and the
      // detail says what was wrong rather than letting a wrapped value through.
      assertProblem(res, 400, 'malformed_json');
      assert.match(res.body.detail, /too big|overflow/i, `detail names the overflow: ${show(res)}`);
    });
  }

  test('a range product without an amount is refused', async () => {
    const res = await rawPost({ body: JSON.stringify({ msisdn: M, product: 'cmcc-custom' }) });
    assertProblem(res, 422, 'amount_not_offered');
  });

  test('a fixed product with a different amount is refused, not charged at either value', async () => {
    const res = await rawPost({ body: JSON.stringify({ msisdn: M, product: 'cmcc-50', amount_minor: 2000 }) });
    assertProblem(res, 422, 'amount_not_offered');
  });

  test('a closed subscriber stays closed and uncredited', async () => {
    const sub = assertJson(await subscriber(CLOSED), 200, 'closed subscriber');
    assert.equal(sub.status, 'closed');
    assert.equal(sub.balance_minor, 0);
  });

  test('none of the refused requests created an order or a subscriber', async () => {
    assertProblem(await subscriber(M), 404, 'subscriber_unknown');
    assert.deepEqual(await ordersOf(M), []);
  });

  test('413 body_too_large: a body over 64 KiB (Content-Length)', async () => {
    const pad = ' '.repeat(64 * 1024 + 1 - ok.length);
    const body = ok.slice(0, -1) + pad + '}';
    assert.equal(Buffer.byteLength(body), 64 * 1024 + 1);
    const res = await rawPost({ body });
    assertProblem(res, 413, 'body_too_large');
  });

  test('413 body_too_large: a chunked body over 64 KiB', async () => {
    const chunks = [ok.slice(0, -1)];
    for (let i = 0; i < 17; i++) chunks.push(' '.repeat(4096));
    chunks.push('}');
    const res = await rawPost({ body: chunks });
    assertProblem(res, 413, 'body_too_large');
    assert.deepEqual(await ordersOf(M), [], 'the oversized request must not be executed');
  });

  test('a body of exactly 64 KiB is accepted', async () => {
    const msisdn = freshCmcc();
    const small = JSON.stringify({ msisdn, product: 'cmcc-10' });
    const body = small.slice(0, -1) + ' '.repeat(64 * 1024 - small.length) + '}';
    assert.equal(Buffer.byteLength(body), 64 * 1024);
    const res = await rawPost({ body });
    assertJson(res, 201, '64 KiB body');
    assert.equal(await balanceOf(msisdn), 1000);
  });

  test('a 64-character Idempotency-Key is accepted', async () => {
    const msisdn = freshCmcc();
    const res = await rawPost({ headers: { 'idempotency-key': `${newIdemKey()}-`.padEnd(64, 'x') }, body: JSON.stringify({ msisdn, product: 'cmcc-10' }) });
    assertJson(res, 201, '64-character key');
  });

  test('Content-Type application/json with a charset is accepted', async () => {
    const msisdn = freshCmcc();
    const res = await rawPost({ headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify({ msisdn, product: 'cmcc-10' }) });
    assertJson(res, 201, 'charset parameter');
  });
});

// ---------------------------------------------------------------- routing

describe('routing', () => {
  const notFound = [
    ['GET', '/v1/nothing-here'],
    ['GET', '/v2/recharges'],
    ['POST', '/v1/recharge'],
    ['GET', '/v1/operators/cmcc/products/extra'],
  ];
  for (const [method, path] of notFound) {
    test(`404 not_found: ${method} ${path}`, async () => {
      const res = await raw(daemon, { method, path, headers: { authorization: `Bearer ${keys.admin}` } });
      assertProblem(res, 404, 'not_found', `${method} ${path}`);
    });
  }

  const wrongMethod = [
    ['DELETE', '/v1/recharges', ['GET', 'POST']],
    ['PUT', '/v1/recharges', ['GET', 'POST']],
    ['POST', '/v1/operators', ['GET']],
    ['DELETE', '/v1/recharges/1', ['GET']],
    ['POST', '/healthz', ['GET']],
  ];
  for (const [method, path, allowed] of wrongMethod) {
    test(`405 method_not_allowed: ${method} ${path} (Allow: ${allowed.join(', ')})`, async () => {
      const res = await raw(daemon, { method, path, headers: { authorization: `Bearer ${keys.admin}` } });
      assertProblem(res, 405, 'method_not_allowed', `${method} ${path}`);
      const allow = (res.header('allow') ?? '').split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
      for (const m of allowed) assert.ok(allow.includes(m), `Allow header ${JSON.stringify(res.header('allow'))} lacks ${m}`);
      assert.ok(!allow.includes(method), `Allow header ${JSON.stringify(res.header('allow'))} lists the refused ${method}`);
    });
  }

  test('404 for an unknown recharge id', async () => {
    const res = await api(daemon, 'GET', '/v1/recharges/999999999999', { key: keys.read });
    assertProblem(res, 404);
  });

  test('404 for a recharge id that is not a number', async () => {
    const res = await api(daemon, 'GET', '/v1/recharges/abc', { key: keys.read });
    assertProblem(res, 404);
  });
});

// ---------------------------------------------------------------- recharging

describe('recharging', () => {
  test('a product recharge answers 201 with the order and credits the face value', async () => {
    const msisdn = freshCmcc();
    const t0 = Date.now() / 1000;
    const res = await postRecharge(daemon, keys.recharge, newIdemKey(), { msisdn, product: 'cmcc-50' });
    const t1 = Date.now() / 1000;
    const order = assertJson(res, 201, 'recharge');
    assert.match(order.id, /^[1-9][0-9]*$/, `id must be a decimal string: ${JSON.stringify(order.id)}`);
    assert.equal(order.status, 'succeeded');
    assert.equal(order.channel, 'api');
    assert.equal(order.msisdn, msisdn);
    assert.equal(order.operator, 'cmcc');
    assert.equal(order.product, 'cmcc-50');
    assert.equal(order.amount_minor, 5000);
    assert.equal(order.price_minor, 5000);
    assert.equal(order.currency, 'CNY');
    assert.equal(order.balance_after_minor, 5000);
    const created = rfc3339Seconds(order.created_at, 'created_at');
    assert.ok(created >= Math.floor(t0) - 1 && created <= t1 + 1, `created_at ${order.created_at} is not now`);
    const valid = rfc3339Seconds(order.valid_until, 'valid_until');
    assert.ok(valid >= Math.floor(t0) + 30 * DAY_S - 1 && valid <= t1 + 30 * DAY_S + 1, `valid_until ${order.valid_until} is not now + 30 days`);

    const sub = assertJson(await subscriber(msisdn), 200, 'subscriber after recharge');
    assert.equal(sub.msisdn, msisdn);
    assert.equal(sub.operator, 'cmcc');
    assert.equal(sub.balance_minor, 5000);
    assert.equal(sub.currency, 'CNY');
    assert.equal(rfc3339Seconds(sub.valid_until), valid);
    rfc3339Seconds(sub.created_at, 'subscriber created_at');
  });

  test('balances add up over several recharges', async () => {
    const msisdn = freshCmcc();
    const products = [['cmcc-10', 1000], ['cmcc-20', 2000], ['cmcc-500', 50000], ['cmcc-30', 3000]];
    let expected = 0;
    for (const [product, amount] of products) {
      const order = await recharge({ msisdn, product });
      expected += amount;
      assert.equal(order.amount_minor, amount);
      assert.equal(order.balance_after_minor, expected, `balance after ${product}`);
    }
    assert.equal(await balanceOf(msisdn), expected);
  });

  test('each recharge extends validity by 30 days from the later of now and the current validity', async () => {
    const msisdn = freshCmcc();
    const first = await recharge({ msisdn, product: 'cmcc-10' });
    const second = await recharge({ msisdn, product: 'cmcc-10' });
    const third = await recharge({ msisdn, product: 'cmcc-20' });
    const v1 = rfc3339Seconds(first.valid_until);
    assert.equal(rfc3339Seconds(second.valid_until) - v1, 30 * DAY_S, `${first.valid_until} -> ${second.valid_until}`);
    assert.equal(rfc3339Seconds(third.valid_until) - v1, 60 * DAY_S, `${first.valid_until} -> ${third.valid_until}`);
    const sub = assertJson(await subscriber(msisdn), 200);
    assert.equal(rfc3339Seconds(sub.valid_until), rfc3339Seconds(third.valid_until));
  });

  test('an imported subscriber keeps its opening balance and validity, and a recharge extends from it', async () => {
    const sub = assertJson(await subscriber(SEEDED_FUTURE), 200, 'imported subscriber');
    assert.equal(sub.balance_minor, SEEDED_BALANCE_MINOR, `balance ${SEEDED_BALANCE_MAJOR} imported`);
    assert.equal(rfc3339Seconds(sub.valid_until), seededFutureValidUntil);
    const order = await recharge({ msisdn: SEEDED_FUTURE, product: 'cmcc-20' });
    assert.equal(order.balance_after_minor, SEEDED_BALANCE_MINOR + 2000);
    assert.equal(rfc3339Seconds(order.valid_until), seededFutureValidUntil + 30 * DAY_S,
      `validity ${toRfc3339(seededFutureValidUntil)} + 30 days, got ${order.valid_until}`);
  });

  test('an expired validity restarts from now, not from the old date', async () => {
    const t0 = Math.floor(Date.now() / 1000);
    const order = await recharge({ msisdn: SEEDED_PAST, product: 'cmcc-10' });
    const t1 = Date.now() / 1000;
    const valid = rfc3339Seconds(order.valid_until);
    assert.ok(valid >= t0 + 30 * DAY_S - 1 && valid <= t1 + 30 * DAY_S + 1, `valid_until ${order.valid_until} should be now + 30 days`);
  });

  test('the promo product charges 98.00 and credits 100.00', async () => {
    const msisdn = freshCmcc();
    const order = await recharge({ msisdn, product: 'cmcc-100-promo' });
    assert.equal(order.product, 'cmcc-100-promo');
    assert.equal(order.amount_minor, 10000);
    assert.equal(order.price_minor, 9800);
    assert.equal(order.balance_after_minor, 10000);
    assert.equal(await balanceOf(msisdn), 10000);
  });

  test('a range product takes an amount within its range and step', async () => {
    const products = assertJson(await api(daemon, 'GET', '/v1/operators/cmcc/products', { key: keys.read }), 200).items;
    const custom = products.find((p) => p.id === 'cmcc-custom');
    assert.ok(custom, 'cmcc-custom listed');
    const msisdn = freshCmcc();
    const order = await recharge({ msisdn, product: 'cmcc-custom', amount_minor: 12300 });
    assert.equal(order.product, 'cmcc-custom');
    assert.equal(order.amount_minor, 12300);
    assert.equal(order.price_minor, (12300 * custom.price_basis_points) / 10000);
    assert.equal(await balanceOf(msisdn), 12300);
  });

  test('an amount with its currency is sold by the number\'s operator', async () => {
    const msisdn = freshCmcc();
    const order = await recharge({ msisdn, amount_minor: 5000, currency: 'CNY' });
    assert.equal(order.operator, 'cmcc');
    assert.equal(order.amount_minor, 5000);
    assert.equal(order.currency, 'CNY');
    assert.ok(typeof order.product === 'string' && order.product.startsWith('cmcc-'), `product ${order.product}`);
    assert.equal(await balanceOf(msisdn), 5000);
  });

  test('other operators: Unicom, Telecom and Globe numbers are recharged by their own products', async () => {
    for (const [msisdn, product, operator, currency, amount] of [
      ['+8618600000031', 'cucc-30', 'cucc', 'CNY', 3000],
      ['+8618900000031', 'ctcc-30', 'ctcc', 'CNY', 3000],
      ['+639171234567', 'globe-100', 'globe', 'PHP', 10000],
    ]) {
      const order = await recharge({ msisdn, product });
      assert.equal(order.operator, operator);
      assert.equal(order.currency, currency);
      assert.equal(order.amount_minor, amount);
      const sub = assertJson(await subscriber(msisdn), 200);
      assert.equal(sub.currency, currency);
      assert.equal(sub.balance_minor, amount);
    }
  });

  test('every written form of a number is the same subscriber', async () => {
    const forms = ['13800138000', '+86 138-0013-8000', '008613800138000', '１３８００１３８０００', '+8613800138000'];
    let expected = await balanceOf('+8613800138000');
    for (const form of forms) {
      const order = await recharge({ msisdn: form, product: 'cmcc-10' });
      expected += 1000;
      assert.equal(order.msisdn, '+8613800138000', `${JSON.stringify(form)} normalised`);
      assert.equal(order.balance_after_minor, expected, `${JSON.stringify(form)} credits the same balance`);
    }
    assert.equal(await balanceOf('+8613800138000'), expected);
  });
});

// ---------------------------------------------------------------- orders, listing, statements

describe('orders', () => {
  test('GET /v1/recharges/{id} returns the order with its events none->paid->submitted->succeeded', async () => {
    const msisdn = freshCmcc();
    const created = await recharge({ msisdn, product: 'cmcc-20' });
    const res = await api(daemon, 'GET', `/v1/recharges/${created.id}`, { key: keys.read });
    const order = assertJson(res, 200, 'GET order');
    const { events, ...rest } = order;
    assert.deepEqual(rest, created, 'the stored order equals the creation answer');
    assert.ok(Array.isArray(events), `no events: ${show(res)}`);
    assert.deepEqual(events.map((e) => [e.from, e.to]), [['none', 'paid'], ['paid', 'submitted'], ['submitted', 'succeeded']]);
    let previous = -Infinity;
    for (const e of events) {
      const at = rfc3339Seconds(e.at, 'event at');
      assert.ok(at >= previous, 'events are in time order');
      previous = at;
    }
  });

  test('a recharge key can read orders (recharge includes read)', async () => {
    const created = await recharge({ msisdn: freshCmcc(), product: 'cmcc-10' });
    assertJson(await api(daemon, 'GET', `/v1/recharges/${created.id}`, { key: keys.recharge }), 200);
  });

  test('listing walks every page exactly once, newest first, even while new orders arrive', async () => {
    const msisdn = freshCmcc();
    const ids = [];
    for (let i = 0; i < 7; i++) ids.push((await recharge({ msisdn, product: 'cmcc-10' })).id);
    const newestFirst = [...ids].reverse();

    const { items, pages } = await walkPages(daemon, keys.read, `/v1/recharges?msisdn=${enc(msisdn)}`, { limit: 3 });
    assert.deepEqual(pages.map((p) => p.items.length), [3, 3, 1]);
    assert.deepEqual(items.map((o) => o.id), newestFirst);
    for (const o of items) assert.equal(o.msisdn, msisdn);

    // Start a walk, add orders, finish it: the walk still yields the original 7, once each.
    const path = `/v1/recharges?msisdn=${enc(msisdn)}`;
    const first = assertJson(await api(daemon, 'GET', `${path}&limit=3`, { key: keys.read }), 200);
    assert.equal(typeof first.next_cursor, 'string');
    await recharge({ msisdn, product: 'cmcc-10' });
    await recharge({ msisdn, product: 'cmcc-10' });
    const seen = first.items.map((o) => o.id);
    let cursor = first.next_cursor;
    while (cursor !== null) {
      const page = assertJson(await api(daemon, 'GET', `${path}&limit=3&cursor=${encodeURIComponent(cursor)}`, { key: keys.read }), 200);
      seen.push(...page.items.map((o) => o.id));
      cursor = page.next_cursor;
    }
    assert.deepEqual(seen, newestFirst, 'orders created mid-walk must not shift the pages');

    const all = assertJson(await api(daemon, 'GET', path, { key: keys.read }), 200, 'default limit');
    assert.equal(all.items.length, 9);
    assert.equal(all.next_cursor, null);
    assert.equal(new Set(all.items.map((o) => o.id)).size, 9, 'no duplicates');
  });

  test('listing with an exact page fit ends with next_cursor null on the last full page', async () => {
    const msisdn = freshCmcc();
    for (let i = 0; i < 4; i++) await recharge({ msisdn, product: 'cmcc-10' });
    const { items, pages } = await walkPages(daemon, keys.read, `/v1/recharges?msisdn=${enc(msisdn)}`, { limit: 2 });
    assert.equal(items.length, 4);
    assert.equal(new Set(items.map((o) => o.id)).size, 4);
    // The server looks one row ahead, so an exact fit ends on the full page, not an empty one.
    assert.equal(pages.length, 2, 'two full pages and no empty third');
    assert.equal(pages[1].items.length, 2);
    assert.equal(pages[1].next_cursor, null);
  });

  test('listing without a filter walks all orders with no duplicates', async () => {
    const { items } = await walkPages(daemon, keys.read, '/v1/recharges', { limit: 7 });
    const ids = items.map((o) => o.id);
    assert.equal(new Set(ids).size, ids.length, 'duplicate ids in the unfiltered walk');
    const times = items.map((o) => rfc3339Seconds(o.created_at));
    for (let i = 1; i < times.length; i++) assert.ok(times[i] <= times[i - 1], `newest first: ${items[i - 1].created_at} then ${items[i].created_at}`);
    assert.ok(ids.length >= 9);
  });

  for (const [query, code] of [
    ['limit=0', 'invalid_limit'],
    ['limit=201', 'invalid_limit'],
    ['limit=-1', 'invalid_limit'],
    ['limit=ten', 'invalid_limit'],
    ['limit=1.5', 'invalid_limit'],
    ['cursor=not-a-cursor', 'invalid_cursor'],
    ['cursor=-5', 'invalid_cursor'],
  ]) {
    test(`400 ${code}: GET /v1/recharges?${query}`, async () => {
      assertProblem(await api(daemon, 'GET', `/v1/recharges?${query}`, { key: keys.read }), 400, code, query);
    });
  }

  test('limit=200 and limit=1 are accepted', async () => {
    for (const limit of [1, 200]) {
      const page = assertJson(await api(daemon, 'GET', `/v1/recharges?limit=${limit}`, { key: keys.read }), 200);
      assert.ok(page.items.length <= limit && page.items.length >= 1);
    }
  });

  test('a subscriber\'s transactions walk every page once and credit each order its face value', async () => {
    const msisdn = freshCmcc();
    const orders = [];
    for (const product of ['cmcc-10', 'cmcc-100-promo', 'cmcc-50', 'cmcc-20', 'cmcc-30']) orders.push(await recharge({ msisdn, product }));
    const { items } = await walkPages(daemon, keys.read, `/v1/subscribers/${enc(msisdn)}/transactions`, { limit: 2 });
    const ids = items.map((t) => t.id);
    assert.equal(new Set(ids).size, ids.length, 'duplicate transactions across pages');
    const creditsByOrder = new Map();
    let net = 0;
    for (const t of items) {
      assert.ok(t.direction === 'credit' || t.direction === 'debit', `direction ${t.direction}`);
      assert.equal(t.currency, 'CNY');
      assert.ok(Number.isInteger(t.amount_minor) && t.amount_minor > 0, `amount ${t.amount_minor}`);
      assert.equal(typeof t.kind, 'string');
      rfc3339Seconds(t.at, 'transaction at');
      net += t.direction === 'credit' ? t.amount_minor : -t.amount_minor;
      if (t.direction === 'credit') creditsByOrder.set(t.order_id, (creditsByOrder.get(t.order_id) ?? 0) + t.amount_minor);
    }
    for (const o of orders) assert.equal(creditsByOrder.get(o.id), o.amount_minor, `credits of order ${o.id} (${o.product})`);
    assert.equal(net, await balanceOf(msisdn), 'the statement sums to the balance');

    // A walk that is interrupted by new recharges still yields exactly the original entries.
    const path = `/v1/subscribers/${enc(msisdn)}/transactions`;
    const first = assertJson(await api(daemon, 'GET', `${path}?limit=2`, { key: keys.read }), 200);
    await recharge({ msisdn, product: 'cmcc-10' });
    await recharge({ msisdn, product: 'cmcc-100-promo' });
    const seen = first.items.map((t) => t.id);
    let cursor = first.next_cursor;
    while (cursor !== null) {
      const page = assertJson(await api(daemon, 'GET', `${path}?limit=2&cursor=${encodeURIComponent(cursor)}`, { key: keys.read }), 200);
      seen.push(...page.items.map((t) => t.id));
      cursor = page.next_cursor;
    }
    assert.deepEqual(seen, ids, 'entries added mid-walk must not shift the pages');
  });

  for (const [query, code] of [['limit=0', 'invalid_limit'], ['cursor=x', 'invalid_cursor']]) {
    test(`400 ${code}: transactions ?${query}`, async () => {
      assertProblem(await api(daemon, 'GET', `/v1/subscribers/${enc(SEEDED_FUTURE)}/transactions?${query}`, { key: keys.read }), 400, code);
    });
  }

  test('404 subscriber_unknown for a number that was never recharged', async () => {
    assertProblem(await subscriber('+8618600009999'), 404, 'subscriber_unknown');
    assertProblem(await api(daemon, 'GET', `/v1/subscribers/${enc('+8618600009999')}/transactions`, { key: keys.read }), 404, 'subscriber_unknown');
  });
});

// ---------------------------------------------------------------- numbers, operators, products

describe('numbers and catalog', () => {
  for (const form of ['+8613800138000', '13800138000', '008613800138000', '+86 138-0013-8000', '１３８００１３８０００']) {
    test(`GET /v1/numbers/${form}`, async () => {
      const n = assertJson(await api(daemon, 'GET', `/v1/numbers/${enc(form)}`, { key: keys.read }), 200, form);
      assert.equal(n.msisdn, '+8613800138000');
      assert.equal(n.national.replace(/\D/g, ''), '13800138000');
      assert.equal(n.masked, '138****8000');
      assert.equal(n.country, 'CN');
      assert.equal(n.operator.id, 'cmcc');
      assert.match(n.operator.name, /China Mobile/);
      assert.equal(n.ported, false);
    });
  }

  test('a Philippine number', async () => {
    const n = assertJson(await api(daemon, 'GET', `/v1/numbers/${enc('+639171234567')}`, { key: keys.read }), 200);
    assert.equal(n.msisdn, '+639171234567');
    assert.equal(n.country, 'PH');
    assert.equal(n.operator.id, 'globe');
    assert.equal(n.ported, false);
  });

  test('a ported number reports its new operator and is recharged with that operator\'s products', async () => {
    const n = assertJson(await api(daemon, 'GET', `/v1/numbers/${enc(PORTED)}`, { key: keys.read }), 200);
    assert.equal(n.operator.id, 'cucc');
    assert.equal(n.ported, true);
    const order = await recharge({ msisdn: PORTED, product: 'cucc-50' });
    assert.equal(order.operator, 'cucc');
    assertProblem(await postRecharge(daemon, keys.recharge, newIdemKey(), { msisdn: PORTED, product: 'cmcc-50' }), 422, 'product_unknown', 'old operator\'s product');
    const sub = assertJson(await subscriber(PORTED), 200);
    assert.equal(sub.operator, 'cucc');
    assert.equal(sub.balance_minor, 5000);
  });

  for (const [form, code] of [['12345', 'invalid_number'], ['+8675512345678', 'number_not_mobile'], ['+8617012345678', 'unknown_operator']]) {
    test(`GET /v1/numbers/${form} -> 422 ${code}`, async () => {
      assertProblem(await api(daemon, 'GET', `/v1/numbers/${enc(form)}`, { key: keys.read }), 422, code);
    });
  }

  test('GET /v1/operators lists the four demo operators', async () => {
    const { items } = assertJson(await api(daemon, 'GET', '/v1/operators', { key: keys.read }), 200);
    const byId = Object.fromEntries(items.map((o) => [o.id, o]));
    assert.deepEqual(Object.keys(byId).sort(), ['cmcc', 'ctcc', 'cucc', 'globe']);
    for (const id of ['cmcc', 'cucc', 'ctcc']) {
      assert.equal(byId[id].country, 'CN');
      assert.equal(byId[id].currency, 'CNY');
      assert.equal(byId[id].connector, 'hosted');
    }
    assert.match(byId.cmcc.name, /China Mobile/);
    assert.equal(byId.globe.country, 'PH');
    assert.equal(byId.globe.currency, 'PHP');
  });

  test('GET /v1/operators/cmcc/products lists fixed, promo and range products', async () => {
    const { items } = assertJson(await api(daemon, 'GET', '/v1/operators/cmcc/products', { key: keys.read }), 200);
    const byId = Object.fromEntries(items.map((p) => [p.id, p]));
    for (const major of [10, 20, 30, 50, 100, 200, 300, 500]) {
      const p = byId[`cmcc-${major}`];
      assert.ok(p, `cmcc-${major} listed`);
      assert.deepEqual(p, { id: `cmcc-${major}`, kind: 'fixed', face_value_minor: major * 100, price_minor: major * 100, currency: 'CNY', validity_days: 30 });
    }
    assert.deepEqual(byId['cmcc-100-promo'], { id: 'cmcc-100-promo', kind: 'fixed', face_value_minor: 10000, price_minor: 9800, currency: 'CNY', validity_days: 30 });
    const custom = byId['cmcc-custom'];
    assert.equal(custom.kind, 'range');
    assert.equal(custom.min_minor, 1000);
    assert.equal(custom.max_minor, 50000);
    assert.equal(custom.step_minor, 100);
    assert.ok(Number.isInteger(custom.price_basis_points));
    assert.equal(custom.currency, 'CNY');
    assert.equal(custom.validity_days, 30);
    assert.ok(!items.some((p) => p.id.startsWith('cucc-')), 'another operator\'s products listed');
  });

  test('GET /v1/operators/globe/products lists PHP products', async () => {
    const { items } = assertJson(await api(daemon, 'GET', '/v1/operators/globe/products', { key: keys.read }), 200);
    assert.deepEqual(items.map((p) => p.id).sort(), ['globe-100', 'globe-300', 'globe-50', 'globe-500']);
    for (const p of items) assert.equal(p.currency, 'PHP');
  });

  test('404 for the products of an unknown operator', async () => {
    assertProblem(await api(daemon, 'GET', '/v1/operators/nope/products', { key: keys.read }), 404);
  });
});

// ---------------------------------------------------------------- idempotency

describe('idempotency', () => {
  test('a replay answers the same status and body with Idempotent-Replayed: true and credits once', async () => {
    const msisdn = freshCmcc();
    const idem = newIdemKey('replay');
    const body = { msisdn, product: 'cmcc-50' };
    const first = await postRecharge(daemon, keys.recharge, idem, body);
    assertJson(first, 201, 'first');
    assert.notEqual(first.header('idempotent-replayed'), 'true', 'the first answer is not a replay');
    const second = await postRecharge(daemon, keys.recharge, idem, body);
    assertJson(second, 201, 'replay');
    assert.equal(second.header('idempotent-replayed'), 'true');
    assert.deepEqual(second.body, first.body);
    // Reordered and re-spaced JSON is the same request.
    const reordered = `{\n  "product" : "cmcc-50",\t"msisdn":"${msisdn}"\n}`;
    const third = await postRecharge(daemon, keys.recharge, idem, reordered);
    assertJson(third, 201, 'reordered replay');
    assert.equal(third.header('idempotent-replayed'), 'true');
    assert.deepEqual(third.body, first.body);
    assert.equal(await balanceOf(msisdn), 5000);
    assert.equal((await ordersOf(msisdn)).length, 1);
  });

  test('the same key with a different body is 409 idempotency_key_reused and changes nothing', async () => {
    const msisdn = freshCmcc();
    const idem = newIdemKey('reuse');
    const first = assertJson(await postRecharge(daemon, keys.recharge, idem, { msisdn, product: 'cmcc-50' }), 201);
    for (const other of [
      { msisdn, product: 'cmcc-100' },
      { msisdn: freshCmcc(), product: 'cmcc-50' },
      { msisdn, amount_minor: 5000, currency: 'CNY' },
    ]) {
      assertProblem(await postRecharge(daemon, keys.recharge, idem, other), 409, 'idempotency_key_reused', JSON.stringify(other));
      if (other.msisdn !== msisdn) assertProblem(await subscriber(other.msisdn), 404, 'subscriber_unknown', 'the other number was not credited');
    }
    assert.equal((await ordersOf(msisdn)).length, 1, 'no second order');
    assert.equal(await balanceOf(msisdn), 5000);
    const again = await postRecharge(daemon, keys.recharge, idem, { msisdn, product: 'cmcc-50' });
    assertJson(again, 201, 'original still replays after a refused reuse');
    assert.deepEqual(again.body, first);
  });

  test('idempotency keys are scoped per API key', async () => {
    const msisdn = freshCmcc();
    const idem = newIdemKey('shared');
    const body = { msisdn, product: 'cmcc-20' };
    const a = assertJson(await postRecharge(daemon, keys.recharge, idem, body), 201, 'key A');
    const b = await postRecharge(daemon, keys.recharge2, idem, body);
    assertJson(b, 201, 'key B');
    assert.notEqual(b.header('idempotent-replayed'), 'true', 'key B must not see key A\'s answer');
    assert.notEqual(b.body.id, a.id);
    // A different body under the same Idempotency-Key is fine for the other API key too.
    const c = await postRecharge(daemon, keys.admin, idem, { msisdn, product: 'cmcc-10' });
    assertJson(c, 201, 'key C with another body');
    assert.equal(await balanceOf(msisdn), 2000 + 2000 + 1000);
  });

  test('a replay after a daemon restart returns the stored answer', async () => {
    const msisdn = freshCmcc();
    const idem = newIdemKey('restart');
    const body = { msisdn, product: 'cmcc-30' };
    const first = assertJson(await postRecharge(daemon, keys.recharge, idem, body), 201);
    const exit = await daemon.stop();
    assert.equal(exit.timedOut, false, 'topupd did not stop within 10 s of SIGTERM');
    daemon = await startDaemon(ws.db);
    const again = await postRecharge(daemon, keys.recharge, idem, body);
    assertJson(again, 201, 'replay after restart');
    assert.equal(again.header('idempotent-replayed'), 'true');
    assert.deepEqual(again.body, first);
    assert.equal(await balanceOf(msisdn), 3000);
  });
});

// ---------------------------------------------------------------- metrics

describe('metrics', () => {
  test('counters move with traffic', async () => {
    const before = (await api(daemon, 'GET', '/metrics')).text;
    const succeededBefore = metricValue(before, 'topup_recharges_total', '{result="succeeded"}') ?? 0;
    await recharge({ msisdn: freshCmcc(), product: 'cmcc-10' });
    await recharge({ msisdn: freshCmcc(), product: 'cmcc-10' });
    const after = (await api(daemon, 'GET', '/metrics')).text;
    assert.equal(metricValue(after, 'topup_recharges_total', '{result="succeeded"}'), succeededBefore + 2, 'recharges_total{result="succeeded"} +2');
    const total = after.split('\n').filter((l) => l.startsWith('topup_http_requests_total')).reduce((s, l) => s + Number(l.trim().split(/\s+/).at(-1)), 0);
    assert.ok(total >= 3, `topup_http_requests_total sums to ${total}`);
    const inf = after.split('\n').find((l) => l.startsWith('topup_commit_batch_size_bucket') && l.includes('le="+Inf"'));
    assert.ok(inf && Number(inf.trim().split(/\s+/).at(-1)) >= 2, `commit batch histogram counted no batches: ${inf}`);
    assert.ok(Number.isFinite(metricValue(after, 'topup_write_queue_depth')), 'topup_write_queue_depth has a value');
  });
});

// ---------------------------------------------------------------- shutdown and ledger

test('topupd exits 0 on SIGTERM and the ledger verifies', async () => {
  const exit = await daemon.stop({ signal: 'SIGTERM', timeoutMs: 10000 });
  assert.equal(exit.timedOut, false, 'topupd did not exit within 10 s of SIGTERM');
  assert.equal(exit.code, 0, `topupd exit ${JSON.stringify(exit)}; log:\n${daemon.log().slice(-3000)}`);
  await verifyLedger(ws.db);
});
