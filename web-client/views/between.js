// views/between.js - the group between its sessions (proto/README.md 1.1):
// the next session (with its calendar file), whose turn it is (rotation
// and the facilitator's rota), the cases proposed for the next session, the
// member's own exposé draft and their debriefs in advance. Also the pieces
// the session's steps show: the proposals and the rota at the topic step,
// the draft at the exposé step.
//
// Everything is read over HTTP with the member's key (storage.js keeps it)
// and re-read after each change; nothing here is live. A draft is only
// ever the caller's own: the server never sends anyone else's.

import { h } from '../dom.js';
import { t, currentLanguage } from '../i18n.js';
import { api } from '../api.js';
import { isFacilitator, OUTCOMES } from '../state.js';
import { section, emptyNote } from './common.js';
import { download } from '../record.js';

function fmtDate(ms) {
    return new Date(ms).toLocaleDateString(currentLanguage() === 'fr' ? 'fr-FR' : 'en-GB');
}

/** The next session's wall-clock date and time, as written in the group's
 * zone (never turned into the reader's): "vendredi 14 mars 2031", "18 h 30". */
function wallClock(date, time) {
    const [y, m, d] = date.split('-').map(Number);
    const [hh, mm] = time.split(':').map(Number);
    const at = new Date(Date.UTC(y, m - 1, d, hh, mm));
    const locale = currentLanguage() === 'fr' ? 'fr-CA' : 'en-CA';
    return {
        date: new Intl.DateTimeFormat(locale, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(at),
        time: new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' }).format(at),
    };
}

function personName(p) {
    return p ? p.name : t('between.rota_open');
}

/** A labelled input. */
function field(id, label, input) {
    input.id = id;
    return h('p', { class: 'field' }, h('label', { for: id, text: label }), input);
}

/** Runs an API call, then reloads unless it changed nothing (a download); errors are shown in status. */
function runner(ctx, status, reload) {
    return async (fn, changes = true) => {
        status.textContent = '';
        try {
            await fn();
            if (!changes) return;
            await reload();
            status.textContent = t('between.saved');
        } catch (err) {
            status.textContent = ctx.errorText(err.code || 'internal');
        }
    };
}

function nextBlock(ctx, b, run) {
    const n = b.next_session;
    const fac = isFacilitator(ctx.s);
    const body = [];
    if (!n) body.push(emptyNote(t('between.next_none')));
    else {
        const when = wallClock(n.date, n.time);
        body.push(h('p', { class: 'next-when', 'data-next': 'when', 'data-datetime': `${n.date}T${n.time}`,
            text: t('between.next_when', { date: when.date, time: when.time, zone: n.time_zone, duration: n.duration_min }) }));
        if (n.link) body.push(h('p', {}, h('a', { href: n.link, rel: 'noopener noreferrer', target: '_blank', 'data-next': 'link', text: t('between.next_link') })));
        body.push(h('button', { type: 'button', class: 'btn', 'data-action': 'next-ics', text: t('between.ics'),
            onclick: () => run(async () => download('codev-next-session.ics', 'text/calendar;charset=utf-8',
                await api.nextIcs(ctx.groupId, ctx.memberKey)), false) }));
    }
    if (fac) {
        const date = h('input', { type: 'date', required: true, value: n ? n.date : '' });
        const time = h('input', { type: 'time', required: true, value: n ? n.time : '' });
        const dur = h('input', { type: 'number', min: 1, required: true, value: n ? n.duration_min : 90 });
        const link = h('input', { type: 'url', value: n && n.link ? n.link : '' });
        const zone = h('input', { type: 'text', value: b.time_zone || Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC' });
        const form = h('form', { class: 'next-form', 'data-form': 'next' },
            h('h3', { text: t('between.next_form') }),
            field('next-date', t('between.date'), date), field('next-time', t('between.time'), time),
            field('next-duration', t('between.duration'), dur), field('next-link', t('between.link'), link),
            field('next-zone', t('between.zone'), zone),
            h('p', {}, h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'next-save', text: t('between.save') }), ' ',
                n ? h('button', { type: 'button', class: 'btn', 'data-action': 'next-clear', text: t('between.clear'),
                    onclick: () => run(() => api.nextClear(ctx.groupId, ctx.memberKey)) }) : null));
        form.addEventListener('submit', (e) => {
            e.preventDefault();
            run(() => api.nextSet(ctx.groupId, ctx.memberKey, { date: date.value, time: time.value,
                duration_min: Number(dur.value), link: link.value.trim() || null, time_zone: zone.value.trim() || null }));
        });
        body.push(form);
    }
    return section(t('between.next_title'), ...body);
}

function turnText(n, last) {
    return n ? t('between.who_times', { n, date: fmtDate(last) }) : t('between.who_never');
}

function whoBlock(ctx, b, rot, run) {
    const names = (ids) => ids.slice(0, 3).map((id) => (rot.members.find((m) => m.id === id) || {}).name).join(', ');
    const rows = rot.members.map((m) => h('tr', { 'data-member': m.id },
        h('th', { scope: 'row', text: m.name }),
        h('td', { 'data-turn': 'client', text: turnText(m.as_client, m.last_client_ms) }),
        h('td', { 'data-turn': 'facilitator', text: turnText(m.as_facilitator, m.last_facilitator_ms) })));
    const table = h('table', { class: 'who-table' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: t('between.who_member') }),
            h('th', { scope: 'col', text: t('between.who_client') }), h('th', { scope: 'col', text: t('between.who_fac') }))),
        h('tbody', {}, ...rows));
    const rota = b.rota.length
        ? h('ol', { class: 'rota', 'data-list': 'rota' }, ...b.rota.map((r, i) => h('li', {
            text: t('between.rota_row', { n: i + 1, client: personName(r.client), facilitator: personName(r.facilitator) }) })))
        : emptyNote(t('between.rota_none'));
    const parts = [h('p', { class: 'hint', text: t('between.who_hint') }),
        h('p', { 'data-suggest': 'client', text: t('between.suggest_client', { names: names(rot.next_clients) }) }),
        h('p', { 'data-suggest': 'facilitator', text: t('between.suggest_fac', { names: names(rot.next_facilitators) }) }),
        table, h('h3', { text: t('between.rota_title') }), rota];
    if (isFacilitator(ctx.s)) parts.push(rotaEditor(ctx, b, rot, run));
    return section(t('between.who_title'), ...parts);
}

