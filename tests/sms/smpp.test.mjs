// The SMPP transport (src/sms/smpp.c) through `topup sms send`, against an SMSC built on the npm
// `smpp` package (tests/sms/smsc.mjs) on 127.0.0.1: what arrives at the SMSC is read and decoded
// by that package, not by topup.
//
// Environment: TOPUP_BUILD, the build directory (default "build", relative to the repository root).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import {
  ESME_RINVDSTADR,
  ESME_RINVPASWD,
  ESME_ROK,
  ESME_RTHROTTLED,
  freePort,
  startSmsc,
} from './smsc.mjs';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD = path.resolve(REPO_ROOT, process.env.TOPUP_BUILD || 'build');
const TOPUP = path.join(BUILD, 'topup');

const SYSTEM_ID = 'topup';
const PASSWORD = 'Pa55w0rd';
const TO = '+8613800138000';

let dir;
let passwordFile;

// A config file for an SMSC on port, with settings overridden by extra.
function writeConfig(name, port, extra = {}) {
  const settings = {
    'sms.transport': 'smpp',
    'sms.host': '127.0.0.1',
    'sms.port': port,
    'sms.system_id': SYSTEM_ID,
    'sms.password': passwordFile,
    'sms.system_type': 'TOPUP',
    'sms.source_addr': 'TopUp',
    'sms.window': 10,
    'sms.rate_per_second': 50,
    'sms.enquire_link_s': 30,
    'sms.reconnect_max_s': 1,
    'sms.response_timeout_ms': 2000,
    ...extra,
  };
  const file = path.join(dir, `${name}.conf`);
  const lines = Object.entries(settings).map(([key, value]) => `${key} = ${value}`);
  fs.writeFileSync(file, `# ${name}\ndb = var/ignored.db\n${lines.join('\n')}\n`);
  return file;
}

// Runs `topup sms send` without blocking the event loop the SMSC runs on.
function send(config, text, ...options) {
  const args = ['sms', 'send', '--config', config, '--to', TO, '--text', text, ...options];
  return new Promise((resolve, reject) => {
    const child = spawn(TOPUP, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(killer);
      let json = null;
      try {
        json = JSON.parse(stdout);
      } catch {
        // left null: the assertions below show stdout
      }
      resolve({ status, stdout, stderr, json });
    });
  });
}

function assertOutcome(r, outcome, status, what) {
  assert.equal(r.json?.outcome, outcome, `${what}: stdout ${r.stdout} stderr ${r.stderr}`);
  assert.equal(r.status, status, `${what}: exit ${r.status}, stderr ${r.stderr}`);
}

function assertNoPassword(r) {
  assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD), 'the password was printed');
}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

before(() => {
  assert.ok(fs.existsSync(TOPUP), `${TOPUP} is missing: build first or set TOPUP_BUILD`);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'topup-smpp-'));
  passwordFile = path.join(dir, 'smsc.password');
  fs.writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('bind', () => {
  test('binds as a transceiver with system_id, password and system_type, then unbinds', async () => {
    const smsc = await startSmsc({ systemId: SYSTEM_ID, password: PASSWORD });
    try {
      const r = await send(writeConfig('bind', smsc.port), 'Hello from topup');
      assertOutcome(r, 'accepted', 0, 'send');
      assert.equal(smsc.binds.length, 1);
      const bind = smsc.binds[0];
      assert.deepEqual(
        [bind.system_id, bind.password, bind.system_type, bind.interface_version, bind.status],
        [SYSTEM_ID, PASSWORD, 'TOPUP', 0x34, ESME_ROK],
      );
      assert.equal(smsc.submits.length, 1);
      assert.equal(r.json.smsc_id, smsc.submits[0].message_id, 'smsc_id is the SMSC message_id');
      assert.equal(smsc.unbinds.length, 1, 'stop unbinds');
      assertNoPassword(r);
    } finally {
      await smsc.close();
    }
  });

  test('a wrong password is refused: nothing is sent and the command says why', async () => {
    const smsc = await startSmsc({ systemId: SYSTEM_ID, password: 'other' });
    try {
      const r = await send(writeConfig('wrong-password', smsc.port), 'Hello', '--timeout', '2');
      assertOutcome(r, 'retry', 3, 'send');
      assert.ok(smsc.binds.length >= 1);
      assert.ok(smsc.binds.every((b) => b.status === ESME_RINVPASWD));
      assert.equal(smsc.submits.length, 0);
      assert.match(r.stderr, /refused bind_transceiver as 'topup': ESME_RINVPASWD \(0x0000000E, invalid password\)/);
      assert.match(r.json.detail, /did not come up/);
      assertNoPassword(r);
    } finally {
      await smsc.close();
    }
  });

  test('a password file others can read is refused before connecting', async () => {
    const smsc = await startSmsc({ systemId: SYSTEM_ID, password: PASSWORD });
    const open = path.join(dir, 'open.password');
    fs.writeFileSync(open, PASSWORD, { mode: 0o644 });
    fs.chmodSync(open, 0o644);
    try {
      const r = await send(writeConfig('open-password', smsc.port, { 'sms.password': open }), 'Hi');
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /readable by group or others/);
      assert.equal(smsc.binds.length, 0);
    } finally {
      await smsc.close();
    }
  });
});

