// End-to-end tests of payment orders against the real topupd talking to the fake provider
// gateways (fake/*-gateway.mjs, built on the providers' own SDKs): Alipay, WeChat Pay and card
// checkout. For each provider: an order paid at the provider is credited once; the same
// notification sent many times at once credits once; a genuine notification meant for another
// app or merchant (or a forged one) is refused; a create the provider never answers leaves the
// payment unknown until the settlement worker's query finds it paid; a refund the provider
// refuses raises an alert and leaves the money owed. For Alipay also: a payment code paid at
// once, and an order closed at the provider after close_after whose late payment is refunded.
// Every scenario ends with `topup verify`.
//
// Environment: TOPUP_BUILD (see ../integration/harness.mjs).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import { after, before, beforeEach, describe, test } from 'node:test';

import {
  assertJson,
  assertProblem,
  freePort,
  rfc3339Seconds,
  show,
  sleep,
  startDaemon,
  topup,
  verifyLedger,
} from '../integration/harness.mjs';
import { startAlipayGateway } from './fake/alipay-gateway.mjs';
import { startCardGateway } from './fake/card-gateway.mjs';
import { startWechatpayGateway } from './fake/wechatpay-gateway.mjs';
import {
  alertsFor,
  createOrder,
  createPaymentsWorkspace,
  freshCmcc,
  getOrder,
  getSubscriber,
  netFor,
  notificationsFor,
  postNotification,
  postPaymentOrder,
  refundRows,
  startPaymentsDaemon,
  startRelay,
  transfersOf,
  waitForOrder,
} from './flow-harness.mjs';

const FACE = 5000; // cmcc-50
const DUPLICATES = 50;
const TIMEOUT_MS = 500; // every provider's timeout_ms: a held request is given up quickly

const pem = (key, type) => key.export(type === 'private' ? { type: 'pkcs8', format: 'pem' } : { type: 'spki', format: 'pem' });

async function secretFile(ws, name, text) {
  const file = await ws.writeFile(name, text);
  await fsp.chmod(file, 0o600);
  return file;
}

/** A URL nothing listens on: a notification sent there is lost. */
async function deadUrl(pathname) {
  return `http://127.0.0.1:${await freePort()}${pathname}`;
}

