// The dumplings dashboard. It connects back to the hub that served it, as an
// eater, and keeps a few views of what it eats up to date: the hub's status,
// DNS lookups, packets per layer, ARP activity and the latest dumpling of
// every chef. Plain DOM, no framework, nothing fetched from elsewhere.
//
// Everything that comes off the wire (host names, chef names, payloads) is
// sniffed from the network by someone else's kitchen: it is only ever set as
// text, never parsed as HTML.
'use strict';

const EATER_NAME = 'dashboard';
const FEED_MAX = 300;          // lines kept in each scrolling feed
const JSON_MAX_ENTRIES = 200;  // members shown per JSON object or array
const RENDER_MS = 200;         // the page is redrawn at most this often
const RETRY_MS = [500, 1000, 2000, 4000, 5000];

const state = {
  status: null,                // latest SystemStatusChef payload
  previous: null,              // the one before, for the drop rate
  packets: new Map(),          // kitchen -> {counts, time}
  dns: [],                     // lookups not yet drawn
  dnsTotal: 0,
  arp: [],                     // ARP dumplings not yet drawn
  arpTotal: 0,
  latest: new Map(),           // chef + kitchen -> {dumpling, count}
  folds: new Map(),            // JSON node -> open, as the user left it
  dirty: new Set(),            // views to redraw
  timer: null,
};

// ---- small DOM helpers --------------------------------------------------

function $(id) {
  return document.getElementById(id);
}

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = String(text);
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = String(text);
  return e;
}

function number(n) {
  return typeof n === 'number' ? n.toLocaleString('en') : '–';
}

function clock(epochSeconds) {
  if (typeof epochSeconds !== 'number') return '';
  return new Date(epochSeconds * 1000).toLocaleTimeString('en-GB');
}

function duration(seconds) {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor(s / 3600) % 24;
  const m = Math.floor(s / 60) % 60;
  const pad = (x) => String(x).padStart(2, '0');
  return (d ? `${d}d ` : '') + (d || h ? `${h}h ` : '') + `${pad(m)}m ${pad(s % 60)}s`;
}

