// The whole path of a subscriber's SMS: a recharge through topupd's API queues it, the dispatcher
// renders it in Chinese and hands it to the SMPP transport, and the SMSC (the npm `smpp` package)
// receives it as UCS-2 parts reassembling to exactly the template's text; the SMSC's delivery
// receipt then marks the message delivered.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import {
  assertJson,
  createKey,
  createWorkspace,
  newIdemKey,
  postRecharge,
  sleep,
  startDaemon,
  topup,
  verifyLedger,
} from '../integration/harness.mjs';
import { startSmsc } from './smsc.mjs';

let ws;
let key;
let smsc;
let daemon;

before(async () => {
  ws = await createWorkspace('recharge-sms');
  key = await createKey(ws.db, 'sms-e2e', 'recharge,read');
  smsc = await startSmsc({ systemId: 'topup', password: 'pw123' });
  smsc.receipts = true;
  const password = path.join(ws.dir, 'smpp-password');
  fs.writeFileSync(password, 'pw123\n', { mode: 0o600 });
  const config = await ws.writeFile('topupd.conf', [
    'sms.transport = smpp', 'sms.host = 127.0.0.1', `sms.port = ${smsc.port}`,
    'sms.system_id = topup', `sms.password = ${password}`, 'sms.source_addr = 10086',
    'sms.enquire_link_s = 5', 'sms.reconnect_max_s = 2', '',
  ].join('\n'));
  daemon = await startDaemon(ws.db, { args: ['--config', config] });
});

after(async () => {
  await daemon?.stop();
  await smsc?.close();
  await ws?.cleanup();
});

async function message(orderId, done, what) {
  const deadline = Date.now() + 15000;
  for (;;) {
    const r = await topup(['outbox', 'list', '--db', ws.db, '--json']);
    const m = JSON.parse(r.stdout).messages.find((x) => x.order_id === Number(orderId));
    if (m && done(m)) return m;
    if (Date.now() > deadline) assert.fail(`${what}: ${JSON.stringify(m)}`);
    await sleep(100);
  }
}

test('a recharge reaches the SMSC as its Chinese SMS and is marked delivered', async () => {
  const order = assertJson(
    await postRecharge(daemon, key, newIdemKey('e2e'), { msisdn: '13800138021', product: 'cmcc-100' }),
    201, 'recharge');
  const delivered = await message(order.id, (m) => m.status === 'delivered', 'the SMS was not delivered');
  assert.equal(delivered.receipt, 'DELIVRD');
  const shown = JSON.parse((await topup(['outbox', 'show', String(delivered.id), '--db', ws.db, '--json'])).stdout);
  // The Chinese text is longer than one UCS-2 SMS (70 characters): it goes as concatenated
  // parts, each acknowledged once, that reassemble to exactly the rendered text.
  const parts = smsc.accepted().filter((x) => x.destination_addr === '8613800138021');
  assert.ok(parts.length >= 2, `one part for ${shown.text.length} characters`);
  const headers = parts.map((x) => x.udh);
  assert.ok(headers.every((h) => h && h.reference === headers[0].reference && h.total === parts.length),
    JSON.stringify(headers));
  assert.deepEqual(headers.map((h) => h.sequence), parts.map((_, i) => i + 1));
  assert.ok(parts.every((x) => x.data_coding === 8), 'Chinese goes as UCS-2');
  const text = parts.map((x) => new TextDecoder('utf-16be').decode(x.octets.subarray(6))).join('');
  assert.equal(text, shown.text);
  assert.match(shown.text, /^【话费充值】您的号码\+86138\*\*\*\*8021已成功充值100\.00元，当前余额100\.00元，有效期至\d{4}年\d{2}月\d{2}日。/);
  assert.equal(parts[0].source_addr, '10086');
  assert.equal(parts[0].registered_delivery & 1, 1, 'a receipt was asked for');
  assert.equal(delivered.smsc_id, parts[0].message_id, 'the message is known by its first part');
  await verifyLedger(ws.db);
});

test('with the SMSC down for a minute, messages wait in the outbox and go out once it is back', async () => {
  const port = smsc.port;
  await smsc.close();
  const orders = [];
  for (const msisdn of ['13800138022', '13800138023'])
    orders.push(assertJson(
      await postRecharge(daemon, key, newIdemKey('down'), { msisdn, product: 'cmcc-50' }), 201, msisdn));
  // A minute with no SMSC: nothing is lost, nothing is given up on.
  const until = Date.now() + 60000;
  while (Date.now() < until) {
    await sleep(5000);
    for (const order of orders) {
      const r = await topup(['outbox', 'list', '--db', ws.db, '--json']);
      const m = JSON.parse(r.stdout).messages.find((x) => x.order_id === Number(order.id));
      assert.ok(m && ['queued', 'sending'].includes(m.status), `while the SMSC is down: ${JSON.stringify(m)}`);
    }
  }
  smsc = await startSmsc({ systemId: 'topup', password: 'pw123', port });
  smsc.receipts = true;
  for (const order of orders) {
    const m = await message(order.id, (x) => x.status === 'delivered', 'not sent after the SMSC came back');
    assert.ok(m.smsc_id, JSON.stringify(m));
  }
  for (const number of ['8613800138022', '8613800138023']) {
    const parts = smsc.accepted().filter((x) => x.destination_addr === number);
    const references = new Set(parts.map((x) => x.udh?.reference));
    assert.equal(references.size, 1, `${number} got its SMS more than once: ${parts.length} parts`);
  }
});
