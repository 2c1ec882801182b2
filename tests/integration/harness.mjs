// Black-box harness for topup's integration tests: temp workspaces with a demo database, API keys
// made with the real CLI, the real topupd on 127.0.0.1, an HTTP client, and `topup verify`.
//
// Every daemon started here is tracked; tests stop it in after() hooks, and a process 'exit'
// handler SIGKILLs any that is somehow still alive, so a run never leaves a daemon behind.
//
// Environment:
//   TOPUP_BUILD     build directory (default "build", relative to the repository root)
//   TOPUP_KEEP_TMP  set to 1 to keep the temporary workspaces (database, daemon log) for a post-mortem
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUILD_DIR = path.resolve(REPO_ROOT, process.env.TOPUP_BUILD || 'build');
export const TOPUP = path.join(BUILD_DIR, 'topup');
export const TOPUPD = path.join(BUILD_DIR, 'topupd');
export const HOST = '127.0.0.1';
export const DAY_S = 86400;

const KEEP_TMP = process.env.TOPUP_KEEP_TMP === '1';

function assertBuilt() {
  for (const bin of [TOPUP, TOPUPD]) {
    assert.ok(
      fs.existsSync(bin),
      `${bin} does not exist; build first (cmake -S . -B build && cmake --build build -j2) ` +
        'or point TOPUP_BUILD at the build directory',
    );
  }
}

// ---------------------------------------------------------------- processes

/** Runs a program to completion; never throws on a non-zero exit (callers assert). */
export function run(file, args, { timeoutMs = 30000, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], cwd: REPO_ROOT });
    const out = [];
    const err = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    if (input !== undefined) {
      child.stdin.on('error', () => {}); // the program may exit without reading its input
      child.stdin.end(input);
    }
  });
}

function describeRun(args, r) {
  return `topup ${args.join(' ')} -> exit ${r.code}${r.signal ? ` (signal ${r.signal})` : ''}\n` +
    `stdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-2000)}`;
}

/** Runs the CLI and asserts it exits 0; returns its output. */
export async function topup(args, opts) {
  assertBuilt();
  const r = await run(TOPUP, args, opts);
  assert.equal(r.code, 0, describeRun(args, r));
  return r;
}

/** `topup verify --db DB` must exit 0: the ledger is consistent. */
export async function verifyLedger(db) {
  assertBuilt();
  const args = ['verify', '--db', db];
  const r = await run(TOPUP, args, { timeoutMs: 60000 });
  assert.equal(r.code, 0, `ledger verification failed: ${describeRun(args, r)}`);
  return r;
}

// ---------------------------------------------------------------- workspaces

