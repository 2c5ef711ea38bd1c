// Drivers of the benchmark that wrk cannot be: seeding links, and timing
// MCP tool calls one at a time.
//
//   node drive.mjs seed-http URL N CODES_FILE
//       POST URL {"OriginalURL": ...} N times (8 at a time); the codes
//       created, one a line, to CODES_FILE
//   node drive.mjs seed-mcp URL N CODES_FILE
//       the same through tools/call shorten_url at an MCP endpoint
//       (initialize first; a stateless server ignores the session)
//   node drive.mjs session MCP_URL
//       initialize a session at the endpoint; prints its Mcp-Session-Id
//   node drive.mjs memory MCP_URL SIZES BIG
//       the knowledge-graph comparison: the reference server-memory (over
//       stdio; BENCH_SERVER_CPU pins it) and the endpoint at MCP_URL, the
//       same calls one at a time: each graph grown to each size of SIZES
//       (e.g. 1000,10000) with create_entities of 100 entities a call
//       through the SDK client, then search_nodes, SEARCHES selective
//       queries through the SDK client and through the least client
//       (JSON-RPC over one keep-alive connection, or over stdio), and
//       SEARCHES/2 broad ones through the least client.  With BIG larger
//       than the sizes, the endpoint alone is then grown to BIG entities
//       and searched again.
//   node drive.mjs context MCP_URL MESSAGES
//       context_append MESSAGES messages to one context, then time
//       context_window over it
//
// Results are lines "RESULT key=value ..." on stdout; per-call times are
// medians (and p99) of wall-clock milliseconds measured in this process.

import { spawn } from 'node:child_process';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  StdioClientTransport, getDefaultEnvironment
} from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  StreamableHTTPClientTransport
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const SEARCHES = Number(process.env.BENCH_SEARCHES ?? 40);
const BATCH = 100;

const [cmd, ...args] = process.argv.slice(2);

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const report = (fields) => console.log('RESULT ' + Object.entries(fields)
  .map(([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v)
    ? v.toFixed(3) : v}`).join(' '));

// --- seeding ----------------------------------------------------------------

const MCP_HEADERS = {
  'Content-Type': 'application/json',
  Accept: 'application/json, text/event-stream',
  'MCP-Protocol-Version': '2025-11-25'
};

async function rpc(url, body, session) {
  const headers = { ...MCP_HEADERS };
  if (session) {
    headers['Mcp-Session-Id'] = session;
  }
  const res = await fetch(url, {
    method: 'POST', headers, body: JSON.stringify(body)
  });
  const text = await res.text();
  return { res, json: text ? JSON.parse(text) : null };
}

export async function mcpSession(url) {
  const { res } = await rpc(url, {
    jsonrpc: '2.0', id: 0, method: 'initialize',
    params: {
      protocolVersion: '2025-11-25', capabilities: {},
      clientInfo: { name: 'bench', version: '1' }
    }
  });
  const session = res.headers.get('mcp-session-id') ?? '';
  await rpc(url, { jsonrpc: '2.0', method: 'notifications/initialized' },
    session);
  return session;
}

async function pool(n, width, one) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      await one(next++);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
}

async function seed(kind, url, n, file) {
  const codes = new Array(n);
  const session = kind === 'mcp' ? await mcpSession(url) : '';
  const t0 = performance.now();
  await pool(n, 8, async (i) => {
    const target = `https://www.example.com/articles/seed-${i}-${Date.now()}`;
    if (kind === 'http') {
      const res = await fetch(url, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ OriginalURL: target })
      });
      const body = await res.json();
      if (res.status !== 201 || typeof body.code !== 'string'
          && typeof body.ShortURL !== 'string') {
        throw new Error(`seed ${url}: ${res.status} ${JSON.stringify(body)}`);
      }
      codes[i] = body.code ?? body.ShortURL;
    } else {
      const { json } = await rpc(url, {
        jsonrpc: '2.0', id: i + 1, method: 'tools/call',
        params: { name: 'shorten_url', arguments: { url: target } }
      }, session);
      const sc = json?.result?.structuredContent;
      if (!sc || json.result.isError) {
        throw new Error(`seed ${url}: ${JSON.stringify(json)}`);
      }
      codes[i] = sc.code;
    }
  });
  writeFileSync(file, codes.join('\n') + '\n');
  report({ seeded: n, seconds: (performance.now() - t0) / 1000, session });
}

