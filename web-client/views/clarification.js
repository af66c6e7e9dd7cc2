// views/clarification.js - step 2: consultants ask questions that help
// understand (not advice); the client answers and may amend the problem;
// the facilitator flags "advice in disguise".

import { h, setText, toggle, reconcile } from '../dom.js';
import { t } from '../i18n.js';
import { may, cardsOf } from '../state.js';
import { composer, byline, section, emptyNote, tagNode, list, updateCard } from './common.js';
import { problemBlock, problemComposer } from './expose.js';

export function createClarification(ctx) {
    const problem = problemBlock(ctx);
    const amend = may(ctx.s, 'problem_set') ? problemComposer(ctx, 'clarification.amend_label') : null;
    const ask = may(ctx.s, 'question_ask') ? composer(ctx, {
        key: `question:${ctx.s.room.consultation}`, name: 'question', label: t('clarification.ask_label'),
        hint: t('clarification.ask_hint'), placeholder: t('clarification.ask_placeholder'), submit: t('clarification.ask_submit'), rows: 2,
        onSubmit: (text) => ctx.send('question_ask', { text }),
    }) : null;
    const questions = list('questions', t('clarification.questions'));
    const none = emptyNote(t('clarification.none'));
    const el = h('div', { class: 'step-panel step-clarification' },
        // The questions (and the answer forms) first, the exposé after.
        section(t('clarification.questions'), ask && ask.el, questions, none),
        h('details', { class: 'block problem-details', open: true },
            h('summary', { class: 'block-title', text: t('expose.title') }), problem.el,
            amend ? h('details', { class: 'amend' }, h('summary', { class: 'btn btn-small', text: t('clarification.amend') }), amend.el) : null));

    function createQuestion(card) {
        const li = h('li', { class: 'card card-question', 'data-card-id': card.id },
            h('div', { class: 'card-head' }, byline(ctx, card), h('span', { class: 'flag-slot' })),
            h('p', { class: 'card-text', text: card.text }),
            h('div', { class: 'answer' }, h('p', { class: 'answer-label' }), h('p', { class: 'answer-text' })),
            h('div', { class: 'card-actions' }));
        if (may(ctx.s, 'question_answer')) {
            const form = composer(ctx, {
                key: `answer:${card.id}`, name: 'answer', label: t('clarification.answer_label'), submit: t('clarification.answer_submit'), rows: 2,
                className: 'composer-inline',
                onSubmit: (text) => ctx.send('question_answer', { card_id: card.id, text }),
            }).el;
            // Once answered, the form folds away behind "change the answer".
            li.querySelector('.card-actions').append(h('details', { class: 'answer-edit', open: true },
                h('summary', { class: 'btn btn-small' }), form));
        }
        if (may(ctx.s, 'question_flag')) {
            li.querySelector('.card-actions').append(h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'flag',
                onclick: () => {
                    const cur = ctx.s.room.cards.find((c) => c.id === card.id);
                    ctx.act('question_flag', { card_id: card.id, flagged: !(cur && cur.flagged) });
                } }));
        }
        return li;
    }

    function updateQuestion(li, card) {
        updateCard(ctx, li, card);
        const actions = li.querySelector(':scope > .card-actions');
        if (actions) actions.hidden = Boolean(card.withdrawn);
        li.querySelector('.answer').hidden = Boolean(card.withdrawn);
        const flagSlot = li.querySelector('.flag-slot');
        if (card.flagged && !flagSlot.firstChild) flagSlot.append(tagNode('flagged', t('clarification.flagged')));
        if (!card.flagged) flagSlot.replaceChildren();
        toggle(li, 'is-flagged', card.flagged);
        const answered = card.answer !== null && card.answer !== undefined && card.answer !== '';
        setText(li.querySelector('.answer-label'), answered ? t('clarification.answer') : t('clarification.unanswered'));
        setText(li.querySelector('.answer-text'), answered ? card.answer : '');
        toggle(li.querySelector('.answer'), 'is-pending', !answered);
        const edit = li.querySelector('.answer-edit');
        if (edit) {
            const summary = edit.querySelector('summary');
            summary.hidden = !answered;
            setText(summary, t('clarification.answer_again'));
            if (answered && li.dataset.answered !== 'yes') edit.open = false;
            if (!answered) edit.open = true;
            li.dataset.answered = answered ? 'yes' : 'no';
        }
        const flagBtn = li.querySelector('[data-action=flag]');
        if (flagBtn) {
            setText(flagBtn, card.flagged ? t('clarification.unflag') : t('clarification.flag'));
            flagBtn.setAttribute('aria-pressed', card.flagged ? 'true' : 'false');
        }
    }

    function update() {
        problem.update();
        const cards = cardsOf(ctx.s, 'question');
        none.hidden = cards.length > 0;
        reconcile(questions, cards, (c) => c.id, createQuestion, updateQuestion);
    }
    update();
    return { el, update };
}
