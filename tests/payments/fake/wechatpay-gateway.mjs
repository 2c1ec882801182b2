// A fake WeChat Pay API v3 gateway on 127.0.0.1 for the tests: Native and H5 orders, query by
// out_trade_no, refunds and close, answering the way WeChat Pay does. It checks every request's
// WECHATPAY2-SHA256-RSA2048 Authorization with wechatpay-axios-plugin's primitives (the merchant
// public key, the message Formatter.request builds) and answers 401 SIGN_ERROR when it does not
// verify; it signs every answer, errors and the empty 204 included, with the platform key
// (Wechatpay-Timestamp/-Nonce/-Signature/-Serial over Formatter.response). pay() sends the
// TRANSACTION.SUCCESS notification, its resource encrypted with Aes.AesGcm and the APIv3 key.
//
//   const gw = await startWechatpayGateway({ merchantPublicKey, platformPrivateKey, apiv3Key,
//                                            platformSerial?, mchid?, appid?, notifyUrl? });
// Keys are KeyObjects or PEM text; apiv3Key is the 32-byte APIv3 key as text. notifyUrl is where
// pay() sends notifications of trades made with createTrade (orders carry their own notify_url).
//
// Besides the shape every fake shares (url, mode, delayMs, trades, requests, rejected, pay,
// notification, createTrade, close), tests may change how answers are signed:
//   gw.answerKey        the key answers are signed with (default: platformPrivateKey)
//   gw.answerSerial     the Wechatpay-Serial of answers (default: platformSerial)
//   gw.answerSkewS      seconds added to the Wechatpay-Timestamp of answers (default 0)
//   gw.refundStatus     the status a new refund gets: SUCCESS (default), PROCESSING, ABNORMAL,
//                       CLOSED
// and a trade's `tradeState` (e.g. 'USERPAYING', 'PAYERROR') overrides the trade_state a query
// reports for it.
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';

import wxpay from 'wechatpay-axios-plugin';

const { Aes, Formatter, Rsa } = wxpay;

const SCHEME = 'WECHATPAY2-SHA256-RSA2048';
const TOLERANCE_S = 300; // WeChat Pay refuses requests stamped further from its clock
const BODY_SIZE_MAX = 1024 * 1024;

const nowS = () => Math.floor(Date.now() / 1000);

/** Splits `WECHATPAY2-SHA256-RSA2048 k="v",k="v"` into its fields; null when malformed. */
function parseAuthorization(header) {
  if (typeof header !== 'string' || !header.startsWith(`${SCHEME} `)) return null;
  const fields = {};
  const rest = header.slice(SCHEME.length + 1).replace(/([a-z_]+)="([^"]*)"(,|$)/g, (_, k, v) => {
    fields[k] = fields[k] === undefined ? v : null; // a field given twice is not trusted
    return '';
  });
  return rest === '' ? fields : null;
}

/** Digits only, as WeChat Pay's transaction and refund ids are. */
function digits(count) {
  return Array.from(randomBytes(count), (b) => String(b % 10)).join('');
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > BODY_SIZE_MAX) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const isInteger = (v) => Number.isInteger(v);

