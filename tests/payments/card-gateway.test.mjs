// The card provider's gateway calls (src/payments/card_gateway.c) through the real CLI,
// `topup pay gateway card create|query|refund|close`, against the fake Stripe-style gateway in
// fake/card-gateway.mjs. The fake is itself checked against the `stripe` package: its API client
// must accept the fake's answers, and the events the fake sends are signed by the package's
// webhooks.generateTestHeaderString and must pass `topup pay verify-notify card`.
//
// Run from the repository root: node --test tests/payments/
//   TOPUP_BUILD   build directory (default "build", relative to the repository root)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import Stripe from 'stripe';

import { startCardGateway } from './fake/card-gateway.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const BUILD = path.resolve(REPO, process.env.TOPUP_BUILD || 'build');
const TOPUP = path.join(BUILD, 'topup');

const API_KEY = `sk_test_${crypto.randomBytes(24).toString('base64url').replace(/[-_]/g, 'x')}`;
const WEBHOOK_SECRET = `whsec_${crypto.randomBytes(24).toString('base64url')}`;
const RETURN_URL = 'https://shop.example/paid';

let dir;
let gw;
let receiver; // where the fake posts events: { url, events: [{ headers, body }], close }
let config; // the config file of the normal case

const nowS = () => Math.floor(Date.now() / 1000);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const outTradeNo = (label) => `T${label}${crypto.randomBytes(5).toString('hex')}`;

/** Runs topup without blocking this process: the fake gateway lives in it and must answer. */
function topup(args, input) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(TOPUP, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, elapsedMs: Date.now() - started });
    });
    child.stdin.end(input ?? '');
  });
}

/** `topup pay gateway card OPERATION --config FILE ARGS...`, its JSON answer parsed. */
async function gateway(operation, args, configFile = config) {
  const r = await topup(['pay', 'gateway', 'card', operation, '--config', configFile, ...args]);
  let json = null;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    // left null: the assertions say what was printed
  }
  return { ...r, json };
}

function assertExit(r, status, what) {
  assert.equal(r.status, status, `${what}: exit ${r.status}, stdout ${r.stdout}, stderr ${r.stderr}`);
}

function writeSecret(name, text, mode = 0o600) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `${text}\n`, { mode });
  fs.chmodSync(file, mode); // whatever the umask
  return file;
}

/** A config file with the card settings, some of them replaced or removed (value null). */
function writeConfig(name, changes = {}) {
  const settings = {
    'card.gateway': gw.url,
    'card.secret': path.join(dir, 'api-key'),
    'card.webhook_secret': path.join(dir, 'webhook-secret'),
    'card.return_url': RETURN_URL,
    'card.timeout_ms': '5000',
    ...changes,
  };
  const lines = Object.entries(settings)
    .filter(([, value]) => value !== null)
    .map(([key, value]) => `${key} = ${value}`);
  const file = path.join(dir, `${name}.conf`);
  fs.writeFileSync(file, `# card checkout settings for ${name}\n${lines.join('\n')}\n`);
  return file;
}

function createArgs(no, amount = '100.00', currency = 'CNY', extra = []) {
  return ['--out-trade-no', no, '--amount', amount, '--currency', currency, '--method', 'checkout', ...extra];
}

async function create(no, amount, currency, extra) {
  const r = await gateway('create', createArgs(no, amount, currency, extra));
  assertExit(r, 0, `create ${no}`);
  return r.json;
}

function sessionsFor(no) {
  return [...gw.sessions.values()].filter((s) => s.client_reference_id === no);
}

/**
 * The CLI computes the deadline from its clock (now + 900 s) and topup rounds what it sends up to
 * the minute; two creates meant to send the same parameters must run within one such minute.
 */
async function withinOneMinute() {
  const seconds = new Date().getUTCSeconds();
  if (seconds === 0 || seconds >= 48) await sleep(((61 - seconds) % 60) * 1000 + 200);
}