// --- the knowledge graph ----------------------------------------------------

// A deterministic PRNG (mulberry32), so that every run builds the same graph.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Made-up words, so that every query matches what it is meant to and no
// word is a prefix of another kind's: project code names (three
// syllables, consonant first, no "t"), cities (two syllables and "ton")
// and nicknames (vowel first).
const CONS = 'bdfgklmnprsvz';
const VOW = 'aeiou';
function words(r, count, make) {
  const set = new Set();
  while (set.size < count) {
    set.add(make(r));
  }
  return [...set];
}
const syl = (r, cons) => cons[Math.floor(r() * cons.length)]
  + VOW[Math.floor(r() * 5)];

const R = rng(42);
const PROJECTS = words(R, 5000, (r) => syl(r, CONS) + syl(r, CONS) + syl(r, CONS));
const CITIES = words(R, 200, (r) => syl(r, CONS + 't') + syl(r, CONS + 't') + 'ton');
const NICKS = words(R, 20000, (r) => VOW[Math.floor(r() * 5)] + syl(r, CONS)
  + syl(r, CONS) + CONS[Math.floor(r() * CONS.length)]);
const FIRST = ['Ada', 'Alan', 'Barbara', 'Claude', 'Dennis', 'Donald', 'Edsger',
  'Frances', 'Grace', 'John', 'Ken', 'Leslie', 'Linus', 'Margaret', 'Niklaus',
  'Radia', 'Shafi', 'Tim', 'Whitfield', 'Yukihiro'];
const TYPES = ['person', 'engineer', 'researcher', 'manager', 'designer'];
const HOBBIES = ['chess', 'climbing', 'cooking', 'cycling', 'gardening',
  'hiking', 'painting', 'piano', 'running', 'sailing', 'swimming', 'tennis'];

function entity(i) {
  const r = rng(i + 1);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  return {
    name: `${pick(FIRST)} ${i}`,
    entityType: pick(TYPES),
    observations: [
      `works on project ${pick(PROJECTS)}`,
      `lives in ${pick(CITIES)}`,
      `known as ${pick(NICKS)} to friends`,
      `enjoys ${pick(HOBBIES)} on weekends`
    ]
  };
}

// Selective queries, one word each (server-memory matches the whole query
// as one substring, so several words would find nothing there): a project
// (one entity in 5,000 works on it) or a nickname (one in 20,000).  Broad
// ones: a city (one in 200).
function queries(n, broad = false) {
  const r = rng(broad ? 8 : 7);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push(broad ? pick(CITIES) : i % 2 ? pick(PROJECTS) : pick(NICKS));
  }
  return out;
}

async function connectHttp(url) {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  await client.listTools();
  return client;
}

function referenceCommand() {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve(
    '@modelcontextprotocol/server-memory/package.json');
  return [process.execPath, join(dirname(pkgPath), 'dist', 'index.js')];
}

// servers next to the others, on the core the caller names
async function pin(pid) {
  if (process.env.BENCH_SERVER_CPU && pid) {
    await new Promise((resolve) => spawn('taskset',
      ['-a', '-p', '-c', process.env.BENCH_SERVER_CPU, String(pid)],
      { stdio: 'ignore' }).on('exit', resolve));
  }
}

async function connectReference(file) {
  const [command, script] = referenceCommand();
  const transport = new StdioClientTransport({
    command, args: [script],
    env: { ...getDefaultEnvironment(), MEMORY_FILE_PATH: file },
    stderr: 'ignore'
  });
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(transport);
  await client.listTools();
  await pin(transport.pid);
  return client;
}

// The least a client can be, to time the servers rather than the SDK's
// client (which validates every result against the tool's outputSchema):
// JSON-RPC over one keep-alive HTTP connection, or over a server's stdio.
// Both parse each response.

