// The WeChat Pay API v3 provider (src/payments/wechatpay_gateway.c) against the fake gateway in
// fake/wechatpay-gateway.mjs, which checks topup's Authorization with wechatpay-axios-plugin and
// signs its answers the way WeChat Pay does. Everything goes through the real CLI:
//   topup pay gateway wechat create|query|refund|close --config FILE ...
// which prints {"outcome": "ok"|"refused"|"unknown", "detail": ..., ...} and exits 0, 1 or 3
// (2 for a config it cannot use).
//
// Environment: TOPUP_BUILD, the build directory (default "build", relative to the repository root).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import wxpay from 'wechatpay-axios-plugin';

import { startWechatpayGateway } from './fake/wechatpay-gateway.mjs';

const { Formatter, Rsa } = wxpay;

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD = path.resolve(repo, process.env.TOPUP_BUILD || 'build');
const TOPUP = path.join(BUILD, 'topup');

const PLATFORM_SERIAL = 'PUB_KEY_ID_0119000091912025110500000000000001';
const MERCHANT_SERIAL = '3775B6A45ACD588826D15E583A95F5DDAAAAAAAA';
const MCHID = '1900009191';
const APPID = 'wxd678efh567hg6787';
const NOTIFY_URL = 'https://topup.example.com/v1/notify/wechat';

let dir;
let gw;
let merchant; // our key pair: the private half signs requests
let platform; // WeChat Pay's: signs answers and notifications
let other; // nobody's
let apiv3Key;
const files = {};
let sequence = 0;

const nowS = () => Math.floor(Date.now() / 1000);
const pem = (key, type) => key.export(type === 'private' ? { type: 'pkcs8', format: 'pem' } : { type: 'spki', format: 'pem' });

function writeFile(name, data, mode = 0o600) {
  const file = path.join(dir, name);
  writeFileSync(file, data, { mode });
  chmodSync(file, mode); // the umask may have changed it
  return file;
}

/** A config file for the fake gateway; settings may replace or (with null) drop a line. */
function config(settings = {}) {
  const lines = {
    'wechat.gateway': gw.url,
    'wechat.app_id': APPID,
    'wechat.merchant_id': MCHID,
    'wechat.merchant_serial': MERCHANT_SERIAL,
    'wechat.private_key': files.merchantPrivate,
    'wechat.public_key': files.platformPublic,
    'wechat.public_key_serial': PLATFORM_SERIAL,
    'wechat.secret': files.apiv3Key,
    'wechat.notify_url': NOTIFY_URL,
    'wechat.timeout_ms': '5000',
    ...settings,
  };
  const text = Object.entries(lines)
    .filter(([, value]) => value !== null)
    .map(([key, value]) => `${key} = ${value}`)
    .join('\n');
  return writeFile(`config-${++sequence}.conf`, `# topup pay gateway test\n${text}\n`);
}

/** Runs the CLI without blocking this process, which also serves the fake gateway. */
function run(args) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(TOPUP, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, elapsedMs: Date.now() - started });
    });
  });
}

/** `topup pay gateway wechat OPERATION`, its JSON answer parsed. */
async function gateway(operation, options, configFile = config()) {
  const args = ['pay', 'gateway', 'wechat', operation, '--config', configFile];
  for (const [name, value] of Object.entries(options)) args.push(`--${name}`, String(value));
  const r = await run(args);
  let json = null;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    // a usage or config error prints no JSON
  }
  return { ...r, json };
}

function newTradeNo() {
  return `TU${Date.now()}${randomBytes(3).toString('hex')}`;
}

const createQr = (outTradeNo, extra = {}, configFile = config()) =>
  gateway('create', { 'out-trade-no': outTradeNo, amount: '100.00', currency: 'CNY', method: 'qr', subject: '话费充值 138****8000 ¥100', ...extra }, configFile);

function assertOutcome(r, outcome, what = '') {
  const exit = { ok: 0, refused: 1, unknown: 3 }[outcome];
  assert.ok(r.json, `${what} no JSON: exit ${r.status}, stdout ${r.stdout}, stderr ${r.stderr}`);
  assert.equal(r.json.outcome, outcome, `${what} ${JSON.stringify(r.json)}`);
  assert.equal(r.status, exit, `${what} exit ${r.status} for ${JSON.stringify(r.json)}`);
}

