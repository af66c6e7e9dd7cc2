// views/consultation.js - step 4: consultants give suggestions,
// experiences and feelings; ideas only stack (no replies, no votes). The
// client listens: no composer, a clear "you are listening" state, private
// "à retenir" marks, and the recadrage signal (seen by the facilitator, in
// the sticky bar: header.js).
// New cards appear at the top (animated only when motion is welcome).

import { h, setText, toggle, reconcile } from '../dom.js';
import { t } from '../i18n.js';
import { may, cardsOf, currentConsultation, consultants, memberName, myId, KINDS } from '../state.js';
import { createRecall } from './recall.js';
import { composer, byline, section, emptyNote, choice, choiceValue, tagNode, list, updateCard } from './common.js';

/** One contribution card; the client also gets the "à retenir" toggle. */
export function contributionNode(ctx, card, withMark) {
    const li = h('li', { class: ['card', 'card-contribution', `kind-${card.kind}`], 'data-card-id': card.id },
        h('div', { class: 'card-head' }, byline(ctx, card), tagNode(card.kind, t(`kinds.${card.kind}`))),
        h('p', { class: 'card-text', text: card.text }));
    if (withMark) {
        li.append(h('div', { class: 'card-actions' }, h('button', { type: 'button', class: 'btn btn-small btn-mark', 'data-action': 'mark',
            onclick: () => {
                const cur = ctx.s.room.cards.find((c) => c.id === card.id);
                ctx.act('mark_set', { card_id: card.id, marked: !(cur && cur.marked) });
            } })));
    }
    return li;
}

export function updateContribution(li, card, ctx) {
    if (ctx) updateCard(ctx, li, card);
    toggle(li, 'is-marked', Boolean(card.marked));
    const b = li.querySelector('.btn-mark');
    if (b) {
        setText(b, card.marked ? t('consultation.marked') : t('consultation.mark'));
        b.setAttribute('aria-pressed', card.marked ? 'true' : 'false');
    }
}

