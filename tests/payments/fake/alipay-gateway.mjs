// A fake Alipay open-platform gateway (gateway.do) on loopback, for driving topup's Alipay
// provider (src/payments/alipay_gateway.c) through its real protocol.
//
// What it checks the way Alipay does, with alipay-sdk where the SDK can:
//   - every request's signature, with the application's public key: the SDK's own verifier
//     (checkNotifySignV2, which checks the sorted name=value text of the parameters, with and
//     without sign_type) over the parameters of the query string and the form body together;
//     a failure answers 40002 isv.invalid-signature and is recorded in gw.rejected;
//   - app_id, sign_type RSA2, charset, version 1.0, format JSON, a timestamp in Beijing time
//     within 10 minutes of now, biz_content a JSON object.
// What it signs the way Alipay does: each answer's "<method>_response" object is signed as the
// exact text that is sent ('/' written as "\/", as Alipay writes it, so that a client that
// re-serialises instead of verifying the raw text fails), with the "Alipay" private key through
// the SDK's RSA-SHA256 signer; notifications are signed over their sorted parameters without
// sign and sign_type.
//
// Trade semantics follow Alipay's documentation for alipay.trade.precreate, pay, query, refund
// and close; page.pay and wap.pay come as a browser GET and get a tiny HTML page.
import { Buffer } from 'node:buffer';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { AlipaySdk } from 'alipay-sdk';

const HERE = path.dirname(fileURLToPath(import.meta.url));
// The SDK's RSA-SHA256 signer is not in its package exports; load the shipped module by path.
const sdkUtil = await import(
  pathToFileURL(path.join(HERE, '..', '..', 'node_modules', 'alipay-sdk', 'dist', 'esm', 'util.js'))
    .href
);

const BEIJING_OFFSET_MS = 8 * 3600 * 1000;
const TIMESTAMP_TOLERANCE_MS = 10 * 60 * 1000;
const BODY_SIZE_MAX = 256 * 1024;
const EXPONENTS = { JPY: 0, KRW: 0, KWD: 3, BHD: 3 }; // others: 2

const OPERATIONS = {
  'alipay.trade.page.pay': 'create',
  'alipay.trade.wap.pay': 'create',
  'alipay.trade.precreate': 'create',
  'alipay.trade.pay': 'create',
  'alipay.trade.query': 'query',
  'alipay.trade.refund': 'refund',
  'alipay.trade.close': 'close',
};
const REDIRECT_METHODS = new Set(['alipay.trade.page.pay', 'alipay.trade.wap.pay']);

/** "yyyy-MM-dd HH:mm:ss" in Beijing time. */
export function beijingTime(date = new Date()) {
  return new Date(date.getTime() + BEIJING_OFFSET_MS)
    .toISOString()
    .replace('T', ' ')
    .slice(0, 19);
}

function parseBeijingTime(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text ?? '');
  if (!m) return NaN;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  return Date.UTC(y, mo - 1, d, h, mi, s) - BEIJING_OFFSET_MS;
}

function exponentOf(currency) {
  return EXPONENTS[currency] ?? 2;
}

/** Minor units as the decimal Alipay writes ("100.00" for 10000 CNY). */
export function formatAmount(amountMinor, currency = 'CNY') {
  const exponent = exponentOf(currency);
  const text = String(amountMinor).padStart(exponent + 1, '0');
  return exponent === 0 ? text : `${text.slice(0, -exponent)}.${text.slice(-exponent)}`;
}

/** "100.00" -> 10000; NaN unless a plain positive decimal with at most the currency's places. */
export function parseAmount(text, currency = 'CNY') {
  const exponent = exponentOf(currency);
  const m = /^(\d{1,12})(?:\.(\d+))?$/.exec(text ?? '');
  if (!m || (m[2] ?? '').length > exponent) return NaN;
  return Number(m[1]) * 10 ** exponent + Number((m[2] ?? '').padEnd(exponent, '0') || 0);
}

/** The signing text of a notification: every non-empty parameter but sign and sign_type. */
function notificationSigningText(params) {
  return Object.keys(params)
    .filter((k) => k !== 'sign' && k !== 'sign_type' && params[k] !== '')
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
}

/**
 * Starts the fake gateway on 127.0.0.1 and an ephemeral port.
 * options:
 *   appId            the application's app_id (default '2021000000000001')
 *   appPublicKey     PEM: verifies the application's request signatures
 *   alipayPrivateKey PEM: signs answers and notifications, as Alipay's key does
 *   unsignedErrors   leave sign out of error answers (Alipay does on some); default false
 */
