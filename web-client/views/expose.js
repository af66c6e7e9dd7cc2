// views/expose.js - step 1: only the client speaks. The client writes the
// problem statement; everyone else reads it (and may take private notes).

import { h, setText } from '../dom.js';
import { t } from '../i18n.js';
import { may, currentConsultation, memberName } from '../state.js';
import { composer, section } from './common.js';
import { myDraft } from './between.js';

/** The problem statement as everyone sees it (also used by later steps). */
export function problemBlock(ctx) {
    const text = h('p', { class: 'problem-text long-text' });
    const by = h('p', { class: 'card-by' });
    const el = h('div', { class: 'problem' }, by, text);
    return {
        el,
        update() {
            const s = ctx.s;
            const c = currentConsultation(s.room);
            const has = c && c.problem;
            setText(by, c && c.client ? t('expose.by', { name: memberName(s, c.client) }) : '');
            setText(text, has ? c.problem : t('expose.none'));
            text.classList.toggle('empty', !has);
        },
    };
}

export function problemComposer(ctx, labelKey) {
    const c = currentConsultation(ctx.s.room);
    return composer(ctx, {
        key: `problem:${ctx.s.room.consultation}`, name: 'problem', label: t(labelKey), placeholder: t('expose.placeholder'),
        submit: t('expose.submit'), rows: 8, long: true, keepAfterSend: true, initial: (c && c.problem) || '',
        onSubmit: (text) => ctx.send('problem_set', { text }),
    });
}

export function createExpose(ctx) {
    const problem = problemBlock(ctx);
    const comp = may(ctx.s, 'problem_set') ? problemComposer(ctx, 'expose.label') : null;
    // The client's exposé prepared in advance (theirs alone) fills an empty composer.
    const offer = h('p', { class: 'hint draft-offer', hidden: true, text: t('between.draft_offer') });
    if (comp) {
        const area = comp.el.querySelector('textarea');
        const c = currentConsultation(ctx.s.room);
        if (!area.value && !(c && c.problem)) {
            myDraft(ctx).then((text) => {
                if (text && !area.value) {
                    area.value = text;
                    area.dispatchEvent(new Event('input'));
                    offer.hidden = false;
                }
            });
        }
    }
    const el = h('div', { class: 'step-panel step-expose' },
        comp ? section(t('expose.write_title'), offer, comp.el) : null,
        section(t('expose.title'), problem.el),
        !comp ? h('p', { class: 'listen-note' }, h('span', { text: t('expose.listen') }), ' ',
            h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'open-notes', text: t('notes.open'), onclick: () => ctx.openNotes() })) : null);
    function update() { problem.update(); }
    update();
    return { el, update };
}
