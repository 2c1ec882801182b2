// The web portal in a real browser (Debian's Chromium through playwright-core), on a phone
// (390x844) and on a desktop (1280x800): register with the code the SMSC received, log out and
// in, recharge another number and pay in the sandbox and through the fake Alipay gateway, the
// result page, the SMS, the account's history, the receipt PDF (its text and its QR code) and the
// receipt check, a failed payment, wrong numbers, the login lockout, a reset, the language switch.
// Without a browser: CSRF, security headers, asset caching. Every page is saved as a screenshot
// in tests/artifacts/portal/.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { api, assertProblem } from '../integration/harness.mjs';
import {
  ARTIFACTS,
  VIEWPORTS,
  eventually,
  launchBrowser,
  messagesTo,
  newContext,
  pdfQrCodes,
  pdfText,
  screenshot,
  smsCode,
  startWorld,
  textOf,
  waitForSms,
} from './world.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TEST_MS = 90000;

let world;
let browser;

before(async () => {
  world = await startWorld();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await world?.close();
});

/** "13800138401" -> "138****8401", as the pages show numbers. */
const masked = (national) => `${national.slice(0, 3)}****${national.slice(-4)}`;
/** text as a regular expression matching exactly it. */
const literally = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

for (const [index, device] of VIEWPORTS.entries()) {
  describe(`the portal on a ${device.name}`, () => {
    const n = index + 1;
    const own = `1380013840${n}`;
    const other = `1390013940${n}`;
    const alipayNumber = `1500015040${n}`;
    const failing = `1370013740${n}`;
    const password = `Hua-fei ${n} chong zhi`;
    const newPassword = `Xin mi ma ${n}!`;
    const shot = (page, name) => screenshot(page, `${device.name}-${name}`);
    let context;
    let page;
    let paidOrder; // the sandbox order of "recharge another number"

    before(async () => {
      context = await newContext(browser, device);
      page = await context.newPage();
    });

    after(async () => {
      const problems = context?.problems ?? [];
      await context?.close();
      assert.deepEqual(problems, [], 'uncaught errors or Content-Security-Policy reports in the pages');
    });

    const url = (pathname) => world.front + pathname;
    const header = () => page.locator('#nav-user');

    async function logOut() {
      if (device.name === 'desktop') {
        await page.getByRole('button', { name: '退出', exact: true }).click();
      } else {
        await header().click();
        await page.waitForURL(url('/account'));
        await page.getByRole('button', { name: '退出登录' }).click();
      }
      await page.waitForURL(url('/'));
      await page.getByRole('link', { name: '登录', exact: true }).waitFor();
      assert.equal(await header().isVisible(), false, 'still shown as logged in');
    }

    /** Asks for an SMS code on the page and returns the one the SMSC received. */
    async function askForCode(number) {
      const seen = messagesTo(world.smsc, `+86${number}`).length;
      await page.getByRole('button', { name: '获取验证码' }).click();
      await textOf(page.locator('#form-status'), /验证码已发送/);
      await textOf(page.locator('#send-code'), /重新获取（\d+ 秒）/);
      return smsCode(world.smsc, `+86${number}`, seen);
    }

    /** On the recharge page: types the number and waits for its operator and products. */
    async function chooseNumber(number, operator = '中国移动', label = '手机号码') {
      await page.getByLabel(label, { exact: true }).fill(number);
      await textOf(page.locator('#operator'), new RegExp(`^${operator}$`));
      await page.locator('#products input').first().waitFor({ state: 'attached' });
    }

    /**
     * Presses the pay button and checks the order's POST (201, a fresh Idempotency-Key). The page
     * leaves for the payment page at once, so the order is read back from what the page kept for
     * its way back (sessionStorage), on a page of the portal's origin.
     */
    async function pressPay(label) {
      const answer = page.waitForResponse((r) => r.url().endsWith('/portal/api/orders') && r.request().method() === 'POST');
      await page.getByRole('button', { name: label }).click();
      const response = await answer;
      assert.equal(response.status(), 201, 'POST /portal/api/orders');
      assert.match(response.request().headers()['idempotency-key'] ?? '', UUID, 'a fresh Idempotency-Key per confirmation');
    }

    /** The order the recharge page placed last, as GET /portal/api/orders/{id}?t= shows it. */
    async function placedOrder() {
      const kept = await page.evaluate(() => JSON.parse(sessionStorage.getItem('topup.lastOrder')));
      assert.ok(kept && kept.id && kept.access, `the page kept no order: ${JSON.stringify(kept)}`);
      assert.match(kept.access, /^[0-9a-f]{16,}$/);
      const res = await api(world.daemon, 'GET', `/portal/api/orders/${kept.id}?t=${kept.access}`);
      assert.equal(res.status, 200, res.text);
      return { ...res.body, access: kept.access };
    }

    test('register with the code the SMSC received', { timeout: TEST_MS }, async () => {
      await page.goto(url('/register'));
      await page.getByLabel('手机号码').fill(own);
      const code = await askForCode(own);
      await page.getByLabel('短信验证码').fill(code);
      await page.getByLabel('设置密码').fill(password);
      await shot(page, 'register');
      await page.getByRole('button', { name: '注册', exact: true }).click();
      await page.waitForURL(url('/'));
      await textOf(header(), new RegExp(`^${literally(masked(own))}$`));
      await eventually(async () => (await page.inputValue('#msisdn')) === own, 'the own number is not prefilled');
      await textOf(page.locator('#operator'), /^中国移动$/);
      await shot(page, 'recharge-logged-in');
    });

    test('log out, then log in with the password', { timeout: TEST_MS }, async () => {
      await logOut();
      await page.goto(url('/login'));
      await page.getByLabel('手机号码').fill(own);
      await page.getByLabel('密码', { exact: true }).fill(password);
      await shot(page, 'login');
      await page.getByRole('button', { name: '登录', exact: true }).click();
      await page.waitForURL(url('/'));
      await textOf(header(), /^138\*\*\*\*840\d$/);
    });

    test('recharge another number and pay in the sandbox: success, balance, SMS', { timeout: TEST_MS }, async () => {
      await page.goto(url('/'));
      await chooseNumber(other);
      // Every product of the operator is a button; the range product offers a custom amount.
      assert.ok(await page.locator('#products input').count() >= 5, 'too few amount buttons');
      await page.getByText('其他金额').click();
      const custom = page.getByLabel('输入金额（元）');
      await custom.fill('12.5');
      await custom.blur();
      await textOf(page.locator('#amount-error'), /¥10 至 ¥500/);
      await custom.fill('12');
      await textOf(page.locator('#confirm-line'), /^139\*\*\*\*940\d · 中国移动 · ¥12\.00$/);
      await page.getByText('¥50', { exact: true }).click();
      await textOf(page.locator('#confirm-line'), new RegExp(`^${literally(masked(other))} · 中国移动 · ¥50\\.00$`));
      assert.equal(await page.getByRole('radio', { name: /沙箱支付/ }).isChecked(), true);
      await shot(page, 'recharge');
      await pressPay('确认支付 ¥50.00');
      await page.waitForURL(/\/sandbox\/pay\//);
      paidOrder = await placedOrder();
      assert.equal(paidOrder.payment.provider, 'sandbox');
      assert.equal(paidOrder.status, 'awaiting_payment');
      await shot(page, 'sandbox');
      await page.getByRole('button', { name: /Pay/ }).click();
      await textOf(page.locator('#result'), /支付成功/);
      await page.locator('#back').click();
      await page.waitForURL(new RegExp(`/order/${paidOrder.id}\\?t=${paidOrder.access}$`));
      await textOf(page.locator('#result-title'), /^充值成功$/);
      const details = await page.locator('#details').innerText();
      assert.match(details, /当前余额\s+¥50\.00/);
      assert.match(details, /有效期至\s+\d{4}年\d{1,2}月\d{1,2}日/);
      assert.match(details, new RegExp(`充值号码\\s+${literally(masked(other))}`));
      assert.match(details, /支付流水号\s+\S+/);
      assert.equal(await page.getByRole('link', { name: '下载电子凭证（PDF）' }).isVisible(), true);
      await page.waitForTimeout(2500); // polling has stopped: the page stays as it is
      await shot(page, 'order-succeeded');

      await waitForSms(world.smsc, `+86${other}`, /已成功充值50\.00元，当前余额50\.00元/);
    });

    test('the account shows the order; its receipt PDF reads right and its QR code checks', { timeout: TEST_MS }, async () => {
      await page.goto(url('/account'));
      const row = page.locator('#history-rows tr').filter({ hasText: masked(other) });
      await row.waitFor();
      const rowText = await row.innerText();
      assert.match(rowText, /¥50\.00/);
      assert.match(rowText, /成功/);
      await textOf(page.locator('#numbers'), /本机号码/);
      await shot(page, 'account');

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        row.getByRole('link', { name: '凭证' }).click(),
      ]);
      const file = path.join(ARTIFACTS, `${device.name}-receipt.pdf`);
      await download.saveAs(file);
      const text = await pdfText(file);
      assert.ok(text.includes(String(paidOrder.id)), `the order id is not in the receipt:\n${text}`);
      assert.ok(text.includes(masked(other)), `the masked number is not in the receipt:\n${text}`);
      assert.match(text, /50\.00/);
      const order = (await api(world.daemon, 'GET', `/portal/api/orders/${paidOrder.id}?t=${paidOrder.access}`)).body;
      assert.ok(order.payment.trade_no && text.includes(order.payment.trade_no),
        `the payment reference ${order.payment?.trade_no} is not in the receipt:\n${text}`);

      const codes = await pdfQrCodes(file);
      assert.equal(codes.length, 1, `QR codes: ${codes}`);
      const check = new URL(codes[0]);
      assert.match(check.pathname, new RegExp(`^/r/${paidOrder.id}/[0-9a-f]{16}$`));
      await page.goto(url(check.pathname));
      await textOf(page.locator('#result-title'), /^凭证真实有效$/);
      const shown = await page.locator('#details').innerText();
      assert.ok(shown.includes(masked(other)) && /¥50\.00/.test(shown), shown);
      assert.ok(!shown.includes(other), 'the check page shows the whole number');
      await shot(page, 'check-genuine');
      await page.goto(url(`/r/${paidOrder.id}/0123456789abcdef`));
      await textOf(page.locator('#result-title'), /^无法验证此凭证$/);
      await shot(page, 'check-forged');
    });

    test('save another number with a name, recharge it from its chip, remove it', { timeout: TEST_MS }, async () => {
      await page.goto(url('/account'));
      await page.getByLabel('手机号码', { exact: true }).fill(other);
      await page.getByLabel('备注名（可选）').fill('妈妈');
      await page.getByRole('button', { name: '保存号码' }).click();
      await textOf(page.locator('#account-status'), /号码已保存/);
      const card = page.locator('#numbers li').filter({ hasText: '妈妈' });
      await card.waitFor();
      const cardText = await card.innerText();
      assert.ok(cardText.includes(masked(other)), cardText);
      assert.match(cardText, /中国移动/);
      assert.match(cardText, /¥50\.00/);
      assert.match(cardText, /有效期至 \d{4}年\d{1,2}月\d{1,2}日/);
      await shot(page, 'account-numbers');

      await page.goto(url('/'));
      await page.getByRole('button', { name: /妈妈/ }).click();
      await eventually(async () => (await page.inputValue('#msisdn')) === other, 'the chip did not fill the number');
      await textOf(page.locator('#operator'), /^中国移动$/);

      await page.goto(url('/account'));
      page.once('dialog', (dialog) => dialog.accept());
      await page.getByRole('button', { name: `删除号码 ${masked(other)}` }).click();
      await textOf(page.locator('#account-status'), /号码已删除/);
      await eventually(async () => (await page.locator('#numbers li').filter({ hasText: '妈妈' }).count()) === 0,
        'the removed number is still listed');
    });

    test('the recharge form works with the keyboard alone', { timeout: TEST_MS }, async () => {
      await page.goto(url('/'));
      await page.locator('#msisdn').focus();
      await page.keyboard.press('Control+A');
      await page.keyboard.type(`1590015940${n}`);
      await textOf(page.locator('#operator'), /^中国移动$/);
      for (let i = 0; i < 10 && (await page.evaluate(() => document.activeElement.name)) !== 'product'; i++) {
        await page.keyboard.press('Tab');
      }
      assert.equal(await page.evaluate(() => document.activeElement.name), 'product', 'Tab never reached the amounts');
      await page.keyboard.press('Space');
      await textOf(page.locator('#confirm-line'), /· ¥10\.00$/);
      await page.keyboard.press('ArrowRight');
      await textOf(page.locator('#confirm-line'), /· ¥20\.00$/);
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement.value), 'sandbox:checkout');
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'pay');
      await shot(page, 'recharge-keyboard');
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/sandbox\/pay\//);
    });

    test('pay through Alipay (the fake gateway) and come back to the result', { timeout: TEST_MS }, async () => {
      await page.goto(url('/'));
      await chooseNumber(alipayNumber);
      await page.getByText('¥30', { exact: true }).click();
      await page.getByText('支付宝', { exact: true }).click();
      await pressPay('确认支付 ¥30.00');
      await page.waitForURL((u) => u.href.startsWith(world.alipay.url));
      await textOf(page.locator('body'), /¥30\.00/);
      const outTradeNo = world.alipay.requests.at(-1).outTradeNo;
      const notified = await world.alipay.pay(outTradeNo);
      assert.deepEqual(notified, { status: 200, body: 'success' });
      // Back on the recharge page, it offers the unfinished order's result.
      await page.goBack();
      const order = await placedOrder();
      assert.equal(order.payment.provider, 'alipay');
      assert.equal(order.payment.out_trade_no, outTradeNo);
      await page.getByRole('link', { name: '查看订单结果' }).click();
      await page.waitForURL(new RegExp(`/order/${order.id}\\?t=`));
      await textOf(page.locator('#result-title'), /^充值成功$/);
      assert.match(await page.locator('#details').innerText(), /支付方式\s+支付宝/);
      await waitForSms(world.smsc, `+86${alipayNumber}`, /已成功充值30\.00元/);
    });

    test('a failed payment closes the order', { timeout: TEST_MS }, async () => {
      await page.goto(url('/'));
      await chooseNumber(failing);
      await page.getByText('¥20', { exact: true }).click();
      await pressPay('确认支付 ¥20.00');
      await page.waitForURL(/\/sandbox\/pay\//);
      const order = await placedOrder();
      await page.getByRole('button', { name: /Fail/ }).click();
      await textOf(page.locator('#result'), /支付失败/);
      await page.locator('#back').click();
      await page.waitForURL(new RegExp(`/order/${order.id}\\?t=`));
      await textOf(page.locator('#result-title'), /^订单已关闭$/);
      assert.equal(await page.getByRole('link', { name: '下载电子凭证（PDF）' }).isVisible(), false);
      await shot(page, 'order-closed');
    });

    test('wrong numbers are refused next to the number field', { timeout: TEST_MS }, async () => {
      await page.goto(url('/'));
      const field = page.getByLabel('手机号码', { exact: true });
      await field.fill('12345678901');
      await textOf(page.locator('#msisdn-error'), /暂不支持该号码所属的运营商/);
      assert.equal(await field.getAttribute('aria-invalid'), 'true');
      assert.equal(await page.locator('#amounts').isVisible(), false, 'amounts offered for a wrong number');
      await field.fill('23800138000');
      await textOf(page.locator('#msisdn-error'), /这不是手机号码/);
      await field.fill('1380013');
      await field.press('Enter');
      await textOf(page.locator('#msisdn-error'), /请输入完整的手机号码/);
      await shot(page, 'recharge-wrong-number');
      await page.goto(url('/order/999999?t=00'));
      await textOf(page.locator('#result-title'), /找不到这笔订单/);
      await shot(page, 'order-not-found');
    });

    test('the language switch: English everywhere, kept in a cookie, money per locale', { timeout: TEST_MS }, async (t) => {
      t.after(() => context.clearCookies({ name: 'lang' })); // the next tests read Chinese
      await page.goto(url('/'));
      await page.getByRole('button', { name: 'English' }).click();
      await textOf(page.locator('h1'), /^Mobile top-up$/);
      assert.equal(await page.locator('html').getAttribute('lang'), 'en');
      await chooseNumber(other, 'China Mobile', 'Mobile number');
      // The promotion (¥100 of credit for ¥98) comes first among the ¥100 buttons.
      await page.getByText('¥100', { exact: true }).first().click();
      await textOf(page.locator('#confirm-line'), /^139\*\*\*\*940\d · China Mobile · ¥100\.00$/);
      await textOf(page.locator('#confirm-details'), /^Credit ¥100\.00 · To pay ¥98\.00 · Validity \+30 days$/);
      await textOf(page.locator('#pay'), /^Pay ¥98\.00$/);
      await shot(page, 'recharge-en');
      const cookies = await context.cookies(world.front);
      assert.equal(cookies.find((c) => c.name === 'lang')?.value, 'en');
      await page.goto(url('/account'));
      await textOf(page.locator('h1'), /^My account$/);
      await textOf(page.locator('#history-rows'), /Successful/);
      await shot(page, 'account-en');
      await page.goto(url(`/order/${paidOrder.id}?t=${paidOrder.access}`));
      await textOf(page.locator('#result-title'), /^Recharge successful$/);
      assert.match(await page.locator('#details').innerText(), /Valid until\s+[A-Z][a-z]+ \d{1,2}, \d{4}/);
      await shot(page, 'order-en');
      await page.getByRole('button', { name: '中文' }).click();
      await textOf(page.locator('#result-title'), /^充值成功$/);
      assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
    });

    test('5 wrong passwords lock the password login; the SMS code still logs in', { timeout: TEST_MS }, async () => {
      await page.goto(url('/'));
      await logOut();
      await page.goto(url('/login'));
      await page.getByLabel('手机号码').fill(own);
      const passwordField = page.getByLabel('密码', { exact: true });
      for (let i = 1; i <= 5; i++) {
        await passwordField.fill(`wrong password ${i}`);
        const answer = page.waitForResponse((r) => r.url().endsWith('/portal/api/login'));
        await page.getByRole('button', { name: '登录', exact: true }).click();
        assert.equal((await answer).status(), 401, `wrong password ${i}`);
        await textOf(page.locator('#password-error'), /手机号码或密码不正确/);
      }
      await passwordField.fill(password);
      const locked = page.waitForResponse((r) => r.url().endsWith('/portal/api/login'));
      await page.getByRole('button', { name: '登录', exact: true }).click();
      assert.equal((await locked).status(), 429, 'the right password during the lockout');
      await textOf(page.locator('#form-status'), /密码登录已锁定 1[45] 分钟/);
      await shot(page, 'login-locked');

      await page.getByRole('tab', { name: '验证码登录' }).click();
      const code = await askForCode(own);
      await page.getByLabel('短信验证码').fill(code);
      await shot(page, 'login-code');
      await page.getByRole('button', { name: '登录', exact: true }).click();
      await page.waitForURL(url('/'));
      await textOf(header(), /^138\*\*\*\*840\d$/);
    });

    test('reset the password with an SMS code', { timeout: TEST_MS }, async () => {
      await logOut();
      await page.goto(url('/reset'));
      await page.getByLabel('手机号码').fill(own);
      const code = await askForCode(own);
      await page.getByLabel('短信验证码').fill(code);
      await page.getByLabel('新密码').fill('12345678');
      await page.getByRole('button', { name: '重置密码并登录' }).click();
      await textOf(page.locator('#password-error'), /不能全是数字/);
      await page.getByLabel('新密码').fill(newPassword);
      await shot(page, 'reset');
      await page.getByRole('button', { name: '重置密码并登录' }).click();
      await page.waitForURL(url('/account'));
      await textOf(header(), /^138\*\*\*\*840\d$/);
    });
  });
}

