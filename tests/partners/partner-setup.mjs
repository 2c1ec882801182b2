// Shared set-up of the partner tests: merchants and http operators made with the real CLI, a
// topupd with short partner schedules, the callback outbox as `topup callbacks` reports it, the
// statement CSV, and small waiting helpers. Builds on tests/integration/harness.mjs.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';

import { run, startDaemon, TOPUP, topup, verifyLedger } from '../integration/harness.mjs';
import { show } from './partner-client.mjs';

export { verifyLedger };

/** The config lines every partner daemon here starts with: short schedules, so a run is quick. */
export const FAST_PARTNER_SETTINGS = {
  'partners.callback_retry_s': '1,1,2',
  'partners.callback_timeout_ms': 2000,
  'partners.status_retry_s': 1,
  'partners.breaker_cooldown_s': 2,
};

/** Writes a config file of FAST_PARTNER_SETTINGS plus settings and starts topupd with it. */
export async function startPartnerDaemon(ws, settings = {}, fileName = 'topupd.conf') {
  const all = { ...FAST_PARTNER_SETTINGS, ...settings };
  const text = Object.entries(all).map(([k, v]) => `${k} = ${v}`).join('\n');
  const configFile = await ws.writeFile(fileName, `${text}\n`);
  return startDaemon(ws.db, { args: ['--config', configFile] });
}

/**
 * Stops topupd with SIGTERM and asserts a clean exit: within 10 s, status 0 (a sanitizer report
 * at exit makes it non-zero), and no sanitizer report in its log.
 */
export async function stopDaemonClean(daemon) {
  const exit = await daemon.stop({ signal: 'SIGTERM', timeoutMs: 10000 });
  const log = daemon.log();
  assert.equal(exit.timedOut, false, 'topupd did not exit within 10 s of SIGTERM');
  assert.equal(exit.code, 0, `topupd exit ${JSON.stringify(exit)}; log:\n${log.slice(-3000)}`);
  assert.doesNotMatch(log, /AddressSanitizer|LeakSanitizer|runtime error:/, `sanitizer report:\n${log.slice(-3000)}`);
}

/** Runs the CLI on the workspace's database with --json and returns the parsed output. */
export async function topupJson(ws, args) {
  const r = await topup([...args, '--db', ws.db, '--json']);
  try {
    return JSON.parse(r.stdout);
  } catch {
    assert.fail(`topup ${args.join(' ')} --json printed no JSON: ${r.stdout}`);
  }
}

/** The CLI's exit and output without asserting success. */
export const topupRaw = (ws, args) => run(TOPUP, [...args, '--db', ws.db]);

/**
 * Adds a merchant with `topup merchant add` and returns its secret (printed once, alone on the
 * last line). opts: name, currency, creditLimit (major units, e.g. '100.00'), allowIp, float
 * (a first deposit in major units), prices: [{operator|product, percent}].
 */
export async function addMerchant(ws, id, opts = {}) {
  const args = ['merchant', 'add', '--db', ws.db, '--id', id, '--name', opts.name ?? `Shop ${id}`,
    '--currency', opts.currency ?? 'CNY'];
  if (opts.creditLimit !== undefined) args.push('--credit-limit', opts.creditLimit);
  if (opts.allowIp !== undefined) args.push('--allow-ip', opts.allowIp);
  const r = await topup(args);
  const lines = r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  const secret = lines.at(-1);
  assert.match(secret ?? '', /^[0-9a-f]{64}$/, `merchant add printed no 64-hex secret: ${r.stdout}`);
  if (opts.float !== undefined) await topupFloat(ws, id, opts.float);
  for (const p of opts.prices ?? []) await setPrice(ws, id, p);
  return secret;
}

export function topupFloat(ws, id, amount) {
  return topup(['merchant', 'topup-float', '--db', ws.db, '--id', id, '--amount', amount]);
}

export function setPrice(ws, id, { operator, product, percent }) {
  const target = operator !== undefined ? ['--operator', operator] : ['--product', product];
  return topup(['merchant', 'price', '--db', ws.db, '--id', id, ...target, '--percent', percent]);
}

