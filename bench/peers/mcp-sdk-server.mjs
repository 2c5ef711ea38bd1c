// The MCP peer: the official TypeScript SDK's Streamable HTTP server in
// stateless JSON mode (a new McpServer and transport per request, as the
// SDK's stateless examples do; enableJsonResponse, no sessions), on
// node:http, with the shortener's two tools over an in-memory Map:
//
//   shorten_url {url}   -> {ShortURL, code, short_url, url}
//   resolve_url {code}  -> {code, url, short_url, created_at}, or a tool
//                          error (isError) for an unknown code
//
//     node mcp-sdk-server.mjs PORT
//
// POST /mcp only; anything else is 405 or 404.

import { randomInt } from 'node:crypto';
import { createServer } from 'node:http';

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  StreamableHTTPServerTransport
} from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import * as z from 'zod';

const port = Number(process.argv[2] ?? 2104);
const base = `http://127.0.0.1:${port}/`;
const ALPHABET =
  '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

const links = new Map();

const randomCode = () => {
  let code = '';
  for (let i = 0; i < 7; i++) {
    code += ALPHABET[randomInt(62)];
  }
  return code;
};

const result = (structuredContent) => ({
  content: [{ type: 'text', text: JSON.stringify(structuredContent) }],
  structuredContent
});

function getServer() {
  const server = new McpServer({ name: 'sdk-shortener', version: '1.0.0' });

  server.registerTool('shorten_url', {
    description: 'Shortens a URL',
    inputSchema: { url: z.string().url() },
    outputSchema: {
      ShortURL: z.string(), code: z.string(), short_url: z.string(),
      url: z.string()
    }
  }, async ({ url }) => {
    let code = randomCode();
    while (links.has(code)) {
      code = randomCode();
    }
    links.set(code, { url, created_at: Date.now() });
    return result({ ShortURL: code, code, short_url: base + code, url });
  });

  server.registerTool('resolve_url', {
    description: 'Resolves a short code to its URL',
    inputSchema: { code: z.string().min(1).max(64) },
    outputSchema: {
      code: z.string(), url: z.string(), short_url: z.string(),
      created_at: z.string()
    }
  }, async ({ code }) => {
    const link = links.get(code);
    if (link === undefined) {
      return {
        content: [{ type: 'text', text: `No short URL "${code}"` }],
        isError: true
      };
    }
    return result({
      code, url: link.url, short_url: base + code,
      created_at: new Date(link.created_at).toISOString()
    });
  });

  return server;
}

const readBody = (req) => new Promise((resolve, reject) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  req.on('error', reject);
});

const httpServer = createServer(async (req, res) => {
  if (req.url !== '/mcp') {
    res.writeHead(404).end();
    return;
  }
  if (req.method !== 'POST') {
    res.writeHead(405, { Allow: 'POST' }).end();
    return;
  }

  let body;
  try {
    body = JSON.parse(await readBody(req));
  } catch {
    res.writeHead(400, { 'Content-Type': 'application/json' }).end(
      JSON.stringify({
        jsonrpc: '2.0', id: null,
        error: { code: -32700, message: 'Parse error' }
      }));
    return;
  }

  const server = getServer();
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true
  });
  res.on('close', () => {
    transport.close();
    server.close();
  });

  try {
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  } catch (e) {
    if (!res.headersSent) {
      res.writeHead(500, { 'Content-Type': 'application/json' }).end(
        JSON.stringify({
          jsonrpc: '2.0', id: null,
          error: { code: -32603, message: String(e) }
        }));
    }
  }
});

httpServer.keepAliveTimeout = 60000;
httpServer.listen(port, '127.0.0.1');

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
