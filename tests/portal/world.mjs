// Everything the browser tests of the web portal run against: the real topupd on a demo
// database, SMS over SMPP to the test SMSC (tests/sms/smsc.mjs, where SMS codes are read), the
// sandbox provider, the fake Alipay gateway of the payments tests, and Debian's Chromium driven
// by playwright-core.
//
// The browser reaches topupd through a transparent relay started before it (as a reverse proxy
// would be): the sandbox's config names the URL payers reach topupd at, and the relay's address
// is known before topupd's port is.
//
// Environment: TOPUP_BUILD (see tests/integration/harness.mjs), CHROMIUM (default
// /usr/bin/chromium).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';

import { chromium } from 'playwright-core';

import { REPO_ROOT, createWorkspace, run, sleep, startDaemon } from '../integration/harness.mjs';
import { startAlipayGateway } from '../payments/fake/alipay-gateway.mjs';
import { startRelay } from '../payments/flow-harness.mjs';
import { startSmsc } from '../sms/smsc.mjs';

export const ARTIFACTS = path.join(REPO_ROOT, 'tests', 'artifacts', 'portal');
export const VIEWPORTS = [
  { name: 'phone', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
  { name: 'desktop', viewport: { width: 1280, height: 800 }, isMobile: false, hasTouch: false, deviceScaleFactor: 1 },
];
const ALIPAY_APP_ID = '2021000000000001';

async function secretFile(ws, name, text) {
  const file = await ws.writeFile(name, text);
  await fsp.chmod(file, 0o600);
  return file;
}

const pem = (key, type) => key.export(type === 'private' ? { type: 'pkcs8', format: 'pem' } : { type: 'spki', format: 'pem' });

/**
 * Starts the SMSC, the relay, the fake Alipay gateway and topupd. Returns
 * { ws, daemon, smsc, alipay, front (the URL the browser uses), close() }.
 */
export async function startWorld() {
  const ws = await createWorkspace('portal-web');
  const smsc = await startSmsc({ systemId: 'topup', password: 'pw123' });
  const relay = await startRelay();
  const app = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const alipayKeys = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const alipay = await startAlipayGateway({
    appId: ALIPAY_APP_ID,
    appPublicKey: pem(app.publicKey, 'public'),
    alipayPrivateKey: pem(alipayKeys.privateKey, 'private'),
  });
  const settings = {
    'sms.transport': 'smpp',
    'sms.host': '127.0.0.1',
    'sms.port': smsc.port,
    'sms.system_id': 'topup',
    'sms.password': await secretFile(ws, 'smpp-password', 'pw123\n'),
    'sms.source_addr': '10086',
    'sms.enquire_link_s': 5,
    'sms.reconnect_max_s': 1,
    'sandbox.gateway': relay.url,
    'sandbox.webhook_secret': await secretFile(ws, 'sandbox-webhook', `whsec_${crypto.randomBytes(24).toString('hex')}\n`),
    'alipay.gateway': alipay.url,
    'alipay.app_id': ALIPAY_APP_ID,
    'alipay.private_key': await secretFile(ws, 'alipay-app-private.pem', pem(app.privateKey, 'private')),
    'alipay.public_key': await ws.writeFile('alipay-public.pem', pem(alipayKeys.publicKey, 'public')),
    'alipay.notify_url': `${relay.url}/v1/payments/alipay/notify`,
    'alipay.timeout_ms': 3000,
    'portal.key_file': await secretFile(ws, 'portal-key', `${crypto.randomBytes(32).toString('base64')}\n`),
    'payments.settle_interval_ms': 200,
    'payments.retry_base_ms': 200,
    'payments.retry_max_ms': 2000,
  };
  const config = await ws.writeFile('topupd.conf',
    `${Object.entries(settings).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`);
  const daemon = await startDaemon(ws.db, { args: ['--config', config] });
  relay.target = daemon.base;
  return {
    ws,
    daemon,
    smsc,
    alipay,
    front: relay.url,
    async close() {
      // A daemon that died during the tests says why in its log.
      if (daemon.exitInfo) {
        process.stderr.write(`# topupd exited during the tests (${JSON.stringify(daemon.exitInfo)}):\n` +
          `${daemon.log().slice(-4000)}\n`);
      }
      await daemon.stop();
      await relay.close();
      await alipay.close();
      await smsc.close();
      await ws.cleanup();
    },
  };
}

// ---------------------------------------------------------------- SMS at the SMSC

function decodeText(octets, dataCoding) {
  return dataCoding === 8 ? new TextDecoder('utf-16be').decode(octets) : octets.toString('latin1');
}

/** The messages the SMSC took for an E.164 number, concatenated parts joined, oldest first. */
export function messagesTo(smsc, e164) {
  const destination = e164.replace(/^\+/, '');
  const messages = [];
  const partial = new Map();
  for (const part of smsc.accepted().filter((s) => s.destination_addr === destination)) {
    if (!part.udh) {
      messages.push(decodeText(part.octets, part.data_coding));
      continue;
    }
    const held = partial.get(part.udh.reference) ?? [];
    held[part.udh.sequence - 1] = decodeText(part.octets.subarray(6), part.data_coding);
    partial.set(part.udh.reference, held);
    if (held.filter((x) => x !== undefined).length === part.udh.total) {
      messages.push(held.join(''));
      partial.delete(part.udh.reference);
    }
  }
  return messages;
}

/** Waits for a message to e164 after the first `seen` ones that matches pattern; returns its match. */
export async function waitForSms(smsc, e164, pattern, { seen = 0, timeoutMs = 15000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = messagesTo(smsc, e164).slice(seen).map((text) => pattern.exec(text)).find(Boolean);
    if (found) return found;
    if (Date.now() > deadline) {
      assert.fail(`no SMS matching ${pattern} reached ${e164}; it got: ${JSON.stringify(messagesTo(smsc, e164))}`);
    }
    await sleep(100);
  }
}

/** The SMS code in the newest code message to e164 after `seen` messages. */
export async function smsCode(smsc, e164, seen) {
  const match = await waitForSms(smsc, e164, /(?:验证码是|verification code is )(\d{6})/, { seen });
  return match[1];
}

// ---------------------------------------------------------------- the browser

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless'],
  });
}

