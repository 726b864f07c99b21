// The DPO's review console in headless Chromium (Debian's): login, filter, open a record, triage,
// export, logout, and requests without a session refused; a researcher's false-positive report
// sent from the link of a real block message. Screenshots: GATEKEEPER_SCREENSHOT_DIR (default: the
// test's temporary directory; docs/screenshots/ holds the committed ones).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, execFile } from 'node:child_process';
import { writeFileSync, readFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startEnvironment, sourceDir } from './lib/harness.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SEED = process.env.GATEKEEPER_SEED_AUDIT || path.join(sourceDir, 'build/tests/gatekeeper_seed_audit');
const PASSWORD = 'mot de passe du DPO pour le test';
let env;
let browser;
let shots;
let consoleUrl;

before(async () => {
  env = await startEnvironment({
    beforeStart: ({ dir, dataDir }) => {
      // Sample request records (masked, HMACed) as the proxy writes them, in the chain "e2e".
      execFileSync(SEED, [dataDir, 'e2e']);
      const hash = execFileSync('openssl', ['passwd', '-6', '-stdin'], { input: PASSWORD }).toString().trim();
      const config = path.join(dir, 'gatekeeper.yaml');
      writeFileSync(config, [
        `rules_dir: ${JSON.stringify(path.join(sourceDir, 'rules'))}`,
        `policy_file: ${JSON.stringify(path.join(sourceDir, 'config/policy.yaml'))}`,
        `platforms_file: ${JSON.stringify(path.join(sourceDir, 'config/platforms.yaml'))}`,
        'watch_files: false',
        'audit:',
        '  instance: e2e',
        'console:',
        `  password_hash: ${JSON.stringify(hash)}`,
        '  session_lifetime: 1h',
        '',
      ].join('\n'));
      return ['--config', config];
    },
  });
  consoleUrl = `http://127.0.0.1:${env.adminPort}`;
  shots = process.env.GATEKEEPER_SCREENSHOT_DIR || path.join(env.dir, 'screenshots');
  mkdirSync(shots, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  assert.equal(await env.stop(), 0);
});

function curl(args, input) {
  return new Promise((resolve) => {
    const child = execFile('curl', ['-sS', '--max-time', '30', '-x', env.proxyUrl, ...args],
      { encoding: 'utf8' }, (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }));
    if (input !== undefined) child.stdin.end(input);
  });
}

