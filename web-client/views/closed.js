// views/closed.js - the session is closed: my record (what is mine to
// keep), with "export Markdown", "download HTML" and "print".

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { isFacilitator } from '../state.js';
import { buildRecord, recordNode, toMarkdown, toHtml, fileName, download } from '../record.js';

export function recordActions(rec) {
    return h('div', { class: 'record-actions no-print' },
        h('button', { type: 'button', class: 'btn btn-primary', 'data-action': 'export-md', text: t('closed.export_md'),
            onclick: () => download(fileName(rec, 'md'), 'text/markdown;charset=utf-8', toMarkdown(rec)) }),
        h('button', { type: 'button', class: 'btn', 'data-action': 'export-html', text: t('closed.export_html'),
            onclick: () => download(fileName(rec, 'html'), 'text/html;charset=utf-8', toHtml(rec)) }),
        h('button', { type: 'button', class: 'btn', 'data-action': 'print', text: t('closed.print'),
            onclick: () => window.print() }));
}

export function createClosed(ctx) {
    const rec = buildRecord(ctx.s);
    ctx.keepRecord(rec);
    const el = h('div', { class: 'step-panel step-closed' },
        h('section', { class: 'block no-print' },
            h('p', { class: 'closed-lead', text: t('closed.lead') }),
            h('p', { class: 'hint', text: t('closed.retention') }),
            isFacilitator(ctx.s) ? h('p', { class: 'hint', text: t('closed.next_hint') }) : null,
            isFacilitator(ctx.s) ? h('button', { type: 'button', class: 'btn', 'data-action': 'session-open',
                text: t('nosession.open'), onclick: () => ctx.act('session_open') }) : null),
        recordActions(rec),
        recordNode(rec));
    return { el, update() {} };
}