/** `topup merchant show --json`: the float as the CLI reads it from the database. */
export async function merchantFloat(ws, id) {
  const m = await topupJson(ws, ['merchant', 'show', '--id', id]);
  return m.float_minor;
}

/**
 * Adds an http operator (its secret in a 0600 file), a number range and fixed products.
 * products: [[id, faceMajor]], e.g. [['x-50', '50.00']]. Returns the secret.
 */
export async function addHttpOperator(ws, { id, url, prefix, products, timeoutMs = 500, secret }) {
  const key = secret ?? crypto.randomBytes(32).toString('hex');
  const file = await ws.writeFile(`${id}.secret`, key);
  await fsp.chmod(file, 0o600);
  await topup(['operator', 'add', '--db', ws.db, '--id', id, '--name', `Operator ${id}`, '--country', 'CN',
    '--currency', 'CNY', '--connector', 'http', '--url', url, '--secret-file', file, '--timeout-ms', String(timeoutMs)]);
  await topup(['range', 'add', '--db', ws.db, '--prefix', prefix, '--operator', id]);
  for (const [productId, face] of products) {
    await topup(['product', 'add', '--db', ws.db, '--id', productId, '--operator', id, '--face', face, '--validity-days', '30']);
  }
  return key;
}

// ---------------------------------------------------------------- callbacks (the CLI's view)

/** `topup callbacks list --json`: every callback (newest first). */
export async function callbacksList(ws, args = []) {
  const out = await topupJson(ws, ['callbacks', 'list', '--limit', '1000', ...args]);
  assert.ok(Array.isArray(out.callbacks), `callbacks list --json without callbacks[]: ${JSON.stringify(out)}`);
  return out.callbacks;
}

/** `topup callbacks show --id N --json` (the body parsed, attempt_history) */
export function callbackShow(ws, id) {
  return topupJson(ws, ['callbacks', 'show', '--id', String(id)]);
}

/** The body exactly as recorded, from the text form of `topup callbacks show` ("  body: ..."). */
export async function callbackBodyText(ws, id) {
  const r = await topup(['callbacks', 'show', '--db', ws.db, '--id', String(id)]);
  const line = r.stdout.split('\n').find((l) => /^\s*body:\s/.test(l));
  assert.ok(line, `callbacks show printed no body line: ${r.stdout}`);
  return line.replace(/^\s*body:\s*/, '');
}

/** The callbacks of one of topup's orders (by its order_id as the partner API gives it). */
export async function callbacksOf(ws, orderId) {
  return (await callbacksList(ws)).filter((c) => String(c.order_id) === String(orderId));
}

// ---------------------------------------------------------------- statements

/** YYYY-MM-DD of an instant (ms) in Beijing time. */
export const beijingDate = (ms = Date.now()) => new Date(ms + 8 * 3600 * 1000).toISOString().slice(0, 10);

/** The day after a YYYY-MM-DD date. */
export const nextDate = (date) => new Date(Date.parse(`${date}T00:00:00Z`) + 86400000).toISOString().slice(0, 10);

/** RFC 4180 CSV into rows of fields. */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

export const STATEMENT_COLUMNS = ['time', 'kind', 'order_id', 'merchant_order_id', 'msisdn', 'face_minor',
  'price_minor', 'status', 'amount_minor', 'float_minor', 'currency'];

/**
 * Parses and checks a statement's arithmetic and framing: the header, an opening line at the
 * day's 00:00 +08:00, a closing line at the next day's, every line's float the previous one plus
 * its amount, times inside the day and in order. Returns { opening, closing, movements }.
 */