describe('keep-alive', () => {
  test('enquire_link goes out every enquire_link_s while the link is up', async () => {
    const smsc = await startSmsc({ systemId: SYSTEM_ID, password: PASSWORD });
    try {
      const config = writeConfig('keepalive', smsc.port, { 'sms.enquire_link_s': 1 });
      const r = await send(config, 'Keep-alive', '--wait-receipt', '3');
      assertOutcome(r, 'accepted', 0, 'send');
      assert.equal(r.json.receipt, null, 'no receipt was sent');
      assert.ok(smsc.enquireLinks.length >= 2, `${smsc.enquireLinks.length} enquire_link in 3 s`);
      assert.equal(smsc.binds.length, 1, 'answered keep-alives keep the one link');
    } finally {
      await smsc.close();
    }
  });

  test('an unanswered enquire_link fails the link, and the transport binds again', async () => {
    const smsc = await startSmsc({ systemId: SYSTEM_ID, password: PASSWORD });
    smsc.answerEnquireLink = false;
    try {
      const config = writeConfig('dead-link', smsc.port, {
        'sms.enquire_link_s': 1,
        'sms.response_timeout_ms': 500,
      });
      const r = await send(config, 'Dead link', '--wait-receipt', '4');
      assertOutcome(r, 'accepted', 0, 'send');
      assert.ok(smsc.binds.length >= 2, `${smsc.binds.length} binds`);
      assert.match(r.stderr, /no enquire_link_resp within 500 ms/);
      assert.equal(smsc.accepted().length, 1, 'the accepted message was not sent again');
    } finally {
      await smsc.close();
    }
  });
});

