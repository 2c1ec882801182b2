// WeChat Pay API v3 against an independent implementation: the wechatpay-axios-plugin npm package
// signs and encrypts notifications the way WeChat Pay does, and checks the Authorization topup
// puts on its requests. Everything goes through the real CLI:
//   topup pay verify-notify wechat --key PLATFORM.pem [--serial S] --apiv3-key FILE [--json]
//     (stdin: "Name: value" header lines, a blank line, the body)
//   topup pay sign wechat --key MERCHANT.pem --mchid M --serial S --method M --url U
//     --timestamp T --nonce N   (stdin: the body; stdout: the Authorization header)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import wxpay from 'wechatpay-axios-plugin';

const { Aes, Formatter, Rsa } = wxpay;

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD = path.resolve(repo, process.env.TOPUP_BUILD || 'build');
const TOPUP = path.join(BUILD, 'topup');

const PLATFORM_SERIAL = '5157F09EFDC096DE15EBE81A47057A7232F1B8E1';
const MERCHANT_SERIAL = '3775B6A45ACD588826D15E583A95F5DDAAAAAAAA';
const MCHID = '1900009191';
const TOLERANCE_S = 300;

let dir;
const files = {};
let platform; // { privateKey, publicKey } KeyObjects: WeChat Pay's signing key
let merchant; // ours: signs requests
let apiv3Key; // 32 ASCII characters, as set in the merchant platform

function writeSecret(name, data) {
  const file = path.join(dir, name);
  writeFileSync(file, data, { mode: 0o600 });
  return file;
}