function rotaEditor(ctx, b, rot, run) {
    const people = rot.members.filter((m) => !m.observer);
    const pick = (label, value) => h('select', { 'aria-label': label },
        h('option', { value: '', text: t('between.rota_open') }),
        ...people.map((m) => h('option', { value: m.id, text: m.name, selected: m.id === value })));
    const rowsEl = h('ol', { class: 'rota-edit' });
    const addRow = (r) => {
        const li = h('li', {}, pick(t('between.rota_client'), r && r.client && r.client.id),
            pick(t('between.rota_fac'), r && r.facilitator && r.facilitator.id),
            h('button', { type: 'button', class: 'btn btn-small', text: t('between.rota_remove'), onclick: () => li.remove() }));
        rowsEl.append(li);
    };
    b.rota.forEach(addRow);
    const form = h('form', { 'data-form': 'rota' }, rowsEl,
        h('p', {}, h('button', { type: 'button', class: 'btn', 'data-action': 'rota-add', text: t('between.rota_add'),
            onclick: () => { if (rowsEl.children.length < 12) addRow(null); } }), ' ',
        h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'rota-save', text: t('between.save') })));
    form.addEventListener('submit', (e) => {
        e.preventDefault();
        const rota = [...rowsEl.children].map((li) => {
            const [c, f] = li.querySelectorAll('select');
            return { client: c.value || null, facilitator: f.value || null };
        });
        run(() => api.rotaSet(ctx.groupId, ctx.memberKey, rota));
    });
    return form;
}

/** The proposal form (new, or editing p). */
function proposalForm(ctx, run, p) {
    const title = h('input', { type: 'text', required: true, value: p ? p.title : '' });
    const text = h('textarea', { rows: 3 });
    text.value = p && p.text ? p.text : '';
    const key = p ? p.id : 'new';
    const form = h('form', { class: 'proposal-form', 'data-form': `proposal-${key}` },
        field(`proposal-title-${key}`, t('between.proposal_title'), title),
        field(`proposal-text-${key}`, t('between.proposal_text'), text),
        h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': p ? 'proposal-save' : 'propose',
            text: p ? t('between.save') : t('between.propose') }));
    form.addEventListener('submit', (e) => {
        e.preventDefault();
        run(() => (p ? api.proposalEdit(ctx.groupId, ctx.memberKey, p.id, title.value, text.value)
            : api.propose(ctx.groupId, ctx.memberKey, title.value, text.value)));
    });
    return form;
}

/** One proposal as a list item; actions is a node or null. */
function proposalItem(p, actions) {
    return h('li', { class: 'card proposal', 'data-proposal': p.id },
        h('p', { class: 'card-text proposal-title', text: p.title }),
        p.text ? h('p', { class: 'long-text', text: p.text }) : null,
        h('p', { class: 'card-by', text: t('between.proposal_by', { name: p.author ? p.author.name : '?' }) }),
        actions);
}

function proposalsBlock(ctx, b, run) {
    const me = ctx.s.you.member_id;
    const items = b.proposals.map((p) => {
        const mine = p.author && p.author.id === me;
        return proposalItem(p, mine ? h('details', { class: 'card-actions' },
            h('summary', { text: t('between.edit') }), proposalForm(ctx, run, p),
            h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'withdraw', text: t('between.withdraw'),
                onclick: () => run(() => api.proposalWithdraw(ctx.groupId, ctx.memberKey, p.id)) })) : null);
    });
    return section(t('between.proposals_title'),
        items.length ? h('ul', { class: 'cards', 'data-list': 'proposals' }, ...items) : emptyNote(t('between.proposals_none')),
        proposalForm(ctx, run, null));
}

