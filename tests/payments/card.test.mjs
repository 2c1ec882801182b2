// Card webhooks (src/payments/card.c) through the real CLI, with Stripe's own Node library as the
// oracle: events it signs must be accepted by `topup pay verify-notify card`, anything it would
// refuse must be refused, and signatures `topup pay sign card` makes must pass its constructEvent.
//
// Environment: TOPUP_BUILD, the build directory (default "build", relative to the repository root).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import Stripe from 'stripe';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD = path.resolve(REPO_ROOT, process.env.TOPUP_BUILD || 'build');
const TOPUP = path.join(BUILD, 'topup');

const stripe = new Stripe('sk_test_not_used_no_network');

let dir;
let secret;
let secretFile;

// A checkout.session.completed event as Stripe sends it: pretty-printed, with non-ASCII text, so
// that the signature is over the exact UTF-8 bytes and not over some re-serialisation.
function checkoutEvent(orderId, amountTotal) {
  const event = {
    id: `evt_${crypto.randomBytes(12).toString('hex')}`,
    object: 'event',
    api_version: '2024-06-20',
    created: Math.floor(Date.now() / 1000),
    type: 'checkout.session.completed',
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: {
      object: {
        id: `cs_test_${crypto.randomBytes(16).toString('hex')}`,
        object: 'checkout.session',
        amount_subtotal: amountTotal,
        amount_total: amountTotal,
        currency: 'cny',
        customer_details: { email: 'buyer@example.com', name: '张三' },
        metadata: { order_id: orderId, product: '话费充值 50 元' },
        mode: 'payment',
        payment_status: 'paid',
        status: 'complete',
      },
    },
  };
  return { event, payload: JSON.stringify(event, null, 2) };
}

function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}

function run(args, input) {
  const r = spawnSync(TOPUP, args, { input, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.error, undefined, `could not run ${TOPUP}: ${r.error}`);
  return r;
}

function verifyNotify(header, payload, keyFile = secretFile) {
  const input = `Stripe-Signature: ${header}\n\n${payload}`;
  return run(['pay', 'verify-notify', 'card', '--key', keyFile, '--json'], input);
}

function assertRefused(r, reason, what) {
  assert.equal(r.status, 1, `${what}: exit ${r.status}, stdout ${r.stdout}, stderr ${r.stderr}`);
  assert.match(r.stderr, reason, `${what}: stderr does not say why`);
  assert.doesNotMatch(r.stdout, /order_id/, `${what}: printed the unverified event`);
}

function assertGenuine(r, event, what) {
  assert.equal(r.status, 0, `${what}: exit ${r.status}, stderr ${r.stderr}`);
  // --json prints the verified event itself, exactly as signed.
  assert.deepEqual(JSON.parse(r.stdout), event, `${what}: printed something else than the event`);
}

// The v1 value of a Stripe-Signature header.
function v1Of(header) {
  const m = /(?:^|,)v1=([0-9a-f]{64})(?:,|$)/.exec(header);
  assert.ok(m, `no v1 in ${header}`);
  return m[1];
}

before(() => {
  assert.ok(
    fs.existsSync(TOPUP),
    `${TOPUP} does not exist; build first or point TOPUP_BUILD at the build directory`,
  );
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'topup-card-'));
  secret = `whsec_${crypto.randomBytes(24).toString('base64url')}`;
  secretFile = path.join(dir, 'webhook-secret');
  fs.writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
  fs.chmodSync(secretFile, 0o600); // whatever the umask
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('topup pay verify-notify card, against events signed by the stripe library', () => {
  test('a genuine checkout.session.completed event is accepted and printed', () => {
    const { event, payload } = checkoutEvent('ord_20250101_0001', 5000);
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret });
    const r = verifyNotify(header, payload);
    assertGenuine(r, event, 'genuine');
  });

  test('a tampered body is refused', () => {
    const { event, payload } = checkoutEvent('ord_20250101_0002', 5000);
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret });
    // The same event, paying 1 fen instead of 50 yuan.
    const tampered = payload.replace('"amount_total": 5000', '"amount_total": 1');
    assert.notEqual(tampered, payload);
    assertRefused(verifyNotify(header, tampered), /no v1 signature matches/, 'tampered amount');
    // Even a change the JSON parser would not see: one more space.
    assertRefused(verifyNotify(header, `${payload} `), /no v1 signature matches/, 'trailing space');
    // The untampered one still passes: the refusals above were about the body.
    assertGenuine(verifyNotify(header, payload), event, 'original');
  });

  test('an event signed with another secret is refused', () => {
    const { payload } = checkoutEvent('ord_20250101_0003', 5000);
    const other = `whsec_${crypto.randomBytes(24).toString('base64url')}`;
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret: other });
    assertRefused(verifyNotify(header, payload), /no v1 signature matches/, 'wrong secret');
  });

  test('an event signed long ago, or far in the future, is refused', () => {
    const { event, payload } = checkoutEvent('ord_20250101_0004', 5000);
    const stale = stripe.webhooks.generateTestHeaderString({
      payload,
      secret,
      timestamp: nowSeconds() - 3600,
    });
    assertRefused(verifyNotify(stale, payload), /in the past/, 'an hour old');
    const future = stripe.webhooks.generateTestHeaderString({
      payload,
      secret,
      timestamp: nowSeconds() + 3600,
    });
    assertRefused(verifyNotify(future, payload), /in the future/, 'an hour ahead');
    // A minute old is within the 300 s tolerance.
    const recent = stripe.webhooks.generateTestHeaderString({
      payload,
      secret,
      timestamp: nowSeconds() - 60,
    });
    assertGenuine(verifyNotify(recent, payload), event, 'a minute old');
  });

  test('of two v1 signatures, the second being right is enough', () => {
    const { event, payload } = checkoutEvent('ord_20250101_0005', 12000);
    const timestamp = nowSeconds();
    const old = `whsec_${crypto.randomBytes(24).toString('base64url')}`;
    const wrong = v1Of(stripe.webhooks.generateTestHeaderString({ payload, secret: old, timestamp }));
    const right = v1Of(stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp }));
    assert.notEqual(wrong, right);
    assertGenuine(
      verifyNotify(`t=${timestamp},v1=${wrong},v1=${right}`, payload),
      event,
      'wrong then right',
    );
    // And the header is not accepted for its wrong signature alone.
    assertRefused(
      verifyNotify(`t=${timestamp},v1=${wrong},v1=${wrong}`, payload),
      /no v1 signature matches/,
      'wrong twice',
    );
  });

  test('a secret file that others can read is refused', () => {
    const { payload } = checkoutEvent('ord_20250101_0006', 5000);
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret });
    const open = path.join(dir, 'webhook-secret-0644');
    fs.writeFileSync(open, `${secret}\n`);
    fs.chmodSync(open, 0o644);
    const r = verifyNotify(header, payload, open);
    assert.ok(r.status === 1 || r.status === 2, `exit ${r.status}, stderr ${r.stderr}`);
    assert.match(r.stderr, /readable|permission|mode|0600|others|group/i);
    assert.equal(r.stdout.includes('ord_20250101_0006'), false);
    // The same secret at 0600 is accepted: it was the mode that was refused.
    fs.chmodSync(open, 0o600);
    assert.equal(verifyNotify(header, payload, open).status, 0);
  });
});

