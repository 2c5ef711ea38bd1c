// The MCP endpoint as a client built on the official TypeScript SDK sees it.
//
//   MCP_URL   the MCP endpoint (default http://127.0.0.1:1999/mcp)
//   BASE_URL  where short links redirect (default: MCP_URL's origin)
//
// Run with Node.js 22: node --test client.test.mjs (scripts/test-mcp.sh
// starts nginx and runs it).  The tests share one session and one link and
// run in order: a link is made through MCP, followed over plain HTTP,
// inspected, listed, read as a resource and deleted; the session is ended
// last.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  LATEST_PROTOCOL_VERSION,
  McpError
} from '@modelcontextprotocol/sdk/types.js';

const MCP_URL = new URL(process.env.MCP_URL ?? 'http://127.0.0.1:1999/mcp');
const BASE_URL = new URL(process.env.BASE_URL || '/', MCP_URL);
if (!BASE_URL.pathname.endsWith('/')) {
  BASE_URL.pathname += '/';
}

const PRODUCT_TOOLS = {
  shorten_url: {
    input: ['url', 'alias', 'expires_in', 'max_visits'],
    required: ['url'],
    output: ['code', 'short_url', 'url']
  },
  resolve_url: { input: ['code'], required: ['code'], output: ['code', 'url'] },
  url_stats: {
    input: ['code'],
    required: ['code'],
    output: ['code', 'url', 'visits', 'created_at']
  },
  delete_url: { input: ['code'], required: ['code'], output: [] },
  list_urls: {
    input: ['cursor', 'limit'],
    required: [],
    output: ['links', 'nextCursor']
  }
};

const newClient = () =>
  new Client({ name: 'ngx-mcp-client-test', version: '1.0.0' });