/** A temp dir with a demo database. cleanup() removes it (unless TOPUP_KEEP_TMP=1). */
export async function createWorkspace(name) {
  assertBuilt();
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `topup-it-${name}-`));
  const db = path.join(dir, 'topup.db');
  await topup(['init', '--db', db, '--demo']);
  return {
    dir,
    db,
    async writeFile(fileName, text) {
      const p = path.join(dir, fileName);
      await fsp.writeFile(p, text);
      return p;
    },
    async cleanup() {
      if (KEEP_TMP) {
        process.stderr.write(`# keeping workspace ${dir}\n`);
        return;
      }
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Creates an API key with the CLI; the secret is the last non-empty line of stdout. */
export async function createKey(db, name, scope) {
  const r = await topup(['apikey', 'create', '--db', db, '--name', name, '--scope', scope]);
  const lines = r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  const secret = lines.at(-1);
  assert.ok(secret && !/\s/.test(secret), `apikey create printed no key: ${JSON.stringify(r.stdout)}`);
  return secret;
}

// ---------------------------------------------------------------- the daemon

const liveDaemons = new Set();
process.on('exit', () => {
  for (const d of liveDaemons) {
    try {
      d.proc.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => process.exit(128 + os.constants.signals[sig]));
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts topupd on a free 127.0.0.1 port and waits until GET /healthz answers 200.
 * Returns { port, base, proc, pid, log(), exited, stop({signal, timeoutMs}) }.
 */
export async function startDaemon(db, { startTimeoutMs = 20000, args = [] } = {}) {
  assertBuilt();
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await launch(db, port, startTimeoutMs, args);
    } catch (e) {
      lastError = e;
      // Another process may have taken the port between freePort() and bind(); try a new one.
      if (!/address already in use|EADDRINUSE|bind/i.test(String(e.message))) throw e;
    }
  }
  throw lastError;
}

async function launch(db, port, startTimeoutMs, extraArgs) {
  const args = ['--db', db, '--listen', `${HOST}:${port}`, ...extraArgs];
  const proc = spawn(TOPUPD, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO_ROOT });
  let logText = '';
  const keep = (b) => {
    logText += b.toString('utf8');
    if (logText.length > 200000) logText = logText.slice(-100000);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      liveDaemons.delete(daemon);
      resolve(exitInfo);
    });
  });
  const spawnError = new Promise((_, reject) => proc.on('error', reject));
  spawnError.catch(() => {}); // an 'error' after start-up (a failed kill) must not crash the run
  const base = `http://${HOST}:${port}`;
  const daemon = {
    port,
    base,
    proc,
    pid: proc.pid,
    exited,
    log: () => logText,
    get exitInfo() {
      return exitInfo;
    },
    /** Stops the daemon (SIGTERM by default), SIGKILLs it after timeoutMs; resolves to the exit. */
    async stop({ signal = 'SIGTERM', timeoutMs = 10000 } = {}) {
      if (exitInfo) return { ...exitInfo, timedOut: false };
      proc.kill(signal);
      let timer;
      const timedOut = await Promise.race([
        exited.then(() => false),
        new Promise((r) => {
          timer = setTimeout(() => r(true), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        proc.kill('SIGKILL');
        await exited;
      }
      return { ...exitInfo, timedOut };
    },
  };
  liveDaemons.add(daemon);

  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (exitInfo) {
      throw new Error(
        `topupd ${args.join(' ')} exited during start-up (code ${exitInfo.code}, signal ` +
          `${exitInfo.signal}):\n${logText.slice(-4000)}`,
      );
    }
    if (Date.now() > deadline) {
      await daemon.stop({ signal: 'SIGKILL' });
      throw new Error(`topupd did not answer GET /healthz within ${startTimeoutMs} ms:\n${logText.slice(-4000)}`);
    }
    try {
      const res = await Promise.race([
        fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) }),
        spawnError,
      ]);
      await res.arrayBuffer();
      if (res.status === 200) return daemon;
    } catch (e) {
      if (e && e.code === 'ENOENT') throw e;
      // not listening yet
    }
    await sleep(20);
  }
}

// ---------------------------------------------------------------- HTTP

function wrapResponse(status, headerGet, text) {
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return {
    status,
    header: headerGet,
    contentType: headerGet('content-type') ?? '',
    text,
    body,
  };
}

/**
 * A request through fetch. opts: key (Bearer), headers, json (serialised, Content-Type set),
 * body (string/Buffer sent as is), timeoutMs. Resolves to
 * { status, header(name), contentType, text, body (parsed JSON or undefined) }.
 */
