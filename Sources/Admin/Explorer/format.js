// Formatting of durations, sizes and times. Pure functions, no DOM.

const UNITS = [
  { name: 'µs', ns: 1e3 },
  { name: 'ms', ns: 1e6 },
  { name: 's', ns: 1e9 },
];

/** A duration in nanoseconds as µs, ms or s with 3 significant digits ("12.3 ms"). */
export function formatDuration(ns) {
  if (typeof ns === 'bigint') ns = Number(ns);
  if (!Number.isFinite(ns)) return '—';
  const sign = ns < 0 ? '−' : '';
  ns = Math.abs(ns);
  if (ns === 0) return '0 µs';
  for (let i = 0; i < UNITS.length; i++) {
    const unit = UNITS[i];
    const value = ns / unit.ns;
    const rounded = Number(value.toPrecision(3));
    if (rounded < 1000 || i === UNITS.length - 1) {
      const text = rounded >= 1000 ? String(Math.round(rounded)) : rounded.toPrecision(3);
      return `${sign}${text} ${unit.name}`;
    }
  }
  return '—';
}

/** A duration given in milliseconds (the list API's unit). */
export function formatMillis(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—';
  return formatDuration(ms * 1e6);
}

/** An offset from a start, always signed: "+1.23 ms". */
export function formatOffset(ns) {
  if (!Number.isFinite(ns)) return '—';
  return ns < 0 ? formatDuration(ns) : `+${formatDuration(ns)}`;
}

/** Bytes in binary units: "2.1 MiB", "64 MiB", "512 B". */
export function formatBytes(bytes) {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes) || bytes < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) { value /= 1024; i++; }
  if (i === 0) return `${bytes} B`;
  const text = Number.isInteger(value) || value >= 100 ? String(Math.round(value)) : value.toFixed(1);
  return `${text} ${units[i]}`;
}

/** Status class of an HTTP status code: "s2xx" … "s5xx" ("sxxx" when out of range). */
export const statusClass = (code) => (Number.isInteger(code) && code >= 100 && code < 600 ? `s${Math.floor(code / 100)}xx` : 'sxxx');

/** A count with its noun, pluralised the simple English way. */
export function plural(count, noun, pluralNoun = `${noun}s`) {
  return `${count} ${count === 1 ? noun : pluralNoun}`;
}

/** Nanoseconds since the epoch (BigInt, number or decimal string) as a BigInt, or null. */
export function toNanos(value) {
  try {
    if (typeof value === 'bigint') return value;
    if (typeof value === 'number' && Number.isFinite(value)) return BigInt(Math.round(value));
    if (typeof value === 'string' && /^\d{1,30}$/.test(value)) return BigInt(value);
  } catch { /* fall through */ }
  return null;
}

/** ISO 8601 UTC time with all nine fraction digits: "2025-11-30T02:40:00.123456789Z". */
export function isoTime(nanos) {
  const ns = toNanos(nanos);
  if (ns === null) return '';
  const ms = Number(ns / 1000000n);
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return '';
  const fraction = String(ns % 1000000000n).padStart(9, '0');
  return date.toISOString().replace(/\.\d{3}Z$/, `.${fraction}Z`);
}

const pad = (n, width = 2) => String(n).padStart(width, '0');

/** Local wall-clock time with milliseconds: "2025-11-30 03:40:00.123". */
export function localTime(nanos) {
  const ns = toNanos(nanos);
  if (ns === null) return '—';
  const date = new Date(Number(ns / 1000000n));
  if (Number.isNaN(date.getTime())) return '—';
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/** How long ago a time (milliseconds since the epoch) was: "12 s ago", "3 min ago". */
export function relativeTime(ms, now = Date.now()) {
  if (!Number.isFinite(ms)) return '—';
  const seconds = Math.round((now - ms) / 1000);
  if (seconds < -1) return `in ${formatAge(-seconds)}`;
  if (seconds < 1) return 'just now';
  return `${formatAge(seconds)} ago`;
}

function formatAge(seconds) {
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h`;
  return `${Math.floor(hours / 24)} d`;
}
