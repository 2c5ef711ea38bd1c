// The dashboard (mcp_dashboard) in a real browser: Debian's chromium,
// driven by playwright-core, against nginx with the module under test.
// Run by scripts/test-browser.sh (make test-browser), which says what it
// needs; screenshots of each view go to build/browser/.
//
// The admin API wants a key here, so the page must ask for one first.

import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {chromium} from 'playwright-core';

const top = path.resolve(import.meta.dirname, '../..');
const port = Number(process.env.TEST_NGINX_PORT || 1984) + 140;
const base = `http://127.0.0.1:${port}`;
const prefix = path.join(top, 't/servroot-browser');
const shots = path.join(top, 'build/browser');
const nginx = process.env.TEST_NGINX_BINARY || 'nginx';
const module = process.env.TEST_NGINX_LOAD_MODULES ||
               path.join(top, 'build/ngx_mcp_module.so');
const key = 'dashboard-test-key-0123456789';
const today = new Date().toISOString().slice(0, 10);

let browser, page;
const pageErrors = [];


function startNginx() {
  fs.rmSync(prefix, {recursive: true, force: true});
  for (const d of ['conf', 'logs', 'data']) {
    fs.mkdirSync(path.join(prefix, d), {recursive: true});
  }
  const hash = createHash('sha256').update(key).digest('hex');
  const user = process.getuid() === 0 ? 'user root;' : '';

  fs.writeFileSync(path.join(prefix, 'conf/nginx.conf'), `
load_module ${module};
${user}
worker_processes 2;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    mcp_store ${prefix}/data;
    mcp_visit_flush_interval 100ms;

    server {
        listen 127.0.0.1:${port};

        location = /shorten { mcp_shorten; }
        location = /mcp { mcp_endpoint; }
        location /api/ {
            mcp_api_key ${hash} tenant=default
                        scopes=admin,links:write,links:read,mcp;
            mcp_admin;
        }
        location /dashboard/ { mcp_dashboard; }
        location / { mcp_redirect; }
    }
}
`);
  execFileSync(nginx, ['-p', prefix + '/', '-c', 'conf/nginx.conf']);
}

function stopNginx() {
  try {
    // nginx says "signal process started" on stderr: not for the report
    execFileSync(nginx, ['-p', prefix + '/', '-c', 'conf/nginx.conf',
                         '-s', 'stop'], {stdio: 'ignore'});
  } catch (e) {
    // not started
  }
}

// one MCP session, then the tools, as a client would call them
async function mcp(calls) {
  const headers = {'Content-Type': 'application/json',
                   Accept: 'application/json, text/event-stream'};
  let res = await fetch(base + '/mcp', {method: 'POST', headers,
    body: JSON.stringify({jsonrpc: '2.0', id: 0, method: 'initialize',
      params: {protocolVersion: '2025-06-18', capabilities: {},
               clientInfo: {name: 'browser-test', version: '1'}}})});
  assert.equal(res.status, 200);
  headers['Mcp-Session-Id'] = res.headers.get('mcp-session-id');
  headers['MCP-Protocol-Version'] = '2025-06-18';

  for (const [i, [name, args]] of calls.entries()) {
    res = await fetch(base + '/mcp', {method: 'POST', headers,
      body: JSON.stringify({jsonrpc: '2.0', id: i + 1, method: 'tools/call',
                            params: {name, arguments: args}})});
    const body = await res.json();
    assert.ok(body.result && !body.result.isError,
              name + ': ' + JSON.stringify(body));
  }
}

async function redirectOf(code) {
  const res = await fetch(base + '/' + code, {redirect: 'manual'});
  return [res.status, res.headers.get('location')];
}

const shot = (name) =>
  page.screenshot({path: path.join(shots, name + '.png'), fullPage: true});

const row = (code) => page.locator(`#links-body tr[data-code="${code}"]`);

const bar = (date) =>
  page.locator(`#visits-chart rect.bar[data-date="${date}"]`);

const utcDaysAgo = (n) =>
  new Date(Date.now() - n * 86400000).toISOString().slice(0, 10);


before(async () => {
  fs.mkdirSync(shots, {recursive: true});
  startNginx();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  const context = await browser.newContext({
    viewport: {width: 1200, height: 800},
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  page = await context.newPage();
  page.setDefaultTimeout(5000);
  // script errors, and what the Content-Security-Policy refused
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (/Content Security Policy/.test(m.text())) pageErrors.push(m.text());
  });
});

after(async () => {
  await browser?.close();
  stopNginx();
});


test('the page asks for the API key the admin API wants', async () => {
  await page.goto(base + '/dashboard/');
  await page.locator('#key-dialog[open]').waitFor();
  await page.fill('#key-input', 'not-the-key');
  await page.click('#key-submit');
  // a wrong key is refused: asked again
  await page.locator('#key-dialog[open]').waitFor();
  await page.fill('#key-input', key);
  await page.click('#key-submit');
  await page.locator('#links-body td.muted').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 1);
  assert.equal(await page.evaluate(() => localStorage.length), 0);
});

