// An endpoint that takes OAuth access tokens (mcp_oauth_*), as a client
// built on the official TypeScript SDK sees it: with a bearer token it
// was given, and through the SDK's own OAuth flow against a small
// authorization server that this file runs (discovery of the protected
// resource metadata and of the server's metadata, a pre-registered public
// client, PKCE with S256, the resource indicator of RFC 8707).
//
//   OAUTH_MCP_URL  the protected endpoint
//   OAUTH_AS_URL   the issuer nginx trusts (mcp_oauth_issuer): the
//                  authorization server listens there
//   OAUTH_KEY      the PEM private key whose public half nginx reads
//                  (mcp_oauth_jwks), written by oauth-keys.mjs
//
// Run with Node.js 22: node --test oauth.test.mjs (scripts/test-mcp.sh
// makes the key, starts nginx with such an endpoint, and runs it).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, randomBytes, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const MCP_URL = new URL(process.env.OAUTH_MCP_URL
                        ?? 'http://127.0.0.1:1999/oauth/mcp');
const AS_URL = process.env.OAUTH_AS_URL ?? 'http://127.0.0.1:2000';
const KEY = createPrivateKey(readFileSync(process.env.OAUTH_KEY
                                          ?? 'build/oauth/key.pem'));

const CLIENT_ID = 'ngx-mcp-test-client';
const REDIRECT_URI = 'http://127.0.0.1/callback';   // never fetched

const b64u = (b) => Buffer.from(b).toString('base64url');

// An ES256 access token of the issuer, claims changed by `claims`
function accessToken(claims = {}) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'ES256', typ: 'at+jwt', kid: 'test-as-1' };
  const body = {
    iss: AS_URL, aud: MCP_URL.href, sub: 'alice', client_id: CLIENT_ID,
    scope: 'mcp links:read links:write', iat: now, exp: now + 300,
    ...claims
  };
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(body))}`;
  const sig = sign('sha256', Buffer.from(input),
                   { key: KEY, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64u(sig)}`;
}

// --- the authorization server ----------------------------------------------

const codes = new Map();        // code -> what /authorize was asked
const issued = [];              // the claims of every token issued

function reply(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function form(req) {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
  }
  return new URLSearchParams(text);
}

async function authorizationServer(req, res) {
  const url = new URL(req.url, AS_URL);

  if (url.pathname === '/.well-known/oauth-authorization-server') {
    return reply(res, 200, {
      issuer: AS_URL,
      authorization_endpoint: `${AS_URL}/authorize`,
      token_endpoint: `${AS_URL}/token`,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['none'],
      scopes_supported: ['mcp', 'links:read', 'links:write', 'admin']
    });
  }

  if (url.pathname === '/authorize' && req.method === 'GET') {
    const p = url.searchParams;
    if (p.get('client_id') !== CLIENT_ID
        || p.get('redirect_uri') !== REDIRECT_URI
        || p.get('response_type') !== 'code'
        || p.get('code_challenge_method') !== 'S256'
        || !p.get('code_challenge')) {
      return reply(res, 400, { error: 'invalid_request' });
    }
    // the user consents at once
    const code = randomBytes(16).toString('hex');
    codes.set(code, Object.fromEntries(p));
    const to = new URL(REDIRECT_URI);
    to.searchParams.set('code', code);
    if (p.get('state')) {
      to.searchParams.set('state', p.get('state'));
    }
    res.writeHead(302, { Location: to.href });
    return res.end();
  }

  if (url.pathname === '/token' && req.method === 'POST') {
    const p = await form(req);
    const asked = codes.get(p.get('code'));
    codes.delete(p.get('code'));
    const verifier = p.get('code_verifier') ?? '';
    if (p.get('grant_type') !== 'authorization_code' || !asked
        || p.get('client_id') !== CLIENT_ID
        || p.get('redirect_uri') !== asked.redirect_uri
        || b64u(createHash('sha256').update(verifier).digest())
           !== asked.code_challenge) {
      return reply(res, 400, { error: 'invalid_grant' });
    }
    // RFC 8707: the token is for the resource asked for
    const resource = p.get('resource') ?? asked.resource;
    const claims = { aud: resource, scope: asked.scope };
    issued.push(claims);
    return reply(res, 200, {
      access_token: accessToken(claims),
      token_type: 'Bearer',
      expires_in: 300,
      scope: asked.scope
    }, { 'Cache-Control': 'no-store' });
  }

  return reply(res, 404, { error: 'not_found' });
}

// --- the client's side of the flow -----------------------------------------

// An OAuthClientProvider for a client registered beforehand (no dynamic
// registration): it keeps what the SDK hands it, and "redirects the user"
// by remembering the authorization URL.
class TestProvider {
  constructor() {
    this.authorizationUrl = undefined;
    this._tokens = undefined;
    this._verifier = undefined;
  }

  get redirectUrl() { return REDIRECT_URI; }

  get clientMetadata() {
    return {
      client_name: 'ngx_mcp OAuth test',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none'
    };
  }

  clientInformation() { return { client_id: CLIENT_ID }; }
  tokens() { return this._tokens; }
  saveTokens(tokens) { this._tokens = tokens; }
  redirectToAuthorization(url) { this.authorizationUrl = url; }
  saveCodeVerifier(verifier) { this._verifier = verifier; }
  codeVerifier() { return this._verifier; }
}

