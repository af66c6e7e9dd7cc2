// views/header.js - the top of the room: the group's name and the
// connection state, the steps as a progress bar, and the current step with
// its purpose in one sentence and the rules of this step for my role.

import { h, setText, toggle, reconcile } from '../dom.js';
import { t } from '../i18n.js';
import { myRole, myId, currentConsultation, consultants, isFacilitator, memberName, may, sessionSteps, formOf } from '../state.js';
import { seenStep, markStepSeen } from '../storage.js';
import { createClock } from './clock.js';
import { copyField, languageButton, formChoice } from './common.js';
import { api } from '../api.js';
import { createFloorBar } from './floor.js';

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
    const display = createDisplayBox(ctx);
    // The group's settings page: the facilitator's, a summary for the others.
    const settings = h('p', { class: 'menu-item' }, h('a', { href: ctx.settingsLink(), 'data-action': 'settings', text: t('menu.settings'),
        onclick: () => { el.open = false; } }));
    const form = createFormBox(ctx);
    const el = h('details', { class: 'menu' },
        h('summary', { class: 'btn btn-quiet', text: t('menu.button') }),
        h('div', { class: 'menu-panel' }, settings, inviteBox, personalBox, form.el, display.el,
            h('p', { class: 'menu-item' }, h('a', { href: '#/', text: t('menu.my_groups') }))));
    el.addEventListener('keydown', (e) => {
        if (e.key === 'Escape' && el.open) { el.open = false; el.querySelector('summary').focus(); }
    });
    function update() {
        const link = ctx.inviteLink();
        inviteBox.hidden = !link;
        invite.input.value = link || '';
        personal.input.value = ctx.personalLink();
        form.update();
        display.update();
    }
    return { el, update };
}

/**
 * My role labels, feminine, masculine or neutral (POST …/members/me): the
 * server keeps the choice with me and tells everyone (member_updated).
 */
function createFormBox(ctx) {
    const status = h('p', { class: 'hint', role: 'status' });
    const choiceEl = formChoice('n', (v) => save(v));
    const el = h('div', { class: 'menu-item', 'data-form-box': '' },
        h('p', { class: 'menu-title', text: t('form.menu_title') }), choiceEl, status);
    async function save(form) {
        setText(status, '');
        try {
            const r = await api.memberMe(ctx.groupId, ctx.memberKey, { form });
            if (ctx.s.you && r.member) ctx.s.you = { ...ctx.s.you, form: r.member.form };
            setText(status, t('form.saved'));
            ctx.refresh && ctx.refresh();
        } catch (e) {
            setText(status, ctx.errorText(e.code));
        }
    }
    function update() {
        const s = ctx.s;
        el.hidden = !s.you;
        const mine = s.you ? formOf(s, myId(s)) : 'n';
        const input = choiceEl.querySelector(`input[value="${mine}"]`);
        if (input && !input.checked && document.activeElement?.name !== 'form') input.checked = true;
    }
    return { el, update };
}

/**
 * The facilitator's display link (proto/README.md 2.1, Displays): create,
 * copy, replace, revoke. The token exists in clear only in the answer that
 * made it, so a link made earlier (group.display) can only be replaced.
 */
