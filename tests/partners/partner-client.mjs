// An independent partner client for topup's partner API (docs/partners.md), and a callback
// receiver that checks topup's callbacks the way a merchant would.
//
// The signing here is written from the document alone, with node:crypto: the lower-case hex
// HMAC-SHA256, keyed with the merchant's secret, of
//
//     METHOD \n PATH?QUERY \n TIMESTAMP \n NONCE \n hex(SHA-256(BODY))
//
// Every request can override what it signs and what it sends (timestamp, nonce, secret, merchant,
// signed path or body, headers left out, source address) so that the refusal tests can build each
// wrong request on purpose.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';

export const HOST = '127.0.0.1';
export const NONCE_RE = /^[0-9A-Za-z_-]{8,64}$/;
export const SIGNATURE_RE = /^[0-9a-f]{64}$/;

export const sha256Hex = (body) => crypto.createHash('sha256').update(body ?? '').digest('hex');
export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A fresh nonce: 12 random bytes as 24 hex characters. */
export const newNonce = () => crypto.randomBytes(12).toString('hex');

/** The text a partner signature covers. body: a string or a Buffer (an empty body is ''). */
export function signingText(method, pathAndQuery, timestamp, nonce, body) {
  return [method, pathAndQuery, String(timestamp), nonce, sha256Hex(body ?? '')].join('\n');
}

/** The lower-case hex HMAC-SHA256 of text with secret. */
export const hmacHex = (secret, text) => crypto.createHmac('sha256', secret).update(text).digest('hex');

/** The signature of one request. */
export function signRequest(secret, method, pathAndQuery, timestamp, nonce, body) {
  return hmacHex(secret, signingText(method, pathAndQuery, timestamp, nonce, body));
}

/** Compares two hex signatures in constant time (false when either is malformed). */
export function signatureEqual(expected, given) {
  if (typeof given !== 'string' || !SIGNATURE_RE.test(given)) return false;
  return crypto.timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(given, 'hex'));
}

// ---------------------------------------------------------------- responses

function wrap(statusCode, headers, buffer) {
  const text = buffer.toString('utf8');
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const header = (name) => {
    const v = headers[name.toLowerCase()];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : String(v);
  };
  // body and contentType as in tests/integration/harness.mjs, so its assertProblem/assertJson apply.
  return { status: statusCode, headers, header, contentType: header('content-type') ?? '', text, raw: buffer, json, body: json };
}

/** One HTTP request on a fresh connection; resolves to the wrapped response. */
export function httpRequest({ port, host = HOST, method, path, headers = {}, body, localAddress, timeoutMs = 20000 }) {
  return new Promise((resolve, reject) => {
    const h = {};
    for (const [k, v] of Object.entries(headers)) if (v !== undefined && v !== null) h[k] = v;
    if (body !== undefined) h['content-length'] = Buffer.byteLength(body);
    const req = http.request({ host, port, method, path, headers: h, agent: false, localAddress, timeout: timeoutMs });
    let settled = false;
    const done = (f, v) => {
      if (!settled) {
        settled = true;
        f(v);
      }
    };
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => done(reject, e));
    req.on('response', (res) => {
      const parts = [];
      res.on('data', (b) => parts.push(b));
      res.on('error', (e) => done(reject, e));
      res.on('end', () => done(resolve, wrap(res.statusCode, res.headers, Buffer.concat(parts))));
    });
    req.end(body);
  });
}

/** Short description of a response for assertion messages. */
export function show(res) {
  const t = res.text.length > 600 ? `${res.text.slice(0, 600)}...` : res.text;
  return `HTTP ${res.status} [${res.contentType}] ${t}`;
}

// ---------------------------------------------------------------- the client

/**
 * A merchant's client. daemon: anything with a port (topupd from the harness). merchant, secret:
 * the merchant id and the secret `topup merchant add` printed.
 */
export class PartnerClient {
  constructor(daemon, merchant, secret, { localAddress } = {}) {
    this.daemon = daemon;
    this.merchant = merchant;
    this.secret = secret;
    this.localAddress = localAddress;
  }

