// The endpoint's context store beyond server-memory: namespaces, pages,
// concurrent writers over several sessions and workers, BM25 ranking, and
// the conversation-context tools (context_*), through the TypeScript SDK.
//
//   MCP_URL   the MCP endpoint (default http://127.0.0.1:1999/mcp)
//   MEMORY_TEST_CLIENTS, MEMORY_TEST_ENTITIES
//             the concurrency test's clients (default 8) and entities per
//             client (default 50)
//
// Run with Node.js 22: node --test memory.test.mjs (scripts/test-mcp.sh
// starts nginx, with 2 workers on a reuseport listener, and runs it).
// Every test works in namespaces (and context ids) of its own, so it can
// run against a store that holds other data.  The context tests are
// skipped, saying so, when tools/list has no context tools.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';

import { McpError } from '@modelcontextprotocol/sdk/types.js';

import {
  CONTEXT_TOOLS,
  MCP_URL,
  MEMORY_TOOLS,
  canonicalGraph,
  connectEndpoint,
  freshNamespace,
  listAll,
  readGraph,
  relKey,
  relationsTouching,
  show,
  sortEntities,
  sortRelations,
  structured,
  toolError
} from './memory-lib.mjs';

const CLIENTS = Number(process.env.MEMORY_TEST_CLIENTS ?? 8);
const PER_CLIENT = Number(process.env.MEMORY_TEST_ENTITIES ?? 50);

// A client of the endpoint with the memory tools (else the tests fail:
// they are the product).
async function connect(name) {
  const side = await connectEndpoint(name);
  const missing = MEMORY_TOOLS.filter(
    (n) => !side.tools.some((t) => t.name === n));
  if (missing.length) {
    await side.close();
    throw new Error(`${MCP_URL} lacks the memory tools ${missing.join(', ')}`);
  }
  side.call = (tool, args) => side.client.callTool({ name: tool,
    arguments: args });
  // the memory tools print their text as server-memory does
  side.ok = async (tool, args, key) =>
    structured(await side.call(tool, args), key, `${tool} ${show(args, 300)}`,
      MEMORY_TOOLS.includes(tool));
  side.fails = async (tool, args) =>
    toolError(await side.call(tool, args), `${tool} ${show(args, 300)}`);
  return side;
}

const names = (entities) => entities.map((e) => e.name);