test('a link created through the UI is in the table and redirects',
     async () => {
  await page.fill('#create-url', 'https://example.com/first');
  await page.fill('#create-alias', 'dash1');
  await page.fill('#create-max', '100');
  await page.click('#create-submit');
  await row('dash1').waitFor();
  assert.equal(await row('dash1').locator('td.url').textContent(),
               'https://example.com/first');
  assert.equal(await row('dash1').locator('.short-url').textContent(),
               `${base}/dash1`);
  assert.deepEqual(await redirectOf('dash1'),
                   [302, 'https://example.com/first']);

  await row('dash1').locator('button.copy').click();
  await page.locator('#toast', {hasText: 'Copied'}).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()),
               `${base}/dash1`);

  // a refusal is shown, not swallowed
  await page.fill('#create-url', 'https://example.com/again');
  await page.fill('#create-alias', 'dash1');
  await page.click('#create-submit');
  await page.locator('#create-error', {hasText: /taken|exists/i}).waitFor();
  await page.fill('#create-url', '');
  await page.fill('#create-alias', '');

  await page.fill('#search', 'first');
  await page.click('#search-submit');
  await row('dash1').waitFor();
  await page.fill('#search', 'no-such-thing');
  await page.click('#search-submit');
  await page.locator('#links-body td.muted').waitFor();
  await page.fill('#search', '');
  await page.click('#search-submit');
  await row('dash1').waitFor();
  await shot('links');
});

test('editing its target changes where it redirects', async () => {
  await row('dash1').locator('button.edit').click();
  await page.locator('#edit-dialog[open]').waitFor();
  await page.fill('#edit-url', 'https://example.org/second');
  await shot('edit');
  await page.click('#edit-save');
  await row('dash1').locator('td.url', {hasText: 'example.org/second'})
    .waitFor();
  assert.deepEqual(await redirectOf('dash1'),
                   [302, 'https://example.org/second']);
});

test('the QR code of the short URL is shown', async () => {
  await row('dash1').locator('button.qr').click();
  await page.locator('#qr-dialog[open]').waitFor();
  await page.waitForFunction(() => {
    const img = document.querySelector('#qr-img');
    return img.complete && img.naturalWidth > 0;
  });
  assert.equal(await page.textContent('#qr-url'), `${base}/dash1`);
  // what the page shows decodes to the short URL (zbarimg, zbar-tools)
  const png = path.join(shots, 'qr-code.png');
  await page.locator('#qr-img').screenshot({path: png});
  // (its stderr, a D-Bus complaint without a session bus, is kept: an
  // error carries it)
  assert.equal(execFileSync('zbarimg', ['-q', '--raw', png],
                            {stdio: ['ignore', 'pipe', 'pipe']}).toString(),
               `${base}/dash1\n`);
  await shot('qr');
  await page.keyboard.press('Escape');
});

// The chart against the answer GET {api}links/{code}/visits documents,
// given to the page by the test: the page must draw it, whatever the
// server in front of it has yet
test('its page draws visits per day from the /visits answer', async () => {
  const days = [{date: today, visits: 7},
                {date: utcDaysAgo(2), visits: 3}];
  await page.route('**/api/links/dash1/visits', (route) => route.fulfill({
    contentType: 'application/json',
    body: JSON.stringify({code: 'dash1', total: 10, bots: 2, days,
                          referrers: [{host: 'news.example', visits: 6},
                                      {host: 'direct', visits: 4}]}),
  }));

  await row('dash1').locator('a.code').click();
  await page.locator('dl.facts dt:text-is("Target") + dd',
                     {hasText: 'https://example.org/second'}).waitFor();
  await bar(today).waitFor();
  assert.equal(await bar(today).getAttribute('data-visits'), '7');
  assert.equal(await bar(utcDaysAgo(2)).getAttribute('data-visits'), '3');
  assert.equal(await bar(utcDaysAgo(1)).getAttribute('data-visits'), '0');
  assert.ok(Number(await bar(today).getAttribute('height')) >
            Number(await bar(utcDaysAgo(2)).getAttribute('height')));
  assert.equal(await page.locator('#visits-chart rect.bar').count(), 30);
  await page.locator('#referrers-table td', {hasText: 'news.example'})
    .waitFor();
  await page.locator('#chart', {hasText: '10 visits, 2 by bots'}).waitFor();
  await shot('link');
  await page.unroute('**/api/links/dash1/visits');
  await page.goto(base + '/dashboard/#/links');
});

