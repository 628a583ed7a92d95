// Draws the waterfall: one row per span (and per missing parent), built once per
// render into a DocumentFragment; collapsing only toggles `hidden` on row ranges.
import { el, colorClass } from './dom.js';
import { formatDuration, formatOffset, statusClass } from './format.js';
import { anyValuePrimitive, attemptPhases, attrNumber, clockSkew, isError, isSpanId, isUninstrumented } from './model.js';

const INDENT_PX = 14;
const MAX_INDENT_LEVELS = 24;
const pct = (value, total) => `${Math.max(0, Math.min(100, (value / total) * 100))}%`;

export const SKEW_TITLE = "this span's clock disagrees with its caller's; times are shown as reported, nothing is adjusted";

/** A stable key for a row: the span id, or the missing parent's id for placeholders. */
export const rowKey = (node) => (node.placeholder ? `missing:${node.id}` : node.id || `#${node.index}`);


export class Waterfall {
  constructor(container, { onSelect, onToggle }) {
    this.container = container;
    this.onSelect = onSelect;
    this.onToggle = onToggle;
    this.rows = [];
    this.elements = [];
    this.collapsed = new Set();
    this.selected = -1;
    this.waiting = [];
    container.addEventListener('click', (event) => this.click(event));
    // A caret click must not move the focus onto the caret (Enter would then toggle it).
    container.addEventListener('mousedown', (event) => { if (event.target.closest('.caret')) event.preventDefault(); });
  }

  /** Builds every row. state: {changing, collapsed: Set of keys, selectedKey}. */
  render(model, state) {
    this.model = model;
    this.rows = model.rows;
    this.total = Math.max(model.duration, 1);
    this.collapsed = new Set();
    this.waiting = [];
    const fragment = document.createDocumentFragment();
    fragment.appendChild(this.head());
    const body = el('div', { class: 'waterfall-rows', attrs: { role: 'rowgroup' } });
    this.elements = this.rows.map((row, index) => body.appendChild(this.row(row, index, state.changing)));
    fragment.appendChild(body);
    this.container.replaceChildren(fragment);
    this.selected = -1;
    this.rows.forEach((row, index) => {
      if (row.hasChildren && state.collapsed?.has(rowKey(row.node))) this.setCollapsed(index, true);
    });
    const selected = state.selectedKey ? this.rows.findIndex((r) => rowKey(r.node) === state.selectedKey) : -1;
    if (selected >= 0) this.select(selected, { silent: true });
  }

