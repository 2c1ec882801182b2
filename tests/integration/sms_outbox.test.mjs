// The SMS outbox: a recharge queues its subscriber's SMS in the same transaction as the credit,
// in the configured language, with the facts its template needs; with SMS off nothing is
// queued; a refused recharge queues nothing. The texts are checked through `topup outbox show`.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  assertJson,
  createKey,
  createWorkspace,
  newIdemKey,
  postRecharge,
  run,
  startDaemon,
  TOPUP,
  topup,
  verifyLedger,
} from './harness.mjs';

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
  before(async () => {
    ws = await createWorkspace('sms');
    key = await createKey(ws.db, 'sms-it', 'recharge,read');
    const config = await ws.writeFile('topupd.conf', 'sms.transport = smpp\nsms.lang = en\n');
    daemon = await startDaemon(ws.db, { args: ['--config', config] });
  });
  after(async () => {
    await daemon?.stop();
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
    assert.equal(m.status, 'queued');
    assert.equal(m.facts.amount_minor, order.amount_minor);
    assert.equal(m.facts.balance_minor, order.balance_after_minor);
    const shown = await show(ws.db, m.id);
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

  test('retry puts an unsent message back in the queue; an unknown id is refused', async () => {
    const [m] = await outbox(ws.db);
    const r = await topup(['outbox', 'retry', String(m.id), '--db', ws.db]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await show(ws.db, m.id)).status, 'queued');
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