export async function api(daemon, method, pathname, { key, headers = {}, json, body, timeoutMs = 20000 } = {}) {
  const h = { ...headers };
  if (key !== undefined) h.authorization = `Bearer ${key}`;
  let payload = body;
  if (json !== undefined) {
    payload = JSON.stringify(json);
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
  }
  const res = await fetch(daemon.base + pathname, {
    method,
    headers: h,
    body: payload,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  return wrapResponse(res.status, (n) => res.headers.get(n), text);
}

/**
 * A request with http.request: exactly the headers given (an object; a value of undefined drops
 * the header), body as a string/Buffer (sent with Content-Length) or an array of chunks (sent with
 * Transfer-Encoding: chunked). A fresh connection each time.
 */
export function raw(daemon, { method = 'GET', path: pathname, headers = {}, body, timeoutMs = 20000 }) {
  return new Promise((resolve, reject) => {
    const h = {};
    for (const [k, v] of Object.entries(headers)) if (v !== undefined) h[k] = v;
    const chunked = Array.isArray(body);
    if (!chunked && body !== undefined) h['content-length'] = Buffer.byteLength(body);
    const req = http.request({
      host: HOST,
      port: daemon.port,
      method,
      path: pathname,
      headers: h,
      agent: false,
      timeout: timeoutMs,
    });
    let settled = false;
    const done = (f, v) => {
      if (!settled) {
        settled = true;
        f(v);
      }
    };
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => done(reject, e));
    req.on('response', (res) => {
      const parts = [];
      res.on('data', (b) => parts.push(b));
      res.on('error', (e) => done(reject, e));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        done(resolve, wrapResponse(res.statusCode, (n) => {
          const v = res.headers[n.toLowerCase()];
          return v === undefined ? null : Array.isArray(v) ? v.join(', ') : String(v);
        }, text));
      });
    });
    if (chunked) {
      for (const c of body) req.write(c);
      req.end();
    } else {
      req.end(body);
    }
  });
}

/** Short description of a response for assertion messages. */
export function show(res) {
  return `HTTP ${res.status} [${res.contentType}] ${res.text.length > 800 ? `${res.text.slice(0, 800)}...` : res.text}`;
}

/** Asserts an RFC 9457 problem: status, problem+json content type, the members, the stable code. */
export function assertProblem(res, status, code, what = '') {
  const ctx = `${what ? `${what}: ` : ''}expected ${status} ${code ?? ''}, got ${show(res)}`;
  assert.equal(res.status, status, ctx);
  assert.match(res.contentType, /^application\/problem\+json\s*(;|$)/i, ctx);
  assert.ok(res.body && typeof res.body === 'object' && !Array.isArray(res.body), ctx);
  assert.equal(res.body.status, status, `problem member "status" differs from the HTTP status; ${ctx}`);
  for (const member of ['type', 'title', 'code', 'detail']) {
    assert.equal(typeof res.body[member], 'string', `problem member "${member}" missing; ${ctx}`);
    assert.ok(res.body[member].length > 0, `problem member "${member}" empty; ${ctx}`);
  }
  if (code !== undefined) {
    if (Array.isArray(code)) assert.ok(code.includes(res.body.code), ctx);
    else assert.equal(res.body.code, code, ctx);
  }
}

/** Asserts a 2xx JSON answer and returns its body. */
export function assertJson(res, status = 200, what = '') {
  const ctx = `${what ? `${what}: ` : ''}expected ${status} JSON, got ${show(res)}`;
  assert.equal(res.status, status, ctx);
  assert.match(res.contentType, /^application\/json\s*(;|$)/i, ctx);
  assert.ok(res.body !== undefined, ctx);
  return res.body;
}

// ---------------------------------------------------------------- API shortcuts

