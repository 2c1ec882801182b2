// The web portal's JSON endpoints, without a browser: CSRF on every change, registration with an
// SMS code, login by password and by code, no account enumeration, the lockout after 5 wrong
// passwords, reset ending other sessions, a guest order paid in the sandbox with its access
// token, the account's history, the receipt PDF and its check. The browser tests
// (tests/portal/) drive the same through the pages.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { assertJson, assertProblem, createWorkspace, sleep, startDaemon, verifyLedger } from './harness.mjs';
import { smsSettings, startSmsGateway } from './sms_gateway.mjs';

/** A browser-like client: keeps cookies, sends the CSRF header on changes. */
class Browser {
  constructor(daemon) {
    this.daemon = daemon;
    this.cookies = new Map();
  }

  request(method, urlPath, { json, headers = {}, csrf = true } = {}) {
    const body = json === undefined ? undefined : JSON.stringify(json);
    const all = { ...headers };
    if (body !== undefined) all['content-type'] = 'application/json';
    if (csrf && method !== 'GET' && this.cookies.has('topup_csrf')) all['x-csrf-token'] = this.cookies.get('topup_csrf');
    if (this.cookies.size) all.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: this.daemon.port, method, path: urlPath, headers: all }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          for (const line of res.headers['set-cookie'] ?? []) {
            const [pair, ...attributes] = line.split(';');
            const [name, value] = pair.split('=');
            const expired = attributes.some((a) => a.trim().toLowerCase() === 'max-age=0');
            if (expired || value === '') this.cookies.delete(name.trim());
            else this.cookies.set(name.trim(), value);
          }
          const raw = Buffer.concat(chunks);
          const text = raw.toString('utf8');
          let parsed;
          try { parsed = JSON.parse(text); } catch { parsed = undefined; }
          resolve({ status: res.statusCode, headers: res.headers, raw, text, json: parsed, body: parsed,
            header: (n) => res.headers[n.toLowerCase()], contentType: res.headers['content-type'] ?? '' });
        });
      });
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  async start() {
    return assertJson(await this.request('GET', '/portal/api/session'), 200, 'session');
  }
}

