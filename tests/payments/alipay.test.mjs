// Oracle tests of topup's Alipay signatures (src/payments/alipay.c) through the real CLI, against
// alipay-sdk, the Node.js SDK Alipay publishes. Two independent implementations must agree:
//   - a notification topup accepts is one alipay-sdk's checkNotifySignV2 accepts, and every
//     tampered one both refuse;
//   - a request signature topup computes is byte for byte the one alipay-sdk computes.
// The keys are generated per run; "the Alipay key" is simply a key pair the test holds both
// halves of, which is all a signature check can tell apart.
//
// Run from the repository root: node --test tests/payments/
//   TOPUP_BUILD   build directory (default "build", relative to the repository root)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { AlipaySdk } from 'alipay-sdk';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const BUILD = path.resolve(REPO, process.env.TOPUP_BUILD || 'build');
const TOPUP = path.join(BUILD, 'topup');

// The SDK's request signer is not in its package exports; load the shipped module by path.
const sdkUtil = await import(
  pathToFileURL(path.join(HERE, '..', 'node_modules', 'alipay-sdk', 'dist', 'esm', 'util.js')).href
);
assert.equal(typeof sdkUtil.sign, 'function', 'alipay-sdk no longer has util.sign');
assert.equal(typeof sdkUtil.signatureV3, 'function', 'alipay-sdk no longer has util.signatureV3');

const APP_ID = '2021000000000001';

let dir;
const keys = {}; // { alipay: {publicPem, privatePem, publicPath, privatePath}, other: {...} }

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

/** An SDK instance that verifies with `verifyWith`'s public key. */
function sdkFor(verifyWith) {
  return new AlipaySdk({
    appId: APP_ID,
    // formatKey in the SDK drops the PEM armour only when it is the last line: trim the newline.
    privateKey: keys.alipay.privatePem.trim(),
    keyType: 'PKCS8',
    alipayPublicKey: verifyWith.publicPem.trim(),
    signType: 'RSA2',
  });
}