describe('namespaces keep graphs apart', { timeout: 60_000 }, () => {
  const nsA = freshNamespace('iso-a');
  const nsB = freshNamespace('iso-b');
  const secret = `secret${randomBytes(5).toString('hex')}`;
  let c;

  const graphA = {
    entities: [
      { name: 'Shared', entityType: 'in-a', observations: [`${secret} alpha`] },
      { name: 'OnlyA', entityType: 'thing', observations: ['alpha only'] }
    ],
    relations: [{ from: 'Shared', to: 'OnlyA', relationType: 'owns' }]
  };
  const graphB = {
    entities: [
      { name: 'Shared', entityType: 'in-b', observations: ['beta', secret] },
      { name: 'OnlyB', entityType: 'thing', observations: [`${secret} beta`] }
    ],
    relations: [{ from: 'OnlyB', to: 'Shared', relationType: 'uses' }]
  };

  before(async () => {
    c = await connect('ngx-mcp-memory-namespaces');
    for (const [namespace, g] of [[nsA, graphA], [nsB, graphB]]) {
      await c.ok('create_entities', { namespace, entities: g.entities },
        'entities');
      await c.ok('create_relations', { namespace, relations: g.relations },
        'relations');
    }
  });

  after(async () => {
    await c?.close();
  });

  it('read_graph shows each namespace its own graph only', async () => {
    assert.deepEqual(canonicalGraph(await readGraph(c.call, { namespace: nsA })),
      canonicalGraph(graphA));
    assert.deepEqual(canonicalGraph(await readGraph(c.call, { namespace: nsB })),
      canonicalGraph(graphB));
  });

  it('search_nodes finds only the namespace\'s own entities', async () => {
    const a = await c.ok('search_nodes', { namespace: nsA, query: secret });
    assert.deepEqual(names(a.entities), ['Shared']);
    assert.deepEqual(a.entities[0], graphA.entities[0]);
    assert.deepEqual(sortRelations(a.relations), graphA.relations);

    const b = await c.ok('search_nodes', { namespace: nsB, query: secret });
    assert.deepEqual(names(b.entities).sort(), ['OnlyB', 'Shared']);
    assert.deepEqual(sortEntities(b.entities), sortEntities(graphB.entities));

    for (const query of ['alpha', 'OnlyA']) {
      const r = await c.ok('search_nodes', { namespace: nsB, query });
      assert.ok(!names(r.entities).includes('OnlyA'),
        `${query} in B finds nothing of A: ${show(r)}`);
    }

    // the shared (default) namespace has none of it
    const d = await c.ok('search_nodes', { query: secret });
    assert.deepEqual(d.entities, [], 'the default namespace');
    const e = await c.ok('search_nodes', { namespace: freshNamespace('iso-c'),
      query: secret });
    assert.deepEqual(e, { entities: [], relations: [] }, 'a third namespace');
  });

  it('open_nodes and add_observations do not reach across', async () => {
    const o = await c.ok('open_nodes', { namespace: nsA,
      names: ['OnlyB', 'Shared'] });
    assert.deepEqual(o.entities, [graphA.entities[0]]);
    assert.deepEqual(o.relations, graphA.relations);

    await c.fails('add_observations', { namespace: nsA,
      observations: [{ entityName: 'OnlyB', contents: ['leak'] }] });
    const added = await c.ok('add_observations', { namespace: nsB,
      observations: [{ entityName: 'Shared', contents: ['only in b'] }] },
    'results');
    assert.deepEqual(added.results,
      [{ entityName: 'Shared', addedObservations: ['only in b'] }]);
    graphB.entities[0].observations.push('only in b');
    assert.deepEqual(canonicalGraph(await readGraph(c.call, { namespace: nsA })),
      canonicalGraph(graphA), 'A unchanged');
  });

  it('the same name is created in each namespace', async () => {
    const ns = freshNamespace('iso-d');
    const r = await c.ok('create_entities', { namespace: ns,
      entities: [{ name: 'Shared', entityType: 'in-d', observations: [] }] },
    'entities');
    assert.deepEqual(names(r.entities), ['Shared'], 'created, not "exists"');
  });

  it('deleting in one namespace leaves the other alone', async () => {
    await c.ok('delete_entities', { namespace: nsA, entityNames: ['Shared'] },
      null);
    assert.deepEqual(canonicalGraph(await readGraph(c.call, { namespace: nsB })),
      canonicalGraph(graphB), 'B unchanged');
    const a = await readGraph(c.call, { namespace: nsA });
    assert.deepEqual(names(a.entities), ['OnlyA']);
    assert.deepEqual(a.relations, []);
  });

  it('the graph resource of a namespace is its graph', async () => {
    const uri = `memory://knowledge-graph/${nsB}`;
    const { contents } = await c.client.readResource({ uri });
    assert.equal(contents.length, 1);
    assert.equal(contents[0].uri, uri);
    assert.equal(contents[0].mimeType, 'application/json');
    assert.deepEqual(canonicalGraph(JSON.parse(contents[0].text)),
      canonicalGraph(graphB));
  });

  it('an invalid namespace is a tool error', async () => {
    for (const namespace of ['a/b', 'a b', 'x'.repeat(65), 'ü', 42]) {
      await c.fails('read_graph', { namespace });
      await c.fails('create_entities', { namespace, entities: [
        { name: 'X', entityType: 'y', observations: [] }] });
    }
  });
});