export async function startAlipayGateway(options) {
  const appId = options.appId ?? '2021000000000001';
  const verifier = new AlipaySdk({
    appId,
    // The SDK insists on a private key; only its verifier (with alipayPublicKey) is used here.
    privateKey: options.alipayPrivateKey.trim(),
    keyType: 'PKCS8',
    alipayPublicKey: options.appPublicKey.trim(),
    signType: 'RSA2',
  });
  const heldSockets = new Set();
  let tradeCounter = 0;
  let notifyCounter = 0;

  const gw = {
    url: '', // set once listening
    mode: 'normal',
    delayMs: 0,
    failStatus: 502,
    /** The key answers are signed with; set another to forge answers. */
    signingKey: options.alipayPrivateKey,
    unsignedErrors: options.unsignedErrors ?? false,
    trades: new Map(),
    requests: [],
    rejected: [],
  };

  function newTradeNo() {
    tradeCounter += 1;
    const day = beijingTime().slice(0, 10).replaceAll('-', '');
    return `${day}22001400${String(tradeCounter).padStart(12, '0')}`;
  }

  gw.createTrade = (outTradeNo, amountMinor, currency = 'CNY', extra = {}) => {
    const trade = {
      state: 'pending',
      amountMinor,
      currency,
      tradeNo: newTradeNo(),
      notifyUrl: '',
      refunds: [],
      subject: outTradeNo,
      createdAt: beijingTime(),
      ...extra,
    };
    gw.trades.set(outTradeNo, trade);
    return trade;
  };

  const refundedMinor = (trade) => trade.refunds.reduce((sum, r) => sum + r.amountMinor, 0);

  /** The signed body of an answer: {"<method>_response":{...},"sign":"..."}. */
  function signedAnswer(method, fields, { sign = true } = {}) {
    const key = `${method.replaceAll('.', '_')}_response`;
    // JSON has '/' only inside strings, so this writes every '/' as Alipay does: "\/".
    const text = JSON.stringify(fields).replaceAll('/', '\\/');
    if (!sign) return `{"${key}":${text}}`;
    const signature = sdkUtil.signatureV3(text, gw.signingKey);
    return `{"${key}":${text},"sign":"${signature}"}`;
  }

  const success = (fields) => ({ code: '10000', msg: 'Success', ...fields });
  const businessFailure = (subCode, subMsg, fields = {}) => ({
    code: '40004',
    msg: 'Business Failed',
    sub_code: subCode,
    sub_msg: subMsg,
    ...fields,
  });

  /** Alipay's answer to a request it could not take as sent. */
  const invalidArguments = (subCode, subMsg = '') => ({
    code: '40002',
    msg: 'Invalid Arguments',
    sub_code: subCode,
    ...(subMsg ? { sub_msg: subMsg } : {}),
  });

  function tradeFields(outTradeNo, trade) {
    return {
      trade_no: trade.tradeNo,
      out_trade_no: outTradeNo,
      buyer_logon_id: '159****5620',
      total_amount: formatAmount(trade.amountMinor, trade.currency),
    };
  }

  function precreate(biz, params) {
    const existing = gw.trades.get(biz.out_trade_no);
    if (existing?.state === 'paid')
      return businessFailure('ACQ.TRADE_HAS_SUCCESS', '交易已被支付');
    if (existing?.state === 'closed') return businessFailure('ACQ.TRADE_HAS_CLOSE', '交易已经关闭');
    const trade =
      existing ?? gw.createTrade(biz.out_trade_no, parseAmount(biz.total_amount), 'CNY');
    trade.notifyUrl = params.notify_url ?? trade.notifyUrl;
    trade.subject = biz.subject;
    trade.method = 'alipay.trade.precreate';
    return success({
      out_trade_no: biz.out_trade_no,
      qr_code: `https://qr.alipay.com/bax0${trade.tradeNo.slice(-12)}`,
    });
  }

  function markPaid(trade) {
    trade.state = 'paid';
    trade.paidAt = beijingTime();
  }

  function payByCode(biz, params) {
    if (biz.scene !== 'bar_code' || !biz.auth_code)
      return invalidArguments('isv.invalid-parameter');
    const existing = gw.trades.get(biz.out_trade_no);
    if (existing?.state === 'paid') return businessFailure('ACQ.TRADE_HAS_SUCCESS', '交易已被支付');
    // Codes starting 28 pay at once; 'wait' and codes starting 26 need the payer to confirm in
    // the app (pending until gw.pay); anything else is an invalid code.
    const confirming = biz.auth_code === 'wait' || biz.auth_code.startsWith('26');
    if (!biz.auth_code.startsWith('28') && !confirming)
      return businessFailure('ACQ.PAYMENT_AUTH_CODE_INVALID', '支付授权码无效');
    const trade =
      existing ?? gw.createTrade(biz.out_trade_no, parseAmount(biz.total_amount), 'CNY');
    trade.notifyUrl = params.notify_url ?? trade.notifyUrl;
    trade.subject = biz.subject;
    trade.method = 'alipay.trade.pay';
    if (confirming) {
      // The payer must confirm in the app; gw.pay() completes it later.
      return {
        code: '10003',
        msg: ' order success pay inprocess',
        ...tradeFields(biz.out_trade_no, trade),
      };
    }
    markPaid(trade);
    return success({
      ...tradeFields(biz.out_trade_no, trade),
      receipt_amount: formatAmount(trade.amountMinor),
      buyer_pay_amount: formatAmount(trade.amountMinor),
      gmt_payment: trade.paidAt,
      buyer_user_id: '2088102122524333',
      fund_bill_list: [{ fund_channel: 'ALIPAYACCOUNT', amount: formatAmount(trade.amountMinor) }],
    });
  }

  const TRADE_STATUS = { pending: 'WAIT_BUYER_PAY', paid: 'TRADE_SUCCESS', closed: 'TRADE_CLOSED' };

  function query(biz) {
    const trade = gw.trades.get(biz.out_trade_no);
    if (!trade) return businessFailure('ACQ.TRADE_NOT_EXIST', '交易不存在');
    const fields = { ...tradeFields(biz.out_trade_no, trade), trade_status: TRADE_STATUS[trade.state] };
    if (trade.currency !== 'CNY') fields.trans_currency = trade.currency;
    if (trade.state === 'paid') {
      fields.receipt_amount = formatAmount(trade.amountMinor, trade.currency);
      fields.send_pay_date = trade.paidAt;
    }
    return success(fields);
  }

  function refund(biz) {
    const trade = gw.trades.get(biz.out_trade_no);
    if (!trade) return businessFailure('ACQ.TRADE_NOT_EXIST', '交易不存在');
    const outRequestNo = biz.out_request_no ?? biz.out_trade_no;
    const amountMinor = parseAmount(biz.refund_amount);
    if (!(amountMinor > 0))
      return invalidArguments('isv.invalid-parameter');
    const previous = trade.refunds.find((r) => r.outRequestNo === outRequestNo);
    const answerFields = () => ({
      trade_no: trade.tradeNo,
      out_trade_no: biz.out_trade_no,
      buyer_logon_id: '159****5620',
      refund_fee: formatAmount(refundedMinor(trade)),
      gmt_refund_pay: previous?.at ?? beijingTime(),
    });
    if (previous) {
      // The same request number again: Alipay refunds nothing more and says so.
      if (previous.amountMinor !== amountMinor)
        return businessFailure('ACQ.DISCORDANT_REPEAT_REQUEST', '不一致的请求');
      return success({ ...answerFields(), fund_change: 'N' });
    }
    if (trade.state === 'pending' || (trade.state === 'closed' && refundedMinor(trade) === 0))
      return businessFailure('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
    if (refundedMinor(trade) + amountMinor > trade.amountMinor)
      return businessFailure('ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', '退款金额超限');
    trade.refunds.push({
      outRequestNo,
      amountMinor,
      refundId: `${trade.tradeNo}-${outRequestNo}`,
      reason: biz.refund_reason ?? '',
      at: beijingTime(),
    });
    // A fully refunded trade is TRADE_CLOSED at Alipay.
    if (refundedMinor(trade) === trade.amountMinor) trade.state = 'closed';
    return success({ ...answerFields(), fund_change: 'Y' });
  }

  function close(biz) {
    const trade = gw.trades.get(biz.out_trade_no);
    if (!trade) return businessFailure('ACQ.TRADE_NOT_EXIST', '交易不存在');
    if (trade.state === 'paid') return businessFailure('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
    trade.state = 'closed';
    return success({ trade_no: trade.tradeNo, out_trade_no: biz.out_trade_no });
  }

  const HANDLERS = {
    'alipay.trade.precreate': precreate,
    'alipay.trade.pay': payByCode,
    'alipay.trade.query': query,
    'alipay.trade.refund': refund,
    'alipay.trade.close': close,
  };

  /** What is wrong with the common parameters, as an Alipay error, or null. */
  function checkCommon(params) {
    if (!params.sign) {
      return { code: '40001', msg: 'Missing Required Arguments', sub_code: 'isv.missing-signature' };
    }
    if (params.sign_type !== 'RSA2') {
      return invalidArguments('isv.invalid-signature-type', '无效的签名类型');
    }
    if (params.charset && params.charset.toLowerCase() !== 'utf-8') {
      return invalidArguments('isv.invalid-charset', '字符集错误');
    }
    if (params.version !== '1.0') return invalidArguments('isv.invalid-version', '版本号错误');
    if (params.format && params.format.toUpperCase() !== 'JSON') {
      return invalidArguments('isv.invalid-format', '参数格式错误');
    }
    const at = parseBeijingTime(params.timestamp);
    if (!(Math.abs(at - Date.now()) <= TIMESTAMP_TOLERANCE_MS)) {
      return invalidArguments('isv.invalid-timestamp', '非法的时间戳参数');
    }
    return null;
  }

  /** The parameters of a request: the query string's and the form body's, no name twice. */
  function requestParams(req, body) {
    const url = new URL(req.url, 'http://127.0.0.1');
    const params = {};
    for (const source of [url.searchParams, new URLSearchParams(body)]) {
      for (const [name, value] of source) {
        if (Object.hasOwn(params, name)) return null;
        params[name] = value;
      }
    }
    return params;
  }

  function bizContentOf(params) {
    try {
      const biz = JSON.parse(params.biz_content ?? '');
      return biz && typeof biz === 'object' && !Array.isArray(biz) ? biz : null;
    } catch {
      return null;
    }
  }

  /** Verifies and answers one request; returns { status, contentType, body }. */
  function handle(req, body) {
    const params = requestParams(req, body);
    const method = params?.method ?? '';
    const operation = OPERATIONS[method];
    const respond = (fields, { sign }) => ({
      status: 200,
      contentType: 'text/html;charset=utf-8', // what Alipay labels its JSON answers with
      body: signedAnswer(operation ? method : 'error', fields, { sign }),
    });
    // Error answers are signed unless the test asks for Alipay's unsigned variant.
    const refuse = (fields) => respond(fields, { sign: !gw.unsignedErrors });
    if (!params) return respond(invalidArguments('isv.invalid-parameter'), { sign: false });
    const biz = bizContentOf(params);
    const outTradeNo = biz?.out_trade_no;
    const reject = (reason) => gw.rejected.push({ operation, method, outTradeNo, reason, params });
    if (params.app_id !== appId) {
      reject('app_id');
      // Alipay has no key to sign for an app it does not know.
      return respond(invalidArguments('isv.invalid-app-id', '无效的AppID参数'), { sign: false });
    }
    const commonError = checkCommon(params);
    if (commonError) {
      reject(commonError.sub_code);
      return refuse(commonError);
    }
    if (!verifier.checkNotifySignV2({ ...params })) {
      reject('signature');
      const hint = '验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配';
      return refuse(invalidArguments('isv.invalid-signature', hint));
    }
    if (!operation) return refuse(invalidArguments('isv.invalid-method', '不存在的方法名'));
    if (!biz || typeof biz.out_trade_no !== 'string' || biz.out_trade_no === '') {
      return refuse(invalidArguments('isv.invalid-biz-content'));
    }
    gw.requests.push({ operation, method, outTradeNo, params, bizContent: biz, httpMethod: req.method });
    if (REDIRECT_METHODS.has(method)) return redirectPage(method, biz, params);
    const answer = HANDLERS[method](biz, params);
    const isError = answer.code !== '10000' && answer.code !== '10003';
    return respond(answer, { sign: !(isError && gw.unsignedErrors) });
  }

  /** page.pay / wap.pay: the payer's browser arrives; Alipay shows its cashier page. */
  function redirectPage(method, biz, params) {
    const existing = gw.trades.get(biz.out_trade_no);
    const trade =
      existing ?? gw.createTrade(biz.out_trade_no, parseAmount(biz.total_amount), 'CNY');
    if (!existing || trade.state === 'pending') {
      trade.notifyUrl = params.notify_url ?? trade.notifyUrl;
      trade.returnUrl = params.return_url ?? '';
      trade.subject = biz.subject;
      trade.method = method;
      trade.productCode = biz.product_code;
      trade.timeExpire = biz.time_expire;
    }
    const escape = (s) => String(s).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
    return {
      status: 200,
      contentType: 'text/html;charset=utf-8',
      body:
        '<!doctype html><title>Alipay cashier</title>' +
        `<p>${escape(biz.subject)}</p><p>¥${escape(biz.total_amount)}</p><p>${escape(trade.state)}</p>`,
    };
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > BODY_SIZE_MAX) req.destroy();
      else chunks.push(chunk);
    });
    req.on('end', () => {
      if (url.pathname !== '/gateway.do' || (req.method !== 'GET' && req.method !== 'POST')) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      if (gw.mode === 'timeout') {
        heldSockets.add(req.socket); // never answered; destroyed by close()
        return;
      }
      const answer = () => {
        if (gw.mode === 'fail') {
          res.writeHead(gw.failStatus, { 'content-type': 'text/html' }).end('<h1>502 Bad Gateway</h1>');
          return;
        }
        const out = handle(req, Buffer.concat(chunks).toString('utf8'));
        res.writeHead(out.status, { 'content-type': out.contentType }).end(out.body);
      };
      if (gw.mode === 'slow' && gw.delayMs > 0) setTimeout(answer, gw.delayMs);
      else answer();
    });
  });
  server.on('connection', (socket) => {
    heldSockets.add(socket);
    socket.on('close', () => heldSockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  // What the config's alipay.gateway names: the gateway.do URL itself, as for Alipay's
  // https://openapi.alipay.com/gateway.do.
  gw.url = `http://127.0.0.1:${server.address().port}/gateway.do`;

  /**
   * The signed trade notification Alipay would POST for outTradeNo, without sending it.
   * overrides: amountMinor, currency (a non-CNY one is sent as trans_currency), appId, tradeNo,
   * tradeStatus, params (raw parameters to add or replace before signing), privateKey (sign with
   * another key: a forgery).
   */
  gw.notification = (outTradeNo, overrides = {}) => {
    const trade = gw.trades.get(outTradeNo);
    if (!trade) throw new Error(`no trade ${outTradeNo}`);
    const currency = overrides.currency ?? trade.currency;
    const amount = formatAmount(overrides.amountMinor ?? trade.amountMinor, currency);
    notifyCounter += 1;
    const now = beijingTime();
    const params = {
      notify_time: now,
      notify_type: 'trade_status_sync',
      notify_id: `${now.replace(/\D/g, '')}${String(notifyCounter).padStart(10, '0')}`,
      app_id: overrides.appId ?? appId,
      auth_app_id: overrides.appId ?? appId,
      charset: 'utf-8',
      version: '1.0',
      trade_no: overrides.tradeNo ?? trade.tradeNo,
      out_trade_no: outTradeNo,
      buyer_id: '2088102122524333',
      seller_id: '2088102000000001',
      subject: trade.subject ?? outTradeNo,
      total_amount: amount,
      receipt_amount: amount,
      buyer_pay_amount: amount,
      invoice_amount: amount,
      point_amount: '0.00',
      trade_status: overrides.tradeStatus ?? 'TRADE_SUCCESS',
      gmt_create: trade.createdAt ?? now,
      gmt_payment: trade.paidAt ?? now,
      fund_bill_list: JSON.stringify([{ amount, fundChannel: 'ALIPAYACCOUNT' }]),
      ...(currency !== 'CNY' ? { trans_currency: currency } : {}),
      ...(overrides.params ?? {}),
    };
    for (const name of Object.keys(params)) if (params[name] === undefined) delete params[name];
    params.sign_type = 'RSA2';
    params.sign = sdkUtil.signatureV3(
      notificationSigningText(params),
      overrides.privateKey ?? options.alipayPrivateKey,
    );
    return {
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: new URLSearchParams(params).toString(),
      params,
    };
  };

  /** POSTs a notification to the trade's notify_url; returns topup's { status, body }. */
  gw.send = async (outTradeNo, notification) => {
    const trade = gw.trades.get(outTradeNo);
    if (!trade?.notifyUrl) throw new Error(`trade ${outTradeNo} has no notify_url`);
    const response = await fetch(trade.notifyUrl, {
      method: 'POST',
      headers: notification.headers,
      body: notification.body,
    });
    return { status: response.status, body: await response.text() };
  };

  /** Marks the trade paid and sends its TRADE_SUCCESS notification. */
  gw.pay = async (outTradeNo, overrides = {}) => {
    const trade = gw.trades.get(outTradeNo);
    if (!trade) throw new Error(`no trade ${outTradeNo}`);
    if (trade.state !== 'paid') markPaid(trade);
    return gw.send(outTradeNo, gw.notification(outTradeNo, overrides));
  };

  gw.close = async () => {
    for (const socket of heldSockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };

  return gw;
}
