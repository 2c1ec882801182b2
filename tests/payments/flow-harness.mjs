// Helpers for the end-to-end tests of payment orders (flow.test.mjs, flow-providers.test.mjs):
// a topupd with payment providers configured, payment orders through the API, notifications
// signed by independent code, and read-only looks into the database for the audit rows.
//
// Sandbox notifications are signed with Stripe's own library
// (stripe.webhooks.generateTestHeaderString): the sandbox uses exactly Stripe's webhook scheme,
// so a notification that library signs must count and nothing else may.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import http from 'node:http';

import Stripe from 'stripe';

import {
  api,
  assertJson,
  createKey,
  createWorkspace,
  enc,
  newIdemKey,
  raw,
  run,
  show,
  sleep,
  startDaemon,
} from '../integration/harness.mjs';

const stripe = new Stripe('sk_test_not_used_no_network');

export const SANDBOX_SIGNATURE = 'Sandbox-Signature';
export const nowSeconds = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------- workspace and daemon

/**
 * A demo workspace, one API key with the recharge and read scopes, and the config lines every
 * payments daemon here shares. The sandbox's webhook secret is a fresh random text in a 0600 file.
 */
export async function createPaymentsWorkspace(name) {
  const ws = await createWorkspace(name);
  const key = await createKey(ws.db, `flow-${name}`, 'recharge,read');
  const sandboxSecret = `whsec_${crypto.randomBytes(24).toString('hex')}`;
  const secretFile = await ws.writeFile('sandbox-webhook.secret', sandboxSecret);
  await fsp.chmod(secretFile, 0o600);
  return { ...ws, key, sandboxSecret, sandboxSecretFile: secretFile };
}

/**
 * Writes a config file ("key = value" lines) and starts topupd with it. settings: an object of
 * config keys to values, added to (and overriding) the fast worker timings used by every test.
 */
export async function startPaymentsDaemon(ws, settings = {}, { fileName = 'topupd.conf' } = {}) {
  const all = {
    'payments.settle_interval_ms': 100,
    'payments.retry_base_ms': 100,
    'payments.retry_max_ms': 1000,
    ...settings,
  };
  const text = Object.entries(all)
    .map(([k, v]) => `${k} = ${v}`)
    .join('\n');
  const configFile = await ws.writeFile(fileName, `${text}\n`);
  const daemon = await startDaemon(ws.db, { args: ['--config', configFile] });
  daemon.configFile = configFile;
  return daemon;
}

/** The config lines that turn the sandbox on; its page is reported under gateway. */
export function sandboxSettings(ws, gateway = 'http://127.0.0.1:9') {
  return {
    'sandbox.gateway': gateway,
    'sandbox.webhook_secret': ws.sandboxSecretFile,
  };
}

// ---------------------------------------------------------------- numbers

let numberSeq = 0;
/** A China Mobile number (+86138...) no other test of this process uses. */
export function freshCmcc() {
  numberSeq += 1;
  const salt = process.pid % 1000;
  return `+86138${String(salt).padStart(3, '0')}${String(numberSeq).padStart(5, '0')}`;
}

// ---------------------------------------------------------------- payment orders

