// topupd's own command line: the config file, and refusals of bad settings at start-up.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';

import { HOST, TOPUPD, createWorkspace, freePort, run, sleep } from './harness.mjs';

let ws;
before(async () => {
  ws = await createWorkspace('daemon');
});
after(async () => {
  await ws?.cleanup();
});

async function waitHealthy(port, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://${HOST}:${port}/healthz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`topupd did not answer /healthz on port ${port}`);
}

test('topupd takes its database and address from --config', async () => {
  const port = await freePort();
  const config = await ws.writeFile(
    'topupd.conf',
    `# topupd settings\ndb = ${ws.db}\nlisten = ${HOST}:${port}\nthreads = 2\n` +
      'default_country = CN\nqueue_max = 128\nbatch_max = 64\n',
  );
  const daemon = spawn(TOPUPD, ['--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((resolve) => daemon.on('exit', (code) => resolve(code)));
  try {
    await waitHealthy(port);
    const res = await fetch(`http://${HOST}:${port}/v1/operators`);
    assert.equal(res.status, 401, 'the API still needs a key when configured from a file');
  } finally {
    daemon.kill('SIGTERM');
  }
  assert.equal(await exited, 0, 'topupd stops cleanly on SIGTERM');
});

test('command-line options win over the config file', async () => {
  const port = await freePort();
  const config = await ws.writeFile('override.conf', `db = ${ws.db}\nlisten = ${HOST}:1\n`);
  const daemon = spawn(TOPUPD, ['--config', config, '--listen', `${HOST}:${port}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise((resolve) => daemon.on('exit', (code) => resolve(code)));
  try {
    await waitHealthy(port);
  } finally {
    daemon.kill('SIGTERM');
  }
  assert.equal(await exited, 0);
});

const refusals = [
  {
    what: 'a config line that is not key = value',
    file: 'db = x\nthis is not a setting\n',
    expect: /bad\.conf:2: not a valid 'key = value' setting/,
  },
  { what: 'an unknown config key', file: 'colour = blue\n', expect: /bad\.conf:1:/ },
  { what: 'a port out of range', file: 'listen = 127.0.0.1:70000\n', expect: /bad\.conf:1:/ },
  { what: 'a thread count of zero', file: 'threads = 0\n', expect: /bad\.conf:1:/ },
];

for (const { what, file, expect } of refusals) {
  test(`topupd refuses ${what} and does not start`, async () => {
    const config = await ws.writeFile('bad.conf', file);
    const r = await run(TOPUPD, ['--config', config], { timeoutMs: 10000 });
    assert.equal(r.code, 2, `exit status 2 expected, got ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, expect);
  });
}

test('topupd refuses a malformed --listen with a clear message', async () => {
  const r = await run(TOPUPD, ['--db', ws.db, '--listen', 'localhost'], { timeoutMs: 10000 });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /invalid value for listen: 'localhost'/);
});

test('topupd refuses a database that does not exist instead of creating one', async () => {
  const port = await freePort();
  const missing = `${ws.dir}/missing.db`;
  const r = await run(TOPUPD, ['--db', missing, '--listen', `${HOST}:${port}`], {
    timeoutMs: 10000,
  });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot start .*missing\.db/);
  const exists = await import('node:fs').then((fs) => fs.existsSync(missing));
  assert.equal(exists, false, 'no empty database file may be left behind');
});
