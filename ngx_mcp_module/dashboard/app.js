// ngx_mcp dashboard: a single page over the mcp_admin API of the same
// server (its path is in <meta name="mcp-api">).  Plain JavaScript, no
// build step, no third-party code; the module serves this file as it is.
//
// Views, by the URL's fragment:
//   #/links            links: search, tag filter, pages; create, edit,
//                      delete, copy, QR code
//   #/links/{code}     one link: its facts, visits per day, referrers
//   #/graph            the memory graph of a namespace, drawn
//   #/contexts         conversation contexts and their sizes
//
// Data from the server is put in the page as text (textContent and
// attributes), never as HTML.

'use strict';

const API = document.querySelector('meta[name="mcp-api"]').content;
const KEY = 'ngx_mcp.api_key';
const PAGE = 20;
const SVG = 'http://www.w3.org/2000/svg';

const $ = (sel) => document.querySelector(sel);


// -- elements ----------------------------------------------------------

// h('td', {class: 'num'}, 'text', child, ...): an element with attributes
// (on* keys are listeners) and children (strings become text)
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  return fill(el, attrs, children);
}

function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  return fill(el, attrs, children);
}

function fill(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    // through CSSOM: the policy refuses style attributes
    else if (k === 'style') el.style.cssText = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function toast(text) {
  const t = $('#toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 2500);
}


// -- the API -----------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || 'HTTP ' + status);
    this.status = status;
    this.code = body && body.error;
  }
}

// The key lives in sessionStorage only: gone with the tab, never on disk
// or in a cookie the browser would send by itself.
async function api(method, path, body, raw) {
  for (;;) {
    const headers = {};
    const key = sessionStorage.getItem(KEY);
    if (key) headers.Authorization = 'Bearer ' + key;
    if (body !== undefined) headers['Content-Type'] = 'application/json';

    const res = await fetch(API + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });

    if (res.status === 401 || res.status === 403) {
      const why = await res.json().catch(() => ({}));
      await askKey(res.status === 401 ? 'This server needs an API key.'
                   : 'This key may not use the admin API: ' +
                     (why.message || 'forbidden'));
      continue;
    }

    if (raw) {
      if (!res.ok) throw new ApiError(res.status, null);
      return res;
    }

    const text = await res.text();
    const json = text ? JSON.parse(text) : null;
    if (!res.ok) throw new ApiError(res.status, json);
    return json;
  }
}

function askKey(reason) {
  const dlg = $('#key-dialog');
  $('#key-reason').textContent = reason;
  $('#key-input').value = '';
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => {
      const v = $('#key-input').value.trim();
      if (v) sessionStorage.setItem(KEY, v);
      $('#forget-key').hidden = !sessionStorage.getItem(KEY);
      resolve();
    }, {once: true});
    dlg.showModal();
  });
}

function confirmDialog(text) {
  const dlg = $('#confirm-dialog');
  $('#confirm-text').textContent = text;
  dlg.returnValue = '';
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'),
                         {once: true});
    dlg.showModal();
  });
}


// -- formats -----------------------------------------------------------

const tagsOf = (text) =>
  text.split(',').map((t) => t.trim()).filter((t) => t.length);

function when(rfc3339) {
  if (!rfc3339) return '';
  return rfc3339.replace('T', ' ').replace(/:\d\dZ$/, ' UTC');
}

// <input type=datetime-local> reads and writes local time
function toLocalInput(rfc3339) {
  if (!rfc3339) return '';
  const d = new Date(rfc3339);
  const pad = (n) => String(n).padStart(2, '0');
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' +
         pad(d.getDate()) + 'T' + pad(d.getHours()) + ':' +
         pad(d.getMinutes());
}

function fromLocalInput(value) {
  return value ? new Date(value).toISOString().replace(/\.\d+Z$/, 'Z')
               : null;
}

function utcDay(d) {
  return d.toISOString().slice(0, 10);
}


// -- links -------------------------------------------------------------

const links = {q: '', tag: '', cursors: [''], page: 0};