// Where a dumpling came from; the hub's own have no kitchen.
function kitchenOf(meta) {
  return meta.kitchen === null || meta.kitchen === undefined ? '(hub)' : String(meta.kitchen);
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// ---- the connection -----------------------------------------------------

// The hub that served this page, unless ?hub=HOST:PORT names another.
function hubUrl() {
  const other = new URLSearchParams(location.search).get('hub');
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${other || location.host}/`;
}

function setConnection(what, url) {
  document.body.dataset.connection = what;
  $('connection').textContent = what === 'closed' ? 'disconnected, retrying' : what;
  $('hub-address').textContent = url;
}

let attempt = 0;

// A hub that wants an eater token gets the page's ?token=, as a query
// parameter: browsers cannot set headers on a WebSocket. The token is
// never shown on the page.
function withToken(url) {
  const token = new URLSearchParams(location.search).get('token');
  return token ? `${url}?token=${encodeURIComponent(token)}` : url;
}

function connect() {
  const url = hubUrl();
  const ws = new WebSocket(withToken(url));
  setConnection('connecting', url);
  ws.onopen = () => {
    attempt = 0;
    // details: the status lists every connection, not a summary; latest:
    // the page opens with each kitchen and chef's latest dumpling rather
    // than empty until the next interval
    ws.send(JSON.stringify({ eater_name: EATER_NAME, details: true, latest: true }));
    setConnection('open', url);
  };
  ws.onmessage = (event) => eat(event.data);
  // onerror is always followed by onclose: retry from there, backing off
  ws.onclose = () => {
    setConnection('closed', url);
    setTimeout(connect, RETRY_MS[Math.min(attempt++, RETRY_MS.length - 1)]);
  };
}

// ---- eating -------------------------------------------------------------

const chefs = {
  SystemStatusChef(d) {
    if (!isObject(d.payload)) return;
    state.previous = state.status;
    state.status = d.payload;
    state.dirty.add('status');
  },
  DNSLookupChef(d) {
    const lookup = isObject(d.payload) && d.payload.lookup;
    if (d.metadata.driver !== 'packet' || !isObject(lookup)) return;
    state.dns.push({ hostname: String(lookup.hostname), when: lookup.when,
                     kitchen: kitchenOf(d.metadata) });
    state.dnsTotal++;
    state.dirty.add('dns');
  },
  PacketCountChef(d) {
    const counts = isObject(d.payload) && d.payload.packet_counts;
    if (!isObject(counts)) return;
    state.packets.set(kitchenOf(d.metadata), { counts, time: d.metadata.creation_time });
    state.dirty.add('packets');
  },
  ARPChef(d) {
    if (!isObject(d.payload)) return;
    state.arp.push({ arp: d.payload, kitchen: kitchenOf(d.metadata) });
    state.arpTotal++;
    state.dirty.add('arp');
  },
};

function eat(text) {
  let d;
  try {
    d = JSON.parse(text);
  } catch (e) {
    return;
  }
  if (!isObject(d) || !isObject(d.metadata) || typeof d.metadata.chef !== 'string') return;
  remember(d);
  if (Object.hasOwn(chefs, d.metadata.chef)) chefs[d.metadata.chef](d);
  schedule();
}

function remember(d) {
  const key = `${d.metadata.chef}\u0000${kitchenOf(d.metadata)}`;
  const seen = state.latest.get(key);
  state.latest.set(key, { dumpling: d, count: seen ? seen.count + 1 : 1, drawn: false });
  state.dirty.add('latest');
}

// Dumplings may arrive by the thousand per second; the page is redrawn on
// a timer, from whatever they changed, not once per dumpling.
function schedule() {
  if (state.timer === null) state.timer = setTimeout(render, RENDER_MS);
}

function render() {
  state.timer = null;
  const views = { status: renderStatus, dns: renderDns, packets: renderPackets,
                  arp: renderArp, latest: renderLatest };
  for (const what of state.dirty) views[what]();
  state.dirty.clear();
}

// ---- hub status ---------------------------------------------------------

function setTile(id, value) {
  const e = $(id);
  e.textContent = number(value);
  e.dataset.value = String(value);
}

function rate(perSecond) {
  return typeof perSecond === 'number' ? `${perSecond.toFixed(1)}/s` : '';
}

// The hub reports in and out rates; drops are worked out between two
// status dumplings.
function dropRate(now, before) {
  if (!before) return undefined;
  const dt = now.server_uptime - before.server_uptime;
  const dn = now.total_dumplings_dropped - before.total_dumplings_dropped;
  return dt > 0 && dn >= 0 ? dn / dt : undefined;
}

function renderStatus() {
  const s = state.status;
  setTile('total-in', s.total_dumplings_in);
  setTile('total-out', s.total_dumplings_out);
  setTile('total-dropped', s.total_dumplings_dropped ?? 0);
  setTile('total-invalid', s.total_dumplings_invalid ?? 0);
  $('rate-in').textContent = rate(s.dumplings_in_per_second);
  $('rate-out').textContent = rate(s.dumplings_out_per_second);
  $('rate-dropped').textContent = rate(dropRate(s, state.previous));
  $('queue').textContent = `${number(s.queue_used)} / ${number(s.queue_capacity)}`;
  $('queue-bytes').textContent = typeof s.queue_bytes === 'number'
    ? `${(s.queue_bytes / 1024).toFixed(0)} KiB of ${(s.queue_bytes_capacity / 1048576).toFixed(0)} MiB`
    : '';
  $('uptime').textContent = duration(s.server_uptime || 0);
  renderKitchens(Array.isArray(s.dumpling_kitchens) ? s.dumpling_kitchens : []);
  renderEaters(Array.isArray(s.dumpling_eaters) ? s.dumpling_eaters : []);
}

function peer(info) {
  return isObject(info) ? `${info.host}:${info.port}` : '';
}

function cell(text, className) {
  return el('td', className, text ?? '');
}

function renderKitchens(kitchens) {
  const rows = kitchens.map((k) => {
    const hello = isObject(k.info_from_kitchen) ? k.info_from_kitchen : {};
    const chefList = el('td');
    for (const c of Array.isArray(hello.chefs) ? hello.chefs : []) chefList.append(el('span', 'chip', c));
    const tr = el('tr');
    tr.dataset.kitchen = String(hello.kitchen_name ?? '');
    tr.append(cell(hello.kitchen_name), cell(hello.interface, 'mono'), cell(hello.filter, 'mono'),
              chefList, cell(peer(k.info_from_hub), 'mono'), cell(number(k.dumplings_in), 'num'));
    return tr;
  });
  $('kitchens').tBodies[0].replaceChildren(...rows);
  $('kitchen-count').textContent = kitchens.length;
}

function renderEaters(eaters) {
  const rows = eaters.map((e) => {
    const hello = isObject(e.info_from_eater) ? e.info_from_eater : {};
    const tr = el('tr');
    tr.dataset.eater = String(hello.eater_name ?? '');
    tr.append(cell(hello.eater_name), cell(peer(e.info_from_hub), 'mono'),
              cell(number(e.dumplings_out), 'num'), cell(number(e.dumplings_dropped), 'num'),
              cell(number(e.queue_depth), 'num'));
    return tr;
  });
  $('eaters').tBodies[0].replaceChildren(...rows);
  $('eater-count').textContent = eaters.length;
}

// ---- scrolling feeds ----------------------------------------------------

// Newest first; the oldest lines fall off the bottom.
function prepend(list, items) {
  const fresh = document.createDocumentFragment();
  for (let i = items.length - 1; i >= 0 && i >= items.length - FEED_MAX; i--) fresh.append(items[i]);
  list.prepend(fresh);
  while (list.children.length > FEED_MAX) list.lastElementChild.remove();
}

function feedLine(when, what, kitchen) {
  const li = el('li', 'fresh');
  li.append(el('span', 'time', clock(when)), what, el('span', 'from', kitchen));
  return li;
}

function renderDns() {
  const items = state.dns.map((l) => {
    const li = feedLine(l.when, el('span', 'what', l.hostname), l.kitchen);
    li.dataset.hostname = l.hostname;
    return li;
  });
  state.dns = [];
  prepend($('dns-feed'), items);
  $('dns-count').textContent = number(state.dnsTotal);
  $('dns-empty').hidden = true;
}

function arpText(a) {
  if (a.operation === 'request') return `who has ${a.dst_ip}? tell ${a.src_ip} (${a.src_hw})`;
  if (a.operation === 'reply') return `${a.src_ip} is at ${a.src_hw}`;
  return `operation ${a.operation}: ${a.src_ip} (${a.src_hw}) to ${a.dst_ip}`;
}

function renderArp() {
  const items = state.arp.map(({ arp, kitchen }) => {
    const what = el('span', 'what', arpText(arp));
    if (typeof arp.notes === 'string') what.append(' ', el('span', 'note', arp.notes));
    const li = feedLine(arp.time, what, kitchen);
    li.dataset.operation = String(arp.operation);
    return li;
  });
  state.arp = [];
  prepend($('arp-feed'), items);
  $('arp-count').textContent = number(state.arpTotal);
  $('arp-empty').hidden = true;
}

// ---- packets per layer --------------------------------------------------

const BAR = { height: 16, gap: 5, label: 96, value: 72 };

// One group of bars per kitchen, longest first; every bar carries its
// kitchen, layer and count as data attributes.
function renderPackets() {
  const chart = $('packet-chart');
  const width = Math.max(chart.clientWidth, 300);
  const span = width - BAR.label - BAR.value;
  const parts = [];
  let y = 0;
  let latest = 0;
  for (const kitchen of [...state.packets.keys()].sort()) {
    const { counts, time } = state.packets.get(kitchen);
    const rows = Object.entries(counts).filter(([, n]) => typeof n === 'number')
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const max = Math.max(1, ...rows.map(([, n]) => n));
    latest = Math.max(latest, time || 0);
    parts.push(svg('text', { x: 0, y: y + 13, class: 'kitchen-title' }, kitchen));
    y += BAR.height + BAR.gap;
    for (const [layer, n] of rows) {
      const g = svg('g', { class: 'bar', 'data-kitchen': kitchen, 'data-layer': layer, 'data-count': n });
      const w = Math.max(1, (span * n) / max);
      g.append(svg('text', { x: 0, y: y + 12 }, layer),
               svg('rect', { x: BAR.label, y, width: w, height: BAR.height, rx: 2 }),
               svg('text', { x: BAR.label + w + 6, y: y + 12, class: 'value' }, number(n)));
      parts.push(g);
      y += BAR.height + BAR.gap;
    }
    y += BAR.gap * 2;
  }
  chart.replaceChildren(...parts);
  chart.setAttribute('viewBox', `0 0 ${width} ${y}`);
  chart.setAttribute('height', y);
  $('packets-updated').textContent = latest ? `at ${clock(latest)}` : '';
  $('packets-empty').hidden = state.packets.size > 0;
}

// ---- the latest dumpling of every chef -----------------------------------

function jsonValueClass(v) {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'number';
  return 'literal';
}

// A foldable tree. What the user unfolds or folds stays so when the card
// is redrawn with the next dumpling; untouched, the first two levels show.
function jsonNode(value, key, path, depth) {
  const label = key === null ? [] : [el('span', 'key', `${key}: `)];
  if (value === null || typeof value !== 'object') {
    const row = el('div', 'row');
    row.append(...label, el('span', jsonValueClass(value), JSON.stringify(value)));
    return row;
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  const node = el('details');
  node.open = state.folds.has(path) ? state.folds.get(path) : depth < 2;
  node.addEventListener('toggle', () => state.folds.set(path, node.open));
  const summary = el('summary');
  summary.append(...label, Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`);
  node.append(summary);
  for (const [k, v] of entries.slice(0, JSON_MAX_ENTRIES)) {
    node.append(jsonNode(v, String(k), `${path}/${k}`, depth + 1));
  }
  if (entries.length > JSON_MAX_ENTRIES) {
    node.append(el('div', 'row muted', `… ${entries.length - JSON_MAX_ENTRIES} more`));
  }
  return node;
}

