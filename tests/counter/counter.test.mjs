// The counter in a real browser (Debian's Chromium through playwright-core): a teller logs in,
// opens a shift, reads the number back, takes cash with change and a bank card with its POS
// reference, prints the roll receipt (its text checked with pdftotext), gets a supervisor's
// approval for a large amount and closes the shift with a shortage; a supervisor reverses a
// recharge from the shift page, which a teller is not even offered. The pages must raise no
// uncaught error and no Content-Security-Policy report. `topup verify` passes at the end.
//
// Environment: TOPUP_BUILD (see tests/integration/harness.mjs), CHROMIUM (default
// /usr/bin/chromium).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { REPO_ROOT, TOPUP, createWorkspace, run, startDaemon, topup, verifyLedger } from '../integration/harness.mjs';
import { VIEWPORTS, launchBrowser, newContext, pdfQrCodes, pdfText, textOf } from '../portal/world.mjs';

const PASSWORD = 'counter horse battery';
const ARTIFACTS = path.join(REPO_ROOT, 'tests', 'artifacts', 'counter');
const DESKTOP = VIEWPORTS.find((v) => v.name === 'desktop');

let ws;
let daemon;
let browser;

before(async () => {
  ws = await createWorkspace('counter-web');
  const db = ['--db', ws.db];
  await topup(['hall', 'add', '--id', 'bj-xidan', '--name', '北京西单营业厅', '--currency', 'CNY', ...db]);
  for (const [id, name, role] of [['wang', '王丽', 'teller'], ['li', '李强', 'supervisor']]) {
    const r = await run(TOPUP, ['staff', 'add', '--id', id, '--name', name, '--role', role, '--hall', 'bj-xidan', ...db], { input: `${PASSWORD}\n` });
    assert.equal(r.code, 0, r.stderr);
  }
  const config = await ws.writeFile('topupd.conf', 'counter.approval_limit_minor = 20000\n');
  daemon = await startDaemon(ws.db, { args: ['--config', config] });
  browser = await launchBrowser();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await daemon?.stop();
  await ws?.cleanup();
});