async function rawHttp(url) {
  const u = new URL(url);
  const sock = net.connect(Number(u.port), u.hostname);
  sock.setNoDelay(true);
  await new Promise((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  let buf = Buffer.alloc(0);
  let pending = null;
  sock.on('data', (d) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0 || pending === null) return;
    const head = buf.subarray(0, end).toString('latin1');
    const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (buf.length < end + 4 + len) return;
    const body = buf.subarray(end + 4, end + 4 + len).toString('utf8');
    buf = buf.subarray(end + 4 + len);
    const p = pending;
    pending = null;
    p({ head, json: body ? JSON.parse(body) : null });
  });
  let session = '';
  const post = (msg) => new Promise((resolve) => {
    pending = resolve;
    const body = Buffer.from(JSON.stringify(msg));
    sock.write(`POST ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\n`
      + 'Content-Type: application/json\r\n'
      + 'Accept: application/json, text/event-stream\r\n'
      + 'MCP-Protocol-Version: 2025-11-25\r\n'
      + (session ? `Mcp-Session-Id: ${session}\r\n` : '')
      + `Content-Length: ${body.length}\r\n\r\n`);
    sock.write(body);
  });
  const init = await post({
    jsonrpc: '2.0', id: 0, method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {},
      clientInfo: { name: 'bench-raw', version: '1' } }
  });
  session = /\r\nmcp-session-id: *(\S+)/i.exec(init.head)?.[1] ?? '';
  await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
  let id = 1;
  return {
    callTool: async ({ name, arguments: args }) => {
      const { json } = await post({ jsonrpc: '2.0', id: id++,
        method: 'tools/call', params: { name, arguments: args } });
      return json.result ?? { isError: true, content: [json.error] };
    },
    close: async () => sock.destroy()
  };
}

async function rawStdio(file) {
  const [command, script] = referenceCommand();
  const child = spawn(command, [script], {
    env: { ...process.env, MEMORY_FILE_PATH: file },
    stdio: ['pipe', 'pipe', 'ignore']
  });
  await pin(child.pid);
  const waiting = new Map();
  createInterface({ input: child.stdout }).on('line', (line) => {
    const msg = JSON.parse(line);
    waiting.get(msg.id)?.(msg);
    waiting.delete(msg.id);
  });
  let id = 0;
  const send = (method, params) => new Promise((resolve) => {
    const n = id++;
    waiting.set(n, resolve);
    child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id: n, method, params })
      + '\n');
  });
  await send('initialize', { protocolVersion: '2025-11-25', capabilities: {},
    clientInfo: { name: 'bench-raw', version: '1' } });
  child.stdin.write(JSON.stringify({ jsonrpc: '2.0',
    method: 'notifications/initialized' }) + '\n');
  return {
    callTool: async ({ name, arguments: args }) => {
      const msg = await send('tools/call', { name, arguments: args });
      return msg.result ?? { isError: true, content: [msg.error] };
    },
    close: async () => child.kill()
  };
}

async function call(client, name, args) {
  const t0 = performance.now();
  const r = await client.callTool({ name, arguments: args });
  const ms = performance.now() - t0;
  if (r.isError) {
    throw new Error(`${name}: ${JSON.stringify(r.content)}`);
  }
  return { ms, r };
}

async function grow(client, from, to, times) {
  for (let i = from; i < to; i += BATCH) {
    const entities = [];
    for (let j = i; j < Math.min(to, i + BATCH); j++) {
      entities.push(entity(j));
    }
    const { ms } = await call(client, 'create_entities', { entities });
    times?.push(ms);
  }
}

async function searchAll(client, qs) {
  const times = [];
  let found = 0;
  for (const query of qs) {
    const { ms, r } = await call(client, 'search_nodes', { query });
    times.push(ms);
    found += (r.structuredContent?.entities
      ?? JSON.parse(r.content[0].text).entities).length;
  }
  return { times, found: found / qs.length };
}