/** Splits `WECHATPAY2-SHA256-RSA2048 k="v",k="v"` into its fields. */
function parseAuthorization(header) {
  const m = /^WECHATPAY2-SHA256-RSA2048 (.*)$/.exec(header);
  assert.ok(m, `not a WECHATPAY2-SHA256-RSA2048 Authorization: ${header}`);
  const fields = {};
  const rest = m[1].replace(/([a-z_]+)="([^"]*)"(,|$)/g, (_, k, v) => {
    assert.equal(fields[k], undefined, `field ${k} twice`);
    fields[k] = v;
    return '';
  });
  assert.equal(rest, '');
  return fields;
}

/** Checks a request the fake recorded the way WeChat Pay checks it, with the plugin. */
function assertSignedByMerchant(request) {
  const fields = parseAuthorization(request.headers.authorization);
  assert.equal(fields.mchid, MCHID);
  assert.equal(fields.serial_no, MERCHANT_SERIAL);
  assert.match(fields.nonce_str, /^[0-9A-Za-z]{32}$/);
  assert.ok(Math.abs(Number(fields.timestamp) - nowS()) <= 10, `timestamp ${fields.timestamp} is not now`);
  const message = Formatter.request(request.httpMethod, request.url, fields.timestamp, fields.nonce_str, request.rawBody);
  assert.equal(Rsa.verify(message, fields.signature, merchant.publicKey), true, 'the plugin does not verify the Authorization');
  assert.equal(Rsa.verify(message, fields.signature, other.publicKey), false);
  assert.match(request.headers.accept, /^application\/json/);
  assert.ok(request.headers['user-agent'], 'no User-Agent');
  if (request.operation !== 'query') assert.match(request.headers['content-type'], /^application\/json/);
  return fields;
}

const lastRequest = () => gw.requests[gw.requests.length - 1];

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'topup-wechatpay-gateway-'));
  merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
  platform = generateKeyPairSync('rsa', { modulusLength: 2048 });
  other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  apiv3Key = randomBytes(24).toString('base64').slice(0, 32);
  files.merchantPrivate = writeFile('apiclient_key.pem', pem(merchant.privateKey, 'private'));
  files.otherPrivate = writeFile('other_key.pem', pem(other.privateKey, 'private'));
  files.platformPublic = writeFile('wechatpay_public.pem', pem(platform.publicKey, 'public'), 0o644);
  files.apiv3Key = writeFile('apiv3.key', `${apiv3Key}\n`);
  gw = await startWechatpayGateway({
    merchantPublicKey: merchant.publicKey,
    platformPrivateKey: platform.privateKey,
    platformSerial: PLATFORM_SERIAL,
    apiv3Key,
    mchid: MCHID,
    appid: APPID,
  });
});

after(async () => {
  if (gw) await gw.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  gw.mode = 'normal';
  gw.delayMs = 0;
  gw.answerKey = platform.privateKey;
  gw.answerSerial = PLATFORM_SERIAL;
  gw.answerSkewS = 0;
  gw.refundStatus = 'SUCCESS';
});

test('the CLI has the gateway command', async () => {
  const r = await run(['pay', 'gateway', '--help']);
  assert.equal(r.status, 0, `${TOPUP} pay gateway --help: ${r.stderr}`);
});

// ---- create --------------------------------------------------------------------------------

