// The trace list: filters (kept in the URL), a live table, keyboard selection.
import { cleanFilters, listTraces, queryString } from './api.js';
import { el, registerServices, replace, serviceChip } from './dom.js';
import { formatMillis, isoTime, relativeTime, statusClass, toNanos } from './format.js';
import { isTraceId } from './model.js';

const POLL_MS = 2000;
const DEBOUNCE_MS = 300;
const PAGE = 100;
const MAX_LIMIT = 2000; // the API's largest limit
const option = (value, text) => el('option', { value, text });

export function mountList(root, ctx) {
  let filters = cleanFilters(new URLSearchParams(location.search));
  let version = null;
  let seq = 0;
  let controller = null;
  let stopped = false;
  let selectedId = history.state?.selected ?? null;
  let restoreScroll = history.state?.scrollY ?? null;
  let facetsSeen = '';
  let refused = false; // the server refused these filters: no polling until they change
  let rows = new Map(); // trace id → {tr, json, time, startMs}
  ctx.setTitle('hoptrace \u2014 traces');

  const textInput = (id, placeholder, size, title) => el('input', {
    id, type: 'text', title, attrs: { placeholder, size, autocomplete: 'off', spellcheck: 'false' },
  });
  const service = el('select', { id: 'filter-service' }, option('', 'any'));
  const route = el('select', { id: 'filter-route' }, option('', 'any'));
  const status = el('select', { id: 'filter-status' }, option('', 'any'), ['2xx', '3xx', '4xx', '5xx'].map((s) => option(s, s)));
  const error = el('input', { id: 'filter-error', type: 'checkbox' });
  const retry = el('input', { id: 'filter-retry', type: 'checkbox' });
  const minMs = textInput('filter-min-ms', 'min', 5, 'shortest duration, in milliseconds');
  const maxMs = textInput('filter-max-ms', 'max', 5, 'longest duration, in milliseconds');
  const attr = textInput('filter-attr', 'key=value', 22, 'an attribute, e.g. http.response.status_code=500 (press / to focus)');
  const traceId = textInput('filter-trace-id', 'id or prefix', 12, 'a trace id, or at least its first 4 hex digits');
  for (const input of [minMs, maxMs]) input.setAttribute('inputmode', 'decimal');
  const clearButton = el('button', { id: 'clear-filters', type: 'button', text: 'clear' });
  const labelled = (text, control, extra) => el('label', { class: ['filter', extra] }, el('span', { class: 'filter-label', text }), control);

  const filterForm = el('form', { class: 'filters', attrs: { role: 'search', 'aria-label': 'filter traces' } },
    labelled('service', service), labelled('route', route), labelled('status', status),
    el('label', { class: 'filter check' }, error, el('span', { text: 'errors only' })),
    el('label', { class: 'filter check' }, retry, el('span', { text: 'retried' })),
    el('span', { class: 'filter duration-range' }, el('span', { class: 'filter-label', text: 'duration ms' }),
      minMs, el('span', { class: 'muted', text: '\u2013' }), maxMs),
    labelled('attribute', attr, 'wide'), labelled('trace id', traceId), clearButton);
  minMs.setAttribute('aria-label', 'minimum duration in milliseconds');
  maxMs.setAttribute('aria-label', 'maximum duration in milliseconds');
  const listError = el('div', { id: 'list-error', class: 'list-error', hidden: true, attrs: { role: 'alert' } });
  const count = el('span', { id: 'list-count', class: 'list-count', text: 'loading\u2026' });
  const tbody = el('tbody');
  const table = el('table', { id: 'trace-list', class: 'trace-list', attrs: { role: 'grid', 'aria-readonly': 'true', 'aria-label': 'traces, newest first' } },
    el('thead', {}, el('tr', {}, [['time', ''], ['request', ''], ['status', ''], ['duration', 'num'], ['services', ''],
      ['spans', 'num'], ['attempts', 'num'], ['error', 'center']].map(([text, cls]) => el('th', { class: cls, text, attrs: { scope: 'col' } })))),
    tbody);
  const emptyState = el('div', { id: 'empty-state', class: 'empty-state', hidden: true });
  const more = el('button', { id: 'show-more', class: 'show-more', type: 'button', hidden: true });
  replace(root, el('section', { class: 'list-view' }, filterForm, listError,
    el('div', { class: 'list-meta' }, count, el('span', { class: 'hint', text: '\u2191\u2193 select \u00b7 Enter open \u00b7 / filter \u00b7 p pause' })),
    table, emptyState, more));

  function ensureOption(select, value) {
    if (value && ![...select.options].some((o) => o.value === value)) select.appendChild(option(value, value));
  }

  function setControls() {
    for (const [select, name] of [[service, 'service'], [route, 'route'], [status, 'status']]) {
      ensureOption(select, filters.get(name) ?? '');
      select.value = filters.get(name) ?? '';
    }
    error.checked = filters.get('error') === '1';
    retry.checked = filters.get('retry') === '1';
    for (const [input, name] of [[minMs, 'min_ms'], [maxMs, 'max_ms'], [attr, 'attr'], [traceId, 'trace_id']]) input.value = filters.get(name) ?? '';
  }

  function readControls() {
    const next = new URLSearchParams();
    next.set('service', service.value);
    next.set('route', route.value);
    next.set('status', status.value);
    if (error.checked) next.set('error', '1');
    if (retry.checked) next.set('retry', '1');
    next.set('min_ms', minMs.value.trim());
    next.set('max_ms', maxMs.value.trim());
    next.set('attr', attr.value.trim());
    next.set('trace_id', traceId.value.trim());
    if (filters.get('limit')) next.set('limit', filters.get('limit'));
    return cleanFilters(next);
  }

  let debounce = null;
  function apply(next = readControls()) {
    clearTimeout(debounce);
    if (next.toString() === filters.toString()) return;
    filters = next;
    const query = queryString(filters);
    const url = `${location.pathname}${query ? `?${query}` : ''}`;
    history.replaceState({ ...history.state, selected: selectedId }, '', url);
    ctx.rememberList(url);
    version = null;
    load();
  }

  function clearFilters() {
    filters.delete('limit');
    for (const select of [service, route, status]) select.value = '';
    error.checked = retry.checked = false;
    for (const input of [minMs, maxMs, attr, traceId]) input.value = '';
    apply();
  }

  filterForm.addEventListener('submit', (event) => { event.preventDefault(); apply(); });
  filterForm.addEventListener('change', (event) => { if (!(event.target instanceof HTMLInputElement && event.target.type === 'text')) apply(); });
  for (const input of [minMs, maxMs, attr, traceId]) {
    input.addEventListener('input', () => { clearTimeout(debounce); debounce = setTimeout(() => apply(), DEBOUNCE_MS); });
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') { event.preventDefault(); apply(); }
      if (event.key === 'Escape') { event.preventDefault(); input.blur(); }
    });
  }
  clearButton.addEventListener('click', clearFilters);
  more.addEventListener('click', () => {
    const next = new URLSearchParams(filters);
    next.set('limit', String(Math.min(MAX_LIMIT, rows.size + PAGE)));
    apply(next);
  });

  function renderFacets(facets, answerService) {
    const key = JSON.stringify(facets ?? null);
    if (key === facetsSeen) return;
    facetsSeen = key;
    const services = Array.isArray(facets?.services) ? facets.services.map(String) : [];
    registerServices(typeof answerService === 'string' ? [answerService, ...services] : services);
    for (const [select, names, name] of [[service, services, 'service'], [route, Array.isArray(facets?.routes) ? facets.routes.map(String) : [], 'route']]) {
      replace(select, option('', 'any'), names.map((n) => option(n, n)));
      ensureOption(select, filters.get(name) ?? '');
      select.value = filters.get(name) ?? '';
    }
  }

  function buildRow(t, id, json) {
    const startMs = Number(t.start_unix_nano) / 1e6;
    const time = el('span', { class: 'time', text: relativeTime(startMs) });
    const requestText = t.method && t.route ? `${t.method} ${t.route}` : String(t.name ?? t.root ?? id);
    const code = Number.isInteger(t.status) ? t.status : null;
    const services = Array.isArray(t.services) ? t.services.map(String) : [];
    registerServices(services);
    const attempts = Number(t.attempts) || 0;
    const tr = el('tr', { class: 'trace-row', attrs: { 'data-trace-id': id, 'aria-selected': 'false' } },
      el('td', { class: 'col-time', title: isoTime(toNanos(t.start_unix_nano)) }, time,
        t.changing ? el('span', { class: 'live-dot', title: 'receiving spans: this trace may still grow' }) : null),
      el('td', { class: 'col-request' }, el('a', { class: 'trace-link', text: requestText, title: String(t.name ?? ''), attrs: { href: `/traces/${id}` } })),
      el('td', { class: 'col-status' }, code === null ? el('span', { class: 'muted', text: '\u2014' }) : el('span', { class: ['status', statusClass(code)], text: String(code) })),
      el('td', { class: 'num', text: formatMillis(t.duration_ms) }),
      el('td', { class: 'col-services' }, services.map((s) => serviceChip(s))),
      el('td', { class: 'num', title: t.missing_parents ? `${t.missing_parents} missing parent span(s)` : null },
        String(t.span_count ?? ''), t.rejected_spans ? el('span', { class: 'refused', text: ` +${t.rejected_spans} refused` }) : null),
      el('td', { class: 'num' }, t.retried ? el('span', { class: 'retried', text: `${attempts} \u21bb`, title: `retried: ${attempts} upstream attempts` }) : String(attempts)),
      el('td', { class: 'center' }, t.error ? el('span', { class: 'error-badge', text: 'error' }) : null));
    return { tr, json, time, startMs };
  }

  function renderRows(answer) {
    const traces = Array.isArray(answer.traces) ? answer.traces : [];
    const next = new Map();
    for (const t of traces) {
      const id = String(t?.trace_id ?? '').toLowerCase();
      if (!isTraceId(id) || next.has(id)) continue;
      const json = JSON.stringify(t);
      const old = rows.get(id);
      next.set(id, old && old.json === json ? old : buildRow(t, id, json));
    }
    let cursor = tbody.firstChild;
    for (const record of next.values()) {
      if (record.tr === cursor) cursor = cursor.nextSibling;
      else tbody.insertBefore(record.tr, cursor);
    }
    while (cursor) { const stale = cursor; cursor = cursor.nextSibling; stale.remove(); }
    rows = next;
    markSelection();
    const total = Number(answer.total) || 0;
    const matched = Number.isFinite(Number(answer.matched)) ? Number(answer.matched) : rows.size;
    count.textContent = `${matched} of ${total} ${total === 1 ? 'trace' : 'traces'}`;
    renderEmpty(total, rows.size, answer.receiver);
    more.hidden = matched <= rows.size || rows.size >= MAX_LIMIT;
    more.textContent = `show ${Math.min(PAGE, matched - rows.size, MAX_LIMIT - rows.size)} more`;
    if (restoreScroll !== null) { window.scrollTo(0, restoreScroll); restoreScroll = null; }
  }

  function renderEmpty(total, shown, receiver) {
    table.hidden = shown === 0;
    emptyState.hidden = shown > 0;
    if (shown > 0) return;
    if (total === 0 && filters.toString() === '') {
      const backends = typeof receiver === 'string' && receiver
        ? [el('p', { text: 'To see inside your backends too, start them with:' }),
          el('pre', { class: 'selectable', text: `OTEL_EXPORTER_OTLP_ENDPOINT=http://${receiver}\nOTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf` }),
          el('p', { class: 'muted' }, 'and give each its own ', el('code', { text: 'OTEL_SERVICE_NAME' }), ". Their spans join the proxy's in the same traces.")]
        : [el('p', { class: 'muted' }, "hoptrace's OTLP receiver is off; enable ", el('code', { text: 'receiver:' }), " in its configuration to collect your backends' spans too.")];
      replace(emptyState, el('h2', { text: 'No traces yet' }),
        el('p', { text: 'Send a request through the proxy: every request it handles shows up here within a moment.' }), backends);
    } else {
      const clear = el('button', { type: 'button', text: 'clear filters' });
      clear.addEventListener('click', clearFilters);
      replace(emptyState, el('h2', { text: total === 0 ? 'No traces yet' : 'No trace matches these filters' }),
        el('p', {}, `${total} ${total === 1 ? 'trace is' : 'traces are'} kept. `, clear));
    }
  }

  function markSelection() {
    for (const [id, record] of rows) {
      const selected = id === selectedId;
      record.tr.setAttribute('aria-selected', String(selected));
    }
  }

  function select(id, scroll) {
    selectedId = id;
    markSelection();
    history.replaceState({ ...history.state, selected: id }, '', location.href);
    if (scroll) rows.get(id)?.tr.scrollIntoView({ block: 'nearest' });
  }

  function open(id) {
    select(id, false);
    history.replaceState({ ...history.state, selected: id, scrollY: window.scrollY }, '', location.href);
    ctx.navigate(`/traces/${id}`, { fromList: true });
  }

  tbody.addEventListener('click', (event) => {
    const tr = event.target.closest('tr.trace-row');
    if (!tr || event.button !== 0) return;
    if (event.target.closest('a') && (event.ctrlKey || event.metaKey || event.shiftKey || event.altKey)) return;
    if (window.getSelection()?.toString()) return;
    event.preventDefault();
    open(tr.getAttribute('data-trace-id'));
  });

  function showError(message) {
    listError.textContent = message;
    listError.hidden = !message;
  }

  async function load() {
    const mine = ++seq;
    controller?.abort();
    controller = new AbortController();
    try {
      const answer = await listTraces(filters, version ?? undefined, controller.signal);
      if (mine !== seq || stopped) return;
      showError('');
      refused = false;
      if (answer?.unchanged === true) return tickTimes();
      version = Number.isInteger(answer?.version) ? answer.version : null;
      ctx.updateHeader(answer);
      renderFacets(answer?.facets, answer?.service);
      renderRows(answer ?? {});
      tickTimes();
    } catch (err) {
      if (err?.name === 'AbortError' || mine !== seq || stopped) return;
      showError(err.status === 400 ? `Filter not accepted: ${err.message}` : err.message);
      if (err.status === 400) { refused = true; version = null; renderRows({ traces: [], total: 0, matched: 0 }); count.textContent = '\u2014'; emptyState.hidden = true; }
    }
  }

  function tickTimes() {
    const now = Date.now();
    for (const record of rows.values()) record.time.textContent = relativeTime(record.startMs, now);
  }

  function onKey(event) {
    const ids = [...rows.keys()];
    const move = (step) => {
      if (!ids.length) return;
      const at = ids.indexOf(selectedId);
      const next = at < 0 ? (step > 0 ? 0 : ids.length - 1) : Math.max(0, Math.min(ids.length - 1, at + step));
      select(ids[next], true);
    };
    switch (event.key) {
      case 'ArrowDown': case 'j': move(1); return true;
      case 'ArrowUp': case 'k': move(-1); return true;
      case 'Home': if (ids.length) select(ids[0], true); return true;
      case 'End': if (ids.length) select(ids[ids.length - 1], true); return true;
      case 'Enter': if (selectedId && rows.has(selectedId)) open(selectedId); return true;
      case '/': attr.focus(); attr.select(); return true;
      default: return false;
    }
  }

  setControls();
  const initialQuery = queryString(filters);
  ctx.rememberList(`${location.pathname}${initialQuery ? `?${initialQuery}` : ''}`);
  const poller = ctx.poller(() => (refused ? undefined : load()), POLL_MS);
  const ticker = setInterval(tickTimes, 5000);
  load();

  return {
    onKey,
    unmount() {
      stopped = true;
      controller?.abort();
      poller.stop();
      clearInterval(ticker);
      clearTimeout(debounce);
    },
  };
}