function run(args, input) {
  const r = spawnSync(TOPUP, args, { input, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return r;
}

function verifyNotify(body, key = keys.alipay) {
  return run(['pay', 'verify-notify', 'alipay', '--key', key.publicPath, '--json'], body);
}

/** The parameters of a realistic trade-success notification for a 50 CNY recharge. */
function tradeSuccess() {
  return {
    gmt_create: '2024-05-01 10:00:00',
    charset: 'utf-8',
    gmt_payment: '2024-05-01 10:00:05',
    notify_time: '2024-05-01 10:00:06',
    subject: '话费充值 50元',
    body: '手机号 139****0000 + 50元 & 10% off = 45元',
    buyer_id: '2088102122524333',
    invoice_amount: '50.00',
    version: '1.0',
    notify_id: '2024050100222100006050001234567890',
    fund_bill_list: '[{"amount":"50.00","fundChannel":"ALIPAYACCOUNT"}]',
    notify_type: 'trade_status_sync',
    out_trade_no: 'R20240501-0001',
    total_amount: '50.00',
    trade_status: 'TRADE_SUCCESS',
    trade_no: '2024050122001400000000000001',
    auth_app_id: APP_ID,
    receipt_amount: '50.00',
    point_amount: '0.00',
    app_id: APP_ID,
    buyer_pay_amount: '50.00',
    seller_id: '2088102000000001',
  };
}

/**
 * Signs a notification as Alipay does (the text: every non-empty parameter but sign and
 * sign_type, sorted, name=value joined by '&'), with the SDK's own RSA-SHA256/Base64 helper,
 * and returns the parameters with sign_type and sign added.
 */
function signNotification(params, key = keys.alipay) {
  const text = Object.keys(params)
    .filter((k) => k !== 'sign' && k !== 'sign_type' && params[k] !== '')
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
  return { ...params, sign_type: 'RSA2', sign: sdkUtil.signatureV3(text, key.privatePem) };
}

/** application/x-www-form-urlencoded, as Alipay POSTs it (space as '+', UTF-8 %XX). */
function formBody(params) {
  return new URLSearchParams(Object.entries(params)).toString();
}

/** Both verifiers on one notification: topup's exit code and alipay-sdk's answer. */
function judge(params, key = keys.alipay) {
  const r = verifyNotify(formBody(params), key);
  const sdkSays = sdkFor(key).checkNotifySignV2({ ...params });
  return { r, sdkSays };
}

function assertRefusedByBoth(params, key = keys.alipay) {
  const { r, sdkSays } = judge(params, key);
  assert.equal(r.status, 1, `topup should refuse (exit 1); stdout ${r.stdout} stderr ${r.stderr}`);
  assert.match(r.stderr, /\S/, 'topup gives no reason on stderr');
  assert.equal(r.stdout.trim(), '', 'a refused notification must print no fields');
  assert.equal(sdkSays, false, 'alipay-sdk accepts what topup refuses');
}

before(() => {
  if (!fs.existsSync(TOPUP)) {
    throw new Error(`${TOPUP} not found: build first, or point TOPUP_BUILD at the build directory`);
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'topup-alipay-'));
  keys.alipay = makeKeyPair('alipay');
  keys.other = makeKeyPair('other');
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('topup pay verify-notify alipay', () => {
  test('a genuine notification is accepted by both, and the fields are what was signed', () => {
    const params = signNotification(tradeSuccess());
    const { r, sdkSays } = judge(params);
    assert.equal(r.status, 0, `refused: ${r.stderr}`);
    assert.equal(sdkSays, true, 'alipay-sdk refuses the notification topup accepts');
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out, params);
    assert.equal(out.subject, '话费充值 50元');
    assert.equal(out.body, '手机号 139****0000 + 50元 & 10% off = 45元');
  });

  test('a changed amount is refused by both', () => {
    const params = signNotification(tradeSuccess());
    assertRefusedByBoth({ ...params, total_amount: '5000.00' });
    // The same digits, only more of them, and a change outside the amount, too.
    assertRefusedByBoth({ ...params, total_amount: '50.000' });
    assertRefusedByBoth({ ...params, subject: '话费充值 500元' });
  });

  test('a removed parameter is refused by both', () => {
    const params = signNotification(tradeSuccess());
    for (const name of ['trade_status', 'out_trade_no', 'body']) {
      const removed = { ...params };
      delete removed[name];
      assertRefusedByBoth(removed);
    }
  });

  test("another key's signature is refused by both", () => {
    assertRefusedByBoth(signNotification(tradeSuccess(), keys.other));
    // And a genuine notification checked against the wrong public key.
    assertRefusedByBoth(signNotification(tradeSuccess()), keys.other);
  });

  test('sign_type RSA (SHA-1) and a missing sign are refused by both', () => {
    const params = signNotification(tradeSuccess());
    assertRefusedByBoth({ ...params, sign_type: 'RSA' });
    const unsigned = { ...params };
    delete unsigned.sign;
    assertRefusedByBoth(unsigned);
  });

  test('a repeated parameter is refused even though the first copy is the signed one', () => {
    const params = signNotification(tradeSuccess());
    const r = verifyNotify(`${formBody(params)}&total_amount=5000.00`);
    assert.equal(r.status, 1, `accepted a repeated total_amount: ${r.stdout}`);
    assert.match(r.stderr, /total_amount/);
  });
});

describe('topup pay sign alipay', () => {
  test('the request signature equals alipay-sdk byte for byte', () => {
    const config = {
      appId: APP_ID,
      privateKey: keys.alipay.privatePem,
      signType: 'RSA2',
      charset: 'utf-8',
      version: '1.0',
    };
    const signed = sdkUtil.sign(
      'alipay.trade.precreate',
      {
        timestamp: '2024-05-01 10:00:00',
        bizContent: {
          out_trade_no: 'R20240501-0001',
          total_amount: '50.00',
          subject: '话费充值 50元',
        },
      },
      config,
    );
    const { sign: sdkSignature, ...params } = signed;
    assert.deepEqual(Object.keys(params).sort(), [
      'app_id',
      'biz_content',
      'charset',
      'method',
      'sign_type',
      'timestamp',
      'version',
    ]);
    assert.equal(params.method, 'alipay.trade.precreate');
    assert.match(params.biz_content, /话费充值 50元/);

    const r = run(['pay', 'sign', 'alipay', '--key', keys.alipay.privatePath], JSON.stringify(params));
    assert.equal(r.status, 0, `sign failed: ${r.stderr}`);
    assert.equal(r.stdout.trim(), sdkSignature);

    // A different key must give a different signature: the equality above is not vacuous.
    const other = run(['pay', 'sign', 'alipay', '--key', keys.other.privatePath], JSON.stringify(params));
    assert.equal(other.status, 0, `sign failed: ${other.stderr}`);
    assert.notEqual(other.stdout.trim(), sdkSignature);
  });

  test('a private key others can read is refused', () => {
    const loose = path.join(dir, 'loose-private.pem');
    fs.writeFileSync(loose, keys.alipay.privatePem);
    fs.chmodSync(loose, 0o644);
    const r = run(['pay', 'sign', 'alipay', '--key', loose], JSON.stringify({ app_id: APP_ID }));
    assert.notEqual(r.status, 0, 'signed with a world-readable private key');
    assert.equal(r.stdout.trim(), '');
  });
});
