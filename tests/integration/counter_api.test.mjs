// The counter's JSON endpoints (docs/counter.md), without a browser: staff login with CSRF and
// the lockout, shifts opened and closed over HTTP, the read-back before money is taken, cash
// recharges with change and card recharges with the POS reference, a large amount approved by a
// supervisor, the roll receipt and its reprint, who may reverse and see what, and the customer's
// ID number never stored or logged in clear. `topup verify` runs after every scenario.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { assertJson, assertProblem, createWorkspace, run, startDaemon, topup, TOPUP, verifyLedger } from './harness.mjs';

const PASSWORD = 'counter horse battery';
const ID_NUMBER = '11010519491231002X';

/** A browser-like client: keeps cookies, sends the counter's CSRF header on changes. */
class Desk {
  constructor(daemon) {
    this.daemon = daemon;
    this.cookies = new Map();
  }

  request(method, urlPath, { json, csrf = true, headers: extra = {} } = {}) {
    const body = json === undefined ? undefined : JSON.stringify(json);
    const headers = { ...extra };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (csrf && method !== 'GET' && this.cookies.has('topup_counter_csrf')) headers['x-csrf-token'] = this.cookies.get('topup_counter_csrf');
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: this.daemon.port, method, path: urlPath, headers }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          for (const line of res.headers['set-cookie'] ?? []) {
            const [pair, ...attributes] = line.split(';');
            const [name, value] = pair.split('=');
            const expired = attributes.some((a) => a.trim().toLowerCase() === 'max-age=0');
            if (expired || value === '') this.cookies.delete(name.trim());
            else this.cookies.set(name.trim(), value);
          }
          const raw = Buffer.concat(chunks);
          const text = raw.toString('utf8');
          let parsed;
          try { parsed = JSON.parse(text); } catch { parsed = undefined; }
          resolve({ status: res.statusCode, headers: res.headers, raw, text, body: parsed,
            header: (n) => res.headers[n.toLowerCase()], contentType: res.headers['content-type'] ?? '' });
        });
      });
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  async login(staffId, password = PASSWORD) {
    assertJson(await this.request('GET', '/counter/api/session'), 200, 'session');
    return assertJson(await this.request('POST', '/counter/api/login', { json: { staff_id: staffId, password } }), 200, `login ${staffId}`);
  }

  /** A counter recharge; a fresh Idempotency-Key unless key is given. */
  recharge(fields, key = crypto.randomUUID()) {
    return this.request('POST', '/counter/api/recharges', {
      json: { msisdn: '13800138300', product: 'cmcc-custom', id_type: 'resident_id', id_number: ID_NUMBER, ...fields },
      headers: key === null ? {} : { 'idempotency-key': key },
    });
  }
}

function sql(db, query) {
  return execFileSync('sqlite3', [db, query], { encoding: 'utf8' }).trim();
}

function pdfText(buffer, dir) {
  const file = path.join(dir, `receipt-${Date.now()}-${Math.random()}.pdf`);
  fs.writeFileSync(file, buffer);
  return execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
}

