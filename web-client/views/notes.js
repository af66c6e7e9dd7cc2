// views/notes.js - the private notes panel: open from any step (closed
// too, to read), seen only by their author (the server sends a note to no
// one else). A closed session takes no new note (session_closed).
// It no longer covers the room (issue 12): a non-modal dialog, a side panel
// at 1000 px and wider (the room makes room for it), a sheet at the bottom
// below that, so the sticky bar and the step's work stay visible and usable.

import { h, setText, reconcile } from '../dom.js';
import { t } from '../i18n.js';
import { cardsOf } from '../state.js';
import { composer, byline } from './common.js';
import { recordNode, isEmpty } from '../record.js';
import { recordActions } from './closed.js';

export function createNotes(ctx) {
    const ul = h('ul', { class: 'cards notes-list' });
    const empty = h('p', { class: 'empty' });
    const noRoom = h('p', { class: 'empty' });
    const comp = composer(ctx, {
        key: 'note', name: 'note', label: t('notes.label'), submit: t('notes.submit'), rows: 3,
        onSubmit: (text) => ctx.send('note_post', { text }),
    });
    const closeBtn = h('button', { type: 'button', class: 'btn', 'data-action': 'notes-close', text: t('notes.close'), onclick: () => el.close() });
    const el = h('dialog', { class: 'drawer', 'aria-labelledby': 'notes-title' },
        h('div', { class: 'drawer-head' },
            h('h2', { id: 'notes-title', text: t('notes.title') }), closeBtn),
        h('p', { class: 'hint', text: t('notes.private') }),
        noRoom, comp.el, empty, ul);
    const recordSlot = h('div', { class: 'notes-record' });
    el.append(recordSlot);
    let shownRecord = null;
    // Non-modal: Escape closes it by hand, and the focus goes back to the
    // button that opened it.
    let opener = null;
    el.addEventListener('keydown', (e) => {
        if (e.key === 'Escape') { e.preventDefault(); el.close(); }
    });
    el.addEventListener('close', () => {
        document.body.classList.remove('notes-open');
        if (opener && opener.isConnected) opener.focus();
        opener = null;
    });

    function update() {
        const s = ctx.s;
        comp.el.hidden = !s.room || s.room.step === 'closed';
        noRoom.hidden = Boolean(s.room);
        setText(noRoom, t('notes.no_session'));
        const notes = cardsOf(s, 'note').slice().reverse();
        empty.hidden = notes.length > 0 || !s.room;
        setText(empty, t('notes.none'));
        reconcile(ul, notes, (c) => c.id, (c) => h('li', { class: 'card card-note' },
            byline(ctx, c), h('p', { class: 'card-text', text: c.text })));
        // The record of the last closed session, once a new one replaced it.
        const rec = ctx.loadRecord();
        const show = !isEmpty(rec) && s.room && s.room.step !== 'closed' && rec.session_id !== s.room.session_id ? rec : null;
        const key = show ? show.session_id : null;
        if (key !== shownRecord) {
            shownRecord = key;
            recordSlot.replaceChildren();
            if (show) {
                recordSlot.append(h('details', { class: 'block' },
                    h('summary', { class: 'block-title', text: t('nosession.last_record') }),
                    recordActions(show), recordNode(show)));
            }
        }
    }
    update();
    return {
        el,
        update,
        open() {
            opener = document.activeElement;
            if (!el.open) el.show();
            document.body.classList.add('notes-open');
            comp.textarea.focus();
        },
    };
}
