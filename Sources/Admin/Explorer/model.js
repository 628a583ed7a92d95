// Pure functions: OTLP/JSON → span tree, placeholders, clock skew, attempt phases,
// "not instrumented" detection, service colours. No DOM here, so it can be unit-tested.
import { toNanos } from './format.js';

export const KIND_NAMES = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
export const STATUS_NAMES = ['unset', 'ok', 'error'];
export const PALETTE_SIZE = 10;

export const isTraceId = (s) => typeof s === 'string' && /^[0-9a-f]{32}$/.test(s);
export const isSpanId = (s) => typeof s === 'string' && /^[0-9a-f]{16}$/.test(s);

const list = (v) => (Array.isArray(v) ? v : []);
const lowerId = (v) => (typeof v === 'string' ? v.trim().toLowerCase() : '');

/** The type of an OTLP AnyValue: string, int, bool, double, array, kvlist, bytes or empty. */
export function anyValueType(v) {
  if (!v || typeof v !== 'object') return 'empty';
  for (const [field, type] of [['stringValue', 'string'], ['intValue', 'int'], ['boolValue', 'bool'],
    ['doubleValue', 'double'], ['arrayValue', 'array'], ['kvlistValue', 'kvlist'], ['bytesValue', 'bytes']]) {
    if (field in v) return type;
  }
  return 'empty';
}

/** An AnyValue as readable text. Strings inside arrays and lists are quoted. */
export function anyValueText(v, nested = false, depth = 0) {
  if (depth > 8) return '…';
  const type = anyValueType(v);
  switch (type) {
    case 'string': return nested ? JSON.stringify(String(v.stringValue)) : String(v.stringValue);
    case 'int': return String(v.intValue);
    case 'bool': return String(v.boolValue);
    case 'double': return String(v.doubleValue);
    case 'array': return `[${list(v.arrayValue?.values).map((x) => anyValueText(x, true, depth + 1)).join(', ')}]`;
    case 'kvlist': return `{${list(v.kvlistValue?.values).map((kv) => `${String(kv?.key ?? '')}: ${anyValueText(kv?.value, true, depth + 1)}`).join(', ')}}`;
    case 'bytes': return bytesText(String(v.bytesValue ?? ''));
    default: return nested ? 'null' : '';
  }
}

/** base64 bytes as hex ("0x0a1b…", up to 64 bytes) or as base64 with its length. */
export function bytesText(base64) {
  let binary;
  try { binary = atob(base64); } catch { return `base64 ${base64}`; }
  if (binary.length > 64) return `${binary.length} bytes, base64 ${base64}`;
  let hex = '';
  for (let i = 0; i < binary.length; i++) hex += binary.charCodeAt(i).toString(16).padStart(2, '0');
  return binary.length ? `0x${hex}` : '(0 bytes)';
}

/** An AnyValue as a JS primitive (string, number, boolean) or null. */
export function anyValuePrimitive(v) {
  switch (anyValueType(v)) {
    case 'string': return String(v.stringValue);
    case 'int': { const n = Number(v.intValue); return Number.isFinite(n) ? n : null; }
    case 'double': { const n = Number(v.doubleValue); return Number.isNaN(n) && v.doubleValue !== 'NaN' ? null : n; }
    case 'bool': return v.boolValue === true || v.boolValue === 'true';
    default: return null;
  }
}

/** key → AnyValue (the first occurrence of a key wins). */
export function attributeMap(attributes) {
  const map = new Map();
  for (const kv of list(attributes)) {
    const key = typeof kv?.key === 'string' ? kv.key : '';
    if (!map.has(key)) map.set(key, kv?.value);
  }
  return map;
}