test('without a session, pages lead to the login form and exports are refused', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${consoleUrl}/console/records`);
  assert.match(page.url(), /\/console\/login$/);
  assert.equal(await page.locator('#records').count(), 0);
  assert.doesNotMatch(await page.content(), /GK-20261118/);
  const csv = await fetch(`${consoleUrl}/console/export.csv`, { redirect: 'manual' });
  assert.equal(csv.status, 401);
  const triage = await fetch(`${consoleUrl}/console/record/1/triage`, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'verdict=confirmed',
  });
  assert.equal(triage.status, 403);
  await context.close();
});

test('the DPO logs in, filters, opens a record, triages it, exports and logs out', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(`${consoleUrl}/console/`);
  assert.match(page.url(), /\/console\/login$/);
  await page.fill('#password', 'pas le bon mot de passe');
  await page.click('#login');
  assert.match(await page.textContent('#message'), /incorrect/);
  await page.fill('#password', PASSWORD);
  await page.click('#login');
  await page.waitForURL(`${consoleUrl}/console/`);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'gk_session');
  assert.ok(session, 'session cookie');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');

  // Overview: the seeded records are from 2026-11-18..22, show the whole period.
  await page.goto(`${consoleUrl}/console/?since=2026-11-01`);
  assert.equal(await page.textContent('#total b'), '6');
  assert.equal(await page.locator('#chart-days svg rect').count() > 0, true);
  assert.match(await page.textContent('#chart-categories'), /health_identifier/);
  await page.screenshot({ path: path.join(shots, 'console-overview.png'), fullPage: true });

  // Filter: ChatGPT only.
  await page.click('nav >> text=Journal');
  await page.selectOption('#f-platform', 'chatgpt');
  await page.click('#apply-filter');
  await page.waitForURL(/platform=chatgpt/);
  const rows = await page.locator('#records tbody tr').allTextContents();
  assert.equal(rows.length, 3);
  for (const row of rows) assert.match(row, /chatgpt/);
  assert.doesNotMatch(rows.join('\n'), /GK-20261119-1B22D4/);
  await page.screenshot({ path: path.join(shots, 'console-list.png'), fullPage: true });

  // Open a record: masked excerpt, rule, chain status.
  await page.click('text=GK-20261122-4E55A7');
  await page.waitForURL(/\/console\/record\/\d+$/);
  const detail = await page.textContent('main');
  assert.match(detail, /fr\.nir/);
  assert.match(detail, /\*/);
  assert.doesNotMatch(detail, /2 85 06 75 012 345 19|2850675012345/, 'no raw value');
  assert.equal(await page.textContent('#hash-status'), 'conforme');
  assert.match(await page.textContent('#link-status'), /relié au n°/);

  // Triage: faux positif, with a comment; the verdict shows in the history and in the list.
  await page.check('#verdict-fp');
  await page.fill('#comment', 'Numéro fictif utilisé en formation.');
  await page.click('#triage-submit');
  await page.waitForSelector('#triage-saved');
  assert.match(await page.textContent('#history'), /faux positif/);
  assert.match(await page.textContent('#history'), /Numéro fictif/);
  await page.screenshot({ path: path.join(shots, 'console-detail.png'), fullPage: true });
  await page.goto(`${consoleUrl}/console/records?triage=false_positive`);
  const triaged = await page.locator('#records tbody tr').allTextContents();
  assert.equal(triaged.length, 1);
  assert.match(triaged[0], /GK-20261122-4E55A7/);

  // Export of the current filter.
  await page.goto(`${consoleUrl}/console/records?platform=chatgpt`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  const csv = readFileSync(await download.path(), 'utf8');
  const lines = csv.split('\r\n').filter(Boolean);
  assert.match(lines[0], /^id,time,reference,/);
  assert.equal(lines.length, 4);
  assert.ok(lines.slice(1).every((l) => l.includes(',chatgpt,')));
  assert.match(csv, /GK-20261122-4E55A7.*false_positive/);

  // Logout: the session is gone on the server too.
  await page.click('#logout');
  await page.waitForURL(/\/console\/login/);
  await page.goto(`${consoleUrl}/console/`);
  assert.match(page.url(), /\/console\/login$/);
  const replay = await fetch(`${consoleUrl}/console/`, { redirect: 'manual', headers: { cookie: `gk_session=${session.value}` } });
  assert.equal(replay.status, 302);
  await context.close();
});

test('a researcher reports a false positive from the link of a real block message', async () => {
  const r = await curl(['--cacert', env.gatekeeperCa, '-H', 'Content-Type: application/json', '-H', 'Authorization: Bearer sk-test',
    '--data-binary', '@-', 'https://api.openai.com/v1/chat/completions'],
  JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'DOCUMENT STRICTEMENT CONFIDENTIEL — Ne pas diffuser. Résume ce rapport.' }] }));
  assert.equal(r.code, 0, r.stderr);
  const message = JSON.parse(r.stdout).error.message;
  const link = message.match(/Signaler un faux positif : (\S+)/);
  assert.ok(link, message);
  assert.ok(link[1].startsWith(`${consoleUrl}/signaler?ref=GK-`));
  const reference = new URL(link[1]).searchParams.get('ref');

  const researcher = await browser.newContext();
  const page = await researcher.newPage();
  await page.goto(link[1]);
  assert.equal(await page.textContent('#reference'), reference);
  await page.selectOption('#reason', 'fictitious_data');
  await page.fill('#comment', 'Document de démonstration.');
  await page.click('#send-report');
  await page.waitForSelector('#report-done');
  await researcher.close();

  // The DPO sees it.
  const dpo = await browser.newContext();
  const dpoPage = await dpo.newPage();
  await dpoPage.goto(`${consoleUrl}/console/login`);
  await dpoPage.fill('#password', PASSWORD);
  await dpoPage.click('#login');
  await dpoPage.waitForURL(`${consoleUrl}/console/`);
  await dpoPage.goto(`${consoleUrl}/console/reports`);
  const reports = await dpoPage.textContent('#reports');
  assert.ok(reports.includes(reference), reports);
  assert.match(reports, /Données fictives/);
  await dpo.close();
});
