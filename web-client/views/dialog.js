// views/dialog.js - modal questions built on <dialog> (focus is trapped and
// Escape cancels, natively). Never window.confirm: it blocks the socket.

import { h, newId } from '../dom.js';
import { t } from '../i18n.js';

function open(dialog, firstFocus) {
    document.body.appendChild(dialog);
    dialog.showModal();
    if (firstFocus) firstFocus.focus();
}

/** Resolves true when the person confirms. */
export function confirmDialog({ title, text, ok, danger = false }) {
    return new Promise((resolve) => {
        const titleId = newId('dlg');
        const cancelBtn = h('button', { type: 'button', class: 'btn', text: t('dialog.cancel') });
        const okBtn = h('button', { type: 'button', class: ['btn', danger ? 'btn-danger' : 'btn-primary'], text: ok || t('dialog.ok') });
        const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId },
            h('h2', { id: titleId, text: title }),
            text ? h('p', { text }) : null,
            h('div', { class: 'dialog-actions' }, cancelBtn, okBtn));
        let answer = false;
        cancelBtn.addEventListener('click', () => dialog.close());
        okBtn.addEventListener('click', () => { answer = true; dialog.close(); });
        dialog.addEventListener('close', () => { dialog.remove(); resolve(answer); });
        open(dialog, cancelBtn);
    });
}

/** Asks for a number of minutes; resolves a number or null. */
export function minutesDialog({ title, label, value, min = 0, max = 480 }) {
    return new Promise((resolve) => {
        const titleId = newId('dlg');
        const inputId = newId('min');
        const input = h('input', { id: inputId, type: 'number', inputmode: 'numeric', min, max, step: 1, value: String(value), required: true });
        const form = h('form', { method: 'dialog' },
            h('label', { for: inputId, text: label }), input,
            h('div', { class: 'dialog-actions' },
                h('button', { type: 'button', class: 'btn', text: t('dialog.cancel'), onclick: () => dialog.close() }),
                h('button', { type: 'submit', class: 'btn btn-primary', text: t('dialog.ok') })));
        const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId },
            h('h2', { id: titleId, text: title }), form);
        let answer = null;
        form.addEventListener('submit', (e) => {
            e.preventDefault();
            const n = Number(input.value);
            if (!Number.isFinite(n) || n < min || n > max) { input.focus(); return; }
            answer = n;
            dialog.close();
        });
        dialog.addEventListener('close', () => { dialog.remove(); resolve(answer); });
        open(dialog, input);
        input.select();
    });
}