function draftBlock(ctx, b, run) {
    const text = h('textarea', { rows: 6 });
    text.value = b.draft ? b.draft.text : '';
    const form = h('form', { 'data-form': 'draft' }, field('draft-text', t('between.draft_label'), text),
        h('p', {}, h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'draft-save', text: t('between.save') }), ' ',
            b.draft ? h('button', { type: 'button', class: 'btn', 'data-action': 'draft-delete', text: t('between.draft_delete'),
                onclick: () => run(() => api.draftDelete(ctx.groupId, ctx.memberKey)) }) : null));
    form.addEventListener('submit', (e) => {
        e.preventDefault();
        run(() => api.draftSet(ctx.groupId, ctx.memberKey, text.value));
    });
    return section(t('between.draft_title'), h('p', { class: 'hint', text: t('between.draft_hint') }), form);
}

function debriefBlock(ctx, b, run) {
    if (!b.debriefs.length) return null;
    return section(t('between.debrief_title'), h('p', { class: 'hint', text: t('between.debrief_hint') }),
        ...b.debriefs.map((d) => {
            const outcome = h('select', { 'aria-label': t('opening.outcome_legend') },
                ...OUTCOMES.map((o) => h('option', { value: o, text: t(`outcomes.${o}`), selected: o === d.outcome })));
            const comment = h('input', { type: 'text', value: d.comment || '' });
            const form = h('form', { 'data-form': `debrief-${d.plan_id}` }, h('p', { class: 'card-text', text: d.text }),
                d.first_step ? h('p', { class: 'hint', text: t('synthesis.first_step_value', { step: d.first_step }) }) : '',
                outcome, field(`debrief-comment-${d.plan_id}`, t('between.comment'), comment),
                h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'debrief-save', text: t('between.save') }));
            form.addEventListener('submit', (e) => {
                e.preventDefault();
                run(() => api.debriefAdvance(ctx.groupId, ctx.memberKey, d.plan_id, outcome.value, comment.value));
            });
            return form;
        }));
}

/** The group view between sessions. Returns {el, update}; loads on creation. */
export function createBetween(ctx) {
    const status = h('p', { class: 'hint', role: 'status' });
    const body = h('div', { class: 'between-body' });
    const el = h('div', { class: 'between', 'data-view': 'between' },
        h('h2', { class: 'between-title', text: t('between.title') }), status, body);
    let run;
    async function reload() {
        const [b, rot] = await Promise.all([api.between(ctx.groupId, ctx.memberKey), api.rotation(ctx.groupId, ctx.memberKey)]);
        body.replaceChildren(nextBlock(ctx, b, run), whoBlock(ctx, b, rot, run), proposalsBlock(ctx, b, run),
            draftBlock(ctx, b, run), debriefBlock(ctx, b, run) || '');
        el.dataset.loaded = 'yes';
    }
    run = runner(ctx, status, reload);
    reload().catch(() => { status.textContent = t('between.load_failed'); });
    return { el, update() {} };
}

/**
 * At the topic step: the planned roles of this session (the rota's first
 * entry) and the cases proposed in advance; "bring this case" marks it
 * chosen and fills the topic composer (its author's or the facilitator's).
 */
export function topicProposals(ctx, fillTopic) {
    const status = h('p', { class: 'hint', role: 'status' });
    const rota = h('p', { class: 'rota-next', 'data-rota': 'next', hidden: true });
    const listEl = h('ul', { class: 'cards', 'data-list': 'topic-proposals' });
    const el = h('section', { class: 'block topic-proposals', hidden: true },
        h('h2', { class: 'block-title', text: t('between.topic_title') }), rota, listEl, status);
    async function load() {
        let b;
        try {
            b = await api.between(ctx.groupId, ctx.memberKey);
        } catch (err) {
            status.textContent = ctx.errorText(err.code || 'internal');
            el.hidden = false;
            return;
        }
        const me = ctx.s.you.member_id;
        if (b.rota.length) {
            rota.hidden = false;
            rota.textContent = t('between.rota_next', { client: personName(b.rota[0].client), facilitator: personName(b.rota[0].facilitator) });
        }
        listEl.replaceChildren(...b.proposals.map((p) => {
            // The server decides (not_author): offered to its author and the facilitator.
            const bring = (p.author && p.author.id === me) || isFacilitator(ctx.s);
            return proposalItem(p, bring ? h('div', { class: 'card-actions' }, p.chosen
                ? h('span', { class: 'hint', text: t('between.used') })
                : h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'use-proposal', text: t('between.use'),
                    onclick: async () => {
                        try {
                            await api.proposalChoose(ctx.groupId, ctx.memberKey, p.id);
                        } catch (err) {
                            if (err.code !== 'already_done') { status.textContent = ctx.errorText(err.code || 'internal'); return; }
                        }
                        fillTopic(p.text ? `${p.title}\n${p.text}` : p.title);
                        load();
                    } })) : null);
        }));
        el.hidden = !b.proposals.length && !b.rota.length;
    }
    load();
    return { el };
}

/** The caller's exposé draft, or null (for the exposé step). */
export async function myDraft(ctx) {
    try {
        const b = await api.between(ctx.groupId, ctx.memberKey);
        return b.draft ? b.draft.text : null;
    } catch {
        return null;
    }
}
