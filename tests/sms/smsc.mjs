// A test SMSC on loopback, built on the npm `smpp` package's server: an SMPP 3.4 peer that topup
// did not write. It records what topup sends (binds, submit_sm with their raw octets, enquire_link,
// unbind) and misbehaves on request the way real SMSCs do: refuses binds, throttles, refuses a
// message, drops the link before answering, stops answering enquire_link, or is down.
//
//   const smsc = await startSmsc({ systemId, password });   // listening on 127.0.0.1:smsc.port
//   const smsc = await startSmsc({ port, listen: false });   // down until `await smsc.listen()`
//
// Behaviour, changeable between steps:
//   smsc.bindStatus      null: accept exactly systemId/password (else ESME_RINVPASWD); a number:
//                        answer every bind with it
//   smsc.throttle        answer the next N submit_sm with ESME_RTHROTTLED
//   smsc.submitStatus    answer the next submit_sm with this error status (then back to 0)
//   smsc.dropAfter       null, or answer that many more submit_sm and drop the link (without an
//                        answer) when the next one arrives
//   smsc.answerEnquireLink  false: never answer enquire_link
//   smsc.receipts        send a delivery receipt after each accepted submit_sm that asked for one
//   smsc.receiptDoneDate "YYMMDDhhmm" put in receipts' "done date:"
//   smsc.afterSubmit     called with each accepted submit_sm's record once it is answered
//   smsc.raw(bytes)      writes raw octets to the last bound session (malformed PDUs)
import net from 'node:net';

import smpp from 'smpp';

export const ESME_ROK = 0x00;
export const ESME_RINVBNDSTS = 0x04;
export const ESME_RINVDSTADR = 0x0b;
export const ESME_RINVPASWD = 0x0e;
export const ESME_RTHROTTLED = 0x58;

// The package decodes short_message in place (GSM or UCS-2 to a string, the UDH split off); the
// tests also need the octets exactly as topup sent them.
const decodeFilter = smpp.PDU.prototype._filter;
smpp.PDU.prototype._filter = function keepOctets(direction) {
  if (direction === 'decode' && Buffer.isBuffer(this.short_message)) {
    this.short_message_octets = Buffer.from(this.short_message);
  }
  return decodeFilter.call(this, direction);
};

