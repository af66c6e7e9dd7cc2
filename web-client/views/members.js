// views/members.js - who is here (role, presence) and the raised hands in
// the order they went up. The facilitator also gets, per member: name as
// client (in the topic step), co-facilitator (who takes over if the
// facilitator is away), hand over facilitation, observer on/off, remove;
// and can lower anyone's hand.

import { h, setText, toggle, reconcile } from '../dom.js';
import { t } from '../i18n.js';
import { roleOf, myId, may, memberName } from '../state.js';
import { confirmDialog } from './dialog.js';

const ROLE_ORDER = { facilitator: 0, client: 1, consultant: 2, observer: 3 };

export function createHands(ctx) {
    const ol = h('ol', { class: 'hands-list' });
    const empty = h('p', { class: 'empty' });
    const title = h('h2', { class: 'block-title', id: 'hands-title' });
    const el = h('section', { class: 'block hands', 'aria-labelledby': 'hands-title' }, title, ol, empty);
    function update() {
        const s = ctx.s;
        const r = s.room;
        el.hidden = !r || r.step === 'closed';
        if (el.hidden) return;
        setText(title, t('hands.title_count', { n: r.hands.length }));
        toggle(el, 'is-empty', r.hands.length === 0);
        empty.hidden = r.hands.length > 0;
        setText(empty, t('hands.none'));
        // Lowering another's hand is checked as removing a member (room.h).
        const fac = may(s, 'member_remove');
        const giving = may(s, 'floor_give') && !(r.round && r.round.active);
        reconcile(ol, r.hands, (id) => id, (id) => {
            const lower = h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'hand-lower',
                onclick: () => ctx.act('hand_lower', id === myId(ctx.s) ? {} : { member_id: id }) });
            // Issue 13: the facilitator gives the floor from the queue (the hand goes down).
            const give = h('button', { type: 'button', class: 'btn btn-small btn-primary', 'data-action': 'hand-give-floor',
                onclick: () => ctx.act('floor_give', { member_id: id }) });
            return h('li', { class: 'hand', 'data-member-id': id }, h('span', { class: 'hand-name' }), give, lower);
        }, (li, id) => {
            setText(li.querySelector('.hand-name'), memberName(s, id));
            const give = li.querySelector('[data-action="hand-give-floor"]');
            give.hidden = !giving;
            setText(give, t('floor.give'));
            give.setAttribute('aria-label', t('floor.give_to', { name: memberName(s, id) }));
            const lower = li.querySelector('[data-action="hand-lower"]');
            lower.hidden = !(fac || id === myId(s));
            setText(lower, id === myId(s) ? t('hands.lower_mine') : t('hands.lower'));
            lower.setAttribute('aria-label', t('hands.lower_label', { name: memberName(s, id) }));
        });
    }
    update();
    return { el, update };
}

export function createMembers(ctx) {
    const ul = h('ul', { class: 'members-list' });
    const title = h('h2', { class: 'block-title', id: 'members-title' });
    const el = h('section', { class: 'block members', 'aria-labelledby': 'members-title' }, title, ul);

    function actions(m) {
        const s = ctx.s;
        const theirs = roleOf(s, m.id); // the role of the member acted on, not mine
        const items = [];
        const b = (action, label, fn, cls) => h('button', { type: 'button', class: ['btn btn-small', cls], 'data-action': action, text: label, onclick: fn });
        if (may(s, 'client_assign') && theirs === 'consultant') {
            items.push(b('assign-client', t('members.assign_client'), () => ctx.act('client_assign', { member_id: m.id })));
        }
        if (may(s, 'cofacilitator_set') && theirs !== 'observer') {
            const named = s.room.cofacilitator === m.id;
            items.push(b('cofacilitator', named ? t('members.cofac_clear') : t('members.cofac_set'),
                () => ctx.act('cofacilitator_set', named ? {} : { member_id: m.id })));
        }
        if (theirs !== 'observer' && theirs !== 'client') {
            items.push(b('handover', t('members.handover'), async () => {
                if (await confirmDialog({ title: t('members.handover_title', { name: m.name }), text: t('members.handover_text'), ok: t('members.handover') })) {
                    ctx.act('facilitator_handover', { member_id: m.id });
                }
            }));
        }
        items.push(b('observer', m.observer ? t('members.observer_off') : t('members.observer_on'),
            () => ctx.act('role_set', { member_id: m.id, observer: !m.observer })));
        items.push(b('remove', t('members.remove'), async () => {
            if (await confirmDialog({ title: t('members.remove_title', { name: m.name }), text: t('members.remove_text'), ok: t('members.remove'), danger: true })) {
                ctx.act('member_remove', { member_id: m.id });
            }
        }, 'btn-danger-quiet'));
        return items;
    }

    function update() {
        const s = ctx.s;
        el.hidden = Boolean(s.room && s.room.step === 'closed');
        if (el.hidden) return;
        const list = (s.room ? s.room.members : s.groupMembers).slice();
        const me = myId(s);
        list.sort((a, b) => (ROLE_ORDER[roleOf(s, a.id)] - ROLE_ORDER[roleOf(s, b.id)])
            || (a.id === me ? -1 : b.id === me ? 1 : 0) || a.name.localeCompare(b.name));
        const online = list.filter((m) => m.online || m.id === me).length;
        setText(title, t('members.title', { n: list.length, online }));
        const fac = may(s, 'member_remove');
        reconcile(ul, list, (m) => m.id, (m) => h('li', { class: 'member', 'data-member-id': m.id },
            h('span', { class: 'presence', 'aria-hidden': 'true' }),
            h('span', { class: 'member-name' }),
            h('span', { class: 'tag member-role' }),
            h('span', { class: 'tag member-cofac' }),
            h('span', { class: 'sr-only member-presence' }),
            h('span', { class: 'member-actions' })), (li, m) => {
            const role = roleOf(s, m.id);
            const on = Boolean(m.online) || m.id === me;
            toggle(li, 'is-online', on);
            toggle(li, 'is-me', m.id === me);
            setText(li.querySelector('.member-name'), m.id === me ? t('members.me', { name: m.name }) : m.name);
            const tag = li.querySelector('.member-role');
            setText(tag, t(`roles.${role}`));
            tag.className = `tag member-role role-${role}`;
            const cofac = li.querySelector('.member-cofac');
            cofac.hidden = !(s.room && s.room.cofacilitator === m.id);
            setText(cofac, t('members.cofac_tag'));
            setText(li.querySelector('.member-presence'), on ? t('members.online') : t('members.offline'));
            const slot = li.querySelector('.member-actions');
            const key = fac && m.id !== me ? `${role}|${m.observer}|${s.room.step}|${s.room.cofacilitator === m.id}|${t('members.remove')}` : '';
            if (slot.dataset.key !== key) {
                slot.dataset.key = key;
                slot.replaceChildren();
                if (key) {
                    slot.append(h('details', { class: 'member-menu' },
                        h('summary', { class: 'btn btn-small', 'aria-label': t('members.actions_for', { name: m.name }), text: t('members.actions') }),
                        h('div', { class: 'member-menu-panel' }, actions(m))));
                }
            }
        });
    }
    update();
    return { el, update };
}