function viewLinks(main) {
  const err = h('p', {class: 'error', id: 'create-error'});
  const create = h('form', {class: 'row', id: 'create-form',
                            oninput: () => { err.textContent = ''; },
                            onsubmit: (e) => { e.preventDefault();
                                               createLink(e.target, err); }},
    h('label', {}, 'Target URL',
      h('input', {type: 'url', name: 'url', id: 'create-url', required: true,
                  placeholder: 'https://example.com/page'})),
    h('label', {}, 'Alias',
      h('input', {name: 'alias', id: 'create-alias', pattern: '[A-Za-z0-9_-]{1,64}',
                  placeholder: 'optional'})),
    h('label', {}, 'Expires',
      h('input', {type: 'datetime-local', name: 'expires', id: 'create-expires'})),
    h('label', {}, 'Max visits',
      h('input', {type: 'number', min: 1, name: 'max_visits', id: 'create-max'})),
    h('label', {}, 'Tags',
      h('input', {name: 'tags', id: 'create-tags', placeholder: 'comma, separated'})),
    h('button', {class: 'primary', id: 'create-submit'}, 'Shorten'));

  const filter = h('form', {class: 'row', onsubmit: (e) => {
      e.preventDefault();
      links.q = e.target.q.value.trim();
      links.tag = e.target.tag.value.trim();
      links.cursors = [''];
      links.page = 0;
      loadLinks();
    }},
    h('label', {}, 'Search',
      h('input', {type: 'search', name: 'q', id: 'search', value: links.q,
                  placeholder: 'code or URL'})),
    h('label', {}, 'Tag',
      h('input', {name: 'tag', id: 'tag-filter', value: links.tag})),
    h('button', {id: 'search-submit'}, 'Filter'));

  main.replaceChildren(
    h('section', {class: 'card'}, h('h2', {}, 'New short link'), create, err),
    h('section', {class: 'card'},
      h('h2', {}, 'Links'), filter,
      h('table', {id: 'links-table'},
        h('thead', {}, h('tr', {},
          ['Code', 'Short URL', 'Target', 'Visits', 'Tags', 'Expires', '']
            .map((t) => h('th', {}, t)))),
        h('tbody', {id: 'links-body'})),
      h('div', {class: 'pager'},
        h('button', {id: 'prev-page', onclick: () => page(-1)}, 'Previous'),
        h('span', {class: 'muted', id: 'page-no'}),
        h('button', {id: 'next-page', onclick: () => page(1)}, 'Next'))));

  return loadLinks();
}

async function createLink(form, err) {
  err.textContent = '';
  const body = {url: form.url.value.trim()};
  if (form.alias.value.trim()) body.alias = form.alias.value.trim();
  if (form.expires.value) body.expires_at = fromLocalInput(form.expires.value);
  if (form.max_visits.value) body.max_visits = Number(form.max_visits.value);
  const tags = tagsOf(form.tags.value);
  if (tags.length) body.tags = tags;

  try {
    const link = await api('POST', 'links', body);
    form.reset();
    toast('Created ' + link.short_url);
    links.cursors = [''];
    links.page = 0;
    await loadLinks();
  } catch (e) {
    err.textContent = e.message;
  }
}

function page(step) {
  const next = links.page + step;
  if (next < 0 || next >= links.cursors.length) return;
  links.page = next;
  loadLinks();
}

async function loadLinks() {
  const body = $('#links-body');
  const params = new URLSearchParams({limit: PAGE});
  const cursor = links.cursors[links.page];
  if (cursor) params.set('cursor', cursor);
  if (links.q) params.set('q', links.q);
  if (links.tag) params.set('tag', links.tag);

  let answer;
  try {
    answer = await api('GET', 'links?' + params);
  } catch (e) {
    body.replaceChildren(h('tr', {}, h('td', {colspan: 7, class: 'error'},
                                       e.message)));
    return;
  }

  // a server without tag filtering answers every link: filter here too
  const list = answer.links.filter((l) => !links.tag ||
                                   (l.tags || []).includes(links.tag));

  links.cursors.length = links.page + 1;
  if (answer.nextCursor) links.cursors.push(answer.nextCursor);

  $('#prev-page').disabled = links.page === 0;
  $('#next-page').disabled = !answer.nextCursor;
  $('#page-no').textContent = 'page ' + (links.page + 1);

  body.replaceChildren(...(list.length ? list.map(linkRow)
    : [h('tr', {}, h('td', {colspan: 7, class: 'muted'}, 'No links.'))]));
}