const newClient = () => new Client({ name: 'ngx-mcp-oauth-test', version: '1.0.0' });

async function post(headers) {
  return fetch(MCP_URL, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      ...headers
    },
    body: JSON.stringify({
      jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {},
                clientInfo: { name: 't', version: '1' } }
    })
  });
}

describe('an MCP endpoint with OAuth', () => {
  let server;

  before(async () => {
    server = http.createServer((req, res) => {
      authorizationServer(req, res).catch((e) => reply(res, 500, { error: String(e) }));
    });
    const { hostname, port } = new URL(AS_URL);
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(Number(port), hostname, resolve);
    });
  });

  after(() => new Promise((resolve) => server.close(resolve)));

  it('refuses a request without a token with a pointer to its metadata', async () => {
    const res = await post({});
    assert.equal(res.status, 401);
    const challenge = res.headers.get('www-authenticate');
    const meta = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
    assert.ok(meta, `resource_metadata in ${challenge}`);
    assert.match(challenge, /scope="mcp"/);

    const doc = await (await fetch(meta)).json();
    assert.deepEqual(doc, {
      resource: MCP_URL.href,
      authorization_servers: [AS_URL],
      scopes_supported: ['mcp', 'links:read', 'links:write', 'admin'],
      bearer_methods_supported: ['header']
    });
  });

  it('connects with a bearer token and calls tools', async () => {
    const client = newClient();
    const transport = new StreamableHTTPClientTransport(MCP_URL, {
      requestInit: { headers: { Authorization: `Bearer ${accessToken()}` } }
    });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'shorten_url'));
      const made = await client.callTool({
        name: 'shorten_url',
        arguments: { url: `https://example.com/oauth/${randomBytes(4).toString('hex')}` }
      });
      assert.notEqual(made.isError, true, JSON.stringify(made));
      const graph = await client.callTool({ name: 'read_graph', arguments: {} });
      assert.notEqual(graph.isError, true, JSON.stringify(graph));
    } finally {
      await transport.terminateSession().catch(() => {});
      await client.close();
    }
  });

  for (const [what, claims] of [
    ['an expired token', { exp: Math.floor(Date.now() / 1000) - 3600 }],
    ['a token for another resource', { aud: 'https://elsewhere.example/mcp' }],
    ['a token of another issuer', { iss: 'https://evil.example' }]
  ]) {
    it(`refuses ${what} (401 invalid_token)`, async () => {
      const res = await post({ Authorization: `Bearer ${accessToken(claims)}` });
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate'), /error="invalid_token"/);

      const client = newClient();
      const transport = new StreamableHTTPClientTransport(MCP_URL, {
        requestInit: { headers: { Authorization: `Bearer ${accessToken(claims)}` } }
      });
      await assert.rejects(client.connect(transport),
                           (e) => e instanceof StreamableHTTPError && e.code === 401);
      await client.close();
    });
  }

  it('answers a token without the mcp scope with 403 insufficient_scope', async () => {
    const res = await post({
      Authorization: `Bearer ${accessToken({ scope: 'links:read' })}`
    });
    assert.equal(res.status, 403);
    assert.match(res.headers.get('www-authenticate'),
                 /error="insufficient_scope", scope="mcp"/);
  });

  it('authorizes through the SDK\'s OAuth flow (PKCE, pre-registered client, resource indicator)', async () => {
    const provider = new TestProvider();

    // 401: the SDK discovers the metadata and sends the user to authorize
    let transport = new StreamableHTTPClientTransport(MCP_URL, { authProvider: provider });
    let client = newClient();
    await assert.rejects(client.connect(transport), UnauthorizedError);
    await client.close();

    const url = provider.authorizationUrl;
    assert.ok(url, 'the SDK asked for authorization');
    assert.equal(url.origin + url.pathname, `${AS_URL}/authorize`);
    assert.equal(url.searchParams.get('client_id'), CLIENT_ID);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(url.searchParams.get('resource'), MCP_URL.href);
    assert.equal(url.searchParams.get('scope'), 'mcp');

    // the user's browser: the server redirects back with a code
    const back = await fetch(url, { redirect: 'manual' });
    assert.equal(back.status, 302);
    const code = new URL(back.headers.get('location')).searchParams.get('code');
    assert.ok(code);

    // the SDK exchanges the code (with the PKCE verifier) for a token
    await transport.finishAuth(code);
    assert.ok(provider.tokens()?.access_token);
    assert.deepEqual(issued.at(-1), { aud: MCP_URL.href, scope: 'mcp' });

    transport = new StreamableHTTPClientTransport(MCP_URL, { authProvider: provider });
    client = newClient();
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'read_graph'));
      const graph = await client.callTool({ name: 'read_graph', arguments: {} });
      assert.notEqual(graph.isError, true, JSON.stringify(graph));
      // the token's scope is "mcp" alone: no links:write
      const made = await client.callTool({
        name: 'shorten_url', arguments: { url: 'https://example.com/' }
      });
      assert.equal(made.isError, true);
      assert.match(made.content[0].text, /links:write/);
    } finally {
      await transport.terminateSession().catch(() => {});
      await client.close();
    }
  });
});
