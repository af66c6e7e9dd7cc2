// views/synthesis.js - step 5: only the client speaks: what they keep,
// what they will do, by when. The client writes the action plan (and may
// still mark contributions "à retenir"); everyone else reads the plan, with
// the case at hand (recall.js).

import { h, reconcile, newId } from '../dom.js';
import { t } from '../i18n.js';
import { may, cardsOf, limit } from '../state.js';
import { composer, byline, section, emptyNote, list, updateCard } from './common.js';
import { contributionNode, updateContribution } from './consultation.js';
import { createRecall } from './recall.js';

export function createSynthesis(ctx) {
    // Who writes the plan (the client) also keeps contributions.
    const isClient = may(ctx.s, 'action_add');
    const cIndex = ctx.s.room.consultation;
    const dueId = newId('due');
    const due = h('input', { id: dueId, type: 'text', class: 'due-input', maxlength: limit(ctx.s, 'due_max_chars'), placeholder: t('synthesis.due_placeholder') });
    const comp = isClient ? composer(ctx, {
        key: `action:${cIndex}`, name: 'action', label: t('synthesis.label'), placeholder: t('synthesis.placeholder'),
        submit: t('synthesis.submit'), rows: 2,
        extra: h('p', { class: 'due-field' }, h('label', { for: dueId, text: t('synthesis.due_label') }), due),
        onSubmit: (text) => {
            const d = due.value.trim();
            return ctx.send('action_add', d ? { text, due: d } : { text }).then((ack) => { due.value = ''; return ack; });
        },
    }) : null;
    const actions = h('ol', { class: 'cards actions-list' });
    const noAction = emptyNote(t('synthesis.none'));
    const kept = list('kept', t('synthesis.kept'));
    const noKept = emptyNote(t('synthesis.no_kept'));
    const all = list('stack', t('consultation.stack'));
    const recall = createRecall(ctx);
    const el = h('div', { class: 'step-panel step-synthesis' },
        section(t('synthesis.plan'), comp && comp.el, actions, noAction),
        isClient ? section(t('synthesis.kept'), h('p', { class: 'hint', text: t('synthesis.kept_hint') }), kept, noKept) : null,
        isClient ? h('details', { class: 'block' }, h('summary', { class: 'block-title', text: t('synthesis.all') }), all) : null,
        recall.el);

    function update() {
        const s = ctx.s;
        recall.update();
        const items = cardsOf(s, 'action');
        noAction.hidden = items.length > 0;
        reconcile(actions, items, (x) => x.id, (card) => {
            const li = h('li', { class: 'card card-action', 'data-card-id': card.id },
                h('div', { class: 'card-head' }, byline(ctx, card)),
                h('p', { class: 'card-text', text: card.text }),
                card.due ? h('p', { class: 'hint action-due', text: t('synthesis.due_value', { due: card.due }) }) : null);
            if (isClient) {
                li.append(h('div', { class: 'card-actions' }, h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', 'data-action': 'remove-action',
                    text: t('synthesis.remove'), 'aria-label': t('synthesis.remove_label', { text: card.text.slice(0, 60) }),
                    onclick: () => ctx.act('action_remove', { card_id: card.id }) })));
            }
            return li;
        }, (li, card) => updateCard(ctx, li, card, { withdraw: false }));
        if (isClient) {
            const contributions = cardsOf(s, 'contribution');
            const marked = contributions.filter((c) => c.marked);
            noKept.hidden = marked.length > 0;
            reconcile(kept, marked, (x) => x.id, (card) => contributionNode(ctx, card, false), (li, card) => updateContribution(li, card, ctx));
            reconcile(all, contributions.slice().reverse(), (x) => x.id, (card) => contributionNode(ctx, card, true), (li, card) => updateContribution(li, card, ctx));
        }
    }
    update();
    return { el, update };
}
