// A fake card checkout gateway on 127.0.0.1 for the tests, speaking the part of Stripe's API topup
// uses, in Stripe's shapes: Checkout Sessions (create, retrieve, list, expire) and Refunds, with
// form bodies in Stripe's bracket notation ("line_items[0][price_data][currency]=cny").
//   - Every request must carry the secret key (Authorization: Bearer, or Basic with the key as
//     the user, as Stripe accepts); anything else is answered 401 and recorded in gw.rejected.
//   - A POST with an Idempotency-Key is carried out once: the same key again with the same
//     parameters is answered with the saved answer (Idempotent-Replayed: true), with other
//     parameters 400 idempotency_error, as Stripe does. Answers to requests that failed
//     validation are not saved (Stripe saves only once an endpoint began executing).
//   - Unknown parameters are refused (400 "Received unknown parameter"), as Stripe does, so a
//     misspelt key cannot pass unnoticed; expires_at must be 30 minutes to 24 hours ahead.
//   - Stripe does not sign API answers (TLS authenticates them), so neither does the fake.
// pay() completes a session and POSTs checkout.session.completed to the webhook URL, signed by the
// stripe package's webhooks.generateTestHeaderString: the SDK is the oracle for the signature.
// The same package's API client can be pointed at the fake, which shows its answers have the
// shapes Stripe's own client takes (tests/payments/card-gateway.test.mjs does).
//
//   const gw = await startCardGateway({ apiKey, webhookSecret, webhookUrl });
//
// Besides the shape every fake shares (url, mode, delayMs, trades, requests, rejected, pay,
// notification, createTrade, close):
//   gw.webhookUrl     where events go (settable after start): like Stripe's webhook endpoints it
//                     belongs to the account, not to a session, so the current value is used
//   gw.sessions       Map session id -> the session object as the API shows it
//   gw.refunds        Map refund id -> the refund object
//   gw.refundStatus   the status a new refund gets: 'succeeded' (default), 'pending', 'failed'
//   gw.expire(outTradeNo)  expires the trade's session and POSTs checkout.session.expired
//   gw.notification(outTradeNo, { type, amountMinor, currency, tradeNo, paymentStatus,
//                                  clientReferenceId, timestamp, secret })
//                     any checkout.session.* event for the trade, signed (type defaults to
//                     checkout.session.completed, shown as paid); the overrides change only the
//                     event, except that pay() keeps a tradeNo as the payment intent's id
// In 'slow' mode a request is carried out at once and answered after delayMs: a client that gave
// up meanwhile has lost an answer to something that happened, which is what idempotency keys are
// for. 'timeout' holds the request unanswered and carries nothing out; 'fail' answers 500
// api_error without carrying anything out.
import { randomBytes } from 'node:crypto';
import http from 'node:http';

import Stripe from 'stripe';

const BODY_SIZE_MAX = 1024 * 1024;
const EXPIRY_MIN_S = 30 * 60; // Stripe: expires_at 30 minutes to 24 hours after creation
const EXPIRY_MAX_S = 24 * 60 * 60;
const API_VERSION = '2024-06-20';
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

const nowS = () => Math.floor(Date.now() / 1000);
const stripeId = (prefix, bytes = 24) => `${prefix}${randomBytes(bytes).toString('base64url').replace(/[-_]/g, 'x')}`;

// The stripe package only signs here (generateTestHeaderString makes no request); its API key is
// never used.
const signer = new Stripe('sk_test_fake_gateway_signer_only');

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

/**
 * Parses a form body or query in Stripe's bracket notation into nested objects; arrays for
 * numeric indices. Brackets may come encoded (%5B %5D) or not. Throws on a malformed key.
 */
export function parseBracketForm(text) {
  const root = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(rawKey);
    if (!m) throw new Error(`malformed parameter name ${rawKey}`);
    const path = [m[1], ...Array.from(m[2].matchAll(/\[([^[\]]*)\]/g), (x) => x[1])];
    let node = root;
    for (let i = 0; i < path.length; i++) {
      const name = path[i];
      if (i === path.length - 1) {
        node[name] = value;
        break;
      }
      if (node[name] === undefined) node[name] = /^\d+$/.test(path[i + 1]) ? [] : {};
      if (typeof node[name] !== 'object') throw new Error(`parameter ${path.slice(0, i + 1).join('.')} is both a value and an object`);
      node = node[name];
    }
  }
  return root;
}