  head() {
    const attempts = this.rows.some((r) => attemptPhases(r.node));
    const legend = attempts ? el('span', { class: 'legend', title: "the phases of the proxy's upstream attempts" },
      ...['connect', 'wait', 'transfer'].map((p) => el('span', { class: 'legend-item' },
        el('span', { class: `swatch phase-swatch ${p}`, attrs: { 'aria-hidden': 'true' } }), p === 'wait' ? 'waiting for first byte' : p))) : null;
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => el('span', {
      class: ['tick', f === 1 && 'tick-end', f === 0 && 'tick-start'], text: f === 0 ? '0' : formatDuration(this.model.duration * f),
    }));
    ticks.forEach((t, i) => { t.style.left = `${i * 25}%`; });
    return el('div', { class: 'waterfall-head', attrs: { role: 'row' } },
      el('div', { class: 'span-label head-label', attrs: { role: 'columnheader' } }, el('span', { text: 'span' }), legend),
      el('div', { class: 'span-timeline', attrs: { role: 'columnheader', 'aria-label': 'time' } }, el('div', { class: 'track ticks' }, ticks)));
  }

  row(row, index, changing) {
    const node = row.node;
    const classes = ['span-row'];
    const badges = [];
    const attrs = { role: 'row', 'aria-level': row.depth + 1, 'aria-selected': 'false', 'data-row': index };
    if (row.hasChildren) attrs['aria-expanded'] = 'true';
    let name;
    if (node.placeholder) {
      classes.push('placeholder');
      if (node.caller) classes.push('caller');
      if (isSpanId(node.id)) attrs['data-missing-span-id'] = node.id;
      name = node.caller ? "caller's span (not sent to hoptrace)" : `missing span ${node.id}`;
    } else {
      if (isSpanId(node.id)) attrs['data-span-id'] = node.id;
      attrs['data-service'] = node.service;
      name = node.name;
      this.badges(node, badges, changing, index);
      if (isError(node)) classes.push('error');
    }
    const label = el('div', { class: 'span-label', attrs: { role: 'gridcell' } },
      row.hasChildren
        ? el('button', { class: 'caret', type: 'button', tabIndex: -1, attrs: { 'aria-label': 'collapse' } })
        : el('span', { class: 'caret-space' }),
      node.placeholder ? el('span', { class: 'chip-dot placeholder-dot' }) : el('span', { class: ['chip-dot', colorClass(node.service)] }),
      el('span', { class: 'span-name', text: name, title: node.placeholder ? name : `${name}\n${node.service}` }),
      this.serviceHint(row), classes.includes('error') ? el('span', { class: 'error-mark', text: '!', title: node.status.message || 'error' }) : null,
      badges);
    label.style.paddingLeft = `${6 + Math.min(row.depth, MAX_INDENT_LEVELS) * INDENT_PX}px`;
    return el('div', { class: classes, attrs }, label,
      el('div', { class: 'span-timeline', attrs: { role: 'gridcell' } }, this.track(node)));
  }

  /** The service name, when it differs from the parent row's. */
  serviceHint(row) {
    if (row.node.placeholder) return null;
    const parent = row.parentRow >= 0 ? this.rows[row.parentRow].node : null;
    if (parent && !parent.placeholder && parent.service === row.node.service) return null;
    return el('span', { class: 'service-hint', text: row.node.service });
  }

  badges(node, badges, changing, index) {
    const status = attrNumber(node, 'http.response.status_code');
    if (status !== null) badges.push(el('span', { class: ['badge', 'http', statusClass(status)], text: String(status), title: 'HTTP status' }));
    const errorType = anyValuePrimitive(node.attrs.get('error.type'));
    if (typeof errorType === 'string' && errorType !== '' && !/^\d+$/.test(errorType)) {
      badges.push(el('span', { class: 'badge error-type', text: errorType.replaceAll('_', ' '), title: `error.type ${errorType}` }));
    }
    const resend = attrNumber(node, 'http.request.resend_count');
    if (resend && resend > 0) badges.push(el('span', { class: 'badge retry', text: `retry ${resend}`, title: `upstream attempt after ${resend} earlier one${resend === 1 ? '' : 's'}` }));
    if (isUninstrumented(node)) {
      const badge = el('span');
      this.setWaitingBadge(badge, changing);
      this.waiting.push(badge);
      badges.push(badge);
    }
    const skew = clockSkew(node);
    if (skew > 0) badges.push(el('span', { class: 'badge clock-skew', text: `clock skew ${formatOffset(skew)}`, title: SKEW_TITLE }));
  }

  setWaitingBadge(badge, changing) {
    badge.className = changing ? 'badge waiting' : 'badge not-instrumented';
    badge.textContent = changing ? "waiting for the upstream's spans" : 'not instrumented';
    badge.title = changing ? 'the trace is still receiving spans' : 'this upstream sent no spans to hoptrace';
  }

  /** Switches "waiting" badges to "not instrumented" (or back) without rebuilding. */
  setChanging(changing) {
    for (const badge of this.waiting) this.setWaitingBadge(badge, changing);
  }

  track(node) {
    const total = this.total;
    const bar = el('div', { class: ['bar', node.placeholder ? 'placeholder-bar' : colorClass(node.service), !node.placeholder && isError(node) && 'error-bar'] });
    bar.style.left = pct(node.start, total);
    bar.style.width = pct(node.end - node.start, total);
    bar.title = `${node.placeholder ? 'children of this span' : node.name}: ${formatDuration(node.duration)} at ${formatOffset(node.start)}`;
    const parts = [bar];
    const phases = node.placeholder ? null : attemptPhases(node);
    if (phases) {
      bar.classList.add('attempt');
      const span = Math.max(node.end - node.start, 1);
      for (const name of ['connect', 'wait', 'transfer']) {
        const phase = phases[name];
        if (!phase) continue;
        const segment = el('div', { class: ['phase', name] });
        segment.style.left = pct(phase.start - node.start, span);
        segment.style.width = pct(phase.end - phase.start, span);
        bar.appendChild(segment);
      }
    }
    if (!node.placeholder) {
      for (const event of node.events) {
        if (!Number.isFinite(event.time) || (phases && ['connection established', 'first response byte'].includes(event.name))) continue;
        const mark = el('span', { class: ['event-mark', event.name === 'exception' && 'exception'], title: `${event.name} at ${formatOffset(event.time - node.start)}` });
        mark.style.left = pct(event.time, total);
        parts.push(mark);
      }
    }
    const startPct = (node.start / total) * 100;
    const endPct = (node.end / total) * 100;
    const label = el('span', { class: 'bar-label', text: formatDuration(node.duration) });
    if (endPct <= 82) label.style.left = `calc(${endPct}% + 4px)`;
    else if (startPct >= 18) { label.style.right = `calc(${100 - startPct}% + 4px)`; label.classList.add('before'); }
    else {
      label.style.right = `calc(${100 - endPct}% + 4px)`;
      label.classList.add('inside');
      if (phases) label.classList.add('over-phases');
    }
    parts.push(label);
    return el('div', { class: 'track' }, parts);
  }

  click(event) {
    const rowEl = event.target.closest('.span-row');
    if (!rowEl || !this.container.contains(rowEl)) return;
    const index = Number(rowEl.getAttribute('data-row'));
    if (event.target.closest('.caret')) {
      this.toggle(index);
      return;
    }
    this.select(index);
  }

  select(index, { silent = false, scroll = false } = {}) {
    if (index < 0 || index >= this.rows.length) return;
    if (this.selected >= 0 && this.elements[this.selected]) {
      this.elements[this.selected].setAttribute('aria-selected', 'false');
    }
    this.selected = index;
    const rowEl = this.elements[index];
    rowEl.setAttribute('aria-selected', 'true');
    if (scroll) rowEl.scrollIntoView({ block: 'nearest' });
    if (!silent) this.onSelect(this.rows[index], index);
  }

  selectedRow() { return this.selected >= 0 ? this.rows[this.selected] : null; }

  /** Moves the selection to the next (+1) or previous (−1) visible row. */
  move(step, from = this.selected) {
    let index = from < 0 ? (step > 0 ? -1 : this.rows.length) : from;
    do index += step; while (index >= 0 && index < this.rows.length && this.elements[index].hidden);
    if (index >= 0 && index < this.rows.length) this.select(index, { scroll: true });
  }

  /** ←: collapse, or go to the parent. →: expand, or go to the first child. */
  left() {
    const row = this.selectedRow();
    if (!row) return;
    if (row.hasChildren && !this.collapsed.has(this.selected)) this.toggle(this.selected);
    else if (row.parentRow >= 0) this.select(row.parentRow, { scroll: true });
  }

  right() {
    const row = this.selectedRow();
    if (!row || !row.hasChildren) return;
    if (this.collapsed.has(this.selected)) this.toggle(this.selected);
    else this.select(this.selected + 1, { scroll: true });
  }

  toggle(index) {
    this.setCollapsed(index, !this.collapsed.has(index));
    this.onToggle?.();
  }

  setCollapsed(index, collapse) {
    const row = this.rows[index];
    if (!row.hasChildren) return;
    const rowEl = this.elements[index];
    if (collapse) this.collapsed.add(index); else this.collapsed.delete(index);
    rowEl.setAttribute('aria-expanded', String(!collapse));
    rowEl.querySelector('.caret').setAttribute('aria-label', collapse ? 'expand' : 'collapse');
    if (rowEl.hidden) return;
    if (collapse) {
      for (let j = index + 1; j < row.end; j++) this.elements[j].hidden = true;
      if (this.selected > index && this.selected < row.end) this.select(index);
    } else {
      for (let j = index + 1; j < row.end;) {
        this.elements[j].hidden = false;
        j = this.collapsed.has(j) ? this.rows[j].end : j + 1;
      }
    }
  }

  /** Collapses every row with children (only top-level rows stay visible) or expands all. */
  setAll(collapse) {
    this.collapsed = new Set();
    this.rows.forEach((row, index) => {
      const rowEl = this.elements[index];
      rowEl.hidden = collapse && row.depth > 0;
      if (!row.hasChildren) return;
      if (collapse) this.collapsed.add(index);
      rowEl.setAttribute('aria-expanded', String(!collapse));
      rowEl.querySelector('.caret').setAttribute('aria-label', collapse ? 'expand' : 'collapse');
    });
    if (collapse && this.selected >= 0 && this.rows[this.selected].depth > 0) {
      let top = this.selected;
      while (this.rows[top].parentRow >= 0) top = this.rows[top].parentRow;
      this.select(top);
    }
    this.onToggle?.();
  }

  /** Keys of the collapsed rows (to keep them collapsed across a re-render). */
  collapsedKeys() {
    return new Set([...this.collapsed].map((index) => rowKey(this.rows[index].node)));
  }
}