// What differs between providers: how its fake starts and is configured, the method of a QR or
// hosted-checkout order, a genuine notification meant for someone else, how to make the
// provider refuse a refund, and how to let a payment's notification get lost.
const PROVIDERS = {
  alipay: {
    method: 'qr',
    async start(ws, notifyUrl) {
      const gen = () => crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      const app = gen();
      const alipay = gen();
      const gw = await startAlipayGateway({
        appId: '2021000000000001',
        appPublicKey: pem(app.publicKey, 'public'),
        alipayPrivateKey: pem(alipay.privateKey, 'private'),
      });
      const settings = {
        'alipay.gateway': gw.url,
        'alipay.app_id': '2021000000000001',
        'alipay.private_key': await secretFile(ws, 'alipay-app-private.pem', pem(app.privateKey, 'private')),
        'alipay.public_key': await ws.writeFile('alipay-public.pem', pem(alipay.publicKey, 'public')),
        'alipay.notify_url': notifyUrl,
        'alipay.timeout_ms': TIMEOUT_MS,
      };
      return { gw, settings };
    },
    notForUs: { 'another app': [{ appId: '2021000000009999' }, /app/i] },
    acknowledged(res) {
      assert.equal(res.status, 200, `topup did not acknowledge: ${res.status} ${res.body}`);
      assert.equal(res.body, 'success', 'Alipay stops resending only on the text "success"');
    },
    // The payer was already refunded in full from Alipay's console: Alipay refuses any more.
    refuseRefunds(gw, outTradeNo) {
      const trade = gw.trades.get(outTradeNo);
      trade.refunds.push({ outRequestNo: 'console-refund', amountMinor: trade.amountMinor, refundId: 'console', at: '' });
    },
    async payLosingNotification(gw, outTradeNo) {
      gw.trades.get(outTradeNo).notifyUrl = await deadUrl('/lost');
      await assert.rejects(gw.pay(outTradeNo));
    },
  },

  wechat: {
    method: 'qr',
    async start(ws, notifyUrl) {
      const merchant = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      const platform = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      const apiv3Key = crypto.randomBytes(24).toString('base64').slice(0, 32);
      const platformSerial = 'PUB_KEY_ID_0119000091912025110500000000000001';
      const gw = await startWechatpayGateway({
        merchantPublicKey: merchant.publicKey,
        platformPrivateKey: platform.privateKey,
        platformSerial,
        apiv3Key,
        mchid: '1900009191',
        appid: 'wxd678efh567hg6787',
      });
      const settings = {
        'wechat.gateway': gw.url,
        'wechat.app_id': 'wxd678efh567hg6787',
        'wechat.merchant_id': '1900009191',
        'wechat.merchant_serial': '3775B6A45ACD588826D15E583A95F5DDAAAAAAAA',
        'wechat.private_key': await secretFile(ws, 'wechat-merchant-private.pem', pem(merchant.privateKey, 'private')),
        'wechat.public_key': await ws.writeFile('wechat-platform-public.pem', pem(platform.publicKey, 'public')),
        'wechat.public_key_serial': platformSerial,
        'wechat.secret': await secretFile(ws, 'wechat-apiv3.key', `${apiv3Key}\n`),
        'wechat.notify_url': notifyUrl,
        'wechat.timeout_ms': TIMEOUT_MS,
      };
      return { gw, settings };
    },
    notForUs: {
      'another app': [{ appId: 'wx0000000000000000' }, /app/i],
      'another merchant': [{ mchid: '1900000001' }, /merchant/i],
    },
    acknowledged(res) {
      assert.ok(res.status === 200 || res.status === 204, `topup did not acknowledge: ${res.status} ${res.body}`);
    },
    refuseRefunds(gw) {
      gw.refundStatus = 'ABNORMAL'; // the payer's account refused the money
    },
    async payLosingNotification(gw, outTradeNo) {
      gw.trades.get(outTradeNo).notifyUrl = await deadUrl('/lost');
      await assert.rejects(gw.pay(outTradeNo));
    },
  },

  card: {
    method: 'checkout',
    async start(ws) {
      const apiKey = `sk_test_${crypto.randomBytes(24).toString('base64url').replace(/[-_]/g, 'x')}`;
      const webhookSecret = `whsec_${crypto.randomBytes(24).toString('base64url')}`;
      const gw = await startCardGateway({ apiKey, webhookSecret });
      const settings = {
        'card.gateway': gw.url,
        'card.secret': await secretFile(ws, 'card-api.key', `${apiKey}\n`),
        'card.webhook_secret': await secretFile(ws, 'card-webhook.secret', `${webhookSecret}\n`),
        'card.return_url': 'https://shop.example/paid',
        'card.timeout_ms': TIMEOUT_MS,
      };
      return { gw, settings, webhooks: true };
    },
    notForUs: { 'a forged signature': [{ secret: `whsec_${crypto.randomBytes(24).toString('base64url')}` }, /signature/i] },
    acknowledged(res) {
      assert.equal(res.status, 200, `topup did not acknowledge: ${res.status} ${res.body}`);
    },
    refuseRefunds(gw) {
      gw.refundStatus = 'failed';
    },
    async payLosingNotification(gw, outTradeNo) {
      const webhookUrl = gw.webhookUrl;
      gw.webhookUrl = await deadUrl('/lost');
      try {
        await assert.rejects(gw.pay(outTradeNo));
      } finally {
        gw.webhookUrl = webhookUrl;
      }
    },
  },
};

/** A workspace, a relay for the notify URL, the provider's fake and a topupd using both. */
async function providerSetup(name, extraSettings = {}) {
  const profile = PROVIDERS[name];
  const ws = await createPaymentsWorkspace(`flow-${name}`);
  const relay = await startRelay();
  const notifyPath = `/v1/payments/${name}/notify`;
  const { gw, settings, webhooks } = await profile.start(ws, `${relay.url}${notifyPath}`);
  let daemon;
  try {
    daemon = await startPaymentsDaemon(ws, { ...settings, ...extraSettings });
  } catch (e) {
    await gw.close();
    await relay.close();
    throw e;
  }
  relay.target = daemon.base;
  if (webhooks) gw.webhookUrl = `${relay.url}${notifyPath}`;
  return {
    name,
    profile,
    refundStatus: gw.refundStatus, // what a new refund gets unless a test says otherwise
    ws,
    relay,
    gw,
    daemon,
    key: ws.key,
    async teardown() {
      const exit = await this.daemon.stop();
      await gw.close();
      await relay.close();
      assert.equal(exit.code, 0, `topupd did not stop cleanly: ${JSON.stringify(exit)}\n${this.daemon.log().slice(-3000)}`);
      await ws.cleanup();
    },
  };
}