async function startReceiver() {
  const events = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      events.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"received":true}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/v1/payments/notify/card`,
    events,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

before(async () => {
  assert.ok(fs.existsSync(TOPUP), `${TOPUP} does not exist; build first or point TOPUP_BUILD at the build directory`);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'topup-card-gateway-'));
  writeSecret('api-key', API_KEY);
  writeSecret('webhook-secret', WEBHOOK_SECRET);
  receiver = await startReceiver();
  gw = await startCardGateway({ apiKey: API_KEY, webhookSecret: WEBHOOK_SECRET, webhookUrl: receiver.url });
  config = writeConfig('normal');
});

after(async () => {
  if (gw) await gw.close();
  if (receiver) await receiver.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  gw.mode = 'normal';
  gw.delayMs = 0;
  gw.refundStatus = 'succeeded';
});

describe('create: a hosted checkout session per payment', () => {
  test('the session is priced in minor units for the payment, and its id and URL are answered', async () => {
    const no = outTradeNo('create');
    const subject = '话费充值 138****8000 ¥100';
    const deadline = nowS() + 900;
    const answer = await create(no, '100.00', 'CNY', ['--subject', subject]);
    assert.equal(answer.outcome, 'ok');
    assert.equal(answer.state, 'pending');
    const session = gw.sessions.get(answer.provider_ref);
    assert.ok(session, `the fake has no session ${answer.provider_ref}`);
    assert.equal(answer.pay_url, session.url, 'the payer is not sent to the session URL');
    assert.equal(session.amount_total, 10000, '100.00 CNY is 10000 fen');
    assert.equal(session.currency, 'cny');
    assert.equal(session.client_reference_id, no);
    assert.equal(session.metadata.out_trade_no, no);
    assert.equal(session.success_url, `${RETURN_URL}?out_trade_no=${no}`);
    assert.equal(session.cancel_url, `${RETURN_URL}?out_trade_no=${no}`);
    assert.ok(session.expires_at >= deadline + 30 * 60, 'the session must stay open past the deadline Stripe allows');
    assert.ok(session.expires_at <= nowS() + 24 * 3600, 'Stripe allows at most 24 hours');
    const request = gw.requests.find((x) => x.operation === 'create' && x.outTradeNo === no);
    assert.equal(request.params.line_items[0].price_data.product_data.name, subject, 'the subject did not arrive intact');
    assert.equal(request.params.line_items[0].quantity, '1');
    assert.equal(request.params.payment_intent_data.metadata.out_trade_no, no);
    assert.equal(request.idempotencyKey, `topup-checkout-${no}`);
    assert.ok(request.stripeVersion, 'no Stripe-Version: the answers\' shape would follow the dashboard');
  });

  test('a zero-decimal currency is sent as it is: 500 JPY is unit_amount 500', async () => {
    const no = outTradeNo('jpy');
    const answer = await create(no, '500', 'JPY');
    const session = gw.sessions.get(answer.provider_ref);
    assert.equal(session.amount_total, 500);
    assert.equal(session.currency, 'jpy');
  });

  test('a create repeated for the same payment answers the same session and makes no second one', async () => {
    const no = outTradeNo('again');
    await withinOneMinute();
    const first = await create(no);
    const second = await create(no);
    assert.equal(second.provider_ref, first.provider_ref);
    assert.equal(second.pay_url, first.pay_url);
    assert.equal(sessionsFor(no).length, 1, 'the payer could pay twice');
    assert.equal(gw.requests.filter((x) => x.operation === 'create' && x.outTradeNo === no).length, 2);
  });

  test('a create whose answer was lost is unknown, and repeating it finds the session it made', async () => {
    const no = outTradeNo('lost');
    const slow = writeConfig('slow', { 'card.timeout_ms': '500' });
    await withinOneMinute();
    gw.mode = 'slow';
    gw.delayMs = 2000;
    const lost = await gateway('create', createArgs(no), slow);
    assertExit(lost, 3, 'create with its answer lost');
    assert.equal(lost.json.outcome, 'unknown');
    assert.equal(sessionsFor(no).length, 1, 'the fake should have made the session before answering late');
    gw.mode = 'normal';
    const again = await create(no);
    assert.equal(again.provider_ref, sessionsFor(no)[0].id);
    assert.equal(sessionsFor(no).length, 1, 'the repeated create made a second session');
  });

  test('only the checkout method is offered; others are refused without a call', async () => {
    const no = outTradeNo('qr');
    const before = gw.requests.length;
    const r = await gateway('create', ['--out-trade-no', no, '--amount', '1.00', '--currency', 'CNY', '--method', 'qr']);
    assertExit(r, 1, 'create with method qr');
    assert.match(r.json.detail, /checkout/);
    assert.equal(gw.requests.length, before);
  });

  test('a three-decimal amount the checkout cannot take is refused with the reason', async () => {
    const r = await gateway('create', createArgs(outTradeNo('kwd'), '1.234', 'KWD'));
    assertExit(r, 1, 'create 1.234 KWD');
    assert.match(r.json.detail, /multiple of 10/);
  });
});

describe('query: the state of a payment at the checkout', () => {
  test('an open session is pending, found by its id and also without it', async () => {
    const no = outTradeNo('pending');
    const created = await create(no);
    for (const ref of [created.provider_ref, null]) {
      const r = await gateway('query', ['--out-trade-no', no, ...(ref ? ['--provider-ref', ref] : [])]);
      assertExit(r, 0, `query ${ref ? 'by id' : 'without id'}`);
      assert.equal(r.json.state, 'pending');
      assert.equal(r.json.trade_no, '');
    }
  });

  test('a paid session is paid, with the payment intent, the amount and the currency', async () => {
    const no = outTradeNo('paid');
    const created = await create(no, '88.80', 'CNY');
    const delivered = await gw.pay(no);
    assert.equal(delivered.status, 200);
    const r = await gateway('query', ['--out-trade-no', no, '--provider-ref', created.provider_ref]);
    assertExit(r, 0, 'query paid');
    assert.equal(r.json.state, 'paid');
    assert.equal(r.json.trade_no, gw.trades.get(no).tradeNo);
    assert.match(r.json.trade_no, /^pi_/);
    assert.equal(r.json.amount, '88.80');
    assert.equal(r.json.currency, 'CNY');
  });

  test('an expired session is closed', async () => {
    const no = outTradeNo('expired');
    const created = await create(no);
    await gw.expire(no);
    const r = await gateway('query', ['--out-trade-no', no, '--provider-ref', created.provider_ref]);
    assertExit(r, 0, 'query expired');
    assert.equal(r.json.state, 'closed');
  });

  test('a payment the gateway does not know is not_found, by id (404) and by listing', async () => {
    const byId = await gateway('query', ['--out-trade-no', outTradeNo('none'), '--provider-ref', 'cs_test_doesnotexist']);
    assertExit(byId, 0, 'query unknown id');
    assert.equal(byId.json.state, 'not_found');
    const listed = await gateway('query', ['--out-trade-no', outTradeNo('none')]);
    assertExit(listed, 0, 'query unknown payment');
    assert.equal(listed.json.state, 'not_found');
  });

  test('a session id of another payment is refused, not taken for this one', async () => {
    const other = await create(outTradeNo('other'));
    const r = await gateway('query', ['--out-trade-no', outTradeNo('mine'), '--provider-ref', other.provider_ref]);
    assertExit(r, 1, 'query with a foreign session id');
    assert.match(r.json.detail, /belongs to payment/);
  });

  test('without its id, a session behind more than a page of newer ones is still found', async () => {
    const no = outTradeNo('deep');
    await create(no, '12.00', 'CNY');
    for (let i = 0; i < 130; i++) gw.createTrade(outTradeNo(`filler${i}`), 100, 'CNY');
    await gw.pay(no);
    const before = gw.requests.length;
    const r = await gateway('query', ['--out-trade-no', no]);
    assertExit(r, 0, 'query behind a page');
    assert.equal(r.json.state, 'paid');
    assert.equal(r.json.amount, '12.00');
    const pages = gw.requests.slice(before).filter((x) => x.operation === 'list');
    assert.equal(pages.length, 2, 'the session was on the second page of 100');
    assert.equal(pages[0].params.limit, '100');
    assert.equal(pages[0].params.starting_after, undefined);
    assert.match(pages[1].params.starting_after, /^cs_test_/, 'the second page must continue after the first');
  });
});

describe('refund: money back for a paid payment', () => {
  async function paid(label, amount = '100.00') {
    const no = outTradeNo(label);
    await create(no, amount, 'CNY');
    await gw.pay(no);
    return { no, tradeNo: gw.trades.get(no).tradeNo };
  }

  function refundArgs(no, requestNo, amount, tradeNo) {
    return ['--out-trade-no', no, '--out-request-no', requestNo, '--amount', amount, '--total', '100.00', '--currency', 'CNY', ...(tradeNo ? ['--trade-no', tradeNo] : [])];
  }

  test('a refund of part of a payment succeeds once, and the same refund number again refunds nothing more', async () => {
    const { no, tradeNo } = await paid('refund');
    const requestNo = `R${no}`;
    const first = await gateway('refund', refundArgs(no, requestNo, '30.00', tradeNo));
    assertExit(first, 0, 'refund');
    assert.equal(first.json.state, 'succeeded');
    assert.match(first.json.refund_id, /^re_/);
    const refund = gw.refunds.get(first.json.refund_id);
    assert.equal(refund.amount, 3000);
    assert.equal(refund.payment_intent, tradeNo);
    assert.equal(refund.metadata.out_request_no, requestNo);
    const request = gw.requests.find((x) => x.operation === 'refund' && x.outRequestNo === requestNo);
    assert.equal(request.idempotencyKey, `topup-refund-${requestNo}`);

    const second = await gateway('refund', refundArgs(no, requestNo, '30.00', tradeNo));
    assertExit(second, 0, 'the same refund again');
    assert.equal(second.json.refund_id, first.json.refund_id);
    assert.equal(gw.trades.get(no).refunds.length, 1, 'refunded twice');
  });

  test('without the payment intent, the refund finds it from the payment number', async () => {
    const { no, tradeNo } = await paid('refundlookup');
    const r = await gateway('refund', refundArgs(no, `R${no}`, '100.00'));
    assertExit(r, 0, 'refund without --trade-no');
    assert.equal(gw.refunds.get(r.json.refund_id).payment_intent, tradeNo);
  });

  test('a refund larger than what is left is refused with the gateway\'s reason', async () => {
    const { no, tradeNo } = await paid('toomuch');
    assertExit(await gateway('refund', refundArgs(no, `R1${no}`, '80.00', tradeNo)), 0, 'first refund');
    const r = await gateway('refund', refundArgs(no, `R2${no}`, '30.00', tradeNo));
    assertExit(r, 1, 'refund beyond the payment');
    assert.match(r.json.detail, /amount_too_large/);
    assert.equal(gw.trades.get(no).refunds.length, 1);
  });

  test('a refund not final yet is pending', async () => {
    const { no, tradeNo } = await paid('refundpending');
    gw.refundStatus = 'pending';
    const r = await gateway('refund', refundArgs(no, `R${no}`, '10.00', tradeNo));
    assertExit(r, 0, 'pending refund');
    assert.equal(r.json.state, 'pending');
  });

  test('a refund for an unpaid payment is refused without calling the refunds API', async () => {
    const no = outTradeNo('unpaid');
    await create(no);
    const r = await gateway('refund', refundArgs(no, `R${no}`, '10.00'));
    assertExit(r, 1, 'refund of an unpaid payment');
    assert.match(r.json.detail, /not paid/);
    assert.equal(gw.requests.filter((x) => x.operation === 'refund' && x.outTradeNo === no).length, 0);
  });
});

describe('close: the payer can no longer pay', () => {
  test('an open session is expired, and closing it again is still ok without a second expiry', async () => {
    const no = outTradeNo('close');
    const created = await create(no);
    const r = await gateway('close', ['--out-trade-no', no, '--provider-ref', created.provider_ref]);
    assertExit(r, 0, 'close');
    assert.equal(gw.sessions.get(created.provider_ref).status, 'expired');
    assert.equal(gw.trades.get(no).state, 'closed');
    const again = await gateway('close', ['--out-trade-no', no]);
    assertExit(again, 0, 'close again');
    assert.match(again.json.detail, /expired/);
    assert.equal(gw.requests.filter((x) => x.operation === 'close' && x.outTradeNo === no).length, 1);
  });

  test('a paid session cannot be closed: refused', async () => {
    const no = outTradeNo('closepaid');
    const created = await create(no);
    await gw.pay(no);
    const r = await gateway('close', ['--out-trade-no', no, '--provider-ref', created.provider_ref]);
    assertExit(r, 1, 'close of a paid session');
    assert.match(r.json.detail, /complete/);
    assert.equal(gw.sessions.get(created.provider_ref).status, 'complete');
  });

  test('a payment with no session at the gateway is closed: nothing there can be paid', async () => {
    const r = await gateway('close', ['--out-trade-no', outTradeNo('closenone')]);
    assertExit(r, 0, 'close of an unknown payment');
    assert.match(r.json.detail, /nothing can be paid/);
  });
});

describe('failures: nothing is guessed', () => {
  test('a wrong API key is refused by the gateway and the call is refused', async () => {
    const wrong = writeSecret('wrong-key', 'sk_test_not_the_right_key_0000');
    const r = await gateway('create', createArgs(outTradeNo('wrongkey')), writeConfig('wrongkey', { 'card.secret': wrong }));
    assertExit(r, 1, 'create with a wrong key');
    assert.match(r.json.detail, /401.*Invalid API Key/);
    assert.ok(gw.rejected.some((x) => x.authorization === 'Bearer sk_test_not_the_right_key_0000'));
  });

  test('a gateway that does not answer is unknown after card.timeout_ms, not later', async () => {
    gw.mode = 'timeout';
    const r = await gateway('query', ['--out-trade-no', outTradeNo('timeout')], writeConfig('timeout', { 'card.timeout_ms': '500' }));
    assertExit(r, 3, 'query against a silent gateway');
    assert.equal(r.json.outcome, 'unknown');
    assert.match(r.json.detail, /500 ms/);
    assert.ok(r.elapsedMs < 5000, `took ${r.elapsedMs} ms`);
  });

  test('a 5xx is unknown', async () => {
    gw.mode = 'fail';
    const r = await gateway('create', createArgs(outTradeNo('fail')));
    assertExit(r, 3, 'create against a failing gateway');
    assert.match(r.json.detail, /500/);
  });

  test('a secret file others can read is refused before any call (exit 2)', async () => {
    const open = writeSecret('open-key', API_KEY, 0o644);
    const before = gw.requests.length + gw.rejected.length;
    const r = await gateway('query', ['--out-trade-no', outTradeNo('mode')], writeConfig('openkey', { 'card.secret': open }));
    assertExit(r, 2, 'a 0644 key file');
    assert.match(r.stderr, /chmod 600/);
    assert.equal(gw.requests.length + gw.rejected.length, before);
  });

  test('the secret key is never sent in clear to another machine (exit 2)', async () => {
    const r = await gateway('query', ['--out-trade-no', outTradeNo('clear')], writeConfig('clear', { 'card.gateway': 'http://api.example.com' }));
    assertExit(r, 2, 'an http gateway elsewhere');
    assert.match(r.stderr, /https/);
  });

  test('a publishable key in place of the secret key is refused with what to use (exit 2)', async () => {
    const publishable = writeSecret('pk', 'pk_test_51abcdef');
    const r = await gateway('query', ['--out-trade-no', outTradeNo('pk')], writeConfig('pk', { 'card.secret': publishable }));
    assertExit(r, 2, 'a publishable key');
    assert.match(r.stderr, /sk_/);
  });
});

describe('the fake gateway, checked against the stripe package', () => {
  function client(key = API_KEY) {
    const { port } = new URL(gw.url);
    return new Stripe(key, { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 0 });
  }

  test("stripe's own client creates, retrieves, lists and expires sessions at the fake", async () => {
    const stripe = client();
    const no = outTradeNo('sdk');
    const session = await stripe.checkout.sessions.create({
      mode: 'payment',
      client_reference_id: no,
      line_items: [{ price_data: { currency: 'usd', unit_amount: 1999, product_data: { name: 'Top-up' } }, quantity: 1 }],
      success_url: 'https://shop.example/ok',
      expires_at: nowS() + 3600,
    });
    assert.match(session.id, /^cs_test_/);
    assert.equal(session.amount_total, 1999);
    assert.equal(session.status, 'open');
    const retrieved = await stripe.checkout.sessions.retrieve(session.id);
    assert.equal(retrieved.client_reference_id, no);
    const listed = await stripe.checkout.sessions.list({ limit: 3 });
    assert.equal(listed.object, 'list');
    assert.equal(listed.data[0].id, session.id, 'the list is newest first');
    const expired = await stripe.checkout.sessions.expire(session.id);
    assert.equal(expired.status, 'expired');
    await assert.rejects(stripe.checkout.sessions.expire(session.id), (e) => e.type === 'StripeInvalidRequestError' && e.statusCode === 400);
    await assert.rejects(stripe.checkout.sessions.retrieve('cs_test_nothing'), (e) => e.code === 'resource_missing' && e.statusCode === 404);
  });

  test("stripe's client reads a session topup created, and refunds it once paid", async () => {
    const stripe = client();
    const no = outTradeNo('sdkrefund');
    const created = await create(no, '25.00', 'EUR');
    const session = await stripe.checkout.sessions.retrieve(created.provider_ref);
    assert.equal(session.amount_total, 2500);
    assert.equal(session.currency, 'eur');
    await gw.pay(no);
    const paid = await stripe.checkout.sessions.retrieve(created.provider_ref);
    assert.equal(paid.payment_status, 'paid');
    const refund = await stripe.refunds.create({ payment_intent: paid.payment_intent, amount: 500 }, { idempotencyKey: `k-${no}` });
    assert.equal(refund.status, 'succeeded');
    const replay = await stripe.refunds.create({ payment_intent: paid.payment_intent, amount: 500 }, { idempotencyKey: `k-${no}` });
    assert.equal(replay.id, refund.id, 'the same idempotency key made a second refund');
    await assert.rejects(
      stripe.refunds.create({ payment_intent: paid.payment_intent, amount: 600 }, { idempotencyKey: `k-${no}` }),
      (e) => e.type === 'StripeIdempotencyError',
    );
  });

  test("stripe's client with a wrong key is refused with an authentication error", async () => {
    await assert.rejects(client('sk_test_wrong').checkout.sessions.list(), (e) => e.type === 'StripeAuthenticationError');
  });

  test('the events the fake sends pass topup pay verify-notify card, and a tampered one does not', async () => {
    const no = outTradeNo('event');
    await create(no, '50.00', 'CNY');
    const before = receiver.events.length;
    await gw.pay(no);
    const event = receiver.events[before];
    assert.ok(event, 'no event arrived');
    const secretFile = path.join(dir, 'webhook-secret');
    const input = `Stripe-Signature: ${event.headers['stripe-signature']}\n\n${event.body}`;
    const genuine = await topup(['pay', 'verify-notify', 'card', '--key', secretFile, '--json'], input);
    assertExit(genuine, 0, 'verify-notify of the fake\'s event');
    const shown = JSON.parse(genuine.stdout);
    assert.equal(shown.type, 'checkout.session.completed');
    assert.equal(shown.data.object.client_reference_id, no);
    assert.equal(shown.data.object.payment_intent, gw.trades.get(no).tradeNo);
    assert.equal(shown.data.object.amount_total, 5000);
    const tampered = input.replace('"amount_total": 5000', '"amount_total": 1');
    assert.notEqual(tampered, input);
    assertExit(await topup(['pay', 'verify-notify', 'card', '--key', secretFile], tampered), 1, 'tampered event');
  });
});
