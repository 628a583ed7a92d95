// Entry point: routes between the list and the trace view by location.pathname, keeps
// the history, the shared header (service, store, receiver, pause) and global keys.
import { $, el, isTyping, plainKey, replace } from './dom.js';
import { formatBytes, plural } from './format.js';
import { mountList } from './list.js';
import { isTraceId } from './model.js';
import { mountOverview } from './overview.js';
import { mountTrace } from './trace.js';

const view = $('#view');
const pauseButton = $('#pause');
const LIST_KEY = 'hoptrace.listUrl';
const PAUSE_KEY = 'hoptrace.paused';
let current = null;
let paused = sessionStorage.getItem(PAUSE_KEY) === '1';
const pollers = new Set();

/** Runs fn every interval ms while not paused and the tab is visible; never overlapping. */
function poller(fn, interval) {
  let timer = null;
  let running = false;
  let stopped = false;
  const run = async () => {
    if (stopped || running) return;
    clearTimeout(timer);
    if (!paused && !document.hidden) {
      running = true;
      try { await fn(); } catch (error) { console.warn('hoptrace: refresh failed', error); }
      running = false;
    }
    if (!stopped) timer = setTimeout(run, interval);
  };
  const handle = { now: run, stop() { stopped = true; clearTimeout(timer); pollers.delete(handle); } };
  timer = setTimeout(run, interval);
  pollers.add(handle);
  return handle;
}

function setPaused(value) {
  paused = value;
  sessionStorage.setItem(PAUSE_KEY, paused ? '1' : '0');
  pauseButton.textContent = paused ? 'Resume' : 'Pause';
  pauseButton.setAttribute('aria-pressed', String(paused));
  pauseButton.title = paused ? 'resume live updates (p)' : 'pause live updates (p)';
  document.body.classList.toggle('paused', paused);
  if (!paused) for (const p of [...pollers]) p.now();
}

function listUrl() {
  const saved = sessionStorage.getItem(LIST_KEY);
  return saved && /^\/(traces)?(\?[^#]*)?$/.test(saved) ? saved : '/';
}

/** The header's service name, store line and receiver hint, from a list answer. */
function updateHeader(answer) {
  if (!answer || typeof answer !== 'object') return;
  if (typeof answer.service === 'string') $('#service-name').textContent = answer.service;
  const store = answer.store;
  if (store && typeof store === 'object') {
    const parts = [plural(Number(store.traces) || 0, 'trace'), `${formatBytes(Number(store.bytes))} of ${formatBytes(Number(store.max_bytes))}`];
    if (Number(store.evicted_traces) > 0) parts.push(`${Number(store.evicted_traces)} evicted`);
    if (Number(store.rejected_spans) > 0) parts.push(`${plural(Number(store.rejected_spans), 'span')} refused`);
    const line = $('#store-line');
    line.textContent = parts.join(' \u00b7 ');
    line.title = `kept in memory: at most ${store.max_traces} traces, ${formatBytes(Number(store.max_bytes))}, ${store.max_spans_per_trace} spans per trace`;
  }
  const hint = $('#receiver-hint');
  const receiver = typeof answer.receiver === 'string' && answer.receiver ? answer.receiver : null;
  hint.hidden = receiver === null;
  if (receiver) $('#receiver-env').textContent = `OTEL_EXPORTER_OTLP_ENDPOINT=http://${receiver}`;
}

const ctx = {
  poller,
  updateHeader,
  listUrl,
  setTitle(text) { document.title = text; },
  rememberList(url) { sessionStorage.setItem(LIST_KEY, url); },
  navigate(url, { fromList = false } = {}) {
    history.pushState({ fromList }, '', url);
    route();
  },
  backToList() {
    if (history.state?.fromList) history.back();
    else ctx.navigate(listUrl());
  },
};

function route() {
  current?.unmount();
  current = null;
  const path = location.pathname;
  if (path === '/' || path === '/traces' || path === '/traces/') {
    current = mountList(view, ctx);
    return;
  }
  if (path === '/overview' || path === '/overview/') {
    current = mountOverview(view, ctx);
    return;
  }
  const match = /^\/traces\/([^/]+)\/?$/.exec(path);
  const id = match ? match[1].toLowerCase() : '';
  window.scrollTo(0, 0);
  if (isTraceId(id)) {
    current = mountTrace(view, ctx, id);
    return;
  }
  document.title = 'hoptrace \u2014 not found';
  replace(view, el('section', { class: 'not-found' },
    el('h1', { text: match ? 'Not a trace id' : 'Nothing here' }),
    el('p', { text: match ? 'A trace id is 32 hex digits.' : 'This page does not exist.' }),
    el('p', {}, el('a', { id: 'back-to-list', text: '\u2190 Back to the trace list', attrs: { href: listUrl(), 'data-internal': 'true' } }))));
}

document.addEventListener('keydown', (event) => {
  if (event.defaultPrevented || isTyping(event) || !plainKey(event)) return;
  const target = event.target;
  if ((event.key === 'Enter' || event.key === ' ') && target instanceof Element && target.closest('button, a, summary')) return;
  if (event.key === 'p') {
    setPaused(!paused);
    event.preventDefault();
    return;
  }
  if (current?.onKey?.(event)) event.preventDefault();
});

// Same-origin links marked data-internal navigate without reloading the page.
document.addEventListener('click', (event) => {
  const link = event.target instanceof Element ? event.target.closest('a[data-internal]') : null;
  if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  ctx.navigate(link.getAttribute('href'));
});

$('#brand').addEventListener('click', (event) => {
  if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  ctx.navigate('/');
});

pauseButton.addEventListener('click', () => setPaused(!paused));
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) for (const p of [...pollers]) p.now();
});
window.addEventListener('popstate', route);

history.scrollRestoration = 'manual';
setPaused(paused);
route();