function linkRow(l) {
  return h('tr', {'data-code': l.code},
    h('td', {}, h('a', {href: '#/links/' + encodeURIComponent(l.code),
                        class: 'code'}, l.code)),
    h('td', {}, h('span', {class: 'short-url'}, l.short_url)),
    h('td', {class: 'url'}, l.url),
    h('td', {class: 'num visits'}, l.visits || 0),
    h('td', {}, (l.tags || []).map((t) => h('span', {class: 'tag'}, t))),
    h('td', {}, when(l.expires_at)),
    h('td', {class: 'actions'},
      h('button', {class: 'copy', title: 'Copy the short URL',
                   onclick: () => copy(l.short_url)}, 'Copy'),
      h('button', {class: 'qr', onclick: () => showQr(l)}, 'QR'),
      h('button', {class: 'edit', onclick: () => editLink(l)}, 'Edit'),
      h('button', {class: 'delete danger',
                   onclick: () => deleteLink(l)}, 'Delete')));
}

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (e) {
    // without clipboard permission: select it for Ctrl-C
    const t = h('textarea', {}, text);
    document.body.append(t);
    t.select();
    document.execCommand('copy');
    t.remove();
  }
  toast('Copied ' + text);
}

// the image needs the API key, which an <img src> cannot send
async function showQr(l) {
  const res = await api('GET', 'links/' + encodeURIComponent(l.code) +
                        '/qr?format=svg&size=8', undefined, true);
  const img = $('#qr-img');
  if (img.src.startsWith('blob:')) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(await res.blob());
  $('#qr-url').textContent = l.short_url;
  $('#qr-dialog').showModal();
}

function editLink(l) {
  const dlg = $('#edit-dialog');
  const form = $('#edit-form');
  $('#edit-code').textContent = l.code;
  $('#edit-error').textContent = '';
  form.url.value = l.url;
  form.expires.value = toLocalInput(l.expires_at);
  form.max_visits.value = l.max_visits || '';
  form.tags.value = (l.tags || []).join(', ');
  form.status.value = l.redirect_status || '';

  dlg.onclose = async () => {
    if (dlg.returnValue !== 'save') return;

    // only what changed: a PATCH of nothing is refused
    const change = {};
    if (form.url.value.trim() !== l.url) change.url = form.url.value.trim();
    const exp = fromLocalInput(form.expires.value);
    if (form.expires.value !== toLocalInput(l.expires_at)) {
      change.expires_at = exp;
    }
    const max = form.max_visits.value ? Number(form.max_visits.value) : null;
    if (max !== (l.max_visits || null)) change.max_visits = max;
    const tags = tagsOf(form.tags.value);
    if (tags.join(',') !== (l.tags || []).join(',')) change.tags = tags;
    if (form.status.value !== String(l.redirect_status || '')) {
      change.redirect_status = form.status.value ? Number(form.status.value)
                                                 : null;
    }
    if (!Object.keys(change).length) return;

    try {
      await api('PATCH', 'links/' + encodeURIComponent(l.code), change);
      toast('Saved ' + l.code);
      await loadLinks();
    } catch (e) {
      $('#edit-error').textContent = e.message;
      dlg.returnValue = '';
      dlg.showModal();
    }
  };
  dlg.returnValue = '';
  dlg.showModal();
}

async function deleteLink(l) {
  if (!await confirmDialog('Delete ' + l.short_url + ' → ' + l.url +
                           '? Its visits go with it.')) {
    return;
  }
  try {
    await api('DELETE', 'links/' + encodeURIComponent(l.code));
    toast('Deleted ' + l.code);
  } catch (e) {
    toast(e.message);
  }
  await loadLinks();
}


// -- one link ----------------------------------------------------------

