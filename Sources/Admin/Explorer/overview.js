// The overview: per route and per upstream, requests per second, errors and p50/p95/p99
// over the last minutes, from the proxy's own metrics (the same histograms /metrics
// serves). Each row opens the trace list filtered to it.
import { getJSON } from './api.js';
import { el, replace } from './dom.js';
import { formatMillis } from './format.js';

const POLL_MS = 5000;

function rate(value) {
  const n = Number(value);
  if (!Number.isFinite(n)) return '\u2014';
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** A quantile in seconds. In the first bucket or past the last, only the bound is known. */
function seconds(value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '\u2014';
  if (value <= 0.005) return '\u2264 5 ms';
  if (value >= 10) return '\u2265 10 s';
  return formatMillis(value * 1000);
}

function errorShare(row) {
  const requests = Number(row.requests) || 0;
  const errors = Number(row.errors) || 0;
  if (requests === 0) return el('span', { class: 'muted', text: '\u2014' });
  const share = (100 * errors) / requests;
  return el('span', { class: errors > 0 ? 'overview-errors' : 'muted', text: `${share < 10 && share > 0 ? share.toFixed(1) : share.toFixed(0)}%` });
}

/** One table of rows; a row with a filter links to the trace list with it. */
function table(id, caption, rows, nameHeader) {
  const head = el('tr', {}, [[nameHeader, ''], ['req/s', 'num'], ['requests', 'num'], ['errors', 'num'], ['p50', 'num'], ['p95', 'num'], ['p99', 'num']]
    .map(([text, cls]) => el('th', { class: cls, text, attrs: { scope: 'col' } })));
  const body = rows.map((row) => {
    const name = typeof row.name === 'string' && row.name ? row.name : '(none)';
    const filter = typeof row.filter === 'string' ? row.filter : null;
    const label = filter
      ? el('a', { class: 'overview-link', text: name, attrs: { href: `/traces?${filter}`, 'data-internal': 'true', title: `traces of ${name}` } })
      : el('span', { text: name, attrs: { title: 'no single trace filter matches this one' } });
    return el('tr', {}, el('td', {}, label), el('td', { class: 'num', text: rate(row.per_second) }),
      el('td', { class: 'num', text: String(Number(row.requests) || 0) }), el('td', { class: 'num' }, errorShare(row)),
      el('td', { class: 'num', text: seconds(row.p50) }), el('td', { class: 'num', text: seconds(row.p95) }),
      el('td', { class: 'num', text: seconds(row.p99) }));
  });
  return el('section', { class: 'overview-part' }, el('h2', { text: caption }),
    rows.length === 0
      ? el('p', { class: 'muted', text: 'Nothing in this window yet.' })
      : el('table', { id, class: 'trace-list overview-table', attrs: { 'aria-label': caption } }, el('thead', {}, head), el('tbody', {}, body)));
}

export function mountOverview(root, ctx) {
  ctx.setTitle('hoptrace \u2014 overview');
  const status = el('p', { id: 'overview-window', class: 'list-count', text: 'loading\u2026' });
  const content = el('div', { id: 'overview' });
  const problem = el('div', { id: 'overview-error', class: 'list-error', hidden: true, attrs: { role: 'alert' } });
  replace(root, el('section', { class: 'overview-view' },
    el('p', {}, el('a', { id: 'overview-to-list', text: '\u2190 traces', attrs: { href: ctx.listUrl(), 'data-internal': 'true' } })),
    el('h1', { text: 'Overview' }), status, problem, content));
  let controller = null;

  async function load() {
    controller?.abort();
    controller = new AbortController();
    try {
      const { json } = await getJSON('/overview', controller.signal);
      problem.hidden = true;
      const window = Number(json.window_seconds) || 0;
      status.textContent = `the last ${window >= 90 ? `${Math.round(window / 60)} minutes` : `${Math.round(window)} seconds`}, from the proxy's own counters; quantiles are estimated from histogram buckets (0.005 s to 10 s)`;
      replace(content,
        table('overview-routes', 'Routes', Array.isArray(json.routes) ? json.routes : [], 'route'),
        table('overview-upstreams', 'Upstreams (each attempt)', Array.isArray(json.upstreams) ? json.upstreams : [], 'upstream'));
    } catch (error) {
      if (error?.name === 'AbortError') return;
      problem.textContent = error.message;
      problem.hidden = false;
    }
  }

  const poll = ctx.poller(load, POLL_MS);
  load();
  return {
    unmount() { poll.stop(); controller?.abort(); },
  };
}
