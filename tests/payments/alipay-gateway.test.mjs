// topup's Alipay provider (src/payments/alipay_gateway.c) driven through the real CLI,
// `topup pay gateway alipay ...`, against the fake gateway in fake/alipay-gateway.mjs, which
// checks every request's signature with alipay-sdk's own verifier and signs its answers and
// notifications as Alipay does. Each test states what a merchant relies on: a payment URL
// Alipay will accept, a state topup reports only when Alipay said so in a signed answer, a
// refund that never happens twice, and "unknown" whenever Alipay's word is missing or forged.
//
// Run from the repository root: node --test tests/payments/
//   TOPUP_BUILD   build directory (default "build", relative to the repository root)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { AlipaySdk } from 'alipay-sdk';

import { beijingTime, startAlipayGateway } from './fake/alipay-gateway.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const BUILD = path.resolve(REPO, process.env.TOPUP_BUILD || 'build');
const TOPUP = path.join(BUILD, 'topup');

const APP_ID = '2021000000000001';
const RETURN_URL = 'https://shop.example/paid?from=alipay';

let dir;
const keys = {}; // app: the application's pair; alipay: "Alipay's" pair; other: unrelated
let gw;
let notifications; // what the capture server received, in order
let notifyServer;
let notifyUrl;
let config; // the config file for the fake, keys in place
let sequence = 0;

function makeKeyPair(name) {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const publicPath = path.join(dir, `${name}-public.pem`);
  const privatePath = path.join(dir, `${name}-private.pem`);
  fs.writeFileSync(publicPath, publicKey, { mode: 0o644 });
  fs.writeFileSync(privatePath, privateKey, { mode: 0o600 });
  fs.chmodSync(privatePath, 0o600); // whatever the umask did
  return { publicPem: publicKey, privatePem: privateKey, publicPath, privatePath };
}

/** Writes a config file; settings override or (with undefined) remove the defaults. */
function writeConfig(name, settings = {}) {
  const all = {
    'alipay.gateway': gw.url,
    'alipay.app_id': APP_ID,
    'alipay.private_key': keys.app.privatePath,
    'alipay.public_key': keys.alipay.publicPath,
    'alipay.notify_url': notifyUrl,
    'alipay.return_url': RETURN_URL,
    'alipay.timeout_ms': '5000',
    ...settings,
  };
  const lines = Object.entries(all)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key} = ${value}`);
  const file = path.join(dir, `${name}.conf`);
  fs.writeFileSync(file, `# alipay-gateway test\n${lines.join('\n')}\n`);
  return file;
}

/** Runs topup without blocking the event loop the fake gateway answers on. */
function topup(args, { env = {}, input = '' } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(TOPUP, args, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** `topup pay gateway alipay OPERATION --config ... ARGS`, its JSON answer parsed. */
async function gateway(operation, args, { configFile = config, env } = {}) {
  const command = ['pay', 'gateway', 'alipay', operation, '--config', configFile, ...args];
  const r = await topup(command, { env });
  let out = null;
  try {
    out = JSON.parse(r.stdout);
  } catch {
    // left null: the assertions say what was expected
  }
  return { ...r, out };
}

const describeRun = (r) => `exit ${r.status}; stdout ${r.stdout}; stderr ${r.stderr}`;

function newTradeNo() {
  sequence += 1;
  return `T${Date.now()}-${sequence}`;
}

function create(outTradeNo, method, extra = [], options) {
  return gateway(
    'create',
    ['--out-trade-no', outTradeNo, '--amount', '100.00', '--currency', 'CNY', '--method', method,
      ...extra],
    options,
  );
}

const query = (outTradeNo, options) => gateway('query', ['--out-trade-no', outTradeNo], options);
const close = (outTradeNo, options) => gateway('close', ['--out-trade-no', outTradeNo], options);
function refund(outTradeNo, outRequestNo, amount, options) {
  return gateway(
    'refund',
    ['--out-trade-no', outTradeNo, '--out-request-no', outRequestNo, '--amount', amount,
      '--total', '100.00', '--currency', 'CNY', '--reason', '充值失败退款'],
    options,
  );
}

/** An SDK that verifies what the application signed (its public key as "alipayPublicKey"). */
function appSignatureChecker() {
  return new AlipaySdk({
    appId: APP_ID,
    privateKey: keys.alipay.privatePem.trim(),
    keyType: 'PKCS8',
    alipayPublicKey: keys.app.publicPem.trim(),
    signType: 'RSA2',
  });
}

/** Seconds between a "yyyy-MM-dd HH:mm:ss" Beijing time and a Date. */
function secondsFrom(text, date) {
  const at = Date.parse(`${text.replace(' ', 'T')}+08:00`);
  return Math.abs(at - date.getTime()) / 1000;
}

/** A trade paid at the fake through a payment code, as topup created it. */
async function paidTrade() {
  const outTradeNo = newTradeNo();
  const r = await create(outTradeNo, 'code', ['--auth-code', '281234567890123456']);
  assert.equal(r.status, 0, describeRun(r));
  assert.equal(r.out.state, 'paid');
  return outTradeNo;
}

before(async () => {
  if (!fs.existsSync(TOPUP)) {
    throw new Error(`${TOPUP} not found: build first, or point TOPUP_BUILD at the build directory`);
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'topup-alipay-gateway-'));
  keys.app = makeKeyPair('app');
  keys.alipay = makeKeyPair('alipay');
  keys.other = makeKeyPair('other');
  // Stands in for topupd's notification endpoint: records and answers as topup would.
  notifications = [];
  notifyServer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      notifications.push({ headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('success');
    });
  });
  await new Promise((resolve) => notifyServer.listen(0, '127.0.0.1', resolve));
  notifyUrl = `http://127.0.0.1:${notifyServer.address().port}/v1/payments/alipay/notify`;
});

