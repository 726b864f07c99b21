// Headless Chromium (Debian's) browsing through gatekeeper: a chat page posts a prompt holding a
// confidential document; the block message must be visible inside the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startEnvironment, makeNir } from './lib/harness.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
let env;
let browser;
let home;

before(async () => {
  env = await startEnvironment();
  // Chromium on Linux trusts the NSS database of $HOME: install the gatekeeper CA there, as
  // docs/operations-ca.md tells users to.
  home = path.join(env.dir, 'home');
  const nssdb = path.join(home, '.pki/nssdb');
  mkdirSync(nssdb, { recursive: true });
  execFileSync('certutil', ['-d', `sql:${nssdb}`, '-N', '--empty-password']);
  execFileSync('certutil', ['-d', `sql:${nssdb}`, '-A', '-t', 'C,,', '-n', 'gatekeeper', '-i', env.gatekeeperCa]);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    env: { ...process.env, HOME: home },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--proxy-server=127.0.0.1:${env.proxyPort}`],
  });
});

after(async () => {
  await browser?.close();
  assert.equal(await env.stop(), 0);
});

async function send(page, prompt) {
  await page.goto('https://chatgpt.com/');
  await page.fill('#prompt', prompt);
  await page.click('#send');
  await page.waitForSelector('#answer[data-done="yes"]', { timeout: 20_000 });
  return page.textContent('#answer');
}

test('a benign prompt gets the model answer', async () => {
  const page = await browser.newPage();
  const answer = await send(page, 'Quelles sont les étapes d\'une revue systématique ?');
  assert.match(answer, /Réponse du modèle/);
  await page.close();
});

test('a confidential document is blocked and the message is shown in the chat', async () => {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  const before = env.platform.requestsTo('/backend-api/conversation').length;
  const answer = await send(page, 'DOCUMENT STRICTEMENT CONFIDENTIEL — Ne pas diffuser\n'
    + `Synthèse pour Mme Durand (NIR ${makeNir('2850675012345')}), suivie pour un lymphome : résumer le compte rendu.`);
  assert.match(answer, /gatekeeper/i);
  assert.match(answer, /bloqu|blocked/i);
  assert.match(answer, /GK-\d{8}-[0-9A-F]+/);
  assert.equal(env.platform.requestsTo('/backend-api/conversation').length, before, 'nothing reached the platform');
  const shot = process.env.GATEKEEPER_SCREENSHOT || path.join(env.dir, 'blocked.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(existsSync(shot));
  await page.close();
});