function orderBody(name, msisdn, extra = {}) {
  return { msisdn, product: 'cmcc-50', provider: name, method: PROVIDERS[name].method, ...extra };
}

for (const name of Object.keys(PROVIDERS)) {
  describe(`${name}: payment orders through the fake gateway`, () => {
    let s;

    before(async () => {
      s = await providerSetup(name);
    });

    after(async () => {
      await s?.teardown();
    });

    beforeEach(() => {
      s.gw.mode = 'normal';
      s.gw.delayMs = 0;
      if (s.gw.refundStatus !== undefined) s.gw.refundStatus = s.refundStatus;
    });

    test('an order paid at the provider is credited once', async () => {
      const msisdn = freshCmcc();
      const order = await createOrder(s.daemon, s.key, orderBody(name, msisdn));
      const outTradeNo = order.payment.out_trade_no;
      assert.match(order.payment.pay_url ?? '', /^[a-z][a-z0-9+.-]*:\/\/\S+$/i, `no pay_url: ${JSON.stringify(order.payment)}`);
      const trade = s.gw.trades.get(outTradeNo);
      assert.ok(trade, `the gateway has no trade ${outTradeNo}`);
      assert.equal(trade.amountMinor, FACE);
      assert.equal(trade.state, 'pending');
      assert.equal(s.gw.rejected.length, 0, JSON.stringify(s.gw.rejected));

      s.profile.acknowledged(await s.gw.pay(outTradeNo));
      assert.ok(s.relay.forwarded > 0, 'the notification did not go to the configured notify URL');

      const done = await getOrder(s.daemon, s.key, order.id);
      assert.equal(done.status, 'succeeded', JSON.stringify(done));
      assert.equal(done.payment.status, 'paid');
      assert.equal(done.payment.trade_no, trade.tradeNo);
      assert.equal(done.balance_after_minor, FACE);
      assert.equal((await getSubscriber(s.daemon, s.key, msisdn)).balance_minor, FACE);
      const rows = await notificationsFor(s.ws.db, outTradeNo);
      assert.deepEqual(rows.map((r) => [r.provider, r.genuine, r.verdict]), [[name, 1, 'credited']]);
      await verifyLedger(s.ws.db);
    });

    test(`the same notification ${DUPLICATES} times at once credits once`, async () => {
      const msisdn = freshCmcc();
      const order = await createOrder(s.daemon, s.key, orderBody(name, msisdn));
      const n = s.gw.notification(order.payment.out_trade_no);
      const answers = await Promise.all(Array.from({ length: DUPLICATES }, () => postNotification(s.daemon, name, n)));
      for (const res of answers) s.profile.acknowledged({ status: res.status, body: res.text });

      const done = await getOrder(s.daemon, s.key, order.id);
      assert.equal(done.status, 'succeeded');
      assert.equal((await getSubscriber(s.daemon, s.key, msisdn)).balance_minor, FACE);
      const transfers = await transfersOf(s.ws.db, order.id);
      assert.equal(transfers.filter((t) => t.kind === 'recharge').length, 1, JSON.stringify(transfers));
      const verdicts = (await notificationsFor(s.ws.db, order.payment.out_trade_no)).map((r) => r.verdict);
      assert.equal(verdicts.length, DUPLICATES);
      assert.equal(verdicts.filter((v) => v === 'credited').length, 1, JSON.stringify(verdicts));
      assert.equal(verdicts.filter((v) => v === 'duplicate').length, DUPLICATES - 1);
      await verifyLedger(s.ws.db);
    });

    test('a notification meant for someone else is refused and changes nothing', async () => {
      const msisdn = freshCmcc();
      const order = await createOrder(s.daemon, s.key, orderBody(name, msisdn));
      const outTradeNo = order.payment.out_trade_no;
      const cases = Object.entries(s.profile.notForUs);
      const sent = [];
      for (const [what, [overrides, reason]] of cases) {
        const n = s.gw.notification(outTradeNo, overrides);
        sent.push([what, n, reason]);
        assertProblem(await postNotification(s.daemon, name, n), 400, 'notification_refused', what);
      }
      const now = await getOrder(s.daemon, s.key, order.id);
      assert.equal(now.status, 'awaiting_payment');
      assert.equal(now.payment.trade_no, null);
      assert.equal((await getSubscriber(s.daemon, s.key, msisdn))?.balance_minor ?? 0, 0);
      assert.deepEqual(await transfersOf(s.ws.db, order.id), []);
      const rows = await notificationsFor(s.ws.db, outTradeNo);
      assert.equal(rows.length, cases.length, JSON.stringify(rows));
      for (const [what, n, reason] of sent) {
        const row = rows.find((r) => r.body === n.body);
        assert.ok(row, `${what}: not stored as received`);
        assert.equal(row.verdict, 'refused', what);
        assert.equal(row.payment_id, null, what);
        assert.match(row.detail, reason, `${what}: the stored reason does not say why`);
      }

      // The real payment still counts.
      s.profile.acknowledged(await s.gw.pay(outTradeNo));
      assert.equal((await getOrder(s.daemon, s.key, order.id)).status, 'succeeded');
      assert.equal((await getSubscriber(s.daemon, s.key, msisdn)).balance_minor, FACE);
      await verifyLedger(s.ws.db);
    });

    test('a create the provider never answers is unknown until a query finds it paid', async () => {
      const msisdn = freshCmcc();
      s.gw.mode = 'timeout';
      const started = Date.now();
      const res = await postPaymentOrder(s.daemon, s.key, orderBody(name, msisdn));
      const order = assertJson(res, 202, 'a create without an answer');
      assert.ok(Date.now() - started < TIMEOUT_MS + 4000, `the answer took ${Date.now() - started} ms`);
      assert.equal(order.payment.status, 'unknown', JSON.stringify(order));
      assert.notEqual(order.status, 'succeeded');
      assert.equal(order.payment.trade_no, null);
      const outTradeNo = order.payment.out_trade_no;

      // The payment did happen at the provider (made there before the gateway answers again);
      // its notification never arrives.
      s.gw.createTrade(outTradeNo, FACE, 'CNY');
      s.gw.mode = 'normal';
      await s.profile.payLosingNotification(s.gw, outTradeNo);

      const done = await waitForOrder(s.daemon, s.key, order.id, (o) => o.status === 'succeeded', {
        timeoutMs: 15000,
        what: 'the worker to settle the unknown payment by query',
      });
      assert.equal(done.payment.status, 'paid');
      assert.equal(done.payment.trade_no, s.gw.trades.get(outTradeNo).tradeNo);
      assert.equal((await getSubscriber(s.daemon, s.key, msisdn)).balance_minor, FACE);
      assert.deepEqual(await notificationsFor(s.ws.db, outTradeNo), [], 'settled without a notification');
      const transfers = await transfersOf(s.ws.db, order.id);
      assert.equal(transfers.filter((t) => t.kind === 'recharge').length, 1);
      await verifyLedger(s.ws.db);
    });

    test('a create answered after the timeout is unknown; the payment\'s notification still credits', async () => {
      const msisdn = freshCmcc();
      s.gw.mode = 'slow';
      s.gw.delayMs = TIMEOUT_MS * 3;
      const res = await postPaymentOrder(s.daemon, s.key, orderBody(name, msisdn));
      const order = assertJson(res, 202, 'a create answered too late');
      assert.equal(order.payment.status, 'unknown');
      const outTradeNo = order.payment.out_trade_no;
      // The gateway made the trade all the same; the payer pays it.
      const made = Date.now() + TIMEOUT_MS * 3 + 2000;
      while (!s.gw.trades.has(outTradeNo) && Date.now() < made) await sleep(50);
      assert.ok(s.gw.trades.has(outTradeNo), 'the slow gateway never made the trade');
      s.gw.mode = 'normal';
      s.profile.acknowledged(await s.gw.pay(outTradeNo));
      const done = await getOrder(s.daemon, s.key, order.id);
      assert.equal(done.status, 'succeeded', JSON.stringify(done));
      assert.equal(done.payment.trade_no, s.gw.trades.get(outTradeNo).tradeNo);
      assert.equal((await getSubscriber(s.daemon, s.key, msisdn)).balance_minor, FACE);
      await sleep(300); // the worker's passes change nothing more
      assert.equal((await getSubscriber(s.daemon, s.key, msisdn)).balance_minor, FACE);
      await verifyLedger(s.ws.db);
    });

    test('a credit the number refuses is refunded at the provider, once', async () => {
      const msisdn = freshCmcc();
      const order = await createOrder(s.daemon, s.key, orderBody(name, msisdn));
      const outTradeNo = order.payment.out_trade_no;
      await topup(['subscribers', 'set-status', '--db', s.ws.db, '--msisdn', msisdn, '--status', 'closed']);
      s.profile.acknowledged(await s.gw.pay(outTradeNo));
      const refunded = await waitForOrder(s.daemon, s.key, order.id, (o) => o.status === 'refunded', {
        what: 'the failed order to be refunded',
      });
      assert.equal(refunded.payment.refund.status, 'succeeded');
      const atProvider = s.gw.trades.get(outTradeNo).refunds;
      assert.equal(atProvider.length, 1, JSON.stringify(atProvider));
      assert.equal(atProvider[0].amountMinor, FACE);
      assert.equal(atProvider[0].outRequestNo, refunded.payment.refund.out_request_no);
      assert.equal((await getSubscriber(s.daemon, s.key, msisdn)).balance_minor, 0);
      const transfers = await transfersOf(s.ws.db, order.id);
      assert.equal(netFor(transfers, `clearing:${name}`), 0, JSON.stringify(transfers));
      assert.equal(netFor(transfers, `refunds_payable:${name}`), 0, JSON.stringify(transfers));
      await verifyLedger(s.ws.db);
    });

    test('a refund the provider refuses raises an alert and the money stays owed', async () => {
      const msisdn = freshCmcc();
      const order = await createOrder(s.daemon, s.key, orderBody(name, msisdn));
      const outTradeNo = order.payment.out_trade_no;
      await topup(['subscribers', 'set-status', '--db', s.ws.db, '--msisdn', msisdn, '--status', 'closed']);
      s.profile.refuseRefunds(s.gw, outTradeNo);
      s.profile.acknowledged(await s.gw.pay(outTradeNo));
      const failed = await waitForOrder(s.daemon, s.key, order.id, (o) => ['failed', 'succeeded'].includes(o.payment.refund?.status), {
        what: 'the refund to be tried',
      });
      assert.equal(failed.payment.refund.status, 'failed', JSON.stringify(failed.payment));
      assert.equal(failed.status, 'failed', 'the order was not credited and its refund did not happen');
      assert.equal((await getSubscriber(s.daemon, s.key, msisdn)).balance_minor, 0);
      const alerts = await alertsFor(s.ws.db, order.id);
      assert.deepEqual(alerts.map((a) => a.kind), ['refund_failed'], JSON.stringify(alerts));
      const refunds = await refundRows(s.ws.db, outTradeNo);
      assert.equal(refunds.length, 1);
      assert.equal(refunds[0].status, 'failed');
      const transfers = await transfersOf(s.ws.db, order.id);
      assert.equal(netFor(transfers, `refunds_payable:${name}`), FACE, 'the money to give back is no longer owed');
      await verifyLedger(s.ws.db);
    });
  });
}