after(async () => {
  await new Promise((resolve) => notifyServer?.close(resolve));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  gw = await startAlipayGateway({
    appId: APP_ID,
    appPublicKey: keys.app.publicPem,
    alipayPrivateKey: keys.alipay.privatePem,
  });
  config = writeConfig('fake');
});

afterEach(async () => {
  await gw.close();
});

describe('page and wap payments: a signed URL built locally', () => {
  for (const [method, api, productCode] of [
    ['page', 'alipay.trade.page.pay', 'FAST_INSTANT_TRADE_PAY'],
    ['wap', 'alipay.trade.wap.pay', 'QUICK_WAP_WAY'],
  ]) {
    test(`${method}: the URL has every parameter, verifies with the SDK, and Alipay takes it`, async () => {
      const outTradeNo = newTradeNo();
      const startedAt = new Date();
      // A machine far from Beijing: Alipay's times must still be Beijing time.
      const extra = ['--subject', '话费充值 138****8000 ¥100', '--expires-in', '600'];
      const r = await create(outTradeNo, method, extra, { env: { TZ: 'America/Los_Angeles' } });
      assert.equal(r.status, 0, describeRun(r));
      assert.equal(r.out.outcome, 'ok');
      assert.equal(r.out.state, 'pending');
      assert.equal(gw.requests.length, 0, 'a redirect must not call the gateway from the server');

      assert.ok(r.out.pay_url.startsWith(`${gw.url}?`), r.out.pay_url);
      const params = Object.fromEntries(new URL(r.out.pay_url).searchParams);
      const sdkSays = appSignatureChecker().checkNotifySignV2({ ...params });
      assert.equal(sdkSays, true, 'alipay-sdk refuses the URL signature');
      assert.equal(params.app_id, APP_ID);
      assert.equal(params.method, api);
      assert.equal(params.format, 'JSON');
      assert.equal(params.charset, 'utf-8');
      assert.equal(params.sign_type, 'RSA2');
      assert.equal(params.version, '1.0');
      assert.equal(params.notify_url, notifyUrl);
      assert.equal(params.return_url, RETURN_URL);
      assert.ok(
        secondsFrom(params.timestamp, startedAt) < 120,
        `timestamp ${params.timestamp} is not Beijing time now`,
      );
      const biz = JSON.parse(params.biz_content);
      assert.equal(biz.out_trade_no, outTradeNo);
      assert.equal(biz.total_amount, '100.00');
      assert.equal(biz.subject, '话费充值 138****8000 ¥100');
      assert.equal(biz.product_code, productCode);
      const expiresAt = new Date(startedAt.getTime() + 600_000);
      assert.ok(
        secondsFrom(biz.time_expire, expiresAt) < 120,
        `time_expire ${biz.time_expire} is not now + 600 s in Beijing time`,
      );

      // The payer's browser follows the URL: the gateway verifies it and shows its page.
      const page = await fetch(r.out.pay_url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /100\.00/);
      assert.equal(gw.rejected.length, 0, `the gateway refused the URL: ${JSON.stringify(gw.rejected)}`);
      assert.equal(gw.requests.length, 1);
      assert.equal(gw.requests[0].method, api);
      const trade = gw.trades.get(outTradeNo);
      assert.equal(trade.state, 'pending');
      assert.equal(trade.amountMinor, 10000);
      assert.equal(trade.notifyUrl, notifyUrl);
    });
  }

  test('a URL whose amount was changed is refused by the gateway', async () => {
    const r = await create(newTradeNo(), 'page');
    assert.equal(r.status, 0, describeRun(r));
    const url = new URL(r.out.pay_url);
    url.searchParams.set('biz_content', url.searchParams.get('biz_content').replace('100.00', '1.00'));
    await fetch(url);
    assert.equal(gw.requests.length, 0);
    assert.equal(gw.rejected.length, 1);
    assert.equal(gw.rejected[0].reason, 'signature');
  });

  test('a currency other than CNY is refused without calling Alipay', async () => {
    const r = await gateway('create', ['--out-trade-no', newTradeNo(), '--amount', '100.00',
      '--currency', 'USD', '--method', 'qr']);
    assert.equal(r.status, 1, describeRun(r));
    assert.equal(r.out.outcome, 'refused');
    assert.match(r.out.detail, /CNY/);
    assert.equal(gw.requests.length + gw.rejected.length, 0);
  });

  test('a method Alipay does not offer is refused', async () => {
    const r = await create(newTradeNo(), 'h5');
    assert.equal(r.status, 1, describeRun(r));
    assert.equal(r.out.outcome, 'refused');
  });
});

