// /metrics must be valid Prometheus text: a scraper rejects a family whose lines are split up,
// and a histogram whose buckets are not cumulative or whose +Inf bucket is not its count.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { api, createKey, createWorkspace, newIdemKey, postRecharge, startDaemon } from './harness.mjs';

let ws;
let daemon;
let text;
before(async () => {
  ws = await createWorkspace('metrics');
  const key = await createKey(ws.db, 'metrics', 'recharge');
  daemon = await startDaemon(ws.db);
  for (let i = 0; i < 5; i++) {
    const res = await postRecharge(daemon, key, newIdemKey('m'), { msisdn: `1380013800${i}`, product: 'cmcc-10' });
    assert.equal(res.status, 201, res.text);
  }
  await api(daemon, 'GET', '/no/such/path');
  const res = await api(daemon, 'GET', '/metrics');
  assert.equal(res.status, 200);
  assert.match(res.contentType, /^text\/plain; version=0\.0\.4/);
  text = res.text;
});
after(async () => {
  await daemon?.stop();
  await ws?.cleanup();
});

function family(name) {
  return name.replace(/_(bucket|sum|count)$/, '');
}

function samples() {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/);
      assert.ok(m, `not a sample line: ${line}`);
      return { name: m[1], labels: m[2] ?? '', value: Number(m[3]) };
    });
}

test('every metric family is one contiguous block with a TYPE line before it', () => {
  const seen = new Set();
  let current = null;
  const typed = new Set(
    text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]),
  );
  for (const s of samples()) {
    const f = family(s.name);
    if (f !== current) {
      assert.ok(!seen.has(f), `family ${f} appears in two separate blocks`);
      seen.add(f);
      current = f;
    }
    assert.ok(typed.has(f) || typed.has(s.name), `no TYPE line for ${f}`);
  }
});

test('latency histograms are cumulative and end in +Inf = count', () => {
  const all = samples().filter((s) => s.name.startsWith('topup_http_request_duration_seconds'));
  const routes = new Set(all.map((s) => s.labels.match(/route="([^"]+)"/)[1]));
  assert.ok(routes.has('recharge_create'), 'the recharge route has a histogram');
  for (const route of routes) {
    const buckets = all.filter((s) => s.name.endsWith('_bucket') && s.labels.includes(`route="${route}"`));
    for (let i = 1; i < buckets.length; i++)
      assert.ok(buckets[i].value >= buckets[i - 1].value, `${route}: bucket ${i} is not cumulative`);
    const inf = buckets.find((b) => b.labels.includes('le="+Inf"'));
    const count = all.find((s) => s.name.endsWith('_count') && s.labels.includes(`route="${route}"`));
    assert.equal(inf.value, count.value, `${route}: +Inf bucket equals the count`);
  }
  const create = all.find((s) => s.name.endsWith('_count') && s.labels.includes('route="recharge_create"'));
  assert.equal(create.value, 5, 'five recharges were timed');
  const sum = all.find((s) => s.name.endsWith('_sum') && s.labels.includes('route="recharge_create"'));
  assert.ok(sum.value > 0 && sum.value < 5, `the latency sum is in seconds: ${sum.value}`);
});

test('recharges, batches and the queue are counted', () => {
  const value = (name, labels = '') =>
    samples().find((s) => s.name === name && s.labels.includes(labels))?.value;
  assert.equal(value('topup_recharges_total', 'result="succeeded"'), 5);
  assert.equal(value('topup_commit_batch_size_sum'), 5, 'every recharge went through a batch');
  assert.equal(value('topup_write_queue_depth'), 0);
  assert.equal(value('topup_http_requests_total', 'route="unmatched",code="4xx"'), 1);
});
