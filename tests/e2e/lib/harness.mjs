// Starts the real gatekeeper binary and the fake platforms on 127.0.0.1 for one test file, and
// stops everything afterwards.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeCa, makeServerCert } from './pki.mjs';
import { FakePlatform } from './fake_platform.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const sourceDir = path.resolve(here, '../../..');
export const binary = process.env.GATEKEEPER_BINARY || path.join(sourceDir, 'build/gatekeeper');

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForHealth(port, child, log) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`gatekeeper exited with ${child.exitCode}:\n${log()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.status === 200) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gatekeeper not healthy after 30 s:\n${log()}`);
}

// Hosts of the shipped platforms.yaml that the tests route to the fake platform.
export const AI_HOSTS = ['api.openai.com', 'api.anthropic.com', 'chatgpt.com'];

// extraHosts: more host names served by the fake platform (e.g. a platform's storage host).
// `beforeStart({ dir, dataDir })` runs before gatekeeper starts (to write a config or seed data).
export async function startEnvironment({ extraArgs = [], extraHosts = [], beforeStart } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatekeeper-e2e-'));
  const publicCa = makeCa(dir, 'public');
  const rogueCa = makeCa(dir, 'rogue');
  const platformCert = makeServerCert(dir, 'platform', publicCa, [...AI_HOSTS, ...extraHosts, 'tunnel.example.test', 'localhost']);
  const rogueCert = makeServerCert(dir, 'rogue-platform', rogueCa, ['api.mistral.ai']);

  const platform = await new FakePlatform(platformCert).start();
  const roguePlatform = await new FakePlatform(rogueCert).start();
  const proxyPort = await freePort();
  const adminPort = await freePort();
  const dataDir = path.join(dir, 'data');
  const extra = beforeStart ? [...extraArgs, ...((await beforeStart({ dir, dataDir })) || [])] : extraArgs;

  const args = ['run', '--listen', `127.0.0.1:${proxyPort}`, '--admin-listen', `127.0.0.1:${adminPort}`,
    '--data-dir', dataDir, '--upstream-ca', publicCa.cert,
    ...[...AI_HOSTS, ...extraHosts].flatMap((h) => ['--connect-to', `${h}:443:127.0.0.1:${platform.port}`]),
    '--connect-to', `tunnel.example.test:443:127.0.0.1:${platform.port}`,
    '--connect-to', `api.mistral.ai:443:127.0.0.1:${roguePlatform.port}`,
    ...extra];
  let output = '';
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  await waitForHealth(adminPort, child, () => output);

  const gatekeeperCa = path.join(dir, 'gatekeeper-ca.pem');
  writeFileSync(gatekeeperCa, execFileSync(binary, ['ca', 'export', '--data-dir', dataDir]));

  return {
    dir, dataDir, platform, roguePlatform, proxyPort, adminPort, publicCa, gatekeeperCa,
    proxyUrl: `http://127.0.0.1:${proxyPort}`,
    output: () => output,
    // The request records of the audit trail, oldest first, as their bodies (the decision
    // fields). The writer commits in the background just after the exchange: read until two
    // reads 150 ms apart agree.
    async decisions() {
      const read = () => execFileSync(binary, ['audit', 'list', '--data-dir', dataDir, '--kind', 'request',
        '--format', 'jsonl', '--limit', '0'], { encoding: 'utf8' })
        .split('\n').filter(Boolean).map((line) => JSON.parse(line).body).reverse();
      let previous = read();
      for (let i = 0; i < 30; ++i) {
        await new Promise((r) => setTimeout(r, 150));
        const current = read();
        if (current.length === previous.length) return current;
        previous = current;
      }
      return previous;
    },
    decisionLogText() {
      return this.auditTrailText();
    },
    // Every file of the audit trail (SQLite database and its WAL, writer spool), as raw bytes
    // read as text: a raw value anywhere in them would show up here.
    auditTrailText() {
      return ['audit.db', 'audit.db-wal', 'audit-spool.jsonl']
        .map((name) => path.join(dataDir, name))
        .filter((file) => existsSync(file))
        .map((file) => readFileSync(file).toString('latin1'))
        .join('\n');
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      await platform.stop();
      await roguePlatform.stop();
      rmSync(dir, { recursive: true, force: true });
      return child.exitCode;
    },
  };
}

// A NIR with a valid key (97 - (N mod 97)), computed rather than copied.
export function makeNir(body13) {
  const key = 97 - Number(BigInt(body13) % 97n);
  return body13 + String(key).padStart(2, '0');
}