describe('QR codes (alipay.trade.precreate)', () => {
  test("the answer's qr_code is the pay_url, and the request carried what Alipay needs", async () => {
    const outTradeNo = newTradeNo();
    const r = await create(outTradeNo, 'qr', ['--subject', '话费充值']);
    assert.equal(r.status, 0, describeRun(r));
    assert.equal(r.out.outcome, 'ok');
    assert.equal(r.out.state, 'pending');
    // The fake writes '/' as "\/" and signs that text: the URL must come back unescaped.
    assert.match(r.out.pay_url, /^https:\/\/qr\.alipay\.com\/bax0\d{12}$/);
    assert.equal(gw.requests.length, 1);
    const { method, params, bizContent, httpMethod } = gw.requests[0];
    assert.equal(httpMethod, 'POST');
    assert.equal(method, 'alipay.trade.precreate');
    assert.equal(params.notify_url, notifyUrl);
    assert.equal(params.return_url, undefined, 'return_url is for browser redirects only');
    assert.equal(bizContent.product_code, 'FACE_TO_FACE_PAYMENT');
    assert.equal(bizContent.total_amount, '100.00');
    assert.equal(bizContent.subject, '话费充值');
    assert.equal(gw.trades.get(outTradeNo).state, 'pending');
  });

  test("the fake's notification for the trade reaches the notify_url and topup finds it genuine", async () => {
    const outTradeNo = newTradeNo();
    const r = await create(outTradeNo, 'qr');
    assert.equal(r.status, 0, describeRun(r));
    const before = notifications.length;
    const answer = await gw.pay(outTradeNo);
    assert.deepEqual(answer, { status: 200, body: 'success' });
    assert.equal(notifications.length, before + 1);
    const { body } = notifications.at(-1);
    const verifyNotify = (input) =>
      topup(['pay', 'verify-notify', 'alipay', '--key', keys.alipay.publicPath, '--json'], { input });
    const genuine = await verifyNotify(body);
    assert.equal(genuine.status, 0, describeRun(genuine));
    const fields = JSON.parse(genuine.stdout);
    assert.equal(fields.out_trade_no, outTradeNo);
    assert.equal(fields.total_amount, '100.00');
    assert.equal(fields.trade_status, 'TRADE_SUCCESS');
    assert.equal(fields.app_id, APP_ID);
    assert.equal(fields.trade_no, gw.trades.get(outTradeNo).tradeNo);
    const tampered = await verifyNotify(body.replace('total_amount=100.00', 'total_amount=1.00'));
    assert.equal(tampered.status, 1, describeRun(tampered));
    // A forgery the fake can also make, for the end-to-end tests.
    const forged = gw.notification(outTradeNo, { privateKey: keys.other.privatePem });
    assert.equal((await verifyNotify(forged.body)).status, 1);
  });
});