describe('alipay: payment codes', () => {
  let s;
  before(async () => {
    s = await providerSetup('alipay');
  });
  after(async () => {
    await s?.teardown();
  });

  test('a payment code the provider accepts at once credits in the answer', async () => {
    const msisdn = freshCmcc();
    const res = await postPaymentOrder(s.daemon, s.key, orderBody('alipay', msisdn, { method: 'code', auth_code: '281234567890123456' }));
    const order = assertJson(res, 201, 'a code payment');
    assert.equal(order.status, 'succeeded', show(res));
    assert.equal(order.payment.status, 'paid');
    assert.equal(order.payment.trade_no, s.gw.trades.get(order.payment.out_trade_no).tradeNo);
    assert.equal((await getSubscriber(s.daemon, s.key, msisdn)).balance_minor, FACE);

    // The notification Alipay sends afterwards is a duplicate.
    s.profile.acknowledged(await s.gw.pay(order.payment.out_trade_no));
    assert.equal((await getSubscriber(s.daemon, s.key, msisdn)).balance_minor, FACE);
    await verifyLedger(s.ws.db);
  });

  test('a payment code the provider refuses closes the order', async () => {
    const msisdn = freshCmcc();
    const res = await postPaymentOrder(s.daemon, s.key, orderBody('alipay', msisdn, { method: 'code', auth_code: '991234567890123456' }));
    // The order exists (its number is the payer's receipt) and is closed: nothing was paid.
    const order = assertJson(res, 201, 'a refused code payment');
    assert.equal(order.status, 'closed');
    assert.equal(order.payment.status, 'failed');
    assert.equal(order.payment.trade_no, null);
    assert.deepEqual(await transfersOf(s.ws.db, order.id), []);
    assert.equal((await getSubscriber(s.daemon, s.key, msisdn))?.balance_minor ?? 0, 0);
    await verifyLedger(s.ws.db);
  });
});

