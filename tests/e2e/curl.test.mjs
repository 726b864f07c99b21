// curl through gatekeeper: interception of AI hosts, blind tunnels for everything else, fail-closed
// upstream TLS, and precise answers to bad input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { startEnvironment, makeNir, freePort } from './lib/harness.mjs';

let env;
let closedPort;

before(async () => {
  closedPort = await freePort();
  env = await startEnvironment({ extraArgs: ['--connect-to', `api.deepseek.com:443:127.0.0.1:${closedPort}`] });
});
after(async () => { assert.equal(await env.stop(), 0); });

function curl(args, input) {
  return new Promise((resolve) => {
    const child = execFile('curl', ['-sS', '--max-time', '30', '-x', env.proxyUrl, ...args],
      { maxBuffer: 64 << 20, encoding: 'utf8' }, (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }));
    if (input !== undefined) { child.stdin.end(input); }
  });
}

// Sends raw bytes to the proxy and returns the whole answer.
function raw(bytes) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(env.proxyPort, '127.0.0.1', () => socket.write(bytes));
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (d) => { answer += d; });
    socket.on('end', () => resolve(answer));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.setTimeout(20_000, () => { socket.destroy(); resolve(answer); });
  });
}

const chat = (content) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });

test('an AI API request is intercepted with the gatekeeper CA and a NIR is redacted', async () => {
  const nir = makeNir('2550814168025');
  const before = env.platform.requestsTo('/v1/chat/completions').length;
  const r = await curl(['--cacert', env.gatekeeperCa, '-H', 'Content-Type: application/json', '-H', 'Authorization: Bearer sk-test',
    '--data-binary', '@-', 'https://api.openai.com/v1/chat/completions', '-w', '\n%{http_code}'],
  chat(`Vérifie le format de ce numéro de sécurité sociale : ${nir}.`));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\n200$/);
  const received = env.platform.requestsTo('/v1/chat/completions').slice(before);
  assert.equal(received.length, 1);
  const sent = JSON.parse(received[0].body);
  assert.ok(!received[0].body.includes(nir));
  assert.match(sent.messages[0].content, /\[NIR_1\]/);
  assert.equal(Number(received[0].headers['content-length']), Buffer.byteLength(received[0].body), 'Content-Length fixed');
});

test('a non-AI host is tunnelled without interception (its own certificate is seen)', async () => {
  const before = env.platform.requests.length;
  // Verifies against the platform's real CA: it would fail if gatekeeper presented its own certificate.
  const r = await curl(['--cacert', env.publicCa.cert, 'https://tunnel.example.test/hello']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { ok: true, path: '/hello' });
  assert.equal(env.platform.requests.length, before + 1);
  // And the gatekeeper CA does not verify it.
  const intercepted = await curl(['--cacert', env.gatekeeperCa, 'https://tunnel.example.test/hello']);
  assert.notEqual(intercepted.code, 0);
});

test('an upstream with an untrusted certificate is refused with 502, never forwarded insecurely', async () => {
  const before = env.roguePlatform.requests.length;
  const r = await curl(['--cacert', env.gatekeeperCa, '-H', 'Content-Type: application/json', '--data-binary', '@-',
    'https://api.mistral.ai/v1/chat/completions', '-w', '\n%{http_code}'], chat('Bonjour'));
  assert.match(r.stdout, /\n502$/);
  assert.match(r.stdout, /certificat|certificate/i);
  assert.equal(env.roguePlatform.requests.length, before);
});

test('an unreachable upstream gives 502 with an explanation', async () => {
  const r = await curl(['--cacert', env.gatekeeperCa, '-H', 'Content-Type: application/json', '--data-binary', '@-',
    'https://api.deepseek.com/chat/completions', '-w', '\n%{http_code}'], chat('Bonjour'));
  assert.match(r.stdout, /\n50[24]$/);
});

test('an oversized body to an AI host is refused with 413 and nothing is forwarded', async () => {
  const before = env.platform.requests.length;
  const big = chat('a '.repeat(9 << 20));
  const r = await curl(['--cacert', env.gatekeeperCa, '-H', 'Content-Type: application/json', '--data-binary', '@-',
    'https://api.openai.com/v1/chat/completions', '-w', '\n%{http_code}'], big);
  assert.match(r.stdout, /\n413$/);
  assert.equal(env.platform.requests.length, before);
});

test('malformed HTTP gets 400 and oversized headers 431', async () => {
  const bad = await raw('THIS IS NOT HTTP\r\n\r\n');
  assert.match(bad, /^HTTP\/1\.1 400 /);
  const huge = await raw(`GET http://example.test/ HTTP/1.1\r\nHost: example.test\r\nX-Big: ${'x'.repeat(200_000)}\r\n\r\n`);
  assert.match(huge, /^HTTP\/1\.1 431 /);
});

test('the PAC file routes only AI platforms through the proxy', async () => {
  const res = await fetch(`${env.proxyUrl}/proxy.pac`);
  assert.equal(res.status, 200);
  const pac = await res.text();
  assert.match(pac, /FindProxyForURL/);
  assert.match(pac, /api\.openai\.com/);
  assert.match(pac, /DIRECT/);
});

test('metrics count decisions by action', async () => {
  const res = await fetch(`http://127.0.0.1:${env.adminPort}/metrics`);
  const text = await res.text();
  assert.match(text, /gatekeeper_decisions_total\{action="redact"/);
});

test('a named patient with clinical content is blocked, with the platform error shape and a reference', async () => {
  const before = env.platform.requests.length;
  const r = await curl(['--cacert', env.gatekeeperCa, '-H', 'Content-Type: application/json', '--data-binary', '@-',
    'https://api.openai.com/v1/chat/completions', '-w', '\n%{http_code}'],
  chat(`Mme Martin, NIR ${makeNir('2550814168025')}, est suivie pour un lymphome : rédige le courrier de liaison.`));
  assert.match(r.stdout, /\n403$/);
  const body = JSON.parse(r.stdout.replace(/\n403$/, ''));
  assert.equal(body.error.code, 'blocked_by_policy');
  assert.match(body.error.message, /GK-\d{8}-[0-9A-F]+/);
  assert.ok(!r.stdout.includes('2550814168025'), 'the reply never echoes the value');
  assert.equal(env.platform.requests.length, before);
});
