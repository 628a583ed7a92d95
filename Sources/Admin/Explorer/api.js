// Fetch wrappers for the admin listener's JSON API. Every request asks for JSON; a
// non-200 answer becomes an ApiError carrying the server's text as its message.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

const MAX_MESSAGE = 600;

function shorten(text) {
  const clean = String(text).trim();
  return clean.length > MAX_MESSAGE ? `${clean.slice(0, MAX_MESSAGE)}…` : clean;
}

/** GET a path; resolves to {json, text}. Throws ApiError (status 0 when unreachable). */
export async function getJSON(path, signal) {
  let response;
  try {
    response = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store', signal });
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    throw new ApiError(0, "cannot reach hoptrace's admin listener (is it still running?)");
  }
  const text = await response.text();
  if (!response.ok) {
    throw new ApiError(response.status, shorten(text) || `HTTP ${response.status} ${response.statusText}`);
  }
  try {
    return { json: JSON.parse(text), text };
  } catch {
    throw new ApiError(response.status, `the answer to ${path} is not JSON: ${shorten(text.slice(0, 120))}`);
  }
}

/** The list filters the API and the page URL share, in a stable order. */
export const FILTER_NAMES = ['service', 'route', 'status', 'error', 'retry', 'min_ms', 'max_ms', 'attr', 'trace_id', 'limit'];

/** Keeps only the known, non-empty filters of a URLSearchParams. */
export function cleanFilters(params) {
  const out = new URLSearchParams();
  for (const name of FILTER_NAMES) {
    const value = params.get(name);
    if (value !== null && value !== '') out.set(name, value);
  }
  return out;
}

/** A query string with every value percent-encoded by encodeURIComponent (a space is %20, never +). */
export function queryString(params) {
  return [...params].map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');
}

/** GET /traces?filters[&since_version=N] → the list answer (or {unchanged: true}). */
export function listTraces(filters, sinceVersion, signal) {
  const params = cleanFilters(filters);
  if (Number.isInteger(sinceVersion)) params.set('since_version', String(sinceVersion));
  const query = queryString(params);
  return getJSON(query ? `/traces?${query}` : '/traces', signal).then((r) => r.json);
}

/** GET /traces/<id> → {json, text}: the trace as OTLP/JSON and the raw text. */
export function getTrace(traceId, signal) {
  return getJSON(`/traces/${encodeURIComponent(traceId)}`, signal);
}

/** The list API's summary of one trace (changing, rejected_spans, receiver, store). */
export async function getTraceSummary(traceId, signal) {
  const query = queryString(new URLSearchParams({ trace_id: traceId, limit: '1' }));
  const answer = (await getJSON(`/traces?${query}`, signal)).json;
  const summary = Array.isArray(answer?.traces) ? answer.traces.find((t) => t?.trace_id === traceId) : undefined;
  return { answer, summary: summary ?? null };
}