async function viewLink(main, code) {
  const path = 'links/' + encodeURIComponent(code);
  let l;
  try {
    l = await api('GET', path);
  } catch (e) {
    main.replaceChildren(h('p', {class: 'error'}, e.message));
    return;
  }

  const facts = [
    ['Short URL', l.short_url], ['Target', l.url],
    ['Visits', l.visits || 0], ['Last visit', when(l.last_visit)],
    ['Created', when(l.created_at)], ['Expires', when(l.expires_at)],
    ['Max visits', l.max_visits], ['Tags', (l.tags || []).join(', ')],
    ['Redirect', l.redirect_status],
  ].filter(([, v]) => v !== undefined && v !== '');

  const chart = h('div', {id: 'chart'}, h('p', {class: 'muted'}, 'Loading…'));
  const refs = h('div', {id: 'referrers'});

  main.replaceChildren(
    h('p', {}, h('a', {href: '#/links'}, '← Links')),
    h('section', {class: 'card'},
      h('h2', {}, l.code),
      h('dl', {class: 'facts'},
        facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]))),
    h('section', {class: 'card'}, h('h2', {}, 'Visits per day'), chart),
    h('section', {class: 'card'}, h('h2', {}, 'Top referrers'), refs));

  let v;
  try {
    v = await api('GET', path + '/visits');
  } catch (e) {
    chart.replaceChildren(h('p', {class: 'error'},
                            'No visit data: ' + e.message));
    return;
  }

  chart.replaceChildren(visitsChart(v.days || [], 30),
    h('p', {class: 'muted'}, (v.total || 0) + ' visits, ' + (v.bots || 0) +
      ' by bots (counted apart).'));

  refs.replaceChildren(v.referrers && v.referrers.length
    ? h('table', {id: 'referrers-table'},
        h('thead', {}, h('tr', {}, h('th', {}, 'Host'), h('th', {}, 'Visits'))),
        h('tbody', {}, v.referrers.map((r) => h('tr', {},
          h('td', {}, r.host), h('td', {class: 'num'}, r.visits)))))
    : h('p', {class: 'muted'}, 'No visits yet.'));
}

// A bar per UTC day over the last n days, today last; days without
// visits are bars of zero.
function visitsChart(days, n) {
  const count = new Map(days.map((d) => [d.date, d.visits]));
  const today = new Date();
  const series = [];
  for (let i = n - 1; i >= 0; i--) {
    const d = utcDay(new Date(today.getTime() - i * 86400000));
    series.push({date: d, visits: count.get(d) || 0});
  }

  const W = 760, H = 220, left = 40, right = 20, bottom = 30, top = 10;
  const max = Math.max(1, ...series.map((d) => d.visits));
  const step = (W - left - right) / series.length;
  const y = (v) => H - bottom - (H - bottom - top) * v / max;

  const svg = s('svg', {class: 'chart', id: 'visits-chart',
                        viewBox: `0 0 ${W} ${H}`, role: 'img',
                        'aria-label': 'visits per day'});
  for (const t of [0, Math.ceil(max / 2), max]) {
    svg.append(s('line', {class: 'axis', x1: left, x2: W - right,
                          y1: y(t), y2: y(t)}),
               s('text', {x: left - 6, y: y(t) + 4, 'text-anchor': 'end'}, t));
  }
  series.forEach((d, i) => {
    const x = left + i * step + 1;
    svg.append(s('rect', {class: 'bar', x, width: Math.max(1, step - 2),
                          y: y(d.visits), height: H - bottom - y(d.visits),
                          'data-date': d.date, 'data-visits': d.visits},
                 s('title', {}, d.date + ': ' + d.visits)));
    if (i % 5 === 4 || i === series.length - 1) {
      svg.append(s('text', {x: x + step / 2, y: H - 10,
                            'text-anchor': 'middle'}, d.date.slice(5)));
    }
  });
  return svg;
}


// -- memory graph ------------------------------------------------------

const graph = {namespace: '', q: ''};

