// views/clarification.js - step 2: consultants ask questions that help
// understand (not advice); the client answers and may amend the problem;
// the facilitator flags "advice in disguise".
// The advice line: while a consultant types, a pause (ADVICE_PAUSE_MS)
// sends question_check; when the server says the draft looks like advice,
// a gentle hint offers to send anyway, reword, or park it (question_park: a
// private note the consultation composer offers back). The verdict of a
// posted question reaches only its author and the facilitator, whose card
// shows it next to the "conseil déguisé" flag.

import { h, setText, toggle, reconcile } from '../dom.js';
import { t } from '../i18n.js';
import { may, cardsOf } from '../state.js';
import { composer, byline, section, emptyNote, tagNode, list, updateCard } from './common.js';

/** The pause in typing after which a draft question is checked. */
export const ADVICE_PAUSE_MS = 400;

/** The cue of a question_check ack or a card's advice_cues, or ''. */
function cueOf(cues) {
    return Array.isArray(cues) && cues.length ? cues[0].cue : '';
}

/**
 * Watches the question composer: after each pause in typing, asks the
 * server whether the draft looks like advice and shows the hint with its
 * three ways out. Returns {el}.
 */
function adviceHint(ctx, ask) {
    const text = h('p', { class: 'advice-hint-text' });
    const cue = h('p', { class: 'advice-hint-cue hint' });
    const status = h('p', { class: 'advice-hint-status hint', role: 'status' });
    const box = h('div', { class: 'advice-hint', role: 'status', 'aria-live': 'polite', hidden: true },
        text, cue,
        h('div', { class: 'advice-hint-actions' },
            h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'advice-send', text: t('clarification.advice_send'),
                onclick: () => { hide(); ask.el.requestSubmit(); } }),
            h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'advice-reword', text: t('clarification.advice_reword'),
                onclick: () => { hide(); ask.textarea.focus(); } }),
            may(ctx.s, 'question_park') ? h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'advice-park', text: t('clarification.advice_park'),
                onclick: park }) : null));
    const el = h('div', { class: 'advice-line' }, box, status);
    let timer = null;
    let asked = 0; // the latest check: older answers are ignored
    let answered = 0; // answers taken into account (data-checked, for tests)

    function hide() {
        box.hidden = true;
    }

    function show(cueText) {
        setText(text, t('clarification.advice_hint'));
        setText(cue, cueText ? t('clarification.advice_cue', { cue: cueText }) : '');
        box.hidden = false;
    }

    function check() {
        const draft = ask.textarea.value.trim();
        const mine = ++asked;
        if (!draft) {
            hide();
            return;
        }
        ctx.query('question_check', { text: draft }).then((ack) => {
            if (mine !== asked || ask.textarea.value.trim() !== draft) return;
            if (ack.advice_like) show(cueOf(ack.cues));
            else hide();
            el.dataset.checked = String(++answered);
        }, () => {
            // Refused (rate, length, step): no hint rather than a wrong one.
            if (mine === asked) hide();
        });
    }

    function park() {
        const draft = ask.textarea.value.trim();
        if (!draft) return;
        ctx.send('question_park', { text: draft }).then(() => {
            if (ask.textarea.value.trim() === draft) {
                ask.textarea.value = '';
                ask.textarea.dispatchEvent(new Event('input'));
            }
            hide();
            setText(status, t('clarification.parked'));
        }, (err) => setText(status, err && err.code ? ctx.errorText(err.code) : ''));
    }

    ask.textarea.addEventListener('input', () => {
        clearTimeout(timer);
        asked++; // an answer about the text before this keystroke is stale
        setText(status, '');
        timer = setTimeout(check, ADVICE_PAUSE_MS);
    });
    // A question sent (or the draft cleared) needs no hint any more.
    ask.el.addEventListener('submit', () => { clearTimeout(timer); asked++; hide(); });
    return { el };
}
import { problemBlock, problemComposer } from './expose.js';

export function createClarification(ctx) {
    const problem = problemBlock(ctx);
    const amend = may(ctx.s, 'problem_set') ? problemComposer(ctx, 'clarification.amend_label') : null;
    const ask = may(ctx.s, 'question_ask') ? composer(ctx, {
        key: `question:${ctx.s.room.consultation}`, name: 'question', label: t('clarification.ask_label'),
        hint: t('clarification.ask_hint'), placeholder: t('clarification.ask_placeholder'), submit: t('clarification.ask_submit'), rows: 2,
        onSubmit: (text) => ctx.send('question_ask', { text }),
    }) : null;
    const hint = ask && may(ctx.s, 'question_check') ? adviceHint(ctx, ask) : null;
    if (hint) ask.el.append(hint.el);
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
            h('div', { class: 'card-head' }, byline(ctx, card), h('span', { class: 'advice-slot' }), h('span', { class: 'flag-slot' })),
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
        // The server's verdict, sent only to the author and the
        // facilitator: a highlight next to the flag, never a decision.
        const adviceSlot = li.querySelector('.advice-slot');
        const adviceLike = card.advice_like === true;
        toggle(li, 'is-advice-like', adviceLike && !card.flagged);
        if (adviceLike && !adviceSlot.firstChild) {
            const tag = tagNode('advice-like', t('clarification.advice_like'));
            const c = cueOf(card.advice_cues);
            if (c) tag.title = t('clarification.advice_cue', { cue: c });
            adviceSlot.append(tag);
        }
        if (!adviceLike) adviceSlot.replaceChildren();
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