  /**
   * A signed request. body: an object (serialised), a string or a Buffer (sent as is).
   * opts overrides what is signed or sent:
   *   timestamp, nonce, secret, merchant   the values signed and sent in the headers
   *   signMethod, signPath, signBody        sign these instead of what is sent (tampering)
   *   signature                             send this signature instead
   *   omit                                  header names to leave out ('x-topup-nonce', ...)
   *   headers                               extra headers (a value of null drops one)
   *   localAddress                          the source address of the connection
   * Resolves to the response plus { sent: {timestamp, nonce, signature, body} }.
   */
  async request(method, path, body, opts = {}) {
    let payload;
    if (body === undefined || body === null) payload = undefined;
    else if (typeof body === 'string' || Buffer.isBuffer(body)) payload = body;
    else payload = JSON.stringify(body);
    const timestamp = opts.timestamp ?? nowSeconds();
    const nonce = opts.nonce ?? newNonce();
    const secret = opts.secret ?? this.secret;
    const merchant = opts.merchant ?? this.merchant;
    const signature =
      opts.signature ??
      signRequest(secret, opts.signMethod ?? method, opts.signPath ?? path, timestamp, nonce,
        opts.signBody ?? payload ?? '');
    const headers = {
      'x-topup-merchant': merchant,
      'x-topup-timestamp': String(timestamp),
      'x-topup-nonce': nonce,
      'x-topup-signature': signature,
    };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    for (const name of opts.omit ?? []) delete headers[name.toLowerCase()];
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      if (v === null) delete headers[k.toLowerCase()];
      else headers[k.toLowerCase()] = v;
    }
    const res = await httpRequest({
      port: this.daemon.port,
      method,
      path,
      headers,
      body: payload,
      localAddress: opts.localAddress ?? this.localAddress,
      timeoutMs: opts.timeoutMs,
    });
    res.sent = { timestamp, nonce, signature, body: payload };
    return res;
  }

  postOrder(order, opts) {
    return this.request('POST', '/v1/partner/orders', order, opts);
  }

  /**
   * POSTs an order, again with a fresh nonce while topupd answers 503 busy (its write queue is
   * full); every busy answer must carry Retry-After. Returns the last response.
   */
  async postOrderRetryBusy(order, opts = {}, attempts = 30) {
    for (let i = 0; ; i++) {
      const res = await this.postOrder(order, opts);
      if (res.status !== 503 || res.json?.code !== 'busy' || i + 1 >= attempts) return res;
      assert.match(res.header('retry-after') ?? '', /^\d+$/, `503 busy without Retry-After: ${show(res)}`);
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
    }
  }

  getOrder(merchantOrderId, opts) {
    return this.request('GET', `/v1/partner/orders/${encodeURIComponent(merchantOrderId)}`, undefined, opts);
  }

  balance(opts) {
    return this.request('GET', '/v1/partner/balance', undefined, opts);
  }

  operators(opts) {
    return this.request('GET', '/v1/partner/operators', undefined, opts);
  }

  statements(date, opts) {
    return this.request('GET', `/v1/partner/statements?date=${date}`, undefined, opts);
  }

  /** The float in minor units (GET /v1/partner/balance must answer 200). */
  async floatMinor() {
    const res = await this.balance();
    assert.equal(res.status, 200, `balance of ${this.merchant}: ${show(res)}`);
    return res.json.float_minor;
  }
}

// ---------------------------------------------------------------- callback receiver

/**
 * A merchant's callback endpoint on 127.0.0.1:0. secrets: { merchantId: secret }. Every delivery
 * is recorded with the result of checking its signature (over the request's own path?query, with
 * the secret of the merchant its X-Topup-Merchant names):
 *   { at, method, path, headers, raw (Buffer), text, json, merchant, verified, why, answered }
 * mode: 'ok' answers 200; '500' answers 500; 'slow' answers 200 after delayMs; setMode(m, count,
 * delayMs) switches for the next count deliveries only. down() closes the port (connections
 * refused), up() listens on it again.
 */
export async function startCallbackReceiver(secrets) {
  const deliveries = [];
  let mode = 'ok';
  let modeCount = Infinity;
  let slowMs = 0;
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (b) => parts.push(b));
    req.on('end', () => {
      const raw = Buffer.concat(parts);
      const d = check(req, raw, secrets);
      let answer = mode;
      if (modeCount !== Infinity) {
        modeCount -= 1;
        if (modeCount <= 0) {
          mode = 'ok';
          modeCount = Infinity;
        }
      }
      d.answered = answer === '500' ? 500 : 200;
      deliveries.push(d);
      const reply = () => {
        if (res.destroyed) return;
        res.writeHead(d.answered, { 'content-type': 'text/plain' });
        res.end(answer === '500' ? 'try later' : 'ok');
      };
      if (answer === 'slow') setTimeout(reply, slowMs);
      else reply();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((r) => server.listen(0, HOST, r));
  const { port } = server.address();
  let listening = true;
  return {
    port,
    deliveries,
    /** The URL of a path on this receiver, e.g. url('/cb?shop=7'). */
    url: (p = '/callback') => `http://${HOST}:${port}${p}`,
    setMode(m, count = Infinity, delayMs = 0) {
      mode = m;
      modeCount = count;
      slowMs = delayMs;
    },
    async down() {
      if (!listening) return;
      listening = false;
      await new Promise((r) => {
        server.close(() => r());
        for (const s of sockets) s.destroy();
      });
    },
    async up() {
      if (listening) return;
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, HOST, () => {
          server.off('error', reject);
          resolve();
        });
      });
      listening = true;
    },
    async close() {
      await this.down();
    },
  };
}

function check(req, raw, secrets) {
  const d = {
    at: Date.now(),
    method: req.method,
    path: req.url,
    headers: req.headers,
    raw,
    text: raw.toString('utf8'),
    json: undefined,
    merchant: req.headers['x-topup-merchant'],
    verified: false,
    why: '',
  };
  try {
    d.json = JSON.parse(d.text);
  } catch {
    d.why = 'body is not JSON; ';
  }
  const ts = req.headers['x-topup-timestamp'];
  const nonce = req.headers['x-topup-nonce'];
  const sig = req.headers['x-topup-signature'];
  const secret = secrets[d.merchant];
  if (secret === undefined) d.why += `unknown merchant ${d.merchant}`;
  else if (!ts || !/^\d+$/.test(ts)) d.why += `bad timestamp ${ts}`;
  else if (Math.abs(Number(ts) - nowSeconds()) > 300) d.why += `stale timestamp ${ts}`;
  else if (!nonce || !NONCE_RE.test(nonce)) d.why += `bad nonce ${nonce}`;
  else if (!signatureEqual(signRequest(secret, req.method, req.url, ts, nonce, raw), sig)) d.why += 'wrong signature';
  else d.verified = d.json !== undefined;
  return d;
}