describe('create', () => {
  test('a Native order: signed request with the documented body, code_url as pay_url', async () => {
    const no = newTradeNo();
    const before = nowS();
    const r = await createQr(no, { 'expires-in': 900 });
    assertOutcome(r, 'ok');
    assert.equal(r.json.state, 'pending');
    assert.match(r.json.pay_url, /^weixin:\/\/wxpay\/bizpayurl\?pr=/);
    assert.equal(r.json.pay_url, gw.trades.get(no).payUrl);

    const request = lastRequest();
    assert.equal(request.operation, 'create');
    assert.equal(request.url, '/v3/pay/transactions/native');
    assertSignedByMerchant(request);
    const body = request.body;
    assert.deepEqual(Object.keys(body).sort(), ['amount', 'appid', 'description', 'mchid', 'notify_url', 'out_trade_no', 'time_expire']);
    assert.equal(body.appid, APPID);
    assert.equal(body.mchid, MCHID);
    assert.equal(body.description, '话费充值 138****8000 ¥100');
    assert.equal(body.out_trade_no, no);
    assert.equal(body.notify_url, NOTIFY_URL);
    assert.deepEqual(body.amount, { total: 10000, currency: 'CNY' });
    // time_expire is China Standard Time, and is the moment --expires-in names.
    assert.match(body.time_expire, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/);
    const expires = Date.parse(body.time_expire) / 1000;
    assert.ok(expires >= before + 900 && expires <= nowS() + 900, `time_expire ${body.time_expire}`);
  });

  test('every request has its own nonce', async () => {
    await createQr(newTradeNo());
    const first = parseAuthorization(lastRequest().headers.authorization);
    await createQr(newTradeNo());
    const second = parseAuthorization(lastRequest().headers.authorization);
    assert.notEqual(first.nonce_str, second.nonce_str);
  });

  test('an H5 order carries the payer IP and answers h5_url', async () => {
    const no = newTradeNo();
    const r = await gateway('create', { 'out-trade-no': no, amount: '50.00', currency: 'CNY', method: 'h5', 'client-ip': '203.0.113.7' });
    assertOutcome(r, 'ok');
    assert.match(r.json.pay_url, /^https:\/\/wx\.tenpay\.com\/cgi-bin\/mmpayweb-bin\/checkmweb\?prepay_id=/);
    const request = lastRequest();
    assert.equal(request.url, '/v3/pay/transactions/h5');
    assertSignedByMerchant(request);
    assert.deepEqual(request.body.scene_info, { payer_client_ip: '203.0.113.7', h5_info: { type: 'Wap' } });
    assert.equal(request.body.amount.total, 5000);
    assert.equal(gw.trades.get(no).payerClientIp, '203.0.113.7');
  });

  test('H5 without the payer IP, other methods, other currencies and long numbers are refused unsent', async () => {
    const sent = gw.requests.length;
    const cases = [
      { method: 'h5' },
      { method: 'page' },
      { method: 'qr', currency: 'USD' },
      { method: 'qr', 'out-trade-no': 'T'.repeat(33) },
    ];
    for (const c of cases) {
      const r = await gateway('create', { 'out-trade-no': newTradeNo(), amount: '10.00', currency: 'CNY', ...c });
      assertOutcome(r, 'refused', JSON.stringify(c));
      assert.notEqual(r.json.detail, '');
    }
    const usd = await gateway('create', { 'out-trade-no': newTradeNo(), amount: '10.00', currency: 'USD', method: 'qr' });
    assert.match(usd.json.detail, /CNY/);
    assert.equal(gw.requests.length, sent, 'a refused request was sent anyway');
  });

  test('the same order twice gets the same code; a different amount for the number is refused', async () => {
    const no = newTradeNo();
    const first = await createQr(no);
    const again = await createQr(no);
    assertOutcome(again, 'ok');
    assert.equal(again.json.pay_url, first.json.pay_url);
    const changed = await createQr(no, { amount: '99.00' });
    assertOutcome(changed, 'refused');
    assert.match(changed.json.detail, /OUT_TRADE_NO_USED/);
  });

  test('a request signed with another key is refused by WeChat Pay with SIGN_ERROR', async () => {
    const no = newTradeNo();
    const rejected = gw.rejected.length;
    const r = await createQr(no, {}, config({ 'wechat.private_key': files.otherPrivate }));
    assertOutcome(r, 'refused');
    assert.match(r.json.detail, /SIGN_ERROR/);
    assert.equal(gw.rejected.length, rejected + 1);
    assert.equal(gw.rejected.at(-1).reason, 'signature does not verify');
    assert.equal(gw.trades.has(no), false, 'the fake created an order from a forged request');
  });
});

// ---- query ---------------------------------------------------------------------------------

