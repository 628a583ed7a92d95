// The trace view: header, waterfall, details panel; refetches while the trace changes.
import { getTrace, getTraceSummary } from './api.js';
import { rawDetails, spanDetails } from './details.js';
import { copyText, el, registerServices, replace, serviceChip } from './dom.js';
import { formatDuration, isoTime, localTime, plural } from './format.js';
import { buildTrace } from './model.js';
import { Waterfall, rowKey } from './waterfall.js';

const REFRESH_MS = 2000;

export function mountTrace(root, ctx, traceId) {
  const state = {
    text: null, model: null, summary: null, changing: false, receiver: null, maxSpans: null,
    details: 'closed', stopped: false, release: null, detailsKey: null,
  };
  const controller = new AbortController();
  ctx.setTitle('hoptrace \u2014 trace');

  const back = el('a', { id: 'back-to-list', class: 'back', text: '\u2190 traces', attrs: { href: ctx.listUrl() } });
  back.addEventListener('click', (event) => {
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    ctx.backToList();
  });
  const title = el('h1', { id: 'trace-title', class: 'trace-title', text: 'loading trace\u2026' });
  const meta = el('div', { class: 'trace-meta' });
  const idCode = el('code', { id: 'trace-id', class: 'id selectable', text: traceId });
  const copyButton = el('button', { id: 'copy-trace-id', type: 'button', text: 'copy trace id' });
  const copyResult = el('span', { class: 'copy-result', attrs: { 'aria-live': 'polite' } });
  const rawButton = el('button', { id: 'raw-json', type: 'button', text: 'OTLP/JSON', title: 'show the trace as OTLP/JSON' });
  const receiving = el('span', { class: 'receiving', hidden: true, title: 'spans arrived in the last 10 s; refreshing every 2 s' },
    el('span', { class: 'live-dot', attrs: { 'aria-hidden': 'true' } }), 'receiving spans\u2026');
  const banner = el('div', { id: 'rejected-banner', class: 'banner', hidden: true, attrs: { role: 'status' } });
  const problem = el('div', { class: 'banner problem', hidden: true, attrs: { role: 'alert' } });
  const waterfallEl = el('div', { id: 'waterfall', class: 'waterfall', attrs: { role: 'treegrid', 'aria-label': 'spans of the trace' } });
  const detailsBody = el('div', { class: 'details-body' });
  const closeButton = el('button', { class: 'close', type: 'button', text: '\u00d7', title: 'close (Esc)', attrs: { 'aria-label': 'close details' } });
  const details = el('aside', { id: 'details', class: 'details', hidden: true, attrs: { 'aria-label': 'span details' } }, closeButton, detailsBody);
  const body = el('div', { class: 'trace-body' }, el('div', { class: 'waterfall-wrap' }, waterfallEl), details);
  const header = el('div', { class: 'trace-header' },
    el('div', { class: 'trace-heading' }, back, title, receiving),
    el('div', { class: 'trace-subline' }, meta,
      el('div', { class: 'trace-actions' }, idCode, copyButton, copyResult, rawButton)));
  replace(root, el('section', { class: 'trace-view' }, header, banner, problem, body));

  const waterfall = new Waterfall(waterfallEl, {
    onSelect: (row) => showSpan(row),
    onToggle: () => {
      const row = waterfall.selectedRow();
      if (state.details === 'span' && row && rowKey(row.node) !== state.detailsKey) showSpan(row);
    },
  });

  let copyTimer = null;
  copyButton.addEventListener('click', async () => {
    const result = await copyText(traceId, idCode);
    copyResult.textContent = result === 'copied' ? 'copied' : 'selected \u2014 press Ctrl+C';
    clearTimeout(copyTimer);
    copyTimer = setTimeout(() => { copyResult.textContent = ''; }, 2000);
  });
  rawButton.addEventListener('click', () => (state.details === 'raw' ? closeDetails() : showRaw()));
  closeButton.addEventListener('click', () => closeDetails());

  function openPanel(kind, nodes) {
    state.release?.();
    state.release = null;
    state.details = kind;
    replace(detailsBody, nodes);
    details.hidden = false;
    details.scrollTop = 0;
    body.classList.add('with-details');
    rawButton.setAttribute('aria-pressed', String(kind === 'raw'));
  }

  function showSpan(row) {
    state.detailsKey = rowKey(row.node);
    openPanel('span', spanDetails(row.node, { changing: state.changing, receiver: state.receiver }));
  }

  function showRaw() {
    if (state.text === null) return;
    const raw = rawDetails(traceId, state.text);
    openPanel('raw', raw.nodes);
    state.release = raw.release;
  }

  function closeDetails() {
    state.release?.();
    state.release = null;
    state.details = 'closed';
    details.hidden = true;
    body.classList.remove('with-details');
    rawButton.setAttribute('aria-pressed', 'false');
  }

  function showFailure(error) {
    ctx.setTitle('hoptrace \u2014 trace not found');
    title.textContent = error.status === 404 ? 'Trace not found' : 'Cannot show this trace';
    replace(meta);
    body.hidden = true;
    replace(problem, el('p', { text: error.message }),
      el('p', {}, error.status === 404 ? 'It may have been evicted to make room for newer traces. ' : '',
        el('a', { class: 'back-link', text: 'Back to the trace list', attrs: { href: ctx.listUrl(), 'data-internal': 'true' } })));
    problem.hidden = false;
  }

  function renderMeta(model) {
    const name = state.summary?.name || model.rootName || traceId;
    title.textContent = name;
    ctx.setTitle(`hoptrace \u2014 ${name}`);
    replace(meta,
      el('span', { class: 'num strong', text: formatDuration(model.duration), title: 'from the earliest span start to the latest span end' }),
      el('span', { class: 'sep', text: '\u00b7' }),
      el('span', { class: 'num', text: localTime(model.start), title: isoTime(model.start) }),
      el('span', { class: 'sep', text: '\u00b7' }),
      el('span', { text: plural(model.spans.length, 'span') }),
      el('span', { class: 'sep', text: '\u00b7' }),
      el('span', { class: 'chips' }, model.services.map((s) => serviceChip(s))));
  }

  function renderBanner() {
    const refused = Number(state.summary?.rejected_spans) || 0;
    banner.hidden = refused <= 0;
    if (refused > 0) {
      const limit = Number.isFinite(state.maxSpans) ? `at most ${state.maxSpans} spans` : 'a limited number of spans';
      banner.textContent = `${plural(refused, 'span')} of this trace ${refused === 1 ? 'was' : 'were'} refused: the store keeps ${limit} per trace.`;
    }
  }

  function render(result) {
    let model;
    try {
      model = buildTrace(result.json);
    } catch (error) {
      showFailure({ status: 0, message: `cannot read this trace: ${error.message}` });
      return;
    }
    registerServices(model.services);
    const previous = state.model !== null;
    const collapsed = previous ? waterfall.collapsedKeys() : new Set();
    const selected = waterfall.selectedRow();
    state.text = result.text;
    state.model = model;
    renderMeta(model);
    if (!model.rows.length) {
      replace(waterfallEl, el('p', { class: 'empty-note', text: 'This trace has no spans.' }));
      return;
    }
    waterfall.render(model, { changing: state.changing, collapsed, selectedKey: selected ? rowKey(selected.node) : null });
    const row = waterfall.selectedRow();
    if (state.details === 'span') { if (row) showSpan(row); else closeDetails(); }
    if (state.details === 'raw') showRaw();
  }

  let inFlight = null;
  function load() {
    inFlight ??= fetchBoth().finally(() => { inFlight = null; });
    return inFlight;
  }

  async function fetchBoth() {
    const [trace, summary] = await Promise.allSettled([getTrace(traceId, controller.signal), getTraceSummary(traceId, controller.signal)]);
    if (state.stopped) return;
    if (trace.status === 'rejected') {
      if (trace.reason?.name === 'AbortError') return;
      if (state.model === null) { showFailure(trace.reason); poller.stop(); return; }
      problem.textContent = `Refreshing failed: ${trace.reason.message}`;
      problem.hidden = false;
      return;
    }
    problem.hidden = true;
    if (summary.status === 'fulfilled') {
      const answer = summary.value.answer;
      state.summary = summary.value.summary;
      state.receiver = typeof answer?.receiver === 'string' && answer.receiver ? answer.receiver : null;
      state.maxSpans = Number(answer?.store?.max_spans_per_trace);
      ctx.updateHeader(answer);
    }
    const changing = state.summary?.changing === true;
    const flipped = changing !== state.changing;
    state.changing = changing;
    if (trace.value.text !== state.text) render(trace.value);
    else if (flipped) {
      waterfall.setChanging(changing);
      const row = waterfall.selectedRow();
      if (state.details === 'span' && row) showSpan(row);
    }
    receiving.hidden = !changing;
    renderBanner();
    if (!changing) poller.stop();
  }

  const poller = ctx.poller(load, REFRESH_MS);
  load();

  function onKey(event) {
    switch (event.key) {
      case 'ArrowDown': case 'j': waterfall.move(1); return true;
      case 'ArrowUp': case 'k': waterfall.move(-1); return true;
      case 'ArrowLeft': waterfall.left(); return true;
      case 'ArrowRight': waterfall.right(); return true;
      case 'Home': waterfall.move(1, -1); return true;
      case 'End': waterfall.move(-1, -1); return true;
      case '[': waterfall.setAll(true); return true;
      case ']': waterfall.setAll(false); return true;
      case 'Enter': {
        const row = waterfall.selectedRow();
        if (state.details !== 'closed') closeDetails(); else if (row) showSpan(row);
        return true;
      }
      case 'Escape':
        if (state.details !== 'closed') closeDetails(); else ctx.backToList();
        return true;
      default: return false;
    }
  }

  return {
    onKey,
    unmount() {
      state.stopped = true;
      controller.abort();
      poller.stop();
      clearTimeout(copyTimer);
      state.release?.();
    },
  };
}