export function createConsultation(ctx) {
    // The client listens: it may only ask for a recadrage and mark cards.
    const listens = may(ctx.s, 'recadrage');
    const cIndex = ctx.s.room.consultation;
    let kind = 'suggestion';
    const kindChoice = choice('kind', t('consultation.kind_legend'),
        KINDS.map((k) => ({ value: k, label: t(`kinds.${k}`) })), kind, (v) => { kind = v; });
    const comp = may(ctx.s, 'contribution_post') ? composer(ctx, {
        key: `contribution:${cIndex}`, name: 'contribution', label: t('consultation.label'),
        placeholder: t('consultation.placeholder'), submit: t('consultation.submit'), rows: 3, extra: kindChoice,
        onSubmit: (text) => ctx.send('contribution_post', { kind: choiceValue(kindChoice) || kind, text }),
    }) : null;

    // The questions this consultant parked in clarification (private notes
    // marked parked, kept by the server): offered back until a contribution
    // of theirs carries the same text. One click puts one in the composer.
    const parkedList = h('ul', { class: 'parked-list' });
    const parkedBox = comp ? h('section', { class: 'block parked', hidden: true, 'aria-label': t('consultation.parked_title') },
        h('h2', { class: 'block-title', text: t('consultation.parked_title') }),
        h('p', { class: 'hint', text: t('consultation.parked_hint') }), parkedList) : null;

    function useParked(text) {
        comp.textarea.value = text;
        comp.textarea.dispatchEvent(new Event('input'));
        const radio = kindChoice.querySelector('input[value="suggestion"]');
        if (radio) radio.checked = true;
        kind = 'suggestion';
        comp.textarea.focus();
    }

    function updateParked(s) {
        if (!parkedBox) return;
        const me = myId(s);
        const posted = new Set(cardsOf(s, 'contribution').filter((x) => x.author === me).map((x) => x.text.trim()));
        const parked = cardsOf(s, 'note').filter((n) => n.parked && n.author === me
            && (n.consultation ?? null) === (s.room.consultation ?? null) && !posted.has(n.text.trim()));
        parkedBox.hidden = parked.length === 0;
        reconcile(parkedList, parked, (n) => n.id, (n) => h('li', { class: 'parked-item', 'data-card-id': n.id },
            h('p', { class: 'parked-text', text: n.text }),
            h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'use-parked', text: t('consultation.parked_use'),
                onclick: () => useParked(n.text) })), () => {});
    }

    const recadrageCount = h('span', { class: 'recadrage-count' });
    // Discreet: the facilitator has seen the signals (recadrage_ack).
    const recadrageSeen = h('span', { class: 'recadrage-seen hint', role: 'status' });
    const recadrageBtn = h('button', { type: 'button', class: 'btn btn-recadrage', 'data-action': 'recadrage',
        text: t('consultation.recadrage'), onclick: () => ctx.act('recadrage') });
    // The client's one compact box: "you are listening", and the one thing
    // the client may do (recadrage). The stack follows at once.
    const listening = listens ? h('div', { class: 'listening', role: 'note' },
        h('p', { class: 'listening-title', text: t('consultation.listening_title') }),
        h('p', { class: 'listening-text', text: t('consultation.listening_text') }),
        h('div', { class: 'recadrage-box' }, recadrageBtn, recadrageCount, recadrageSeen,
            h('p', { class: 'hint', text: t('consultation.recadrage_hint') }))) : null;
    const recall = createRecall(ctx);

    const counts = h('ul', { class: 'counts', 'aria-label': t('consultation.counts') });
    const stack = list('stack', t('consultation.stack'));
    const none = emptyNote(t('consultation.none'));
    const stackTitle = h('h2', { class: 'block-title', id: 'stack-title' });
    const el = h('div', { class: ['step-panel', 'step-consultation', listens ? 'is-listening' : null] },
        listening, parkedBox, comp && comp.el,
        h('section', { class: 'block block-stack', 'aria-labelledby': 'stack-title' }, stackTitle, stack, none, counts),
        recall.el);
    let mounted = false;

    function update() {
        const s = ctx.s;
        recall.update();
        updateParked(s);
        const c = currentConsultation(s.room);
        const n = (c && c.recadrages) || 0;
        setText(recadrageCount, n ? t('consultation.recadrage_sent', { n }) : '');
        const seen = n > 0 && ((c && c.recadrages_seen) || 0) >= n;
        setText(recadrageSeen, seen ? t('consultation.recadrage_seen') : '');
        const cards = cardsOf(s, 'contribution');
        setText(stackTitle, t('consultation.stack_count', { n: cards.length }));
        none.hidden = cards.length > 0;
        // Withdrawn cards keep their place in the stack, not in the counts.
        const kept = cards.filter((x) => !x.withdrawn);
        const per = consultants(s).map((m) => ({ m, n: kept.filter((x) => x.author === m.id).length }));
        for (const card of kept) {
            if (!per.some((p) => p.m.id === card.author)) per.push({ m: { id: card.author, name: memberName(s, card.author) }, n: kept.filter((x) => x.author === card.author).length });
        }
        reconcile(counts, per, (p) => p.m.id, () => h('li', { class: 'count' }, h('span', { class: 'count-name' }), h('span', { class: 'count-n' })), (li, p) => {
            setText(li.querySelector('.count-name'), p.m.name);
            setText(li.querySelector('.count-n'), String(p.n));
            li.setAttribute('aria-label', t('consultation.count_label', { name: p.m.name, n: p.n }));
        });
        const added = reconcile(stack, cards.slice().reverse(), (x) => x.id,
            (card) => contributionNode(ctx, card, may(s, 'mark_set')), (li, card) => updateContribution(li, card, ctx));
        if (mounted) {
            for (const card of added) {
                const li = stack.querySelector(`[data-card-id="${card.id}"]`);
                if (li) li.classList.add('card-enter');
            }
        }
        mounted = true;
    }
    update();
    return { el, update };
}
