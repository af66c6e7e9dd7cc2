// views/feedback.js - the two live regions of index.html: #announcer
// (polite: new cards, step changes) and #alerts (assertive: errors from
// the server, in words).

import { h } from '../dom.js';
import { t, errorText } from '../i18n.js';

const ERROR_MS = 9000;

export function announce(text) {
    const region = document.getElementById('announcer');
    if (!region) return;
    region.append(h('p', { text }));
    while (region.childNodes.length > 5) region.firstChild.remove();
}

export function showError(code) {
    const region = document.getElementById('alerts');
    if (!region) return;
    const text = errorText(code);
    for (const el of region.querySelectorAll('.toast')) if (el.dataset.code === code) el.remove();
    const toast = h('div', { class: 'toast', 'data-code': code },
        h('p', { class: 'toast-text', text }),
        h('button', { type: 'button', class: 'btn btn-small', text: t('dialog.close'), 'aria-label': t('dialog.close_message'),
            onclick: () => toast.remove() }));
    region.append(toast);
    setTimeout(() => toast.remove(), ERROR_MS);
}

export function clearErrors() {
    const region = document.getElementById('alerts');
    if (region) region.replaceChildren();
}