// and the server's own count of real visits, once mcp_admin has the
// route: skipped, saying so, while it answers "no such route"
test('its page draws the visits the server counted today', async (t) => {
  // a link of its own: the others' redirects were checked by a client
  const made = await fetch(base + '/api/links', {method: 'POST',
    headers: {Authorization: 'Bearer ' + key,
              'Content-Type': 'application/json'},
    body: JSON.stringify({url: 'https://example.com/counted',
                          alias: 'counted'})});
  assert.equal(made.status, 201);

  for (const referer of ['https://news.example/a', 'https://news.example/b',
                         'https://blog.example/']) {
    // a person's browser: HTTP libraries count as bots
    const res = await fetch(base + '/counted', {redirect: 'manual', headers: {
      Referer: referer,
      'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0',
    }});
    assert.equal(res.status, 302);
  }
  // the workers write their counts every 100 ms
  await new Promise((r) => setTimeout(r, 400));

  const probe = await fetch(base + '/api/links/counted/visits',
                            {headers: {Authorization: 'Bearer ' + key}});
  if (probe.status === 404 &&
      (await probe.json()).message.startsWith('no such route')) {
    t.skip('mcp_admin has no GET links/{code}/visits yet');
    return;
  }
  assert.equal(probe.status, 200);

  await page.goto(base + '/dashboard/#/links/counted');
  await bar(today).waitFor();
  assert.equal(await bar(today).getAttribute('data-visits'), '3');
  assert.ok(Number(await bar(today).getAttribute('height')) > 0);
  assert.equal(await bar(utcDaysAgo(1)).getAttribute('data-visits'), '0');
  const news = page.locator('#referrers-table tr',
                            {hasText: 'news.example'});
  await news.waitFor();
  assert.equal(await news.locator('td.num').textContent(), '2');
  await shot('link-counted');
});

test('the graph view draws the entities created through MCP', async () => {
  await mcp([
    ['create_entities', {entities: [
      {name: 'Ada', entityType: 'person', observations: ['wrote notes']},
      {name: 'Engine', entityType: 'machine', observations: ['analytical']},
      {name: 'Notes', entityType: 'document', observations: ['on Engine']},
    ]}],
    ['create_relations', {relations: [
      {from: 'Ada', to: 'Engine', relationType: 'described'},
      {from: 'Ada', to: 'Notes', relationType: 'wrote'},
    ]}],
    ['context_append', {context_id: 'support-42', role: 'user',
                        content: 'The engine will not start.'}],
    ['context_append', {context_id: 'support-42', role: 'assistant',
                        content: 'Which model is it?'}],
  ]);

  await page.goto(base + '/dashboard/#/graph');
  for (const name of ['Ada', 'Engine', 'Notes']) {
    await page.locator(`#graph-svg g.node[data-name="${name}"]`).waitFor();
  }
  assert.equal(await page.locator('#graph-svg line.edge').count(), 2);
  await page.locator('#graph-svg g.node[data-name="Ada"]').click();
  await page.locator('#graph-detail li', {hasText: /^wrote notes$/}).waitFor();
  await shot('graph');

  // the search's answer replaces the drawing: Engine alone
  await page.fill('#graph-q', 'analytical');
  await page.click('#graph-submit');
  await page.locator('#graph-summary', {hasText: /^1 entities/}).waitFor();
  assert.deepEqual(await page.locator('#graph-svg g.node')
                     .evaluateAll((n) => n.map((g) => g.dataset.name)),
                   ['Engine']);

  await page.goto(base + '/dashboard/#/contexts');
  await page.locator('#contexts-body td', {hasText: 'support-42'}).waitFor();
  await shot('contexts');
});

test('the table pages by 20', async () => {
  for (let i = 0; i < 20; i++) {
    const res = await fetch(base + '/api/links', {method: 'POST',
      headers: {Authorization: 'Bearer ' + key,
                'Content-Type': 'application/json'},
      body: JSON.stringify({url: `https://example.net/${i}`,
                            alias: `page${String(i).padStart(2, '0')}`})});
    assert.equal(res.status, 201);
  }
  await page.goto(base + '/dashboard/#/links');
  await row('dash1').waitFor();
  assert.equal(await page.locator('#links-body tr').count(), 20);
  assert.ok(await page.isDisabled('#prev-page'));
  await page.click('#next-page');
  // "counted", "dash1" and page00 to page17 on the first page
  await row('page19').waitFor();
  assert.equal(await page.locator('#links-body tr').count(), 2);
  assert.ok(await page.isDisabled('#next-page'));
  await page.click('#prev-page');
  await row('dash1').waitFor();
});

test('delete asks first, then the link is gone', async () => {
  await page.goto(base + '/dashboard/#/links');
  await row('dash1').locator('button.delete').click();
  await page.locator('#confirm-dialog[open]').waitFor();
  await page.click('#confirm-cancel');
  assert.equal((await redirectOf('dash1'))[0], 302);

  await row('dash1').locator('button.delete').click();
  await page.click('#confirm-ok');
  await row('dash1').waitFor({state: 'detached'});
  assert.equal((await redirectOf('dash1'))[0], 404);
});

test('no script error, nothing refused by the page\'s policy', () => {
  assert.deepEqual(pageErrors, []);
});
