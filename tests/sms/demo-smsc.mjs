// A local SMSC for trying topup by hand (`make run`): listens on 127.0.0.1:2775 (or --port N),
// accepts system_id "topup" with the password in var/smsc-password, prints every SMS it receives
// (long ones reassembled from their parts) and sends a delivery receipt for each.
//   (cd tests && npm ci) && node tests/sms/demo-smsc.mjs
import fs from 'node:fs';

import { startSmsc } from './smsc.mjs';

const portIndex = process.argv.indexOf('--port');
const port = portIndex > 0 ? Number(process.argv[portIndex + 1]) : 2775;
const passwordFile = new URL('../../var/smsc-password', import.meta.url);
const password = fs.existsSync(passwordFile) ? fs.readFileSync(passwordFile, 'utf8').trim() : 'demo';

const partial = new Map(); // reference -> texts by sequence

function decode(submit) {
  const body = submit.udh ? submit.octets.subarray(6) : submit.octets;
  return submit.data_coding === 8 ? new TextDecoder('utf-16be').decode(body) : body.toString('latin1');
}

const smsc = await startSmsc({ systemId: 'topup', password, port });
smsc.receipts = true;
smsc.afterSubmit = (submit) => {
  const text = decode(submit);
  if (submit.udh) {
    const parts = partial.get(submit.udh.reference) ?? [];
    parts[submit.udh.sequence - 1] = text;
    partial.set(submit.udh.reference, parts);
    if (parts.filter((p) => p !== undefined).length < submit.udh.total) return;
    partial.delete(submit.udh.reference);
    console.log(`SMS to +${submit.destination_addr} from ${submit.source_addr}: ${parts.join('')}`);
    return;
  }
  console.log(`SMS to +${submit.destination_addr} from ${submit.source_addr}: ${text}`);
};
console.log(`demo SMSC listening on 127.0.0.1:${smsc.port} (system_id topup); Ctrl-C stops it`);
