// views/contract.js - step 3: consultants reformulate; the client alone
// writes the request ("j'aimerais que vous m'aidiez à..."); each consultant
// confirms they can help. A rewritten contract clears the confirmations.
// The facilitator's Next button in the bar shows how many confirmed and
// offers to go on without the others (header.js).
// Also exports the pinned contract box shown from this step on.

import { h, setText, toggle, reconcile } from '../dom.js';
import { t } from '../i18n.js';
import { may, myId, cardsOf, currentConsultation, consultants, memberName } from '../state.js';
import { composer, cardNode, section, emptyNote, list, updateCard } from './common.js';

// Not in the contract step itself: the panel shows it there.
const PINNED_STEPS = new Set(['consultation', 'synthesis', 'learning']);

/** The contract, pinned above the panel after step 3. */
export function createPinnedContract(ctx) {
    const text = h('p', { class: 'pinned-text long-text' });
    const label = h('p', { class: 'pinned-label' });
    // Focusable: its text may scroll inside it, and a keyboard must reach it.
    const el = h('aside', { class: 'pinned-contract', 'aria-label': t('contract.pinned'), tabindex: '0' }, label, text);
    function update() {
        const r = ctx.s.room;
        const c = currentConsultation(r);
        el.hidden = !r || !PINNED_STEPS.has(r.step) || !c || !c.contract;
        if (el.hidden) return;
        setText(label, t('contract.pinned_by', { name: memberName(ctx.s, c.client) }));
        setText(text, c.contract);
    }
    update();
    return { el, update };
}

export function createContract(ctx) {
    const cIndex = ctx.s.room.consultation;
    const reform = may(ctx.s, 'reformulation_post') ? composer(ctx, {
        key: `reformulation:${cIndex}`, name: 'reformulation', label: t('contract.reform_label'),
        placeholder: t('contract.reform_placeholder'), submit: t('contract.reform_submit'), rows: 2,
        onSubmit: (text) => ctx.send('reformulation_post', { text }),
    }) : null;
    const c0 = currentConsultation(ctx.s.room);
    const write = may(ctx.s, 'contract_set') ? composer(ctx, {
        key: `contract:${cIndex}`, name: 'contract', label: t('contract.write_label'), hint: t('contract.write_hint'),
        submit: t('contract.write_submit'), rows: 4, long: true, keepAfterSend: true,
        initial: (c0 && c0.contract) || t('contract.prefix'),
        onSubmit: (text) => ctx.send('contract_set', { text }),
    }) : null;
    const reforms = list('reformulations', t('contract.reformulations'));
    const noReform = emptyNote(t('contract.no_reform'));
    const contractText = h('p', { class: 'contract-text long-text' });
    const acks = h('ul', { class: 'acks' });
    const ackSummary = h('p', { class: 'ack-summary' });
    const ackBtn = h('button', { type: 'button', class: 'btn btn-primary', 'data-action': 'ack', onclick: () => ctx.act('contract_ack') });
    const el = h('div', { class: 'step-panel step-contract' },
        section(t('contract.title'), write && write.el, contractText, ackSummary, acks, ackBtn),
        section(t('contract.reformulations'), reform && reform.el, reforms, noReform));

    function update() {
        const s = ctx.s;
        const c = currentConsultation(s.room);
        const has = Boolean(c && c.contract);
        setText(contractText, has ? c.contract : t('contract.none'));
        toggle(contractText, 'empty', !has);
        const ks = consultants(s);
        const acked = (c && c.acks) || [];
        // The server waits only for consultants who are connected.
        const awaited = ks.filter((m) => m.online || acked.includes(m.id));
        setText(ackSummary, has ? t('contract.ack_count', { n: awaited.filter((m) => acked.includes(m.id)).length, total: awaited.length }) : '');
        acks.hidden = !has;
        reconcile(acks, ks, (m) => m.id, () => h('li', { class: 'ack' }, h('span', { class: 'ack-mark', 'aria-hidden': 'true' }), h('span', { class: 'ack-text' })), (li, m) => {
            const ok = acked.includes(m.id);
            const away = !ok && !m.online;
            toggle(li, 'is-acked', ok);
            toggle(li, 'is-away', away);
            setText(li.querySelector('.ack-mark'), ok ? '✓' : (away ? '–' : '…'));
            setText(li.querySelector('.ack-text'), t(ok ? 'contract.acked' : (away ? 'contract.offline' : 'contract.waiting'), { name: m.name }));
        });
        const mine = acked.includes(myId(s));
        ackBtn.hidden = !may(s, 'contract_ack') || !has;
        ackBtn.disabled = mine;
        setText(ackBtn, mine ? t('contract.ack_done') : t('contract.ack'));
        const cards = cardsOf(s, 'reformulation');
        noReform.hidden = cards.length > 0;
        reconcile(reforms, cards, (x) => x.id, (card) => cardNode(ctx, card), (li, card) => updateCard(ctx, li, card));
    }
    update();
    return { el, update };
}