describe('pages', { timeout: 60_000 }, () => {
  const ns = freshNamespace('pages');
  const word = `pageword${randomBytes(4).toString('hex')}`;
  let c;
  // seven entities; entity k mentions word k + 1 times (distinct scores)
  const entities = Array.from({ length: 7 }, (_, k) => ({
    name: `P${k}-${['g', 'c', 'a', 'f', 'b', 'e', 'd'][k]}`,
    entityType: 'page-test',
    observations: [Array(k + 1).fill(word).join(' '), `number ${k}`]
  }));
  const relations = [
    { from: 'P0-g', to: 'P1-c', relationType: 'next' },
    { from: 'P1-c', to: 'P2-a', relationType: 'next' },
    { from: 'P6-d', to: 'P0-g', relationType: 'wraps' },
    { from: 'P3-f', to: 'Outside', relationType: 'points' },
    { from: 'Outsider', to: 'P4-b', relationType: 'points' }
  ];

  before(async () => {
    c = await connect('ngx-mcp-memory-pages');
    await c.ok('create_entities', { namespace: ns, entities }, 'entities');
    await c.ok('create_relations', { namespace: ns, relations }, 'relations');
  });

  after(async () => {
    await c?.close();
  });

  it('read_graph with limit 2 pages through every entity in name order',
    async () => {
      const full = canonicalGraph(await c.ok('read_graph', { namespace: ns }));
      assert.equal(full.entities.length, 7);

      const seen = [];
      const rels = new Map();
      let cursor;
      let pages = 0;
      do {
        const page = await c.ok('read_graph', { namespace: ns, limit: 2,
          ...(cursor === undefined ? {} : { cursor }) });
        pages++;
        assert.ok(page.entities.length >= 1 && page.entities.length <= 2,
          `page ${pages}: 1 or 2 entities, got ${page.entities.length}`);
        assert.deepEqual(sortRelations(page.relations),
          sortRelations(relationsTouching(full, names(page.entities))),
          `page ${pages}: the relations from or to its entities`);
        seen.push(...page.entities);
        for (const r of page.relations) {
          rels.set(relKey(r), r);
        }
        cursor = page.nextCursor;
        if (cursor !== undefined) {
          assert.equal(typeof cursor, 'string');
        }
        assert.ok(pages <= 7, 'at most 4 pages');
      } while (cursor !== undefined);

      assert.equal(pages, 4, '7 entities in pages of 2');
      assert.deepEqual(names(seen), names(full.entities),
        'every entity once, in name order');
      assert.deepEqual(seen, full.entities, 'the same entities');
      assert.deepEqual(sortRelations([...rels.values()]), full.relations,
        'every relation on some page');
    });

  it('read_graph: limit larger than the graph is one page', async () => {
    const r = await c.ok('read_graph', { namespace: ns, limit: 1000 });
    assert.equal(r.entities.length, 7);
    assert.equal(r.nextCursor, undefined);
  });

  it('search_nodes pages through the ranking', async () => {
    const all = await c.ok('search_nodes', { namespace: ns, query: word });
    assert.equal(all.entities.length, 7);
    assert.equal(all.nextCursor, undefined);
    assert.deepEqual(names(all.entities),
      names([...entities].reverse()), 'more mentions rank first');

    const seen = [];
    let cursor;
    let pages = 0;
    do {
      const page = await c.ok('search_nodes', { namespace: ns, query: word,
        limit: 3, ...(cursor === undefined ? {} : { cursor }) });
      pages++;
      assert.ok(page.entities.length <= 3, `page ${pages}: at most 3`);
      assert.deepEqual(sortRelations(page.relations),
        sortRelations(relationsTouching(all, names(page.entities))),
        `page ${pages}: the relations from or to its entities`);
      seen.push(...page.entities);
      cursor = page.nextCursor;
      assert.ok(pages <= 7, 'at most 3 pages');
    } while (cursor !== undefined);
    assert.equal(pages, 3, '7 hits in pages of 3');
    assert.deepEqual(seen, all.entities, 'the pages make the same ranking');
  });

  it('a bad limit or cursor is a tool error', async () => {
    const accepted = [];
    for (const tool of ['read_graph', 'search_nodes']) {
      for (const bad of [{ limit: 0 }, { limit: 1001 }, { limit: '2' },
        { limit: 1.5 }, { limit: -1 }, { cursor: '!!!' }, { cursor: 7 },
        { cursor: '' }]) {
        const r = await c.call(tool, { namespace: ns, query: word, ...bad });
        if (r.isError !== true) {
          accepted.push(`${tool} ${show(bad)}`);
        }
      }
    }
    assert.deepEqual(accepted, [], 'these were not refused');
  });

  it('names of up to 256 bytes page too', async () => {
    const ns2 = freshNamespace('pages-long');
    const long = Array.from({ length: 5 }, (_, k) =>
      ({ name: `${String.fromCharCode(97 + k)}${'é'.repeat(127)}`,
        entityType: 'long', observations: [] }));
    assert.equal(Buffer.byteLength(long[0].name), 255);
    await c.ok('create_entities', { namespace: ns2, entities: long },
      'entities');
    const paged = await readGraph(c.call, { namespace: ns2 }, 2);
    assert.deepEqual(names(paged.entities), names(long));
  });

  it('relations between two entities that do not exist are on a page',
    { todo: 'read_graph pages list relations by their entities: one with ' +
      'neither end an entity shows only without limit' },
    async () => {
      const ns2 = freshNamespace('pages-dangling');
      await c.ok('create_entities', { namespace: ns2, entities: [
        { name: 'Real', entityType: 'x', observations: [] }] }, 'entities');
      await c.ok('create_relations', { namespace: ns2, relations: [
        { from: 'Ghost1', to: 'Ghost2', relationType: 'haunts' }] },
      'relations');
      const full = await c.ok('read_graph', { namespace: ns2 });
      assert.equal(full.relations.length, 1, 'read_graph lists it');
      const paged = await readGraph(c.call, { namespace: ns2 }, 1);
      assert.deepEqual(paged.relations, full.relations,
        'paging with limit lists it too');
    });
});

