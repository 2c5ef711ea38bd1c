// The MCP server speaking first, across nginx workers: requests to the
// client during a tool call (sampling), resources/updated on the GET
// stream, Last-Event-ID replay, and what the transport refuses.
//
//   MCP_URL   the MCP endpoint (default http://127.0.0.1:1999/mcp), with
//             mcp_conformance_fixtures on (test_sampling) and, to prove
//             that a message crossed workers, "add_header X-Mcp-Worker
//             $pid always;" (scripts/test-mcp.sh sets both, with two
//             workers and reuseport)
//
// Every HTTP request here goes on a new connection, so that the kernel
// (reuseport) hands it to either worker: a test that must cross workers
// tries again, with new connections, until the worker pids in
// X-Mcp-Worker show that it did.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Readable } from 'node:stream';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema
} from '@modelcontextprotocol/sdk/types.js';

const MCP_URL = new URL(process.env.MCP_URL ?? 'http://127.0.0.1:1999/mcp');
const ATTEMPTS = 40;

// fetch on a new connection each time (no keep-alive pool), recording
// each exchange: method, the JSON-RPC message sent, status, worker pid
function freshFetch(log = []) {
  const f = (url, init = {}) =>
    new Promise((resolve, reject) => {
      const headers = Object.fromEntries(new Headers(init.headers));
      const req = http.request(
        url,
        { method: init.method ?? 'GET', headers, agent: false, signal: init.signal },
        (res) => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            h.set(k, Array.isArray(v) ? v.join(', ') : v);
          }
          let message;
          try {
            message = init.body ? JSON.parse(init.body) : undefined;
          } catch {
            message = undefined;
          }
          log.push({
            method: init.method ?? 'GET',
            message,
            status: res.statusCode,
            worker: h.get('x-mcp-worker')
          });
          const empty = res.statusCode === 202 || res.statusCode === 204;
          if (empty) {
            res.resume();
          }
          resolve(
            new Response(empty ? null : Readable.toWeb(res), {
              status: res.statusCode,
              headers: h
            })
          );
        }
      );
      req.on('error', reject);
      if (init.body) {
        req.write(init.body);
      }
      req.end();
    });
  f.log = log;
  return f;
}

async function connect(capabilities = {}, url = MCP_URL, requestInit = undefined) {
  const fetch = freshFetch();
  const client = new Client({ name: 'ngx-mcp-streams-test', version: '1.0.0' }, { capabilities });
  const transport = new StreamableHTTPClientTransport(url, { fetch, requestInit });
  await client.connect(transport);
  return { client, transport, log: fetch.log };
}

const until = async (what, ms = 3000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = what();
    if (v) {
      return v;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return what();
};

// A raw session: its id, and a POST of one message on it.
async function rawSession(fetch = freshFetch(), url = MCP_URL) {
  const headers = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'MCP-Protocol-Version': '2025-11-25'
  };
  const init = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: { sampling: {} },
        clientInfo: { name: 'raw', version: '1' }
      }
    })
  });
  assert.equal(init.status, 200);
  await init.text();
  const id = init.headers.get('mcp-session-id');
  assert.ok(id);
  const post = (message) =>
    fetch(url, {
      method: 'POST',
      headers: { ...headers, 'Mcp-Session-Id': id },
      body: JSON.stringify(message)
    });
  const get = (extra = {}, signal) =>
    fetch(url, {
      method: 'GET',
      headers: { Accept: 'text/event-stream', 'Mcp-Session-Id': id, ...extra },
      signal
    });
  await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return { id, post, get };
}

// SSE events of a response body, as they come: { id, data } objects
async function* sse(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      return;
    }
    buf += value;
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const event = { id: undefined, data: '' };
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) event.id = line.slice(4);
        if (line.startsWith('data: ')) event.data += line.slice(6);
      }
      yield event;
    }
  }
}

