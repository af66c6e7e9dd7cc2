// dom.js - the only way the page builds DOM: elements from data, text always
// through textContent (never innerHTML), and a keyed list reconciler so that
// updates keep nodes (and the focus, caret and drafts inside them) in place.

/**
 * Creates an element. attrs: `class` (string or array, falsy parts skipped),
 * `text` (textContent), `on<event>` (listener), boolean DOM properties
 * (`disabled`, `hidden`, `checked`, `open`), `value`, anything else as an
 * attribute (skipped when null/undefined/false). Children: nodes, strings
 * (as text), arrays, or null/false (skipped).
 */
export function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
        if (v === undefined || v === null) continue;
        if (k === 'class') {
            const cls = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
            if (cls) el.className = cls;
        } else if (k === 'text') {
            el.textContent = String(v);
        } else if (k.startsWith('on') && typeof v === 'function') {
            el.addEventListener(k.slice(2), v);
        } else if (k === 'disabled' || k === 'hidden' || k === 'checked' || k === 'open'
                   || k === 'required' || k === 'selected' || k === 'multiple') {
            el[k] = Boolean(v);
        } else if (k === 'value') {
            el.value = v;
        } else if (v !== false) {
            el.setAttribute(k, v === true ? '' : String(v));
        }
    }
    append(el, children);
    return el;
}

function append(el, children) {
    for (const c of children) {
        if (c === null || c === undefined || c === false) continue;
        if (Array.isArray(c)) append(el, c);
        else if (c instanceof Node) el.appendChild(c);
        else el.appendChild(document.createTextNode(String(c)));
    }
}

/** Replaces all children of el. */
export function fill(el, ...children) {
    el.replaceChildren();
    append(el, children);
    return el;
}

/** Sets textContent only when it changed (keeps screen readers quiet). */
export function setText(el, text) {
    const s = text === null || text === undefined ? '' : String(text);
    if (el.textContent !== s) el.textContent = s;
}

/** Adds or removes a class. */
export function toggle(el, cls, on) {
    el.classList.toggle(cls, Boolean(on));
}

const keyed = new WeakMap();

/**
 * Keyed list rendering. Keeps one node per key in `parent`, in the order of
 * `items`: create(item) builds a node for a new key, update(node, item)
 * refreshes every node (new or old). Nodes whose key disappeared are
 * removed. Returns the items that got a new node.
 */
export function reconcile(parent, items, keyOf, create, update) {
    let map = keyed.get(parent);
    if (!map) { map = new Map(); keyed.set(parent, map); }
    const added = [];
    const next = new Map();
    let cursor = parent.firstChild;
    for (const item of items) {
        const key = keyOf(item);
        let node = map.get(key);
        if (!node) { node = create(item); added.push(item); }
        next.set(key, node);
        if (update) update(node, item);
        if (node !== cursor) parent.insertBefore(node, cursor);
        else cursor = cursor.nextSibling;
    }
    for (const [key, node] of map) if (!next.has(key)) node.remove();
    keyed.set(parent, next);
    return added;
}

/** A stable id for label/aria wiring. */
let uid = 0;
export function newId(prefix = 'el') {
    uid += 1;
    return `${prefix}-${uid}`;
}