function rsaPair() {
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

function pem(key, type) {
  return key.export(type === 'private' ? { type: 'pkcs8', format: 'pem' } : { type: 'spki', format: 'pem' });
}

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'topup-wechatpay-'));
  platform = rsaPair();
  merchant = rsaPair();
  const other = rsaPair();
  apiv3Key = randomBytes(24).toString('base64').slice(0, 32);
  assert.equal(Buffer.byteLength(apiv3Key), 32);
  files.platformPublic = writeSecret('platform_public.pem', pem(platform.publicKey, 'public'));
  files.otherPublic = writeSecret('other_public.pem', pem(other.publicKey, 'public'));
  files.merchantPrivate = writeSecret('merchant_private.pem', pem(merchant.privateKey, 'private'));
  files.apiv3Key = writeSecret('apiv3.key', `${apiv3Key}\n`);
  const wrong = apiv3Key.slice(0, 31) + (apiv3Key[31] === 'A' ? 'B' : 'A');
  files.wrongApiv3Key = writeSecret('wrong_apiv3.key', `${wrong}\n`);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function run(args, input) {
  const r = spawnSync(TOPUP, args, { input, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return r;
}

test('the CLI has the pay command', () => {
  const r = run(['pay', '--help'], '');
  assert.equal(r.status, 0, `${TOPUP} pay --help: ${r.stderr}`);
});

// ---- notifications -----------------------------------------------------------------------------

const transaction = {
  appid: 'wxd678efh567hg6787',
  mchid: MCHID,
  out_trade_no: 'TU20240518000123',
  transaction_id: '4200000985202405181234567890',
  trade_type: 'NATIVE',
  trade_state: 'SUCCESS',
  trade_state_desc: '支付成功',
  bank_type: 'CMC',
  attach: '话费充值 50 元 · 中国移动 +8613800138000',
  success_time: '2024-05-18T10:34:56+08:00',
  payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
  amount: { total: 5000, currency: 'CNY', payer_total: 5000, payer_currency: 'CNY' },
};

const nowS = () => Math.floor(Date.now() / 1000);

/** A notification as WeChat Pay sends it: body text, and the headers that sign it. */
function makeNotification({
  key = apiv3Key,
  associatedData = 'transaction',
  timestamp = nowS(),
  signer = platform.privateKey,
  serial = PLATFORM_SERIAL,
} = {}) {
  const nonce = Formatter.nonce(12);
  const ciphertext = Aes.AesGcm.encrypt(JSON.stringify(transaction), key, nonce, associatedData);
  const notification = {
    id: 'EV-2018022511223320873',
    create_time: '2024-05-18T10:34:57+08:00',
    resource_type: 'encrypt-resource',
    event_type: 'TRANSACTION.SUCCESS',
    summary: '支付成功',
    resource: {
      original_type: 'transaction',
      algorithm: 'AEAD_AES_256_GCM',
      ciphertext,
      associated_data: associatedData,
      nonce,
    },
  };
  const body = JSON.stringify(notification);
  const headerNonce = Formatter.nonce(32);
  const signature = Rsa.sign(Formatter.response(timestamp, headerNonce, body), signer);
  const headers = {
    'Wechatpay-Timestamp': String(timestamp),
    'Wechatpay-Nonce': headerNonce,
    'Wechatpay-Signature': signature,
    'Wechatpay-Serial': serial,
    'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048',
  };
  return { notification, body, headers };
}

function rawRequest(headers, body) {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `${lines.join('\n')}\n\n${body}`;
}

function verifyNotify(request, { key = files.platformPublic, serial = PLATFORM_SERIAL, apiv3 = files.apiv3Key } = {}) {
  const args = ['pay', 'verify-notify', 'wechat', '--key', key];
  if (serial !== null) args.push('--serial', serial);
  args.push('--apiv3-key', apiv3, '--json');
  return run(args, request);
}

function assertRefused(r, reason) {
  assert.equal(r.status, 1, `expected a refusal, got ${r.status}: ${r.stdout}${r.stderr}`);
  assert.notEqual(r.stderr.trim(), '', 'a refusal says why on stderr');
  assert.match(r.stderr, reason);
  assert.doesNotMatch(r.stdout, /TU20240518000123/, 'nothing of a refused notification is printed');
}

describe('verify-notify wechat', () => {
  test('the oracle decrypts what it encrypted', () => {
    const { notification } = makeNotification();
    const r = notification.resource;
    assert.deepEqual(JSON.parse(Aes.AesGcm.decrypt(r.ciphertext, apiv3Key, r.nonce, r.associated_data)), transaction);
  });

  test('a genuine notification is accepted and its resource decrypted', () => {
    const { notification, body, headers } = makeNotification();
    const r = verifyNotify(rawRequest(headers, body));
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.notification, notification);
    assert.deepEqual(out.resource, transaction);
    assert.equal(out.resource.trade_state_desc, '支付成功');
  });

  test('header names are case-insensitive and --serial is optional', () => {
    const { body, headers } = makeNotification();
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    const r = verifyNotify(rawRequest(lower, body), { serial: null });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).resource, transaction);
  });

  test('an empty associated_data is authenticated as empty', () => {
    const { body, headers } = makeNotification({ associatedData: '' });
    const r = verifyNotify(rawRequest(headers, body));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).resource, transaction);
  });

  test('a tampered body is refused', () => {
    const { body, headers } = makeNotification();
    const tampered = body.replace('"summary":"支付成功"', '"summary":"支付成功 "');
    assert.notEqual(tampered, body);
    assertRefused(verifyNotify(rawRequest(headers, tampered)), /signature/i);
  });

  test('a body re-encrypted without the platform key is refused', () => {
    // Signed by someone who is not WeChat Pay: the signature must be checked with --key.
    const { body, headers } = makeNotification({ signer: merchant.privateKey });
    assertRefused(verifyNotify(rawRequest(headers, body)), /signature/i);
    const genuine = makeNotification();
    assertRefused(
      verifyNotify(rawRequest(genuine.headers, genuine.body), { key: files.otherPublic }),
      /signature/i,
    );
  });

  test('a wrong serial is refused', () => {
    const { body, headers } = makeNotification({ serial: '7132D72A03E93CDDF8C03BBD1F37EEDF00000000' });
    assertRefused(verifyNotify(rawRequest(headers, body)), /serial/i);
  });

  test('stale and future timestamps are refused', () => {
    for (const offset of [-(TOLERANCE_S + 60), TOLERANCE_S + 60, -86400]) {
      const { body, headers } = makeNotification({ timestamp: nowS() + offset });
      assertRefused(verifyNotify(rawRequest(headers, body)), /timestamp/i);
    }
    const { body, headers } = makeNotification();
    assertRefused(verifyNotify(rawRequest({ ...headers, 'Wechatpay-Timestamp': `${headers['Wechatpay-Timestamp']}x` }, body)), /timestamp/i);
  });

  test('a wrong APIv3 key is refused', () => {
    const { body, headers } = makeNotification();
    assertRefused(verifyNotify(rawRequest(headers, body), { apiv3: files.wrongApiv3Key }), /decrypt/i);
  });

  test('a resource encrypted under another key is refused even when signed', () => {
    const other = randomBytes(16).toString('hex');
    const { body, headers } = makeNotification({ key: other });
    assertRefused(verifyNotify(rawRequest(headers, body)), /decrypt/i);
  });

  test('missing headers and a non-Base64 signature are refused', () => {
    const { body, headers } = makeNotification();
    for (const name of ['Wechatpay-Timestamp', 'Wechatpay-Nonce', 'Wechatpay-Signature', 'Wechatpay-Serial']) {
      const without = { ...headers };
      delete without[name];
      assertRefused(verifyNotify(rawRequest(without, body)), new RegExp(name.replace('Wechatpay-', ''), 'i'));
    }
    assertRefused(verifyNotify(rawRequest({ ...headers, 'Wechatpay-Signature': 'not*base64' }, body)), /not Base64/);
  });
});

// ---- requests ----------------------------------------------------------------------------------

/** Splits `WECHATPAY2-SHA256-RSA2048 k="v",k="v"` into its scheme and fields. */
function parseAuthorization(header) {
  const m = /^(WECHATPAY2-SHA256-RSA2048) (.*)$/.exec(header);
  assert.ok(m, `not a WECHATPAY2-SHA256-RSA2048 header: ${header}`);
  const fields = {};
  const rest = m[2].replace(/([a-z_]+)="([^"]*)"(,|$)/g, (_, k, v) => {
    assert.equal(fields[k], undefined, `field ${k} twice`);
    fields[k] = v;
    return '';
  });
  assert.equal(rest, '', `unparsed text in the header: ${rest}`);
  return { scheme: m[1], fields };
}

