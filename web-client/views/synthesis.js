// views/synthesis.js - step 5: only the client speaks: what they keep,
// what they will do, by when, and their first step (the method's
// synthesis). The client sees first the contributions they marked "à
// retenir", the material to draw from; then writes "Ce que je retiens"
// (retain_set, one text, rewritable); then the action plan, each item with
// its échéance and premier pas. Everyone else reads what the client
// retains and the plan, with the case at hand (recall.js).

import { h, reconcile, newId, setText } from '../dom.js';
import { t } from '../i18n.js';
import { may, cardsOf, limit, currentConsultation } from '../state.js';
import { composer, byline, section, emptyNote, list, updateCard } from './common.js';
import { contributionNode, updateContribution } from './consultation.js';
import { createRecall } from './recall.js';

/** The due date and first step lines of an action card (or of a debrief). */
export function actionDetails(item) {
    return [
        item.due ? h('p', { class: 'hint action-due', text: t('synthesis.due_value', { due: item.due }) }) : null,
        item.first_step ? h('p', { class: 'hint action-first-step', text: t('synthesis.first_step_value', { step: item.first_step }) }) : null,
    ];
}

export function createSynthesis(ctx) {
    // Who writes the plan (the client) also keeps contributions.
    const isClient = may(ctx.s, 'action_add');
    const mayRetain = may(ctx.s, 'retain_set');
    const cIndex = ctx.s.room.consultation;
    const dueId = newId('due');
    const stepId = newId('first-step');
    const due = h('input', { id: dueId, type: 'text', class: 'due-input', maxlength: limit(ctx.s, 'due_max_chars'), placeholder: t('synthesis.due_placeholder') });
    const firstStep = h('input', { id: stepId, type: 'text', class: 'first-step-input', 'data-field': 'first_step',
        maxlength: limit(ctx.s, 'first_step_max_chars'), placeholder: t('synthesis.first_step_placeholder') });
    const comp = isClient ? composer(ctx, {
        key: `action:${cIndex}`, name: 'action', label: t('synthesis.label'), placeholder: t('synthesis.placeholder'),
        submit: t('synthesis.submit'), rows: 2,
        extra: h('div', { class: 'action-fields' },
            h('p', { class: 'due-field' }, h('label', { for: dueId, text: t('synthesis.due_label') }), due),
            h('p', { class: 'first-step-field' }, h('label', { for: stepId, text: t('synthesis.first_step_label') }), firstStep)),
        onSubmit: (text) => {
            const fields = { text };
            const d = due.value.trim();
            const f = firstStep.value.trim();
            if (d) fields.due = d;
            if (f) fields.first_step = f;
            return ctx.send('action_add', fields).then((ack) => { due.value = ''; firstStep.value = ''; return ack; });
        },
    }) : null;
    const c0 = currentConsultation(ctx.s.room);
    const retainComp = mayRetain ? composer(ctx, {
        key: `retain:${cIndex}`, name: 'retain', label: t('synthesis.retained'), hint: t('synthesis.retained_hint'),
        placeholder: t('synthesis.retained_placeholder'), submit: t('synthesis.retained_submit'),
        rows: 4, long: true, keepAfterSend: true, initial: (c0 && c0.retained) || '',
        onSubmit: (text) => ctx.send('retain_set', { text }),
    }) : null;
    const retained = h('p', { class: 'retained-text long-text', 'data-retained': '' });
    const actions = h('ol', { class: 'cards actions-list' });
    const noAction = emptyNote(t('synthesis.none'));
    const kept = list('kept', t('synthesis.kept'));
    const noKept = emptyNote(t('synthesis.no_kept'));
    const all = list('stack', t('consultation.stack'));
    const recall = createRecall(ctx);
    const el = h('div', { class: 'step-panel step-synthesis' },
        // The client: the material first (their marks), then what they retain, then the plan.
        isClient ? section(t('synthesis.kept'), h('p', { class: 'hint', text: t('synthesis.kept_hint') }), kept, noKept) : null,
        isClient ? h('details', { class: 'block' }, h('summary', { class: 'block-title', text: t('synthesis.all') }), all) : null,
        h('div', { class: 'retained-block' }, retainComp ? retainComp.el : section(t('synthesis.retained'), retained)),
        section(t('synthesis.plan'), comp && comp.el, actions, noAction),
        recall.el);

    function update() {
        const s = ctx.s;
        recall.update();
        const c = currentConsultation(s.room);
        setText(retained, c && c.retained ? c.retained : t('synthesis.retained_none'));
        retained.classList.toggle('empty', !(c && c.retained));
        const items = cardsOf(s, 'action');
        noAction.hidden = items.length > 0;
        reconcile(actions, items, (x) => x.id, (card) => {
            const li = h('li', { class: 'card card-action', 'data-card-id': card.id },
                h('div', { class: 'card-head' }, byline(ctx, card)),
                h('p', { class: 'card-text', text: card.text }),
                ...actionDetails(card));
            if (isClient) {
                li.append(h('div', { class: 'card-actions' }, h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', 'data-action': 'remove-action',
                    text: t('synthesis.remove'), 'aria-label': t('synthesis.remove_label', { text: card.text.slice(0, 60) }),
                    onclick: () => ctx.act('action_remove', { card_id: card.id }) })));
            }
            return li;
        }, (li, card) => updateCard(ctx, li, card, { withdraw: false }));
        if (isClient) {
            const contributions = cardsOf(s, 'contribution');
            const marked = contributions.filter((x) => x.marked);
            noKept.hidden = marked.length > 0;
            reconcile(kept, marked, (x) => x.id, (card) => contributionNode(ctx, card, false), (li, card) => updateContribution(li, card, ctx));
            reconcile(all, contributions.slice().reverse(), (x) => x.id, (card) => contributionNode(ctx, card, true), (li, card) => updateContribution(li, card, ctx));
        }
    }
    update();
    return { el, update };
}