// A TCP port on 127.0.0.1 that nothing listens on right now.
export async function freePort() {
  const probe = net.createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

// The concatenation header of a part (IEI 0x00, 8-bit reference), or null.
export function concatenationHeader(octets, esmClass) {
  if (!(esmClass & 0x40) || octets.length < 6 || octets[0] !== 5 || octets[1] !== 0 || octets[2] !== 3) {
    return null;
  }
  return { reference: octets[3], total: octets[4], sequence: octets[5] };
}

function yymmddhhmm(date) {
  const two = (n) => String(n).padStart(2, '0');
  return (
    two(date.getUTCFullYear() % 100) + two(date.getUTCMonth() + 1) + two(date.getUTCDate()) +
    two(date.getUTCHours()) + two(date.getUTCMinutes())
  );
}

export async function startSmsc(options = {}) {
  const systemId = options.systemId ?? 'topup';
  const password = options.password ?? 'secret';
  const smsc = {
    port: options.port ?? 0,
    binds: [], // { system_id, password, system_type, interface_version, status, session }
    submits: [], // { session, status, message_id, data_coding, esm_class, octets, text, udh, ... }
    enquireLinks: [], // { session, at }
    unbinds: [], // { session, at }
    deliverAnswers: [], // { message_id, status } for each receipt topup answered
    deliverResponses: [], // { sequence, status } of every deliver_sm_resp topup sent
    sessionCount: 0,
    bindStatus: null,
    throttle: 0,
    submitStatus: 0,
    dropAfter: null,
    answerEnquireLink: true,
    receipts: false,
    receiptDoneDate: null,
    afterSubmit: null,
  };
  let lastBound = null;
  const sessions = new Set();
  let nextMessageId = 0x1a2b3c00;
  let server = null;

  function sendReceipt(session, submit) {
    const now = yymmddhhmm(new Date());
    const text =
      `id:${submit.message_id} sub:001 dlvrd:001 submit date:${now} ` +
      `done date:${smsc.receiptDoneDate ?? now} stat:DELIVRD err:000 text:${'x'.repeat(5)}`;
    session.deliver_sm(
      {
        source_addr: submit.destination_addr,
        destination_addr: submit.source_addr,
        esm_class: 0x04,
        data_coding: 0,
        short_message: Buffer.from(text, 'ascii'),
      },
      (answer) => smsc.deliverAnswers.push({ message_id: submit.message_id, status: answer.command_status }),
    );
  }

  function onSubmit(session, state, pdu) {
    const octets = pdu.short_message_octets ?? Buffer.alloc(0);
    const record = {
      session: state.index,
      at: Date.now(),
      source_addr: pdu.source_addr,
      source_addr_ton: pdu.source_addr_ton,
      source_addr_npi: pdu.source_addr_npi,
      destination_addr: pdu.destination_addr,
      dest_addr_ton: pdu.dest_addr_ton,
      dest_addr_npi: pdu.dest_addr_npi,
      esm_class: pdu.esm_class,
      registered_delivery: pdu.registered_delivery,
      data_coding: pdu.data_coding,
      octets,
      udh: concatenationHeader(octets, pdu.esm_class),
      text: pdu.short_message?.message ?? '', // the package's own decoding
      status: ESME_ROK,
      message_id: null,
    };
    smsc.submits.push(record);
    if (!state.bound) {
      record.status = ESME_RINVBNDSTS;
    } else if (smsc.dropAfter === 0) {
      record.status = 'dropped';
      smsc.dropAfter = null;
      session.socket.destroy();
      return;
    } else if (smsc.throttle > 0) {
      smsc.throttle--;
      record.status = ESME_RTHROTTLED;
    } else if (smsc.submitStatus) {
      record.status = smsc.submitStatus;
      smsc.submitStatus = 0;
    }
    if (smsc.dropAfter !== null && record.status === ESME_ROK) smsc.dropAfter--;
    if (record.status !== ESME_ROK) {
      session.send(pdu.response({ command_status: record.status }));
      return;
    }
    record.message_id = (nextMessageId++).toString(16);
    session.send(pdu.response({ message_id: record.message_id }));
    if (smsc.receipts && pdu.registered_delivery & 1) sendReceipt(session, record);
    if (smsc.afterSubmit) smsc.afterSubmit(record);
  }

  function onSession(session) {
    const state = { index: smsc.sessionCount++, bound: false };
    sessions.add(session);
    session.socket.on('close', () => sessions.delete(session));
    session.on('error', () => {}); // a reset by topup is part of the tests
    session.on('bind_transceiver', (pdu) => {
      const status =
        smsc.bindStatus ?? (pdu.system_id === systemId && pdu.password === password ? ESME_ROK : ESME_RINVPASWD);
      smsc.binds.push({
        session: state.index,
        at: Date.now(),
        system_id: pdu.system_id,
        password: pdu.password,
        system_type: pdu.system_type,
        interface_version: pdu.interface_version,
        status,
      });
      state.bound = status === ESME_ROK;
      if (state.bound) lastBound = session;
      session.send(pdu.response({ command_status: status, system_id: 'TESTSMSC' }));
      if (!state.bound) session.close();
    });
    session.on('submit_sm', (pdu) => onSubmit(session, state, pdu));
    session.on('enquire_link', (pdu) => {
      smsc.enquireLinks.push({ session: state.index, at: Date.now() });
      if (smsc.answerEnquireLink) session.send(pdu.response());
    });
    session.on('deliver_sm_resp', (pdu) => {
      smsc.deliverResponses.push({ sequence: pdu.sequence_number, status: pdu.command_status });
    });
    session.on('unbind', (pdu) => {
      smsc.unbinds.push({ session: state.index, at: Date.now() });
      session.send(pdu.response(), () => session.close());
    });
  }

  smsc.listen = async function listen() {
    server = smpp.createServer(onSession);
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(smsc.port, '127.0.0.1', resolve);
    });
    smsc.port = server.address().port;
  };

  // Every submit_sm the SMSC took (answered ESME_ROK): what goes on to the handset.
  smsc.accepted = () => smsc.submits.filter((s) => s.status === ESME_ROK);

  smsc.raw = (bytes) => lastBound.socket.write(bytes);

  smsc.close = async function close() {
    for (const session of sessions) session.socket.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
    server = null;
  };

  if (options.listen !== false) await smsc.listen();
  return smsc;
}