function viewGraph(main) {
  const form = h('form', {class: 'row', id: 'graph-form', onsubmit: (e) => {
      e.preventDefault();
      graph.namespace = e.target.namespace.value.trim();
      graph.q = e.target.q.value.trim();
      loadGraph();
    }},
    h('label', {}, 'Namespace',
      h('input', {name: 'namespace', id: 'graph-namespace',
                  value: graph.namespace, placeholder: '(default)'})),
    h('label', {}, 'Search',
      h('input', {type: 'search', name: 'q', id: 'graph-q', value: graph.q,
                  placeholder: 'names, types, observations'})),
    h('button', {id: 'graph-submit'}, 'Show'));

  main.replaceChildren(
    h('section', {class: 'card'}, h('h2', {}, 'Memory graph'), form,
      h('p', {class: 'muted', id: 'graph-summary'})),
    h('div', {class: 'split'},
      h('div', {id: 'graph-canvas'}),
      h('section', {class: 'card', id: 'graph-detail'},
        h('p', {class: 'muted'}, 'Select a node.'))));

  return loadGraph();
}

async function loadGraph() {
  const params = new URLSearchParams();
  if (graph.namespace) params.set('namespace', graph.namespace);
  if (graph.q) params.set('q', graph.q);

  let g;
  try {
    g = await api('GET', 'graph?' + params);
  } catch (e) {
    $('#graph-canvas').replaceChildren(h('p', {class: 'error'}, e.message));
    return;
  }

  const entities = g.entities || [];
  const names = new Set(entities.map((e) => e.name));
  const relations = (g.relations || [])
    .filter((r) => names.has(r.from) && names.has(r.to));

  $('#graph-summary').textContent = entities.length + ' entities, ' +
    relations.length + ' relations' + (g.nextCursor ? ' (first page)' : '');
  $('#graph-canvas').replaceChildren(entities.length
    ? drawGraph(entities, relations)
    : h('p', {class: 'muted'}, 'No entities.'));
}

// A force layout (springs on edges, repulsion between nodes), run to rest
// before drawing: deterministic, so the same graph looks the same.
function layout(entities, relations, W, H) {
  const n = entities.length;
  const index = new Map(entities.map((e, i) => [e.name, i]));
  const pos = entities.map((e, i) => {
    const a = 2 * Math.PI * i / n;
    return {x: W / 2 + W / 3 * Math.cos(a), y: H / 2 + H / 3 * Math.sin(a)};
  });
  const edges = relations.map((r) => [index.get(r.from), index.get(r.to)]);
  const k = Math.sqrt(W * H / Math.max(n, 1)) * 0.6;

  for (let it = 0, t = W / 8; it < 300; it++, t *= 0.985) {
    const d = pos.map(() => ({x: 0, y: 0}));
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const dx = pos[i].x - pos[j].x || 0.01, dy = pos[i].y - pos[j].y;
        const dist = Math.max(Math.hypot(dx, dy), 1);
        const f = k * k / dist;
        d[i].x += dx / dist * f; d[i].y += dy / dist * f;
        d[j].x -= dx / dist * f; d[j].y -= dy / dist * f;
      }
    }
    for (const [a, b] of edges) {
      const dx = pos[a].x - pos[b].x, dy = pos[a].y - pos[b].y;
      const dist = Math.max(Math.hypot(dx, dy), 1);
      const f = dist * dist / k;
      d[a].x -= dx / dist * f; d[a].y -= dy / dist * f;
      d[b].x += dx / dist * f; d[b].y += dy / dist * f;
    }
    for (let i = 0; i < n; i++) {
      const len = Math.max(Math.hypot(d[i].x, d[i].y), 0.01);
      pos[i].x += d[i].x / len * Math.min(len, t);
      pos[i].y += d[i].y / len * Math.min(len, t);
      pos[i].x = Math.min(W - 60, Math.max(60, pos[i].x));
      pos[i].y = Math.min(H - 30, Math.max(30, pos[i].y));
    }
  }
  return {pos, index};
}