/**
 * A fresh browser context at one of VIEWPORTS. Its pages' uncaught exceptions and Content
 * Security Policy reports are collected in context.problems: the pages must produce none.
 */
export async function newContext(browser, viewport, { locale = 'zh-CN' } = {}) {
  const context = await browser.newContext({
    viewport: viewport.viewport,
    isMobile: viewport.isMobile,
    hasTouch: viewport.hasTouch,
    deviceScaleFactor: viewport.deviceScaleFactor,
    locale,
    timezoneId: 'Asia/Shanghai',
    acceptDownloads: true,
  });
  context.setDefaultTimeout(15000);
  context.problems = [];
  context.on('page', (page) => watch(context, page));
  return context;
}

function watch(context, page) {
  page.on('pageerror', (error) => context.problems.push(`${page.url()}: uncaught ${error.message}`));
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to (execute|load|apply)/i.test(message.text())) {
      context.problems.push(`${page.url()}: ${message.text()}`);
    }
  });
}

/** Polls fn until it returns something truthy; fails with what() after timeoutMs. */
export async function eventually(fn, what, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) assert.fail(`${typeof what === 'function' ? await what() : what} (after ${timeoutMs} ms)`);
    await sleep(100);
  }
}

/** Waits until the element's text matches pattern; returns the text. */
export async function textOf(locator, pattern, timeoutMs = 15000) {
  let text = '';
  await eventually(async () => {
    text = ((await locator.count()) ? await locator.first().textContent() : '') ?? '';
    return pattern.test(text);
  }, () => `expected text matching ${pattern}, last saw ${JSON.stringify(text)}`, timeoutMs);
  return text;
}

/**
 * Saves a full-page screenshot as tests/artifacts/portal/NAME.png, after checking what every
 * page must hold: nothing wider than the screen, every form control labelled.
 */
export async function screenshot(page, name) {
  await fsp.mkdir(ARTIFACTS, { recursive: true });
  // A phone zooms out to fit a page wider than its screen: measure against the screen, not the
  // (then widened) layout viewport.
  const screenWidth = page.viewportSize().width;
  const layout = await page.evaluate(() => {
    const unlabelled = [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
      .filter((el) => el.offsetParent !== null || el.classList.contains('tile-input'))
      .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label'))
      .map((el) => el.id || el.name);
    return { scrollWidth: document.documentElement.scrollWidth, unlabelled };
  });
  assert.ok(layout.scrollWidth <= screenWidth,
    `${name}: the page is ${layout.scrollWidth} px wide on a ${screenWidth} px screen`);
  assert.deepEqual(layout.unlabelled, [], `${name}: form controls without a label`);
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

// ---------------------------------------------------------------- receipts

/** The text of a PDF, as pdftotext reads it. */
export async function pdfText(file) {
  const r = await run('pdftotext', ['-layout', file, '-']);
  assert.equal(r.code, 0, `pdftotext ${file}: ${r.stderr}`);
  return r.stdout;
}

/** The QR codes on a PDF's first page, as zbarimg decodes them from a 200 dpi rendering. */
export async function pdfQrCodes(file) {
  const prefix = file.replace(/\.pdf$/, '');
  const render = await run('pdftoppm', ['-png', '-r', '200', '-f', '1', '-l', '1', '-singlefile', file, prefix]);
  assert.equal(render.code, 0, `pdftoppm ${file}: ${render.stderr}`);
  const scan = await run('zbarimg', ['--raw', '-q', `${prefix}.png`]);
  assert.equal(scan.code, 0, `zbarimg found no code in ${prefix}.png: ${scan.stderr}`);
  return scan.stdout.split('\n').map((line) => line.trim()).filter(Boolean);
}
