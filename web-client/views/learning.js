// views/learning.js - step 6: everyone, facilitator included, says what
// the session taught them, about the process and about the content. Each
// entry also goes to its author's learning journal.

import { h, reconcile } from '../dom.js';
import { t } from '../i18n.js';
import { may, cardsOf } from '../state.js';
import { composer, cardNode, section, emptyNote, choice, choiceValue, list, updateCard } from './common.js';
import { confirmDialog } from './dialog.js';

export function createLearning(ctx) {
    const can = may(ctx.s, 'learning_post');
    const dim = choice('dimension', t('learning.dim_legend'),
        ['process', 'content'].map((d) => ({ value: d, label: t(`dims.${d}`) })), 'content');
    const comp = can ? composer(ctx, {
        key: `learning:${ctx.s.room.consultation}`, name: 'learning', label: t('learning.label'),
        placeholder: t('learning.placeholder'), submit: t('learning.submit'), rows: 2, extra: dim,
        onSubmit: (text) => ctx.send('learning_post', { dimension: choiceValue(dim) || 'content', text }),
    }) : null;
    const process = list('learning-process', t('dims.process'));
    const content = list('learning-content', t('dims.content'));
    const noProcess = emptyNote(t('learning.none'));
    const noContent = emptyNote(t('learning.none'));
    const next = h('div', { class: 'block learning-next' },
        h('p', { class: 'hint', text: t('learning.next_hint') }),
        h('button', { type: 'button', class: 'btn btn-primary', 'data-action': 'consultation-new-panel', text: t('fac.new_consultation'),
            onclick: () => ctx.act('consultation_new') }),
        ' ',
        h('button', { type: 'button', class: 'btn btn-danger-quiet', 'data-action': 'session-close-panel', text: t('fac.close'),
            onclick: async () => {
                if (await confirmDialog({ title: t('fac.close_title'), text: t('fac.close_text'), ok: t('fac.close'), danger: true })) ctx.act('session_close');
            } }));
    const el = h('div', { class: 'step-panel step-learning' },
        comp && comp.el,
        h('div', { class: 'columns' },
            section(t('dims.process'), process, noProcess),
            section(t('dims.content'), content, noContent)),
        next);

    function update() {
        const s = ctx.s;
        next.hidden = !may(s, 'consultation_new');
        const cards = cardsOf(s, 'learning');
        const p = cards.filter((c) => c.dimension === 'process');
        const c = cards.filter((x) => x.dimension !== 'process');
        noProcess.hidden = p.length > 0;
        noContent.hidden = c.length > 0;
        reconcile(process, p, (x) => x.id, (card) => cardNode(ctx, card), (li, card) => updateCard(ctx, li, card));
        reconcile(content, c, (x) => x.id, (card) => cardNode(ctx, card), (li, card) => updateCard(ctx, li, card));
    }
    update();
    return { el, update };
}
