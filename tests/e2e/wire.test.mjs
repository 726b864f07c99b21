// Compressed request bodies and WebSockets through gatekeeper: a zstd body (compressed by the zstd
// command-line tool) is decoded, redacted and re-encoded; an npm `ws` client talking to an AI host
// is relayed, and a confidential document sent in a text frame is stopped with close code 1008.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import WebSocket from 'ws';
import { startEnvironment, makeNir } from './lib/harness.mjs';

let env;

before(async () => { env = await startEnvironment(); });
after(async () => { assert.equal(await env.stop(), 0); });

function curl(args, input) {
  return new Promise((resolve) => {
    const child = execFile('curl', ['-sS', '--max-time', '30', '-x', env.proxyUrl, ...args],
      { maxBuffer: 64 << 20, encoding: 'buffer' }, (error, stdout, stderr) =>
        resolve({ code: error ? error.code : 0, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8') }));
    if (input !== undefined) child.stdin.end(input);
  });
}

// A TLS connection to `host` through a CONNECT tunnel of the proxy, trusting gatekeeper's CA.
function tunnel(host) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(env.proxyPort, '127.0.0.1', () =>
      socket.write(`CONNECT ${host}:443 HTTP/1.1\r\nHost: ${host}:443\r\n\r\n`));
    socket.once('error', reject);
    let head = '';
    const onData = (chunk) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (!/^HTTP\/1\.1 200/.test(head)) return reject(new Error(head));
      const secure = tls.connect({ socket, servername: host, ca: readFileSync(env.gatekeeperCa), ALPNProtocols: ['http/1.1'] },
        () => resolve(secure));
      secure.once('error', reject);
    };
    socket.on('data', onData);
  });
}

async function openSocket(path) {
  const secure = await tunnel('api.openai.com');
  const ws = new WebSocket(`wss://api.openai.com${path}`, { createConnection: () => secure, perMessageDeflate: true });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  return ws;
}

const nextMessage = (ws) => new Promise((resolve, reject) => {
  ws.once('message', (data) => resolve(data.toString('utf8')));
  ws.once('close', (code) => reject(new Error(`closed with ${code}`)));
});

test('a zstd-compressed OpenAI request with a NIR is decoded, redacted and re-encoded', async () => {
  const nir = makeNir('1850578006084');
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Vérifie le format de ce numéro de sécurité sociale : ${nir}.` }] });
  const compressed = execFileSync('zstd', ['-q', '-c', '-19'], { input: body });
  const before = env.platform.requestsTo('/v1/chat/completions').length;
  const r = await curl(['--cacert', env.gatekeeperCa, '-H', 'Content-Type: application/json', '-H', 'Content-Encoding: zstd',
    '--data-binary', '@-', 'https://api.openai.com/v1/chat/completions', '-w', '\n%{http_code}'], compressed);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\n200$/);
  const received = env.platform.requestsTo('/v1/chat/completions').slice(before);
  assert.equal(received.length, 1);
  assert.equal(received[0].headers['content-encoding'], 'zstd');
  const sent = JSON.parse(execFileSync('zstd', ['-d', '-c', '-q'], { input: received[0].raw }).toString('utf8'));
  assert.ok(!JSON.stringify(sent).includes(nir));
  assert.match(sent.messages[0].content, /\[NIR_1\]/);
  assert.equal(Number(received[0].headers['content-length']), received[0].raw.length, 'Content-Length fixed');
  const decision = (await env.decisions()).filter((d) => d.path === '/v1/chat/completions').at(-1);
  assert.deepEqual(decision.content_encoding, ['zstd']);
  assert.ok(!env.decisionLogText().includes(nir));
});

test('a truncated gzip body is blocked with an explanation, never forwarded', async () => {
  const compressed = execFileSync('gzip', ['-c'], { input: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'Bonjour' }] }) });
  const before = env.platform.requestsTo('/v1/chat/completions').length;
  const r = await curl(['--cacert', env.gatekeeperCa, '-H', 'Content-Type: application/json', '-H', 'Content-Encoding: gzip',
    '--data-binary', '@-', 'https://api.openai.com/v1/chat/completions', '-w', '\n%{http_code}'], compressed.subarray(0, compressed.length - 6));
  assert.match(r.stdout, /\n403$/);
  assert.match(r.stdout, /truncated or corrupt/);
  assert.equal(env.platform.requestsTo('/v1/chat/completions').length, before);
});

test('a benign WebSocket message passes and the echo comes back (permessage-deflate)', async () => {
  const ws = await openSocket('/v1/realtime?model=gpt-realtime');
  assert.match(ws.extensions, /permessage-deflate/);
  const event = JSON.stringify({ type: 'conversation.item.create',
    item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Quelle est la capitale de la France ?' }] } });
  ws.send(event);
  assert.equal(await nextMessage(ws), `echo: ${event}`);
  ws.send(event);  // again: the client's compressor now refers back to the first message
  assert.equal(await nextMessage(ws), `echo: ${event}`);
  ws.close(1000);
  await new Promise((r) => ws.once('close', r));
  assert.equal(env.platform.wsMessages.filter((m) => m.text === event).length, 2);
});

test('a confidential document in a text frame is stopped with an explanation and close code 1008', async () => {
  const ws = await openSocket('/v1/realtime?model=gpt-realtime');
  const document = 'Relis ce document.\nSTRICTEMENT CONFIDENTIEL - NE PAS DIFFUSER\nRapport interne du comité de direction.';
  const event = JSON.stringify({ type: 'conversation.item.create',
    item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: document }] } });
  const received = [];
  ws.on('message', (data) => received.push(data.toString('utf8')));
  const closed = new Promise((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString('utf8') })));
  const before = env.platform.wsMessages.length;
  ws.send(event);
  const { code, reason } = await closed;
  assert.equal(code, 1008);
  assert.match(reason, /Gatekeeper/);
  assert.equal(received.length, 1);
  const explanation = JSON.parse(received[0]);
  assert.equal(explanation.type, 'error');
  assert.match(explanation.error.message, /bloqué|blocked/i);
  assert.match(explanation.error.reference, /^GK-/);
  assert.equal(env.platform.wsMessages.length, before, 'the document never reached the platform');
  const decision = (await env.decisions()).filter((d) => d.channel === 'websocket').at(-1);
  assert.equal(decision.action, 'block');
  assert.ok(!env.decisionLogText().includes('Rapport interne'));
});
