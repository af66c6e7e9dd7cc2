// views/feedback.js - the two live regions of index.html: #announcer
// (polite: new cards, step changes) and #alerts (assertive: errors from
// the server, in words). In a room, #alerts sits at the foot of the sticky
// bar (dockAlerts), in its flow: an error pushes the page down instead of
// covering what the role works on (issue 12: on a phone a toast fixed at
// the bottom hid the client's « Vous écoutez »).

import { h } from '../dom.js';
import { t, errorText } from '../i18n.js';

const ERROR_MS = 9000;

// The #alerts element, held once found: it is moved in and out of the room.
let alertsEl = null;
function alertsRegion() {
    if (!alertsEl) alertsEl = document.getElementById('alerts');
    return alertsEl;
}

/**
 * Moves #alerts to the end of parent (the room's sticky bar), or back to
 * the body (null: fixed at the bottom of the window, as outside a room).
 * Leaves it alone when it is there already.
 */
export function dockAlerts(parent) {
    const region = alertsRegion();
    const target = parent || document.body;
    if (region && region.parentNode !== target) target.append(region);
}

export function announce(text) {
    const region = document.getElementById('announcer');
    if (!region) return;
    region.append(h('p', { text }));
    while (region.childNodes.length > 5) region.firstChild.remove();
}

export function showError(code) {
    const region = alertsRegion();
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

/**
 * An error about the state of the room (the contract is not confirmed, no
 * client yet...) is cleared when an event changes that state: the events
 * that may make it obsolete, by error code. Errors about one's own input
 * stay until closed or timed out.
 */
const OBSOLETE_ON = {
    contract_not_acked: ['contract', 'contract_ack', 'member_removed', 'role'],
    no_contract: ['contract'],
    no_problem: ['problem'],
    no_client: ['client'],
    wrong_step: ['step'],
    client_muted: ['step', 'client'],
    not_your_role: ['role', 'client', 'facilitator'],
    not_facilitator: ['facilitator'],
};

/** Called with each event the room applies: drops the errors it settles. */
export function settleErrors(eventType) {
    const region = alertsRegion();
    if (!region) return;
    for (const el of region.querySelectorAll('.toast')) {
        const on = OBSOLETE_ON[el.dataset.code];
        if (on && on.includes(eventType)) el.remove();
    }
}

export function clearErrors() {
    const region = alertsRegion();
    if (region) region.replaceChildren();
}
