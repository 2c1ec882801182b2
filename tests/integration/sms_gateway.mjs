// A Kannel-style sendsms endpoint on loopback for the SMS tests: records each request's query
// parameters and answers with gw.status (202 "Accepted for delivery" by default).
import http from 'node:http';

export async function startSmsGateway() {
  const gw = { status: 202, requests: [] };
  gw.server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    gw.requests.push(Object.fromEntries(url.searchParams));
    res.writeHead(gw.status, { 'content-type': 'text/plain' });
    res.end(gw.status < 300 ? '0: Accepted for delivery' : 'refused');
  });
  await new Promise((resolve) => gw.server.listen(0, '127.0.0.1', resolve));
  gw.url = `http://127.0.0.1:${gw.server.address().port}/cgi-bin/sendsms`;
  gw.close = () => new Promise((resolve) => gw.server.close(resolve));
  return gw;
}

/** The topupd config lines that send SMS through gw (Kannel style), in English. */
export function smsSettings(gw, passwordFile, extra = []) {
  return [
    'sms.transport = http', 'sms.http_style = kannel', `sms.url = ${gw.url}`,
    'sms.username = topup', `sms.password = ${passwordFile}`, 'sms.source_addr = 10086',
    'sms.lang = en', ...extra, '',
  ].join('\n');
}
