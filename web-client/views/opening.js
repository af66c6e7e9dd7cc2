// views/opening.js - check-in round, and the clients of earlier sessions
// reporting on their action plans (done / partly / not done / dropped).

import { h, setText, reconcile } from '../dom.js';
import { t } from '../i18n.js';
import { myId, cardsOf, memberName, may, OUTCOMES } from '../state.js';
import { composer, cardNode, section, emptyNote, choice, choiceValue, list, updateCard } from './common.js';
import { groundRules } from './settings.js';

export function createOpening(ctx) {
    const canCheckin = may(ctx.s, 'checkin_post');
    const checkins = list('checkins', t('opening.checkins'));
    const noCheckin = emptyNote(t('opening.no_checkin'));
    const comp = canCheckin ? composer(ctx, {
        key: 'checkin', name: 'checkin', label: t('opening.checkin_label'), placeholder: t('opening.checkin_placeholder'),
        submit: t('opening.checkin_submit'), rows: 2,
        onSubmit: (text) => ctx.send('checkin_post', { text }),
    }) : null;
    const debriefs = h('ul', { class: 'cards debriefs' });
    const noDebrief = emptyNote(t('opening.no_debrief'));
    // The group's ground rules (its settings page), shown to everyone.
    const rules = h('ol', { class: 'ground-rules', 'data-list': 'ground-rules' });
    const noRules = emptyNote(t('opening.rules_none'));
    const el = h('div', { class: 'step-panel step-opening' },
        section(t('opening.rules_title'), rules, noRules),
        section(t('opening.checkins'), comp && comp.el, checkins, noCheckin),
        section(t('opening.debriefs'), h('p', { class: 'hint', text: t('opening.debriefs_hint') }), debriefs, noDebrief));

    function debriefForm(d) {
        const outcome = choice(`outcome-${d.id}`, t('opening.outcome_legend'),
            OUTCOMES.map((o) => ({ value: o, label: t(`outcomes.${o}`) })), null);
        // No outcome is preselected: the earlier client says where it stands.
        const c = composer(ctx, {
            key: `debrief:${d.id}`, name: 'debrief', label: t('opening.debrief_comment'), submit: t('opening.debrief_submit'), rows: 2,
            extra: outcome, optional: true,
            onSubmit: (text) => {
                const o = choiceValue(outcome);
                if (!o) {
                    const first = outcome.querySelector('input');
                    if (first) first.focus();
                    return Promise.reject({ code: 'outcome_required' });
                }
                return ctx.send('debrief_post', { debrief_id: d.id, outcome: o, ...(text ? { text } : {}) });
            },
        });
        return c.el;
    }

    function update() {
        const s = ctx.s;
        const shown = groundRules(s.group);
        noRules.hidden = shown.length > 0;
        reconcile(rules, shown.map((text, i) => ({ text, i })), (r) => `${r.i}:${r.text}`, (r) => h('li', { text: r.text }), () => {});
        const cards = cardsOf(s, 'checkin');
        noCheckin.hidden = cards.length > 0;
        reconcile(checkins, cards, (c) => c.id, (c) => cardNode(ctx, c), (li, c) => updateCard(ctx, li, c));
        const ds = s.room.debriefs;
        noDebrief.hidden = ds.length > 0;
        reconcile(debriefs, ds, (d) => d.id, (d) => h('li', { class: 'card card-debrief', 'data-debrief-id': d.id },
            h('p', { class: 'card-by' }, h('span', { class: 'card-author' })),
            h('p', { class: 'card-text' }), h('p', { class: 'debrief-due hint' }),
            h('p', { class: 'debrief-first-step hint' }),
            h('p', { class: 'debrief-outcome' }), h('div', { class: 'debrief-slot' })), (li, d) => {
            setText(li.querySelector('.card-author'), memberName(s, d.client));
            setText(li.querySelector('.card-text'), d.text);
            setText(li.querySelector('.debrief-due'), d.due ? t('synthesis.due_value', { due: d.due }) : '');
            // The first step the client set themselves (hub_plan, kept for this debrief).
            setText(li.querySelector('.debrief-first-step'), d.first_step ? t('synthesis.first_step_value', { step: d.first_step }) : '');
            const out = li.querySelector('.debrief-outcome');
            setText(out, d.outcome ? `${t(`outcomes.${d.outcome}`)}${d.comment ? ` — ${d.comment}` : ''}` : t('opening.debrief_pending'));
            out.className = `debrief-outcome ${d.outcome ? `outcome-${d.outcome}` : 'hint'}`;
            const slot = li.querySelector('.debrief-slot');
            const mine = d.client === myId(s) && !d.outcome;
            if (mine && !slot.firstChild) slot.append(debriefForm(d));
            if (!mine) slot.replaceChildren();
        });
    }
    update();
    return { el, update };
}