describe('query', () => {
  test('an order WeChat Pay does not have is not_found, a definite answer', async () => {
    const r = await gateway('query', { 'out-trade-no': newTradeNo() });
    assertOutcome(r, 'ok');
    assert.equal(r.json.state, 'not_found');
    const request = lastRequest();
    assert.match(request.url, /^\/v3\/pay\/transactions\/out-trade-no\/TU\w+\?mchid=1900009191$/);
    assertSignedByMerchant(request);
    assert.equal(request.rawBody, '');
  });

  test('pending, paid (with WeChat Pay\'s transaction and amount), closed', async () => {
    const no = newTradeNo();
    await createQr(no);
    let r = await gateway('query', { 'out-trade-no': no });
    assertOutcome(r, 'ok');
    assert.equal(r.json.state, 'pending');
    assert.equal(r.json.amount, '');

    const trade = gw.trades.get(no);
    trade.state = 'paid';
    r = await gateway('query', { 'out-trade-no': no });
    assertOutcome(r, 'ok');
    assert.deepEqual({ state: r.json.state, trade_no: r.json.trade_no, amount: r.json.amount, currency: r.json.currency },
      { state: 'paid', trade_no: trade.tradeNo, amount: '100.00', currency: 'CNY' });

    const closed = newTradeNo();
    await createQr(closed);
    assertOutcome(await gateway('close', { 'out-trade-no': closed }), 'ok');
    r = await gateway('query', { 'out-trade-no': closed });
    assert.equal(r.json.state, 'closed');
  });

  test('USERPAYING is pending; PAYERROR and REVOKED are closed; REFUND is still paid', async () => {
    const expected = { USERPAYING: 'pending', PAYERROR: 'closed', REVOKED: 'closed', REFUND: 'paid' };
    for (const [tradeState, state] of Object.entries(expected)) {
      const no = newTradeNo();
      await createQr(no);
      gw.trades.get(no).tradeState = tradeState;
      const r = await gateway('query', { 'out-trade-no': no });
      assertOutcome(r, 'ok', tradeState);
      assert.equal(r.json.state, state, tradeState);
    }
  });

  test('a trade_state topup does not know is unknown, not a guess', async () => {
    const no = newTradeNo();
    await createQr(no);
    gw.trades.get(no).tradeState = 'SOMETHING_NEW';
    const r = await gateway('query', { 'out-trade-no': no });
    assertOutcome(r, 'unknown');
    assert.match(r.json.detail, /SOMETHING_NEW/);
  });
});

// ---- refund --------------------------------------------------------------------------------

describe('refund', () => {
  async function paidTrade() {
    const no = newTradeNo();
    await createQr(no);
    gw.trades.get(no).state = 'paid';
    return no;
  }

  const refund = (no, requestNo, amount = '10.00', extra = {}) =>
    gateway('refund', { 'out-trade-no': no, 'out-request-no': requestNo, amount, total: '100.00', currency: 'CNY', reason: '充值失败退款', ...extra });

  test('a refund is made once, however often the same out_request_no asks', async () => {
    const no = await paidTrade();
    const first = await refund(no, `${no}R1`);
    assertOutcome(first, 'ok');
    assert.equal(first.json.state, 'succeeded');
    assert.match(first.json.refund_id, /^\d+$/);
    const request = lastRequest();
    assert.equal(request.url, '/v3/refund/domestic/refunds');
    assertSignedByMerchant(request);
    assert.deepEqual(request.body, {
      out_trade_no: no,
      out_refund_no: `${no}R1`,
      reason: '充值失败退款',
      notify_url: NOTIFY_URL,
      amount: { refund: 1000, total: 10000, currency: 'CNY' },
    });

    const again = await refund(no, `${no}R1`);
    assertOutcome(again, 'ok');
    assert.equal(again.json.refund_id, first.json.refund_id);
    assert.equal(gw.trades.get(no).refunds.length, 1, 'the repeated request refunded twice');
    assert.equal(gw.trades.get(no).refunds[0].amountMinor, 1000);
  });

  test('PROCESSING is pending; ABNORMAL and CLOSED are failed', async () => {
    const no = await paidTrade();
    const expected = { PROCESSING: 'pending', ABNORMAL: 'failed', CLOSED: 'failed' };
    let n = 0;
    for (const [status, state] of Object.entries(expected)) {
      gw.refundStatus = status;
      const r = await refund(no, `${no}S${++n}`);
      assertOutcome(r, 'ok', status);
      assert.equal(r.json.state, state, status);
    }
  });

  test('WeChat Pay refusing (unpaid order, too much) is refused; a refund above the total is not sent', async () => {
    const unpaid = newTradeNo();
    await createQr(unpaid);
    let r = await refund(unpaid, `${unpaid}R1`);
    assertOutcome(r, 'refused');
    assert.match(r.json.detail, /INVALID_REQUEST/);

    const no = await paidTrade();
    assertOutcome(await refund(no, `${no}R1`, '60.00'), 'ok');
    r = await refund(no, `${no}R2`, '60.00');
    assertOutcome(r, 'refused');
    assert.equal(gw.trades.get(no).refunds.length, 1);

    const sent = gw.requests.length;
    r = await refund(no, `${no}R3`, '100.01');
    assertOutcome(r, 'refused');
    assert.equal(gw.requests.length, sent);
  });
});

