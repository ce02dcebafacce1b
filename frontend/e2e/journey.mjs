// The dashboard's end-to-end journey in headless Chromium (Debian's, driven
// by playwright-core), against a running local runner at BASE_URL — see
// scripts/e2e.sh, which starts one. Each step asserts what the page shows
// and saves a screenshot under test-results/screenshots/.
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { axeViolations } from './axe.mjs';
import { assertPolicy, watchViolations } from './csp.mjs';
import { focusFailures } from './focus.mjs';
import { RECEIVER_SECRET } from './standins.mjs';

const BASE = process.env.BASE_URL;
if (!BASE) {
  console.error('BASE_URL is not set: run scripts/e2e.sh, or start `make run` and set BASE_URL=http://127.0.0.1:3000');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const SHOTS = join(here, '..', 'test-results', 'screenshots');
rmSync(SHOTS, { recursive: true, force: true });
mkdirSync(SHOTS, { recursive: true });

const TIMEOUT = 10_000;
const results = [];
const pageErrors = [];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
context.setDefaultTimeout(TIMEOUT);
const cspViolations = await watchViolations(context);
const page = await context.newPage();
page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
page.on('console', (m) => {
  // A 404 from a route that has not landed yet is expected and handled.
  if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) pageErrors.push(`console: ${m.text()}`);
});

let shot = 0;
async function screenshot(name, opts = {}) {
  shot += 1;
  const file = join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`);
  // From the top, so the sticky header sits where a person sees it.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled', ...opts });
}

async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true, ms: Date.now() - t0 });
    console.log(`  ✓ ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push({ name, ok: false, ms: Date.now() - t0 });
    console.log(`  ✗ ${name}`);
    await page.screenshot({ path: join(SHOTS, `FAILED-${name.replace(/\W+/g, '-')}.png`), fullPage: true }).catch(() => {});
    throw e;
  }
}

/** Waits until the locator's text matches. */
async function expectText(locator, re, timeout = TIMEOUT) {
  const until = Date.now() + timeout;
  let last = '';
  while (Date.now() < until) {
    last = (await locator.first().textContent().catch(() => null)) ?? '';
    if (re.test(last)) return last;
    await page.waitForTimeout(100);
  }
  throw new Error(`expected ${re} in ${locator}, got ${JSON.stringify(last.slice(0, 300))}`);
}

/** Waits until the input's value is the one given. */
async function expectValue(locator, want, timeout = TIMEOUT) {
  const until = Date.now() + timeout;
  let last = '';
  while (Date.now() < until) {
    last = await locator.inputValue().catch(() => '');
    if (last === want) return;
    await page.waitForTimeout(100);
  }
  throw new Error(`expected ${JSON.stringify(want)} in ${locator}, got ${JSON.stringify(last)}`);
}

async function expectCount(locator, n, timeout = TIMEOUT) {
  const until = Date.now() + timeout;
  let c = -1;
  while (Date.now() < until) {
    c = await locator.count();
    if (c === n) return;
    await page.waitForTimeout(100);
  }
  throw new Error(`expected ${n} of ${locator}, found ${c}`);
}

/** axe-core on the page as it stands, light and dark, 1280 and 360 px: no serious or critical violation. */
const a11yFailures = [];
async function accessible(state) {
  const found = await axeViolations(page);
  if (found.length) a11yFailures.push(`${state}:\n    ${found.join('\n    ')}`);
  console.log(`    axe: ${state}: ${found.length ? `${found.length} serious/critical` : 'clean'}`);
}

const heading = (name) => page.getByRole('heading', { level: 1, name });
const rows = () => page.locator('[data-testid="gateway-row"]');
const badge = () => page.locator('.detail-header [data-testid="status-badge"]');
const user = `alice-${Date.now().toString(36)}`;
const t0 = Date.now();

