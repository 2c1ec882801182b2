// The SMS outbox: a recharge queues its subscriber's SMS in the same transaction as the credit,
// in the configured language, with the facts its template needs; the dispatcher sends it through
// an HTTP SMS gateway (Kannel's sendsms, played here by a loopback server) and records sent,
// retried and dead messages; with SMS off nothing is queued; a refused recharge queues nothing.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  assertJson,
  createKey,
  createWorkspace,
  api,
  metricValue,
  newIdemKey,
  postRecharge,
  run,
  startDaemon,
  TOPUP,
  topup,
  sleep,
  verifyLedger,
} from './harness.mjs';
import { smsSettings, startSmsGateway } from './sms_gateway.mjs';

async function waitForMessage(db, orderId, done, what) {
  const deadline = Date.now() + 15000;
  for (;;) {
    const m = (await outbox(db)).find((x) => x.order_id === Number(orderId));
    if (m && done(m)) return m;
    if (Date.now() > deadline) assert.fail(`${what}: ${JSON.stringify(m)}`);
    await sleep(100);
  }
}

async function outbox(db) {
  const r = await topup(['outbox', 'list', '--db', db, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).messages;
}

async function show(db, id) {
  const r = await topup(['outbox', 'show', String(id), '--db', db, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('SMS outbox', () => {
  let ws;
  let key;
  let daemon;
  let gw;
  before(async () => {
    ws = await createWorkspace('sms');
    key = await createKey(ws.db, 'sms-it', 'recharge,read');
    gw = await startSmsGateway();
    const secret = path.join(ws.dir, 'sms-password');
    fs.writeFileSync(secret, 's3cret\n', { mode: 0o600 });
    const sandboxSecret = path.join(ws.dir, 'sandbox-secret');
    fs.writeFileSync(sandboxSecret, 'whsec_sandbox_for_sms\n', { mode: 0o600 });
    const config = await ws.writeFile('topupd.conf', smsSettings(gw, secret, [
      'sandbox.gateway = http://127.0.0.1:9', `sandbox.webhook_secret = ${sandboxSecret}`,
      'payments.settle_interval_ms = 100',
    ]));
    daemon = await startDaemon(ws.db, { args: ['--config', config] });
  });
  after(async () => {
    await daemon?.stop();
    gw?.server.close();
    await ws?.cleanup();
  });

  test('a recharge queues one SMS with its facts, and the text reads right', async () => {
    const res = await postRecharge(daemon, key, newIdemKey('sms'), { msisdn: '13800138001', product: 'cmcc-50' });
    const order = assertJson(res, 201, 'recharge');
    const mine = (await outbox(ws.db)).filter((m) => m.order_id === Number(order.id));
    assert.equal(mine.length, 1, JSON.stringify(mine));
    const m = mine[0];
    assert.equal(m.event, 'recharge_succeeded');
    assert.equal(m.msisdn, '+8613800138001');
    assert.equal(m.lang, 'en');
    assert.ok(['queued', 'sending', 'sent'].includes(m.status), m.status);
    assert.equal(m.facts.amount_minor, order.amount_minor);
    assert.equal(m.facts.balance_minor, order.balance_after_minor);
    const sent = await waitForMessage(ws.db, order.id, (x) => x.status === 'sent', 'the SMS was not sent');
    assert.equal(sent.attempts, 1);
    const shown = await show(ws.db, m.id);
    const request = gw.requests.find((q) => q.to === '+8613800138001');
    assert.ok(request, JSON.stringify(gw.requests));
    assert.equal(request.text, shown.text, 'the gateway got exactly the rendered text');
    assert.deepEqual([request.username, request.password, request.from, request.charset],
      ['topup', 's3cret', '10086', 'UTF-8']);
    assert.match(shown.text, /^Your number \+86138\*\*\*\*8001 was recharged with CNY 50\.00\. Balance CNY [0-9.]+, valid until \d{4}-\d{2}-\d{2}\. Order \d+, /);
    assert.ok(shown.text.includes(`Order ${order.id},`), shown.text);
    await verifyLedger(ws.db);
  });

  test('a replayed recharge does not queue a second SMS; a refused one queues none', async () => {
    const idem = newIdemKey('sms-replay');
    const body = { msisdn: '13800138002', product: 'cmcc-50' };
    const first = assertJson(await postRecharge(daemon, key, idem, body), 201, 'first');
    await postRecharge(daemon, key, idem, body);
    const refused = await postRecharge(daemon, key, newIdemKey('sms-bad'), { msisdn: '13800138003', product: 'no-such' });
    assert.notEqual(refused.status, 201);
    const all = await outbox(ws.db);
    assert.equal(all.filter((m) => m.order_id === Number(first.id)).length, 1);
    assert.equal(all.filter((m) => m.msisdn === '+8613800138003').length, 0);
  });

  test('a paid order whose credit is refused is refunded, and the payer is told by SMS', async () => {
    const created = await api(daemon, 'POST', '/v1/payment-orders', {
      key, headers: { 'idempotency-key': newIdemKey('sms-pay') },
      json: { msisdn: '13800138007', product: 'cmcc-50', provider: 'sandbox', method: 'checkout' },
    });
    const order = assertJson(created, 201, 'payment order');
    // The number is closed before the payer pays: the credit is refused and the money goes back.
    await topup(['subscribers', 'set-status', '--db', ws.db, '--msisdn', '13800138007', '--status', 'closed']);
    const paid = await api(daemon, 'POST', `/sandbox/pay/${order.payment.out_trade_no}`, { body: 'action=pay' });
    assert.equal(paid.status, 200, paid.text);
    const m = await waitForMessage(ws.db, order.id, (x) => x.event === 'recharge_refunded' && x.status === 'sent',
      'no refund SMS was sent');
    const shown = await show(ws.db, m.id);
    assert.equal(shown.text.replace(/, \d{4}-\d{2}-\d{2} \d{2}:\d{2}\.$/, '.'),
      `The CNY 50.00 you paid for +86138****8007 could not be credited and has been refunded. Order ${order.id}.`);
    const messages = (await outbox(ws.db)).filter((x) => x.order_id === Number(order.id));
    assert.deepEqual(messages.map((x) => x.event), ['recharge_refunded'], 'no success SMS for a refused credit');
    await verifyLedger(ws.db);
  });

  test('a gateway error is retried with backoff, a refusal is dead, and retry sends it again', async () => {
    gw.status = 503;
    const first = assertJson(await postRecharge(daemon, key, newIdemKey('sms-5xx'), { msisdn: '13800138005', product: 'cmcc-50' }), 201);
    const waiting = await waitForMessage(ws.db, first.id, (x) => x.attempts >= 1 && x.status === 'queued', 'not retried');
    assert.match(waiting.last_error, /HTTP 503/);
    gw.status = 202;
    await waitForMessage(ws.db, first.id, (x) => x.status === 'sent', 'not sent after the gateway came back');

    gw.status = 400;
    const second = assertJson(await postRecharge(daemon, key, newIdemKey('sms-4xx'), { msisdn: '13800138006', product: 'cmcc-50' }), 201);
    const dead = await waitForMessage(ws.db, second.id, (x) => x.status === 'dead', 'a refused SMS is not dead');
    assert.equal(dead.attempts, 1);
    gw.status = 202;
    const r = await topup(['outbox', 'retry', String(dead.id), '--db', ws.db]);
    assert.equal(r.code, 0, r.stderr);
    await waitForMessage(ws.db, second.id, (x) => x.status === 'sent', 'a retried SMS was not sent');
    // /metrics counts what the dispatcher did and what waits in the outbox.
    const metrics = await api(daemon, 'GET', '/metrics');
    const { text } = metrics;
    assert.ok(metricValue(text, 'topup_sms_sent_total', '{result="sent"}') >= 3, text);
    assert.ok(metricValue(text, 'topup_sms_sent_total', '{result="retried"}') >= 1);
    assert.ok(metricValue(text, 'topup_sms_sent_total', '{result="dead"}') >= 1);
    assert.equal(metricValue(text, 'topup_sms_outbox_messages', '{status="dead"}'), 0);
    assert.equal(metricValue(text, 'topup_sms_link_up'), 1);
    // A sent message is never queued again.
    const again = await run(TOPUP, ['outbox', 'retry', String(dead.id), '--db', ws.db]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /not sent again/);
    const missing = await run(TOPUP, ['outbox', 'retry', '999999', '--db', ws.db]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No SMS 999999/);
  });
});

describe('SMS off', () => {
  test('without sms.transport a recharge queues nothing', async () => {
    const ws = await createWorkspace('sms-off');
    const key = await createKey(ws.db, 'sms-off', 'recharge');
    const daemon = await startDaemon(ws.db);
    try {
      assertJson(await postRecharge(daemon, key, newIdemKey('off'), { msisdn: '13800138004', product: 'cmcc-50' }), 201);
      assert.deepEqual(await outbox(ws.db), []);
    } finally {
      await daemon.stop();
      await ws.cleanup();
    }
  });

  test('a bad sms setting stops topupd with the line named', async () => {
    const ws = await createWorkspace('sms-bad');
    const config = await ws.writeFile('bad.conf', 'sms.lang = fr\n');
    try {
      await assert.rejects(startDaemon(ws.db, { args: ['--config', config], startTimeoutMs: 5000 }),
        /bad\.conf:1: sms\.lang must be zh-CN or en/);
    } finally {
      await ws.cleanup();
    }
  });
});

describe('low-balance reminders', () => {
  test('a subscriber below sms.low_balance_minor is reminded once, others not', async () => {
    const ws = await createWorkspace('sms-low');
    const gw = await startSmsGateway();
    const secret = path.join(ws.dir, 'sms-password');
    fs.writeFileSync(secret, 's3cret\n', { mode: 0o600 });
    const csv = await ws.writeFile('subs.csv',
      'msisdn,status,balance,valid_until\n13800138031,active,3.00,\n13800138032,active,50.00,\n' +
      '13800138033,closed,1.00,\n');
    await topup(['subscribers', 'import', csv, '--db', ws.db]);
    const config = await ws.writeFile('topupd.conf', smsSettings(gw, secret, ['sms.low_balance_minor = 500']));
    try {
      for (let start = 0; start < 2; start++) {
        const daemon = await startDaemon(ws.db, { args: ['--config', config] });
        const deadline = Date.now() + 10000;
        while (!gw.requests.length && Date.now() < deadline) await sleep(100);
        await sleep(500); // anything else the sweep would send
        await daemon.stop();
      }
      assert.deepEqual(gw.requests.map((q) => [q.to, q.text]), [[
        '+8613800138031', 'The balance of +86138****8031 is CNY 3.00. Please recharge soon.',
      ]], 'one reminder, to the active number below the threshold, not repeated after a restart');
      const reminders = (await outbox(ws.db)).filter((m) => m.event === 'low_balance');
      assert.deepEqual(reminders.map((m) => [m.msisdn, m.status]), [['+8613800138031', 'sent']]);
    } finally {
      await gw.close();
      await ws.cleanup();
    }
  });
});
