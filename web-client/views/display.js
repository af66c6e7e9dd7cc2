// views/display.js - the display screen (#/display/<group>/<token>): what
// the facilitator shares into the video call or shows on a room screen. It
// attaches with the group's display token (proto/README.md 2.1, Displays):
// the server sends the session as every member sees it (never a private
// note), counts it in no presence list and refuses anything it would send.
// Large type for a 1280x720 screen share: the step, the big clock, who has
// the floor (the room's `floor`, proto/README.md 2.3; when nobody has it,
// the raised hands, first one first) and the latest contributions of the step.

import { h, setText, toggle, fill, reconcile } from '../dom.js';
import { t, errorText, currentLanguage, loadLanguage } from '../i18n.js';
import { Connection, wsUrl } from '../net.js';
import { createState, apply, currentConsultation, memberName, remainingMs } from '../state.js';
import { formatDuration } from './common.js';
import { messagePage } from './message.js';

const CARDS_SHOWN = 6;

/** Who has the floor: the room's `floor` ({member_id, since_ms}; a bare
 * member id is taken too), or null when nobody has it. */
export function floorOf(room) {
    const f = room && room.floor;
    if (!f) return null;
    return typeof f === 'string' ? f : f.member_id || null;
}

/** The cards a display shows: those of the current step of the current
 * consultation (or of opening), never a note, newest first. */
function shownCards(room) {
    const cons = room.step === 'opening' ? null : room.consultation;
    return room.cards
        .filter((c) => c.type !== 'note' && c.step === room.step && (c.consultation ?? null) === (cons ?? null))
        .sort((a, b) => b.id - a.id)
        .slice(0, CARDS_SHOWN);
}

/** Mounts the display of group groupId into root. Returns {unmount}. */
export function mountDisplay(root, groupId, token) {
    const s = createState();
    let fatal = null;
    let languageSettled = false;
    const group = h('p', { class: 'display-group' });
    const context = h('p', { class: 'display-context' });
    const step = h('h1', { class: 'display-step', 'data-display-step': '' });
    const clock = h('p', { class: 'display-clock', role: 'timer', 'aria-live': 'off', 'data-display-clock': '' });
    const floorTitle = h('h2', { class: 'display-title' });
    const floor = h('p', { class: 'display-floor-name' });
    const hands = h('ol', { class: 'display-hands' });
    const noHands = h('p', { class: 'display-empty' });
    const cardsTitle = h('h2', { class: 'display-title' });
    const cards = h('ul', { class: 'display-cards' });
    const noCards = h('p', { class: 'display-empty' });
    const status = h('p', { class: 'display-status', role: 'status' });
    const main = h('main', { class: 'display', id: 'main', 'data-display': '' },
        h('header', { class: 'display-head' }, group, context),
        h('div', { class: 'display-now' }, step, clock),
        h('div', { class: 'display-body' },
            h('section', { class: 'display-side' }, floorTitle, floor, hands, noHands),
            h('section', { class: 'display-main' }, cardsTitle, cards, noCards)),
        status);

    const conn = new Connection({
        url: wsUrl(groupId),
        hello: () => ({ type: 'hello', group_id: groupId, display_token: token }),
        onMessage,
        onStatus: (st, detail) => {
            if (st === 'fatal') fatal = detail.code;
            setText(status, st === 'open' ? '' : t(`conn.${st}`));
            render();
        },
        expectTicks: () => Boolean(s.room && s.room.clock && s.room.clock.running),
    });

    async function onMessage(msg) {
        if (msg.type === 'error') {
            if (msg.code === 'bad_display') fatal = msg.code;
            render();
            return;
        }
        apply(s, msg);
        if (msg.type === 'display_welcome' && !languageSettled) {
            languageSettled = true;
            if (s.group && s.group.language && s.group.language !== currentLanguage()) await loadLanguage(s.group.language);
        }
        if (msg.type !== 'tick') render();
    }

    function renderClock() {
        const r = s.room;
        clock.hidden = !r || r.step === 'closed' || !r.clock;
        if (clock.hidden) return;
        const rem = remainingMs(s);
        const over = rem < 0;
        setText(clock, (over ? '+' : '') + formatDuration(over ? -rem : rem + 999));
        toggle(clock, 'is-paused', !r.clock.running);
        toggle(clock, 'is-overrun', over);
    }

    function render() {
        if (fatal) {
            conn.stop();
            clearInterval(timer);
            document.body.classList.remove('display-mode');
            fill(root, messagePage({ title: t('display.fatal_title'),
                text: fatal === 'bad_display' ? t('display.fatal_text') : errorText(fatal) }));
            return;
        }
        document.title = s.group ? `${s.group.name} · ${t('display.title')}` : t('display.title');
        setText(group, s.group ? s.group.name : '');
        const r = s.room;
        if (!r || r.step === 'closed') {
            setText(step, r ? t('display.closed') : t('display.no_session'));
            step.dataset.step = r ? 'closed' : 'none';
            setText(context, '');
            for (const x of [floorTitle, floor, hands, noHands, cardsTitle, cards, noCards]) x.hidden = true;
            renderClock();
            return;
        }
        const c = currentConsultation(r);
        setText(step, t(`steps.${r.step}.label`));
        step.dataset.step = r.step;
        setText(context, c && r.step !== 'opening'
            ? `${t('display.consultation', { n: c.index + 1 })}${c.client ? ` · ${t('display.client', { name: memberName(s, c.client) })}` : ''}`
            : '');
        const speaker = floorOf(r);
        floorTitle.hidden = false;
        setText(floorTitle, speaker ? t('display.floor') : t('display.hands'));
        floor.hidden = !speaker;
        setText(floor, speaker ? memberName(s, speaker) : '');
        hands.hidden = r.hands.length === 0;
        reconcile(hands, r.hands, (id) => id, () => h('li'), (li, id) => setText(li, memberName(s, id)));
        noHands.hidden = r.hands.length > 0 || Boolean(speaker);
        setText(noHands, t('display.no_hands'));
        const shown = shownCards(r);
        cardsTitle.hidden = false;
        setText(cardsTitle, t('display.cards'));
        cards.hidden = shown.length === 0;
        reconcile(cards, shown, (card) => card.id,
            (card) => h('li', { class: ['display-card', card.kind ? `kind-${card.kind}` : null], 'data-card-id': String(card.id) },
                h('span', { class: 'display-card-text' }), h('span', { class: 'display-card-author' })),
            (li, card) => {
                setText(li.querySelector('.display-card-text'), card.text);
                setText(li.querySelector('.display-card-author'), memberName(s, card.author));
            });
        noCards.hidden = shown.length > 0;
        setText(noCards, t('display.no_cards'));
        renderClock();
    }

    document.body.classList.add('display-mode');
    fill(root, main);
    const timer = setInterval(renderClock, 250);
    render();
    conn.start();
    return {
        unmount() {
            conn.stop();
            clearInterval(timer);
            document.body.classList.remove('display-mode');
        },
        remount: render,
    };
}