let keySeq = 0;
/** A fresh Idempotency-Key, unique within this process run. */
export function newIdemKey(prefix = 'k') {
  keySeq += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${keySeq}`;
}

/** POST /v1/recharges through fetch. body: an object (serialised) or a string (sent verbatim). */
export function postRecharge(daemon, key, idemKey, body, { timeoutMs } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (idemKey !== undefined) headers['idempotency-key'] = idemKey;
  return api(daemon, 'POST', '/v1/recharges', {
    key,
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    timeoutMs,
  });
}

/**
 * POSTs, retrying (same key, same body) while the daemon answers 503 busy, honouring Retry-After.
 * Every 503 must be a proper busy problem with a Retry-After header. Returns the last response and
 * the number of busy answers seen.
 */
export async function postRechargeRetryBusy(daemon, key, idemKey, body, { attempts = 20 } = {}) {
  let busy = 0;
  for (let i = 0; ; i++) {
    const res = await postRecharge(daemon, key, idemKey, body);
    if (res.status !== 503 || i + 1 >= attempts) return { res, busy };
    assertProblem(res, 503, 'busy');
    const retryAfter = res.header('retry-after');
    assert.match(retryAfter ?? '', /^\d+$/, `503 busy without a Retry-After in seconds: ${show(res)}`);
    busy += 1;
    await sleep(Math.min(Number(retryAfter) * 1000, 2000) * (0.5 + Math.random() / 2));
  }
}

/** The path segment for a number ('+' encoded as %2B). */
export const enc = (msisdn) => encodeURIComponent(msisdn);

/**
 * Walks a cursor-paginated list from its first page to next_cursor === null. pathname may already
 * carry a query string. Asserts the page shape, that no cursor repeats and that no page exceeds
 * limit. Returns { items, pages }.
 */
export async function walkPages(daemon, key, pathname, { limit, maxPages = 10000 } = {}) {
  const items = [];
  const pages = [];
  const seenCursors = new Set();
  let cursor = null;
  for (;;) {
    const params = new URLSearchParams();
    if (limit !== undefined) params.set('limit', String(limit));
    if (cursor !== null) params.set('cursor', cursor);
    const sep = pathname.includes('?') ? '&' : '?';
    const q = params.toString();
    const res = await api(daemon, 'GET', q ? `${pathname}${sep}${q}` : pathname, { key });
    const page = assertJson(res, 200, `GET ${pathname} page ${pages.length + 1}`);
    assert.ok(Array.isArray(page.items), `page without items[]: ${show(res)}`);
    assert.ok(page.next_cursor === null || typeof page.next_cursor === 'string', `bad next_cursor: ${show(res)}`);
    if (limit !== undefined) assert.ok(page.items.length <= limit, `page longer than limit ${limit}: ${page.items.length}`);
    pages.push(page);
    items.push(...page.items);
    if (page.next_cursor === null) break;
    assert.ok(!seenCursors.has(page.next_cursor), `cursor ${page.next_cursor} repeated: pagination loops`);
    seenCursors.add(page.next_cursor);
    cursor = page.next_cursor;
    assert.ok(pages.length < maxPages, `more than ${maxPages} pages`);
  }
  return { items, pages };
}

/** Runs fn over items with at most `concurrency` in flight; resolves to the results in order. */
export async function pool(items, concurrency, fn) {
  const results = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

// ---------------------------------------------------------------- values

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Asserts an RFC 3339 timestamp and returns it in epoch seconds (fractions kept). */
export function rfc3339Seconds(value, what = 'timestamp') {
  assert.equal(typeof value, 'string', `${what} is not a string: ${JSON.stringify(value)}`);
  assert.match(value, RFC3339, `${what} is not RFC 3339: ${value}`);
  const ms = Date.parse(value);
  assert.ok(Number.isFinite(ms), `${what} does not parse: ${value}`);
  return ms / 1000;
}

/** RFC 3339 in UTC without fractions, for epoch seconds. */
export function toRfc3339(seconds) {
  return new Date(Math.round(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Value of one Prometheus sample (name plus exact label set as written, e.g. '{result="succeeded"}'). */
export function metricValue(text, name, labels = '') {
  const want = normaliseLabels(labels);
  let found;
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    if (normaliseLabels(m[2] ?? '') !== want) continue;
    found = Number(m[3]);
  }
  return found;
}

function normaliseLabels(text) {
  const inner = text.replace(/^\{|\}$/g, '').trim();
  if (!inner) return '';
  return inner
    .split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/)
    .map((s) => s.trim())
    .filter(Boolean)
    .sort()
    .join(',');
}

/** Small seeded PRNG (mulberry32) so a failing random schedule can be replayed. */
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (arr) => arr[Math.floor(next() * arr.length)],
  };
}