// search_nodes with the selective queries through both clients, and with
// the broad ones through the least client
async function searches(target, entities, clients, qs, broad) {
  for (const [via, client, list, kind] of [
    ['sdk', clients.sdk, qs, 'selective'],
    ['raw', clients.raw, qs, 'selective'],
    ['raw', clients.raw, broad, 'broad']]) {
    await searchAll(client, list.slice(0, 2));        // warm-up
    const s = await searchAll(client, list);
    report({ op: 'search_nodes', target, entities, client: via, queries: kind,
      median_ms: median(s.times), p99_ms: quantile(s.times, 0.99),
      calls: s.times.length, found: s.found });
  }
}

async function memory(url, sizes, big) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-server-memory-'));
  const file = join(dir, 'memory.jsonl');
  const ours = { sdk: await connectHttp(url), raw: await rawHttp(url) };
  const ref = { sdk: await connectReference(file), raw: await rawStdio(file) };
  const qs = queries(SEARCHES);
  const broad = queries(Math.ceil(SEARCHES / 2), true);
  let have = 0;

  for (const size of sizes) {
    for (const [target, c] of [['ours', ours], ['server-memory', ref]]) {
      // the last 1000 entities of the size, a call of 100 each, timed
      const times = [];
      await grow(c.sdk, have, Math.max(have, size - 1000));
      await grow(c.sdk, Math.max(have, size - 1000), size, times);
      report({ op: 'create_entities', target, entities: size, batch: BATCH,
        client: 'sdk', median_ms: median(times),
        p99_ms: quantile(times, 0.99), calls: times.length });
      await searches(target, size, c, qs, broad);
    }
    have = size;
  }

  await ref.sdk.close();
  await ref.raw.close();
  rmSync(dir, { recursive: true, force: true });

  if (big > have) {
    const t0 = performance.now();
    await grow(ours.sdk, have, big);
    const growSeconds = (performance.now() - t0) / 1000;
    report({ op: 'grow', target: 'ours', entities: big,
      seconds: growSeconds });
    await searches('ours', big, ours, qs, broad);
  }

  await ours.sdk.close();
  await ours.raw.close();
}

// --- conversation context ---------------------------------------------------

async function context(url, n) {
  const client = await connectHttp(url);
  const r = rng(99);
  const ctx = `bench-${Date.now()}`;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const len = 20 + Math.floor(r() * 60);
    const text = [];
    for (let w = 0; w < len; w++) {
      text.push(w % 9 === 0 ? PROJECTS[Math.floor(r() * PROJECTS.length)]
        : HOBBIES[Math.floor(r() * HOBBIES.length)]);
    }
    await call(client, 'context_append', {
      context_id: ctx, role: i % 2 ? 'assistant' : 'user',
      content: text.join(' ') + '.', pinned: i === 0
    });
  }
  const appendSeconds = (performance.now() - t0) / 1000;

  for (const [label, extra] of [['plain', {}],
    ['query', { query: PROJECTS[3] }]]) {
    const times = [];
    let last;
    for (let i = 0; i < SEARCHES + 1; i++) {
      const { ms, r: res } = await call(client, 'context_window',
        { context_id: ctx, max_tokens: 4000, ...extra });
      if (i > 0) {
        times.push(ms);
      }
      last = res.structuredContent;
    }
    report({ op: 'context_window', variant: label, messages: n,
      max_tokens: 4000, median_ms: median(times),
      p99_ms: quantile(times, 0.99), calls: times.length,
      kept: last.messages.length, dropped: last.dropped,
      append_seconds: appendSeconds });
  }
  await client.close();
}

// ---------------------------------------------------------------------------

switch (cmd) {
case 'seed-http':
case 'seed-mcp':
  await seed(cmd.slice(5), args[0], Number(args[1]), args[2]);
  break;
case 'session':
  console.log(await mcpSession(args[0]));
  break;
case 'memory':
  await memory(args[0], args[1].split(',').map(Number), Number(args[2] ?? 0));
  break;
case 'context':
  await context(args[0], Number(args[1]));
  break;
default:
  console.error('usage: drive.mjs seed-http|seed-mcp|session|memory|context ...');
  process.exit(2);
}
