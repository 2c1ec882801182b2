// End-to-end tests of payment orders against the real topupd with the sandbox provider: the
// order flow a payer goes through (created -> awaiting_payment -> paid -> credited), and
// everything that must not credit, or must credit only once: duplicate, forged, tampered, stale
// and mismatched notifications, late payments and refused credits (refunded by the settlement
// worker), idempotent creation, validation, and a crash between creating and paying.
//
// Notifications are signed with Stripe's library (the sandbox uses Stripe's webhook scheme), and
// the signatures topup makes on its own sandbox page are checked with the same library. Every
// scenario ends with `topup verify`.
//
// Environment: TOPUP_BUILD (see ../integration/harness.mjs).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';

import Stripe from 'stripe';

import {
  DAY_S,
  api,
  assertJson,
  assertProblem,
  createKey,
  newIdemKey,
  postRecharge,
  rfc3339Seconds,
  show,
  sleep,
  topup,
  verifyLedger,
} from '../integration/harness.mjs';
import {
  SANDBOX_SIGNATURE,
  accountBalance,
  alertsFor,
  createOrder,
  createPaymentsWorkspace,
  freshCmcc,
  getOrder,
  getSubscriber,
  netFor,
  notificationsFor,
  nowSeconds,
  postNotification,
  postPaymentOrder,
  refundRows,
  sandboxNotification,
  sandboxSettings,
  sql,
  startPaymentsDaemon,
  submitSandboxPage,
  transfersOf,
  waitForOrder,
} from './flow-harness.mjs';

const stripe = new Stripe('sk_test_not_used_no_network');

const PAGE_BASE = 'http://127.0.0.1:9'; // where payers would reach the page; never called here
const VALIDITY_DAYS = 30; // the demo products' validity
const CMCC_50 = { product: 'cmcc-50', face: 5000 };
const CLEARING = 'clearing:sandbox';
const PAYABLE = 'refunds_payable:sandbox';

/** Asserts that a stored notification's signature header is one Stripe's library accepts. */
function assertStripeGenuine(row, secret) {
  const line = row.headers.split('\n').find((l) => l.toLowerCase().startsWith(`${SANDBOX_SIGNATURE.toLowerCase()}:`));
  assert.ok(line, `the stored notification has no ${SANDBOX_SIGNATURE} header: ${row.headers}`);
  const header = line.slice(line.indexOf(':') + 1).trim();
  const event = stripe.webhooks.constructEvent(row.body, header, secret);
  return event;
}

function orderBody(msisdn, extra = {}) {
  return { msisdn, product: CMCC_50.product, provider: 'sandbox', method: 'checkout', ...extra };
}

/** Makes an RSA key pair in PEM files (0600), for a provider that must only be configured. */
async function rsaKeyFiles(ws, name) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const priv = await ws.writeFile(`${name}-private.pem`, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const pub = await ws.writeFile(`${name}-public.pem`, publicKey.export({ type: 'spki', format: 'pem' }));
  await fsp.chmod(priv, 0o600);
  return { priv, pub };
}

