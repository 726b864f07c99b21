// A researcher's script using the official SDKs through the proxy, run as its own process so that
// NODE_EXTRA_CA_CERTS (the gatekeeper CA) applies exactly as it does for users.
// Usage: node sdk_client.mjs <openai-chat|openai-stream|anthropic-messages> <proxyUrl> <prompt>
// Prints JSON lines: {"event":"first"|"result"|"error", ...}.
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { ProxyAgent, fetch as undiciFetch } from 'undici';

const [mode, proxyUrl, prompt] = process.argv.slice(2);
const dispatcher = new ProxyAgent(proxyUrl);
const proxiedFetch = (url, init) => undiciFetch(url, { ...init, dispatcher });
const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

try {
  if (mode === 'openai-chat' || mode === 'openai-stream') {
    const client = new OpenAI({ apiKey: 'sk-test-not-a-real-key', fetch: proxiedFetch, maxRetries: 0 });
    const request = { model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'Tu es un assistant.' }, { role: 'user', content: prompt }] };
    if (mode === 'openai-chat') {
      const completion = await client.chat.completions.create(request);
      say({ event: 'result', content: completion.choices[0].message.content });
    } else {
      const stream = await client.chat.completions.create({ ...request, stream: true });
      let text = '';
      let first = true;
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta?.content ?? '';
        text += delta;
        if (first && delta) { say({ event: 'first', content: delta }); first = false; }
      }
      say({ event: 'result', content: text });
    }
  } else if (mode === 'anthropic-messages') {
    const client = new Anthropic({ apiKey: 'sk-ant-test-not-a-real-key', fetch: proxiedFetch, maxRetries: 0 });
    const message = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 256,
      system: 'Tu es un assistant.', messages: [{ role: 'user', content: prompt }] });
    say({ event: 'result', content: message.content.map((b) => b.text ?? '').join('') });
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} catch (error) {
  say({ event: 'error', status: error.status ?? null, name: error.constructor?.name, message: String(error.message ?? error) });
} finally {
  await dispatcher.close();
}