function drawGraph(entities, relations) {
  const W = 860, H = 560;
  const {pos, index} = layout(entities, relations, W, H);
  const svg = s('svg', {class: 'graph', id: 'graph-svg',
                        viewBox: `0 0 ${W} ${H}`, role: 'img',
                        'aria-label': 'memory graph'});

  for (const r of relations) {
    const a = pos[index.get(r.from)], b = pos[index.get(r.to)];
    svg.append(s('line', {class: 'edge', x1: a.x, y1: a.y, x2: b.x, y2: b.y,
                          'data-from': r.from, 'data-to': r.to}),
               s('text', {class: 'edge-label', x: (a.x + b.x) / 2,
                          y: (a.y + b.y) / 2 - 3, 'text-anchor': 'middle'},
                 r.relationType));
  }

  entities.forEach((e, i) => {
    const g = s('g', {class: 'node', 'data-name': e.name,
                      transform: `translate(${pos[i].x},${pos[i].y})`,
                      onclick: () => {
                        svg.querySelectorAll('g.node.selected')
                          .forEach((n) => n.classList.remove('selected'));
                        g.classList.add('selected');
                        showEntity(e, relations);
                      }},
                s('circle', {r: 9}),
                s('text', {class: 'label', x: 13, y: 4}, e.name),
                s('title', {}, e.name + ' (' + e.entityType + ')'));
    svg.append(g);
  });
  return svg;
}

function showEntity(e, relations) {
  const rel = relations.filter((r) => r.from === e.name || r.to === e.name);
  $('#graph-detail').replaceChildren(
    h('h2', {}, e.name),
    h('p', {class: 'muted'}, e.entityType),
    h('ul', {}, (e.observations || []).map((o) => h('li', {}, o))),
    rel.length ? h('p', {class: 'muted'}, 'Relations') : null,
    h('ul', {}, rel.map((r) => h('li', {},
      r.from + ' ' + r.relationType + ' ' + r.to))));
}


// -- contexts ----------------------------------------------------------

const contexts = {namespace: ''};

function viewContexts(main) {
  const form = h('form', {class: 'row', onsubmit: (e) => {
      e.preventDefault();
      contexts.namespace = e.target.namespace.value.trim();
      loadContexts();
    }},
    h('label', {}, 'Namespace',
      h('input', {name: 'namespace', id: 'contexts-namespace',
                  value: contexts.namespace, placeholder: '(default)'})),
    h('button', {}, 'Show'));

  main.replaceChildren(h('section', {class: 'card'},
    h('h2', {}, 'Conversation contexts'), form,
    h('table', {id: 'contexts-table'},
      h('thead', {}, h('tr', {}, ['Context', 'Messages', 'Tokens', '',
                                  'Updated', 'Expires']
                                  .map((t) => h('th', {}, t)))),
      h('tbody', {id: 'contexts-body'}))));

  return loadContexts();
}

async function loadContexts() {
  const body = $('#contexts-body');
  const params = new URLSearchParams();
  if (contexts.namespace) params.set('namespace', contexts.namespace);

  let list;
  try {
    list = (await api('GET', 'contexts?' + params)).contexts || [];
  } catch (e) {
    body.replaceChildren(h('tr', {}, h('td', {colspan: 6, class: 'error'},
                                       e.message)));
    return;
  }

  const most = Math.max(1, ...list.map((c) => c.tokens));
  body.replaceChildren(...(list.length ? list.map((c) => h('tr', {},
    h('td', {}, c.context_id),
    h('td', {class: 'num'}, c.messages),
    h('td', {class: 'num'}, c.tokens),
    h('td', {style: 'width: 8rem'}, h('div', {class: 'meter'},
      h('span', {style: 'width: ' + Math.round(100 * c.tokens / most) + '%'}))),
    h('td', {}, when(c.updated_at)),
    h('td', {}, when(c.expires_at))))
    : [h('tr', {}, h('td', {colspan: 6, class: 'muted'}, 'No contexts.'))]));
}


// -- routing -----------------------------------------------------------

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  const main = $('#view');
  const view = parts[0] || 'links';

  document.querySelectorAll('nav a').forEach((a) =>
    a.classList.toggle('active', a.dataset.view === view));

  if (view === 'links' && parts[1]) {
    return viewLink(main, decodeURIComponent(parts[1]));
  }
  return ({links: viewLinks, graph: viewGraph, contexts: viewContexts}[view]
          || viewLinks)(main);
}

$('#forget-key').hidden = !sessionStorage.getItem(KEY);
$('#forget-key').addEventListener('click', () => {
  sessionStorage.removeItem(KEY);
  $('#forget-key').hidden = true;
  toast('API key forgotten');
});

window.addEventListener('hashchange', route);
route();
