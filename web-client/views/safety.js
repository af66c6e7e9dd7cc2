// views/safety.js - the facilitator's safety net (proto/README.md 2.3):
// the facilitator who was away may take the role back (facilitator_reclaim,
// offered only to them: the room's facilitator_away), and a member the
// server offers facilitation while the facilitator is away may accept it
// (facilitator_accept). Both stay at the top of the room until done.

import { h, setText } from '../dom.js';
import { t } from '../i18n.js';
import { myId, may, memberName } from '../state.js';

export function createSafetyNet(ctx) {
    const reclaimText = h('p');
    const reclaim = h('button', { type: 'button', class: 'btn btn-primary', 'data-action': 'facilitator-reclaim',
        onclick: () => ctx.act('facilitator_reclaim') });
    const reclaimBox = h('section', { class: 'block safety', 'data-safety': 'reclaim' }, reclaimText, reclaim);
    const offerTitle = h('h2', { class: 'block-title', id: 'offer-title' });
    const offerText = h('p');
    const accept = h('button', { type: 'button', class: 'btn btn-primary', 'data-action': 'facilitator-accept',
        onclick: () => ctx.act('facilitator_accept') });
    const offerBox = h('section', { class: 'block safety', 'data-safety': 'offer', 'aria-labelledby': 'offer-title' },
        offerTitle, offerText, accept);
    const el = h('div', { class: 'safety-net' }, reclaimBox, offerBox);

    function update() {
        const s = ctx.s;
        const r = s.room;
        const open = Boolean(r && r.step !== 'closed');
        reclaimBox.hidden = !(open && r.facilitator_away && r.facilitator_away === myId(s) && may(s, 'facilitator_reclaim'));
        if (!reclaimBox.hidden) {
            setText(reclaimText, t('safety.reclaim_text', { name: memberName(s, r.facilitator) }));
            setText(reclaim, t('safety.reclaim'));
        }
        offerBox.hidden = !(open && s.offer);
        if (!offerBox.hidden) {
            setText(offerTitle, t('safety.offer_title'));
            setText(offerText, t('safety.offer_text'));
            setText(accept, t('safety.offer_accept'));
        }
        el.hidden = reclaimBox.hidden && offerBox.hidden;
    }
    update();
    return { el, update };
}