function card(key, { dumpling, count }) {
  const m = dumpling.metadata;
  const c = el('div', 'card');
  c.dataset.chef = m.chef;
  c.dataset.kitchen = kitchenOf(m);
  const head = el('div', 'card-head');
  head.append(el('span', 'chef', m.chef), el('span', 'meta', kitchenOf(m)),
              el('span', 'meta', m.driver ?? ''), el('span', 'meta', clock(m.creation_time)),
              el('span', 'count', `#${number(count)}`));
  const body = el('div', 'json');
  body.append(jsonNode(dumpling.payload, 'payload', key, 0));
  c.append(head, body);
  return c;
}

function addOption(select, value) {
  if ([...select.options].some((o) => o.value === value)) return;
  select.append(new Option(value, value));
}

function applyFilters() {
  const chef = $('filter-chef').value;
  const kitchen = $('filter-kitchen').value;
  for (const c of $('latest').children) {
    c.hidden = (chef && c.dataset.chef !== chef) || (kitchen && c.dataset.kitchen !== kitchen);
  }
}

function renderLatest() {
  const cards = new Map([...$('latest').children].map((c) => [c.dataset.key, c]));
  const keys = [...state.latest.keys()].sort();
  const fresh = keys.map((key) => {
    const entry = state.latest.get(key);
    if (entry.drawn && cards.has(key)) return cards.get(key);
    entry.drawn = true;
    const c = card(key, entry);
    c.dataset.key = key;
    addOption($('filter-chef'), c.dataset.chef);
    addOption($('filter-kitchen'), c.dataset.kitchen);
    return c;
  });
  $('latest').replaceChildren(...fresh);
  applyFilters();
}

// ---- start ---------------------------------------------------------------

$('filter-chef').addEventListener('change', applyFilters);
$('filter-kitchen').addEventListener('change', applyFilters);
window.addEventListener('resize', () => {
  if (state.packets.size) {
    state.dirty.add('packets');
    schedule();
  }
});
connect();