// Every page of a paginated list method.
async function listAll(list, key) {
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

// A successful tool result: structuredContent, mirrored as JSON text.
function structured(result) {
  assert.notEqual(result.isError, true, JSON.stringify(result.content));
  assert.equal(typeof result.structuredContent, 'object');
  const text = result.content.find((c) => c.type === 'text');
  assert.ok(text, 'a text block carries the structured result too');
  assert.deepEqual(JSON.parse(text.text), result.structuredContent);
  return result.structuredContent;
}

describe('MCP endpoint through the TypeScript SDK', { timeout: 30_000 }, () => {
  const hex = randomBytes(6).toString('hex');
  const alias = `mcp-test-${hex}`;
  const target = `https://example.com/ngx-mcp/${hex}`;

  let client;
  let transport;
  let tools;

  before(async () => {
    client = newClient();
    transport = new StreamableHTTPClientTransport(MCP_URL);
    await client.connect(transport);
  });

  after(async () => {
    await client?.close();
  });

  it('initializes: server info, protocol version, session, capabilities', () => {
    const info = client.getServerVersion();
    assert.equal(typeof info.name, 'string');
    assert.ok(info.name.length > 0, 'serverInfo.name');
    assert.equal(typeof info.version, 'string');

    assert.equal(transport.protocolVersion, LATEST_PROTOCOL_VERSION);
    assert.match(transport.sessionId ?? '', /^[\x21-\x7e]+$/,
      'Mcp-Session-Id of visible ASCII');

    const caps = client.getServerCapabilities();
    for (const cap of ['tools', 'resources', 'prompts', 'logging', 'completions']) {
      assert.equal(typeof caps[cap], 'object', `capabilities.${cap}`);
    }
  });

  it('answers ping and logging/setLevel with an empty result', async () => {
    assert.deepEqual(await client.ping(), {});
    assert.deepEqual(await client.setLoggingLevel('info'), {});
  });

  it('lists the shortener tools with input and output schemas', async () => {
    tools = await listAll((p) => client.listTools(p), 'tools');
    const byName = new Map(tools.map((t) => [t.name, t]));

    for (const [name, want] of Object.entries(PRODUCT_TOOLS)) {
      const tool = byName.get(name);
      assert.ok(tool, `tool ${name}`);
      assert.equal(typeof tool.description, 'string', `${name}.description`);

      assert.equal(tool.inputSchema.type, 'object', `${name}.inputSchema`);
      for (const prop of want.input) {
        assert.ok(tool.inputSchema.properties?.[prop],
          `${name}.inputSchema.properties.${prop}`);
      }
      assert.deepEqual([...(tool.inputSchema.required ?? [])].sort(),
        [...want.required].sort(), `${name}.inputSchema.required`);

      assert.equal(tool.outputSchema?.type, 'object', `${name}.outputSchema`);
      for (const prop of want.output) {
        assert.ok(tool.outputSchema.properties?.[prop],
          `${name}.outputSchema.properties.${prop}`);
      }
    }
  });

  it('shorten_url makes a link with the alias asked for', async () => {
    // the SDK checks structuredContent against outputSchema only for tools
    // it has listed (on the last page)
    if (!tools) {
      await listAll((p) => client.listTools(p), 'tools');
    }

    const link = structured(await client.callTool({
      name: 'shorten_url',
      arguments: { url: target, alias }
    }));
    assert.equal(link.code, alias);
    assert.equal(link.url, target);
    assert.equal(typeof link.short_url, 'string');
    assert.ok(new URL(link.short_url).pathname.endsWith(`/${alias}`),
      `short_url ${link.short_url} ends with the code`);
  });

  it('shorten_url with a taken alias is a tool error', async () => {
    const result = await client.callTool({
      name: 'shorten_url',
      arguments: { url: target, alias }
    });
    assert.equal(result.isError, true);
    assert.ok(result.content.some((c) => c.type === 'text' && c.text),
      'the error is explained in text');
  });

  it('the link made through MCP redirects over plain HTTP', async () => {
    const res = await fetch(new URL(alias, BASE_URL), { redirect: 'manual' });
    await res.body?.cancel();
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), target);
  });

  it('resolve_url finds it', async () => {
    const link = structured(await client.callTool({
      name: 'resolve_url',
      arguments: { code: alias }
    }));
    assert.equal(link.code, alias);
    assert.equal(link.url, target);
  });

  it('url_stats reports its visits and creation time', async () => {
    const stats = structured(await client.callTool({
      name: 'url_stats',
      arguments: { code: alias }
    }));
    assert.equal(stats.code, alias);
    assert.equal(stats.url, target);
    assert.ok(Number.isInteger(stats.visits) && stats.visits >= 0,
      `visits ${stats.visits}`);
    assert.equal(typeof stats.created_at, 'string');
    assert.ok(!Number.isNaN(Date.parse(stats.created_at)),
      `created_at ${stats.created_at}`);
  });

  it('list_urls includes it', async () => {
    const links = [];
    let cursor;
    for (let page = 0; page < 1000; page++) {
      const args = cursor === undefined ? { limit: 100 } : { cursor, limit: 100 };
      const result = structured(await client.callTool({
        name: 'list_urls',
        arguments: args
      }));
      assert.ok(Array.isArray(result.links), 'links is an array');
      links.push(...result.links);
      if (links.some((l) => l.code === alias)) {
        break;
      }
      cursor = result.nextCursor;
      if (cursor === undefined) {
        break;
      }
      assert.equal(typeof cursor, 'string', 'nextCursor');
    }
    const link = links.find((l) => l.code === alias);
    assert.ok(link, `${alias} listed`);
    assert.equal(link.url, target);
  });

  it('calling an unknown tool is JSON-RPC error -32602', async () => {
    await assert.rejects(
      client.callTool({ name: `no_such_tool_${hex}`, arguments: {} }),
      (err) => {
        assert.ok(err instanceof McpError, String(err));
        assert.equal(err.code, -32602);
        return true;
      });
  });

  it('reads the link as resource shorturl://<code>', async () => {
    const templates = await listAll(
      (p) => client.listResourceTemplates(p), 'resourceTemplates');
    assert.ok(templates.some((t) => t.uriTemplate === 'shorturl://{code}'),
      'resource template shorturl://{code}');

    const uri = `shorturl://${alias}`;
    const { contents } = await client.readResource({ uri });
    assert.equal(contents.length, 1);
    assert.equal(contents[0].uri, uri);
    assert.equal(contents[0].mimeType, 'application/json');
    const record = JSON.parse(contents[0].text);
    assert.equal(record.code, alias);
    assert.equal(record.url, target);
  });

  it('lists prompts and gets the first one', async () => {
    const prompts = await listAll((p) => client.listPrompts(p), 'prompts');
    assert.ok(prompts.length > 0, 'at least one prompt');

    // the required arguments only, with plausible values
    const prompt = prompts[0];
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const args = {};
    for (const arg of prompt.arguments ?? []) {
      if (!arg.required) {
        continue;
      }
      args[arg.name] = /url/i.test(arg.name) ? target
        : /code|alias/i.test(arg.name) ? alias
          : /since|until|time|date|_at$/i.test(arg.name) ? now : 'test';
    }
    const { messages } = await client.getPrompt({
      name: prompt.name,
      arguments: args
    });
    assert.ok(messages.length > 0, `${prompt.name} has messages`);
    for (const m of messages) {
      assert.ok(['user', 'assistant'].includes(m.role), `role ${m.role}`);
      assert.equal(typeof m.content?.type, 'string');
    }
  });

  it('delete_url removes it: resolve_url is then a tool error, GET a 404', async () => {
    const deleted = await client.callTool({
      name: 'delete_url',
      arguments: { code: alias }
    });
    assert.notEqual(deleted.isError, true, JSON.stringify(deleted.content));

    const resolved = await client.callTool({
      name: 'resolve_url',
      arguments: { code: alias }
    });
    assert.equal(resolved.isError, true);

    const res = await fetch(new URL(alias, BASE_URL), { redirect: 'manual' });
    await res.body?.cancel();
    assert.equal(res.status, 404);
  });

  it('a terminated session answers 404', async () => {
    const sessionId = transport.sessionId;
    const version = transport.protocolVersion;
    await transport.terminateSession();

    // a client resuming the old session skips initialize
    const stale = newClient();
    const staleTransport = new StreamableHTTPClientTransport(MCP_URL, { sessionId });
    staleTransport.setProtocolVersion(version);
    await stale.connect(staleTransport);
    try {
      await assert.rejects(stale.ping(), (err) => {
        assert.ok(err instanceof StreamableHTTPError, String(err));
        assert.equal(err.code, 404);
        return true;
      });
    } finally {
      await stale.close();
    }
  });
});
