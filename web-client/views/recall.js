// views/recall.js - "Rappel : exposé et réponses": the case at hand during
// the consultation and the synthesis. A fold (closed at first) with the
// client's problem statement and the clarification questions that got an
// answer, so that a consultant can re-read the case and a late joiner gets
// the context. Read-only; the cards come from the room like everything else.

import { h, setText, reconcile } from '../dom.js';
import { t } from '../i18n.js';
import { cardsOf, memberName } from '../state.js';
import { problemBlock } from './expose.js';
import { emptyNote } from './common.js';

export function createRecall(ctx) {
    const problem = problemBlock(ctx);
    const answers = h('ul', { class: 'cards recall-answers', 'aria-label': t('recall.answers') });
    const none = emptyNote(t('recall.no_answer'));
    const el = h('details', { class: 'block recall', 'data-recall': '' },
        h('summary', { class: 'block-title', text: t('recall.title') }),
        problem.el,
        h('h3', { class: 'recall-subtitle', text: t('recall.answers') }),
        answers, none);

    function update() {
        const s = ctx.s;
        problem.update();
        const qs = cardsOf(s, 'question', s.room.consultation)
            .filter((q) => q.answer !== null && q.answer !== undefined && q.answer !== '');
        none.hidden = qs.length > 0;
        reconcile(answers, qs, (q) => q.id, () => h('li', { class: 'card recall-item' },
            h('p', { class: 'recall-q' }, h('span', { class: 'card-author' }), ' ', h('span', { class: 'recall-q-text' })),
            h('p', { class: 'recall-a' })), (li, q) => {
            setText(li.querySelector('.card-author'), t('recall.asked_by', { name: memberName(s, q.author) }));
            setText(li.querySelector('.recall-q-text'), q.text);
            setText(li.querySelector('.recall-a'), q.answer);
        });
    }
    update();
    return { el, update };
}