/** Attributes sorted by key, each as {key, type, text}. */
export function sortedAttributes(attributes) {
  return list(attributes)
    .map((kv) => ({ key: String(kv?.key ?? ''), type: anyValueType(kv?.value), text: anyValueText(kv?.value) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function resourceOf(rs, index) {
  const attributes = list(rs?.resource?.attributes);
  const map = attributeMap(attributes);
  const service = anyValuePrimitive(map.get('service.name'));
  const key = JSON.stringify(sortedAttributes(attributes).map((a) => [a.key, a.text]));
  return {
    index, key, attributes,
    service: service === null || service === '' ? 'unknown service' : String(service),
    isProxy: anyValuePrimitive(map.get('telemetry.sdk.name')) === 'hoptrace',
  };
}

function makeSpan(raw, resource, scope, index) {
  const startNs = toNanos(raw?.startTimeUnixNano);
  const endNs = toNanos(raw?.endTimeUnixNano);
  const kind = Number.isInteger(raw?.kind) && raw.kind >= 0 && raw.kind <= 5 ? raw.kind : 0;
  const code = [0, 1, 2].includes(raw?.status?.code) ? raw.status.code : 0;
  const attributes = list(raw?.attributes);
  return {
    index, id: lowerId(raw?.spanId), parentId: lowerId(raw?.parentSpanId), traceId: lowerId(raw?.traceId),
    name: typeof raw?.name === 'string' && raw.name !== '' ? raw.name : '(unnamed span)',
    kind, startNs: startNs ?? endNs, endNs: endNs ?? startNs,
    attributes, attrs: attributeMap(attributes),
    events: list(raw?.events).map((e) => ({
      name: typeof e?.name === 'string' ? e.name : '', timeNs: toNanos(e?.timeUnixNano),
      attributes: list(e?.attributes), attrs: attributeMap(e?.attributes),
    })),
    links: list(raw?.links).map((l) => ({
      traceId: lowerId(l?.traceId), spanId: lowerId(l?.spanId),
      traceState: typeof l?.traceState === 'string' ? l.traceState : '', attributes: list(l?.attributes),
    })),
    status: { code, message: typeof raw?.status?.message === 'string' ? raw.status.message : '' },
    traceState: typeof raw?.traceState === 'string' ? raw.traceState : '',
    dropped: {
      attributes: Number(raw?.droppedAttributesCount) || 0,
      events: Number(raw?.droppedEventsCount) || 0,
      links: Number(raw?.droppedLinksCount) || 0,
    },
    resource, service: resource.service, isProxy: resource.isProxy,
    scope: { name: String(scope?.name ?? ''), version: String(scope?.version ?? '') },
    children: [], parent: null,
  };
}

/** Two spans come from different services (or different resources). */
export const foreign = (a, b) => a.service !== b.service || a.resource.key !== b.resource.key;

/** Is this span one of the proxy's upstream attempts (its CLIENT spans)? */
export const isAttempt = (span) => !!span && !span.placeholder && span.isProxy && span.kind === 3;

/** A span is an error: status code 2, or an event named "exception". */
export const isError = (span) => span.status.code === 2 || span.events.some((e) => e.name === 'exception');

/** The numeric value of a span attribute, or null. */
export function attrNumber(span, key) {
  const value = anyValuePrimitive(span.attrs.get(key));
  return typeof value === 'number' ? value : null;
}

/**
 * The three phases of a proxy attempt, in trace-relative nanoseconds:
 * connect (start → connection established; absent when the connection was reused;
 * the whole span when no connection was made), wait (→ first response byte),
 * transfer (→ end). Null for spans that are not attempts.
 */
export function attemptPhases(span) {
  if (!isAttempt(span)) return null;
  const clamp = (t) => Math.min(Math.max(t, span.start), span.end);
  const connected = span.events.find((e) => e.name === 'connection established' && Number.isFinite(e.time));
  const firstByte = span.events.find((e) => e.name === 'first response byte' && Number.isFinite(e.time));
  const reused = !!connected && anyValuePrimitive(connected.attrs.get('hoptrace.connection.reused')) === true;
  const connectEnd = connected ? clamp(connected.time) : null;
  const byte = firstByte ? clamp(firstByte.time) : null;
  const phases = { reused, connect: null, wait: null, transfer: null };
  if (connectEnd === null && byte === null) {
    phases.connect = { start: span.start, end: span.end, unfinished: true };
    return phases;
  }
  if (!reused && connectEnd !== null) phases.connect = { start: span.start, end: connectEnd };
  const waitStart = reused ? span.start : connectEnd ?? span.start;
  phases.wait = { start: waitStart, end: byte ?? span.end, unfinished: byte === null };
  if (byte !== null) phases.transfer = { start: byte, end: span.end };
  return phases;
}

/** An attempt that got a response but has no child span from any other service. */
export function isUninstrumented(span) {
  if (!isAttempt(span) || !span.attrs.has('http.response.status_code')) return false;
  return !span.children.some((child) => foreign(child, span));
}

/**
 * Clock skew: the span's parent is a CLIENT span of another service, and the span
 * starts before it or ends after it. Returns the larger overhang in ns, or 0.
 */
export function clockSkew(span) {
  const parent = span.parent;
  if (!parent || parent.placeholder || parent.kind !== 3 || !foreign(parent, span)) return 0;
  const over = Math.max(parent.start - span.start, span.end - parent.end, 0);
  return over;
}

const byStart = (a, b) => a.start - b.start || a.index - b.index;

/**
 * Builds the trace model from OTLP/JSON:
 * {spans, rows, services, start (BigInt ns), duration (ns), traceId, rootName}.
 * rows are spans and placeholders in depth-first order, children by start time, each
 * with depth, parentRow, end (index after its subtree) and hasChildren.
 */
export function buildTrace(otlp) {
  const spans = [];
  list(otlp?.resourceSpans).forEach((rs, ri) => {
    const resource = resourceOf(rs, ri);
    for (const ss of list(rs?.scopeSpans ?? rs?.instrumentationLibrarySpans)) {
      for (const raw of list(ss?.spans)) spans.push(makeSpan(raw, resource, ss?.scope, spans.length));
    }
  });
  let origin = null;
  let last = null;
  for (const s of spans) {
    if (s.startNs !== null && (origin === null || s.startNs < origin)) origin = s.startNs;
    if (s.endNs !== null && (last === null || s.endNs > last)) last = s.endNs;
  }
  if (origin === null) origin = 0n;
  if (last === null || last < origin) last = origin;
  const rel = (ns) => (ns === null ? NaN : Number(ns - origin));
  for (const s of spans) {
    s.start = s.startNs === null ? 0 : rel(s.startNs);
    s.end = s.endNs === null ? s.start : Math.max(rel(s.endNs), s.start);
    s.duration = s.endNs !== null && s.startNs !== null ? Number(s.endNs - s.startNs) : 0;
    for (const e of s.events) e.time = rel(e.timeNs);
  }

  const byId = new Map();
  for (const s of spans) if (s.id && !byId.has(s.id)) byId.set(s.id, s);
  const tops = [];
  const missing = new Map();
  for (const s of spans) {
    const hasParent = s.parentId !== '' && s.parentId !== s.id && !/^0+$/.test(s.parentId);
    const parent = hasParent ? byId.get(s.parentId) : undefined;
    if (parent && parent !== s) { parent.children.push(s); s.parent = parent; }
    else if (hasParent) {
      if (!missing.has(s.parentId)) missing.set(s.parentId, []);
      missing.get(s.parentId).push(s);
    } else tops.push(s);
  }
  for (const [id, children] of missing) {
    const placeholder = {
      placeholder: true, id, children, parent: null, index: -1,
      caller: children.some((c) => c.isProxy && c.kind === 2),
      start: Math.min(...children.map((c) => c.start)), end: Math.max(...children.map((c) => c.end)),
    };
    placeholder.duration = placeholder.end - placeholder.start;
    for (const c of children) c.parent = placeholder;
    tops.push(placeholder);
  }
  for (const s of spans) s.children.sort(byStart);
  for (const p of tops) if (p.placeholder) p.children.sort(byStart);
  tops.sort(byStart);

  const rows = [];
  const visited = new Set();
  const walk = (top) => {
    const stack = [{ node: top, depth: 0, parentRow: -1 }];
    while (stack.length) {
      const { node, depth, parentRow } = stack.pop();
      if (node.closeRow !== undefined) { rows[node.closeRow].end = rows.length; continue; }
      if (visited.has(node)) continue;
      visited.add(node);
      const row = rows.length;
      rows.push({ node, depth, parentRow, end: row + 1, hasChildren: false });
      stack.push({ node: { closeRow: row } });
      const kids = node.children.filter((c) => !visited.has(c));
      rows[row].hasChildren = kids.length > 0;
      for (let i = kids.length - 1; i >= 0; i--) stack.push({ node: kids[i], depth: depth + 1, parentRow: row });
    }
  };
  for (const top of tops) walk(top);
  // Spans in a parent cycle are reachable from no top: show them at top level.
  for (const s of spans) if (!visited.has(s)) walk(s);

  const services = [];
  for (const r of rows) if (!r.node.placeholder && !services.includes(r.node.service)) services.push(r.node.service);
  const firstSpan = rows.find((r) => !r.node.placeholder);
  return {
    spans, rows, services, start: origin, duration: Number(last - origin),
    traceId: spans.find((s) => s.traceId)?.traceId ?? '',
    rootName: firstSpan ? firstSpan.node.name : '',
  };
}

/**
 * Service → palette index, in the order services appear: each new name takes the
 * lowest free index (so the first services get the most distinct colours); earlier
 * assignments are kept. Past PALETTE_SIZE services, colours repeat.
 */
export function assignServiceColors(names, previous = new Map()) {
  const map = new Map(previous);
  const taken = new Set(map.values());
  for (const name of names) {
    if (map.has(name)) continue;
    let index = 0;
    while (taken.has(index) && index < PALETTE_SIZE) index++;
    if (index >= PALETTE_SIZE) index = map.size % PALETTE_SIZE;
    map.set(name, index);
    taken.add(index);
  }
  return map;
}
