// Shared by memory-compat.test.mjs and memory.test.mjs: connecting to the
// endpoint (Streamable HTTP) and to the reference server-memory (stdio),
// and comparing knowledge graphs.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  StdioClientTransport,
  getDefaultEnvironment
} from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  StreamableHTTPClientTransport
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export const MCP_URL = new URL(process.env.MCP_URL
  ?? 'http://127.0.0.1:1999/mcp');

export const MEMORY_TOOLS = [
  'create_entities', 'create_relations', 'add_observations',
  'delete_entities', 'delete_observations', 'delete_relations',
  'read_graph', 'search_nodes', 'open_nodes'
];

export const CONTEXT_TOOLS = [
  'context_append', 'context_window', 'context_search', 'context_list',
  'context_clear'
];

// A namespace of our own: the tests never see each other's data, nor that
// of an earlier run against the same store.
export const freshNamespace = (what = 't') =>
  `${what}-${randomBytes(6).toString('hex')}`;

export const newClient = (name = 'ngx-mcp-memory-test') =>
  new Client({ name, version: '1.0.0' });

// Every page of a paginated list method.
export async function listAll(list, key) {
  const items = [];
  let cursor;
  for (let page = 0; page < 1000; page++) {
    const result = await list(cursor === undefined ? {} : { cursor });
    items.push(...result[key]);
    cursor = result.nextCursor;
    if (cursor === undefined) {
      return items;
    }
  }
  throw new Error(`${key}: more than 1000 pages`);
}

// A client of the endpoint, its tools listed (so that the SDK checks every
// structuredContent against the tool's outputSchema).
export async function connectEndpoint(name) {
  const client = newClient(name);
  const transport = new StreamableHTTPClientTransport(MCP_URL);
  await client.connect(transport);
  const tools = await listAll((p) => client.listTools(p), 'tools');
  return { client, transport, tools, close: () => client.close() };
}

// The bin of the reference server-memory, as npm installed it in mcp/.
export function referenceServerPath() {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve(
    '@modelcontextprotocol/server-memory/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
  const bin = typeof pkg.bin === 'string' ? pkg.bin
    : pkg.bin['mcp-server-memory'] ?? Object.values(pkg.bin)[0];
  return { path: join(dirname(pkgPath), bin), version: pkg.version };
}

// The reference server-memory over stdio, on Node (this process's), with
// its memory file in a temporary directory of its own.
export async function spawnReference(name = 'ngx-mcp-memory-reference') {
  const dir = mkdtempSync(join(tmpdir(), 'ngx-mcp-server-memory-'));
  const { path, version } = referenceServerPath();
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [path],
    env: {
      ...getDefaultEnvironment(),
      MEMORY_FILE_PATH: join(dir, 'memory.jsonl')
    },
    stderr: 'pipe'
  });
  const stderr = [];
  transport.stderr?.on('data', (d) => stderr.push(String(d)));
  const client = newClient(name);
  await client.connect(transport);
  const tools = await listAll((p) => client.listTools(p), 'tools');
  return {
    client,
    transport,
    tools,
    version,
    stderr,
    close: async () => {
      await client.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

// JSON for an assertion message, cut to a readable length.
export function show(value, max = 4000) {
  const s = JSON.stringify(value);
  return s === undefined ? String(value)
    : s.length > max ? `${s.slice(0, max)}... (${s.length} chars)` : s;
}

export function resultText(result) {
  const text = (result.content ?? []).find((c) => c.type === 'text');
  return text?.text;
}

// A successful tool result whose text block is the JSON of x = key ?
// structuredContent[key] : structuredContent, formatted (when pretty) as
// JSON.stringify(x, null, 2) as server-memory prints its results; with
// key === null, the plain text structuredContent.message.
export function structured(result, key, what = 'result', pretty = true) {
  assert.notEqual(result.isError, true,
    `${what} is an error: ${show(result.content)}`);
  assert.equal(typeof result.structuredContent, 'object',
    `${what}: structuredContent`);
  const text = resultText(result);
  assert.equal(typeof text, 'string', `${what}: a text block`);
  const sc = result.structuredContent;
  if (key === null) {
    assert.equal(text, sc.message, `${what}: text is the message`);
    return sc;
  }
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    assert.fail(`${what}: text is not JSON (${e.message}): ${show(text)}`);
  }
  assert.deepEqual(parsed, key ? sc[key] : sc,
    `${what}: the text block holds ${key ? `structuredContent.${key}`
      : 'structuredContent'}`);
  if (pretty) {
    assert.equal(text, JSON.stringify(parsed, null, 2),
      `${what}: the text is formatted as JSON.stringify(result, null, 2)`);
  }
  return sc;
}

export function toolError(result, what = 'result') {
  assert.equal(result.isError, true,
    `${what} should be a tool error (isError), got ${show(result)}`);
  const text = resultText(result);
  assert.ok(typeof text === 'string' && text.length > 0,
    `${what}: the error is explained in text`);
  return text;
}

// Entities and relations in a canonical order (observations keep theirs).
const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
export const relKey = (r) => JSON.stringify([r.from, r.relationType, r.to]);

export function sortEntities(entities) {
  return [...entities].sort((a, b) => cmp(a.name, b.name)
    || cmp(JSON.stringify(a), JSON.stringify(b)));
}

export function sortRelations(relations) {
  return [...relations].sort((a, b) => cmp(relKey(a), relKey(b)));
}

export function canonicalGraph(g) {
  return {
    entities: sortEntities(g.entities ?? []),
    relations: sortRelations(g.relations ?? [])
  };
}

// The relations of graph from or to any of names (as server-memory's
// search_nodes and open_nodes return them).
export function relationsTouching(graph, names) {
  const set = new Set(names);
  return graph.relations.filter((r) => set.has(r.from) || set.has(r.to));
}

// read_graph, every page of it: {entities, relations}.
export async function readGraph(call, args = {}, limit) {
  if (limit === undefined) {
    return structured(await call('read_graph', args), undefined,
      'read_graph');
  }
  const entities = [];
  const relations = new Map();
  let cursor;
  for (let page = 0; page < 100000; page++) {
    const sc = structured(await call('read_graph',
      { ...args, limit, ...(cursor === undefined ? {} : { cursor }) }),
    undefined, `read_graph page ${page}`);
    entities.push(...sc.entities);
    for (const r of sc.relations) {
      relations.set(relKey(r), r);
    }
    cursor = sc.nextCursor;
    if (cursor === undefined) {
      return { entities, relations: [...relations.values()] };
    }
  }
  throw new Error('read_graph: too many pages');
}