describe('the portal without a browser', () => {
  /** GET /portal/api/session: the CSRF cookie topupd sets. */
  async function csrfCookie() {
    const res = await fetch(`${world.daemon.base}/portal/api/session`);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('topup_csrf='));
    assert.ok(cookie, 'GET /portal/api/session set no topup_csrf cookie');
    assert.match(cookie, /SameSite=Lax/i);
    assert.doesNotMatch(cookie, /HttpOnly/i, 'the page script must be able to read topup_csrf');
    const value = cookie.split(';')[0].slice('topup_csrf='.length);
    assert.equal((await res.json()).csrf, value);
    return value;
  }

  const post = (pathname, headers, json) => api(world.daemon, 'POST', pathname, { headers, json });
  const otp = { msisdn: '13800138499', purpose: 'register' };

  test('a POST without the CSRF header, or with another value, is 403 csrf_failed', async () => {
    const token = await csrfCookie();
    const cookie = `topup_csrf=${token}`;
    assertProblem(await post('/portal/api/otp', { cookie }, otp), 403, 'csrf_failed', 'no header');
    assertProblem(await post('/portal/api/otp', { cookie, 'x-csrf-token': `${token.slice(1)}x` }, otp), 403,
      'csrf_failed', 'another value');
    assertProblem(await post('/portal/api/otp', { 'x-csrf-token': token }, otp), 403, 'csrf_failed', 'no cookie');
    assertProblem(await post('/portal/api/login', { cookie }, { msisdn: '13800138499', password: 'x' }), 403,
      'csrf_failed', 'login');
    assertProblem(await api(world.daemon, 'DELETE', '/portal/api/numbers/13800138499', { headers: { cookie } }), 403,
      'csrf_failed', 'DELETE');
    const accepted = await post('/portal/api/otp', { cookie, 'x-csrf-token': token }, otp);
    assert.equal(accepted.status, 202, `with the header: ${accepted.text}`);
  });

  test('pages carry the security headers; assets are cached with an ETag', async () => {
    for (const pathname of ['/', '/login', '/register', '/reset', '/account', '/order/1', '/r/1/0123456789abcdef']) {
      const res = await api(world.daemon, 'GET', pathname);
      assert.equal(res.status, 200, pathname);
      assert.match(res.contentType, /^text\/html/, pathname);
      assert.equal(res.header('content-security-policy'),
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'", pathname);
      assert.equal(res.header('x-frame-options'), 'DENY', pathname);
      assert.equal(res.header('referrer-policy'), 'same-origin', pathname);
      assert.equal(res.header('x-content-type-options'), 'nosniff', pathname);
      assert.equal(res.header('cache-control'), 'no-store', pathname);
      assert.doesNotMatch(res.text, /<script>|<style|\sstyle=|\son[a-z]+=/i, `${pathname}: inline code or style`);
    }
    for (const [asset, type] of [['app.css', /^text\/css/], ['i18n.js', /javascript/], ['app.js', /javascript/]]) {
      const res = await api(world.daemon, 'GET', `/assets/${asset}`);
      assert.equal(res.status, 200, asset);
      assert.match(res.contentType, type, asset);
      assert.equal(res.header('cache-control'), 'public, max-age=3600', asset);
      const etag = res.header('etag');
      assert.ok(etag, `${asset} has no ETag`);
      const again = await api(world.daemon, 'GET', `/assets/${asset}`, { headers: { 'if-none-match': etag } });
      assert.equal(again.status, 304, `${asset} with If-None-Match`);
    }
  });

  test('every text of the pages exists in both languages', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${world.front}/`);
      const missing = await page.evaluate(async () => {
        const pages = ['/', '/login', '/register', '/reset', '/account', '/order/1', '/r/1/1'];
        const scripts = ['app', 'recharge', 'auth', 'account', 'order', 'check'].map((name) => `/assets/${name}.js`);
        const read = (list) => Promise.all(list.map((p) => fetch(p).then((r) => r.text())));
        const keys = new Set();
        const add = (texts, pattern) => texts.forEach((text) => [...text.matchAll(pattern)].forEach((m) => keys.add(m[1])));
        add(await read(pages), /data-i18n(?:-[a-z-]+)?="([^"]+)"/g);
        add(await read(scripts), /\bt\('([a-z0-9_.]*[a-z0-9_])'\s*[,)]/g);
        // Texts chosen by a status or a code the server sends.
        ['awaiting_payment', 'paid', 'succeeded', 'failed', 'refunded', 'closed'].forEach((x) => keys.add(`status.${x}`));
        ['invalid_number', 'otp_wrong', 'invalid_credentials', 'csrf_failed', 'provider_unavailable']
          .forEach((code) => keys.add(`err.${code}`));
        const absent = [];
        for (const lang of ['zh-CN', 'en']) {
          window.I18n.setLanguage(lang);
          for (const key of keys) if (!window.I18n.has(key)) absent.push(`${lang}:${key}`);
        }
        return absent;
      });
      assert.deepEqual(missing, []);
    } finally {
      await page.close();
    }
  });
});