// ---- close ---------------------------------------------------------------------------------

describe('close', () => {
  test('a pending order is closed (204 with a signed empty body)', async () => {
    const no = newTradeNo();
    await createQr(no);
    const r = await gateway('close', { 'out-trade-no': no });
    assertOutcome(r, 'ok');
    assert.equal(gw.trades.get(no).state, 'closed');
    const request = lastRequest();
    assert.equal(request.url, `/v3/pay/transactions/out-trade-no/${no}/close`);
    assertSignedByMerchant(request);
    assert.deepEqual(request.body, { mchid: MCHID });
  });

  test('closing an order WeChat Pay does not have is ok: nothing can be paid on it', async () => {
    const r = await gateway('close', { 'out-trade-no': newTradeNo() });
    assertOutcome(r, 'ok');
    assert.match(r.json.detail, /ORDER_NOT_EXIST/);
  });

  test('closing a paid order is refused', async () => {
    const no = newTradeNo();
    await createQr(no);
    gw.trades.get(no).state = 'paid';
    const r = await gateway('close', { 'out-trade-no': no });
    assertOutcome(r, 'refused');
    assert.match(r.json.detail, /ORDERPAID/);
    assert.equal(gw.trades.get(no).state, 'paid');
  });
});

// ---- answers that do not verify, and no answers ----------------------------------------------

describe('answers topup cannot believe', () => {
  test('an answer signed by another key is unknown, though the fake did create the order', async () => {
    gw.answerKey = other.privateKey;
    const no = newTradeNo();
    const r = await createQr(no);
    assertOutcome(r, 'unknown');
    assert.match(r.json.detail, /verif/);
    assert.equal(gw.trades.has(no), true);
    assert.equal(r.json.pay_url, undefined);
  });

  test('a stale or future answer is unknown; so is one from another serial', async () => {
    const no = newTradeNo();
    await createQr(no);
    for (const skew of [-301 - 60, 301 + 60]) {
      gw.answerSkewS = skew;
      const r = await gateway('query', { 'out-trade-no': no });
      assertOutcome(r, 'unknown', `skew ${skew}`);
      assert.match(r.json.detail, /Timestamp/);
    }
    gw.answerSkewS = 0;
    gw.answerSerial = 'PUB_KEY_ID_0000000000000000000000000000000000';
    const r = await gateway('query', { 'out-trade-no': no });
    assertOutcome(r, 'unknown');
    assert.match(r.json.detail, /Serial/);
  });

  test('an unverifiable "no such order" does not count as not_found', async () => {
    gw.answerKey = other.privateKey;
    const r = await gateway('query', { 'out-trade-no': newTradeNo() });
    assertOutcome(r, 'unknown');
    assert.equal(r.json.state, undefined);
  });

  test('a gateway that never answers is unknown within wechat.timeout_ms', async () => {
    gw.mode = 'timeout';
    const no = newTradeNo();
    const r = await createQr(no, {}, config({ 'wechat.timeout_ms': '500' }));
    assertOutcome(r, 'unknown');
    assert.match(r.json.detail, /500 ms/);
    assert.ok(r.elapsedMs < 3000, `took ${r.elapsedMs} ms`);
  });

  test('a 5xx is unknown, for every operation', async () => {
    gw.mode = 'fail';
    const no = newTradeNo();
    const runs = [
      await createQr(no),
      await gateway('query', { 'out-trade-no': no }),
      await gateway('refund', { 'out-trade-no': no, 'out-request-no': `${no}R`, amount: '1.00', total: '100.00', currency: 'CNY' }),
      await gateway('close', { 'out-trade-no': no }),
    ];
    for (const r of runs) {
      assertOutcome(r, 'unknown');
      assert.match(r.json.detail, /SYSTEM_ERROR/);
    }
  });

  test('a slow answer within the timeout is believed', async () => {
    gw.mode = 'slow';
    gw.delayMs = 300;
    const r = await createQr(newTradeNo());
    assertOutcome(r, 'ok');
    assert.ok(r.elapsedMs >= 300);
  });

  test('no gateway listening is unknown', async () => {
    const r = await createQr(newTradeNo(), {}, config({ 'wechat.gateway': 'http://127.0.0.1:9' }));
    assertOutcome(r, 'unknown');
  });
});

