// record.js - "my record": what is mine to keep when a session closes.
// The client of a consultation keeps their case (problem, contract, every
// contribution with their "à retenir" marks, action plan); everyone keeps
// their own learnings and private notes (DESIGN.md section 5). Exported as
// Markdown, as a standalone printable HTML file, or printed from the page.

import { h } from './dom.js';
import { t, dateLong, timeOfDay } from './i18n.js';
import { myId, memberName } from './state.js';

/** Builds the record from the room as this member sees it. Plain data. */
export function buildRecord(s) {
    const r = s.room;
    const me = myId(s);
    const cards = r.cards.slice().sort((a, b) => a.id - b.id);
    const cons = r.consultations.filter((c) => c.client === me).map((c) => ({
        index: c.index,
        problem: c.problem || null,
        contract: c.contract || null,
        retained: c.retained || null,
        contributions: cards.filter((x) => x.type === 'contribution' && x.consultation === c.index)
            .map((x) => ({ author: memberName(s, x.author), kind: x.kind, text: x.text, marked: Boolean(x.marked) })),
        actions: cards.filter((x) => x.type === 'action' && x.consultation === c.index)
            .filter((x) => !x.withdrawn)
            .map((x) => ({ text: x.text, due: x.due || null, first_step: x.first_step || null })),
    }));
    return {
        group: s.group ? s.group.name : '',
        session_id: r.session_id,
        date_ms: r.created_ms || Date.now(),
        me: memberName(s, me, s.you ? s.you.name : ''),
        consultations: cons,
        learnings: cards.filter((x) => x.type === 'learning' && x.author === me)
            .map((x) => ({ dimension: x.dimension, text: x.text })),
        notes: cards.filter((x) => x.type === 'note' && x.author === me)
            .map((x) => ({ at_ms: x.at_ms, text: x.text })),
    };
}

export function isEmpty(rec) {
    return !rec || (rec.consultations.length === 0 && rec.learnings.length === 0 && rec.notes.length === 0);
}

function indent(text) {
    return String(text).replace(/\r?\n/g, '\n  ');
}

function quote(text) {
    return String(text).split(/\r?\n/).map((l) => `> ${l}`).join('\n');
}

export function toMarkdown(rec) {
    const out = [];
    out.push(`# ${t('record.title')} — ${rec.group}`, '');
    out.push(`${rec.me} · ${dateLong(rec.date_ms)}`, '');
    out.push(`_${t('record.confidential')}_`, '');
    for (const c of rec.consultations) {
        out.push(`## ${t('record.my_case', { n: c.index + 1 })}`, '');
        out.push(`### ${t('record.problem')}`, '', c.problem ? quote(c.problem) : `_${t('record.nothing')}_`, '');
        out.push(`### ${t('record.contract')}`, '', c.contract ? quote(c.contract) : `_${t('record.nothing')}_`, '');
        out.push(`### ${t('record.contributions')}`, '');
        if (!c.contributions.length) out.push(`_${t('record.nothing')}_`);
        for (const x of c.contributions) {
            out.push(`- ${x.marked ? `**${t('record.kept')}** · ` : ''}${t('record.contribution_line', { kind: t(`kinds.${x.kind}`), name: x.author, text: indent(x.text) })}`);
        }
        out.push('', `### ${t('record.retained')}`, '', c.retained ? quote(c.retained) : `_${t('record.nothing')}_`);
        out.push('', `### ${t('record.plan')}`, '');
        if (!c.actions.length) out.push(`_${t('record.nothing')}_`);
        c.actions.forEach((a, i) => out.push(`${i + 1}. ${indent(a.text)}${a.due ? ` — ${t('synthesis.due_value', { due: a.due })}` : ''}`
            + `${a.first_step ? ` — ${t('synthesis.first_step_value', { step: indent(a.first_step) })}` : ''}`));
        out.push('');
    }
    out.push(`## ${t('record.learnings')}`, '');
    if (!rec.learnings.length) out.push(`_${t('record.nothing')}_`, '');
    for (const d of ['process', 'content']) {
        const items = rec.learnings.filter((l) => l.dimension === d);
        if (!items.length) continue;
        out.push(`### ${t(`dims.${d}`)}`, '');
        for (const l of items) out.push(`- ${indent(l.text)}`);
        out.push('');
    }
    out.push(`## ${t('record.notes')}`, '');
    if (!rec.notes.length) out.push(`_${t('record.nothing')}_`);
    for (const n of rec.notes) out.push(`- ${n.at_ms ? `${timeOfDay(n.at_ms)} — ` : ''}${indent(n.text)}`);
    out.push('');
    return out.join('\n');
}