export async function startWechatpayGateway(options) {
  const {
    merchantPublicKey,
    platformPrivateKey,
    platformSerial = 'PUB_KEY_ID_0119000091912025110500000000000001',
    apiv3Key,
    mchid = '1900009191',
    appid = 'wxd678efh567hg6787',
    notifyUrl: defaultNotifyUrl = null,
  } = options ?? {};
  for (const [name, value] of Object.entries({ merchantPublicKey, platformPrivateKey, apiv3Key })) {
    if (!value) throw new Error(`startWechatpayGateway: options.${name} is required`);
  }
  if (Buffer.byteLength(apiv3Key) !== 32) throw new Error('startWechatpayGateway: the APIv3 key is 32 bytes');

  const held = new Set(); // responses of 'timeout' mode, never answered
  const sockets = new Set();

  const gw = {
    url: '',
    mode: 'normal',
    delayMs: 0,
    trades: new Map(),
    requests: [],
    rejected: [],
    answerKey: platformPrivateKey,
    answerSerial: platformSerial,
    answerSkewS: 0,
    refundStatus: 'SUCCESS',
  };

  // ---- answers ----------------------------------------------------------------------------

  function signedHeaders(body) {
    const timestamp = nowS() + gw.answerSkewS;
    const nonce = Formatter.nonce(32);
    return {
      'Wechatpay-Timestamp': String(timestamp),
      'Wechatpay-Nonce': nonce,
      'Wechatpay-Signature': Rsa.sign(Formatter.response(timestamp, nonce, body), gw.answerKey),
      'Wechatpay-Serial': gw.answerSerial,
      'Wechatpay-Signature-Type': SCHEME,
      'Request-ID': randomUUID(),
    };
  }

  function answer(res, status, document) {
    const body = document === undefined ? '' : JSON.stringify(document);
    const headers = signedHeaders(body);
    if (body) headers['Content-Type'] = 'application/json; charset=utf-8';
    res.writeHead(status, headers);
    res.end(body);
  }

  const error = (res, status, code, message) => answer(res, status, { code, message });

  // ---- trades -----------------------------------------------------------------------------

  function newTrade(outTradeNo, fields) {
    const trade = {
      state: 'pending',
      amountMinor: 0,
      currency: 'CNY',
      tradeNo: `42000${digits(23)}`,
      notifyUrl: defaultNotifyUrl,
      refunds: [],
      appid,
      tradeType: 'NATIVE',
      description: '',
      payerClientIp: null,
      timeExpire: null,
      payUrl: null,
      successTime: null,
      tradeState: null,
      ...fields,
    };
    gw.trades.set(outTradeNo, trade);
    return trade;
  }

  function tradeState(trade) {
    if (trade.tradeState) return trade.tradeState;
    if (trade.state === 'closed') return 'CLOSED';
    if (trade.state === 'paid') return trade.refunds.length > 0 ? 'REFUND' : 'SUCCESS';
    return 'NOTPAY';
  }

  /** The transaction as queries and notifications describe it. */
  function transaction(outTradeNo, trade, overrides = {}) {
    const state = overrides.tradeState ?? tradeState(trade);
    const paid = state === 'SUCCESS' || state === 'REFUND';
    const amountMinor = overrides.amountMinor ?? trade.amountMinor;
    const currency = overrides.currency ?? trade.currency;
    const t = {
      appid: overrides.appId ?? trade.appid,
      mchid: overrides.mchid ?? mchid,
      out_trade_no: outTradeNo,
      trade_type: trade.tradeType,
      trade_state: state,
      trade_state_desc: { SUCCESS: '支付成功', REFUND: '转入退款', NOTPAY: '未支付', CLOSED: '已关闭' }[state] ?? state,
      attach: '',
      amount: { total: amountMinor, currency },
    };
    if (paid) {
      Object.assign(t, {
        transaction_id: overrides.tradeNo ?? trade.tradeNo,
        bank_type: 'OTHERS',
        success_time: trade.successTime ?? new Date().toISOString().replace(/\.\d+Z$/, '+00:00'),
        payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
      });
      t.amount = { total: amountMinor, payer_total: amountMinor, currency, payer_currency: currency };
    }
    return t;
  }

  // ---- operations -------------------------------------------------------------------------

  function checkOrder(order, h5) {
    const problems = [];
    if (order.appid !== appid) problems.push('appid');
    if (order.mchid !== mchid) problems.push('mchid');
    if (typeof order.description !== 'string' || order.description === '' || Buffer.byteLength(order.description) > 127) problems.push('description');
    if (typeof order.out_trade_no !== 'string' || !/^[0-9A-Za-z_\-|*]{1,32}$/.test(order.out_trade_no)) problems.push('out_trade_no');
    if (typeof order.notify_url !== 'string' || !/^https?:\/\//.test(order.notify_url)) problems.push('notify_url');
    if (order.time_expire !== undefined && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/.test(order.time_expire)) problems.push('time_expire');
    const amount = order.amount ?? {};
    if (!isInteger(amount.total) || amount.total <= 0) problems.push('amount.total');
    if (amount.currency !== 'CNY') problems.push('amount.currency');
    if (h5) {
      const scene = order.scene_info ?? {};
      if (typeof scene.payer_client_ip !== 'string' || scene.payer_client_ip === '') problems.push('scene_info.payer_client_ip');
      if (!scene.h5_info || typeof scene.h5_info.type !== 'string') problems.push('scene_info.h5_info.type');
    }
    return problems;
  }

  function createOrder(res, body, h5) {
    const order = JSON.parse(body);
    const problems = checkOrder(order, h5);
    if (problems.length) return error(res, 400, 'PARAM_ERROR', `参数错误: ${problems.join(', ')}`);
    const existing = gw.trades.get(order.out_trade_no);
    if (existing) {
      if (existing.state === 'paid') return error(res, 400, 'ORDERPAID', '该订单已支付');
      if (existing.state === 'closed') return error(res, 400, 'ORDER_CLOSED', '订单已关闭');
      if (existing.amountMinor !== order.amount.total || existing.description !== order.description) {
        return error(res, 403, 'OUT_TRADE_NO_USED', '商户订单号重复');
      }
      // The same order again: WeChat Pay answers the code it already gave.
      return answer(res, 200, h5 ? { h5_url: existing.payUrl } : { code_url: existing.payUrl });
    }
    const prepay = `wx${digits(12)}${randomBytes(8).toString('hex')}`;
    const payUrl = h5
      ? `https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=${prepay}&package=${digits(10)}`
      : `weixin://wxpay/bizpayurl?pr=${randomBytes(6).toString('base64url')}`;
    newTrade(order.out_trade_no, {
      amountMinor: order.amount.total,
      currency: order.amount.currency,
      notifyUrl: order.notify_url,
      tradeType: h5 ? 'MWEB' : 'NATIVE',
      description: order.description,
      payerClientIp: h5 ? order.scene_info.payer_client_ip : null,
      timeExpire: order.time_expire ?? null,
      payUrl,
    });
    return answer(res, 200, h5 ? { h5_url: payUrl } : { code_url: payUrl });
  }

  function queryOrder(res, outTradeNo, query) {
    if (query.get('mchid') !== mchid) return error(res, 400, 'PARAM_ERROR', '参数错误: mchid');
    const trade = gw.trades.get(outTradeNo);
    if (!trade) return error(res, 404, 'ORDER_NOT_EXIST', '订单不存在');
    return answer(res, 200, transaction(outTradeNo, trade));
  }

  function refund(res, body) {
    const r = JSON.parse(body);
    const amount = r.amount ?? {};
    if (typeof r.out_refund_no !== 'string' || !/^[0-9A-Za-z_\-|*@]{1,64}$/.test(r.out_refund_no) ||
        !isInteger(amount.refund) || amount.refund <= 0 || !isInteger(amount.total) || amount.currency !== 'CNY' ||
        (r.reason !== undefined && Buffer.byteLength(r.reason) > 80)) {
      return error(res, 400, 'PARAM_ERROR', '参数错误');
    }
    const trade = gw.trades.get(r.out_trade_no);
    if (!trade) return error(res, 404, 'RESOURCE_NOT_EXISTS', '订单不存在');
    const known = trade.refunds.find((x) => x.outRequestNo === r.out_refund_no);
    // The same out_refund_no again is the same refund: answered as it stands, never made twice.
    if (known) return answer(res, 200, refundDocument(r.out_trade_no, trade, known));
    if (trade.state !== 'paid') return error(res, 400, 'INVALID_REQUEST', '订单未支付');
    if (amount.total !== trade.amountMinor) return error(res, 400, 'INVALID_REQUEST', '您的请求参数与订单信息不一致');
    const refunded = trade.refunds.reduce((sum, x) => sum + x.amountMinor, 0);
    if (refunded + amount.refund > trade.amountMinor) return error(res, 400, 'INVALID_REQUEST', '申请退款金额超过订单可退金额');
    const record = {
      outRequestNo: r.out_refund_no,
      amountMinor: amount.refund,
      refundId: `50${digits(27)}`,
      status: gw.refundStatus,
      reason: r.reason ?? null,
      notifyUrl: r.notify_url ?? null,
      createTime: new Date().toISOString().replace(/\.\d+Z$/, '+00:00'),
    };
    trade.refunds.push(record);
    return answer(res, 200, refundDocument(r.out_trade_no, trade, record));
  }

  function refundDocument(outTradeNo, trade, record) {
    return {
      refund_id: record.refundId,
      out_refund_no: record.outRequestNo,
      transaction_id: trade.tradeNo,
      out_trade_no: outTradeNo,
      channel: 'ORIGINAL',
      user_received_account: '支付用户零钱',
      create_time: record.createTime,
      status: record.status,
      funds_account: 'AVAILABLE',
      amount: {
        total: trade.amountMinor,
        refund: record.amountMinor,
        payer_total: trade.amountMinor,
        payer_refund: record.amountMinor,
        settlement_refund: record.amountMinor,
        settlement_total: trade.amountMinor,
        discount_refund: 0,
        currency: trade.currency,
      },
    };
  }

  function closeOrder(res, outTradeNo, body) {
    const r = JSON.parse(body);
    if (r.mchid !== mchid) return error(res, 400, 'PARAM_ERROR', '参数错误: mchid');
    const trade = gw.trades.get(outTradeNo);
    if (!trade) return error(res, 404, 'ORDER_NOT_EXIST', '订单不存在');
    if (trade.state === 'paid') return error(res, 400, 'ORDERPAID', '订单已支付');
    trade.state = 'closed';
    return answer(res, 204);
  }

  // ---- one request ------------------------------------------------------------------------

  /** The reason the request's Authorization does not hold, or null. */
  function authorizationProblem(req, body) {
    const fields = parseAuthorization(req.headers.authorization);
    if (!fields) return `no ${SCHEME} Authorization`;
    for (const name of ['mchid', 'nonce_str', 'signature', 'timestamp', 'serial_no']) {
      if (!fields[name]) return `Authorization lacks ${name}`;
    }
    if (fields.mchid !== mchid) return 'mchid is not this merchant';
    if (!/^\d+$/.test(fields.timestamp) || Math.abs(Number(fields.timestamp) - nowS()) > TOLERANCE_S) return 'timestamp out of range';
    const message = Formatter.request(req.method, req.url, fields.timestamp, fields.nonce_str, body);
    return Rsa.verify(message, fields.signature, merchantPublicKey) ? null : 'signature does not verify';
  }

  /** Same shape check as WeChat Pay's: it refuses requests without these headers. */
  function headerProblem(req) {
    if (!/application\/json/.test(req.headers.accept ?? '')) return 'Accept';
    if (!req.headers['user-agent']) return 'User-Agent';
    if (req.method === 'POST' && !/application\/json/.test(req.headers['content-type'] ?? '')) return 'Content-Type';
    return null;
  }

  /** Which operation a request is, for gw.requests; null for a path WeChat Pay does not have. */
  function describe(req, body) {
    const url = new URL(req.url, 'http://fake');
    const path = url.pathname;
    const json = () => {
      try {
        return JSON.parse(body);
      } catch {
        return {};
      }
    };
    let m;
    if (req.method === 'POST' && (m = /^\/v3\/pay\/transactions\/(native|h5)$/.exec(path))) {
      const order = json();
      return { operation: 'create', method: m[1] === 'h5' ? 'h5' : 'qr', outTradeNo: order.out_trade_no, body: order };
    }
    if (req.method === 'GET' && (m = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)$/.exec(path))) {
      return { operation: 'query', outTradeNo: decodeURIComponent(m[1]), query: url.searchParams };
    }
    if (req.method === 'POST' && path === '/v3/refund/domestic/refunds') {
      const r = json();
      return { operation: 'refund', outTradeNo: r.out_trade_no, outRequestNo: r.out_refund_no, body: r };
    }
    if (req.method === 'POST' && (m = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)\/close$/.exec(path))) {
      return { operation: 'close', outTradeNo: decodeURIComponent(m[1]), body: json() };
    }
    return null;
  }

  function route(req, res, request, body) {
    if (!request) return error(res, 404, 'NOT_FOUND', `no such API: ${req.method} ${req.url}`);
    switch (request.operation) {
      case 'create':
        return createOrder(res, body, request.method === 'h5');
      case 'query':
        return queryOrder(res, request.outTradeNo, request.query);
      case 'refund':
        return refund(res, body);
      default:
        return closeOrder(res, request.outTradeNo, body);
    }
  }

  async function handle(req, res) {
    let body;
    try {
      body = await readBody(req);
    } catch {
      return;
    }
    const problem = authorizationProblem(req, body);
    if (problem) {
      gw.rejected.push({ method: req.method, url: req.url, reason: problem, authorization: req.headers.authorization ?? null });
      return error(res, 401, 'SIGN_ERROR', `签名错误: ${problem}`);
    }
    const request = describe(req, body);
    if (request) gw.requests.push({ ...request, httpMethod: req.method, url: req.url, headers: req.headers, rawBody: body });
    const missing = headerProblem(req);
    if (missing) return error(res, 400, 'INVALID_REQUEST', `HTTP 请求不符合微信支付 APIv3 接口规则: ${missing}`);
    if (gw.mode === 'timeout') {
      held.add(res);
      return;
    }
    if (gw.mode === 'slow' && gw.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, gw.delayMs));
    if (gw.mode === 'fail') return error(res, 500, 'SYSTEM_ERROR', '系统异常，请稍后重试');
    try {
      return route(req, res, request, body);
    } catch (e) {
      return error(res, 400, 'PARAM_ERROR', `参数错误: ${e.message}`);
    }
  }

  // ---- notifications ----------------------------------------------------------------------

  /** The TRANSACTION.SUCCESS notification for a trade, signed, without sending it. */
  gw.notification = (outTradeNo, overrides = {}) => {
    const trade = gw.trades.get(outTradeNo);
    if (!trade) throw new Error(`no trade ${outTradeNo}`);
    const resource = transaction(outTradeNo, trade, { tradeState: 'SUCCESS', ...overrides });
    const nonce = Formatter.nonce(12);
    const associatedData = 'transaction';
    const notification = {
      id: randomUUID(),
      create_time: new Date().toISOString().replace(/\.\d+Z$/, '+00:00'),
      resource_type: 'encrypt-resource',
      event_type: overrides.eventType ?? 'TRANSACTION.SUCCESS',
      summary: '支付成功',
      resource: {
        original_type: 'transaction',
        algorithm: 'AEAD_AES_256_GCM',
        ciphertext: Aes.AesGcm.encrypt(JSON.stringify(resource), apiv3Key, nonce, associatedData),
        associated_data: associatedData,
        nonce,
      },
    };
    const body = JSON.stringify(notification);
    const timestamp = nowS();
    const headerNonce = Formatter.nonce(32);
    return {
      headers: {
        'Content-Type': 'application/json',
        'Wechatpay-Timestamp': String(timestamp),
        'Wechatpay-Nonce': headerNonce,
        'Wechatpay-Signature': Rsa.sign(Formatter.response(timestamp, headerNonce, body), platformPrivateKey),
        'Wechatpay-Serial': platformSerial,
        'Wechatpay-Signature-Type': SCHEME,
      },
      body,
    };
  };

  /** Marks the trade paid and posts its notification to the notify_url its order carried. */
  gw.pay = async (outTradeNo, overrides = {}) => {
    const trade = gw.trades.get(outTradeNo);
    if (!trade) throw new Error(`no trade ${outTradeNo}`);
    if (!trade.notifyUrl) throw new Error(`trade ${outTradeNo} has no notify_url`);
    trade.state = 'paid';
    trade.successTime = new Date().toISOString().replace(/\.\d+Z$/, '+00:00');
    const { headers, body } = gw.notification(outTradeNo, overrides);
    const target = new URL(trade.notifyUrl);
    return new Promise((resolve, reject) => {
      const client = target.protocol === 'https:' ? https : http;
      const req = client.request(target, { method: 'POST', headers: { ...headers, 'Content-Length': Buffer.byteLength(body) } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  };

  /** A pending trade made at the provider directly (topup may not know it). */
  gw.createTrade = (outTradeNo, amountMinor, currency = 'CNY') =>
    newTrade(outTradeNo, { amountMinor, currency, description: 'created at the gateway' });

  // ---- server -----------------------------------------------------------------------------

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  gw.url = `http://127.0.0.1:${server.address().port}`;

  gw.close = () =>
    new Promise((resolve) => {
      for (const res of held) res.destroy();
      held.clear();
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });

  return gw;
}

// The name the other fakes' pattern (start<Provider>Gateway, provider "wechat") suggests.
export { startWechatpayGateway as startWechatGateway };