describe('topup pay sign card, checked by stripe.webhooks.constructEvent', () => {
  function sign(payload, timestamp, keyFile = secretFile) {
    const r = run(['pay', 'sign', 'card', '--key', keyFile, '--timestamp', String(timestamp)], payload);
    assert.equal(r.status, 0, `sign: exit ${r.status}, stderr ${r.stderr}`);
    return r.stdout.trim();
  }

  test('the signature is the one stripe would make, and constructEvent accepts it', () => {
    const { event, payload } = checkoutEvent('ord_20250101_0007', 3000);
    const timestamp = nowSeconds();
    const header = sign(payload, timestamp);
    assert.equal(header, stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp }));
    const constructed = stripe.webhooks.constructEvent(payload, header, secret);
    assert.deepEqual(JSON.parse(JSON.stringify(constructed)), event);
  });

  test('constructEvent rejects the signature for another body or another secret', () => {
    const { payload } = checkoutEvent('ord_20250101_0008', 3000);
    const header = sign(payload, nowSeconds());
    stripe.webhooks.constructEvent(payload, header, secret); // the control: this one holds
    const other = payload.replace('ord_20250101_0008', 'ord_20250101_0009');
    assert.throws(
      () => stripe.webhooks.constructEvent(other, header, secret),
      (e) => e.type === 'StripeSignatureVerificationError',
    );
    assert.throws(
      () => stripe.webhooks.constructEvent(payload, header, `${secret}x`),
      (e) => e.type === 'StripeSignatureVerificationError',
    );
  });

  test('what sign makes, verify-notify accepts', () => {
    const { event, payload } = checkoutEvent('ord_20250101_0010', 100);
    assertGenuine(verifyNotify(sign(payload, nowSeconds()), payload), event, 'round trip');
  });
});