describe('payment codes (alipay.trade.pay)', () => {
  test('a code the gateway accepts pays at once, with the trade number', async () => {
    const outTradeNo = newTradeNo();
    const r = await create(outTradeNo, 'code', ['--auth-code', '281234567890123456']);
    assert.equal(r.status, 0, describeRun(r));
    assert.equal(r.out.outcome, 'ok');
    assert.equal(r.out.state, 'paid');
    assert.equal(r.out.trade_no, gw.trades.get(outTradeNo).tradeNo);
    const { bizContent } = gw.requests[0];
    assert.equal(bizContent.scene, 'bar_code');
    assert.equal(bizContent.auth_code, '281234567890123456');
    assert.equal(bizContent.product_code, 'FACE_TO_FACE_PAYMENT');
  });

  test('10003 leaves the payment pending until the payer confirms; a query then says paid', async () => {
    const outTradeNo = newTradeNo();
    const r = await create(outTradeNo, 'code', ['--auth-code', 'wait']);
    assert.equal(r.status, 0, describeRun(r));
    assert.equal(r.out.state, 'pending');
    assert.equal((await query(outTradeNo)).out.state, 'pending');
    await gw.pay(outTradeNo);
    const q = await query(outTradeNo);
    assert.equal(q.out.state, 'paid');
    assert.equal(q.out.amount, '100.00');
  });

  test('an invalid code is a definite refusal that names the reason', async () => {
    const outTradeNo = newTradeNo();
    const r = await create(outTradeNo, 'code', ['--auth-code', '991234567890123456']);
    assert.equal(r.status, 1, describeRun(r));
    assert.equal(r.out.outcome, 'refused');
    assert.match(r.out.detail, /ACQ\.PAYMENT_AUTH_CODE_INVALID/);
    assert.equal(gw.trades.has(outTradeNo), false);
  });

  test('a code payment without a code is refused before anything is sent', async () => {
    const r = await create(newTradeNo(), 'code');
    assert.equal(r.status, 1, describeRun(r));
    assert.equal(gw.requests.length + gw.rejected.length, 0);
  });
});

describe('query (alipay.trade.query)', () => {
  test('an unknown trade is not_found, a definite answer', async () => {
    const r = await query(newTradeNo());
    assert.equal(r.status, 0, describeRun(r));
    assert.equal(r.out.outcome, 'ok');
    assert.equal(r.out.state, 'not_found');
  });

  test('pending, then paid with the amount and trade number, then closed when fully refunded', async () => {
    const outTradeNo = newTradeNo();
    gw.createTrade(outTradeNo, 12345, 'CNY');
    let r = await query(outTradeNo);
    assert.equal(r.status, 0, describeRun(r));
    assert.equal(r.out.state, 'pending');
    gw.trades.get(outTradeNo).notifyUrl = notifyUrl;
    await gw.pay(outTradeNo);
    r = await query(outTradeNo);
    assert.equal(r.out.state, 'paid');
    assert.equal(r.out.amount, '123.45');
    assert.equal(r.out.currency, 'CNY');
    assert.equal(r.out.trade_no, gw.trades.get(outTradeNo).tradeNo);
    const full = await gateway('refund', ['--out-trade-no', outTradeNo, '--out-request-no', 'R1',
      '--amount', '123.45', '--total', '123.45', '--currency', 'CNY']);
    assert.equal(full.status, 0, describeRun(full));
    r = await query(outTradeNo);
    assert.equal(r.out.state, 'closed');
  });

  test('a closed unpaid trade is closed', async () => {
    const outTradeNo = newTradeNo();
    gw.createTrade(outTradeNo, 10000, 'CNY');
    gw.trades.get(outTradeNo).state = 'closed';
    const r = await query(outTradeNo);
    assert.equal(r.out.state, 'closed');
  });
});