console.log(`journey against ${BASE}`);
try {
  await step('sign in as a development user', async () => {
    const shell = await page.goto(`${BASE}/`);
    console.log(`    Content-Security-Policy: ${assertPolicy(shell)}`);
    assertPolicy(await page.request.get(`${BASE}/gateways/some-client-route`));
    await heading('Sign in').waitFor();
    await screenshot('sign-in');
    await accessible('sign-in');
    await page.getByLabel('User ID').fill(user);
    await page.getByLabel('Organisations').fill('acme, beta');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await heading('Gateways').waitFor();
    await expectText(page.locator('.page-subtitle'), /Gateways of acme/);
    await expectText(page.locator('[data-testid="user-name"]'), new RegExp(user));
    assert.equal(await page.getByTestId('org-switcher').inputValue(), 'acme');
    const stored = await page.evaluate(() => sessionStorage.getItem('gatehouse.session'));
    assert.ok(stored && JSON.parse(stored).token, 'the token is kept in sessionStorage');
    assert.ok(!page.url().includes('token'), 'the token is never in the URL');
  });

  await step('empty list leads to "Add gateway"', async () => {
    await page.getByRole('heading', { name: 'No gateways yet' }).waitFor();
    await screenshot('list-empty');
    await accessible('empty list');
  });

  // The dashboard builds its forms from GET /api/providers alone (it keeps
  // no copy of its own), so the journey needs the server to answer it.
  const providersStatus = await page.evaluate(async () => {
    const s = JSON.parse(sessionStorage.getItem('gatehouse.session'));
    const r = await fetch('/api/providers', { headers: { Authorization: `Bearer ${s.token}` } });
    return r.status;
  });
  assert.equal(providersStatus, 200, 'GET /api/providers answers');
  const AI_BASE_URL = process.env.AI_BASE_URL ?? '';
  // The Telegram stand-in (standins.mjs or `make standins`), whose
  // /_standin/telegram/webhooks tells the secret Gatehouse registered.
  const TELEGRAM_STANDIN_URL = process.env.TELEGRAM_STANDIN_URL ?? '';
  // The webhook receiver stand-in, which checks signatures made with
  // RECEIVER_SECRET and lists what it got at /_standin/receiver/requests.
  const RECEIVER_URL = process.env.RECEIVER_URL ?? '';
  /** Calls the API with the page's own token and organisation. */
  const callApi = (method, path, body) => page.evaluate(async ({ method, path, body }) => {
    const s = JSON.parse(sessionStorage.getItem('gatehouse.session'));
    const h = { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json' };
    const org = sessionStorage.getItem('gatehouse.org');
    if (org) h['X-Organization-Id'] = org;
    const r = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  }, { method, path, body });
  /** Posts an update to the bot's webhook as Telegram would, with the secret the stand-in recorded. */
  const postUpdate = async (botId, update) => {
    const hooks = await (await fetch(`${TELEGRAM_STANDIN_URL}/_standin/telegram/webhooks`)).json();
    const secret = hooks.setWebhookCalls?.findLast((c) => String(c.params?.url).endsWith(`/api/webhooks/telegram/${botId}`))?.params.secret_token;
    assert.ok(secret, `the Telegram stand-in recorded no setWebhook with a secret for ${botId}`);
    const r = await fetch(`${BASE}/api/webhooks/telegram/${botId}`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Telegram-Bot-Api-Secret-Token': secret }, body: JSON.stringify(update),
    });
    assert.equal(r.status, 200, `the webhook answered ${r.status}: ${await r.text()}`);
  };

  await step('add a Telegram gateway (client checks, then create)', async () => {
    await page.locator('.empty').getByRole('link', { name: 'Add gateway' }).click();
    await heading('Add gateway').waitFor();
    await page.getByRole('radio', { name: /Telegram Bot/ }).click();
    await page.getByLabel('Name').fill('Support bot');
    await page.getByLabel('Bot token').fill('12345:too-short');
    await page.getByRole('button', { name: 'Create gateway' }).click();
    await expectText(page.locator('.field--invalid .field__error'), /must look like a Bot API token/);
    assert.equal(await page.getByLabel('Bot token').getAttribute('aria-invalid'), 'true');
    await screenshot('add-telegram-invalid');
    await accessible('add form with errors');
    await page.getByLabel('Bot token').fill('123456789:AAHk1x_ExampleExampleExampleExample12');
    await page.getByRole('button', { name: 'Create gateway' }).click();
    await heading('Support bot').waitFor();
    assert.match(page.url(), /\/gateways\/[^/]+$/);
    await expectText(page.locator('.alert--success'), /Gateway “Support bot” created/);
    await expectText(badge(), /Disconnected/);
    await expectText(page.locator('#credentials'), /••••••••le12/);
    await expectText(page.locator('#credentials'), /@gh_test_123456789_bot/);
    await expectText(page.locator('[data-testid="audit-list"]'), /Created the gateway/);
    await screenshot('detail-telegram');
    await accessible('detail');
    // Every control the keyboard reaches shows a ring, light and dark.
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      const { count, bad } = await focusFailures(page);
      console.log(`    focus (${scheme}): ${count} controls tabbed, ${bad.length} without a visible ring`);
      assert.ok(count >= 10, `tabbing reached only ${count} controls`);
      assert.deepEqual(bad, [], `focus not visible (${scheme}):\n  ${bad.join('\n  ')}`);
    }
    await page.emulateMedia({ colorScheme: 'light' });
  });

  await step('see it in the list', async () => {
    await page.getByRole('link', { name: 'Gateways' }).first().click();
    await heading('Gateways').waitFor();
    await expectCount(rows(), 1);
    await expectText(rows().first(), /Support bot.*Telegram Bot.*Disconnected/s);
    await screenshot('list-one');
    await accessible('list');
    await rows().first().getByRole('link', { name: 'Support bot' }).click();
    await heading('Support bot').waitFor();
  });

  await step('test the connection', async () => {
    await page.getByRole('button', { name: 'Test connection' }).click();
    const r = page.getByTestId('test-result');
    await expectText(r, /Connection OK/);
    await expectText(r, /ms/);
    await expectText(page.locator('[data-testid="audit-list"]'), /Tested the connection: ok/);
    await screenshot('test-ok');
  });

  await step('connect it', async () => {
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await expectText(badge(), /^Connected/);
    await page.getByRole('button', { name: 'Disconnect' }).waitFor();
    await expectText(page.locator('[data-testid="audit-list"]'), /Status Connecting → Connected|Status Disconnected → Connected/);
    await expectText(page.locator('#telegram'), /\/api\/webhooks\/telegram\//);
    await screenshot('connected');
  });

  await step('send a message with a button keyboard, edit it, delete it', async () => {
    const panel = page.locator('#telegram');
    const form = page.getByTestId('telegram-send');
    // What the stand-in's chat shows now, when the journey runs with it.
    const inChat = async (messageId) => {
      if (!TELEGRAM_STANDIN_URL) return null;
      const { messages } = await (await fetch(`${TELEGRAM_STANDIN_URL}/_standin/telegram/messages`)).json();
      return messages.find((m) => m.message_id === messageId) ?? null;
    };
    await form.getByLabel('Chat ID').fill('42');
    await form.getByLabel('Message').fill('Pick one');
    // The keyboard editor from the keyboard: Enter on "Add row" puts the focus in the new button's label.
    await form.getByRole('button', { name: 'Add row' }).focus();
    await page.keyboard.press('Enter');
    // The focus moves once the new row has rendered: type only then.
    await form.getByLabel('Label (row 1, button 1)').evaluate((el) => new Promise((done) => {
      const check = () => (document.activeElement === el ? done() : requestAnimationFrame(check));
      check();
    }));
    await page.keyboard.type('Docs');
    assert.equal(await form.getByLabel('Label (row 1, button 1)').inputValue(), 'Docs');
    await form.getByLabel('Action (row 1, button 1)').selectOption('url');
    await form.getByLabel('URL (row 1, button 1)').fill('https://core.telegram.org/bots/api');
    await form.getByRole('button', { name: 'Add a button to row 1' }).click();
    await form.getByLabel('Label (row 1, button 2)').fill('Yes');
    await form.getByLabel('Callback data (row 1, button 2)').fill('x'.repeat(65));
    await form.getByRole('button', { name: 'Send message' }).click();
    // Checked before sending, under its input.
    await expectText(form.locator('.field__error'), /Must be 1-64 bytes; this is 65\./);
    await form.getByLabel('Callback data (row 1, button 2)').fill('vote:yes');
    await form.getByRole('button', { name: 'Send message' }).click();
    const sent = await expectText(form.locator('.alert--success'), /Message \d+ sent to chat 42\./);
    const id = Number(/Message (\d+)/.exec(sent)[1]);
    const row = panel.locator(`[data-testid="sent-row"][data-message-id="${id}"]`);
    await expectText(row, /Pick one.*Docs.*Yes/s);
    const msg = await inChat(id);
    if (msg) assert.deepEqual(msg.reply_markup, { inline_keyboard: [[{ text: 'Docs', url: 'https://core.telegram.org/bots/api' }, { text: 'Yes', callback_data: 'vote:yes' }]] });
    await screenshot('telegram-send-keyboard');

    // Edit: new text, the URL button goes.
    await row.getByRole('button', { name: `Edit message ${id}` }).click();
    const edit = row.getByTestId('telegram-edit');
    await edit.getByLabel('New text').fill('Pick one (edited)');
    await edit.getByRole('button', { name: 'Remove button 1 of row 1' }).click();
    await page.setViewportSize({ width: 360, height: 780 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the Telegram send and edit forms overflow by ${overflow}px at 360 px`);
    await screenshot('mobile-telegram-edit');
    await page.setViewportSize({ width: 1280, height: 900 });
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await expectText(row, new RegExp(`Message ${id} edited\\.`));
    await expectText(row, /Pick one \(edited\)/);
    if (TELEGRAM_STANDIN_URL) {
      const m = await inChat(id);
      assert.equal(m.text, 'Pick one (edited)');
      assert.deepEqual(m.reply_markup, { inline_keyboard: [[{ text: 'Yes', callback_data: 'vote:yes' }]] });
    }
    // The same again: Telegram answers "message is not modified", said plainly.
    await row.getByRole('button', { name: `Edit message ${id}` }).click();
    await row.getByTestId('telegram-edit').getByRole('button', { name: 'Save changes' }).click();
    await expectText(row, /Nothing to change: Telegram already shows this text and keyboard\./);
    await row.getByTestId('telegram-edit').getByRole('button', { name: 'Cancel' }).click();

    // Delete, after a confirmation.
    await row.getByRole('button', { name: `Delete message ${id}` }).click();
    const dialog = page.getByRole('dialog', { name: `Delete message ${id}?` });
    await dialog.getByRole('button', { name: 'Delete message' }).click();
    await expectText(row, new RegExp(`Message ${id} deleted\\.`));
    await expectCount(row.getByRole('button', { name: `Delete message ${id}` }), 0);
    if (TELEGRAM_STANDIN_URL) assert.equal((await inChat(id)).deleted, true);

    // A refused send shows the problem's title and detail.
    await form.getByLabel('Chat ID').fill('403');
    await form.getByRole('button', { name: 'Send message' }).click();
    await expectText(form.locator('.alert--error'), /Request refused by the provider.*blocked by the user/s);
    await screenshot('telegram-send');
  });

  if (TELEGRAM_STANDIN_URL) {
    await step('receive updates: the Updates panel shows them live, with their raw JSON', async () => {
      const id = page.url().split('/').pop();
      const panel = page.locator('#updates');
      await expectText(panel, /No updates yet/);
      await expectText(panel.getByTestId('updates-live'), /^Live$/);
      const now = Math.floor(Date.now() / 1000);
      const chat = { id: 42, type: 'private', first_name: 'Ada' };
      const from = { id: 42, is_bot: false, first_name: 'Ada', username: 'ada' };
      const updates = [
        { update_id: 500001, message: { message_id: 11, date: now, chat, from, text: 'hello from the journey' } },
        { update_id: 500002, callback_query: { id: '77', from, chat_instance: '1', data: 'journey:buy', message: { message_id: 11, date: now, chat } } },
      ];
      // Telegram's side: each update as Telegram posts it, with the secret.
      for (const u of updates) await postUpdate(id, u);
      // No reload: the panel's long poll (wait=20) brings them, newest first.
      const list = panel.getByTestId('update-row');
      await expectCount(list, 2, 25_000);
      await expectText(list.nth(0), /callback_query.*journey:buy.*Chat 42.*From 42 @ada/s);
      await expectText(list.nth(1), /message.*hello from the journey/s);
      assert.equal(await list.nth(0).getAttribute('data-update-id'), '500002');
      // The raw JSON opens and closes from the keyboard, as Telegram sent it.
      const toggle = list.nth(0).getByRole('button', { name: 'Raw JSON of update 500002' });
      assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
      await toggle.focus();
      await page.keyboard.press('Enter');
      assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
      const raw = list.nth(0).locator('pre');
      assert.deepEqual(JSON.parse(await raw.textContent()), updates[1]);
      assert.equal(await raw.getAttribute('id'), await toggle.getAttribute('aria-controls'));
      await screenshot('telegram-updates');
      await page.setViewportSize({ width: 360, height: 780 });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the Telegram detail overflows by ${overflow}px at 360 px`);
      await screenshot('mobile-telegram-updates');
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.keyboard.press('Space');
      assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
      await expectCount(list.nth(0).locator('pre'), 0);
      // A type filter starts again from the oldest update, with the filter.
      await panel.getByLabel('Type').selectOption('callback_query');
      await expectCount(list, 1);
      await expectText(list.first(), /journey:buy/);
      await panel.getByRole('button', { name: 'Clear filters' }).first().click();
      await expectCount(list, 2);
    });
  } else {
    console.log('  - skipped: receive updates (TELEGRAM_STANDIN_URL is not set)');
  }

  if (TELEGRAM_STANDIN_URL && RECEIVER_URL) {
    await step('route updates to a webhook: the receiver gets them signed, the route shows the delivery', async () => {
      const botId = page.url().split('/').pop();
      // A WEBHOOK gateway at the receiver stand-in (an http URL, which the
      // dashboard's form refuses, so through the API).
      const hook = await callApi('POST', '/api/gateways', { name: 'Orders hook', type: 'WEBHOOK', credentials: { url: `${RECEIVER_URL}/hook`, signingSecret: RECEIVER_SECRET } });
      assert.equal(hook.status, 201, `creating the WEBHOOK gateway answered ${hook.status}: ${JSON.stringify(hook.body)}`);

      const panel = page.locator('#routes');
      await expectText(panel, /No routes yet/);
      await panel.getByRole('button', { name: 'Add route' }).first().click();
      const form = panel.getByTestId('route-form');
      await form.getByLabel('Deliver to').selectOption({ label: 'Orders hook (webhook)' });
      await form.getByLabel('message', { exact: true }).check();
      await form.getByLabel('Chat IDs').fill('42');
      await screenshot('routes-add');
      await form.getByRole('button', { name: 'Add route' }).click();
      const row = panel.getByTestId('route-row');
      await expectCount(row, 1);
      await expectText(row, /Orders hook.*Active.*Types: message.*Chats: 42.*Nothing yet/s);
      await expectText(panel.locator('.alert--success'), /Route to Orders hook added/);
      const routeId = await row.getAttribute('data-route-id');

      // A callback query the filter leaves out, then a message it lets through.
      const now = Math.floor(Date.now() / 1000);
      const chat = { id: 42, type: 'private', first_name: 'Ada' };
      const from = { id: 42, is_bot: false, first_name: 'Ada', username: 'ada' };
      const skipped = { update_id: 500003, callback_query: { id: '78', from, chat_instance: '1', data: 'journey:skip', message: { message_id: 12, date: now, chat } } };
      const routed = { update_id: 500004, message: { message_id: 13, date: now, chat, from, text: '/start routed by the journey' } };
      await postUpdate(botId, skipped);
      await postUpdate(botId, routed);

      // The receiver gets the message, signed, in the delivery envelope.
      const until = Date.now() + 30_000;
      let got = [];
      let delivery;
      while (!delivery && Date.now() < until) {
        got = (await (await fetch(`${RECEIVER_URL}/_standin/receiver/requests`)).json()).requests;
        delivery = got.find((r) => r.body?.type === 'telegram.update' && r.body?.updateId === 500004);
        if (!delivery) await page.waitForTimeout(250);
      }
      assert.ok(delivery, `the receiver got no delivery of update 500004 within 30 s; it got ${JSON.stringify(got.map((r) => r.body?.type))}`);
      assert.ok(delivery['webhook-id'], 'the delivery has a webhook-id');
      assert.equal(delivery.signatureValid, true, 'the delivery is signed with the gateway\'s secret');
      assert.equal(delivery.path, '/hook');
      assert.equal(delivery.body.gatewayId, botId);
      assert.equal(delivery.body.routeId, routeId);
      assert.deepEqual(delivery.body.update, routed);
      assert.ok(!got.some((r) => r.body?.updateId === 500003), 'the callback query the filter leaves out was not delivered');

      // The row shows it without a reload (the panel reads routes every 5 s).
      await expectText(row.getByTestId('route-last-delivered'), /Update 500004/, 15_000);
      await expectText(row.getByTestId('route-pending'), /^0$/);
      await screenshot('routes-delivered');
      await page.setViewportSize({ width: 360, height: 780 });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the Routes panel overflows by ${overflow}px at 360 px`);
      await screenshot('mobile-routes');
      await page.setViewportSize({ width: 1280, height: 900 });

      // Pause and resume; then delete it, and the WEBHOOK gateway, so the
      // rest of the journey sees the two gateways it made.
      await row.getByRole('button', { name: 'Pause' }).click();
      await expectText(row.getByTestId('route-status'), /Paused/);
      await row.getByRole('button', { name: 'Resume' }).click();
      await expectText(row.getByTestId('route-status'), /Active/);
      await row.getByRole('button', { name: /^Delete/ }).click();
      const dialog = page.getByRole('dialog');
      await expectText(dialog.getByRole('heading'), /Delete the route to “Orders hook”\?/);
      await dialog.getByRole('button', { name: 'Delete route' }).click();
      await expectText(panel, /No routes yet/);
      const deleted = await callApi('DELETE', `/api/gateways/${hook.body.id}`);
      assert.equal(deleted.status, 204, `deleting the WEBHOOK gateway answered ${deleted.status}: ${JSON.stringify(deleted.body)}`);
    });
  } else {
    console.log('  - skipped: route updates to a webhook (TELEGRAM_STANDIN_URL or RECEIVER_URL is not set)');
  }

  await step('rename it', async () => {
    const name = page.locator('#settings').getByLabel('Name');
    await name.fill('Support bot EU');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await heading('Support bot EU').waitFor();
    await expectText(page.locator('#settings .alert--success'), /Changes saved/);
    await expectText(page.locator('[data-testid="audit-list"]'), /Renamed it/);
  });

  await step('a stale edit is explained as a conflict, then reloaded', async () => {
    // Someone renames it behind the page's back, with the page's own token.
    const id = page.url().split('/').pop();
    const status = await page.evaluate(async (gid) => {
      const s = JSON.parse(sessionStorage.getItem('gatehouse.session'));
      const h = { Authorization: `Bearer ${s.token}`, 'X-Organization-Id': sessionStorage.getItem('gatehouse.org'), 'Content-Type': 'application/json' };
      const cur = await fetch(`/api/gateways/${gid}`, { headers: h });
      const r = await fetch(`/api/gateways/${gid}`, { method: 'PUT', headers: { ...h, 'If-Match': cur.headers.get('ETag') }, body: JSON.stringify({ name: 'Renamed elsewhere' }) });
      return r.status;
    }, id);
    assert.equal(status, 200);
    await page.locator('#settings').getByLabel('Name').fill('My stale edit');
    await page.getByRole('button', { name: 'Save changes' }).click();
    const conflict = page.getByTestId('conflict');
    await expectText(conflict, /^This gateway was changed somewhere else/);
    await expectText(conflict, /nothing was overwritten/);
    // The page shows the server's gateway at once; the form keeps the edit until reloaded.
    await heading('Renamed elsewhere').waitFor();
    assert.equal(await page.locator('#settings').getByLabel('Name').inputValue(), 'My stale edit');
    await screenshot('conflict');
    await conflict.getByRole('button', { name: 'Reload latest version' }).click();
    // The heading already says so; the form follows once the reload is answered.
    await expectValue(page.locator('#settings').getByLabel('Name'), 'Renamed elsewhere');
    await expectCount(page.getByTestId('conflict'), 0);
  });

  await step('disconnect it', async () => {
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await expectText(badge(), /Disconnected/);
    await page.getByRole('button', { name: 'Connect', exact: true }).waitFor();
  });

  await step('add an AI gateway (server field errors beside their fields)', async () => {
    await page.goto(`${BASE}/gateways/new`);
    await heading('Add gateway').waitFor();
    await page.getByRole('radio', { name: /^AI/ }).click();
    await page.getByLabel('Name').fill('Assistant');
    await page.getByLabel('Provider').selectOption('ollama');
    // Ollama needs a base URL and no key: the form says so before sending.
    await page.getByRole('button', { name: 'Create gateway' }).click();
    await expectText(page.locator('.field--invalid .field__error'), /is required for ollama/);
    await page.getByLabel('Provider').selectOption('openai');
    await page.getByLabel('Base URL').fill(AI_BASE_URL || 'https://api.openai.com/v1');
    await page.getByLabel('Default model').fill('gpt-4o-mini');
    // The stand-in rejects this key: the server's error lands beside the field.
    await page.getByLabel('API key').fill('sk-invalid-0123456789abcdef');
    await page.getByRole('button', { name: 'Create gateway' }).click();
    await expectText(page.locator('[role="alert"]'), /The provider rejected this API key/);
    await expectText(page.locator('.field--invalid .field__error'), /rejected/);
    assert.equal(await page.getByLabel('API key').getAttribute('aria-invalid'), 'true');
    await screenshot('add-ai-rejected-key');
    await page.getByLabel('API key').fill('sk-test-0123456789abcdef');
    await page.getByRole('button', { name: 'Create gateway' }).click();
    await heading('Assistant').waitFor();
    await expectText(page.locator('#credentials'), /openai/);
    await page.locator('#chat').waitFor();
  });

  await step('connect it and chat', async () => {
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await expectText(badge(), /^Connected/);
    const chat = page.locator('#chat');
    await chat.getByLabel('Message').fill('hello there');
    await chat.getByLabel('Message').press('Enter');
    await expectText(chat.getByTestId('chat-log'), /You said: hello there/);
    await expectText(chat.getByTestId('chat-meta'), /gpt-4o-mini.*tokens/s);
    await screenshot('detail-ai-chat');
  });

  await step('a failed Connect shows the ERROR the server recorded, without a reload', async () => {
    // An AI gateway whose provider cannot be reached (nothing listens on the
    // discard port): creating it records a warning, connecting it fails.
    const created = await callApi('POST', '/api/gateways', { name: 'Offline AI', type: 'AI', credentials: { provider: 'openai', apiKey: 'sk-test-0123456789abcdef', baseUrl: 'http://127.0.0.1:9/v1' } });
    assert.equal(created.status, 201, `creating the unreachable AI gateway answered ${created.status}: ${JSON.stringify(created.body)}`);
    const back = page.url();
    await page.goto(`${BASE}/gateways/${created.body.id}`);
    await heading('Offline AI').waitFor();
    const version = async () => Number((await page.locator('#overview .facts__row', { hasText: 'Version' }).textContent()).replace(/\D+/g, ''));
    const before = await version();
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await expectText(badge(), /^Error/);
    await expectText(page.getByTestId('last-error'), /\S/);
    assert.ok((await version()) > before, 'the Overview shows the version the failed connect wrote');
    await expectText(page.locator('[data-testid="audit-list"]'), /→ Error/);
    await screenshot('connect-failed');
    const deleted = await callApi('DELETE', `/api/gateways/${created.body.id}`);
    assert.equal(deleted.status, 204);
    await page.goto(back);
    await heading('Assistant').waitFor();
  });

  if (process.env.HEALTH_SWEEP_CMD) {
    await step('a scheduled health sweep draws the sparkline', async () => {
      // One real sweep (make health) against this runner's emulators.
      const out = execSync(process.env.HEALTH_SWEEP_CMD, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      assert.match(out, /"checked":\s*[1-9]/, `the sweep checked nothing: ${out}`);
      await page.reload();
      const spark = page.getByTestId('sparkline');
      await spark.waitFor({ timeout: TIMEOUT });
      assert.match(await spark.getAttribute('aria-label'), /^1 health checks?, 1 OK/);
      await screenshot('detail-ai-health');
    });
  }

  await step('filter the list by type and status', async () => {
    await page.getByRole('link', { name: 'Gateways' }).first().click();
    await expectCount(rows(), 2);
    await page.getByTestId('filter-type').selectOption('AI');
    await expectCount(rows(), 1);
    await expectText(rows().first(), /Assistant/);
    assert.match(page.url(), /type=AI/);
    await screenshot('list-filtered-ai');
    await page.getByTestId('filter-type').selectOption('TELEGRAM_BOT');
    await expectCount(rows(), 1);
    await expectText(rows().first(), /Renamed elsewhere/);
    await page.getByTestId('filter-status').selectOption('CONNECTED');
    await page.getByRole('heading', { name: 'No gateways match these filters' }).waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).first().click();
    await expectCount(rows(), 2);
    await screenshot('list-two');
  });

  await step('switch organisation', async () => {
    await page.getByTestId('org-switcher').selectOption('');
    await expectText(page.locator('.page-subtitle'), /Your personal gateways/);
    await page.getByRole('heading', { name: 'No gateways yet' }).waitFor();
    await page.getByTestId('org-switcher').selectOption('acme');
    await expectCount(rows(), 2);
  });

  await step('delete with a confirmation that names the gateway', async () => {
    await rows().filter({ hasText: 'Renamed elsewhere' }).getByRole('link').click();
    await heading('Renamed elsewhere').waitFor();
    await page.getByRole('button', { name: 'Delete gateway' }).click();
    const dialog = page.getByRole('dialog');
    await expectText(dialog.getByRole('heading'), /Delete “Renamed elsewhere”\?/);
    await screenshot('delete-dialog', { fullPage: false });
    await expectText(dialog, /its audit trail is kept and stays readable by its owner/);
    await accessible('delete dialog');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expectCount(page.getByRole('dialog'), 0);
    await page.getByRole('button', { name: 'Delete gateway' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete gateway' }).click();
    await heading('Gateways').waitFor();
    await expectText(page.locator('.alert--success'), /Gateway “Renamed elsewhere” deleted/);
    await expectCount(rows(), 1);
    await expectText(rows().first(), /Assistant/);
    await screenshot('list-after-delete');
  });

  await step('works at 360 px wide', async () => {
    await page.setViewportSize({ width: 360, height: 780 });
    for (const [path, name, h] of [['/gateways', 'mobile-list', 'Gateways'], ['/gateways/new', 'mobile-add', 'Add gateway']]) {
      await page.goto(BASE + path);
      await heading(h).waitFor();
      if (name === 'mobile-add') await page.getByRole('radio', { name: /Telegram Bot/ }).click();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${path} overflows by ${overflow}px at 360 px`);
      await screenshot(name);
    }
    await page.goto(`${BASE}/gateways`);
    await rows().first().getByRole('link').click();
    await heading('Assistant').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `detail overflows by ${overflow}px at 360 px`);
    // The way back and who is signed in stay on screen.
    assert.ok(await page.locator('.topbar__nav').getByRole('link', { name: 'Gateways' }).isVisible(), 'the Gateways link is visible at 360 px');
    assert.ok(await page.getByTestId('user-name').isVisible(), 'the user is visible at 360 px');
    // What a person acts on comes before the long audit trail.
    const top = (sel) => page.locator(sel).first().evaluate((el) => el.getBoundingClientRect().top + window.scrollY);
    const audit = await top('#audit');
    for (const sel of ['#settings', '#credentials', '.card--danger']) assert.ok((await top(sel)) < audit, `${sel} comes before the audit trail at 360 px`);
    await screenshot('mobile-detail');
  });

  await step('dark mode', async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.reload();
    await heading('Assistant').waitFor();
    await screenshot('dark-detail');
    await page.getByRole('link', { name: 'Gateways' }).first().click();
    await expectCount(rows(), 1);
    await screenshot('dark-list');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  await step('sign out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await heading('Sign in').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('gatehouse.session')), null);
  });

  assert.deepEqual(pageErrors, [], 'no errors in the page');
  assert.deepEqual(cspViolations, [], 'no Content-Security-Policy violations');
  assert.deepEqual(a11yFailures, [], `axe-core found serious or critical violations:\n  ${a11yFailures.join('\n  ')}`);
} finally {
  await browser.close();
  const passed = results.filter((r) => r.ok).length;
  console.log(`journey: ${passed} passed, ${results.length - passed} failed in ${Date.now() - t0} ms; screenshots in ${SHOTS}`);
  if (pageErrors.length) console.log(pageErrors.join('\n'));
  if (cspViolations.length) console.log(`CSP violations:\n${cspViolations.join('\n')}`);
}
