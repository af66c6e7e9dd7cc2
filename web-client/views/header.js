// views/header.js - the top of the room: the group's name and the
// connection state, the steps as a progress bar, and the current step with
// its purpose in one sentence and the rules of this step for my role.

import { h, setText, toggle, reconcile } from '../dom.js';
import { t } from '../i18n.js';
import { myRole, myId, currentConsultation } from '../state.js';
import { createClock } from './clock.js';
import { copyField, languageButton } from './common.js';

const BAR = ['opening', 'topic', 'expose', 'clarification', 'contract', 'consultation',
    'synthesis', 'learning'];

export function createTopbar(ctx) {
    const name = h('span', { class: 'topbar-group' });
    const conn = h('span', { class: 'conn', role: 'status' });
    const notesBtn = h('button', { type: 'button', class: 'btn btn-quiet', 'data-action': 'notes',
        'aria-haspopup': 'dialog', onclick: () => ctx.openNotes() });
    const menu = createMenu(ctx);
    const el = h('header', { class: 'topbar' },
        h('a', { class: 'brand', href: '#/', text: t('app.name') }),
        name, conn,
        h('span', { class: 'topbar-actions' }, notesBtn, languageButton(() => ctx.switchLanguage()), menu.el));

    function update() {
        const s = ctx.s;
        setText(name, s.group ? s.group.name : '');
        setText(conn, t(`conn.${ctx.status}`));
        conn.dataset.status = ctx.status;
        const notes = s.room ? s.room.cards.filter((c) => c.type === 'note').length : 0;
        setText(notesBtn, notes ? t('notes.button_count', { n: notes }) : t('notes.button'));
        menu.update();
    }
    update();
    return { el, update };
}

function createMenu(ctx) {
    const invite = copyField(ctx.copy, { label: t('menu.invite_link'), button: t('menu.copy'), action: 'copy-invite' });
    const personal = copyField(ctx.copy, { label: t('menu.personal_link'), button: t('menu.copy'), action: 'copy-personal' });
    const inviteBox = h('div', { class: 'menu-item' },
        h('p', { class: 'menu-title', text: t('menu.invite_link') }),
        h('p', { class: 'hint', text: t('menu.invite_hint') }), invite.el);
    const personalBox = h('div', { class: 'menu-item' },
        h('p', { class: 'menu-title', text: t('menu.personal_link') }),
        h('p', { class: 'hint', text: t('menu.personal_hint') }), personal.el);
    const el = h('details', { class: 'menu' },
        h('summary', { class: 'btn btn-quiet', text: t('menu.button') }),
        h('div', { class: 'menu-panel' }, inviteBox, personalBox,
            h('p', { class: 'menu-item' }, h('a', { href: '#/', text: t('menu.my_groups') }))));
    el.addEventListener('keydown', (e) => {
        if (e.key === 'Escape' && el.open) { el.open = false; el.querySelector('summary').focus(); }
    });
    function update() {
        const link = ctx.inviteLink();
        inviteBox.hidden = !link;
        invite.input.value = link || '';
        personal.input.value = ctx.personalLink();
    }
    return { el, update };
}

export function createProgress(ctx) {
    const ol = h('ol', { class: 'progress' });
    const el = h('nav', { class: 'progress-wrap', 'aria-label': t('progress.label') }, ol);
    function update() {
        const r = ctx.s.room;
        el.hidden = !r;
        if (!r) return;
        const cur = BAR.indexOf(r.step);
        reconcile(ol, BAR, (x) => x, (step) => h('li', { class: 'progress-step', 'data-step': step },
            h('span', { class: 'progress-dot', 'aria-hidden': 'true' }),
            h('span', { class: 'progress-label' })), (li, step) => {
            const i = BAR.indexOf(step);
            const done = r.step === 'closed' || i < cur;
            toggle(li, 'is-done', done);
            toggle(li, 'is-current', i === cur);
            if (i === cur) li.setAttribute('aria-current', 'step'); else li.removeAttribute('aria-current');
            const label = li.querySelector('.progress-label');
            setText(label, t(`steps.${step}.short`));
            li.title = t(`steps.${step}.label`);
            const minutes = Math.round(((r.budgets && r.budgets[step]) || 0) / 60000);
            li.setAttribute('aria-label', `${t(`steps.${step}.label`)}${done ? ` (${t('progress.done')})` : ''}${minutes ? ` · ${t('clock.minutes', { n: minutes })}` : ''}`);
        });
    }
    update();
    return { el, update };
}

/** The current step, its purpose, my role and what it lets me do now. */
export function createStepInfo(ctx) {
    const kicker = h('p', { class: 'now-kicker' });
    const title = h('h1', { class: 'now-title', tabindex: '-1' });
    const purpose = h('p', { class: 'now-purpose' });
    const role = h('p', { class: 'now-role' });
    const roleName = h('strong', { class: 'role-name' });
    const rules = h('span', { class: 'now-rules' });
    role.append(roleName, ' ', rules);
    const handBtn = h('button', { type: 'button', class: 'btn btn-hand', 'data-action': 'hand',
        onclick: () => {
            const up = ctx.s.room.hands.includes(myId(ctx.s));
            ctx.act(up ? 'hand_lower' : 'hand_raise');
        } });
    const clock = createClock(ctx);
    const el = h('section', { class: 'now', 'aria-labelledby': 'now-title' },
        h('div', { class: 'now-main' }, kicker, title, purpose, role, handBtn), clock.el);
    title.id = 'now-title';

    function update() {
        const s = ctx.s;
        const r = s.room;
        if (!r) { el.hidden = true; return; }
        el.hidden = false;
        const c = currentConsultation(r);
        const my = myRole(s);
        setText(kicker, c && r.step !== 'opening' ? t('now.consultation', { n: c.index + 1 }) : t('now.session'));
        kicker.hidden = r.step === 'closed';
        setText(title, t(`steps.${r.step}.label`));
        setText(purpose, t(`steps.${r.step}.purpose`));
        setText(roleName, t('now.you_are', { role: t(`roles.${my}`) }));
        setText(rules, t(`rules.${r.step}.${my}`));
        role.hidden = r.step === 'closed';
        const canHand = r.step !== 'closed'
            && (my === 'consultant' || (my === 'client' && r.step !== 'consultation'));
        const up = r.hands.includes(myId(s));
        handBtn.hidden = !canHand && !up;
        setText(handBtn, up ? t('hands.lower_mine') : t('hands.raise'));
        handBtn.setAttribute('aria-pressed', up ? 'true' : 'false');
        toggle(handBtn, 'is-up', up);
        clock.update();
    }
    update();
    return { el, update, destroy: clock.destroy, focusTitle: () => title.focus() };
}