/** The record as DOM (for the page, printing and the HTML export). */
export function recordNode(rec) {
    const para = (text, cls) => h('p', { class: ['long-text', cls], text });
    const nothing = () => h('p', { class: 'empty', text: t('record.nothing') });
    const el = h('article', { class: 'record' },
        h('h2', { class: 'record-title', text: `${t('record.title')} — ${rec.group}` }),
        h('p', { class: 'record-meta', text: `${rec.me} · ${dateLong(rec.date_ms)}` }),
        h('p', { class: 'hint', text: t('record.confidential') }));
    for (const c of rec.consultations) {
        el.append(h('section', { class: 'record-section' },
            h('h3', { text: t('record.my_case', { n: c.index + 1 }) }),
            h('h4', { text: t('record.problem') }), c.problem ? para(c.problem) : nothing(),
            h('h4', { text: t('record.contract') }), c.contract ? para(c.contract) : nothing(),
            h('h4', { text: t('record.contributions') }),
            c.contributions.length ? h('ul', { class: 'record-list' }, c.contributions.map((x) => h('li', { class: x.marked ? 'is-marked' : null },
                x.marked ? h('strong', { text: `${t('record.kept')} · ` }) : null,
                h('span', { class: 'tag', text: t(`kinds.${x.kind}`) }), ' ',
                h('span', { class: 'hint', text: `${t('record.author', { name: x.author })} ` }),
                h('span', { class: 'long-text', text: x.text })))) : nothing(),
            h('h4', { text: t('record.retained') }), c.retained ? para(c.retained, 'record-retained') : nothing(),
            h('h4', { text: t('record.plan') }),
            c.actions.length ? h('ol', { class: 'record-list' }, c.actions.map((a) => h('li', {},
                h('span', { class: 'long-text', text: a.text }),
                a.due ? h('span', { class: 'hint', text: ` — ${t('synthesis.due_value', { due: a.due })}` }) : null,
                a.first_step ? h('span', { class: 'hint record-first-step', text: ` — ${t('synthesis.first_step_value', { step: a.first_step })}` }) : null))) : nothing()));
    }
    const learn = h('section', { class: 'record-section' }, h('h3', { text: t('record.learnings') }));
    if (!rec.learnings.length) learn.append(nothing());
    for (const d of ['process', 'content']) {
        const items = rec.learnings.filter((l) => l.dimension === d);
        if (items.length) learn.append(h('h4', { text: t(`dims.${d}`) }), h('ul', { class: 'record-list' }, items.map((l) => h('li', { class: 'long-text', text: l.text }))));
    }
    el.append(learn);
    el.append(h('section', { class: 'record-section' }, h('h3', { text: t('record.notes') }),
        rec.notes.length ? h('ul', { class: 'record-list' }, rec.notes.map((n) => h('li', {},
            n.at_ms ? h('span', { class: 'hint', text: `${timeOfDay(n.at_ms)} — ` }) : null,
            h('span', { class: 'long-text', text: n.text })))) : nothing()));
    return el;
}

const PRINT_CSS = `body{font:16px/1.5 system-ui,sans-serif;color:#1b1b1b;max-width:46rem;margin:2rem auto;padding:0 1rem}
h2{font-size:1.5rem}h3{margin-top:2rem;border-bottom:1px solid #999}h4{margin-bottom:.25rem}
.long-text{white-space:pre-wrap}.hint{color:#555}.empty{color:#555;font-style:italic}
.tag{font-size:.8rem;border:1px solid #777;border-radius:.3rem;padding:0 .3rem}
li{margin:.4rem 0}.is-marked{font-weight:500}`;

function escapeHtml(text) {
    return String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
}

/**
 * A standalone HTML document of the record. The body is the record's DOM
 * serialized (the serializer escapes all text); built as a string because a
 * <style> element created in any document of this page violates the CSP.
 */
export function toHtml(rec) {
    const title = `${t('record.title')} — ${rec.group}`;
    return `<!doctype html>\n<html lang="${escapeHtml(document.documentElement.lang)}"><head><meta charset="utf-8">`
        + `<title>${escapeHtml(title)}</title><style>${PRINT_CSS}</style></head>`
        + `<body>${recordNode(rec).outerHTML}</body></html>\n`;
}

export function fileName(rec, ext) {
    const base = `${rec.group}`.normalize('NFD').replace(/[\u0300-\u036f]/g, '')
        .replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').toLowerCase() || 'codev';
    const d = new Date(rec.date_ms).toISOString().slice(0, 10);
    return `${base}-${d}.${ext}`;
}

/** Offers text as a file download. */
export function download(name, type, text) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    const a = h('a', { href: url, download: name, class: 'sr-only' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
}