/** POST /v1/payment-orders with a JSON body; a fresh Idempotency-Key unless one is given. */
export function postPaymentOrder(daemon, key, body, { idemKey = newIdemKey('po'), headers = {} } = {}) {
  const h = { 'content-type': 'application/json', ...headers };
  if (idemKey !== null) h['idempotency-key'] = idemKey;
  return api(daemon, 'POST', '/v1/payment-orders', {
    key,
    headers: h,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Creates a payment order and asserts the answer is 201 awaiting_payment; returns the order. */
export async function createOrder(daemon, key, body) {
  const res = await postPaymentOrder(daemon, key, body);
  const order = assertJson(res, 201, 'POST /v1/payment-orders');
  assert.equal(order.status, 'awaiting_payment', `new order is not awaiting payment: ${show(res)}`);
  assert.equal(order.payment.status, 'pending', `new payment is not pending: ${show(res)}`);
  return order;
}

export async function getOrder(daemon, key, id) {
  return assertJson(await api(daemon, 'GET', `/v1/payment-orders/${id}`, { key }), 200, `GET order ${id}`);
}

/** The subscriber as the API shows it; null when topup does not know the number. */
export async function getSubscriber(daemon, key, msisdn) {
  const res = await api(daemon, 'GET', `/v1/subscribers/${enc(msisdn)}`, { key });
  if (res.status === 404) return null;
  return assertJson(res, 200, `GET subscriber ${msisdn}`);
}

/**
 * Polls GET /v1/payment-orders/{id} until done(order) holds; fails with the last state seen.
 */
export async function waitForOrder(daemon, key, id, done, { timeoutMs = 10000, what = 'order state' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await getOrder(daemon, key, id);
    if (done(last)) return last;
    if (Date.now() > deadline) {
      assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
    }
    await sleep(50);
  }
}

// ---------------------------------------------------------------- sandbox notifications

/**
 * A sandbox notification signed with the Stripe library. Returns { body, headers, event }.
 * type: 'payment.succeeded' or 'payment.failed'; secret and timestamp default to the workspace's
 * secret and now.
 */
export function sandboxNotification(ws, { outTradeNo, amountMinor, currency = 'CNY', tradeNo,
  type = 'payment.succeeded', secret = ws.sandboxSecret, timestamp = nowSeconds() }) {
  const event = {
    id: `evt_${crypto.randomBytes(8).toString('hex')}`,
    type,
    created: timestamp,
    data: {
      out_trade_no: outTradeNo,
      trade_no: tradeNo ?? `T${crypto.randomBytes(8).toString('hex')}`,
      amount_minor: amountMinor,
      currency,
    },
  };
  const body = JSON.stringify(event);
  const signature = stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp });
  return {
    event,
    body,
    headers: { 'content-type': 'application/json', [SANDBOX_SIGNATURE]: signature },
  };
}

/** POSTs a raw notification (exact headers and body) to /v1/payments/{provider}/notify. */
export function postNotification(daemon, provider, { headers, body }) {
  return raw(daemon, { method: 'POST', path: `/v1/payments/${provider}/notify`, headers, body });
}

/** The sandbox payment page's form: action 'pay' or 'fail'. */
export function submitSandboxPage(daemon, outTradeNo, action) {
  return raw(daemon, {
    method: 'POST',
    path: `/sandbox/pay/${outTradeNo}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `action=${action}`,
  });
}

// ---------------------------------------------------------------- the database, read only

/** Runs one read-only SQL query with the sqlite3 CLI; returns the rows as objects. */
export async function sql(db, query) {
  const r = await run('sqlite3', ['-readonly', '-json', '-cmd', '.timeout 5000', db, query]);
  assert.equal(r.code, 0, `sqlite3 ${query}\n${r.stderr}`);
  const text = r.stdout.trim();
  return text ? JSON.parse(text) : [];
}

/** A SQL string literal. */
export const lit = (text) => `'${String(text).replaceAll("'", "''")}'`;

/** The raw notifications stored for a payment (or whose body mentions out_trade_no). */
export function notificationsFor(db, outTradeNo) {
  return sql(db, `SELECT id, provider, headers, CAST(body AS TEXT) AS body, genuine, verdict,
    detail, out_trade_no, trade_no, payment_id FROM payment_notifications
    WHERE out_trade_no = ${lit(outTradeNo)} OR instr(CAST(body AS TEXT), ${lit(outTradeNo)}) > 0
    ORDER BY id`);
}

export function alertsFor(db, orderId) {
  return sql(db, `SELECT kind, order_id, detail FROM alerts WHERE order_id = ${Number(orderId)} ORDER BY id`);
}

export async function refundRows(db, outTradeNo) {
  return sql(db, `SELECT r.* FROM refunds r JOIN payments p ON p.id = r.payment_id
    WHERE p.out_trade_no = ${lit(outTradeNo)}`);
}

/** The transfers of one order with their accounts' codes. */
export function transfersOf(db, orderId) {
  return sql(db, `SELECT t.kind, t.amount_minor, t.currency, d.code AS debit, c.code AS credit
    FROM transfers t JOIN accounts d ON d.id = t.debit_account_id
    JOIN accounts c ON c.id = t.credit_account_id WHERE t.order_id = ${Number(orderId)} ORDER BY t.id`);
}

/** What one order's transfers did to one account: credits minus debits. */
export function netFor(transfers, accountCode) {
  let net = 0;
  for (const t of transfers) {
    if (t.credit === accountCode) net += t.amount_minor;
    if (t.debit === accountCode) net -= t.amount_minor;
  }
  return net;
}

/** An account's balance (0 when it does not exist yet). */
export async function accountBalance(db, code, currency = 'CNY') {
  const rows = await sql(db, `SELECT balance_minor FROM accounts WHERE code = ${lit(code)} AND currency = ${lit(currency)}`);
  return rows.length ? rows[0].balance_minor : 0;
}


// ---------------------------------------------------------------- a relay for notify URLs

/**
 * A loopback reverse proxy, started before topupd so that its URL can go into the config as a
 * provider's notify URL (topupd's own port is chosen when it starts). relay.target is the base
 * URL requests are forwarded to (set it once the daemon is up); each request goes through
 * unchanged (method, path, headers, body) and topupd's answer comes back unchanged.
 */
export async function startRelay() {
  const relay = { url: '', target: null, forwarded: 0 };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (!relay.target) {
        res.writeHead(503).end();
        return;
      }
      relay.forwarded += 1;
      const headers = { ...req.headers };
      delete headers.host;
      const out = http.request(new URL(req.url, relay.target), { method: req.method, headers, agent: false }, (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      });
      out.on('error', () => res.writeHead(502).end());
      out.end(Buffer.concat(chunks));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  relay.url = `http://127.0.0.1:${server.address().port}`;
  relay.close = () => new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
  return relay;
}