describe('refund (alipay.trade.refund)', () => {
  test('a refund succeeds once; the same out_request_no again refunds nothing more', async () => {
    const outTradeNo = await paidTrade();
    const first = await refund(outTradeNo, 'R-1', '30.00');
    assert.equal(first.status, 0, describeRun(first));
    assert.equal(first.out.outcome, 'ok');
    assert.equal(first.out.state, 'succeeded');
    assert.notEqual(first.out.refund_id, '');
    const again = await refund(outTradeNo, 'R-1', '30.00');
    assert.equal(again.status, 0, describeRun(again));
    assert.equal(again.out.state, 'succeeded');
    const { refunds } = gw.trades.get(outTradeNo);
    assert.equal(refunds.length, 1, 'refunded twice');
    assert.equal(refunds[0].amountMinor, 3000);
    assert.equal(refunds[0].reason, '充值失败退款');
    const { bizContent } = gw.requests.at(-1);
    assert.equal(bizContent.refund_amount, '30.00');
    assert.equal(bizContent.out_request_no, 'R-1');
  });

  test('more than was paid is refused, and nothing is refunded', async () => {
    const outTradeNo = await paidTrade();
    assert.equal((await refund(outTradeNo, 'R-1', '60.00')).status, 0);
    const r = await refund(outTradeNo, 'R-2', '60.00');
    assert.equal(r.status, 1, describeRun(r));
    assert.equal(r.out.outcome, 'refused');
    assert.match(r.out.detail, /ACQ\.REFUND_AMT_NOT_EQUAL_TOTAL/);
    assert.equal(gw.trades.get(outTradeNo).refunds.length, 1);
  });

  test('an unpaid trade cannot be refunded', async () => {
    const outTradeNo = newTradeNo();
    gw.createTrade(outTradeNo, 10000, 'CNY');
    const r = await refund(outTradeNo, 'R-1', '10.00');
    assert.equal(r.status, 1, describeRun(r));
    assert.equal(r.out.outcome, 'refused');
  });
});

describe('close (alipay.trade.close)', () => {
  test('a pending trade closes', async () => {
    const outTradeNo = newTradeNo();
    await create(outTradeNo, 'qr');
    const r = await close(outTradeNo);
    assert.equal(r.status, 0, describeRun(r));
    assert.equal(r.out.outcome, 'ok');
    assert.equal(gw.trades.get(outTradeNo).state, 'closed');
  });

  test('a trade Alipay never created is as closed as can be', async () => {
    const r = await close(newTradeNo());
    assert.equal(r.status, 0, describeRun(r));
    assert.equal(r.out.outcome, 'ok');
    assert.match(r.out.detail, /nothing to close/);
  });

  test('a paid trade cannot be closed', async () => {
    const outTradeNo = await paidTrade();
    const r = await close(outTradeNo);
    assert.equal(r.status, 1, describeRun(r));
    assert.equal(r.out.outcome, 'refused');
    assert.match(r.out.detail, /ACQ\.TRADE_STATUS_ERROR/);
    assert.equal(gw.trades.get(outTradeNo).state, 'paid');
  });
});

