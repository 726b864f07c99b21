// Attached files through gatekeeper: uploads to a platform's storage host and multipart uploads to
// an API host are read (docx, pdf) and blocked when they carry sensitive data; benign twins pass.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { startEnvironment, sourceDir } from './lib/harness.mjs';

const STORAGE_HOST = 'files.oaiusercontent.com';  // ChatGPT's upload host in config/platforms.yaml
const fixtures = path.join(sourceDir, 'tests', 'fixtures', 'files');
const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
let env;

before(async () => { env = await startEnvironment({ extraHosts: [STORAGE_HOST] }); });
after(async () => { assert.equal(await env.stop(), 0); });

function curl(args) {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '60', '-x', env.proxyUrl, '--cacert', env.gatekeeperCa, ...args, '-w', '\n%{http_code}'],
      { maxBuffer: 64 << 20, encoding: 'utf8' },
      (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr, status: Number(stdout.split('\n').pop()) }));
  });
}

const putToStorage = (file) => curl(['-X', 'PUT', '-H', `Content-Type: ${DOCX}`, '-H', 'x-ms-blob-type: BlockBlob',
  '--data-binary', `@${path.join(fixtures, file)}`, `https://${STORAGE_HOST}/file-e2e?se=2026-11-22&sig=abc`]);

const lastDecision = async () => (await env.decisions()).at(-1);

test('a docx with a NIR and a Confidentiel label uploaded to the storage host is blocked', async () => {
  const before = env.platform.requestsTo('/file-e2e').length;
  const r = await putToStorage('sensitive.docx');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.status, 403, r.stdout);
  assert.match(r.stdout, /Gatekeeper/);
  assert.equal(env.platform.requestsTo('/file-e2e').length, before, 'nothing reached the storage host');
  const decision = await lastDecision();
  assert.equal(decision.host, STORAGE_HOST);
  assert.equal(decision.action, 'block');
  assert.equal(decision.files[0].format, 'docx');
  assert.ok(decision.files[0].findings.some((f) => f.category === 'confidential' && f.where.startsWith('properties')));
  assert.ok(!env.decisionLogText().includes('084 41'), 'no raw value in the decision log');
});

test('its benign twin is forwarded byte for byte', async () => {
  const before = env.platform.requestsTo('/file-e2e').length;
  const r = await putToStorage('benign.docx');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.status, 200, r.stdout);
  const received = env.platform.requestsTo('/file-e2e').slice(before);
  assert.equal(received.length, 1);
  assert.equal(Number(received[0].headers['content-length']), statSync(path.join(fixtures, 'benign.docx')).size);
  assert.equal((await lastDecision()).files[0].format, 'docx');
});

test('a multipart upload of a patient report PDF to the OpenAI API is blocked, the benign one passes', async () => {
  const before = env.platform.requestsTo('/v1/files').length;
  const blocked = await curl(['-H', 'Authorization: Bearer sk-test', '-F', 'purpose=user_data',
    '-F', `file=@${path.join(fixtures, 'sensitive.pdf')};type=application/pdf`, 'https://api.openai.com/v1/files']);
  assert.equal(blocked.code, 0, blocked.stderr);
  assert.equal(blocked.status, 403, blocked.stdout);
  assert.match(blocked.stdout, /patient|NIR|identifiant/i);
  assert.equal(env.platform.requestsTo('/v1/files').length, before);
  assert.equal((await lastDecision()).files[0].format, 'pdf');

  const passed = await curl(['-H', 'Authorization: Bearer sk-test', '-F', 'purpose=user_data',
    '-F', `file=@${path.join(fixtures, 'benign.pdf')};type=application/pdf`, 'https://api.openai.com/v1/files']);
  assert.equal(passed.code, 0, passed.stderr);
  assert.equal(passed.status, 200, passed.stdout);
  assert.equal(env.platform.requestsTo('/v1/files').length, before + 1);
});

test('a zip bomb disguised as a docx is blocked and the limit is named', async () => {
  const zlib = await import('node:zlib');
  const data = Buffer.alloc(32 << 20, 0x30);
  const packed = zlib.deflateRawSync(data, { level: 9 });
  const name = Buffer.from('word/document.xml');
  const u16 = (v) => { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; };
  const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };
  const crc = zlib.crc32 ? zlib.crc32(data) : 0;
  const local = Buffer.concat([u32(0x04034b50), u16(20), u16(0), u16(8), u16(0), u16(0), u32(crc), u32(packed.length), u32(data.length), u16(name.length), u16(0), name, packed]);
  const central = Buffer.concat([u32(0x02014b50), u16(20), u16(20), u16(0), u16(8), u16(0), u16(0), u32(crc), u32(packed.length), u32(data.length), u16(name.length), u16(0), u16(0), u16(0), u16(0), u32(0), u32(0), name]);
  const end = Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(1), u16(1), u32(central.length), u32(local.length), u16(0)]);
  const { writeFileSync } = await import('node:fs');
  const bomb = path.join(env.dir, 'bomb.docx');
  writeFileSync(bomb, Buffer.concat([local, central, end]));
  const r = await curl(['-X', 'PUT', '-H', `Content-Type: ${DOCX}`, '--data-binary', `@${bomb}`, `https://${STORAGE_HOST}/file-bomb`]);
  assert.equal(r.status, 403, r.stdout);
  assert.match(r.stdout, /max_compression_ratio/);
  assert.equal(env.platform.requestsTo('/file-bomb').length, 0);
});