// the events that come within ms, then the stream is dropped
async function eventsWithin(response, ms, abort) {
  const events = [];
  const timer = setTimeout(() => abort.abort(), ms);
  try {
    for await (const e of sse(response)) {
      events.push(e);
    }
  } catch {
    /* aborted */
  } finally {
    clearTimeout(timer);
  }
  return events;
}

// test_sampling called on a raw session: its response (SSE)
const callSampling = (session, id, prompt) =>
  session.post({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'test_sampling', arguments: { prompt } }
  });

// an answer to the server's sampling request id, on a raw session
const sampled = (session, id, text) =>
  session.post({
    jsonrpc: '2.0',
    id,
    result: { role: 'assistant', content: { type: 'text', text }, model: 'm' }
  });

const appendTo = (client, context_id, content) =>
  client.callTool({
    name: 'context_append',
    arguments: { context_id, role: 'user', content }
  });

describe('the server speaks first, across workers', { timeout: 120_000 }, () => {
  it('a sampling round trip whose answer another worker receives', async (t) => {
    let crossed = false;
    let headers = true;
    for (let i = 0; i < ATTEMPTS && !crossed; i++) {
      const { client, log } = await connect({ sampling: {} });
      const asked = [];
      client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
        asked.push(req.params);
        return {
          role: 'assistant',
          content: { type: 'text', text: `answer ${i}` },
          model: 'test-model',
          stopReason: 'endTurn'
        };
      });
      const result = await client.callTool({
        name: 'test_sampling',
        arguments: { prompt: `question ${i}` }
      });
      assert.notEqual(result.isError, true, JSON.stringify(result.content));
      assert.deepEqual(result.content, [{ type: 'text', text: `LLM response: answer ${i}` }]);
      assert.equal(asked.length, 1);
      assert.equal(asked[0].messages[0].content.text, `question ${i}`);
      assert.equal(asked[0].maxTokens, 100);

      const call = log.find((e) => e.message?.method === 'tools/call');
      const answer = log.find((e) => e.message && !e.message.method && 'result' in e.message);
      assert.ok(call && answer, 'the call and the answer were POSTed');
      assert.equal(answer.status, 202);
      headers = call.worker !== null;
      crossed = headers && call.worker !== answer.worker;
      await client.close();
    }
    if (!headers) {
      t.skip('no X-Mcp-Worker header: cannot tell the workers apart');
      return;
    }
    assert.ok(crossed, `no answer reached the other worker in ${ATTEMPTS} tries`);
  });

  it('a client without sampling gets a tool error, and no request', async () => {
    const { client, log } = await connect({});
    const result = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'p' } });
    assert.equal(result.isError, true);
    assert.match(result.content[0].text, /sampling, which the client did not declare/);
    // no request of the server came, so no answer went
    assert.ok(!log.some((e) => e.message && !e.message.method));
    await client.close();
  });

  it('resources/updated on the GET stream, for a change by another session on another worker', async (t) => {
    const context = `streams-${process.pid}-${Date.now()}`;
    const { client: a, log: aLog } = await connect({});
    const updates = [];
    a.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
    });
    await appendTo(a, context, 'first');
    await a.subscribeResource({ uri: `context://${context}` });

    const get = await until(() => aLog.find((e) => e.method === 'GET' && e.status === 200));
    assert.ok(get, 'the SDK opened the GET stream');
    // the stream is open once the server took it: let its first tick pass
    await new Promise((r) => setTimeout(r, 100));

    let crossed = false;
    for (let i = 0; i < ATTEMPTS && !crossed; i++) {
      const { client: b, log: bLog } = await connect({});
      await appendTo(b, context, `change ${i}`);
      const call = bLog.find((e) => e.message?.method === 'tools/call');
      await b.close();
      const n = await until(() => updates.length === i + 1);
      assert.ok(n, `update ${i + 1} reached the GET stream (got ${updates.length})`);
      assert.equal(updates[i], `context://${context}`);
      if (get.worker === null) {
        break;
      }
      crossed = call.worker !== get.worker;
    }
    await a.close();
    if (get.worker === null) {
      t.skip('no X-Mcp-Worker header: cannot tell the workers apart');
      return;
    }
    assert.ok(crossed, `no change was made on the other worker in ${ATTEMPTS} tries`);
  });

  it('resources/updated for a link changed and deleted through mcp_admin, and created again', async () => {
    const code = `adm${process.pid}x${Date.now()}`;
    const uri = `shorturl://${code}`;
    const { client: a, log: aLog } = await connect({});
    const updates = [];
    a.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
    });
    const made = await a.callTool({
      name: 'shorten_url',
      arguments: { url: 'https://example.com/admin-before', alias: code }
    });
    assert.notEqual(made.isError, true, JSON.stringify(made.content));
    await a.subscribeResource({ uri });
    assert.ok(await until(() => aLog.find((e) => e.method === 'GET' && e.status === 200)));
    await new Promise((r) => setTimeout(r, 100));

    const admin = (method, path, body) =>
      freshFetch()(new URL(`/api/links${path}`, MCP_URL), {
        method,
        headers: body ? { 'Content-Type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined
      });

    // refused changes tell nobody
    const empty = await admin('PATCH', `/${code}`, {});
    assert.equal(empty.status, 400);
    await empty.text();
    const missing = await admin('PATCH', `/${code}none`, { url: 'https://example.com/x' });
    assert.equal(missing.status, 404);
    await missing.text();
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(updates, [], 'no update for a refused PATCH');

    const patched = await admin('PATCH', `/${code}`, { url: 'https://example.com/admin-after' });
    assert.equal(patched.status, 200);
    assert.equal((await patched.json()).url, 'https://example.com/admin-after');
    assert.ok(await until(() => updates.length === 1), 'the PATCH reached the GET stream');
    assert.deepEqual(updates, [uri]);
    const read = await a.readResource({ uri });
    assert.match(read.contents[0].text, /admin-after/);

    const deleted = await admin('DELETE', `/${code}`);
    assert.equal(deleted.status, 204);
    assert.ok(await until(() => updates.length === 2), 'the DELETE reached the GET stream');
    assert.deepEqual(updates, [uri, uri]);

    // the alias taken again, through POST /shorten: the subscription stays
    const again = await freshFetch()(new URL('/shorten', MCP_URL), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ OriginalURL: 'https://example.com/admin-again', alias: code })
    });
    assert.equal(again.status, 201);
    await again.text();
    assert.ok(await until(() => updates.length === 3), 'the new link reached the GET stream');
    const taken = await admin('POST', '', { OriginalURL: 'https://example.com/x', alias: code });
    assert.equal(taken.status, 409);
    await taken.text();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(updates.length, 3, 'a taken alias announces nothing');
    await a.close();
  });

  it('resources/list_changed when a link is created or deleted, by another session', async () => {
    const code = `lst${process.pid}x${Date.now()}`;
    const { client: a, log: aLog } = await connect({});
    // a session of another tenant, with its GET stream open too
    const { client: other, log: otherLog } = await connect(
      {},
      new URL('/mcp-other-tenant', MCP_URL),
      { headers: { Authorization: 'Bearer streams-other-tenant' } }
    );
    let otherChanges = 0;
    other.setNotificationHandler(ResourceListChangedNotificationSchema, () => {
      otherChanges++;
    });
    const caps = a.getServerCapabilities();
    assert.equal(caps.resources.listChanged, true);
    assert.equal(caps.tools.listChanged, false, 'the tools never change while nginx runs');
    assert.equal(caps.prompts.listChanged, false);
    let changes = 0;
    a.setNotificationHandler(ResourceListChangedNotificationSchema, () => {
      changes++;
    });
    assert.ok(await until(() => aLog.find((e) => e.method === 'GET' && e.status === 200)));
    assert.ok(await until(() => otherLog.find((e) => e.method === 'GET' && e.status === 200)));
    await new Promise((r) => setTimeout(r, 100));

    const { client: b } = await connect({});
    const made = await b.callTool({
      name: 'shorten_url',
      arguments: { url: 'https://example.com/listed', alias: code }
    });
    assert.notEqual(made.isError, true, JSON.stringify(made.content));
    assert.ok(await until(() => changes === 1), `created: ${changes} list_changed`);
    const listed = await a.listResources();
    assert.ok(listed.resources.some((r) => r.uri === `shorturl://${code}`));

    // a refused creation and a change of the link leave the list as it was
    const taken = await b.callTool({
      name: 'shorten_url',
      arguments: { url: 'https://example.com/other', alias: code }
    });
    assert.equal(taken.isError, true);
    const patched = await freshFetch()(new URL(`/api/links/${code}`, MCP_URL), {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ url: 'https://example.com/listed-2' })
    });
    assert.equal(patched.status, 200);
    await patched.text();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(changes, 1, 'no list_changed for a refused creation or a PATCH');

    const gone = await b.callTool({ name: 'delete_url', arguments: { code } });
    assert.notEqual(gone.isError, true);
    assert.ok(await until(() => changes === 2), `deleted: ${changes} list_changed`);
    assert.equal(otherChanges, 0, "another tenant's list did not change");

    // the other tenant's own link: its session hears of it, ours not
    const own = await other.callTool({
      name: 'shorten_url',
      arguments: { url: 'https://example.com/theirs' }
    });
    assert.notEqual(own.isError, true, JSON.stringify(own.content));
    assert.ok(await until(() => otherChanges === 1), `other tenant: ${otherChanges}`);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(changes, 2);
    await other.close();
    await b.close();
    await a.close();
  });

  it('Last-Event-ID replays exactly the missed event, and none twice', async () => {
    const context = `replay-${process.pid}-${Date.now()}`;
    const a = await rawSession();
    const { client: b } = await connect({});
    await appendTo(b, context, 'created');
    const sub = await a.post({
      jsonrpc: '2.0',
      id: 2,
      method: 'resources/subscribe',
      params: { uri: `context://${context}` }
    });
    assert.equal(sub.status, 200);
    await sub.text();

    // first connection: the priming event, then one update
    const abort1 = new AbortController();
    const first = await a.get({}, abort1.signal);
    assert.equal(first.status, 200);
    assert.match(first.headers.get('content-type'), /^text\/event-stream/);
    setTimeout(() => appendTo(b, context, 'one'), 200);
    const seen = await eventsWithin(first, 1000, abort1);
    assert.equal(seen.length, 2, JSON.stringify(seen));
    assert.equal(seen[0].data, '', 'a priming event first');
    assert.match(seen[0].id, /^0-\d+$/);
    assert.equal(JSON.parse(seen[1].data).method, 'notifications/resources/updated');
    const last = seen[1].id;

    // disconnected: one change is missed
    await appendTo(b, context, 'two');

    // resumed: that one, once, then a live one, and nothing else (the
    // server may not have seen the first connection go yet: 409 then)
    const abort2 = new AbortController();
    let again;
    for (let i = 0; i < 50; i++) {
      again = await a.get({ 'Last-Event-ID': last }, abort2.signal);
      if (again.status !== 409) {
        break;
      }
      await again.text();
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(again.status, 200);
    setTimeout(() => appendTo(b, context, 'three'), 300);
    const replayed = (await eventsWithin(again, 1000, abort2)).filter((e) => e.data);
    assert.equal(replayed.length, 2, JSON.stringify(replayed));
    const ids = replayed.map((e) => e.id);
    assert.ok(!ids.includes(last), 'the event before Last-Event-ID is not sent again');
    assert.notEqual(ids[0], ids[1]);
    for (const e of replayed) {
      assert.deepEqual(JSON.parse(e.data).params, { uri: `context://${context}` });
    }
    await b.close();
  });

  it('refuses a second GET stream, and an answer from another session', async () => {
    const a = await rawSession();
    const abort = new AbortController();
    const first = await a.get({}, abort.signal);
    assert.equal(first.status, 200);
    const second = await a.get();
    assert.equal(second.status, 409);
    assert.match((await second.json()).error.message, /GET stream open already/);
    abort.abort();

    // a tool call that waits for the client: its request's id
    const call = await a.post({
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'test_sampling', arguments: { prompt: 'who?' } }
    });
    assert.equal(call.status, 200);
    const events = sse(call);
    const nextMessage = async () => {
      for (;;) {
        const { value, done } = await events.next();
        if (done) {
          return undefined;
        }
        if (value.data) {
          return JSON.parse(value.data);
        }
      }
    };
    const request = await nextMessage();
    assert.equal(request.method, 'sampling/createMessage');

    const answer = (id) => ({
      jsonrpc: '2.0',
      id,
      result: { role: 'assistant', content: { type: 'text', text: 'me' }, model: 'm' }
    });

    const other = await rawSession();
    const foreign = await other.post(answer(request.id));
    assert.equal(foreign.status, 400, 'another session cannot answer it');
    await foreign.text();

    const unknown = await a.post(answer(request.id + 1000000));
    assert.equal(unknown.status, 400);
    await unknown.text();

    const ok = await a.post(answer(request.id));
    assert.equal(ok.status, 202);

    const response = await nextMessage();
    assert.equal(response.id, 7);
    assert.deepEqual(response.result.content, [{ type: 'text', text: 'LLM response: me' }]);

    // answered: a second answer changes nothing
    const twice = await a.post(answer(request.id));
    assert.ok([400, 409].includes(twice.status), `status ${twice.status}`);
    await twice.text();
    assert.equal(await nextMessage(), undefined, 'the stream ended');
  });

  it('a client that never answers: a tool error after mcp_client_request_timeout, nothing left waiting', async () => {
    // scripts/test-mcp.sh: "mcp_client_request_timeout 500ms" there
    const a = await rawSession(freshFetch(), new URL('/mcp-short-timeout', MCP_URL));
    const started = Date.now();
    const call = await callSampling(a, 'slow-1', 'are you there?');
    assert.equal(call.status, 200);
    const messages = [];
    for await (const e of sse(call)) {
      if (e.data) {
        messages.push(JSON.parse(e.data));
      }
    }
    const elapsed = Date.now() - started;
    assert.equal(messages.length, 2, JSON.stringify(messages));
    const [request, response] = messages;
    assert.equal(request.method, 'sampling/createMessage');
    assert.equal(response.id, 'slow-1');
    assert.equal(response.result.isError, true);
    assert.equal(
      response.result.content[0].text,
      'the client did not answer sampling/createMessage within 500 ms (mcp_client_request_timeout)'
    );
    assert.ok(elapsed >= 450, `answered after ${elapsed} ms, before the timeout`);
    assert.ok(elapsed < 10_000, `answered after ${elapsed} ms: the 60 s default?`);

    // nothing waits any more: the late answer is refused
    const late = await sampled(a, request.id, 'late');
    assert.equal(late.status, 400);
    assert.match((await late.json()).error.message, /no request of this server to this session waits/);
  });

  it('notifications/cancelled stops a waiting tool and withdraws its request', async () => {
    const a = await rawSession();
    const call = await callSampling(a, 'call-1', 'never mind');
    assert.equal(call.status, 200);
    const messages = [];
    const events = sse(call);
    for (;;) {
      const { value, done } = await events.next();
      if (done) {
        break;
      }
      if (!value.data) {
        continue;
      }
      const msg = JSON.parse(value.data);
      messages.push(msg);
      if (msg.method === 'sampling/createMessage') {
        // on a new connection: either worker
        const cancel = await a.post({
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId: 'call-1', reason: 'changed my mind' }
        });
        assert.equal(cancel.status, 202);
      }
    }
    assert.equal(messages.length, 2, JSON.stringify(messages));
    const [request, withdrawn] = messages;
    assert.equal(request.method, 'sampling/createMessage');
    assert.deepEqual(withdrawn.params.requestId, request.id);
    assert.equal(withdrawn.method, 'notifications/cancelled');
    assert.ok(!messages.some((m) => m.id === 'call-1'), 'no response to a cancelled call');

    // the request is gone: its answer is refused
    const late = await sampled(a, request.id, 'late');
    assert.equal(late.status, 400);
    await late.text();
  });

  it('context_window: a summary written by the model, reused while the dropped turns are the same', async () => {
    const context = `summary-${process.pid}-${Date.now()}`;
    const { client } = await connect({ sampling: {} });
    const asked = [];
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
      asked.push(req.params);
      return {
        role: 'assistant',
        content: { type: 'text', text: `the model's summary ${asked.length}` },
        model: 'test-model',
        stopReason: 'endTurn'
      };
    });
    for (let i = 0; i < 30; i++) {
      const r = await appendTo(client, context, `turn ${i}: ` + 'words of the conversation '.repeat(8));
      assert.notEqual(r.isError, true);
    }
    const windowOf = async (args = {}) => {
      const r = await client.callTool({
        name: 'context_window',
        arguments: { context_id: context, max_tokens: 300, ...args }
      });
      assert.notEqual(r.isError, true, JSON.stringify(r.content));
      return r.structuredContent;
    };

    const first = await windowOf();
    assert.equal(asked.length, 1, 'one sampling request');
    assert.equal(first.summarizer, 'model');
    assert.equal(first.summary, "Summary of earlier turns: the model's summary 1");
    assert.ok(first.dropped > 0);
    assert.ok(first.tokens_used <= 300);
    assert.equal(first.messages.filter((m) => m.summary).length, 1);
    assert.equal(first.messages.find((m) => m.summary).content, first.summary);
    assert.match(asked[0].messages[0].content.text, /user: turn 0: words/);
    assert.ok(asked[0].maxTokens <= 75, `maxTokens ${asked[0].maxTokens}`);

    const second = await windowOf();
    assert.equal(asked.length, 1, 'the stored summary is reused: no new request');
    assert.deepEqual(second, first);

    // extractive never asks; what the model wrote for these turns stays
    const extractive = await windowOf({ summarizer: 'extractive' });
    assert.equal(asked.length, 1);
    assert.equal(extractive.summary, first.summary);

    // other dropped turns: a new summary
    await appendTo(client, context, 'turn 30: ' + 'more words '.repeat(20));
    const third = await windowOf({ summarizer: 'extractive' });
    assert.equal(asked.length, 1);
    assert.equal(third.summarizer, 'extractive');
    assert.ok(!third.summary.startsWith('Summary of earlier turns'));
    const fourth = await windowOf({ summarizer: 'model' });
    assert.equal(asked.length, 2);
    assert.equal(fourth.summarizer, 'model');
    assert.equal(fourth.summary, "Summary of earlier turns: the model's summary 2");
    assert.ok(fourth.tokens_used <= 300);
    await client.close();

    // a client without sampling: auto is extractive, model a tool error
    const { client: plain } = await connect({});
    const auto = await plain.callTool({
      name: 'context_window',
      arguments: { context_id: context, max_tokens: 300 }
    });
    assert.notEqual(auto.isError, true);
    assert.ok(['extractive', 'model'].includes(auto.structuredContent.summarizer));
    const refused = await plain.callTool({
      name: 'context_window',
      arguments: { context_id: context, max_tokens: 300, summarizer: 'model' }
    });
    assert.equal(refused.isError, true);
    assert.match(refused.content[0].text, /needs a client that offers sampling/);
    await plain.close();
  });
});