// ---- configuration -------------------------------------------------------------------------

describe('configuration', () => {
  test('a merchant key others can read is not used (exit 2, chmod 600 said)', async () => {
    const loose = writeFile('loose_key.pem', pem(merchant.privateKey, 'private'), 0o644);
    const sent = gw.requests.length;
    const r = await createQr(newTradeNo(), {}, config({ 'wechat.private_key': loose }));
    assert.equal(r.status, 2, `exit ${r.status}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /chmod 600/);
    assert.equal(gw.requests.length, sent);
  });

  test('an APIv3 key file others can read, or not 32 bytes, is refused', async () => {
    const loose = writeFile('loose_apiv3.key', `${apiv3Key}\n`, 0o644);
    let r = await createQr(newTradeNo(), {}, config({ 'wechat.secret': loose }));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /wechat\.secret.*chmod 600/);
    const short = writeFile('short_apiv3.key', `${apiv3Key.slice(0, 31)}\n`);
    r = await createQr(newTradeNo(), {}, config({ 'wechat.secret': short }));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /31 bytes.*32/);
  });

  test('each missing setting is named', async () => {
    for (const key of ['wechat.merchant_id', 'wechat.app_id', 'wechat.merchant_serial', 'wechat.public_key_serial', 'wechat.notify_url', 'wechat.gateway']) {
      const r = await createQr(newTradeNo(), {}, config({ [key]: null }));
      assert.equal(r.status, 2, key);
      assert.match(r.stderr, new RegExp(key.replace('.', '\\.')), key);
    }
  });

  test('plain http is only for a gateway on this machine', async () => {
    const r = await createQr(newTradeNo(), {}, config({ 'wechat.gateway': 'http://api.mch.weixin.qq.com' }));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /https/);
  });
});

// ---- the fake's notifications, checked by topup's verifier ------------------------------------

describe('the fake gateway\'s notifications', () => {
  test('pay() posts a notification topup finds genuine, for the trade it paid', async () => {
    const received = [];
    const receiver = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(204);
        res.end();
      });
    });
    await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const notifyUrl = `http://127.0.0.1:${receiver.address().port}/v1/notify/wechat`;
      const no = newTradeNo();
      assertOutcome(await createQr(no, {}, config({ 'wechat.notify_url': notifyUrl })), 'ok');
      const answer = await gw.pay(no);
      assert.equal(answer.status, 204);
      assert.equal(gw.trades.get(no).state, 'paid');
      assert.equal(received.length, 1);

      const { headers, body } = received[0];
      const raw = ['wechatpay-timestamp', 'wechatpay-nonce', 'wechatpay-signature', 'wechatpay-serial']
        .map((name) => `${name}: ${headers[name]}`).join('\n');
      const r = spawnSync(TOPUP, ['pay', 'verify-notify', 'wechat', '--key', files.platformPublic, '--serial', PLATFORM_SERIAL,
        '--apiv3-key', files.apiv3Key, '--json'], { input: `${raw}\n\n${body}`, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const { notification, resource } = JSON.parse(r.stdout);
      assert.equal(notification.event_type, 'TRANSACTION.SUCCESS');
      assert.equal(resource.trade_state, 'SUCCESS');
      assert.equal(resource.out_trade_no, no);
      assert.equal(resource.transaction_id, gw.trades.get(no).tradeNo);
      assert.equal(resource.appid, APPID);
      assert.equal(resource.mchid, MCHID);
      assert.deepEqual(resource.amount, { total: 10000, payer_total: 10000, currency: 'CNY', payer_currency: 'CNY' });

      const query = await gateway('query', { 'out-trade-no': no });
      assert.equal(query.json.state, 'paid');
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  test('notification() overrides change what the resource says', async () => {
    const no = newTradeNo();
    gw.createTrade(no, 5000, 'CNY');
    const { headers, body } = gw.notification(no, { amountMinor: 1, appId: 'wx0000000000000000' });
    const raw = Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\n');
    const r = spawnSync(TOPUP, ['pay', 'verify-notify', 'wechat', '--key', files.platformPublic,
      '--apiv3-key', files.apiv3Key, '--json'], { input: `${raw}\n\n${body}`, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const { resource } = JSON.parse(r.stdout);
    assert.equal(resource.amount.total, 1);
    assert.equal(resource.appid, 'wx0000000000000000');
  });
});
