// views/nosession.js - the group has no open session: the facilitator opens
// one (WS session_open) and shares the invite link; the others wait. The
// record of the last closed session, if this tab kept one, stays here.

import { h, setText } from '../dom.js';
import { t } from '../i18n.js';
import { isFacilitator } from '../state.js';
import { section, copyField } from './common.js';
import { recordActions, journalBlock } from './closed.js';
import { recordNode, isEmpty } from '../record.js';
import { createBetween } from './between.js';

export function createNoSession(ctx) {
    const fac = isFacilitator(ctx.s);
    const lead = h('p', { class: 'closed-lead' });
    const openBtn = h('button', { type: 'button', class: 'btn btn-primary btn-big', 'data-action': 'session-open',
        text: t('nosession.open'), onclick: () => ctx.act('session_open') });
    const invite = ctx.inviteLink() ? section(t('nosession.invite_title'),
        h('p', { class: 'hint', text: t('menu.invite_hint') }),
        copyField(ctx.copy, { id: 'invite-link', label: t('menu.invite_link'), value: ctx.inviteLink(),
            button: t('menu.copy_invite'), action: 'copy-invite-main' }).el) : null;
    const rec = ctx.loadRecord();
    const el = h('div', { class: 'step-panel step-none' },
        h('section', { class: 'block now-none' }, h('h1', { class: 'now-title', text: t('nosession.title') }), lead, fac ? openBtn : null),
        invite,
        !isEmpty(rec) ? h('details', { class: 'block' }, h('summary', { class: 'block-title', text: t('nosession.last_record') }),
            recordActions(rec), recordNode(rec)) : null,
        createBetween(ctx).el,
        journalBlock(ctx));
    function update() {
        setText(lead, fac ? t('nosession.lead_fac') : t('nosession.lead'));
    }
    update();
    return { el, update };
}