function createDisplayBox(ctx) {
    const field = copyField(ctx.copy, { label: t('display.link'), button: t('menu.copy'), action: 'copy-display' });
    const note = h('p', { class: 'hint' });
    const status = h('p', { class: 'hint', role: 'status' });
    const make = h('button', { type: 'button', class: 'btn', 'data-action': 'display-create', onclick: () => create() });
    const revoke = h('button', { type: 'button', class: 'btn btn-danger-quiet', 'data-action': 'display-revoke', onclick: () => remove() });
    const el = h('div', { class: 'menu-item', 'data-display-box': '' },
        h('p', { class: 'menu-title', text: t('display.menu_title') }),
        h('p', { class: 'hint', text: t('display.menu_hint') }),
        field.el, note, h('p', { class: 'inline-form' }, make, revoke), status);
    let link = '';

    async function create() {
        try {
            const r = await api.displayCreate(ctx.groupId, ctx.memberKey);
            link = `${location.origin}/#/display/${ctx.groupId}/${r.display_token}`;
            ctx.s.group = { ...ctx.s.group, display: true };
            setText(status, '');
        } catch (e) {
            setText(status, ctx.errorText(e.code));
        }
        update();
    }
    async function remove() {
        try {
            await api.displayRevoke(ctx.groupId, ctx.memberKey);
            link = '';
            ctx.s.group = { ...ctx.s.group, display: false };
            setText(status, t('display.revoked'));
        } catch (e) {
            setText(status, ctx.errorText(e.code));
        }
        update();
    }
    function update() {
        const s = ctx.s;
        el.hidden = !s.you || !isFacilitator(s);
        const exists = Boolean(s.group && s.group.display);
        if (!exists) link = '';
        field.el.hidden = !link;
        field.input.value = link;
        note.hidden = !exists || Boolean(link);
        setText(note, t('display.active'));
        setText(make, exists ? t('display.replace') : t('display.create'));
        revoke.hidden = !exists;
        setText(revoke, t('display.revoke'));
    }
    update();
    return { el, update };
}

