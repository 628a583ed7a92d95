// Tiny DOM helpers. Text always goes in through textContent, never through HTML parsing.
import { assignServiceColors } from './model.js';

const PROPERTIES = new Set(['id', 'title', 'type', 'value', 'checked', 'disabled', 'hidden', 'tabIndex', 'htmlFor']);

/**
 * el('span', {class: 'badge', text: 'retry 1', title: '…'}, child, 'text', …)
 * Known keys: class, text, title, id, type, value, checked, disabled, hidden, tabIndex,
 * htmlFor, attrs (an object of attributes for values this code chooses: role, aria-*,
 * data-* holding validated ids, href built from validated ids).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'attrs') {
      for (const [name, v] of Object.entries(value)) {
        if (v !== undefined && v !== null && v !== false) node.setAttribute(name, String(v));
      }
    } else if (PROPERTIES.has(key)) node[key] = value;
    else throw new Error(`el: unknown property ${key}`);
  }
  append(node, children);
  return node;
}

/** Appends children: nodes, strings (as text) and arrays of them; skips null and false. */
export function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
  return node;
}

/** Replaces all children of node. */
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

export const $ = (selector, root = document) => root.querySelector(selector);

/** True when a key press happens while the user is typing into a field. */
export function isTyping(event) {
  const target = event.target;
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const type = (target.getAttribute('type') || 'text').toLowerCase();
    return !['checkbox', 'radio', 'button', 'submit', 'reset'].includes(type);
  }
  return false;
}

/** A keyboard shortcut event without Ctrl/Alt/Meta (Shift allowed). */
export function plainKey(event) {
  return !event.ctrlKey && !event.altKey && !event.metaKey;
}

/** Selects the text of a node (the fallback when the clipboard API is missing). */
export function selectText(node) {
  const range = document.createRange();
  range.selectNodeContents(node);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

/** Copies text: clipboard API when available, else selection + execCommand. Resolves to 'copied' or 'selected'. */
export async function copyText(text, node) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return 'copied';
    } catch { /* fall back below */ }
  }
  if (node) {
    selectText(node);
    try {
      if (document.execCommand('copy')) return 'copied';
    } catch { /* selection stays for Ctrl+C */ }
  }
  return 'selected';
}

// The tab's service → colour mapping, shared by the list's chips and the waterfall, kept
// in sessionStorage so a reload shows the same colours.
const COLORS_KEY = 'hoptrace.serviceColors';
let serviceColors = new Map();
try {
  const saved = JSON.parse(sessionStorage.getItem(COLORS_KEY) || '[]');
  if (Array.isArray(saved)) serviceColors = new Map(saved.filter((e) => Array.isArray(e) && typeof e[0] === 'string' && Number.isInteger(e[1])));
} catch { /* start afresh */ }

/** Registers services (in the order given; new ones take the next free colour). */
export function registerServices(names) {
  const before = serviceColors.size;
  serviceColors = assignServiceColors(names, serviceColors);
  if (serviceColors.size !== before) {
    try { sessionStorage.setItem(COLORS_KEY, JSON.stringify([...serviceColors])); } catch { /* storage full or off */ }
  }
  return serviceColors;
}

export const colorClass = (service) => `svc-${serviceColors.get(service) ?? 0}`;

/** A small coloured chip naming a service. */
export function serviceChip(service, extraClass) {
  return el('span', { class: ['chip', colorClass(service), extraClass], title: service },
    el('span', { class: 'chip-dot', attrs: { 'aria-hidden': 'true' } }), el('span', { class: 'chip-name', text: service }));
}
