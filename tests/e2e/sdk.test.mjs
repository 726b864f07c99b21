// The official openai and @anthropic-ai/sdk packages through gatekeeper (undici ProxyAgent,
// NODE_EXTRA_CA_CERTS on the gatekeeper CA), against a local fake platform over real TLS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startEnvironment, makeNir } from './lib/harness.mjs';

const client = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lib/sdk_client.mjs');
let env;

before(async () => { env = await startEnvironment(); });
after(async () => { assert.equal(await env.stop(), 0, 'gatekeeper exits 0 on SIGTERM'); });

// Runs the SDK client; `onEvent` sees each JSON line as it arrives.
function runClient(mode, prompt, onEvent = () => {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [client, mode, env.proxyUrl, prompt], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: env.gatekeeperCa }, stdio: ['ignore', 'pipe', 'pipe'] });
    const events = [];
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const event = JSON.parse(line);
      events.push(event);
      onEvent(event);
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(events) : reject(new Error(`client exit ${code}: ${stderr}`))));
  });
}

const NIR = makeNir('1801275123456');
const spaced = (n) => `${n[0]} ${n.slice(1, 3)} ${n.slice(3, 5)} ${n.slice(5, 7)} ${n.slice(7, 10)} ${n.slice(10, 13)} ${n.slice(13)}`;

test('openai: a benign prompt is forwarded unchanged', async () => {
  const prompt = 'Peux-tu reformuler ce paragraphe sur la méthodologie des essais randomisés ?';
  const before = env.platform.requestsTo('/v1/chat/completions').length;
  const events = await runClient('openai-chat', prompt);
  assert.deepEqual(events.at(-1), { event: 'result', content: 'Bonjour, voici la réponse.' });
  const received = env.platform.requestsTo('/v1/chat/completions').slice(before);
  assert.equal(received.length, 1);
  assert.equal(JSON.parse(received[0].body).messages[1].content, prompt);
});

test('openai: a NIR is redacted before it reaches the platform', async () => {
  // An administrative use of a NIR (no health content): the policy redacts it rather than blocking.
  const prompt = `Complète ce formulaire de remboursement de frais de mission : agent NIR ${spaced(NIR)}, mission à Lyon.`;
  const before = env.platform.requestsTo('/v1/chat/completions').length;
  const events = await runClient('openai-chat', prompt);
  assert.equal(events.at(-1).event, 'result');
  const received = env.platform.requestsTo('/v1/chat/completions').slice(before);
  assert.equal(received.length, 1);
  const sent = JSON.parse(received[0].body).messages[1].content;
  assert.ok(!sent.replace(/\s/g, '').includes(NIR), 'the NIR digits never reach the platform');
  assert.match(sent, /\[NIR_1\]/);
  assert.ok(!env.auditTrailText().replace(/\s/g, '').includes(NIR), 'the audit trail holds no raw NIR');
});

test('openai: a confidential document is blocked and the SDK error explains why', async () => {
  const prompt = 'STRICTEMENT CONFIDENTIEL — Ne pas diffuser\nCompte rendu du comité de pilotage : le partenaire industriel propose une licence exclusive sur la molécule GK-17.';
  const before = env.platform.requests.length;
  const events = await runClient('openai-chat', prompt);
  const last = events.at(-1);
  assert.equal(last.event, 'error');
  assert.equal(last.status, 403);
  assert.match(last.message, /confidenti/i);
  assert.match(last.message, /GK-\d{8}-[0-9A-F]+/, 'the message gives a reference id');
  assert.equal(env.platform.requests.length, before, 'nothing reached the platform');
});

test('openai: an SSE stream reaches the client incrementally', async () => {
  const hold = env.platform.holdNextStream();
  let releasedBeforeFirst = null;
  let released = false;
  const events = await runClient('openai-stream', 'Explique le principe d\'une méta-analyse.', (event) => {
    if (event.event === 'first') {
      releasedBeforeFirst = released;
      released = true;
      hold.release();
    }
  });
  assert.equal(releasedBeforeFirst, false, 'the first token arrived while the upstream was still holding the stream');
  assert.deepEqual(events.at(-1), { event: 'result', content: 'Bonjour, voici la réponse.' });
});

test('anthropic: a benign prompt is forwarded, a NIR redacted, a confidential document blocked', async () => {
  let before = env.platform.requestsTo('/v1/messages').length;
  let events = await runClient('anthropic-messages', 'Traduis en anglais : « les résultats sont encourageants ».');
  assert.deepEqual(events.at(-1), { event: 'result', content: 'Bonjour.' });
  let received = env.platform.requestsTo('/v1/messages').slice(before);
  assert.equal(JSON.parse(received[0].body).messages[0].content, 'Traduis en anglais : « les résultats sont encourageants ».');

  before = received.length + before;
  events = await runClient('anthropic-messages', `Formulaire d'adhésion à la mutuelle : numéro de sécurité sociale ${NIR}, traduis-le en anglais.`);
  assert.equal(events.at(-1).event, 'result');
  received = env.platform.requestsTo('/v1/messages').slice(before);
  assert.equal(received.length, 1);
  assert.ok(!received[0].body.includes(NIR));

  const count = env.platform.requests.length;
  events = await runClient('anthropic-messages', 'CONFIDENTIAL — Internal use only\nDraft licensing terms for the patent pending compound.');
  const last = events.at(-1);
  assert.equal(last.event, 'error');
  assert.equal(last.status, 403);
  assert.match(last.message, /confidential/i);
  assert.equal(env.platform.requests.length, count);
});
