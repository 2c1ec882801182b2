// The counter's Alipay payment-code tender (docs/counter.md) against the fake Alipay gateway:
// a code paid at once credits in the answer; a code whose trade.pay goes unanswered is settled by
// query and credited only when Alipay says paid; a code Alipay refuses closes the order with
// nothing credited; such a recharge is never reversed at the counter. The counter record is
// written with the order in one transaction, and `topup verify` runs after every scenario.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { startAlipayGateway } from '../payments/fake/alipay-gateway.mjs';
import { assertJson, assertProblem, createWorkspace, run, sleep, startDaemon, topup, TOPUP, verifyLedger } from './harness.mjs';

const PASSWORD = 'counter alipay horse';
const ID_NUMBER = '11010519491231002X';
const PAID_CODE = '281234567890123456'; // the fake pays codes starting 28 at once
const REFUSED_CODE = '251234567890123456'; // a well-formed code the fake refuses
const CONFIRM_CODE = '261234567890123456'; // the fake waits for the payer to confirm in the app
const TIMEOUT_MS = 500;

const pem = (key, type) => key.export(type === 'private' ? { type: 'pkcs8', format: 'pem' } : { type: 'spki', format: 'pem' });

/** A staff member's browser: cookies kept, the CSRF header sent on changes. */
class Desk {
  constructor(daemon) {
    this.daemon = daemon;
    this.cookies = new Map();
  }

  request(method, urlPath, { json, headers: extra = {} } = {}) {
    const body = json === undefined ? undefined : JSON.stringify(json);
    const headers = { ...extra };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const csrf = this.cookies.get('topup_counter_csrf');
    if (csrf && method !== 'GET') headers['x-csrf-token'] = csrf;
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: this.daemon.port, method, path: urlPath, headers }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          for (const line of res.headers['set-cookie'] ?? []) {
            const [name, value] = line.split(';')[0].split('=');
            if (value) this.cookies.set(name.trim(), value);
            else this.cookies.delete(name.trim());
          }
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed;
          try { parsed = JSON.parse(text); } catch { parsed = undefined; }
          resolve({ status: res.statusCode, headers: res.headers, text, body: parsed, contentType: res.headers['content-type'] ?? '' });
        });
      });
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  async login(staffId) {
    await this.request('GET', '/counter/api/session');
    return assertJson(await this.request('POST', '/counter/api/login', { json: { staff_id: staffId, password: PASSWORD } }), 200, `login ${staffId}`);
  }

  recharge(fields, key = crypto.randomUUID()) {
    return this.request('POST', '/counter/api/recharges', {
      json: { msisdn: '13800138301', product: 'cmcc-50', id_type: 'resident_id', id_number: ID_NUMBER, ...fields },
      headers: { 'idempotency-key': key },
    });
  }
}

const sql = (db, query) => execFileSync('sqlite3', [db, query], { encoding: 'utf8' }).trim();
const balance = (db, msisdn) =>
  Math.abs(Number(sql(db, `SELECT coalesce(max(a.balance_minor), 0) FROM subscribers s JOIN accounts a ON a.id = s.account_id WHERE s.msisdn = '${msisdn}'`)));

