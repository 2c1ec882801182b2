// A fake external operator behind topup's http connector, written from docs/partners.md
// ("Operators behind an HTTP connector"), on 127.0.0.1:0:
//
//   POST {base}/recharges             {"order_id", "msisdn", "amount_minor", "currency", "product"}
//   GET  {base}/recharges/{order_id}  the status of an order
//
// Each request must carry X-Topup-Timestamp, X-Topup-Nonce and X-Topup-Signature: the partner
// scheme keyed with the operator's secret over the request's own path. A request that fails the
// check gets 401 and is recorded as unverified. Answers are 200 {"order_id", "operator_order_id",
// "status", "reason"} (or a 404 for an order never taken) with X-Operator-Signature, the HMAC of
//
//     ANSWER \n PATH \n TIMESTAMP \n NONCE \n hex(SHA-256(ANSWER BODY))
//
// with the request's timestamp and nonce. Orders are remembered by topup's order_id: a second
// POST of the same order_id is the same recharge and is answered with its current state.
//
// What the operator does with an order is chosen per order by the test (behaviour(request) returns
// a spec, see below); the whole server can also be made to answer 500 to everything, or be closed.
import crypto from 'node:crypto';
import http from 'node:http';

import { HOST, hmacHex, NONCE_RE, nowSeconds, sha256Hex, signatureEqual, signRequest } from './partner-client.mjs';

/** The text an operator's answer signature covers. */
export function answerSigningText(path, timestamp, nonce, answerBody) {
  return ['ANSWER', path, String(timestamp), nonce, sha256Hex(answerBody)].join('\n');
}

/**
 * Behaviour specs (final is 'succeeded' or 'failed', the outcome the operator remembers):
 *   {kind: 'succeed'}                       answers succeeded at once
 *   {kind: 'fail', reason}                  answers failed at once
 *   {kind: 'timeout', final, holdMs}        never answers the POST (drops the connection after
 *                                           holdMs); status queries give final
 *   {kind: 'late', final, delayMs, pendingQueries}
 *                                           answers the POST with final after delayMs (after
 *                                           topup's timeout); the first pendingQueries status
 *                                           queries answer pending, the later ones final
 *   {kind: 'twice', final, delayMs}         answers the POST with final after delayMs (around
 *                                           topup's timeout) and every status query with final:
 *                                           topup may hear the outcome twice
 *   {kind: 'pending', final, pendingQueries}
 *                                           answers pending, then final from the
 *                                           (pendingQueries + 1)th status query on
 *   {kind: 'error500', final}               answers the POST 500 (unsigned); status queries give
 *                                           final, or a signed 404 when final is 'notfound'
 *   {kind: 'badsig', final, claim}          answers the POST with status claim under a wrong
 *                                           signature; status queries give final, signed
 *   {kind: 'unsigned', final, claim}        the same without any X-Operator-Signature
 */