describe(`${CLIENTS} clients writing at once lose nothing`,
  { timeout: 300_000 }, () => {
    const ns = freshNamespace('concurrent');
    const clients = [];
    const entity = (i, j) => `c${i}-e${j}`;

    before(async () => {
      for (let i = 0; i < CLIENTS; i++) {
        clients.push(await connect(`ngx-mcp-memory-writer-${i}`));
      }
    });

    after(async () => {
      await Promise.all(clients.map((c) => c.close()));
    });

    it('each client has a session of its own', () => {
      const ids = clients.map((c) => c.transport.sessionId);
      assert.equal(new Set(ids).size, CLIENTS, show(ids));
    });

    it(`${CLIENTS} x ${PER_CLIENT} create_entities at once`, async () => {
      await Promise.all(clients.map((c, i) => Promise.all(
        Array.from({ length: PER_CLIENT }, async (_, j) => {
          const e = { name: entity(i, j), entityType: `writer${i}`,
            observations: [`initial ${i}/${j}`] };
          const r = await c.ok('create_entities',
            { namespace: ns, entities: [e] }, 'entities');
          assert.deepEqual(r.entities, [e], `${e.name} created`);
        }))));
    });

    it('relations and observations, several clients on one entity at once',
      async () => {
        await Promise.all(clients.map((c, i) => Promise.all(
          Array.from({ length: PER_CLIENT }, async (_, j) => {
            const next = entity((i + 1) % CLIENTS, j);
            const [rel, obs] = await Promise.all([
              c.ok('create_relations', { namespace: ns, relations: [
                { from: entity(i, j), to: next, relationType: 'next' }] },
              'relations'),
              c.ok('add_observations', { namespace: ns, observations: [
                { entityName: entity(i, j), contents: [`by c${i}`] },
                { entityName: next, contents: [`from c${i}`] }] }, 'results')
            ]);
            assert.equal(rel.relations.length, 1, 'relation created');
            assert.deepEqual(obs.results, [
              { entityName: entity(i, j), addedObservations: [`by c${i}`] },
              { entityName: next, addedObservations: [`from c${i}`] }]);
          }))));
      });

    it('read_graph shows every write', async () => {
      const expected = [];
      const rels = [];
      for (let i = 0; i < CLIENTS; i++) {
        for (let j = 0; j < PER_CLIENT; j++) {
          const prev = (i + CLIENTS - 1) % CLIENTS;
          expected.push({ name: entity(i, j), entityType: `writer${i}`,
            observations: [`initial ${i}/${j}`, `by c${i}`, `from c${prev}`] });
          rels.push({ from: entity(i, j), to: entity((i + 1) % CLIENTS, j),
            relationType: 'next' });
        }
      }
      // the two later observations were added concurrently: either order
      const norm = (g) => sortEntities(g.entities).map((e) => ({ ...e,
        observations: [e.observations[0], ...e.observations.slice(1).sort()]
      }));

      const full = await readGraph(clients[0].call, { namespace: ns });
      const lost = expected.filter((e) => !full.entities.some(
        (f) => f.name === e.name));
      assert.deepEqual(lost.map((e) => e.name), [], 'no entity lost');
      assert.deepEqual(norm(full), norm({ entities: expected }),
        'every observation of every entity');
      assert.deepEqual(sortRelations(full.relations), sortRelations(rels),
        'every relation');

      const paged = await readGraph(clients[1].call, { namespace: ns }, 100);
      assert.deepEqual(norm(paged), norm(full), 'paged read_graph agrees');
      assert.deepEqual(sortRelations(paged.relations),
        sortRelations(full.relations), 'paged relations agree');

      const found = await clients[2].ok('search_nodes', { namespace: ns,
        query: 'initial', limit: 1000 });
      assert.equal(found.entities.length, CLIENTS * PER_CLIENT,
        'the search index has every entity');
    });
  });