describe('web portal endpoints', () => {
  let ws;
  let daemon;
  let gw;
  before(async () => {
    ws = await createWorkspace('portal');
    gw = await startSmsGateway();
    const secret = path.join(ws.dir, 'sms-password');
    fs.writeFileSync(secret, 's3cret\n', { mode: 0o600 });
    const webhook = path.join(ws.dir, 'webhook');
    fs.writeFileSync(webhook, 'sandbox-webhook-secret-0123456789\n', { mode: 0o600 });
    const config = await ws.writeFile('topupd.conf', smsSettings(gw, secret, [
      'sandbox.gateway = http://127.0.0.1:1', `sandbox.webhook_secret = ${webhook}`,
    ]));
    daemon = await startDaemon(ws.db, { args: ['--config', config] });
  });
  after(async () => {
    await daemon?.stop();
    await gw?.close();
    await ws?.cleanup();
  });

  async function sendCode(b, msisdn, purpose) {
    const before = gw.requests.filter((q) => q.to === msisdn).length;
    assertJson(await b.request('POST', '/portal/api/otp', { json: { msisdn, purpose } }), 202, `otp ${purpose}`);
    for (const deadline = Date.now() + 10000; Date.now() < deadline; await sleep(50)) {
      const mine = gw.requests.filter((q) => q.to === msisdn);
      if (mine.length > before) return /(\d{6})/.exec(mine.at(-1).text)[1];
    }
    return assert.fail(`no ${purpose} SMS to ${msisdn}`);
  }

  test('a change without the CSRF header is refused, and changes nothing', async () => {
    const b = new Browser(daemon);
    await b.start();
    assertProblem(await b.request('POST', '/portal/api/otp', { json: { msisdn: '13800138201', purpose: 'register' }, csrf: false }), 403, 'csrf_failed');
    const forged = await b.request('POST', '/portal/api/login', {
      json: { msisdn: '13800138201', password: 'whatever123' }, csrf: false, headers: { 'x-csrf-token': 'f'.repeat(32) } });
    assertProblem(forged, 403, 'csrf_failed', 'a header that is not the cookie');
    assert.equal(gw.requests.filter((q) => q.to === '+8613800138201').length, 0, 'no SMS went out');
  });

  test('register with an SMS code, log out, log in by password and by code', async () => {
    const b = new Browser(daemon);
    const first = await b.start();
    assert.equal(first.logged_in, false);
    assert.deepEqual(first.providers, [{ name: 'sandbox', methods: ['checkout'] }],
      'the page is told which providers and browser methods this deployment has');
    const code = await sendCode(b, '+8613800138202', 'register');
    assertProblem(await b.request('POST', '/portal/api/register', { json: { msisdn: '13800138202', code, password: '12345678' } }), 400, 'weak_password');
    const made = assertJson(await b.request('POST', '/portal/api/register', { json: { msisdn: '13800138202', code, password: 'correct horse 1' } }), 201, 'register');
    assert.equal(made.msisdn, '+8613800138202');
    const session = assertJson(await b.request('GET', '/portal/api/session'), 200, 'session');
    assert.equal(session.logged_in, true);
    const stored = execFileSync('sqlite3', [ws.db, "SELECT password_hash FROM portal_users WHERE msisdn = '+8613800138202'"], { encoding: 'utf8' });
    assert.match(stored, /^\$argon2id\$/, 'the password is kept as an Argon2id hash');
    assert.equal((await b.request('POST', '/portal/api/logout')).status, 204);
    assert.equal(assertJson(await b.request('GET', '/portal/api/session'), 200, 'after logout').logged_in, false);
    assertProblem(await b.request('GET', '/portal/api/account'), 401, 'login_required');
    assertJson(await b.request('POST', '/portal/api/login', { json: { msisdn: '13800138202', password: 'correct horse 1' } }), 200, 'password login');
    assert.equal(assertJson(await b.request('GET', '/portal/api/account'), 200, 'account').msisdn, '+8613800138202');
    const other = new Browser(daemon);
    await other.start();
    const loginCode = await sendCode(other, '+8613800138202', 'login');
    assertJson(await other.request('POST', '/portal/api/login', { json: { msisdn: '13800138202', code: loginCode } }), 200, 'code login');
  });

  test('an unknown number and a wrong password get the same answer; 5 wrong passwords lock; reset lifts it', async () => {
    const b = new Browser(daemon);
    await b.start();
    const code = await sendCode(b, '+8613800138203', 'register');
    assertJson(await b.request('POST', '/portal/api/register', { json: { msisdn: '13800138203', code, password: 'first password' } }), 201, 'register');
    const unknown = await b.request('POST', '/portal/api/login', { json: { msisdn: '13800138299', password: 'first password' } });
    const wrong = await b.request('POST', '/portal/api/login', { json: { msisdn: '13800138203', password: 'not the password' } });
    assertProblem(unknown, 401, 'invalid_credentials');
    assertProblem(wrong, 401, 'invalid_credentials');
    assert.equal(unknown.json.detail, wrong.json.detail, 'the same words for both');
    for (let i = 0; i < 4; i++)
      assertProblem(await b.request('POST', '/portal/api/login', { json: { msisdn: '13800138203', password: `wrong ${i}xx` } }), 401, 'invalid_credentials');
    const locked = await b.request('POST', '/portal/api/login', { json: { msisdn: '13800138203', password: 'first password' } });
    assertProblem(locked, 429, 'locked', 'even the right password is refused while locked');
    assert.ok(Number(locked.header('retry-after')) > 800, `Retry-After ${locked.header('retry-after')}`);
    const resetCode = await sendCode(b, '+8613800138203', 'reset');
    assertJson(await b.request('POST', '/portal/api/reset', { json: { msisdn: '13800138203', code: resetCode, password: 'second password' } }), 200, 'reset');
    assertProblem(await b.request('POST', '/portal/api/login', { json: { msisdn: '13800138203', password: 'first password' } }), 401, 'invalid_credentials');
    assertJson(await b.request('POST', '/portal/api/login', { json: { msisdn: '13800138203', password: 'second password' } }), 200, 'new password');
  });

  test('a guest order paid in the sandbox: access token, balance, receipt and its check', async () => {
    const b = new Browser(daemon);
    await b.start();
    const number = assertJson(await b.request('GET', '/portal/api/numbers/13800138204'), 200, 'number');
    assert.equal(number.masked, '138****8204');
    assert.ok(number.products.some((p) => p.id === 'cmcc-50'));
    const created = assertJson(await b.request('POST', '/portal/api/orders', {
      json: { msisdn: '13800138204', product: 'cmcc-50', provider: 'sandbox', method: 'checkout' },
      headers: { 'idempotency-key': 'portal-guest-1' } }), 201, 'order');
    assert.equal(created.channel, 'web');
    assert.match(created.access, /^[0-9a-f]{32}$/);
    const stranger = new Browser(daemon);
    assertProblem(await stranger.request('GET', `/portal/api/orders/${created.id}`), 404, 'not_found', 'no token, no order');
    assertProblem(await stranger.request('GET', `/portal/api/orders/${created.id}?t=${'0'.repeat(32)}`), 404, 'not_found');
    const form = await new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: daemon.port, method: 'POST', path: `/sandbox/pay/${created.payment.out_trade_no}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' } }, (res) => {
        let text = ''; res.on('data', (c) => { text += c; }); res.on('end', () => resolve({ status: res.statusCode, text }));
      });
      req.on('error', reject);
      req.end('action=pay');
    });
    assert.equal(form.status, 200, form.text);
    assert.ok(form.text.includes(`/order/${created.id}?t=${created.access}`), 'the sandbox page leads back to the order');
    let order;
    for (const deadline = Date.now() + 10000; Date.now() < deadline; await sleep(100)) {
      order = assertJson(await stranger.request('GET', `/portal/api/orders/${created.id}?t=${created.access}`), 200, 'order');
      if (order.status === 'succeeded') break;
    }
    assert.equal(order.status, 'succeeded');
    assert.equal(order.balance_minor, 5000);
    const pdf = await stranger.request('GET', `/portal/receipts/${created.id}.pdf?t=${created.access}`);
    assert.equal(pdf.status, 200);
    assert.match(pdf.contentType, /^application\/pdf/);
    assert.equal(pdf.raw.subarray(0, 5).toString(), '%PDF-');
    const file = path.join(ws.dir, 'receipt.pdf');
    fs.writeFileSync(file, pdf.raw);
    const text = execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' });
    assert.ok(text.includes('138****8204') && text.includes('50.00'), text);
    assert.ok(!text.includes('13800138204'), 'the full number is not on the receipt');
    const url = /(http:\/\/\S+\/r\/\d+\/[0-9a-f]{16})/.exec(text.replace(/\s+/g, ' '))?.[1];
    assert.ok(url, `a check URL on the receipt: ${text}`);
    const [, id, check] = /\/r\/(\d+)\/([0-9a-f]{16})/.exec(url);
    const genuine = assertJson(await stranger.request('GET', `/portal/api/check/${id}/${check}`), 200, 'check');
    assert.deepEqual([genuine.genuine, genuine.masked, genuine.amount_minor, genuine.status], [true, '138****8204', 5000, 'succeeded']);
    const forged = assertJson(await stranger.request('GET', `/portal/api/check/${id}/${'a'.repeat(16)}`), 200, 'forged');
    assert.equal(forged.genuine, false);
    await verifyLedger(ws.db);
  });

  test('pages carry the browser security headers; assets are cacheable', async () => {
    const b = new Browser(daemon);
    const page = await b.request('GET', '/');
    assert.equal(page.status, 200);
    assert.match(page.contentType, /^text\/html/);
    assert.match(page.header('content-security-policy'), /default-src 'self'/);
    assert.equal(page.header('x-frame-options'), 'DENY');
    assert.equal(page.header('cache-control'), 'no-store');
    const asset = await b.request('GET', '/assets/i18n.js');
    assert.equal(asset.status, 200);
    assert.match(asset.header('cache-control'), /max-age=/);
    const etag = asset.header('etag');
    assert.match(etag ?? '', /^"[0-9a-f]{16}"$/);
    const again = await b.request('GET', '/assets/i18n.js', { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304, 'an unchanged asset is not sent again');
    assert.equal(again.raw.length, 0);
    assert.equal((await b.request('GET', '/assets/nope.js')).status, 404);
  });
});
