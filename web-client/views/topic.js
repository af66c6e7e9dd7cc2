// views/topic.js - members propose subjects; the facilitator names the
// client (votes, if any, are advisory and happen in the call).

import { h, setText, reconcile } from '../dom.js';
import { t } from '../i18n.js';
import { may, cardsOf, memberName, currentConsultation, roleOf, myId } from '../state.js';
import { composer, cardNode, section, emptyNote, list, updateCard } from './common.js';
import { topicProposals } from './between.js';

export function createTopic(ctx) {
    const canPropose = may(ctx.s, 'topic_propose');
    const comp = canPropose ? composer(ctx, {
        key: `topic:${ctx.s.room.consultation}`, name: 'topic', label: t('topic.label'), placeholder: t('topic.placeholder'),
        submit: t('topic.submit'), rows: 2,
        onSubmit: (text) => ctx.send('topic_propose', { text }),
    }) : null;
    const topics = list('topics', t('topic.list'));
    const none = emptyNote(t('topic.none'));
    const clientLine = h('p', { class: 'client-line' });
    const assignSelect = h('select', { id: 'assign-client' });
    const assignBtn = h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'assign', text: t('topic.assign') });
    const assignForm = h('form', { class: 'assign inline-form' },
        h('label', { for: 'assign-client', text: t('topic.assign_label') }), assignSelect, assignBtn);
    assignForm.addEventListener('submit', (e) => {
        e.preventDefault();
        if (assignSelect.value) ctx.act('client_assign', { member_id: assignSelect.value });
    });
    // Cases proposed in advance: bringing one fills the topic composer.
    const ahead = topicProposals(ctx, (text) => {
        const area = comp && comp.el.querySelector('textarea');
        if (!area) return;
        area.value = text;
        area.dispatchEvent(new Event('input'));
        area.focus();
    });
    const el = h('div', { class: 'step-panel step-topic' },
        section(t('topic.client_title'), clientLine, assignForm),
        ahead.el,
        section(t('topic.list'), comp && comp.el, topics, none));

    function update() {
        const s = ctx.s;
        const c = currentConsultation(s.room);
        const fac = may(s, 'client_assign');
        setText(clientLine, c && c.client ? t('topic.client_is', { name: memberName(s, c.client) }) : t('topic.no_client'));
        assignForm.hidden = !fac;
        const candidates = s.room.members.filter((m) => {
            const r = roleOf(s, m.id);
            return r === 'consultant' || r === 'client';
        });
        const want = candidates.map((m) => m.id).join(',');
        if (assignSelect.dataset.ids !== want) {
            assignSelect.dataset.ids = want;
            const keep = assignSelect.value;
            assignSelect.replaceChildren(h('option', { value: '', text: t('topic.choose') }),
                ...candidates.map((m) => h('option', { value: m.id, text: m.name })));
            assignSelect.value = candidates.some((m) => m.id === keep) ? keep : (c && c.client) || '';
        }
        const cards = cardsOf(s, 'topic');
        none.hidden = cards.length > 0;
        reconcile(topics, cards, (x) => x.id, (card) => {
            const li = cardNode(ctx, card);
            li.append(h('div', { class: 'card-actions' }));
            return li;
        }, (li, card) => {
            updateCard(ctx, li, card);
            const slot = li.querySelector('.card-actions');
            const r = roleOf(s, card.author);
            const show = fac && card.author !== myId(s) && r === 'consultant';
            if (show && !slot.firstChild) {
                slot.append(h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'assign-author',
                    text: t('topic.assign_author', { name: memberName(s, card.author) }),
                    onclick: () => ctx.act('client_assign', { member_id: card.author }) }));
            } else if (!show) slot.replaceChildren();
        });
    }
    update();
    return { el, update };
}
