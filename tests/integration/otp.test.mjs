// SMS codes (POST /v1/otp, POST /v1/otp/verify): a code reaches the number by SMS and verifies
// once; a wrong code, an expired or used one and too many tries are refused with their own
// codes; a second code within 60 s and past the daily caps per number and per payer IP is
// refused with 429 and Retry-After; the database keeps only a hash of the code, and the outbox
// forgets it once the SMS is sent.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { api, assertJson, assertProblem, createKey, createWorkspace, sleep, startDaemon } from './harness.mjs';
import { smsSettings, startSmsGateway } from './sms_gateway.mjs';

describe('SMS codes', () => {
  let ws;
  let key;
  let daemon;
  let gw;
  before(async () => {
    ws = await createWorkspace('otp');
    key = await createKey(ws.db, 'portal', 'recharge');
    gw = await startSmsGateway();
    const secret = path.join(ws.dir, 'sms-password');
    fs.writeFileSync(secret, 's3cret\n', { mode: 0o600 });
    const config = await ws.writeFile('topupd.conf', smsSettings(gw, secret, [
      'sms.otp_per_number_per_day = 3', 'sms.otp_per_ip_per_day = 4',
    ]));
    daemon = await startDaemon(ws.db, { args: ['--config', config] });
  });
  after(async () => {
    await daemon?.stop();
    await gw?.close();
    await ws?.cleanup();
  });

  const send = (body) => api(daemon, 'POST', '/v1/otp', { key, json: body });
  const verify = (body) => api(daemon, 'POST', '/v1/otp/verify', { key, json: body });

  /** The code of the newest SMS to number, once the gateway has it. */
  async function codeSentTo(e164) {
    const deadline = Date.now() + 10000;
    for (;;) {
      const sms = gw.requests.filter((q) => q.to === e164).at(-1);
      const m = sms && /Your verification code is (\d{6})\. It is valid for 5 minutes\./.exec(sms.text);
      if (m) return m[1];
      if (Date.now() > deadline) assert.fail(`no code reached ${e164}: ${JSON.stringify(gw.requests)}`);
      await sleep(50);
    }
  }

  function sql(query) {
    return execFileSync('sqlite3', ['-json', ws.db, query], { encoding: 'utf8' });
  }

  test('a code is sent by SMS, verifies once, and only its hash is kept', async () => {
    const sent = assertJson(await send({ msisdn: '13800138101', purpose: 'register' }), 202, 'send');
    assert.deepEqual([sent.msisdn, sent.purpose, sent.expires_in, sent.resend_after],
      ['+8613800138101', 'register', 300, 60]);
    const code = await codeSentTo('+8613800138101');
    const wrong = String((Number(code) + 1) % 1000000).padStart(6, '0');
    assertProblem(await verify({ msisdn: '13800138101', purpose: 'register', code: wrong }), 422, 'otp_wrong');
    assertProblem(await verify({ msisdn: '13800138101', purpose: 'login', code }), 422, 'otp_expired',
      'a code is only good for its purpose');
    const ok = assertJson(await verify({ msisdn: '13800138101', purpose: 'register', code }), 200, 'verify');
    assert.equal(ok.verified, true);
    assertProblem(await verify({ msisdn: '13800138101', purpose: 'register', code }), 422, 'otp_expired',
      'a used code does not verify again');
    const stored = sql("SELECT hex(code_hash) AS h, hex(salt) AS s FROM otp_codes WHERE msisdn = '+8613800138101'");
    assert.ok(!stored.includes(code), 'the code is stored in clear');
    // Once the SMS is acknowledged its row no longer holds the code.
    let facts = '';
    for (const deadline = Date.now() + 10000; Date.now() < deadline; await sleep(50)) {
      facts = sql("SELECT facts FROM sms_outbox WHERE event = 'otp' AND msisdn = '+8613800138101' AND status = 'sent'");
      if (facts.length > 2) break;
    }
    assert.ok(facts.length > 2, 'the SMS code was never marked sent');
    assert.ok(!facts.includes(code), `the sent SMS still holds the code: ${facts}`);
  });

  test('five wrong tries use the code up; an expired code is refused', async () => {
    assertJson(await send({ msisdn: '13800138102', purpose: 'login' }), 202);
    const code = await codeSentTo('+8613800138102');
    const wrong = String((Number(code) + 7) % 1000000).padStart(6, '0');
    for (let i = 0; i < 5; i++)
      assertProblem(await verify({ msisdn: '13800138102', purpose: 'login', code: wrong }), 422, 'otp_wrong');
    assertProblem(await verify({ msisdn: '13800138102', purpose: 'login', code }), 422, 'otp_attempts',
      'the right code after five wrong ones');

    assertJson(await send({ msisdn: '13800138103', purpose: 'reset' }), 202);
    const late = await codeSentTo('+8613800138103');
    // Five minutes pass.
    sql("UPDATE otp_codes SET expires_at = strftime('%s','now') - 1 WHERE msisdn = '+8613800138103'");
    assertProblem(await verify({ msisdn: '13800138103', purpose: 'reset', code: late }), 422, 'otp_expired');
  });

  test('a second code within 60 s, and past the daily caps, is refused with Retry-After', async () => {
    const ip = '203.0.113.5';
    assertJson(await send({ msisdn: '13800138104', purpose: 'register', payer_ip: ip }), 202);
    const again = await send({ msisdn: '13800138104', purpose: 'register', payer_ip: ip });
    assertProblem(again, 429, 'rate_limited');
    const wait = Number(again.header('retry-after'));
    assert.ok(wait >= 1, `Retry-After: ${again.header('retry-after')}`);
    // Per number: three a day (one per purpose here).
    assertJson(await send({ msisdn: '13800138104', purpose: 'login', payer_ip: ip }), 202);
    assertJson(await send({ msisdn: '13800138104', purpose: 'reset', payer_ip: ip }), 202);
    sql("UPDATE otp_codes SET created_at = created_at - 120 WHERE msisdn = '+8613800138104'");
    assertProblem(await send({ msisdn: '13800138104', purpose: 'register', payer_ip: ip }), 429, 'rate_limited',
      'a fourth code for one number in a day');
    // Per payer IP: four a day, whatever the numbers.
    for (const n of ['13800138111', '13800138112', '13800138113', '13800138114'])
      assertJson(await send({ msisdn: n, purpose: 'register', payer_ip: '198.51.100.7' }), 202, n);
    assertProblem(await send({ msisdn: '13800138115', purpose: 'register', payer_ip: '198.51.100.7' }),
      429, 'rate_limited', 'a fifth code for one payer IP in a day');
  });

  test('bad requests say what was wrong', async () => {
    assertProblem(await send({ msisdn: '13800138120', purpose: 'birthday' }), 400, 'invalid_field');
    assertProblem(await send({ msisdn: '12345', purpose: 'login' }), 422, 'invalid_number');
    assertProblem(await verify({ msisdn: '13800138120', purpose: 'login', code: '12ab56' }), 400, 'invalid_field');
    assertProblem(await verify({ msisdn: '13800138120', purpose: 'login', code: '123456' }), 422, 'otp_expired',
      'no code was ever sent');
  });
});
