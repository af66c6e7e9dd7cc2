// views/controls.js - the facilitator's other tools, under the step's
// work (previous / next and pause are in the sticky bar, header.js): the
// clock (+1, +5 min, set), a new consultation after learning, closing the
// session. Shown to the facilitator only; the server refuses
// these commands from anyone else anyway.

import { h, setText } from '../dom.js';
import { t } from '../i18n.js';
import { confirmDialog, minutesDialog } from './dialog.js';
import { may, remainingMs } from '../state.js';

export function createControls(ctx) {
    const btn = (action, onclick, cls = '') => h('button', { type: 'button', class: ['btn', cls], 'data-action': action, onclick });
    const plus1 = btn('timer-plus1', () => ctx.act('timer_add', { seconds: 60 }));
    const plus5 = btn('timer-plus5', () => ctx.act('timer_add', { seconds: 300 }));
    const set = btn('timer-set', async () => {
        const rem = Math.max(0, Math.round((remainingMs(ctx.s) || 0) / 60000));
        const n = await minutesDialog({ title: t('fac.set_title'), label: t('fac.set_label'), value: rem });
        if (n !== null) ctx.act('timer_set', { seconds: Math.round(n * 60) });
    });
    const newConsultation = btn('consultation-new', () => ctx.act('consultation_new'));
    const close = btn('session-close', async () => {
        const ok = await confirmDialog({ title: t('fac.close_title'), text: t('fac.close_text'), ok: t('fac.close'), danger: true });
        if (ok) ctx.act('session_close');
    }, 'btn-danger-quiet');
    const title = h('h2', { class: 'controls-title', id: 'controls-title' });
    const el = h('section', { class: 'controls', 'aria-labelledby': 'controls-title' },
        title,
        h('div', { class: 'controls-row', role: 'group', 'aria-label': t('fac.clock_group') }, plus1, plus5, set),
        h('div', { class: 'controls-row' }, newConsultation),
        h('div', { class: 'controls-row controls-end' }, close));

    function update() {
        const s = ctx.s;
        const r = s.room;
        el.hidden = !r || !may(s, 'step_next');
        if (el.hidden) return;
        setText(title, t('fac.title'));
        newConsultation.hidden = r.step !== 'learning';
        setText(newConsultation, t('fac.new_consultation'));
        setText(plus1, t('fac.plus1'));
        setText(plus5, t('fac.plus5'));
        setText(set, t('fac.set'));
        setText(close, t('fac.close'));
    }
    update();
    return { el, update };
}