describe('alipay: late payment', () => {
  let s;
  before(async () => {
    s = await providerSetup('alipay', { 'payments.close_after': 2 });
  });
  after(async () => {
    await s?.teardown();
  });

  test('an expired order is closed at Alipay; a payment that still comes is refunded there', async () => {
    const msisdn = freshCmcc();
    const order = await createOrder(s.daemon, s.key, orderBody('alipay', msisdn));
    const outTradeNo = order.payment.out_trade_no;
    const expires = rfc3339Seconds(order.payment.expires_at);
    const closed = await waitForOrder(s.daemon, s.key, order.id, (o) => o.status === 'closed', {
      timeoutMs: 8000,
      what: 'the worker to close the expired order',
    });
    assert.equal(closed.payment.status, 'closed');
    assert.ok(Date.now() / 1000 >= expires);
    assert.equal(s.gw.trades.get(outTradeNo).state, 'closed', 'the trade was not closed at Alipay');
    assert.ok(s.gw.requests.some((r) => r.operation === 'close' && r.outTradeNo === outTradeNo));

    // The payer paid anyway (Alipay's close raced the payment).
    s.profile.acknowledged(await s.gw.pay(outTradeNo));
    const refunded = await waitForOrder(s.daemon, s.key, order.id, (o) => o.payment.refund?.status === 'succeeded', {
      what: 'the late payment to be refunded',
    });
    assert.equal(refunded.status, 'closed');
    const atAlipay = s.gw.trades.get(outTradeNo).refunds;
    assert.equal(atAlipay.length, 1, JSON.stringify(atAlipay));
    assert.equal(atAlipay[0].amountMinor, FACE);
    assert.equal(atAlipay[0].outRequestNo, refunded.payment.refund.out_request_no);
    assert.equal((await getSubscriber(s.daemon, s.key, msisdn))?.balance_minor ?? 0, 0);
    const transfers = await transfersOf(s.ws.db, order.id);
    assert.equal(netFor(transfers, 'clearing:alipay'), 0);
    assert.equal(netFor(transfers, 'refunds_payable:alipay'), 0);
    assert.equal((await refundRows(s.ws.db, outTradeNo))[0].status, 'succeeded');
    await verifyLedger(s.ws.db);
  });
});