describe('encoding', () => {
  test('Chinese text arrives as UCS-2 (data_coding 8) and decodes to the exact text', async () => {
    const smsc = await startSmsc({ systemId: SYSTEM_ID, password: PASSWORD });
    const text = '您的话费充值50.00元已到账，当前余额88.50元。【话费充值】';
    try {
      const r = await send(writeConfig('ucs2', smsc.port), text);
      assertOutcome(r, 'accepted', 0, 'send');
      assert.deepEqual([r.json.encoding, r.json.parts], ['ucs2', 1]);
      assert.equal(smsc.submits.length, 1);
      const submit = smsc.submits[0];
      assert.equal(submit.data_coding, 8);
      assert.equal(submit.esm_class & 0x40, 0, 'one part: no header');
      assert.equal(submit.text, text, 'the smpp package decodes it');
      assert.equal(new TextDecoder('utf-16be').decode(submit.octets), text, 'UTF-16BE octets');
      assert.deepEqual(
        [submit.destination_addr, submit.dest_addr_ton, submit.dest_addr_npi],
        ['8613800138000', 1, 1],
      );
      assert.deepEqual([submit.source_addr, submit.source_addr_ton], ['TopUp', 5]);
      assert.equal(submit.registered_delivery, 0, 'no receipt asked for');
    } finally {
      await smsc.close();
    }
  });

  test('a 300-character text arrives in parts whose headers reassemble it', async () => {
    const smsc = await startSmsc({ systemId: SYSTEM_ID, password: PASSWORD });
    const text = Array.from({ length: 30 }, (_, i) => `Line ${String(i).padStart(3, '0')}: `).join('');
    assert.equal(text.length, 300);
    try {
      const r = await send(writeConfig('long', smsc.port), text);
      assertOutcome(r, 'accepted', 0, 'send');
      assert.deepEqual([r.json.encoding, r.json.parts], ['gsm7', 2]);
      const parts = smsc.accepted();
      assert.equal(parts.length, 2);
      for (const part of parts) {
        assert.equal(part.data_coding, 0);
        assert.equal(part.esm_class & 0x40, 0x40, 'UDHI set');
        assert.ok(part.udh, 'concatenation header present');
        assert.equal(part.udh.total, 2);
        assert.equal(part.udh.reference, parts[0].udh.reference, 'one reference for both parts');
      }
      const ordered = [...parts].sort((a, b) => a.udh.sequence - b.udh.sequence);
      assert.deepEqual(ordered.map((p) => p.udh.sequence), [1, 2]);
      assert.equal(ordered[0].octets.length - 6, 153, 'first part is full');
      assert.equal(ordered.map((p) => p.text).join(''), text);
      assert.equal(r.json.smsc_id, ordered[0].message_id, "smsc_id is the first part's");
    } finally {
      await smsc.close();
    }
  });

  test('GSM text with € and [ arrives as data_coding 0 with escape sequences', async () => {
    const smsc = await startSmsc({ systemId: SYSTEM_ID, password: PASSWORD });
    const text = 'Price: 5€ [promo] {50%} ~ok~ | à bientôt? no: Ü';
    const gsmText = 'Price: 5€ [promo] {50%}';
    try {
      const r = await send(writeConfig('gsm', smsc.port), gsmText);
      assertOutcome(r, 'accepted', 0, 'send');
      assert.equal(r.json.encoding, 'gsm7');
      const submit = smsc.submits[0];
      assert.equal(submit.data_coding, 0);
      assert.equal(submit.text, gsmText, 'the smpp package decodes the GSM octets');
      const octets = [...submit.octets];
      const euro = octets.indexOf(0x1b);
      assert.deepEqual(octets.slice(euro, euro + 2), [0x1b, 0x65], '€ is ESC 0x65');
      assert.ok(submit.octets.includes(Buffer.from([0x1b, 0x3c])), '[ is ESC 0x3C');
      assert.equal(submit.octets.length, gsmText.length + 5, 'five escaped characters');
      // 'ô' is not in GSM 03.38: the same kind of text falls back to UCS-2
      const r2 = await send(writeConfig('gsm-fallback', smsc.port), text);
      assertOutcome(r2, 'accepted', 0, 'send');
      assert.equal(smsc.submits[1].data_coding, 8);
      assert.equal(smsc.submits[1].text, text);
    } finally {
      await smsc.close();
    }
  });
});

describe('delivery receipts', () => {
  test('a receipt from the SMSC reaches the command with its state and time', async () => {
    const smsc = await startSmsc({ systemId: SYSTEM_ID, password: PASSWORD });
    smsc.receipts = true;
    smsc.receiptDoneDate = '2401011201';
    try {
      const r = await send(writeConfig('receipt', smsc.port), 'Receipt please', '--receipt', '--wait-receipt', '5');
      assertOutcome(r, 'accepted', 0, 'send');
      assert.equal(smsc.submits[0].registered_delivery, 1);
      assert.deepEqual(r.json.receipt, {
        smsc_id: smsc.submits[0].message_id,
        stat: 'DELIVRD',
        done_at: '2024-01-01T12:01:00Z',
      });
      assert.deepEqual(smsc.deliverAnswers, [{ message_id: smsc.submits[0].message_id, status: ESME_ROK }]);
    } finally {
      await smsc.close();
    }
  });
});