describe('counter: Alipay payment code', () => {
  let ws;
  let gw;
  let daemon;
  let wang;
  before(async () => {
    ws = await createWorkspace('counter-alipay');
    const db = ['--db', ws.db];
    await topup(['hall', 'add', '--id', 'bj-xidan', '--name', '北京西单营业厅', '--currency', 'CNY', ...db]);
    for (const [id, role] of [['wang', 'teller'], ['li', 'supervisor']]) {
      const r = await run(TOPUP, ['staff', 'add', '--id', id, '--name', id, '--role', role, '--hall', 'bj-xidan', ...db], { input: `${PASSWORD}\n` });
      assert.equal(r.code, 0, r.stderr);
    }
    const gen = () => crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const app = gen();
    const alipay = gen();
    gw = await startAlipayGateway({ appId: '2021000000000001', appPublicKey: pem(app.publicKey, 'public'), alipayPrivateKey: pem(alipay.privateKey, 'private') });
    const appKey = await ws.writeFile('alipay-app-private.pem', pem(app.privateKey, 'private'));
    fs.chmodSync(appKey, 0o600);
    const idKey = path.join(ws.dir, 'counter-key');
    fs.writeFileSync(idKey, 'counter-id-hash-secret-0123456789\n', { mode: 0o600 });
    const settings = {
      'counter.key_file': idKey,
      'payments.settle_interval_ms': 100,
      'payments.retry_base_ms': 100,
      'payments.retry_max_ms': 500,
      'alipay.gateway': gw.url,
      'alipay.app_id': '2021000000000001',
      'alipay.private_key': appKey,
      'alipay.public_key': await ws.writeFile('alipay-public.pem', pem(alipay.publicKey, 'public')),
      'alipay.notify_url': 'http://127.0.0.1:9/v1/payments/alipay/notify',
      'alipay.timeout_ms': TIMEOUT_MS,
    };
    const config = await ws.writeFile('topupd.conf', `${Object.entries(settings).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`);
    daemon = await startDaemon(ws.db, { args: ['--config', config] });
    wang = new Desk(daemon);
    await wang.login('wang');
    assertJson(await wang.request('POST', '/counter/api/shift/open', { json: { float_minor: 0 } }), 201, 'shift open');
  });
  after(async () => {
    await daemon?.stop();
    await gw?.close();
    await ws?.cleanup();
  });

  test('the code is checked before anything is asked of Alipay', async () => {
    const page = await wang.request('GET', '/counter/recharge');
    assert.match(page.text, /value="alipay_code"/, 'the page offers the tender');
    assert.match(page.text, /id="auth-code"/);
    assertProblem(await wang.recharge({ tender: 'alipay_code' }), 400, 'invalid_field');
    assertProblem(await wang.recharge({ tender: 'alipay_code', auth_code: '12345' }), 400, 'invalid_field');
    assertProblem(await wang.recharge({ tender: 'alipay_code', auth_code: '991234567890123456' }), 400, 'invalid_field');
    assertProblem(await wang.recharge({ tender: 'card', pos_reference: 'P-1', auth_code: PAID_CODE }), 400, 'invalid_field');
    assert.equal(gw.requests.length, 0, 'nothing went to Alipay');
    assert.equal(sql(ws.db, "SELECT count(*) FROM counter_orders WHERE tender = 'alipay_code'"), '0');
  });

  test('a code Alipay pays at once credits in the answer, and is not reversed at the counter', async () => {
    const msisdn = '+8613800138311';
    const key = crypto.randomUUID();
    const res = await wang.recharge({ msisdn, tender: 'alipay_code', auth_code: PAID_CODE }, key);
    const done = assertJson(res, 201, 'code paid');
    assert.equal(done.order.status, 'succeeded', res.text);
    assert.equal(done.order.payment.status, 'paid');
    assert.equal(done.order.payment.method, 'code');
    assert.equal(done.order.payment.trade_no, gw.trades.get(done.order.payment.out_trade_no).tradeNo);
    assert.equal(done.counter.tender, 'alipay_code');
    assert.equal(done.counter.id_last4, '002X');
    assert.equal(balance(ws.db, msisdn), 5000);
    assert.equal(sql(ws.db, `SELECT channel || '|' || coalesce(api_key_id, 0) FROM orders WHERE id = ${done.order.id}`), 'counter|0');
    assert.ok(!execFileSync('sqlite3', [ws.db, '.dump'], { encoding: 'utf8', maxBuffer: 1 << 26 }).includes(PAID_CODE), 'the code is not stored');
    assert.ok(!daemon.log().includes(PAID_CODE), 'the code is not logged');

    // The same key answers the same order again (the page follows a payment this way).
    const again = assertJson(await wang.recharge({ msisdn, tender: 'alipay_code', auth_code: PAID_CODE }, key), 200, 'replay');
    assert.equal(again.order.id, done.order.id);
    assert.equal(gw.requests.filter((r) => r.method === 'alipay.trade.pay').length, 1, 'one trade.pay only');

    const receipt = await wang.request('POST', `/counter/api/receipts/${done.order.id}`);
    assert.equal(receipt.status, 200, receipt.text.slice(0, 300));
    assert.match(receipt.contentType, /application\/pdf/);

    const li = new Desk(daemon);
    await li.login('li');
    // A payment-code recharge goes back through Alipay: the credit comes off the number in the
    // reversal's transaction, and the settlement worker sends the refund of that payment.
    assertJson(await li.request('POST', '/counter/api/reversals', { json: { order_id: done.order.id, reason: '客户要求' } }), 200, 'reverse');
    assert.equal(balance(ws.db, msisdn), 0);
    assert.equal(sql(ws.db, `SELECT status FROM orders WHERE id = ${done.order.id}`), 'reversed');
    let refund = '';
    for (const deadline = Date.now() + 15000; Date.now() < deadline; await sleep(100)) {
      refund = sql(ws.db, `SELECT r.status || '|' || r.amount_minor FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE p.order_id = ${done.order.id}`);
      if (refund.startsWith('succeeded')) break;
    }
    assert.equal(refund, 'succeeded|5000', 'Alipay refunded the payment');
    const trade = gw.trades.get(done.order.payment.out_trade_no);
    assert.equal(trade.refunds.reduce((sum, r) => sum + r.amountMinor, 0), 5000, 'the gateway holds one refund of the price');
    await verifyLedger(ws.db);
  });

  test('a payer still confirming in the app: pending, nothing credited, then credited by query once paid', async () => {
    const msisdn = '+8613800138314';
    const key = `confirm-${Date.now()}`;
    const first = assertJson(await wang.recharge({ msisdn, tender: 'alipay_code', auth_code: CONFIRM_CODE }, key), 201, 'pending');
    assert.equal(first.order.status, 'awaiting_payment');
    assert.equal(first.order.payment.status, 'pending');
    assert.equal(balance(ws.db, msisdn), 0, 'nothing credited while the payer confirms');
    await sleep(500); // the settlement worker asks meanwhile, and Alipay still says waiting
    assert.equal(balance(ws.db, msisdn), 0);
    // The payer confirms. The notification goes to this test's unreachable notify_url, as a lost
    // notification would, so only topup's own query can find the payment.
    await gw.pay(first.order.payment.out_trade_no).then(() => assert.fail('the notification was delivered'), () => {});
    let status = '';
    for (const deadline = Date.now() + 15000; Date.now() < deadline && status !== 'succeeded'; await sleep(100))
      status = sql(ws.db, `SELECT status FROM orders WHERE id = ${first.order.id}`);
    assert.equal(status, 'succeeded', 'a query found the payment');
    assert.equal(balance(ws.db, msisdn), 5000);
    // The page follows the order by reading it, without sending the recharge (or the ID) again.
    const followed = assertJson(await wang.request('GET', `/counter/api/orders/${first.order.id}`), 200, 'follow');
    assert.equal(followed.order.id, first.order.id);
    assert.equal(followed.order.status, 'succeeded');
    assert.equal(followed.order.payment.status, 'paid');
    assert.equal(followed.counter.tender, 'alipay_code');
    // Asking again with the same key shows the same order and pays nothing twice.
    const again = assertJson(await wang.recharge({ msisdn, tender: 'alipay_code', auth_code: CONFIRM_CODE }, key), 200, 'replay');
    assert.equal(again.order.id, first.order.id);
    assertProblem(await wang.request('GET', '/counter/api/orders/999999'), 404, 'not_found');
    const stranger = new Desk(daemon);
    assertProblem(await stranger.request('GET', `/counter/api/orders/${first.order.id}`), 401, 'login_required');
    await verifyLedger(ws.db);
  });

  test('an unanswered trade.pay is settled by query, and credited only when Alipay says paid', async () => {
    const msisdn = '+8613800138312';
    gw.mode = 'slow';
    gw.delayMs = TIMEOUT_MS * 3; // Alipay takes the payment after topup stopped waiting
    let res;
    try {
      res = await wang.recharge({ msisdn, tender: 'alipay_code', auth_code: PAID_CODE });
    } finally {
      gw.mode = 'normal';
    }
    const open = assertJson(res, 202, 'code unanswered');
    assert.notEqual(open.order.status, 'succeeded');
    assert.equal(open.order.payment.status, 'unknown');
    assert.equal(balance(ws.db, msisdn), 0, 'nothing credited by guessing');
    assert.equal(sql(ws.db, `SELECT tender FROM counter_orders WHERE order_id = ${open.order.id}`), 'alipay_code');

    let status = '';
    for (let i = 0; i < 100 && status !== 'succeeded'; i++) {
      await sleep(100);
      status = sql(ws.db, `SELECT status FROM orders WHERE id = ${open.order.id}`);
    }
    assert.equal(status, 'succeeded', 'the query found the payment');
    assert.equal(sql(ws.db, `SELECT status FROM payments WHERE order_id = ${open.order.id}`), 'paid');
    assert.equal(balance(ws.db, msisdn), 5000);
    assert.ok(gw.requests.some((r) => r.method === 'alipay.trade.query'), 'settled by query');
    await verifyLedger(ws.db);
  });

  test('a code Alipay refuses closes the order with nothing credited', async () => {
    const msisdn = '+8613800138313';
    const res = await wang.recharge({ msisdn, tender: 'alipay_code', auth_code: REFUSED_CODE });
    const done = assertJson(res, 201, 'code refused');
    assert.equal(done.order.status, 'closed', res.text);
    assert.equal(done.order.payment.status, 'failed');
    assert.equal(balance(ws.db, msisdn), 0);
    assert.equal(sql(ws.db, `SELECT count(*) FROM transfers WHERE order_id = ${done.order.id}`), '0');
    assertProblem(await wang.request('POST', `/counter/api/receipts/${done.order.id}`), 409, 'not_credited');
    await verifyLedger(ws.db);
  });
});