export function checkStatement(res, date, currency = 'CNY') {
  assert.equal(res.status, 200, `statement ${date}: ${show(res)}`);
  assert.match(res.contentType, /^text\/csv\s*(;|$)/i, `statement content type: ${res.contentType}`);
  const rows = parseCsv(res.text);
  assert.deepEqual(rows[0], STATEMENT_COLUMNS, 'statement header');
  const lines = rows.slice(1).map((r, i) => {
    assert.equal(r.length, STATEMENT_COLUMNS.length, `statement line ${i + 2} has ${r.length} fields: ${r.join(',')}`);
    return Object.fromEntries(STATEMENT_COLUMNS.map((c, j) => [c, r[j]]));
  });
  assert.ok(lines.length >= 2, `a statement has at least an opening and a closing line:\n${res.text}`);
  const opening = lines[0];
  const closing = lines.at(-1);
  assert.equal(opening.kind, 'opening', `first line: ${JSON.stringify(opening)}`);
  assert.equal(opening.time, `${date}T00:00:00+08:00`);
  assert.equal(closing.kind, 'closing', `last line: ${JSON.stringify(closing)}`);
  assert.equal(closing.time, `${nextDate(date)}T00:00:00+08:00`);
  const int = (v, what) => {
    assert.match(v, /^-?\d+$/, `${what} is not an integer: '${v}'`);
    return Number(v);
  };
  let running = int(opening.float_minor, 'opening float');
  const movements = lines.slice(1, -1);
  const dayStart = Date.parse(`${date}T00:00:00+08:00`);
  let lastTime = dayStart;
  const perOrder = new Map(); // order_id -> { price, debited, refunded }
  for (const m of movements) {
    const ctx = `statement line ${JSON.stringify(m)}`;
    assert.ok(['recharge', 'fee', 'refund', 'float_deposit', 'float_withdrawal'].includes(m.kind), `unknown kind: ${ctx}`);
    assert.match(m.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/, `time in +08:00: ${ctx}`);
    const t = Date.parse(m.time);
    assert.ok(t >= dayStart && t < dayStart + 86400000, `time outside ${date}: ${ctx}`);
    assert.ok(t >= lastTime, `lines out of time order: ${ctx}`);
    lastTime = t;
    running += int(m.amount_minor, 'amount');
    assert.equal(int(m.float_minor, 'float'), running, `float after the movement is the running sum: ${ctx}`);
    assert.equal(m.currency, currency, ctx);
    if (m.kind.startsWith('float_')) {
      assert.equal(m.order_id, '', `a ${m.kind} has no order: ${ctx}`);
      assert.ok(m.kind === 'float_deposit' ? Number(m.amount_minor) > 0 : Number(m.amount_minor) < 0, `sign of a ${m.kind}: ${ctx}`);
      continue;
    }
    assert.ok(m.order_id && m.merchant_order_id && m.msisdn, `order columns filled: ${ctx}`);
    int(m.face_minor, 'face');
    const entry = perOrder.get(m.order_id) ?? { price: int(m.price_minor, 'price'), debited: 0, refunded: 0, ctx };
    const amount = int(m.amount_minor, 'amount');
    if (m.kind === 'refund') entry.refunded += amount;
    else entry.debited -= amount; // recharge (up to the face value) and fee (the rest)
    perOrder.set(m.order_id, entry);
  }
  // An order's debits that day add up to its price; its refunds, when any, give the price back.
  for (const e of perOrder.values()) {
    if (e.debited) assert.equal(e.debited, e.price, `the float paid the price: ${e.ctx}`);
    if (e.refunded) assert.equal(e.refunded, e.price, `the refund gave the price back: ${e.ctx}`);
  }
  assert.equal(int(closing.float_minor, 'closing float'), running, 'opening plus the movements is the closing float');
  assert.equal(opening.currency, currency);
  assert.equal(closing.currency, currency);
  return { opening: Number(opening.float_minor), closing: running, movements };
}

// ---------------------------------------------------------------- waiting

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Calls fn every intervalMs until it returns a truthy value (returned) or timeoutMs passes (then
 * fails with what and the last value, described by describe()).
 */
export async function waitFor(fn, { timeoutMs = 10000, intervalMs = 100, what = 'condition', describe } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) {
      const extra = describe ? await describe() : JSON.stringify(last);
      assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}: ${extra}`);
    }
    await sleep(intervalMs);
  }
}

/** A unique merchant_order_id. */
let moidSeq = 0;
export function newMerchantOrderId(prefix = 'JD') {
  moidSeq += 1;
  return `${prefix}${Date.now().toString(36)}-${process.pid}-${moidSeq}`;
}