describe('BM25 ranking', { timeout: 60_000 }, () => {
  const ns = freshNamespace('bm25');
  let c;

  before(async () => {
    c = await connect('ngx-mcp-memory-bm25');
    await c.ok('create_entities', { namespace: ns, entities: [
      { name: 'Once', entityType: 'animal-fact', observations: [
        'a long note that mentions a zebra once among many other words ' +
        'about savanna wildlife, rain, grass, lions and the weather'] },
      { name: 'Many', entityType: 'animal-fact', observations: [
        'zebra zebra zebra', 'a zebra herd: zebra after zebra',
        'zebra stripes'] },
      { name: 'Filler1', entityType: 'note', observations: ['lions sleep'] },
      { name: 'Filler2', entityType: 'note', observations: ['rain falls'] },
      { name: 'Filler3', entityType: 'note', observations: ['grass grows'] },
      { name: 'Exact', entityType: 'note', observations: ['a cat sat'] },
      { name: 'Prefixes', entityType: 'note', observations: [
        'category catalog caterpillar catamaran category catalog'] }
    ] }, 'entities');
  });

  after(async () => {
    await c?.close();
  });

  it('an entity mentioning the term many times ranks before one ' +
    'mentioning it once', async () => {
    const r = await c.ok('search_nodes', { namespace: ns, query: 'zebra' });
    assert.deepEqual(names(r.entities), ['Many', 'Once']);
    const s = await c.ok('search_nodes', { namespace: ns,
      query: 'zebra stripes' });
    assert.equal(s.entities[0]?.name, 'Many', show(names(s.entities)));
  });

  it('a word prefix finds both, the one with more mentions first', async () => {
    const r = await c.ok('search_nodes', { namespace: ns, query: 'zeb' });
    assert.deepEqual(names(r.entities).sort(), ['Many', 'Once']);
    assert.equal(r.entities[0].name, 'Many');
  });

  it('an exact word ranks before words it is only a prefix of', async () => {
    const r = await c.ok('search_nodes', { namespace: ns, query: 'cat' });
    assert.deepEqual(names(r.entities), ['Exact', 'Prefixes']);
  });

  it('search is case-insensitive and the best page comes first', async () => {
    const r = await c.ok('search_nodes', { namespace: ns, query: 'ZEBRA',
      limit: 1 });
    assert.deepEqual(names(r.entities), ['Many']);
    assert.equal(typeof r.nextCursor, 'string', 'a second page follows');
  });
});

// ---------------------------------------------------------------------------
// Conversation contexts.

// The store's estimate: 4 bytes a token, rounded up, plus 3 a message.
const estimate = (text) => Math.ceil(Buffer.byteLength(text) / 4) + 3;

const WORDS = ('alpha bravo charlie delta echo foxtrot golf hotel india ' +
  'juliet kilo lima mike november oscar papa quebec romeo sierra tango ' +
  'uniform victor whiskey xray yankee zulu river mountain cloud ' +
  'garden engine window').split(' ');

const sentence = () => {
  const n = 3 + randomInt(8);
  const w = Array.from({ length: n }, () => WORDS[randomInt(WORDS.length)]);
  return `${w[0][0].toUpperCase()}${w.join(' ').slice(1)}.`;
};
const paragraph = () =>
  Array.from({ length: 1 + randomInt(5) }, sentence).join(' ');