describe('sandbox payment orders', () => {
  let ws;
  let daemon;
  let key;

  before(async () => {
    ws = await createPaymentsWorkspace('flow');
    key = ws.key;
    // Alipay is configured too (never reached: nothing here pays with it) so that a method with
    // a payment code can be validated.
    const alipayKeys = await rsaKeyFiles(ws, 'alipay');
    daemon = await startPaymentsDaemon(ws, {
      ...sandboxSettings(ws, PAGE_BASE),
      'alipay.gateway': 'http://127.0.0.1:9/gateway.do',
      'alipay.app_id': '2021000000000001',
      'alipay.private_key': alipayKeys.priv,
      'alipay.public_key': alipayKeys.pub,
    });
  });

  after(async () => {
    if (daemon) {
      const exit = await daemon.stop();
      assert.equal(exit.code, 0, `topupd did not stop cleanly: ${JSON.stringify(exit)}\n${daemon.log().slice(-3000)}`);
    }
    await ws?.cleanup();
  });

  test('happy path: the sandbox page pays, the number is credited once with its validity', async () => {
    const msisdn = freshCmcc();
    const before = nowSeconds();
    const order = await createOrder(daemon, key, orderBody(msisdn));
    assert.equal(order.msisdn, msisdn);
    assert.equal(order.product, CMCC_50.product);
    assert.equal(order.amount_minor, CMCC_50.face);
    assert.equal(order.price_minor, CMCC_50.face);
    assert.equal(order.currency, 'CNY');
    assert.equal(order.balance_after_minor, null);
    const pay = order.payment;
    assert.equal(pay.provider, 'sandbox');
    assert.equal(pay.method, 'checkout');
    assert.match(pay.out_trade_no, /^[0-9A-Za-z_-]{1,64}$/);
    assert.equal(pay.pay_url, `${PAGE_BASE}/sandbox/pay/${pay.out_trade_no}`);
    assert.equal(pay.trade_no, null);
    assert.equal(pay.paid_at, null);
    const expires = rfc3339Seconds(pay.expires_at, 'payment.expires_at');
    assert.ok(Math.abs(expires - (before + 900)) <= 5, `expires_at ${pay.expires_at} is not 15 minutes ahead`);

    // The order reads back the same.
    const read = await getOrder(daemon, key, order.id);
    assert.equal(read.status, 'awaiting_payment');
    assert.equal(read.payment.out_trade_no, pay.out_trade_no);

    // The page shows what is to be paid.
    const page = await api(daemon, 'GET', `/sandbox/pay/${pay.out_trade_no}`);
    assert.equal(page.status, 200, show(page));
    assert.match(page.contentType, /^text\/html/);
    assert.ok(page.text.includes('50.00'), `the page does not show the amount: ${page.text}`);
    assert.ok(page.text.includes('CNY'), 'the page does not show the currency');
    assert.ok(page.text.includes(pay.out_trade_no), 'the page does not name the payment');
    assert.match(page.text, /value="pay"/, 'the page offers no pay button');

    const paid = await submitSandboxPage(daemon, pay.out_trade_no, 'pay');
    assert.equal(paid.status, 200, show(paid));
    assert.match(paid.text, /Paid/);

    const done = await getOrder(daemon, key, order.id);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(done.balance_after_minor, CMCC_50.face);
    assert.equal(done.payment.status, 'paid');
    assert.match(done.payment.trade_no ?? '', /\S/, 'a paid payment has the provider trade number');
    const paidAt = rfc3339Seconds(done.payment.paid_at, 'payment.paid_at');
    assert.ok(paidAt >= before - 1 && paidAt <= nowSeconds() + 1);

    const sub = await getSubscriber(daemon, key, msisdn);
    assert.equal(sub.balance_minor, CMCC_50.face);
    const validUntil = rfc3339Seconds(sub.valid_until, 'valid_until');
    const expected = before + VALIDITY_DAYS * DAY_S;
    assert.ok(validUntil >= expected - 2 && validUntil <= nowSeconds() + VALIDITY_DAYS * DAY_S + 2,
      `valid_until ${sub.valid_until} is not now + ${VALIDITY_DAYS} days`);
    assert.equal(rfc3339Seconds(done.valid_until, 'order valid_until'), validUntil);

    // One recharge transfer, out of the provider's clearing account into the number's account.
    const transfers = await transfersOf(ws.db, order.id);
    const recharges = transfers.filter((t) => t.kind === 'recharge');
    assert.equal(recharges.length, 1, JSON.stringify(transfers));
    assert.equal(recharges[0].amount_minor, CMCC_50.face);
    assert.equal(recharges[0].debit, CLEARING);
    assert.equal(recharges[0].credit, `subscriber:${msisdn}`);

    // The notification the page sent is kept as received, genuine by Stripe's own check.
    const rows = await notificationsFor(ws.db, pay.out_trade_no);
    assert.equal(rows.length, 1, JSON.stringify(rows));
    assert.equal(rows[0].genuine, 1);
    assert.equal(rows[0].verdict, 'credited');
    assert.equal(rows[0].provider, 'sandbox');
    assert.equal(rows[0].trade_no, done.payment.trade_no);
    const event = assertStripeGenuine(rows[0], ws.sandboxSecret);
    assert.equal(event.type, 'payment.succeeded');
    assert.equal(event.data.out_trade_no, pay.out_trade_no);
    assert.equal(event.data.amount_minor, CMCC_50.face);

    // Paid once: the page offers nothing more and refuses a second payment.
    const again = await submitSandboxPage(daemon, pay.out_trade_no, 'pay');
    assert.equal(again.status, 409, show(again));
    assert.equal((await getSubscriber(daemon, key, msisdn)).balance_minor, CMCC_50.face);
    const pageAfter = await api(daemon, 'GET', `/sandbox/pay/${pay.out_trade_no}`);
    assert.doesNotMatch(pageAfter.text, /value="pay"/);

    await verifyLedger(ws.db);
  });

  test('the same genuine notification 100 times at once credits exactly once', async () => {
    const msisdn = freshCmcc();
    const order = await createOrder(daemon, key, orderBody(msisdn));
    const n = sandboxNotification(ws, { outTradeNo: order.payment.out_trade_no, amountMinor: CMCC_50.face });
    const answers = await Promise.all(Array.from({ length: 100 }, () => postNotification(daemon, 'sandbox', n)));
    for (const res of answers) {
      const body = assertJson(res, 200, 'a genuine notification');
      assert.equal(body.received, true, show(res));
    }

    const done = await getOrder(daemon, key, order.id);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.payment.trade_no, n.event.data.trade_no);
    assert.equal((await getSubscriber(daemon, key, msisdn)).balance_minor, CMCC_50.face);
    const transfers = await transfersOf(ws.db, order.id);
    assert.equal(transfers.filter((t) => t.kind === 'recharge').length, 1, JSON.stringify(transfers));
    assert.equal(netFor(transfers, `subscriber:${msisdn}`), CMCC_50.face);

    const rows = await notificationsFor(ws.db, order.payment.out_trade_no);
    assert.equal(rows.length, 100);
    const verdicts = rows.map((r) => r.verdict).sort();
    assert.equal(verdicts.filter((v) => v === 'credited').length, 1, JSON.stringify(verdicts));
    assert.equal(verdicts.filter((v) => v === 'duplicate').length, 99, JSON.stringify(verdicts));
    assert.ok(rows.every((r) => r.genuine === 1 && r.body === n.body));

    // A second, different trade for the already paid order credits nothing and alerts a person.
    const second = sandboxNotification(ws, { outTradeNo: order.payment.out_trade_no, amountMinor: CMCC_50.face });
    const res = await postNotification(daemon, 'sandbox', second);
    assert.equal(res.status, 200, show(res));
    assert.equal((await getSubscriber(daemon, key, msisdn)).balance_minor, CMCC_50.face);
    const alerts = await alertsFor(ws.db, order.id);
    assert.deepEqual(alerts.map((a) => a.kind), ['second_payment'], JSON.stringify(alerts));

    // A report that the paid trade failed changes nothing.
    const failed = sandboxNotification(ws, {
      outTradeNo: order.payment.out_trade_no, amountMinor: CMCC_50.face, tradeNo: n.event.data.trade_no, type: 'payment.failed',
    });
    assert.equal((await postNotification(daemon, 'sandbox', failed)).status, 200);
    assert.equal((await getOrder(daemon, key, order.id)).status, 'succeeded');
    assert.equal((await getOrder(daemon, key, order.id)).payment.status, 'paid');

    // The trade that paid this order cannot pay another one.
    const other = await createOrder(daemon, key, orderBody(freshCmcc()));
    const reused = sandboxNotification(ws, {
      outTradeNo: other.payment.out_trade_no, amountMinor: CMCC_50.face, tradeNo: n.event.data.trade_no,
    });
    assert.equal((await postNotification(daemon, 'sandbox', reused)).status, 200);
    const otherNow = await getOrder(daemon, key, other.id);
    assert.equal(otherNow.status, 'awaiting_payment');
    assert.equal(otherNow.payment.trade_no, null);
    assert.deepEqual(await transfersOf(ws.db, other.id), []);
    assert.deepEqual((await alertsFor(ws.db, other.id)).map((a) => a.kind), ['trade_reused']);
    assert.equal((await getSubscriber(daemon, key, msisdn)).balance_minor, CMCC_50.face);

    await verifyLedger(ws.db);
  });

  test('forged, tampered, stale and unsigned notifications are refused and change nothing', async () => {
    const msisdn = freshCmcc();
    const order = await createOrder(daemon, key, orderBody(msisdn));
    const outTradeNo = order.payment.out_trade_no;
    const balanceBefore = (await getSubscriber(daemon, key, msisdn))?.balance_minor ?? 0;
    const clearingBefore = await accountBalance(ws.db, CLEARING);

    const forged = sandboxNotification(ws, {
      outTradeNo,
      amountMinor: CMCC_50.face,
      secret: `whsec_${crypto.randomBytes(24).toString('hex')}`,
    });
    const genuine = sandboxNotification(ws, { outTradeNo, amountMinor: CMCC_50.face });
    const tampered = {
      headers: genuine.headers,
      body: genuine.body.replace(`"amount_minor":${CMCC_50.face}`, `"amount_minor":${CMCC_50.face * 10}`),
    };
    assert.notEqual(tampered.body, genuine.body);
    const stale = sandboxNotification(ws, { outTradeNo, amountMinor: CMCC_50.face, timestamp: nowSeconds() - 600 });
    const unsigned = sandboxNotification(ws, { outTradeNo, amountMinor: CMCC_50.face });
    delete unsigned.headers[SANDBOX_SIGNATURE];

    // Signed with the right secret, but the event does not say what was paid.
    const incompleteBody = JSON.stringify({ id: 'evt_incomplete', type: 'payment.succeeded', data: { out_trade_no: outTradeNo } });
    const incomplete = {
      body: incompleteBody,
      headers: {
        'content-type': 'application/json',
        [SANDBOX_SIGNATURE]: stripe.webhooks.generateTestHeaderString({ payload: incompleteBody, secret: ws.sandboxSecret }),
      },
    };

    const cases = { forged, tampered, stale, unsigned, incomplete };
    const reasons = {
      forged: /signature/i,
      tampered: /signature/i,
      stale: /tolerance|past|old/i,
      unsigned: /Sandbox-Signature/i,
      incomplete: /amount|trade_no|currency|lacks/i,
    };
    for (const [what, n] of Object.entries(cases)) {
      const res = await postNotification(daemon, 'sandbox', n);
      assertProblem(res, 400, 'notification_refused', what);
    }

    const now = await getOrder(daemon, key, order.id);
    assert.equal(now.status, 'awaiting_payment');
    assert.equal(now.payment.status, 'pending');
    assert.equal(now.payment.trade_no, null);
    assert.equal((await getSubscriber(daemon, key, msisdn))?.balance_minor ?? 0, balanceBefore);
    assert.equal(await accountBalance(ws.db, CLEARING), clearingBefore);
    assert.deepEqual(await transfersOf(ws.db, order.id), []);

    // Each one is kept as received, for audit, marked not genuine.
    const rows = await notificationsFor(ws.db, outTradeNo);
    assert.equal(rows.length, Object.keys(cases).length, JSON.stringify(rows));
    for (const [what, n] of Object.entries(cases)) {
      const row = rows.find((r) => r.body === n.body);
      assert.ok(row, `${what}: the raw body was not stored as received`);
      if (what !== 'incomplete') assert.equal(row.genuine, 0, what);
      assert.equal(row.verdict, 'refused', what);
      assert.equal(row.payment_id, null, what);
      assert.match(row.detail, reasons[what], `${what}: the stored reason does not say why`);
      const signature = n.headers[SANDBOX_SIGNATURE];
      if (signature) assert.ok(row.headers.includes(signature), `${what}: the signature header was not stored`);
      else assert.ok(!row.headers.toLowerCase().includes(SANDBOX_SIGNATURE.toLowerCase()), what);
    }

    // The order can still be paid by the genuine notification.
    const res = await postNotification(daemon, 'sandbox', genuine);
    assert.equal(res.status, 200, show(res));
    const paid = await getOrder(daemon, key, order.id);
    assert.equal(paid.status, 'succeeded');
    assert.equal((await getSubscriber(daemon, key, msisdn)).balance_minor, balanceBefore + CMCC_50.face);

    await verifyLedger(ws.db);
  });

  test('an amount or currency that differs from the order is alerted, not credited, and refunded', async () => {
    for (const [what, overrides] of [
      ['one fen less', { amountMinor: CMCC_50.face - 1 }],
      ['the right number in another currency', { amountMinor: CMCC_50.face, currency: 'USD' }],
    ]) {
      const msisdn = freshCmcc();
      const order = await createOrder(daemon, key, orderBody(msisdn));
      const outTradeNo = order.payment.out_trade_no;
      const paid = { amountMinor: overrides.amountMinor, currency: overrides.currency ?? 'CNY' };

      const res = await postNotification(daemon, 'sandbox', sandboxNotification(ws, { outTradeNo, ...overrides }));
      const body = assertJson(res, 200, `a genuine notification with ${what}`);
      assert.equal(body.received, true);

      // Nothing credited: the order closes and exactly what was paid goes back to the payer.
      const refunded = await waitForOrder(daemon, key, order.id,
        (o) => o.payment.refund?.status === 'succeeded', { what: `the refund of ${what}` });
      assert.equal(refunded.status, 'closed', what);
      assert.equal(refunded.payment.refund.amount_minor, paid.amountMinor, what);
      assert.equal((await getSubscriber(daemon, key, msisdn))?.balance_minor ?? 0, 0, what);
      const moved = await transfersOf(ws.db, order.id);
      assert.deepEqual(moved.map((t) => t.kind).sort(), ['payment_unapplied', 'refund'], what);
      assert.ok(moved.every((t) => t.amount_minor === paid.amountMinor && t.currency === paid.currency), what);
      assert.equal(await accountBalance(ws.db, PAYABLE, paid.currency), 0, what);

      const rows = await notificationsFor(ws.db, outTradeNo);
      assert.equal(rows.length, 1);
      assert.equal(rows[0].genuine, 1);
      assert.equal(rows[0].verdict, 'mismatch');
      const alerts = await alertsFor(ws.db, order.id);
      assert.deepEqual(alerts.map((a) => a.kind), ['amount_mismatch'], JSON.stringify(alerts));
      assert.match(alerts[0].detail, new RegExp(`${paid.amountMinor} ${paid.currency}`));
    }
    await verifyLedger(ws.db);
  });

  test('paying twice at once on the sandbox page credits once', async () => {
    const msisdn = freshCmcc();
    const order = await createOrder(daemon, key, orderBody(msisdn, { method: 'qr' }));
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => submitSandboxPage(daemon, order.payment.out_trade_no, 'pay')));
    const paid = answers.filter((r) => r.status === 200 && /Paid/.test(r.text));
    assert.equal(paid.length, 1, answers.map(show).join('\n'));
    const done = await getOrder(daemon, key, order.id);
    assert.equal(done.status, 'succeeded');
    assert.equal((await getSubscriber(daemon, key, msisdn)).balance_minor, CMCC_50.face);
    const transfers = await transfersOf(ws.db, order.id);
    assert.equal(transfers.filter((t) => t.kind === 'recharge').length, 1, JSON.stringify(transfers));
    // The page pays a trade once, as a real provider does: the other clicks paid nothing, so no
    // person may be told that the payer paid twice.
    const alerts = await alertsFor(ws.db, order.id);
    assert.deepEqual(alerts.map((a) => a.kind), [], `payments the payer never made: ${JSON.stringify(alerts)}`);
    await verifyLedger(ws.db);
  });

  test('an amount of the custom product is charged and credited as asked', async () => {
    const msisdn = freshCmcc();
    const order = await createOrder(daemon, key, {
      msisdn, product: 'cmcc-custom', amount_minor: 12300, currency: 'CNY', provider: 'sandbox', method: 'qr',
    });
    assert.equal(order.amount_minor, 12300);
    assert.equal(order.price_minor, 12300);
    assert.equal(order.product, 'cmcc-custom');
    const page = await api(daemon, 'GET', `/sandbox/pay/${order.payment.out_trade_no}`);
    assert.ok(page.text.includes('123.00'), `the page does not show 123.00: ${page.text}`);
    const n = sandboxNotification(ws, { outTradeNo: order.payment.out_trade_no, amountMinor: 12300 });
    assert.equal((await postNotification(daemon, 'sandbox', n)).status, 200);
    const done = await getOrder(daemon, key, order.id);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.balance_after_minor, 12300);
    assert.equal((await getSubscriber(daemon, key, msisdn)).balance_minor, 12300);
    await verifyLedger(ws.db);
  });

  test('failing on the sandbox page closes the order and its payment', async () => {
    const msisdn = freshCmcc();
    const order = await createOrder(daemon, key, orderBody(msisdn, { method: 'qr' }));
    const outTradeNo = order.payment.out_trade_no;
    const res = await submitSandboxPage(daemon, outTradeNo, 'fail');
    assert.equal(res.status, 200, show(res));
    assert.match(res.text, /failed/i);

    const closed = await getOrder(daemon, key, order.id);
    assert.equal(closed.status, 'closed');
    assert.equal(closed.payment.status, 'closed');
    assert.equal(closed.payment.trade_no, null);
    assert.equal((await getSubscriber(daemon, key, msisdn))?.balance_minor ?? 0, 0);
    assert.deepEqual(await transfersOf(ws.db, order.id), []);
    const rows = await notificationsFor(ws.db, outTradeNo);
    assert.deepEqual(rows.map((r) => [r.genuine, r.verdict]), [[1, 'closed']]);

    // A closed payment cannot be paid on the page any more.
    const late = await submitSandboxPage(daemon, outTradeNo, 'pay');
    assert.equal(late.status, 409, show(late));
    assert.equal((await getOrder(daemon, key, order.id)).status, 'closed');

    await verifyLedger(ws.db);
  });

  test('a credit the number refuses after payment fails the order and refunds the payer', async () => {
    const msisdn = freshCmcc();
    const order = await createOrder(daemon, key, orderBody(msisdn));
    const outTradeNo = order.payment.out_trade_no;
    await topup(['subscribers', 'set-status', '--db', ws.db, '--msisdn', msisdn, '--status', 'closed']);

    const res = await submitSandboxPage(daemon, outTradeNo, 'pay');
    assert.ok(res.status === 200 || res.status === 409, show(res));
    assert.doesNotMatch(res.text, /recharged/);

    const refunded = await waitForOrder(daemon, key, order.id, (o) => o.status === 'refunded', {
      what: 'the failed order to be refunded',
    });
    assert.equal(refunded.payment.status, 'paid');
    assert.equal(refunded.payment.refund?.status, 'succeeded', JSON.stringify(refunded.payment));
    assert.equal(refunded.payment.refund.amount_minor, CMCC_50.face);
    assert.equal(refunded.balance_after_minor, null);

    const sub = await getSubscriber(daemon, key, msisdn);
    assert.equal(sub.status, 'closed');
    assert.equal(sub.balance_minor, 0);
    const transfers = await transfersOf(ws.db, order.id);
    assert.equal(transfers.filter((t) => t.kind === 'recharge').length, 0, JSON.stringify(transfers));
    assert.equal(netFor(transfers, `subscriber:${msisdn}`), 0);
    assert.equal(netFor(transfers, CLEARING), 0, JSON.stringify(transfers));
    assert.equal(netFor(transfers, PAYABLE), 0, JSON.stringify(transfers));

    const refunds = await refundRows(ws.db, outTradeNo);
    assert.equal(refunds.length, 1);
    assert.equal(refunds[0].status, 'succeeded');
    assert.match(refunds[0].refund_id, /\S/);
    const events = await sql(ws.db, `SELECT from_status, to_status FROM order_events WHERE order_id = ${Number(order.id)} ORDER BY seq`);
    const path = events.map((e) => e.to_status);
    assert.ok(path.includes('paid') && path.includes('failed'), `order went ${path.join(' -> ')}`);
    assert.equal(path.at(-1), 'refunded');

    await verifyLedger(ws.db);
  });

  test('an order for a closed number is refused before anything is made', async () => {
    const msisdn = freshCmcc();
    const first = await createOrder(daemon, key, orderBody(msisdn));
    await topup(['subscribers', 'set-status', '--db', ws.db, '--msisdn', msisdn, '--status', 'closed']);
    // Just before, another client's recharge is refused for want of funds (its key pays from an
    // account that must not go negative): nothing of that refusal may show in this answer.
    const created = await topup(['apikey', 'create', '--db', ws.db, '--name', 'flow-poor', '--scope', 'recharge',
      '--funding', `subscriber:${msisdn}`]);
    const poorKey = created.stdout.trim().split('\n').at(-1).trim();
    const poor = await postRecharge(daemon, poorKey, newIdemKey('poor'), { msisdn: freshCmcc(), product: CMCC_50.product });
    assertProblem(poor, 402, 'insufficient_funds', 'a recharge from an empty account');

    const refused = await postPaymentOrder(daemon, key, orderBody(msisdn));
    assertProblem(refused, 422, 'subscriber_closed', 'an order for a closed number');
    assert.doesNotMatch(refused.body.detail, /account|below|limit/i, 'the refusal shows another request\'s failure');
    const orders = await sql(ws.db, `SELECT id FROM orders WHERE msisdn = '${msisdn}'`);
    assert.deepEqual(orders.map((o) => String(o.id)), [first.id]);
    await verifyLedger(ws.db);
  });

  test('the same Idempotency-Key replays the order; with another body it is refused', async () => {
    const msisdn = freshCmcc();
    const idemKey = newIdemKey('po-idem');
    const body = orderBody(msisdn);
    const first = await postPaymentOrder(daemon, key, body, { idemKey });
    const order = assertJson(first, 201, 'first request');
    assert.equal(first.header('idempotent-replayed'), null);

    const replay = await postPaymentOrder(daemon, key, body, { idemKey });
    const again = assertJson(replay, 200, 'replayed request');
    assert.equal(replay.header('idempotent-replayed'), 'true');
    assert.equal(again.id, order.id);
    assert.equal(again.payment.out_trade_no, order.payment.out_trade_no);
    assert.equal(again.status, 'awaiting_payment');

    for (const [what, other] of Object.entries({
      'another number': orderBody(freshCmcc()),
      'another product': orderBody(msisdn, { product: 'cmcc-100' }),
      'another method': orderBody(msisdn, { method: 'qr' }),
    })) {
      assertProblem(await postPaymentOrder(daemon, key, other, { idemKey }), 409, 'idempotency_key_reused', what);
    }
    const orders = await sql(ws.db, `SELECT id FROM orders WHERE msisdn = '${msisdn}'`);
    assert.equal(orders.length, 1, 'a replay made another order');

    // A replay after payment shows the order as it is now.
    assert.equal((await submitSandboxPage(daemon, order.payment.out_trade_no, 'pay')).status, 200);
    const later = await postPaymentOrder(daemon, key, body, { idemKey });
    const current = assertJson(later, 200, 'replay after payment');
    assert.equal(later.header('idempotent-replayed'), 'true');
    assert.equal(current.id, order.id);
    assert.equal(current.status, 'succeeded');
    assert.equal(current.payment.status, 'paid');
    assert.equal((await getSubscriber(daemon, key, msisdn)).balance_minor, CMCC_50.face);

    await verifyLedger(ws.db);
  });

  test('invalid payment orders are refused with their codes and create nothing', async () => {
    const msisdn = freshCmcc();
    const cases = [
      ['an unknown provider', orderBody(msisdn, { provider: 'paypal' }), 422, 'provider_unavailable'],
      ['a provider not configured', orderBody(msisdn, { provider: 'wechat', method: 'qr' }), 422, 'provider_unavailable'],
      ['a method the sandbox does not offer', orderBody(msisdn, { method: 'h5' }), 422, 'method_unavailable'],
      ['a method that does not exist', orderBody(msisdn, { method: 'cash' }), 422, 'method_unavailable'],
      ['a payment code without auth_code', orderBody(msisdn, { provider: 'alipay', method: 'code' }), 400, 'invalid_field'],
      ['auth_code with a method other than code', orderBody(msisdn, { provider: 'alipay', method: 'qr', auth_code: '281234567890123456' }), 400, 'invalid_field'],
      ['no provider', { msisdn, product: CMCC_50.product, method: 'checkout' }, 400, undefined],
      ['no method', { msisdn, product: CMCC_50.product, provider: 'sandbox' }, 400, undefined],
      ['an unknown field', orderBody(msisdn, { colour: 'red' }), 400, undefined],
    ];
    for (const [what, body, status, code] of cases) {
      assertProblem(await postPaymentOrder(daemon, key, body), status, code, what);
    }
    assertProblem(await postPaymentOrder(daemon, key, orderBody(msisdn), { idemKey: null }), 400, 'idempotency_key_missing', 'no Idempotency-Key');
    assertProblem(
      await postPaymentOrder(daemon, key, orderBody(msisdn), { headers: { 'content-type': 'text/plain' } }),
      415, 'unsupported_media_type', 'text/plain');
    assertProblem(
      await postPaymentOrder(daemon, key, `msisdn=${encodeURIComponent(msisdn)}&product=cmcc-50`,
        { headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      415, 'unsupported_media_type', 'a form');

    // Who may create: a key, with the recharge scope.
    assert.equal((await postPaymentOrder(daemon, undefined, orderBody(msisdn))).status, 401);
    const readOnly = await createKey(ws.db, 'flow-read-only', 'read');
    assert.equal((await postPaymentOrder(daemon, readOnly, orderBody(msisdn))).status, 403);
    // Reading one needs a key too.
    assert.equal((await api(daemon, 'GET', '/v1/payment-orders/1')).status, 401);
    assertProblem(await api(daemon, 'GET', '/v1/payment-orders/999999', { key }), 404, undefined, 'an order that does not exist');
    // A recharge paid from a funding account is no payment order.
    const plain = assertJson(await postRecharge(daemon, key, newIdemKey('plain'), { msisdn: freshCmcc(), product: 'cmcc-10' }), 201);
    assertProblem(await api(daemon, 'GET', `/v1/payment-orders/${plain.id}`, { key }), 404, undefined, 'a plain recharge');
    // The sandbox page exists only for sandbox payments topup made.
    assert.equal((await api(daemon, 'GET', '/sandbox/pay/TU1N999999')).status, 404);
    assert.equal((await submitSandboxPage(daemon, 'TU1N999999', 'pay')).status, 404);

    const orders = await sql(ws.db, `SELECT id FROM orders WHERE msisdn = '${msisdn}'`);
    assert.deepEqual(orders, [], 'a refused request made an order');
    assert.equal((await sql(ws.db, "SELECT count(*) AS n FROM payments WHERE provider = 'alipay'"))[0].n, 0);

    await verifyLedger(ws.db);
  });

  test('a notification for a trade topup never made is acknowledged, alerted and credits nothing', async () => {
    const outTradeNo = `TU${nowSeconds()}N99999999`;
    const n = sandboxNotification(ws, { outTradeNo, amountMinor: CMCC_50.face });
    const clearingBefore = await accountBalance(ws.db, CLEARING);
    const res = await postNotification(daemon, 'sandbox', n);
    assert.equal(res.status, 200, show(res));
    const rows = await notificationsFor(ws.db, outTradeNo);
    assert.deepEqual(rows.map((r) => [r.genuine, r.verdict]), [[1, 'unknown_trade']]);
    const alerts = await sql(ws.db, `SELECT kind FROM alerts WHERE instr(detail, '${outTradeNo}') > 0`);
    assert.deepEqual(alerts.map((a) => a.kind), ['unknown_trade']);
    assert.equal(await accountBalance(ws.db, CLEARING), clearingBefore);

    // A provider that is not configured has no notification endpoint.
    assertProblem(await postNotification(daemon, 'wechat', n), 404, 'not_found');
    await verifyLedger(ws.db);
  });
});