describe('signatures both ways', () => {
  test('a request signed with another key is refused by the gateway, and topup says refused', async () => {
    const wrongKey = writeConfig('wrong-key', { 'alipay.private_key': keys.other.privatePath });
    const outTradeNo = newTradeNo();
    const r = await create(outTradeNo, 'qr', [], { configFile: wrongKey });
    assert.equal(r.status, 1, describeRun(r));
    assert.equal(r.out.outcome, 'refused');
    assert.match(r.out.detail, /isv\.invalid-signature/);
    assert.equal(gw.rejected.length, 1);
    assert.equal(gw.rejected[0].reason, 'signature');
    assert.equal(gw.requests.length, 0);
    assert.equal(gw.trades.has(outTradeNo), false);
  });

  // Alipay leaves sign out of an answer when it cannot verify the app's signature.
  test('an unsigned refusal is a refusal too', async () => {
    gw.unsignedErrors = true;
    const wrongKey = writeConfig('wrong-key', { 'alipay.private_key': keys.other.privatePath });
    const r = await query(newTradeNo(), { configFile: wrongKey });
    assert.equal(r.status, 1, describeRun(r));
    assert.equal(r.out.outcome, 'refused');
    assert.match(r.out.detail, /unsigned/);
    assert.equal(gw.rejected.length, 1);
  });

  test('an unsigned "no such trade" is not believed as a definite not_found', async () => {
    gw.unsignedErrors = true;
    const r = await query(newTradeNo());
    assert.notEqual(r.out?.state, 'not_found', describeRun(r));
    assert.equal(r.status, 1, describeRun(r));
  });

  test('a forged answer (signed with another key) leaves the outcome unknown', async () => {
    const outTradeNo = await paidTrade();
    gw.signingKey = keys.other.privatePem;
    const answers = [
      await query(outTradeNo),
      await refund(outTradeNo, 'R-1', '10.00'),
      await close(outTradeNo),
      await create(newTradeNo(), 'code', ['--auth-code', '281234567890123456']),
    ];
    for (const r of answers) {
      assert.equal(r.status, 3, describeRun(r));
      assert.equal(r.out.outcome, 'unknown');
      assert.match(r.out.detail, /signature does not verify/);
    }
  });

  test('the fake speaks what alipay-sdk speaks: the SDK as a client verifies its answers', async () => {
    const sdk = new AlipaySdk({
      appId: APP_ID,
      privateKey: keys.app.privatePem.trim(),
      keyType: 'PKCS8',
      alipayPublicKey: keys.alipay.publicPem.trim(),
      signType: 'RSA2',
      gateway: gw.url,
    });
    const outTradeNo = newTradeNo();
    const answer = await sdk.exec(
      'alipay.trade.precreate',
      {
        timestamp: beijingTime(),
        bizContent: { out_trade_no: outTradeNo, total_amount: '1.00', subject: 'sdk' },
      },
      { validateSign: true },
    );
    assert.equal(answer.code, '10000');
    assert.match(answer.qrCode, /^https:\/\/qr\.alipay\.com\//);
    // And one the SDK cannot verify, when the fake signs with another key.
    gw.signingKey = keys.other.privatePem;
    await assert.rejects(
      sdk.exec(
        'alipay.trade.query',
        { timestamp: beijingTime(), bizContent: { out_trade_no: outTradeNo } },
        { validateSign: true },
      ),
      /验签失败/,
    );
  });
});

describe('a gateway that does not answer, or answers an error', () => {
  test('timeout: unknown within the configured alipay.timeout_ms', async () => {
    gw.mode = 'timeout';
    const quick = writeConfig('quick', { 'alipay.timeout_ms': '500' });
    const startedAt = Date.now();
    const r = await query(newTradeNo(), { configFile: quick });
    const elapsedMs = Date.now() - startedAt;
    assert.equal(r.status, 3, describeRun(r));
    assert.equal(r.out.outcome, 'unknown');
    assert.ok(elapsedMs >= 450, `gave up after ${elapsedMs} ms, before the timeout`);
    assert.ok(elapsedMs < 1500, `took ${elapsedMs} ms with a 500 ms timeout`);
  });

  test('a 5xx is unknown, never a refusal', async () => {
    gw.mode = 'fail';
    const answers = [
      await query(newTradeNo()),
      await create(newTradeNo(), 'code', ['--auth-code', '281234567890123456']),
    ];
    for (const r of answers) {
      assert.equal(r.status, 3, describeRun(r));
      assert.equal(r.out.outcome, 'unknown');
      assert.match(r.out.detail, /502/);
    }
  });

  test('slow but within the timeout is answered', async () => {
    gw.mode = 'slow';
    gw.delayMs = 300;
    const r = await create(newTradeNo(), 'qr');
    assert.equal(r.status, 0, describeRun(r));
    assert.equal(r.out.outcome, 'ok');
  });

  test('a gateway that is not there is unknown', async () => {
    const nowhere = writeConfig('nowhere', { 'alipay.gateway': 'http://127.0.0.1:9/gateway.do' });
    const r = await query(newTradeNo(), { configFile: nowhere });
    assert.equal(r.status, 3, describeRun(r));
    assert.equal(r.out.outcome, 'unknown');
  });
});

describe('settings', () => {
  test('a private key others can read is refused with a sentence that says what to do', async () => {
    const loose = path.join(dir, 'loose-private.pem');
    fs.writeFileSync(loose, keys.app.privatePem);
    fs.chmodSync(loose, 0o644);
    const configFile = writeConfig('loose', { 'alipay.private_key': loose });
    const r = await query(newTradeNo(), { configFile });
    assert.equal(r.status, 2, describeRun(r));
    assert.equal(r.stdout.trim(), '');
    assert.match(r.stderr, /alipay\.private_key/);
    assert.match(r.stderr, /group or others/);
    assert.match(r.stderr, /chmod 600/);
    assert.equal(gw.requests.length + gw.rejected.length, 0);
  });

  test('a missing app_id, gateway or public key is named', async () => {
    for (const setting of ['alipay.app_id', 'alipay.gateway', 'alipay.public_key']) {
      const configFile = writeConfig('missing', { [setting]: undefined });
      const r = await query(newTradeNo(), { configFile });
      assert.equal(r.status, 2, `${setting}: ${describeRun(r)}`);
      assert.match(r.stderr, new RegExp(setting.replace('.', '\\.')));
    }
  });

  test('a public key file that holds no key is named', async () => {
    const junk = path.join(dir, 'junk.pem');
    fs.writeFileSync(junk, 'not a key\n');
    const configFile = writeConfig('junk', { 'alipay.public_key': junk });
    const r = await query(newTradeNo(), { configFile });
    assert.equal(r.status, 2, describeRun(r));
    assert.match(r.stderr, /alipay\.public_key/);
  });
});
