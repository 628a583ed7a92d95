// The details panel's contents: one span (or placeholder), or the raw OTLP/JSON.
import { el, serviceChip } from './dom.js';
import { formatDuration, formatOffset, isoTime } from './format.js';
import {
  KIND_NAMES, STATUS_NAMES, attemptPhases, clockSkew, isTraceId, isUninstrumented, sortedAttributes,
} from './model.js';
import { SKEW_TITLE } from './waterfall.js';

const field = (name, ...value) => [el('dt', { text: name }), el('dd', {}, ...value)];
const code = (text) => el('code', { class: 'id', text: text || '—' });
const section = (title, ...content) => el('section', { class: 'details-section' }, el('h3', { text: title }), ...content);

/** A dotted key with line-break opportunities after its dots. */
const breakable = (key) => key.split('.').flatMap((part, i, all) => (i < all.length - 1 ? [`${part}.`, el('wbr')] : [part]));

/** An attributes table, sorted by key; values rendered by type. */
export function attributeTable(attributes, empty = 'none') {
  const rows = sortedAttributes(attributes);
  if (!rows.length) return el('p', { class: 'muted', text: empty });
  return el('table', { class: 'attributes' }, el('tbody', {}, rows.map((a) => el('tr', {},
    el('th', { attrs: { scope: 'row' } }, breakable(a.key)),
    el('td', { class: `value type-${a.type}`, title: a.type }, a.text === '' ? el('span', { class: 'muted', text: '(empty)' }) : a.text)))));
}

/** Receiver-aware advice for an upstream that sent no spans. */
export function instrumentAdvice(receiver) {
  if (receiver) {
    return el('p', { class: 'note' }, 'This upstream sent no spans. Set ',
      el('code', { class: 'selectable', text: `OTEL_EXPORTER_OTLP_ENDPOINT=http://${receiver}` }),
      ' (and ', el('code', { text: 'OTEL_SERVICE_NAME' }), ') in that service to see inside it.');
  }
  return el('p', { class: 'note' }, "This upstream sent no spans. hoptrace's OTLP receiver is off: enable ",
    el('code', { text: 'receiver:' }), " in hoptrace's configuration, then point the service's ",
    el('code', { text: 'OTEL_EXPORTER_OTLP_ENDPOINT' }), ' at it to see inside it.');
}

function placeholderDetails(node) {
  const text = node.caller
    ? "The request reached hoptrace with a traceparent header naming this span as its parent: the caller's own span. The caller did not send its spans to hoptrace, which is expected when it exports them elsewhere or not at all."
    : 'Spans below name this span as their parent, but it never reached hoptrace. It may still be in a batch on its way, or its service may export somewhere else.';
  return [
    el('p', { class: 'note', text }),
    el('dl', { class: 'fields' },
      field('span id', code(node.id)),
      field('children', String(node.children.length)),
      field('children from', formatOffset(node.start)),
      field('children span', formatDuration(node.duration))),
  ];
}

function phaseList(node) {
  const phases = attemptPhases(node);
  if (!phases) return null;
  const length = (p) => (p ? formatDuration(p.end - p.start) : '—');
  let connect = length(phases.connect);
  if (phases.reused) connect = 'reused a pooled connection';
  else if (phases.connect?.unfinished) connect = `${connect} (no connection made)`;
  return section('Upstream attempt', el('dl', { class: 'fields phases' },
    field('connect', el('span', { class: 'swatch phase-swatch connect' }), connect),
    field('waiting for first byte', el('span', { class: 'swatch phase-swatch wait' }), phases.wait?.unfinished ? `${length(phases.wait)} (no response)` : length(phases.wait)),
    field('transfer', el('span', { class: 'swatch phase-swatch transfer' }), length(phases.transfer))));
}

function events(node) {
  if (!node.events.length) return null;
  return section(`Events (${node.events.length})`, el('ol', { class: 'events' }, node.events.map((e) => el('li', {},
    el('div', { class: 'event-head' }, el('span', { class: 'event-name', text: e.name || '(unnamed)' }),
      el('span', { class: 'num muted', text: formatOffset(e.time - node.start), title: isoTime(e.timeNs) })),
    e.attributes.length ? attributeTable(e.attributes) : null))));
}

function links(node) {
  if (!node.links.length) return null;
  return section(`Links (${node.links.length})`, el('ol', { class: 'links' }, node.links.map((l) => el('li', {},
    el('div', {}, 'trace ', isTraceId(l.traceId)
      ? el('a', { class: 'id', text: l.traceId, attrs: { href: `/traces/${l.traceId}`, 'data-internal': 'true' } })
      : code(l.traceId)),
    el('div', {}, 'span ', code(l.spanId)),
    l.traceState ? el('div', {}, 'trace state ', code(l.traceState)) : null,
    l.attributes.length ? attributeTable(l.attributes) : null))));
}

/** The details of one row. context: {changing, receiver}. */
export function spanDetails(node, context) {
  if (node.placeholder) {
    return [el('h2', { class: 'details-title', text: node.caller ? "caller's span" : 'missing span' }), ...placeholderDetails(node)];
  }
  const skew = clockSkew(node);
  const statusWord = STATUS_NAMES[node.status.code];
  const dropped = Object.entries(node.dropped).filter(([, n]) => n > 0).map(([what, n]) => `${n} ${what}`);
  return [
    el('h2', { class: 'details-title', text: node.name }),
    el('dl', { class: 'fields' },
      field('service', serviceChip(node.service)),
      field('kind', KIND_NAMES[node.kind]),
      field('status', el('span', { class: `status-word status-${statusWord}`, text: statusWord }),
        node.status.message ? el('span', { class: 'status-message', text: ` ${node.status.message}` }) : null),
      field('start', el('span', { class: 'num', text: formatOffset(node.start), title: isoTime(node.startNs) }),
        el('span', { class: 'muted', text: " from the trace's start" })),
      field('duration', el('span', { class: 'num', text: formatDuration(node.duration) })),
      field('span id', code(node.id)),
      field('parent id', code(node.parentId)),
      node.traceState ? field('trace state', code(node.traceState)) : null,
      node.scope.name ? field('scope', `${node.scope.name}${node.scope.version ? ` ${node.scope.version}` : ''}`) : null,
      dropped.length ? field('dropped', dropped.join(', ')) : null),
    skew > 0 ? el('p', { class: 'note warn' }, el('strong', { text: `clock skew ${formatOffset(skew)}: ` }), SKEW_TITLE, '.') : null,
    isUninstrumented(node) ? (context.changing
      ? el('p', { class: 'note muted', text: "Waiting for the upstream's spans: backends send theirs in batches, seconds later." })
      : instrumentAdvice(context.receiver)) : null,
    phaseList(node),
    section(`Attributes (${node.attributes.length})`, attributeTable(node.attributes)),
    events(node),
    links(node),
    section('Resource', attributeTable(node.resource.attributes)),
  ];
}

/** The raw OTLP/JSON, pretty-printed, with a download link to a Blob of the server's bytes. */
export function rawDetails(traceId, text) {
  let pretty = text;
  try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch { /* keep the raw text */ }
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const download = el('a', { class: 'button-link', text: 'download', attrs: { href: url, download: `trace-${traceId}.json` } });
  return {
    nodes: [el('h2', { class: 'details-title', text: 'OTLP/JSON' }),
      el('p', { class: 'muted' }, `${text.length.toLocaleString('en-US')} bytes · `, download),
      el('pre', { class: 'raw-json', text: pretty })],
    release: () => URL.revokeObjectURL(url),
  };
}