function sign({ method = 'POST', url = '/v3/pay/transactions/native', timestamp, nonce, body }) {
  const r = run(
    ['pay', 'sign', 'wechat', '--key', files.merchantPrivate, '--mchid', MCHID, '--serial', MERCHANT_SERIAL,
      '--method', method, '--url', url, '--timestamp', String(timestamp), '--nonce', nonce],
    body,
  );
  return r;
}

function headerOf(stdout) {
  return stdout.replace(/\r?\n$/, '').replace(/^Authorization: /, '');
}

describe('sign wechat', () => {
  const order = {
    appid: 'wxd678efh567hg6787',
    mchid: MCHID,
    description: '话费充值 50 元 · 中国移动',
    out_trade_no: 'TU20240518000123',
    notify_url: 'https://topup.example.com/v1/notify/wechat',
    amount: { total: 5000, currency: 'CNY' },
  };

  for (const { method, url, body } of [
    { method: 'POST', url: '/v3/pay/transactions/native', body: JSON.stringify(order) },
    { method: 'GET', url: '/v3/pay/transactions/out-trade-no/TU20240518000123?mchid=1900009191', body: '' },
  ]) {
    test(`${method} ${url.split('?')[0]}: the plugin verifies the Authorization and builds the same one`, () => {
      const timestamp = nowS();
      const nonce = Formatter.nonce(32);
      const r = sign({ method, url, timestamp, nonce, body });
      assert.equal(r.status, 0, r.stderr);
      const header = headerOf(r.stdout);
      assert.doesNotMatch(header, /[\r\n]/);
      const { scheme, fields } = parseAuthorization(header);
      assert.equal(scheme, 'WECHATPAY2-SHA256-RSA2048');
      assert.deepEqual(Object.keys(fields).sort(), ['mchid', 'nonce_str', 'serial_no', 'signature', 'timestamp']);
      assert.equal(fields.mchid, MCHID);
      assert.equal(fields.serial_no, MERCHANT_SERIAL);
      assert.equal(fields.timestamp, String(timestamp));
      assert.equal(fields.nonce_str, nonce);

      const message = Formatter.request(method, url, timestamp, nonce, body);
      assert.equal(Rsa.verify(message, fields.signature, merchant.publicKey), true);
      assert.equal(Rsa.verify(Formatter.request(method, url, timestamp, nonce, `${body} `), fields.signature, merchant.publicKey), false);

      // RSA PKCS#1 v1.5 is deterministic: the plugin's header for the same inputs carries the same
      // signature. The plugin orders the fields differently (the order is free), so the header is
      // compared after putting ours in the plugin's order.
      const expected = Formatter.authorization(MCHID, nonce, Rsa.sign(message, merchant.privateKey), timestamp, MERCHANT_SERIAL);
      assert.equal(
        Formatter.authorization(fields.mchid, fields.nonce_str, fields.signature, fields.timestamp, fields.serial_no),
        expected,
      );
      assert.deepEqual(parseAuthorization(expected).fields, fields);
    });
  }

  test('a nonce outside 1-32 [A-Za-z0-9] is refused', () => {
    for (const nonce of ['', 'abc-def', 'a"b', 'x'.repeat(33), '中文']) {
      const r = sign({ timestamp: nowS(), nonce, body: '{}' });
      assert.notEqual(r.status, 0, `nonce ${JSON.stringify(nonce)} accepted: ${r.stdout}`);
      assert.doesNotMatch(r.stdout, /WECHATPAY2/);
    }
    const ok = sign({ timestamp: nowS(), nonce: 'x'.repeat(32), body: '{}' });
    assert.equal(ok.status, 0, ok.stderr);
  });

  test('a group-readable private key is refused', () => {
    const loose = path.join(dir, 'loose.pem');
    writeFileSync(loose, pem(merchant.privateKey, 'private'), { mode: 0o644 });
    chmodSync(loose, 0o644); // the umask may have taken group and other read away
    const r = run(['pay', 'sign', 'wechat', '--key', loose, '--mchid', MCHID, '--serial', MERCHANT_SERIAL,
      '--method', 'POST', '--url', '/v3/x', '--timestamp', String(nowS()), '--nonce', 'abc'], '{}');
    assert.notEqual(r.status, 0, 'a world-readable key was used');
    assert.doesNotMatch(r.stdout, /WECHATPAY2/);
    // the same command with the 0600 key works, so the refusal above is about the mode
    const ok = run(['pay', 'sign', 'wechat', '--key', files.merchantPrivate, '--mchid', MCHID, '--serial', MERCHANT_SERIAL,
      '--method', 'POST', '--url', '/v3/x', '--timestamp', String(nowS()), '--nonce', 'abc'], '{}');
    assert.equal(ok.status, 0, ok.stderr);
  });
});