describe('failures', () => {
  test('ESME_RTHROTTLED: the transport backs off and the message arrives exactly once', async () => {
    const smsc = await startSmsc({ systemId: SYSTEM_ID, password: PASSWORD });
    smsc.throttle = 1;
    try {
      const r = await send(writeConfig('throttle', smsc.port), 'Throttled once');
      assertOutcome(r, 'accepted', 0, 'send');
      assert.deepEqual(smsc.submits.map((s) => s.status), [ESME_RTHROTTLED, ESME_ROK]);
      assert.equal(smsc.accepted().length, 1, 'taken exactly once');
      assert.equal(smsc.accepted()[0].text, 'Throttled once');
      const pause = smsc.submits[1].at - smsc.submits[0].at;
      assert.ok(pause >= 900, `resubmitted after ${pause} ms, before the 1 s pause`);
      assert.equal(smsc.binds.length, 1, 'throttling does not drop the link');
    } finally {
      await smsc.close();
    }
  });

  test('a permanent error (ESME_RINVDSTADR) rejects the message', async () => {
    const smsc = await startSmsc({ systemId: SYSTEM_ID, password: PASSWORD });
    smsc.submitStatus = ESME_RINVDSTADR;
    try {
      const r = await send(writeConfig('rejected', smsc.port), 'Nobody there');
      assertOutcome(r, 'rejected', 1, 'send');
      assert.match(r.json.detail, /ESME_RINVDSTADR/);
      assert.equal(smsc.submits.length, 1, 'not sent again');
    } finally {
      await smsc.close();
    }
  });

  // The transport never resends on its own: a message in flight when the link drops is reported
  // SMS_RETRY (the outbox sends it again); the command shows that as outcome "retry".
  test('the link dropped before submit_sm_resp: the message is reported retry, sent once', async () => {
    const smsc = await startSmsc({ systemId: SYSTEM_ID, password: PASSWORD });
    smsc.dropAfter = 1; // the first part is answered, the link drops on the second
    const text = 'x'.repeat(200);
    try {
      const r = await send(writeConfig('drop', smsc.port), text);
      assertOutcome(r, 'retry', 3, 'send');
      assert.match(r.json.detail, /link to the SMSC failed/);
      assert.deepEqual(smsc.submits.map((s) => s.status), [ESME_ROK, 'dropped']);
      assert.match(r.stderr, /the SMSC closed the connection/);
    } finally {
      await smsc.close();
    }
  });

  test('malformed PDUs from the SMSC: a bad deliver_sm is refused, a bad length drops the link', async () => {
    const smsc = await startSmsc({ systemId: SYSTEM_ID, password: PASSWORD });
    const pdu = (length, commandId, sequence, body) => {
      const header = Buffer.alloc(16);
      header.writeUInt32BE(length, 0);
      header.writeUInt32BE(commandId, 4);
      header.writeUInt32BE(sequence, 12);
      return Buffer.concat([header, body]);
    };
    smsc.afterSubmit = () => {
      smsc.afterSubmit = null;
      // a deliver_sm whose first C-octet string never ends inside the PDU
      smsc.raw(pdu(16 + 40, 0x00000005, 77, Buffer.alloc(40, 0x41)));
      // then a header claiming 64 KiB + 1 octets
      setTimeout(() => smsc.raw(pdu(65537, 0x00000005, 78, Buffer.alloc(0))), 300);
    };
    try {
      const r = await send(writeConfig('hostile', smsc.port), 'Hostile SMSC', '--wait-receipt', '3');
      assertOutcome(r, 'accepted', 0, 'send');
      assert.deepEqual(smsc.deliverResponses, [{ sequence: 77, status: 0x65 }], 'ESME_RX_P_APPN');
      assert.match(r.stderr, /refused a malformed deliver_sm \(sequence 77\)/);
      assert.match(r.stderr, /the SMSC sent a PDU of 65537 octets \(16 to 65536 are allowed\)/);
      assert.ok(smsc.binds.length >= 2, 'bound again after the bad stream');
      assert.equal(smsc.accepted().length, 1);
    } finally {
      await smsc.close();
    }
  });

  test('the SMSC down at start: the transport keeps trying and binds once it is up', async () => {
    const port = await freePort();
    const smsc = await startSmsc({ systemId: SYSTEM_ID, password: PASSWORD, port, listen: false });
    try {
      const started = Date.now();
      const running = send(writeConfig('down', port), 'After the outage', '--timeout', '15');
      await delay(1500);
      await smsc.listen();
      const r = await running;
      assertOutcome(r, 'accepted', 0, 'send');
      assert.equal(smsc.binds.length, 1);
      assert.ok(smsc.binds[0].at - started >= 1500);
      assert.equal(smsc.accepted().length, 1);
      assert.match(r.stderr, /cannot connect to the SMSC: Connection refused; connecting again in/);
    } finally {
      await smsc.close();
    }
  });
});