/** JSON with sorted keys: two parameter sets are the same when these strings are. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

class ApiError extends Error {
  constructor(status, error, saved = false) {
    super(error.message);
    this.status = status;
    this.error = error;
    this.saved = saved; // whether Stripe would keep this answer under the idempotency key
  }
}

const invalid = (message, param, code) =>
  new ApiError(400, { type: 'invalid_request_error', message, ...(param ? { param } : {}), ...(code ? { code } : {}) });
const missing = (kind, id, param, status = 404) =>
  new ApiError(status, { type: 'invalid_request_error', code: 'resource_missing', message: `No such ${kind}: '${id}'`, param });

function checkKnown(params, allowed) {
  for (const name of Object.keys(params)) {
    if (!allowed.includes(name)) throw invalid(`Received unknown parameter: ${name}`, name, 'parameter_unknown');
  }
}

function checkMetadata(metadata, param) {
  if (metadata === undefined) return {};
  if (typeof metadata !== 'object' || Array.isArray(metadata)) throw invalid('Invalid hash', param);
  const keys = Object.keys(metadata);
  if (keys.length > 50) throw invalid('Metadata can have at most 50 keys', param);
  for (const k of keys) {
    if (typeof metadata[k] !== 'string') throw invalid('Invalid metadata value', `${param}[${k}]`);
    if (k.length > 40 || metadata[k].length > 500) throw invalid('Metadata keys are at most 40 characters, values 500', `${param}[${k}]`);
  }
  return { ...metadata };
}

const positiveInteger = (text) => typeof text === 'string' && /^[1-9]\d{0,15}$/.test(text);
const httpUrl = (text) => typeof text === 'string' && /^https?:\/\/[^\s]+$/.test(text);

export async function startCardGateway(options) {
  const { apiKey, webhookSecret } = options ?? {};
  if (!apiKey) throw new Error('startCardGateway: options.apiKey is required');
  if (!webhookSecret) throw new Error('startCardGateway: options.webhookSecret is required');

  const held = new Set(); // responses of 'timeout' mode, never answered
  const sockets = new Set();
  const saved = new Map(); // idempotency key -> { signature, status, body }
  const intents = new Map(); // payment intent id -> { amount, currency, refunded, sessionId }
  let sequence = 0; // creation order, for the list's newest-first order within one second

  const gw = {
    url: '',
    mode: 'normal',
    delayMs: 0,
    webhookUrl: options.webhookUrl ?? null,
    trades: new Map(),
    sessions: new Map(),
    refunds: new Map(),
    requests: [],
    rejected: [],
    refundStatus: 'succeeded',
  };

  // ---- sessions ---------------------------------------------------------------------------

  /** A session whose expires_at has passed expires, as Stripe's do. */
  function current(session) {
    if (session.status === 'open' && session.expires_at <= nowS()) expireSession(session);
    return session;
  }

  function expireSession(session) {
    session.status = 'expired';
    const trade = gw.trades.get(session.client_reference_id);
    if (trade && trade.sessionId === session.id) trade.state = 'closed';
  }

  function newSession(params) {
    const item = params.line_items[0];
    const currency = item.price_data.currency;
    const amount = params.line_items.reduce((sum, x) => sum + Number(x.price_data.unit_amount) * Number(x.quantity), 0);
    const id = stripeId('cs_test_a1');
    const session = {
      id,
      object: 'checkout.session',
      after_expiration: null,
      allow_promotion_codes: null,
      amount_subtotal: amount,
      amount_total: amount,
      cancel_url: params.cancel_url ?? null,
      client_reference_id: params.client_reference_id ?? null,
      created: nowS(),
      currency,
      customer: null,
      customer_details: null,
      customer_email: null,
      expires_at: params.expires_at !== undefined ? Number(params.expires_at) : nowS() + EXPIRY_MAX_S,
      livemode: false,
      locale: null,
      metadata: checkMetadata(params.metadata, 'metadata'),
      mode: 'payment',
      payment_intent: null,
      payment_method_types: ['card'],
      payment_status: 'unpaid',
      status: 'open',
      success_url: params.success_url,
      ui_mode: 'hosted',
      url: `${gw.url}/c/pay/${id}`,
    };
    Object.defineProperty(session, 'sequence', { value: ++sequence, enumerable: false });
    Object.defineProperty(session, 'intentMetadata', { value: checkMetadata(params.payment_intent_data?.metadata, 'payment_intent_data[metadata]'), enumerable: false });
    gw.sessions.set(id, session);
    const reference = session.client_reference_id ?? session.metadata.out_trade_no;
    if (reference) {
      gw.trades.set(reference, {
        state: 'pending',
        amountMinor: amount,
        currency: currency.toUpperCase(),
        // The payment intent the session will have once paid (Stripe makes it then).
        tradeNo: stripeId('pi_3', 18),
        notifyUrl: gw.webhookUrl,
        refunds: [],
        sessionId: id,
      });
    }
    return session;
  }

  function checkLineItems(items) {
    if (!Array.isArray(items) || items.length === 0) throw invalid('Missing required param: line_items.', 'line_items');
    let currency = null;
    items.forEach((item, i) => {
      const p = `line_items[${i}]`;
      const price = item?.price_data;
      checkKnown(item, ['price_data', 'quantity']);
      if (!price) throw invalid(`You must specify either price or price_data for ${p}`, `${p}[price_data]`);
      checkKnown(price, ['currency', 'unit_amount', 'product_data', 'tax_behavior']);
      if (!/^[a-z]{3}$/.test(price.currency ?? '')) throw invalid('Invalid currency: use a lower-case ISO code', `${p}[price_data][currency]`);
      if (!positiveInteger(price.unit_amount)) throw invalid('Invalid integer', `${p}[price_data][unit_amount]`);
      if (THREE_DECIMAL.has(price.currency) && Number(price.unit_amount) % 10 !== 0) {
        throw invalid('Three-decimal currency amounts must be a multiple of 10', `${p}[price_data][unit_amount]`, 'invalid_charge_amount_no_decimal_compatible');
      }
      checkKnown(price.product_data ?? {}, ['name', 'description']);
      if (!price.product_data?.name) throw invalid('Missing required param: product_data[name].', `${p}[price_data][product_data][name]`);
      if (!positiveInteger(item.quantity)) throw invalid('Missing required param: quantity.', `${p}[quantity]`);
      if (currency && currency !== price.currency) throw invalid('All line items must have the same currency', `${p}[price_data][currency]`);
      currency = price.currency;
    });
  }

  function createSession(params) {
    checkKnown(params, ['mode', 'client_reference_id', 'metadata', 'line_items', 'success_url', 'cancel_url', 'expires_at', 'payment_intent_data', 'customer_email', 'locale', 'expand']);
    if (params.mode !== 'payment') throw invalid('Missing required param: mode (this fake knows payment only).', 'mode');
    checkLineItems(params.line_items);
    if (!httpUrl(params.success_url)) throw invalid('Not a valid URL', 'success_url');
    if (params.cancel_url !== undefined && !httpUrl(params.cancel_url)) throw invalid('Not a valid URL', 'cancel_url');
    if (params.client_reference_id !== undefined && (params.client_reference_id === '' || params.client_reference_id.length > 200)) {
      throw invalid('client_reference_id must be 1 to 200 characters', 'client_reference_id');
    }
    if (params.payment_intent_data !== undefined) checkKnown(params.payment_intent_data, ['metadata', 'description']);
    if (params.expires_at !== undefined) {
      if (!positiveInteger(params.expires_at)) throw invalid('Invalid integer', 'expires_at');
      const ahead = Number(params.expires_at) - nowS();
      if (ahead < EXPIRY_MIN_S) throw invalid('The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.', 'expires_at');
      if (ahead > EXPIRY_MAX_S) throw invalid('The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.', 'expires_at');
    }
    checkMetadata(params.metadata, 'metadata');
    return { status: 200, body: newSession(params) };
  }

  function retrieveSession(id) {
    const session = gw.sessions.get(id);
    if (!session) throw missing('checkout.session', id, 'session');
    return { status: 200, body: current(session) };
  }

  function listSessions(query) {
    checkKnown(query, ['limit', 'starting_after', 'ending_before', 'payment_intent', 'status', 'created', 'expand']);
    const limit = query.limit === undefined ? 10 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw invalid('Limit must be between 1 and 100', 'limit');
    let all = [...gw.sessions.values()].map(current).sort((a, b) => b.created - a.created || b.sequence - a.sequence);
    if (query.payment_intent) all = all.filter((s) => s.payment_intent === query.payment_intent);
    if (query.status) all = all.filter((s) => s.status === query.status);
    let start = 0;
    if (query.starting_after) {
      const at = all.findIndex((s) => s.id === query.starting_after);
      if (at < 0) throw missing('checkout.session', query.starting_after, 'starting_after', 400);
      start = at + 1;
    }
    const data = all.slice(start, start + limit);
    return { status: 200, body: { object: 'list', data, has_more: start + limit < all.length, url: '/v1/checkout/sessions' } };
  }

  function expireById(id) {
    const session = gw.sessions.get(id);
    if (!session) throw missing('checkout.session', id, 'session');
    if (current(session).status !== 'open') {
      throw new ApiError(400, {
        type: 'invalid_request_error',
        message: `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${session.status}".`,
      }, true);
    }
    expireSession(session);
    return { status: 200, body: session };
  }

  // ---- refunds ----------------------------------------------------------------------------

  function createRefund(params) {
    checkKnown(params, ['payment_intent', 'charge', 'amount', 'metadata', 'reason', 'expand']);
    if (!params.payment_intent) throw invalid('Missing required param: payment_intent.', 'payment_intent');
    if (params.amount !== undefined && !positiveInteger(params.amount)) throw invalid('Invalid integer', 'amount');
    if (params.reason !== undefined && !['duplicate', 'fraudulent', 'requested_by_customer'].includes(params.reason)) {
      throw invalid('Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer', 'reason');
    }
    const metadata = checkMetadata(params.metadata, 'metadata');
    const intent = intents.get(params.payment_intent);
    if (!intent) throw missing('payment_intent', params.payment_intent, 'payment_intent', 400);
    const left = intent.amount - intent.refunded;
    if (left === 0) {
      throw new ApiError(400, { type: 'invalid_request_error', code: 'charge_already_refunded', message: `Charge ${intent.charge} has already been refunded.` }, true);
    }
    const amount = params.amount === undefined ? left : Number(params.amount);
    if (amount > left) {
      throw new ApiError(400, {
        type: 'invalid_request_error',
        code: 'amount_too_large',
        message: `Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`,
        param: 'amount',
      }, true);
    }
    intent.refunded += amount;
    const refund = {
      id: stripeId('re_3', 18),
      object: 'refund',
      amount,
      balance_transaction: null,
      charge: intent.charge,
      created: nowS(),
      currency: intent.currency,
      metadata,
      payment_intent: params.payment_intent,
      reason: params.reason ?? null,
      receipt_number: null,
      source_transfer_reversal: null,
      status: gw.refundStatus,
      transfer_reversal: null,
    };
    gw.refunds.set(refund.id, refund);
    const session = gw.sessions.get(intent.sessionId);
    const trade = session && gw.trades.get(session.client_reference_id);
    if (trade) trade.refunds.push({ outRequestNo: metadata.out_request_no ?? null, amountMinor: amount, refundId: refund.id });
    return { status: 200, body: refund };
  }

  // ---- one request ------------------------------------------------------------------------

  /** The secret key the request carries (Bearer, or Basic with the key as user), or null. */
  function keyOf(req) {
    const header = req.headers.authorization ?? '';
    let m = /^Bearer (\S+)$/.exec(header);
    if (m) return m[1];
    m = /^Basic (\S+)$/.exec(header);
    if (m) return Buffer.from(m[1], 'base64').toString('utf8').replace(/:.*$/, '');
    return null;
  }

  function route(method, path, params) {
    let m;
    if (method === 'POST' && path === '/v1/checkout/sessions') {
      return { operation: 'create', run: () => createSession(params), outTradeNo: params.client_reference_id };
    }
    if (method === 'GET' && path === '/v1/checkout/sessions') return { operation: 'list', run: () => listSessions(params) };
    if (method === 'GET' && (m = /^\/v1\/checkout\/sessions\/([A-Za-z0-9_]+)$/.exec(path))) {
      const id = m[1];
      return { operation: 'query', sessionId: id, outTradeNo: gw.sessions.get(id)?.client_reference_id, run: () => retrieveSession(id) };
    }
    if (method === 'POST' && (m = /^\/v1\/checkout\/sessions\/([A-Za-z0-9_]+)\/expire$/.exec(path))) {
      const id = m[1];
      return { operation: 'close', sessionId: id, outTradeNo: gw.sessions.get(id)?.client_reference_id, run: () => expireById(id) };
    }
    if (method === 'POST' && path === '/v1/refunds') {
      return { operation: 'refund', outTradeNo: params.metadata?.out_trade_no, outRequestNo: params.metadata?.out_request_no, run: () => createRefund(params) };
    }
    return null;
  }

  function answer(res, status, body, extra = {}) {
    const text = JSON.stringify(body, null, 2);
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Request-Id': stripeId('req_', 10),
      'Stripe-Version': API_VERSION,
      ...extra,
    });
    res.end(text);
  }

  /** Carries out a request once per idempotency key; the answer to send. */
  function execute(req, target, params) {
    const key = req.method === 'POST' ? req.headers['idempotency-key'] : undefined;
    const signature = canonical({ method: req.method, path: target.path, params });
    if (key !== undefined) {
      const known = saved.get(key);
      if (known && known.signature !== signature) {
        return {
          status: 400,
          body: { error: { type: 'idempotency_error', message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.` } },
        };
      }
      if (known) return { status: known.status, body: known.body, headers: { 'Idempotent-Replayed': 'true' } };
    }
    let result;
    let keep = true;
    try {
      result = target.run();
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      result = { status: e.status, body: { error: e.error } };
      keep = e.saved;
    }
    // A copy: the saved answer is what was answered then, whatever happens to the object later.
    if (key !== undefined && keep) saved.set(key, { signature, status: result.status, body: JSON.parse(JSON.stringify(result.body)) });
    return result;
  }

  async function handle(req, res) {
    let body;
    try {
      body = await readBody(req);
    } catch {
      return;
    }
    const url = new URL(req.url, 'http://fake');
    const key = keyOf(req);
    if (key !== apiKey) {
      gw.rejected.push({ method: req.method, url: req.url, reason: key ? 'wrong API key' : 'no API key', authorization: req.headers.authorization ?? null });
      const shown = key ? `${key.slice(0, 8)}****${key.slice(-4)}` : null;
      return answer(res, 401, {
        error: {
          type: 'invalid_request_error',
          message: shown ? `Invalid API Key provided: ${shown}` : 'You did not provide an API key.',
        },
      }, { 'WWW-Authenticate': 'Basic realm="Stripe"' });
    }
    let params;
    try {
      params = parseBracketForm(req.method === 'GET' ? url.search.slice(1) : body);
    } catch (e) {
      return answer(res, 400, { error: { type: 'invalid_request_error', message: e.message } });
    }
    if (req.method === 'POST' && body && !/application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')) {
      return answer(res, 400, { error: { type: 'invalid_request_error', message: 'Invalid request: the body must be application/x-www-form-urlencoded' } });
    }
    const target = route(req.method, url.pathname, params);
    if (!target) {
      return answer(res, 404, { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${req.method}: ${url.pathname}).` } });
    }
    target.path = url.pathname;
    gw.requests.push({
      operation: target.operation,
      outTradeNo: target.outTradeNo ?? null,
      outRequestNo: target.outRequestNo ?? null,
      sessionId: target.sessionId ?? null,
      idempotencyKey: req.headers['idempotency-key'] ?? null,
      stripeVersion: req.headers['stripe-version'] ?? null,
      method: req.method,
      path: url.pathname,
      params,
    });
    if (gw.mode === 'timeout') {
      held.add(res);
      return;
    }
    if (gw.mode === 'fail') return answer(res, 500, { error: { type: 'api_error', message: 'An unknown error occurred' } });
    const result = execute(req, target, params);
    if (gw.mode === 'slow' && gw.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, gw.delayMs));
    // The client may have given up meanwhile: the answer is lost, what was done stays done.
    if (res.destroyed || res.socket?.destroyed) return;
    return answer(res, result.status, result.body, result.headers);
  }

  // ---- events -----------------------------------------------------------------------------

  /** The session as an event of this type shows it. */
  function eventSession(session, trade, type, overrides) {
    const view = JSON.parse(JSON.stringify(current(session)));
    if (type === 'checkout.session.completed' || type === 'checkout.session.async_payment_succeeded') {
      Object.assign(view, { status: 'complete', payment_status: overrides.paymentStatus ?? 'paid', payment_intent: overrides.tradeNo ?? trade.tradeNo });
    } else if (type === 'checkout.session.expired') {
      Object.assign(view, { status: 'expired', payment_status: 'unpaid', payment_intent: null });
    }
    if (overrides.amountMinor !== undefined) Object.assign(view, { amount_total: overrides.amountMinor, amount_subtotal: overrides.amountMinor });
    if (overrides.currency !== undefined) view.currency = overrides.currency.toLowerCase();
    if (overrides.clientReferenceId !== undefined) view.client_reference_id = overrides.clientReferenceId;
    return view;
  }

  function tradeAndSession(outTradeNo) {
    const trade = gw.trades.get(outTradeNo);
    if (!trade) throw new Error(`no trade ${outTradeNo}`);
    return { trade, session: gw.sessions.get(trade.sessionId) };
  }

  /** A signed event for the trade's session, without sending it (nothing changes). */
  gw.notification = (outTradeNo, overrides = {}) => {
    const { trade, session } = tradeAndSession(outTradeNo);
    const type = overrides.type ?? 'checkout.session.completed';
    const event = {
      id: stripeId('evt_1', 18),
      object: 'event',
      api_version: API_VERSION,
      created: nowS(),
      data: { object: eventSession(session, trade, type, overrides) },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    };
    // Stripe sends events pretty-printed; the signature is over these exact bytes.
    const body = JSON.stringify(event, null, 2);
    const header = signer.webhooks.generateTestHeaderString({
      payload: body,
      secret: overrides.secret ?? webhookSecret,
      ...(overrides.timestamp !== undefined ? { timestamp: overrides.timestamp } : {}),
    });
    return {
      headers: {
        'Content-Type': 'application/json; charset=utf-8',
        'Stripe-Signature': header,
        'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      },
      body,
    };
  };

  function post(target, { headers, body }) {
    if (!target) throw new Error('no webhook URL: pass options.webhookUrl or set gw.webhookUrl');
    return new Promise((resolve, reject) => {
      const req = http.request(new URL(target), { method: 'POST', headers: { ...headers, 'Content-Length': Buffer.byteLength(body) } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Completes the trade's session as paid and POSTs checkout.session.completed. */
  gw.pay = async (outTradeNo, overrides = {}) => {
    const { trade, session } = tradeAndSession(outTradeNo);
    if (current(session).status !== 'open') throw new Error(`session of ${outTradeNo} is ${session.status}, not open`);
    if (overrides.tradeNo !== undefined) trade.tradeNo = overrides.tradeNo;
    Object.assign(session, { status: 'complete', payment_status: 'paid', payment_intent: trade.tradeNo });
    intents.set(trade.tradeNo, { amount: session.amount_total, currency: session.currency, refunded: 0, sessionId: session.id, charge: stripeId('ch_3', 18) });
    trade.state = 'paid';
    const { tradeNo: _unused, ...eventOverrides } = overrides;
    return post(gw.webhookUrl ?? trade.notifyUrl, gw.notification(outTradeNo, eventOverrides));
  };

  /** Expires the trade's session and POSTs checkout.session.expired. */
  gw.expire = async (outTradeNo) => {
    const { trade, session } = tradeAndSession(outTradeNo);
    if (current(session).status === 'open') expireSession(session);
    return post(gw.webhookUrl ?? trade.notifyUrl, gw.notification(outTradeNo, { type: 'checkout.session.expired' }));
  };

  /** An open session made at the provider directly (topup may not know it). */
  gw.createTrade = (outTradeNo, amountMinor, currency = 'CNY') => {
    newSession({
      mode: 'payment',
      client_reference_id: outTradeNo,
      metadata: { out_trade_no: outTradeNo },
      line_items: [{ price_data: { currency: currency.toLowerCase(), unit_amount: String(amountMinor), product_data: { name: 'created at the gateway' } }, quantity: '1' }],
      success_url: 'https://example.com/back',
    });
    return gw.trades.get(outTradeNo);
  };

  // ---- server -----------------------------------------------------------------------------

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) answer(res, 500, { error: { type: 'api_error', message: `fake gateway: ${e.message}` } });
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