describe('alipay: crash while a payment is unknown', () => {
  let s;
  before(async () => {
    s = await providerSetup('alipay');
  });
  after(async () => {
    await s?.teardown();
  });

  test('kill -9 with the create unanswered; after the restart the worker settles it once', async () => {
    const msisdn = freshCmcc();
    s.gw.mode = 'timeout';
    const order = assertJson(await postPaymentOrder(s.daemon, s.key, orderBody('alipay', msisdn)), 202);
    assert.equal(order.payment.status, 'unknown');
    const outTradeNo = order.payment.out_trade_no;
    await s.daemon.stop({ signal: 'SIGKILL' });

    // Meanwhile the payment happened at Alipay, and its notification found topupd down.
    s.gw.createTrade(outTradeNo, FACE, 'CNY');
    s.gw.mode = 'normal';
    await s.profile.payLosingNotification(s.gw, outTradeNo);

    s.daemon = await startDaemon(s.ws.db, { args: ['--config', s.daemon.configFile] });
    s.relay.target = s.daemon.base;
    const done = await waitForOrder(s.daemon, s.key, order.id, (o) => o.status === 'succeeded', {
      timeoutMs: 15000,
      what: 'the restarted worker to settle the unknown payment',
    });
    assert.equal(done.payment.trade_no, s.gw.trades.get(outTradeNo).tradeNo);
    // Alipay's notification, resent now, is a duplicate.
    s.gw.trades.get(outTradeNo).notifyUrl = `${s.relay.url}/v1/payments/alipay/notify`;
    s.profile.acknowledged(await s.gw.send(outTradeNo, s.gw.notification(outTradeNo)));
    assert.equal((await getSubscriber(s.daemon, s.key, msisdn)).balance_minor, FACE);
    const transfers = await transfersOf(s.ws.db, order.id);
    assert.equal(transfers.filter((t) => t.kind === 'recharge').length, 1);
    await verifyLedger(s.ws.db);
  });
});