describe('late payment', () => {
  let ws;
  let daemon;

  before(async () => {
    ws = await createPaymentsWorkspace('flow-late');
    daemon = await startPaymentsDaemon(ws, { ...sandboxSettings(ws, PAGE_BASE), 'payments.close_after': 2 });
  });

  after(async () => {
    if (daemon) {
      const exit = await daemon.stop();
      assert.equal(exit.code, 0, `topupd did not stop cleanly: ${JSON.stringify(exit)}\n${daemon.log().slice(-3000)}`);
    }
    await ws?.cleanup();
  });

  test('an unpaid order closes after close_after; money that comes later is refunded', async () => {
    const msisdn = freshCmcc();
    const order = await createOrder(daemon, ws.key, orderBody(msisdn));
    const outTradeNo = order.payment.out_trade_no;
    const expires = rfc3339Seconds(order.payment.expires_at);
    assert.ok(expires - nowSeconds() <= 3, `expires_at ${order.payment.expires_at} ignores close_after = 2`);

    const closed = await waitForOrder(daemon, ws.key, order.id, (o) => o.status === 'closed', {
      timeoutMs: 8000,
      what: 'the worker to close the expired order',
    });
    assert.equal(closed.payment.status, 'closed');
    assert.ok(nowSeconds() >= expires, 'the order closed before it expired');

    const n = sandboxNotification(ws, { outTradeNo, amountMinor: CMCC_50.face });
    const res = await postNotification(daemon, 'sandbox', n);
    const body = assertJson(res, 200, 'a late genuine notification');
    assert.equal(body.received, true);

    const refunded = await waitForOrder(daemon, ws.key, order.id, (o) => o.payment.refund?.status === 'succeeded', {
      what: 'the late payment to be refunded',
    });
    assert.equal(refunded.status, 'closed', 'a late payment must not reopen or credit the order');
    assert.equal(refunded.payment.trade_no, n.event.data.trade_no);
    assert.equal(refunded.payment.refund.amount_minor, CMCC_50.face);
    assert.equal(refunded.balance_after_minor, null);
    assert.equal((await getSubscriber(daemon, ws.key, msisdn))?.balance_minor ?? 0, 0);

    const rows = await notificationsFor(ws.db, outTradeNo);
    assert.deepEqual(rows.map((r) => [r.genuine, r.verdict]), [[1, 'refunding']]);
    const refunds = await refundRows(ws.db, outTradeNo);
    assert.equal(refunds.length, 1);
    assert.equal(refunds[0].status, 'succeeded');
    assert.equal(refunds[0].amount_minor, CMCC_50.face);

    const transfers = await transfersOf(ws.db, order.id);
    assert.equal(transfers.filter((t) => t.kind === 'recharge').length, 0, JSON.stringify(transfers));
    assert.equal(netFor(transfers, CLEARING), 0, JSON.stringify(transfers));
    assert.equal(netFor(transfers, PAYABLE), 0, JSON.stringify(transfers));
    assert.equal(await accountBalance(ws.db, PAYABLE), 0);
    assert.equal(await accountBalance(ws.db, CLEARING), 0);

    // The same late notification again refunds nothing more.
    assert.equal((await postNotification(daemon, 'sandbox', n)).status, 200);
    await sleep(300); // a few worker passes
    assert.equal((await refundRows(ws.db, outTradeNo)).length, 1);
    assert.equal(await accountBalance(ws.db, PAYABLE), 0);

    await verifyLedger(ws.db);
  });
});