describe('counter endpoints', () => {
  let ws;
  let daemon;
  before(async () => {
    ws = await createWorkspace('counter');
    const db = ['--db', ws.db];
    await topup(['hall', 'add', '--id', 'bj-xidan', '--name', '北京西单营业厅', '--currency', 'CNY', ...db]);
    await topup(['hall', 'add', '--id', 'sh-01', '--name', '上海营业厅', '--currency', 'CNY', ...db]);
    for (const [id, name, role, hall] of [['wang', '王丽', 'teller', 'bj-xidan'], ['li', '李强', 'supervisor', 'bj-xidan'],
      ['zhao', '赵敏', 'teller', 'sh-01'], ['sun', '孙杰', 'teller', 'bj-xidan']]) {
      const r = await run(TOPUP, ['staff', 'add', '--id', id, '--name', name, '--role', role, '--hall', hall, ...db], { input: `${PASSWORD}\n` });
      assert.equal(r.code, 0, r.stderr);
    }
    const key = path.join(ws.dir, 'counter-key');
    fs.writeFileSync(key, 'counter-id-hash-secret-0123456789\n', { mode: 0o600 });
    const config = await ws.writeFile('topupd.conf', [`counter.key_file = ${key}`, 'counter.approval_limit_minor = 20000', ''].join('\n'));
    daemon = await startDaemon(ws.db, { args: ['--config', config] });
  });
  after(async () => {
    await daemon?.stop();
    await ws?.cleanup();
  });

  test('pages are served with the security headers, and a change needs the CSRF token', async () => {
    const desk = new Desk(daemon);
    const page = await desk.request('GET', '/counter');
    assert.equal(page.status, 200);
    assert.match(page.contentType, /text\/html/);
    assert.match(page.header('content-security-policy'), /default-src 'self'/);
    assertProblem(await desk.request('POST', '/counter/api/login', { json: { staff_id: 'wang', password: PASSWORD } }), 403, 'csrf_failed');
    assertProblem(await desk.request('POST', '/counter/api/shift/open', { json: { float_minor: 0 } }), 403, 'csrf_failed');
    await desk.request('GET', '/counter/api/session');
    assertProblem(await desk.request('POST', '/counter/api/shift/open', { json: { float_minor: 0 } }), 401, 'login_required');
  });

  test('login: a wrong password and an unknown name get one answer; the session says who and where', async () => {
    const desk = new Desk(daemon);
    await desk.request('GET', '/counter/api/session');
    const wrong = await desk.request('POST', '/counter/api/login', { json: { staff_id: 'wang', password: 'not it' } });
    const unknown = await desk.request('POST', '/counter/api/login', { json: { staff_id: 'nobody', password: 'not it' } });
    assertProblem(wrong, 401, 'invalid_credentials');
    assertProblem(unknown, 401, 'invalid_credentials');
    const me = await desk.login('wang');
    assert.equal(me.staff.role, 'teller');
    assert.equal(me.staff.hall_name, '北京西单营业厅');
    const session = assertJson(await desk.request('GET', '/counter/api/session'), 200, 'session');
    assert.equal(session.logged_in, true);
    assert.equal(session.staff.id, 'wang');
    assert.equal(session.staff.shift, null);
    assert.equal(sql(ws.db, "SELECT count(*) FROM audit_log WHERE action = 'staff.login' AND staff_id = 'wang'"), '1');
    assert.equal(sql(ws.db, "SELECT count(*) FROM audit_log WHERE action = 'staff.login.refused'"), '2');
    assert.equal(sql(ws.db, "SELECT failed_logins FROM staff WHERE id = 'wang'"), '0', 'a success clears the count');
  });

  test('five wrong passwords in a row lock the login, even with the right one after', async () => {
    const desk = new Desk(daemon);
    await desk.request('GET', '/counter/api/session');
    for (let i = 0; i < 5; i++)
      await desk.request('POST', '/counter/api/login', { json: { staff_id: 'sun', password: `wrong ${i}` } });
    const locked = await desk.request('POST', '/counter/api/login', { json: { staff_id: 'sun', password: PASSWORD } });
    assertProblem(locked, 429, 'locked');
    assert.ok(Number(locked.header('retry-after')) > 0);
  });

  test('a teller needs an open shift to recharge; cash with change goes into the drawer', async () => {
    const desk = new Desk(daemon);
    await desk.login('wang');
    assertProblem(await desk.recharge({ amount_minor: 5000, tender: 'cash', tendered_minor: 10000 }), 409, 'no_open_shift');
    assert.equal(sql(ws.db, "SELECT count(*) FROM audit_log WHERE action = 'recharge.refused' AND detail LIKE 'no_open_shift%'"), '1');
    const shift = assertJson(await desk.request('POST', '/counter/api/shift/open', { json: { float_minor: 20000 } }), 201, 'shift open');
    assert.equal(shift.status, 'open');

    const check = assertJson(await desk.request('POST', '/counter/api/check', { json: { msisdn: '13800138300', product: 'cmcc-custom', amount_minor: 5000 } }), 200, 'check');
    assert.equal(check.masked, '138****8300');
    assert.equal(check.operator, 'cmcc');
    assert.equal(check.amount_minor, 5000);
    assert.equal(check.approval_required, false);

    assertProblem(await desk.recharge({ amount_minor: 5000, tender: 'cash', tendered_minor: 4000 }), 422, 'tender_short');
    const paid = assertJson(await desk.recharge({ amount_minor: 5000, tender: 'cash', tendered_minor: 10000 }), 201, 'cash recharge');
    assert.equal(paid.order.status, 'succeeded');
    assert.equal(paid.order.channel, 'counter');
    assert.equal(paid.counter.change_minor, 5000);
    assert.equal(paid.counter.id_last4, '002X');
    const drawer = sql(ws.db, "SELECT balance_minor FROM accounts WHERE code = 'drawer:bj-xidan:wang'");
    assert.equal(drawer, '-25000', 'the float and the price are in the drawer (held cash is a debit balance)');
    await verifyLedger(ws.db);
  });

  test('a card recharge records the POS reference and funds from the hall terminal account', async () => {
    const desk = new Desk(daemon);
    await desk.login('wang');
    assertProblem(await desk.recharge({ amount_minor: 3000, tender: 'card' }), 400, 'missing_field');
    const paid = assertJson(await desk.recharge({ amount_minor: 3000, tender: 'card', pos_reference: 'POS-778899' }), 201, 'card recharge');
    assert.equal(paid.counter.tender, 'card');
    assert.equal(paid.counter.pos_reference, 'POS-778899');
    assert.equal(sql(ws.db, "SELECT balance_minor FROM accounts WHERE code = 'pos:bj-xidan'"), '-3000');
    assert.equal(paid.counter.invoice, null);
    assertProblem(await desk.recharge({ amount_minor: 3000, tender: 'card', pos_reference: 'POS-2' }, null), 400, 'idempotency_key_missing');
    const key = crypto.randomUUID();
    const once = assertJson(await desk.recharge({ amount_minor: 2500, tender: 'card', pos_reference: 'POS-3' }, key), 201, 'first');
    const again = await desk.recharge({ amount_minor: 2500, tender: 'card', pos_reference: 'POS-3' }, key);
    assert.equal(again.status, 200, 'a retry answers the first recharge');
    assert.equal(again.header('idempotent-replayed'), 'true');
    assert.equal(again.body.order.id, once.order.id);
    assertProblem(await desk.recharge({ amount_minor: 2600, tender: 'card', pos_reference: 'POS-3' }, key), 409, 'idempotency_key_reused');
    assert.equal(sql(ws.db, "SELECT count(*) FROM counter_orders WHERE pos_reference = 'POS-3'"), '1');
    assertProblem(await desk.recharge({ amount_minor: 3000, tender: 'card', pos_reference: 'POS-1', invoice_tax_id: '91110000600037341L' }), 400, 'invalid_field');
    const invoiced = assertJson(await desk.recharge({
      amount_minor: 1000, tender: 'card', pos_reference: 'POS-778900', invoice_title: '北京某某科技有限公司', invoice_tax_id: '91110000600037341L',
    }), 201, 'card recharge with an invoice');
    assert.deepEqual(invoiced.counter.invoice, { title: '北京某某科技有限公司', tax_id: '91110000600037341L' });
    assert.equal(sql(ws.db, `SELECT invoice_title || '/' || invoice_tax_id FROM counter_orders WHERE order_id = ${invoiced.order.id}`), '北京某某科技有限公司/91110000600037341L');
    await verifyLedger(ws.db);
  });

  test('an amount above the limit needs a supervisor of the hall with the right password', async () => {
    const desk = new Desk(daemon);
    await desk.login('wang');
    const big = { amount_minor: 30000, tender: 'cash', tendered_minor: 30000 };
    assertProblem(await desk.recharge(big), 403, 'approval_required');
    assertProblem(await desk.recharge({ ...big, approver: 'li', approver_password: 'wrong' }), 403, 'approval_denied');
    assertProblem(await desk.recharge({ ...big, approver: 'zhao', approver_password: PASSWORD }), 403, 'approver_refused');
    assertProblem(await desk.recharge({ ...big, approver: 'nobody', approver_password: PASSWORD }), 403, 'approval_denied');
    const paid = assertJson(await desk.recharge({ ...big, approver: 'li', approver_password: PASSWORD }), 201, 'approved');
    assert.equal(paid.counter.approved_by, 'li');
    await verifyLedger(ws.db);
  });

  test('the receipt prints on the roll with teller and hall; the second print is a reprint', async () => {
    const desk = new Desk(daemon);
    await desk.login('wang');
    const paid = assertJson(await desk.recharge({ amount_minor: 2000, tender: 'cash', tendered_minor: 2000 }), 201, 'recharge');
    const first = await desk.request('POST', `/counter/api/receipts/${paid.order.id}`);
    assert.equal(first.status, 200);
    assert.match(first.contentType, /application\/pdf/);
    const text = pdfText(first.raw, ws.dir);
    assert.match(text, /王丽/);
    assert.match(text, /北京西单营业厅/);
    assert.match(text, /138\*\*\*\*8300/);
    assert.doesNotMatch(text, /补打/);
    const again = pdfText((await desk.request('POST', `/counter/api/receipts/${paid.order.id}`)).raw, ws.dir);
    assert.match(again, /补打/);
    assert.equal(sql(ws.db, `SELECT receipt_print_count FROM counter_orders WHERE order_id = ${paid.order.id}`), '2');
    assert.equal(sql(ws.db, `SELECT count(*) FROM audit_log WHERE action = 'receipt.reprint' AND subject = 'order:${paid.order.id}'`), '1');
  });

  test('a teller of another hall sees nothing of this one; a teller cannot reverse; a supervisor can', async () => {
    const wang = new Desk(daemon);
    await wang.login('wang');
    const paid = assertJson(await wang.recharge({ amount_minor: 4000, tender: 'cash', tendered_minor: 5000 }), 201, 'recharge');
    const shiftId = (await wang.request('GET', '/counter/api/session')).body.staff.shift.id;

    const zhao = new Desk(daemon);
    await zhao.login('zhao');
    assertProblem(await zhao.request('POST', `/counter/api/receipts/${paid.order.id}`), 403, 'wrong_hall');
    assertProblem(await zhao.request('GET', `/counter/api/shifts/${shiftId}`), 403, 'wrong_hall');
    assertProblem(await zhao.request('POST', '/counter/api/reversals', { json: { order_id: paid.order.id, reason: 'x' } }), 403, 'role_refused');

    assertProblem(await wang.request('POST', '/counter/api/reversals', { json: { order_id: paid.order.id, reason: '客户要求' } }), 403, 'role_refused');

    const before = Number(sql(ws.db, "SELECT a.balance_minor FROM subscribers s JOIN accounts a ON a.id = s.account_id WHERE s.msisdn = '+8613800138300'"));
    const drawerBefore = Number(sql(ws.db, "SELECT balance_minor FROM accounts WHERE code = 'drawer:bj-xidan:wang'"));
    const li = new Desk(daemon);
    await li.login('li');
    assertProblem(await li.request('POST', '/counter/api/reversals', { json: { order_id: paid.order.id, reason: '' } }), 422, 'reason_required');
    const reversed = assertJson(await li.request('POST', '/counter/api/reversals', { json: { order_id: paid.order.id, reason: '客户输错号码' } }), 200, 'reverse');
    assert.equal(reversed.counter.reversed_by, 'li');
    assert.equal(reversed.reversal_shift_id, shiftId, "the cash leaves the serving teller's open drawer");
    const after = Number(sql(ws.db, "SELECT a.balance_minor FROM subscribers s JOIN accounts a ON a.id = s.account_id WHERE s.msisdn = '+8613800138300'"));
    assert.equal(after, before - 4000);
    assert.equal(Number(sql(ws.db, "SELECT balance_minor FROM accounts WHERE code = 'drawer:bj-xidan:wang'")), drawerBefore + 4000);
    assert.equal(sql(ws.db, `SELECT status FROM orders WHERE id = ${paid.order.id}`), 'reversed',
      'the order itself says it was reversed');
    assert.equal(sql(ws.db, `SELECT to_status || ':' || reason FROM order_events WHERE order_id = ${paid.order.id} ORDER BY seq DESC LIMIT 1`),
      'reversed:客户输错号码', 'as its last event, with the reason');
    assert.equal(sql(ws.db, `SELECT count(*) FROM transfers WHERE kind = 'counter_reversal' AND order_id = ${paid.order.id}`), '1',
      'the money goes back with a transfer of the order');
    assertProblem(await li.request('POST', '/counter/api/reversals', { json: { order_id: paid.order.id, reason: 'again' } }), 409, 'already_reversed');
    const voided = pdfText((await li.request('POST', `/counter/api/receipts/${paid.order.id}`)).raw, ws.dir);
    assert.match(voided, /作废/);
    assert.equal(sql(ws.db, `SELECT count(*) FROM audit_log WHERE action = 'recharge.reverse' AND staff_id = 'li' AND subject = 'order:${paid.order.id}'`), '1');
    await verifyLedger(ws.db);
  });

  test('closing the shift over HTTP books the shortage; the report sums the tenders', async () => {
    const desk = new Desk(daemon);
    await desk.login('wang');
    const shiftId = (await desk.request('GET', '/counter/api/session')).body.staff.shift.id;
    const report = assertJson(await desk.request('GET', `/counter/api/shifts/${shiftId}`), 200, 'report');
    const cash = report.tenders.find((t) => t.key === 'cash');
    assert.equal(cash.reversed_count >= 1, true);
    const held = report.drawer_cash_minor;
    assertProblem(await desk.request('POST', '/counter/api/shift/close', { json: { counted_minor: held - 500 } }), 422, 'reason_required');
    const closed = assertJson(await desk.request('POST', '/counter/api/shift/close', { json: { counted_minor: held - 500, reason: '找零错误' } }), 200, 'close');
    assert.equal(closed.over_short_minor, -500);
    assert.equal(closed.status, 'closed');
    assert.equal(sql(ws.db, "SELECT balance_minor FROM accounts WHERE code = 'drawer:bj-xidan:wang'"), '0');
    assertProblem(await desk.recharge({ amount_minor: 1000, tender: 'cash', tendered_minor: 1000 }), 409, 'no_open_shift');
    await verifyLedger(ws.db);
  });

  test("with the teller's shift closed, the cash comes back out of the supervisor's own drawer; a card goes back to the terminal account", async () => {
    const cashOrder = sql(ws.db, "SELECT min(order_id) FROM counter_orders WHERE tender = 'cash' AND reversed_at IS NULL AND approved_by IS NULL");
    const cardOrder = sql(ws.db, "SELECT min(order_id) FROM counter_orders WHERE tender = 'card'");
    const li = new Desk(daemon);
    await li.login('li');
    const reason = { reason: '客户要求退款' };
    assertProblem(await li.request('POST', '/counter/api/reversals', { json: { order_id: cashOrder, ...reason } }), 409, 'no_open_shift');
    const own = assertJson(await li.request('POST', '/counter/api/shift/open', { json: { float_minor: 10000 } }), 201, 'supervisor shift');
    const reversed = assertJson(await li.request('POST', '/counter/api/reversals', { json: { order_id: cashOrder, ...reason } }), 200, 'reverse cash');
    assert.equal(reversed.reversal_shift_id, own.id);
    const price = Number(sql(ws.db, `SELECT price_minor FROM orders WHERE id = ${cashOrder}`));
    assert.equal(Number(sql(ws.db, "SELECT balance_minor FROM accounts WHERE code = 'drawer:bj-xidan:li'")), -(10000 - price));
    const pos = () => Number(sql(ws.db, "SELECT balance_minor FROM accounts WHERE code = 'pos:bj-xidan'"));
    const posBefore = pos();
    assertJson(await li.request('POST', '/counter/api/reversals', { json: { order_id: cardOrder, ...reason } }), 200, 'reverse card');
    assert.equal(pos(), posBefore + 3000, 'the card price goes back to the terminal account');
    const closed = assertJson(await li.request('POST', '/counter/api/shift/close', { json: { counted_minor: 10000 - price } }), 200, 'close');
    assert.equal(closed.over_short_minor, 0);
    await verifyLedger(ws.db);
  });

  test('wrong approval passwords lock the supervisor out like wrong logins', async () => {
    const sun = new Desk(daemon);
    await topup(['staff', 'add', '--id', 'zhou', '--name', '周', '--role', 'supervisor', '--hall', 'sh-01', '--db', ws.db], { input: `${PASSWORD}\n` });
    const zhao = new Desk(daemon);
    await zhao.login('zhao');
    await zhao.request('POST', '/counter/api/shift/open', { json: { float_minor: 0 } });
    const big = { amount_minor: 30000, tender: 'card', pos_reference: 'POS-1', approver: 'zhou' };
    for (let i = 0; i < 5; i++)
      assertProblem(await zhao.recharge({ ...big, approver_password: `guess ${i}` }), 403, 'approval_denied');
    assertProblem(await zhao.recharge({ ...big, approver_password: PASSWORD }), 429, 'approver_locked');
    await sun.request('GET', '/counter/api/session');
    assertProblem(await sun.request('POST', '/counter/api/login', { json: { staff_id: 'zhou', password: PASSWORD } }), 429, 'locked');
    await verifyLedger(ws.db);
  });

  test('many logins in a row keep working (password checks hold no database connection)', async () => {
    for (let i = 0; i < 70; i++) {
      const desk = new Desk(daemon);
      await desk.request('GET', '/counter/api/session');
      assertJson(await desk.request('POST', '/counter/api/login', { json: { staff_id: 'li', password: PASSWORD } }), 200, `login ${i}`);
    }
  });

  test('logout ends the session', async () => {
    const desk = new Desk(daemon);
    await desk.login('li');
    assert.equal((await desk.request('POST', '/counter/api/logout')).status, 204);
    assert.equal((await desk.request('GET', '/counter/api/session')).body.logged_in, false);
    assert.equal(sql(ws.db, "SELECT count(*) FROM audit_log WHERE action = 'staff.logout' AND staff_id = 'li'"), '1');
  });

  test("the customer's ID number is never in the database or the daemon's log in clear", async () => {
    const dump = execFileSync('sqlite3', [ws.db, '.dump'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.ok(dump.includes('002X'), 'the last 4 characters are kept');
    assert.ok(!dump.includes(ID_NUMBER) && !dump.includes(ID_NUMBER.slice(0, 12)), 'the number is not stored');
    assert.ok(!daemon.log().includes(ID_NUMBER));
    assert.equal(sql(ws.db, 'SELECT count(DISTINCT hex(id_hash)) FROM counter_orders'), '1', 'one ID, one keyed hash');
  });
});

describe('counter reversal window', () => {
  let ws;
  let daemon;
  before(async () => {
    ws = await createWorkspace('counter-window');
    const db = ['--db', ws.db];
    await topup(['hall', 'add', '--id', 'gz-01', '--name', '广州营业厅', '--currency', 'CNY', ...db]);
    for (const [id, role] of [['chen', 'teller'], ['wu', 'supervisor']]) {
      const r = await run(TOPUP, ['staff', 'add', '--id', id, '--name', id, '--role', role, '--hall', 'gz-01', ...db], { input: `${PASSWORD}\n` });
      assert.equal(r.code, 0, r.stderr);
    }
    const config = await ws.writeFile('topupd.conf', 'counter.reversal_window_s = 0\n');
    daemon = await startDaemon(ws.db, { args: ['--config', config] });
  });
  after(async () => {
    await daemon?.stop();
    await ws?.cleanup();
  });

  test('a recharge older than the window is not reversed, and nothing moves', async () => {
    const chen = new Desk(daemon);
    await chen.login('chen');
    assertJson(await chen.request('POST', '/counter/api/shift/open', { json: { float_minor: 0 } }), 201, 'shift');
    const paid = assertJson(await chen.recharge({ amount_minor: 1000, tender: 'cash', tendered_minor: 1000 }), 201, 'recharge');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const wu = new Desk(daemon);
    await wu.login('wu');
    assertProblem(await wu.request('POST', '/counter/api/reversals', { json: { order_id: paid.order.id, reason: '太晚了' } }), 409, 'window_passed');
    assert.equal(sql(ws.db, `SELECT reversed_at IS NULL FROM counter_orders WHERE order_id = ${paid.order.id}`), '1');
    assert.equal(sql(ws.db, "SELECT count(*) FROM transfers WHERE kind = 'counter_reversal'"), '0');
    assert.equal(sql(ws.db, "SELECT count(*) FROM audit_log WHERE action = 'recharge.reverse.refused' AND detail LIKE 'window_passed%'"), '1');
    await verifyLedger(ws.db);
  });
});