describe('conversation contexts', { timeout: 120_000 }, () => {
  const ns = freshNamespace('ctx');
  let c;
  let missing = [];

  before(async () => {
    c = await connect('ngx-mcp-context-test');
    missing = CONTEXT_TOOLS.filter((n) => !c.tools.some((t) => t.name === n));
  });

  after(async () => {
    await c?.close();
  });

  // Skips (with why) when the endpoint has no context tools.
  const needTools = (t) => {
    if (missing.length) {
      t.skip(`${MCP_URL} has no ${missing.join(', ')} in tools/list`);
      return false;
    }
    return true;
  };

  const append = (args) => c.ok('context_append', { namespace: ns, ...args });

  describe('context_window keeps within the budget', () => {
    const id = `conv-${randomBytes(4).toString('hex')}`;
    const messages = [];   // {message_id, role, content, pinned, tokens}
    let must = 0;          // tokens of pinned and system messages
    let total = 0;
    let ready = false;     // all appended

    // Skips without context tools; fails at once when the appends did
    const needContext = (t) => {
      if (!needTools(t)) {
        return false;
      }
      assert.ok(ready, 'the context was not built: see the first test');
      return true;
    };

    const add = async (role, content, pinned) => {
      const r = await append({ context_id: id, role, content,
        ...(pinned ? { pinned } : {}) });
      assert.equal(r.context_id, id);
      assert.equal(r.message_id, messages.length + 1,
        'message ids count from 1 in append order');
      assert.equal(r.tokens, estimate(content),
        'tokens: 4 bytes a token, rounded up, plus 3');
      total += r.tokens;
      assert.equal(r.total_tokens, total, 'total_tokens');
      assert.equal(r.messages, messages.length + 1, 'messages');
      messages.push({ message_id: r.message_id, role, content,
        pinned: Boolean(pinned), tokens: r.tokens });
      if (pinned || role === 'system') {
        must += r.tokens;
      }
    };

    // Everything a window result must satisfy.
    const checkWindow = (w, max, query) => {
      const what = `max_tokens ${max}${query ? ` query ${show(query)}` : ''}`;
      assert.equal(w.max_tokens, max, `${what}: max_tokens`);
      assert.ok(Number.isInteger(w.tokens_used) && w.tokens_used <= max,
        `${what}: tokens_used ${w.tokens_used} within the budget`);

      const summaries = w.messages.filter((m) => m.summary === true);
      const kept = w.messages.filter((m) => m.summary !== true);
      assert.ok(summaries.length <= 1, `${what}: at most one summary`);

      const ids = kept.map((m) => m.message_id);
      for (let k = 1; k < ids.length; k++) {
        assert.ok(ids[k] > ids[k - 1],
          `${what}: messages in chronological order: ${show(ids)}`);
      }
      for (const m of kept) {
        const orig = messages[m.message_id - 1];
        assert.ok(orig, `${what}: message ${m.message_id} exists`);
        assert.equal(m.role, orig.role, `${what}: role of ${m.message_id}`);
        assert.equal(m.content, orig.content,
          `${what}: content of ${m.message_id}`);
        assert.equal(m.pinned === true, orig.pinned,
          `${what}: pinned of ${m.message_id}`);
      }
      for (const m of messages) {
        if (m.pinned || m.role === 'system') {
          assert.ok(ids.includes(m.message_id),
            `${what}: ${m.role}${m.pinned ? ' pinned' : ''} message ` +
            `${m.message_id} is kept`);
        }
      }

      assert.equal(w.dropped, messages.length - kept.length,
        `${what}: dropped counts the turns left out`);
      if (w.dropped === 0) {
        assert.equal(w.summary, null, `${what}: no summary without drops`);
        assert.equal(summaries.length, 0, `${what}: no summary message`);
      } else if (max / 4 >= 64) {
        assert.ok(typeof w.summary === 'string' && w.summary.length > 0,
          `${what}: ${w.dropped} dropped, so a summary`);
      }
      if (summaries.length) {
        const [s] = summaries;
        assert.equal(s.role, 'system', `${what}: the summary's role`);
        assert.equal(s.content, w.summary, `${what}: the summary message`);
        assert.ok(estimate(s.content) <= Math.floor(max / 4) + 3,
          `${what}: the summary within a quarter of the budget`);
        if (!query) {
          // in place of the dropped turns, the oldest of which it follows
          const first = messages.find((m) => !ids.includes(m.message_id));
          const at = w.messages.indexOf(s);
          assert.ok(w.messages.slice(0, at).every(
            (m) => m.message_id < first.message_id)
            && w.messages.slice(at + 1).every(
              (m) => m.message_id > first.message_id),
          `${what}: the summary stands where the dropped turns were: ` +
            `${show(w.messages.map((m) => m.message_id ?? 'summary'))}`);
        }
      } else {
        assert.equal(w.summary, null, `${what}: summary null without message`);
      }

      const counted = kept.reduce((n, m) => n + estimate(m.content), 0)
        + (summaries.length ? estimate(summaries[0].content) : 0);
      assert.equal(w.tokens_used, counted,
        `${what}: tokens_used is the kept messages plus the summary`);
    };

    it('appends a system message, a pinned one and 40 turns', async (t) => {
      if (!needTools(t)) {
        return;
      }
      await add('system', 'You are a helpful assistant. Answer briefly.');
      await add('user', 'My name is Quentin. I am allergic to peanuts.', true);
      for (let k = 0; k < 40; k++) {
        await add(k % 10 === 9 ? 'tool' : k % 2 ? 'assistant' : 'user',
          paragraph());
      }
      await add('system', 'Keep answers under 100 words.');
      ready = true;
    });

    it('a budget above the whole context keeps everything', async (t) => {
      if (!needContext(t)) {
        return;
      }
      for (const max of [total, total + 1, total + 1000]) {
        const w = await c.ok('context_window', { namespace: ns,
          context_id: id, max_tokens: max });
        checkWindow(w, max);
        assert.equal(w.dropped, 0);
        assert.equal(w.tokens_used, total);
      }
    });

    it('never exceeds any of 60 random budgets', async (t) => {
      if (!needContext(t)) {
        return;
      }
      const budgets = [must, must + 1, must + 10];
      while (budgets.length < 60) {
        budgets.push(must + randomInt(total - must + 1));
      }
      let summarised = 0;
      for (const max of budgets) {
        const w = await c.ok('context_window', { namespace: ns,
          context_id: id, max_tokens: max });
        checkWindow(w, max);
        if (max < total) {
          assert.ok(w.dropped > 0, `max_tokens ${max} < ${total}: drops`);
        }
        summarised += w.summary === null ? 0 : 1;
      }
      assert.ok(summarised > 0, 'some windows have a summary');
    });

    it('with a query too', async (t) => {
      if (!needContext(t)) {
        return;
      }
      for (let k = 0; k < 20; k++) {
        const max = must + randomInt(total - must + 1);
        const query = WORDS[randomInt(WORDS.length)];
        checkWindow(await c.ok('context_window', { namespace: ns,
          context_id: id, max_tokens: max, query }), max, query);
      }
    });

    it('the same window twice is the same', async (t) => {
      if (!needContext(t)) {
        return;
      }
      const max = must + Math.floor((total - must) / 2);
      const args = { namespace: ns, context_id: id, max_tokens: max };
      const a = await c.ok('context_window', args);
      const b = await c.ok('context_window', args);
      assert.deepEqual(b, a);
    });

    it('a budget below the pinned and system messages is a tool error',
      async (t) => {
        if (!needContext(t)) {
          return;
        }
        await c.fails('context_window', { namespace: ns, context_id: id,
          max_tokens: must - 1 });
        await c.fails('context_window', { namespace: ns, context_id: id,
          max_tokens: 0 });
        await c.fails('context_window', { namespace: ns,
          context_id: `${id}-none`, max_tokens: 1000 });
      });
  });

  it('with a query, an old relevant turn that fits is kept', async (t) => {
    if (!needTools(t)) {
      return;
    }
    const id = `query-${randomBytes(4).toString('hex')}`;
    const word = `platypus${randomBytes(3).toString('hex')}`;
    const sys = await append({ context_id: id, role: 'system',
      content: 'Be brief.' });
    const old = await append({ context_id: id, role: 'user',
      content: `The code word is ${word}.` });
    let big;
    for (let k = 0; k < 8; k++) {
      big = await append({ context_id: id, role: k % 2 ? 'user' : 'assistant',
        content: `${'Filler words for a long turn. '.repeat(13)}${k}` });
    }
    // room for 4 big turns and the small old one, with a quarter of the
    // budget for the summary
    const need = sys.tokens + 4 * big.tokens + old.tokens;
    let max = Math.ceil(need / 0.75);
    while (max - sys.tokens - Math.floor(max / 4) < need - sys.tokens) {
      max++;
    }
    assert.ok(max - sys.tokens - Math.floor(max / 4) < need - sys.tokens
      + big.tokens - old.tokens, 'not room for a fifth big turn');

    const plain = await c.ok('context_window', { namespace: ns,
      context_id: id, max_tokens: max });
    const ids = (w) => w.messages.map((m) => m.message_id ?? 'summary');
    assert.ok(plain.tokens_used <= max);
    assert.ok(!ids(plain).includes(old.message_id),
      `without a query the old turn is dropped: ${show(ids(plain))}`);
    const asked = await c.ok('context_window', { namespace: ns,
      context_id: id, max_tokens: max, query: word });
    assert.ok(asked.tokens_used <= max);
    assert.ok(ids(asked).includes(old.message_id),
      `with the query the old turn is kept: ${show(ids(asked))}`);
    const turns = (w) => ids(w).filter((m) => m !== 'summary');
    assert.deepEqual(turns(asked).filter((m) => m !== old.message_id),
      turns(plain), 'and the same recent turns as without it');
  });

  it('context_search finds an appended message, in its namespace only',
    async (t) => {
      if (!needTools(t)) {
        return;
      }
      const id = `search-${randomBytes(4).toString('hex')}`;
      const word = `xylo${randomBytes(4).toString('hex')}`;
      await append({ context_id: id, role: 'user', content: 'hello there' });
      const r = await append({ context_id: id, role: 'assistant',
        content: `The answer mentions ${word} in passing.` });
      await append({ context_id: id, role: 'user', content: 'thanks' });

      for (const args of [{ context_id: id }, {}]) {
        const s = await c.ok('context_search', { namespace: ns, query: word,
          ...args });
        assert.equal(s.results.length, 1, show(s));
        assert.deepEqual({ ...s.results[0], score: 0 }, {
          context_id: id, message_id: r.message_id, role: 'assistant',
          content: `The answer mentions ${word} in passing.`, score: 0 });
        assert.equal(typeof s.results[0].score, 'number');
      }
      const other = await c.ok('context_search', {
        namespace: freshNamespace('ctx-other'), query: word });
      assert.deepEqual(other.results, []);
    });

  it('context_list lists the contexts with their sizes', async (t) => {
    if (!needTools(t)) {
      return;
    }
    const ns2 = freshNamespace('ctx-list');
    const want = new Map();
    for (const id of ['one', 'two', 'three']) {
      let r;
      for (let k = 0; k < id.length; k++) {
        r = await c.ok('context_append', { namespace: ns2, context_id: id,
          role: 'user', content: `${id} ${k}`,
          ...(id === 'two' ? { ttl: 3600 } : {}) });
      }
      want.set(id, { messages: r.messages, tokens: r.total_tokens });
    }
    const contexts = await listAll(async (p) => c.ok('context_list',
      { namespace: ns2, ...p }), 'contexts');
    assert.deepEqual(contexts.map((x) => x.context_id).sort(),
      [...want.keys()].sort());
    for (const x of contexts) {
      assert.equal(x.messages, want.get(x.context_id).messages);
      assert.equal(x.tokens, want.get(x.context_id).tokens);
      assert.equal(x.expires_at !== undefined, x.context_id === 'two',
        `expires_at only with a ttl: ${show(x)}`);
    }
  });

  it('context_clear removes a context: window, search, list', async (t) => {
    if (!needTools(t)) {
      return;
    }
    const id = `clear-${randomBytes(4).toString('hex')}`;
    const word = `zapp${randomBytes(4).toString('hex')}`;
    await append({ context_id: id, role: 'user', content: `remember ${word}` });
    const cleared = await c.ok('context_clear', { namespace: ns,
      context_id: id });
    assert.deepEqual(cleared, { context_id: id, cleared: true });

    await c.fails('context_window', { namespace: ns, context_id: id,
      max_tokens: 1000 });
    const s = await c.ok('context_search', { namespace: ns, query: word });
    assert.deepEqual(s.results, [], 'its messages are not found');
    const contexts = await listAll(async (p) => c.ok('context_list',
      { namespace: ns, ...p }), 'contexts');
    assert.ok(!contexts.some((x) => x.context_id === id), 'not listed');
  });

  it('a context is the resource context://<id>', async (t) => {
    if (!needTools(t)) {
      return;
    }
    const templates = await listAll(
      (p) => c.client.listResourceTemplates(p), 'resourceTemplates');
    assert.ok(templates.some((x) => x.uriTemplate === 'context://{id}'),
      show(templates.map((x) => x.uriTemplate)));

    // resources read the shared namespace
    const id = `res-${randomBytes(6).toString('hex')}`;
    const uri = `context://${id}`;
    const sent = [['system', 'Be terse.'], ['user', 'Hi! ✓']];
    let r;
    for (const [role, content] of sent) {
      r = await c.ok('context_append', { context_id: id, role, content });
    }
    try {
      const { contents } = await c.client.readResource({ uri });
      assert.equal(contents.length, 1);
      assert.equal(contents[0].uri, uri);
      assert.equal(contents[0].mimeType, 'application/json');
      const body = JSON.parse(contents[0].text);
      assert.equal(body.context_id, id);
      assert.equal(body.tokens, r.total_tokens);
      assert.deepEqual(body.messages, sent.map(([role, content], k) => ({
        role, content, message_id: k + 1 })));
    } finally {
      await c.ok('context_clear', { context_id: id });
    }
    await assert.rejects(c.client.readResource({ uri }), (err) => {
      assert.ok(err instanceof McpError, String(err));
      assert.equal(err.code, -32002);
      return true;
    }, 'a cleared context is not found');
  });
});