describe('crash', () => {
  let ws;
  let daemon;

  before(async () => {
    ws = await createPaymentsWorkspace('flow-crash');
  });

  after(async () => {
    await daemon?.stop({ signal: 'SIGKILL' });
    await ws?.cleanup();
  });

  test('kill -9 after creating and after paying: the order is paid and credited once', async () => {
    const settings = sandboxSettings(ws, PAGE_BASE);
    daemon = await startPaymentsDaemon(ws, settings);
    const msisdn = freshCmcc();
    const order = await createOrder(daemon, ws.key, orderBody(msisdn));
    await daemon.stop({ signal: 'SIGKILL' });

    daemon = await startPaymentsDaemon(ws, settings);
    const kept = await getOrder(daemon, ws.key, order.id);
    assert.equal(kept.status, 'awaiting_payment');
    assert.equal(kept.payment.status, 'pending');
    assert.equal(kept.payment.out_trade_no, order.payment.out_trade_no);

    // Paid by a notification; the daemon dies right after acknowledging it.
    const n = sandboxNotification(ws, { outTradeNo: order.payment.out_trade_no, amountMinor: CMCC_50.face });
    assert.equal((await postNotification(daemon, 'sandbox', n)).status, 200);
    await daemon.stop({ signal: 'SIGKILL' });

    daemon = await startPaymentsDaemon(ws, settings);
    const paid = await getOrder(daemon, ws.key, order.id);
    assert.equal(paid.status, 'succeeded', 'an acknowledged notification was lost in the crash');
    // The provider did not see the answer and sends again: a duplicate, nothing more.
    assert.equal((await postNotification(daemon, 'sandbox', n)).status, 200);
    assert.equal((await getSubscriber(daemon, ws.key, msisdn)).balance_minor, CMCC_50.face);
    const transfers = await transfersOf(ws.db, order.id);
    assert.equal(transfers.filter((t) => t.kind === 'recharge').length, 1);
    const rows = await notificationsFor(ws.db, order.payment.out_trade_no);
    assert.deepEqual(rows.map((r) => r.verdict), ['credited', 'duplicate']);
    const exit = await daemon.stop();
    assert.equal(exit.code, 0);

    await verifyLedger(ws.db);
  });
});

