// views/closed.js - the session is closed: my record (what is mine to
// keep), with "download my notebook (text)", "download HTML" and
// "print / PDF".

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { isFacilitator } from '../state.js';
import { createBetween } from './between.js';
import { buildRecord, recordNode, toMarkdown, toHtml, fileName, download } from '../record.js';
import { api } from '../api.js';

export function recordActions(rec) {
    return h('div', { class: 'record-actions no-print' },
        h('button', { type: 'button', class: 'btn btn-primary', 'data-action': 'export-md', text: t('closed.export_md'),
            onclick: () => download(fileName(rec, 'md'), 'text/markdown;charset=utf-8', toMarkdown(rec)) }),
        h('button', { type: 'button', class: 'btn', 'data-action': 'export-html', text: t('closed.export_html'),
            onclick: () => download(fileName(rec, 'html'), 'text/html;charset=utf-8', toHtml(rec)) }),
        h('button', { type: 'button', class: 'btn', 'data-action': 'print', text: t('closed.print'),
            onclick: () => window.print() }));
}

/**
 * My learning journal of every closed session, as the server keeps it
 * (GET /api/groups/{id}/journal), offered as a download.
 */
export function journalBlock(ctx) {
    const status = h('span', { class: 'hint', role: 'status' });
    const get = async (format, type) => {
        status.textContent = '';
        try {
            const text = await api.journal(ctx.groupId, ctx.memberKey, format);
            download(`codev-journal.${format}`, type, text);
        } catch (err) {
            status.textContent = ctx.errorText(err.code || 'internal');
        }
    };
    return h('section', { class: 'block no-print journal' },
        h('h2', { class: 'block-title', text: t('journal.title') }),
        h('p', { class: 'hint', text: t('journal.hint') }),
        h('p', { class: 'journal-actions' },
            h('button', { type: 'button', class: 'btn', 'data-action': 'journal-md', text: t('journal.md'),
                onclick: () => get('md', 'text/markdown;charset=utf-8') }),
            h('button', { type: 'button', class: 'btn', 'data-action': 'journal-html', text: t('journal.html'),
                onclick: () => get('html', 'text/html;charset=utf-8') })),
        status);
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
        recordNode(rec),
        createBetween(ctx).el,
        journalBlock(ctx));
    return { el, update() {} };
}