export async function startFakeOperator({ secret, basePath = '/api', behaviour = () => ({ kind: 'succeed' }) }) {
  const requests = [];
  const orders = new Map();
  const sockets = new Set();
  const timers = new Set();
  let serverMode = 'ok'; // 'ok' | 'error500'
  let operatorSeq = 0;

  const later = (ms, fn) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  function answer(res, rec, status, bodyObject, { signing = 'good' } = {}) {
    const body = JSON.stringify(bodyObject);
    const headers = { 'content-type': 'application/json' };
    const text = answerSigningText(rec.path, rec.timestamp, rec.nonce, body);
    if (signing === 'good') headers['x-operator-signature'] = hmacHex(secret, text);
    if (signing === 'wrong') headers['x-operator-signature'] = hmacHex(crypto.randomBytes(32).toString('hex'), text);
    rec.answered = { status, body: bodyObject, signing, at: Date.now(), connected: !res.destroyed && !res.socket?.destroyed };
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(status, headers);
    res.end(body);
  }

  const state = (o, status) => ({
    order_id: o.order_id,
    operator_order_id: o.operator_order_id,
    status,
    reason: status === 'failed' ? o.reason : '',
  });

  /** The answer to a status query (or a repeated POST) for order_id, as [status, body, ok]. */
  function currentState(orderId) {
    const o = orders.get(orderId);
    if (!o || o.final === 'notfound') return [404, { order_id: orderId, status: 'not_found', reason: 'no such order' }];
    o.queries += 1;
    if (o.final === null || o.queries <= (o.spec.pendingQueries ?? 0)) return [200, state(o, 'pending')];
    return [200, state(o, o.final)];
  }

  function onSubmit(req, res, rec) {
    const body = rec.json;
    const id = body && (typeof body.order_id === 'string' || typeof body.order_id === 'number') ? String(body.order_id) : null;
    rec.orderId = id;
    if (!id) return answer(res, rec, 400, { status: 'failed', reason: 'no order_id' });
    if (serverMode === 'error500') {
      if (!orders.has(id)) remember(id, body, { kind: 'succeed' });
      return answer500(res, rec);
    }
    if (orders.has(id)) {
      rec.repeat = true;
      const [status, b] = currentState(id);
      return answer(res, rec, status, b);
    }
    const spec = behaviour(body) ?? { kind: 'succeed' };
    const o = remember(id, body, spec);
    switch (spec.kind) {
      case 'succeed':
        return answer(res, rec, 200, state(o, 'succeeded'));
      case 'fail':
        return answer(res, rec, 200, state(o, 'failed'));
      case 'pending':
        return answer(res, rec, 200, state(o, 'pending'));
      case 'timeout':
        rec.held = true;
        return later(spec.holdMs ?? 5000, () => res.destroy());
      case 'late':
      case 'twice':
        return later(spec.delayMs ?? 1000, () => answer(res, rec, 200, state(o, o.final)));
      case 'error500':
        return answer500(res, rec);
      case 'badsig':
        return answer(res, rec, 200, state(o, spec.claim ?? 'failed'), { signing: 'wrong' });
      case 'unsigned':
        return answer(res, rec, 200, state(o, spec.claim ?? 'failed'), { signing: 'none' });
      default:
        throw new Error(`unknown behaviour ${spec.kind}`);
    }
  }

  function answer500(res, rec) {
    rec.answered = { status: 500, at: Date.now() };
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('internal error');
  }

  function remember(id, body, spec) {
    operatorSeq += 1;
    const finalByKind = { succeed: 'succeeded', fail: 'failed' };
    const o = {
      order_id: id,
      request: body,
      spec,
      final: finalByKind[spec.kind] ?? spec.final ?? 'succeeded',
      reason: spec.reason ?? 'number barred by the operator',
      operator_order_id: `OP-${process.pid}-${operatorSeq}`,
      queries: 0,
    };
    orders.set(id, o);
    return o;
  }

  function onStatus(req, res, rec, id) {
    rec.orderId = id;
    if (serverMode === 'error500') return answer500(res, rec);
    const [status, b] = currentState(id);
    return answer(res, rec, status, b);
  }

  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (b) => parts.push(b));
    req.on('end', () => {
      const raw = Buffer.concat(parts);
      const rec = {
        at: Date.now(),
        method: req.method,
        path: req.url,
        headers: req.headers,
        text: raw.toString('utf8'),
        json: undefined,
        timestamp: req.headers['x-topup-timestamp'],
        nonce: req.headers['x-topup-nonce'],
        verified: false,
        why: '',
        kind: 'other',
        orderId: null,
      };
      try {
        rec.json = raw.length ? JSON.parse(rec.text) : undefined;
      } catch {
        rec.why = 'body is not JSON; ';
      }
      requests.push(rec);
      const sig = req.headers['x-topup-signature'];
      if (!rec.timestamp || !/^\d+$/.test(rec.timestamp) || Math.abs(Number(rec.timestamp) - nowSeconds()) > 300) rec.why += `bad timestamp ${rec.timestamp}`;
      else if (!rec.nonce || !NONCE_RE.test(rec.nonce)) rec.why += `bad nonce ${rec.nonce}`;
      else if (!signatureEqual(signRequest(secret, req.method, req.url, rec.timestamp, rec.nonce, raw), sig)) rec.why += 'wrong signature';
      else rec.verified = true;
      if (!rec.verified) {
        rec.answered = { status: 401, at: Date.now() };
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'bad signature', why: rec.why }));
        return;
      }
      const statusPrefix = `${basePath}/recharges/`;
      if (req.method === 'POST' && req.url === `${basePath}/recharges`) {
        rec.kind = 'submit';
        onSubmit(req, res, rec);
      } else if (req.method === 'GET' && req.url.startsWith(statusPrefix)) {
        rec.kind = 'status';
        onStatus(req, res, rec, decodeURIComponent(req.url.slice(statusPrefix.length)));
      } else {
        rec.answered = { status: 404, at: Date.now() };
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('no such route');
      }
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
    url: `http://${HOST}:${port}${basePath}`,
    requests,
    orders,
    /** The requests about one of topup's orders. */
    requestsFor: (orderId) => requests.filter((r) => r.orderId === String(orderId)),
    /** 'ok', or 'error500': every request is answered 500 (a POST's order is still taken). */
    setMode(m) {
      serverMode = m;
    },
    /** Changes what the operator remembers for an order (null: it does not know yet). */
    settle(orderId, final) {
      const o = orders.get(String(orderId));
      if (o) o.final = final;
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
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await this.down();
    },
  };
}