describe('configuration', () => {
  let ws;

  before(async () => {
    ws = await createPaymentsWorkspace('flow-config');
  });

  after(async () => {
    await ws?.cleanup();
  });

  test('a webhook secret others can read stops topupd from starting', async () => {
    await fsp.chmod(ws.sandboxSecretFile, 0o644);
    try {
      await assert.rejects(startPaymentsDaemon(ws, sandboxSettings(ws, PAGE_BASE)), (e) => {
        assert.match(e.message, /exited during start-up/);
        assert.match(e.message, /sandbox/);
        assert.ok(!e.message.includes(ws.sandboxSecret), 'the secret was written to the log');
        return true;
      });
    } finally {
      await fsp.chmod(ws.sandboxSecretFile, 0o600);
    }
  });

  test('without its settings the sandbox is off', async () => {
    const daemon = await startPaymentsDaemon(ws, {});
    try {
      const res = await postPaymentOrder(daemon, ws.key, orderBody(freshCmcc()));
      assertProblem(res, 422, 'provider_unavailable', 'the sandbox when not configured');
      assert.equal((await api(daemon, 'GET', '/sandbox/pay/TU1N1')).status, 404);
      const n = sandboxNotification(ws, { outTradeNo: 'TU1N1', amountMinor: CMCC_50.face });
      assertProblem(await postNotification(daemon, 'sandbox', n), 404, 'not_found');
    } finally {
      assert.equal((await daemon.stop()).code, 0);
    }
  });
});