describe('the counter in a browser', () => {
  let context;
  let page;
  const url = (pathname) => daemon.base + pathname;
  const shot = (name) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

  before(async () => {
    context = await newContext(browser, DESKTOP);
    page = await context.newPage();
  });

  after(async () => {
    const problems = context?.problems ?? [];
    await context?.close();
    assert.deepEqual(problems, [], 'uncaught errors or Content-Security-Policy reports in the pages');
  });

  async function logIn(staffId) {
    await page.goto(url('/counter'));
    await page.getByLabel('工号').fill(staffId);
    await page.getByLabel('密码').fill(PASSWORD);
    await page.getByRole('button', { name: '登录' }).click();
    await page.waitForURL(url('/counter/recharge'));
  }

  async function logOut() {
    await page.getByRole('button', { name: '退出' }).click();
    await page.waitForURL(url('/counter'));
  }

  /** On the recharge page: number, product (and amount), then the read-back. */
  async function readBack(number, product, amount) {
    await page.goto(url('/counter/recharge'));
    await page.getByLabel('手机号码').fill(number);
    await page.getByRole('button', { name: '查询' }).click();
    await textOf(page.locator('#operator'), /中国移动/);
    await page.getByLabel('充值面额').selectOption(product);
    if (amount) await page.getByLabel('金额（元）').fill(amount);
    await page.getByRole('button', { name: '核对' }).click();
    return textOf(page.locator('#readback'), /\*\*\*\*/);
  }

  async function pay() {
    const answer = page.waitForResponse((r) => r.url().endsWith('/counter/api/recharges'));
    await page.getByRole('button', { name: '确认收款并充值' }).click();
    const res = await answer;
    return { status: res.status(), body: await res.json() };
  }

  test('a teller opens a shift, takes cash with change and a card, and prints the receipt', async () => {
    await logIn('wang');
    await textOf(page.locator('#recharge-message'), /请先开班/);
    await page.goto(url('/counter/shift'));
    await page.getByLabel('开班备用金（元）').fill('200.00');
    await page.getByRole('button', { name: '开班' }).click();
    await textOf(page.locator('#report-facts'), /200\.00/);
    assert.equal(await page.locator('#reverse-form').isVisible(), false, 'a teller is not offered reversals');
    await shot('shift-open');

    const said = await readBack('13800138500', 'cmcc-50');
    assert.match(said, /^138\*\*\*\*8500 · China Mobile 中国移动 · ¥50\.00$/);
    await page.getByLabel('客户已确认号码与金额').check();
    await page.getByLabel('实收现金（元）').fill('100');
    await textOf(page.locator('#change'), /^50\.00$/);
    await page.getByLabel('证件号码').fill('110105194912310021');
    await shot('recharge-cash');
    const cash = await pay();
    assert.equal(cash.status, 201, JSON.stringify(cash.body));
    await textOf(page.locator('#done-change'), /50\.00/);

    // The page opens the PDF in a new tab; the bytes are taken on their way to it.
    let pdf;
    await page.route('**/counter/api/receipts/*', async (route) => {
      const response = await route.fetch();
      pdf = await response.body();
      await route.fulfill({ response, body: pdf });
    });
    const popup = context.waitForEvent('page');
    await page.getByRole('button', { name: '打印小票' }).click();
    await (await popup).close();
    await page.unroute('**/counter/api/receipts/*');
    const file = path.join(ARTIFACTS, 'receipt.pdf');
    fs.writeFileSync(file, pdf);
    const text = await pdfText(file);
    assert.match(text, /王丽/);
    assert.match(text, /北京西单营业厅/);
    assert.match(text, /现金/);
    // The QR code on the roll leads to the receipt check page, and that check is genuine.
    const [qr] = await pdfQrCodes(file);
    const check = /\/r\/(\d+)\/([0-9a-f]{16})$/.exec(qr ?? '');
    assert.ok(check, `a receipt check URL in the QR code: ${qr}`);
    const verdict = await page.evaluate(async ([id, code]) =>
      (await fetch(`/portal/api/check/${id}/${code}`)).json(), [check[1], check[2]]);
    assert.equal(verdict.genuine, true, JSON.stringify(verdict));

    await readBack('13800138500', 'cmcc-30');
    await page.getByLabel('客户已确认号码与金额').check();
    await page.getByLabel('银行卡').check();
    await page.getByLabel('POS 参考号').fill('POS-000123');
    await page.getByLabel('证件类型').selectOption('passport');
    await page.getByLabel('证件号码').fill('E12345678');
    const card = await pay();
    assert.equal(card.status, 201, JSON.stringify(card.body));
    assert.equal(card.body.counter.pos_reference, 'POS-000123');
  });

  test('a large amount needs the supervisor at the teller desk', async () => {
    await readBack('13800138501', 'cmcc-300');
    assert.equal(await page.locator('#approval').isVisible(), true);
    await page.getByLabel('客户已确认号码与金额').check();
    await page.getByLabel('实收现金（元）').fill('300');
    await page.getByLabel('证件号码').fill('110105194912310021');
    await page.getByLabel('主管工号').fill('li');
    await page.getByLabel('主管密码').fill('wrong password');
    const denied = await pay();
    assert.equal(denied.status, 403);
    await textOf(page.locator('#recharge-message'), /主管密码不正确/);
    await page.getByLabel('主管密码').fill(PASSWORD);
    const approved = await pay();
    assert.equal(approved.status, 201, JSON.stringify(approved.body));
    assert.equal(approved.body.counter.approved_by, 'li');
    await logOut();
  });

  test('a supervisor reverses a cash recharge from the shift page', async () => {
    const order = execFileSync('sqlite3', [ws.db, "SELECT min(order_id) FROM counter_orders WHERE tender = 'cash'"], { encoding: 'utf8' }).trim();
    await logIn('li');
    await page.goto(url('/counter/shift'));
    await page.getByLabel('订单号').fill(order);
    await page.getByLabel('冲正原因').fill('客户输错号码');
    await page.getByRole('button', { name: '冲正' }).click();
    await textOf(page.locator('#reverse-message'), /已冲正/);
    await shot('reversal');
    await logOut();
  });

  test('the teller closes the shift with a shortage', async () => {
    await logIn('wang');
    await page.goto(url('/counter/shift'));
    const held = await textOf(page.locator('#report-facts dd'), /\d+\.\d\d/);
    const short = (Math.round(Number(held) * 100) - 1000) / 100;
    await page.getByLabel('清点现金（元）').fill(short.toFixed(2));
    await page.getByRole('button', { name: '交班' }).click();
    await textOf(page.locator('#shift-message'), /请填写原因/);
    await page.getByLabel('长短款原因').fill('找零错误');
    await page.getByRole('button', { name: '交班' }).click();
    await textOf(page.locator('#report-facts'), /-10\.00/);
    await shot('shift-closed');
    await verifyLedger(ws.db);
  });
});
