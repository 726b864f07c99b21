// A local stand-in for AI platforms (OpenAI API, Anthropic API, a ChatGPT-like web chat): real TLS
// with a certificate from the test CA, records every request it receives so tests can assert what
// went upstream — and what did not.
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { WebSocketServer } from 'ws';

const CHAT_PAGE = `<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Fake chat</title>
<style>body{font-family:sans-serif;max-width:820px;margin:2em auto}#answer{white-space:pre-wrap;border:1px solid #ccc;padding:1em;min-height:4em}</style>
</head><body>
<h1>Assistant (test)</h1>
<textarea id="prompt" rows="5" cols="80"></textarea><br><button id="send">Envoyer</button>
<div id="answer"></div>
<script>
// Mimics a chat front-end: posts the prompt as a ChatGPT web conversation request and renders the
// streamed reply, whatever text the events carry (message parts or an error message).
function textOf(event) {
  if (event && event.message && event.message.content && Array.isArray(event.message.content.parts))
    return event.message.content.parts.filter(p => typeof p === 'string').join('');
  if (event && typeof event.v === 'string') return event.v;
  if (event && event.error) return typeof event.error === 'string' ? event.error : (event.error.message || JSON.stringify(event.error));
  if (event && typeof event.message === 'string') return event.message;
  return '';
}
document.getElementById('send').onclick = async () => {
  const out = document.getElementById('answer');
  out.textContent = '';
  const body = {action: 'next', parent_message_id: 'client-created-root', model: 'auto',
    messages: [{id: crypto.randomUUID(), author: {role: 'user'},
      content: {content_type: 'text', parts: [document.getElementById('prompt').value]}}]};
  const res = await fetch('/backend-api/conversation', {method: 'POST',
    headers: {'Content-Type': 'application/json', 'Accept': 'text/event-stream'}, body: JSON.stringify(body)});
  const raw = await res.text();
  let shown = '';
  for (const line of raw.split('\\n')) {
    if (!line.startsWith('data:')) continue;
    const data = line.slice(5).trim();
    if (data === '[DONE]') continue;
    try { const t = textOf(JSON.parse(data)); if (t) shown = t.length >= shown.length ? t : shown + t; } catch (e) { shown += data; }
  }
  if (!shown && res.headers.get('content-type') && res.headers.get('content-type').includes('json')) {
    try { shown = textOf(JSON.parse(raw)); } catch (e) { shown = raw; }
  }
  out.textContent = shown || raw;
  out.dataset.done = 'yes';
};
</script></body></html>`;

export class FakePlatform {
  constructor({ cert, key }) {
    this.requests = [];
    this.gates = [];  // pending stream releases
    this.server = https.createServer({ cert: readFileSync(cert), key: readFileSync(key) },
      (req, res) => this.#handle(req, res));
    // WebSocket endpoints (OpenAI realtime-like): every text message is recorded and echoed.
    this.wsMessages = [];
    this.wsCloseCodes = [];
    this.wss = new WebSocketServer({ noServer: true, perMessageDeflate: true });
    this.server.on('upgrade', (req, socket, head) => {
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', (data, isBinary) => {
          const text = data.toString('utf8');
          this.wsMessages.push({ path: req.url, text, isBinary });
          ws.send(`echo: ${text}`);
        });
        ws.on('close', (code) => this.wsCloseCodes.push(code));
      });
    });
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = this.server.address().port;
    return this;
  }

  async stop() {
    for (const client of this.wss.clients) client.terminate();
    this.server.closeAllConnections?.();
    await new Promise((resolve) => this.server.close(resolve));
  }

  // Returns a promise resolved when a stream handler waits for release(), and the release function.
  holdNextStream() {
    let release;
    const released = new Promise((r) => { release = r; });
    let reached;
    const waiting = new Promise((r) => { reached = r; });
    this.gates.push({ released, reached });
    return { waiting, release };
  }

  requestsTo(path) {
    return this.requests.filter((r) => r.path.split('?')[0] === path);
  }

  async #handle(req, res) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks);
    const body = raw.toString('utf8');
    const record = { host: req.headers.host, method: req.method, path: req.url, headers: req.headers, body, raw };
    this.requests.push(record);
    const path = req.url.split('?')[0];
    let json = null;
    try { json = body ? JSON.parse(body) : null; } catch { /* not JSON */ }

    if (req.method === 'GET' && path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(CHAT_PAGE);
    }
    if (path === '/v1/chat/completions') return this.#openai(json, res);
    if (path === '/v1/messages') return this.#anthropic(json, res);
    if (path === '/backend-api/conversation') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify({ message: { author: { role: 'assistant' }, content: { content_type: 'text', parts: ['Réponse du modèle.'] } } })}\n\n`);
      return res.end('data: [DONE]\n\n');
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, path }));
  }

  async #openai(json, res) {
    const text = 'Bonjour, voici la réponse.';
    if (json && json.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const chunk = (content, finish) => `data: ${JSON.stringify({ id: 'chatcmpl-test', object: 'chat.completion.chunk',
        created: 1, model: json.model, choices: [{ index: 0, delta: content ? { content } : {}, finish_reason: finish }] })}\n\n`;
      res.write(chunk('Bonjour', null));
      const gate = this.gates.shift();
      if (gate) { gate.reached(); await gate.released; }
      res.write(chunk(', voici la réponse.', null));
      res.write(chunk(null, 'stop'));
      this.streamFinishedAt = Date.now();
      return res.end('data: [DONE]\n\n');
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'chatcmpl-test', object: 'chat.completion', created: 1, model: json?.model ?? 'x',
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
  }

  #anthropic(json, res) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'msg_test', type: 'message', role: 'assistant', model: json?.model ?? 'x',
      content: [{ type: 'text', text: 'Bonjour.' }], stop_reason: 'end_turn', stop_sequence: null,
      usage: { input_tokens: 1, output_tokens: 1 } }));
  }
}