export function createProgress(ctx) {
    const ol = h('ol', { class: 'progress' });
    const el = h('nav', { class: 'progress-wrap', 'aria-label': t('progress.label') }, ol);
    function update() {
        const r = ctx.s.room;
        el.hidden = !r;
        if (!r) return;
        const order = sessionSteps(ctx.s);
        const cur = order.indexOf(r.step);
        reconcile(ol, order, (x) => x, (step) => h('li', { class: 'progress-step', 'data-step': step },
            h('span', { class: 'progress-dot', 'aria-hidden': 'true' }),
            h('span', { class: 'progress-label' })), (li, step) => {
            const i = order.indexOf(step);
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

// Steps whose rules let people speak: a hand means "I would like the floor".
const SPEAKING = new Set(['opening', 'topic', 'clarification', 'contract', 'consultation', 'learning']);

/**
 * The sticky bar of the room (issue 12): the step (number and name), my
 * role, the clock, and for the facilitator previous / pause / next and the
 * whole session's budget against the time spent. It stays at the top of
 * the viewport whatever the scroll, so it holds only what fits one or two
 * lines at 390 px. The purpose of the step and the rules for my role are
 * in a fold under it (help): the first time this browser shows a step, one
 * line (the rules for my role, cut with an ellipsis), folded away after
 * that; the "?" button opens it whole, and folds it again.
 */
export function createStepInfo(ctx) {
    const kicker = h('span', { class: 'now-kicker' });
    const title = h('h1', { class: 'now-title', tabindex: '-1', id: 'now-title' });
    const roleName = h('strong', { class: 'role-name' });
    const role = h('p', { class: 'now-role' }, roleName);
    const helpBtn = h('button', { type: 'button', class: 'btn btn-small btn-help', 'data-action': 'help',
        'aria-controls': 'now-help', onclick: () => { help_ = help_ === 'open' ? 'folded' : 'open'; update(); } });
    const handBtn = h('button', { type: 'button', class: 'btn btn-small btn-hand', 'data-action': 'hand',
        onclick: () => {
            const up = ctx.s.room.hands.includes(myId(ctx.s));
            ctx.act(up ? 'hand_lower' : 'hand_raise');
        } });
    const clock = createClock(ctx);
    const fac = createBarControls(ctx);
    const sessionBudget = h('p', { class: 'session-budget', 'data-session-budget': '' });
    // The client's recadrage signal reaches the facilitator here, whatever
    // the scroll, as an ARIA alert.
    // "Pris en compte" clears it for the facilitator (recadrage_ack) and
    // tells the client, discreetly, that it was seen.
    const recadrageText = h('span', { class: 'recadrage-alert-text' });
    const recadrageAck = h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'recadrage-ack',
        onclick: () => ctx.act('recadrage_ack') });
    const recadrage = h('p', { class: 'recadrage-alert', role: 'alert' }, recadrageText, recadrageAck);
    // Who has the floor and for how long (issue 13), for everyone.
    const floor = createFloorBar(ctx);
    const bar = h('section', { class: 'stepbar', 'aria-labelledby': 'now-title' },
        h('div', { class: 'stepbar-row' },
            h('div', { class: 'stepbar-step' }, kicker, title),
            clock.el),
        h('div', { class: 'stepbar-row stepbar-tools' }, role, helpBtn, handBtn, fac.el, sessionBudget),
        floor.el,
        recadrage);
    const purpose = h('p', { class: 'now-purpose' });
    const rules = h('p', { class: 'now-rules' });
    const help = h('section', { class: 'now-help', id: 'now-help', 'aria-label': t('now.help_label') }, purpose, rules);
    let help_ = 'folded'; // 'line' (one line), 'open' (whole) or 'folded' (hidden)
    let helpStep = '';

    function update() {
        const s = ctx.s;
        const r = s.room;
        if (!r) { bar.hidden = true; help.hidden = true; return; }
        bar.hidden = false;
        const c = currentConsultation(r);
        const my = myRole(s);
        // First view of a step in this browser: one line of help; later, folded.
        if (r.step !== helpStep) {
            helpStep = r.step;
            help_ = r.step !== 'closed' && !seenStep(r.step) ? 'line' : 'folded';
            markStepSeen(r.step);
        }
        const helpOpen = help_ === 'open';
        setText(kicker, c && r.step !== 'opening' ? t('now.consultation', { n: c.index + 1 }) : t('now.session'));
        kicker.hidden = r.step === 'closed';
        setText(title, t(`steps.${r.step}.label`));
        title.dataset.step = r.step;
        setText(purpose, t(`steps.${r.step}.purpose`));
        // Addressed to me: in the form I chose for my roles (French).
        setText(roleName, t(`you_are.${my}_${formOf(s, myId(s))}`));
        setText(rules, t(`rules.${r.step}.${my}`));
        role.hidden = r.step === 'closed';
        help.hidden = help_ === 'folded';
        toggle(help, 'is-line', help_ === 'line');
        helpBtn.hidden = r.step === 'closed';
        setText(helpBtn, t('now.help_button'));
        helpBtn.setAttribute('aria-expanded', helpOpen ? 'true' : 'false');
        helpBtn.setAttribute('aria-label', t(helpOpen ? 'now.help_hide' : 'now.help_show'));
        helpBtn.title = t(helpOpen ? 'now.help_hide' : 'now.help_show');
        // The right is the server's; which steps show the hand is the page's.
        const canHand = may(s, 'hand_raise') && SPEAKING.has(r.step);
        const up = r.hands.includes(myId(s));
        handBtn.hidden = !canHand && !up;
        setText(handBtn, up ? t('hands.lower_mine') : t('hands.raise'));
        handBtn.setAttribute('aria-pressed', up ? 'true' : 'false');
        toggle(handBtn, 'is-up', up);
        fac.update();
        const signals = (c && c.recadrages) || 0;
        const pending = signals - ((c && c.recadrages_seen) || 0);
        recadrage.hidden = !(isFacilitator(s) && r.step === 'consultation' && pending > 0);
        setText(recadrageText, recadrage.hidden ? '' : t('consultation.recadrage_alert', { n: signals, name: memberName(s, c && c.client) }));
        setText(recadrageAck, t('consultation.recadrage_ack'));
        updateBudget();
        clock.update();
        floor.update();
    }

    // Planned: every step of the opening and of each consultation so far;
    // spent: the server's time since the session opened.
    function updateBudget() {
        const s = ctx.s;
        const r = s.room;
        const show = r && isFacilitator(s) && r.step !== 'closed' && r.budgets && r.created_ms && r.clock && r.clock.server_ms;
        sessionBudget.hidden = !show;
        if (!show) return;
        const per = sessionSteps(s).slice(1).reduce((a, k) => a + (r.budgets[k] || 0), 0);
        const planned = (r.budgets.opening || 0) + per * Math.max(1, r.consultations.length);
        const spent = r.clock.server_ms - r.created_ms + (performance.now() - s.clockAt);
        const over = spent > planned;
        toggle(sessionBudget, 'is-over', over);
        setText(sessionBudget, t('now.session_budget', { spent: Math.floor(spent / 60000), planned: Math.round(planned / 60000) }));
    }

    return {
        el: bar,
        help,
        update,
        tick() { clock.update(); updateBudget(); floor.tick(); },
        destroy: clock.destroy,
        focusTitle: () => title.focus(),
    };
}

/** The facilitator's three buttons in the bar: previous, pause/start, next. */
function createBarControls(ctx) {
    const btn = (action, cls, onclick) => h('button', { type: 'button', class: ['btn', 'btn-small', cls], 'data-action': action, onclick });
    const prev = btn('step-prev', null, () => ctx.act('step_prev'));
    const toggleBtn = btn('timer-toggle', null, () => {
        const c = ctx.s.room.clock;
        ctx.act(c && c.running ? 'timer_pause' : 'timer_start');
    });
    const next = btn('step-next', 'btn-primary', () => {
        const st = contractState(ctx.s);
        ctx.act('step_next', st && st.has && !st.all ? { force: true } : undefined);
    });
    const el = h('div', { class: 'stepbar-fac', role: 'group', 'aria-label': t('fac.steps_group') }, prev, toggleBtn, next);
    function update() {
        const s = ctx.s;
        const r = s.room;
        el.hidden = !r || !may(s, 'step_next');
        if (el.hidden) return;
        const order = sessionSteps(s);
        const i = order.indexOf(r.step);
        prev.disabled = r.step === 'opening';
        setText(prev, r.step === 'opening' ? t('fac.prev_short_none') : t('fac.prev_short', { step: t(`steps.${order[i - 1]}.short`) }));
        prev.title = r.step === 'opening' ? t('fac.prev') : t('fac.prev_to', { step: t(`steps.${order[i - 1]}.label`) });
        const running = r.clock && r.clock.running;
        setText(toggleBtn, running ? t('fac.pause_short') : t('fac.start_short'));
        toggleBtn.setAttribute('aria-pressed', running ? 'true' : 'false');
        next.hidden = r.step === 'learning';
        const st = contractState(s);
        if (st && st.has && !st.all) {
            setText(next, t('fac.next_force', { n: st.acked, total: st.total }));
            next.title = t('contract.force');
            toggle(next, 'is-force', true);
        } else {
            setText(next, t('fac.next_short', { step: t(`steps.${order[i + 1] || 'learning'}.short`) }));
            next.title = t('fac.next_to', { step: t(`steps.${order[i + 1] || 'learning'}.label`) });
            toggle(next, 'is-force', false);
        }
    }
    return { el, update };
}

/**
 * The contract's acknowledgements as the server counts them (only
 * connected consultants are waited for): {has, acked, total, all}, or null
 * outside the contract step.
 */
export function contractState(s) {
    const r = s.room;
    if (!r || r.step !== 'contract') return null;
    const c = currentConsultation(r);
    const acked = (c && c.acks) || [];
    const awaited = consultants(s).filter((m) => m.online || acked.includes(m.id));
    const n = awaited.filter((m) => acked.includes(m.id)).length;
    return { has: Boolean(c && c.contract), acked: n, total: awaited.length, all: awaited.length > 0 && n === awaited.length };
}
