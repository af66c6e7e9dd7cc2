// views/floor.js - the floor (issue 13): who has it and for how long, in
// the sticky bar for everyone, with the speaker's "J’ai terminé" and "Je
// passe" and the facilitator's end / next / stop; the round's order under
// it; and the facilitator's floor panel: start a round (turn budget, auto
// or signal), give the floor from the hands or to anyone present, and the
// speaking balance, a compact bar per member. The server decides
// everything (src/room_floor.c); the page shows the state it sends and
// counts the time between ticks from the server's clock.

import { h, setText, toggle, reconcile } from '../dom.js';
import { t } from '../i18n.js';
import { myId, may, memberName, floorNow, roleOf, isFacilitator } from '../state.js';

/** m:ss */
function mmss(ms) {
    const sec = Math.max(0, Math.floor(Math.abs(ms) / 1000));
    return `${Math.floor(sec / 60)}:${String(sec % 60).padStart(2, '0')}`;
}

/** The floor row of the sticky bar, and the round's order under it. */
export function createFloorBar(ctx) {
    const who = h('span', { class: 'floor-who' });
    const time = h('span', { class: 'floor-time', 'data-floor-time': '' });
    const btn = (action, type, cls) => h('button', { type: 'button', class: ['btn', 'btn-small', cls], 'data-action': action,
        onclick: () => ctx.act(type) });
    const done = btn('floor-end', 'floor_end', 'btn-primary');
    const pass = btn('turn-pass', 'turn_pass');
    const skip = btn('round-skip', 'round_skip');
    const stop = btn('round-stop', 'round_stop', 'btn-quiet');
    const alert = h('p', { class: 'floor-alert', role: 'alert' });
    const order = h('ol', { class: 'round-order', 'aria-label': t('floor.round_order') });
    const el = h('div', { class: 'floor-bar', 'data-floor': '' },
        h('div', { class: 'floor-row' }, h('span', { class: 'floor-dot', 'aria-hidden': 'true' }), who, time,
            h('span', { class: 'floor-actions' }, done, pass, skip, stop)),
        alert, order);
    let alerted = '';

    function tick() {
        const s = ctx.s;
        const f = floorNow(s);
        if (!f) return;
        let text = mmss(f.elapsed);
        if (f.remaining !== null)
            text = f.remaining >= 0 ? t('floor.time_left', { elapsed: text, left: mmss(f.remaining) }) : t('floor.time_over', { elapsed: text });
        setText(time, text);
        const over = f.remaining !== null && f.remaining < 0;
        toggle(el, 'is-over', over);
        // The signal: the facilitator is told once per turn that its time is up.
        const key = `${f.member}|${s.room.floor.since_ms}`;
        const show = over && isFacilitator(s) && s.room.round && s.room.round.mode === 'signal';
        alert.hidden = !show;
        if (show && alerted !== key) {
            alerted = key;
            setText(alert, t('floor.signal', { name: memberName(s, f.member) }));
        }
    }

    function update() {
        const s = ctx.s;
        const r = s.room;
        const round = r && r.round;
        el.hidden = !r || r.step === 'closed' || (!r.floor && !round);
        if (el.hidden) return;
        const me = myId(s);
        const speaker = r.floor ? r.floor.member_id : null;
        const fac = isFacilitator(s);
        const inRound = Boolean(round && round.active);
        setText(who, speaker ? (speaker === me ? t('floor.you_have') : t('floor.has', { name: memberName(s, speaker) }))
            : t('floor.nobody'));
        time.hidden = !speaker;
        toggle(el, 'is-mine', speaker === me);
        done.hidden = !speaker || (speaker !== me && !fac);
        setText(done, speaker === me ? t('floor.done') : t('floor.end'));
        pass.hidden = !(inRound && speaker === me);
        setText(pass, t('floor.pass'));
        skip.hidden = !(inRound && fac);
        setText(skip, t('floor.skip'));
        stop.hidden = !(inRound && fac);
        setText(stop, t('floor.stop'));
        if (!speaker) { alert.hidden = true; toggle(el, 'is-over', false); }
        order.hidden = !round;
        if (round) {
            reconcile(order, round.order, (o) => o.member_id, (o) => h('li', { class: 'round-turn', 'data-member-id': o.member_id }), (li, o) => {
                li.dataset.status = o.status;
                setText(li, t('floor.turn', { name: memberName(s, o.member_id), status: t(`floor.status.${o.status}`) }));
                if (o.status === 'speaking') li.setAttribute('aria-current', 'true'); else li.removeAttribute('aria-current');
            });
            order.setAttribute('aria-label', round.active ? t('floor.round_order') : t('floor.round_over'));
            toggle(order, 'is-over', !round.active);
        }
        tick();
    }
    update();
    return { el, update, tick };
}

const TURN_CHOICES = [0, 60, 90, 120, 180, 300];

/** The facilitator's floor panel: rounds, giving the floor, the balance. */
export function createFloorPanel(ctx) {
    const title = h('h2', { class: 'block-title', id: 'floor-title' });
    const turnLabel = h('span');
    const turn = h('select', { class: 'input', 'data-field': 'turn-seconds' },
        ...TURN_CHOICES.map((n) => h('option', { value: String(n) })));
    turn.value = '90';
    const modeLabel = h('span');
    const mode = h('select', { class: 'input', 'data-field': 'round-mode' },
        h('option', { value: 'signal' }), h('option', { value: 'auto' }));
    const start = h('button', { type: 'button', class: 'btn btn-primary', 'data-action': 'round-start', onclick: () => {
        const seconds = Number(turn.value);
        ctx.act('round_start', seconds ? { seconds, mode: mode.value } : {});
    } });
    const roundBox = h('div', { class: 'floor-round', role: 'group' },
        h('label', { class: 'field-inline' }, turnLabel, turn),
        h('label', { class: 'field-inline' }, modeLabel, mode), start);
    const giveTitle = h('h3', { class: 'floor-subtitle' });
    const give = h('ul', { class: 'floor-give-list' });
    const balanceTitle = h('h3', { class: 'floor-subtitle' });
    const balance = h('ul', { class: 'balance-list', 'data-balance': '' });
    const el = h('section', { class: 'block floor-panel', 'aria-labelledby': 'floor-title' },
        title, roundBox, giveTitle, give, balanceTitle, balance);

    function candidates(s) {
        const r = s.room;
        const online = r.members.filter((m) => (m.online || m.id === myId(s)) && roleOf(s, m.id) !== 'observer'
            && !(roleOf(s, m.id) === 'client' && r.step === 'consultation'));
        // Raised hands first, in the order they went up, then the others.
        const byHand = (m) => { const i = r.hands.indexOf(m.id); return i < 0 ? Infinity : i; };
        return online.sort((a, b) => byHand(a) - byHand(b));
    }

    function update() {
        const s = ctx.s;
        const r = s.room;
        el.hidden = !r || r.step === 'closed' || !may(s, 'floor_give');
        if (el.hidden) return;
        setText(title, t('floor.panel_title'));
        const inRound = Boolean(r.round && r.round.active);
        roundBox.hidden = !may(s, 'round_start');
        roundBox.setAttribute('aria-label', t('floor.round_group'));
        setText(turnLabel, t('floor.turn_budget'));
        for (const o of turn.options) setText(o, Number(o.value) ? t('floor.seconds', { n: Number(o.value) }) : t('floor.no_budget'));
        setText(modeLabel, t('floor.mode'));
        setText(mode.options[0], t('floor.mode_signal'));
        setText(mode.options[1], t('floor.mode_auto'));
        mode.disabled = turn.value === '0';
        start.disabled = inRound;
        setText(start, t('floor.round_start'));
        setText(giveTitle, t('floor.give_title'));
        const speaker = r.floor ? r.floor.member_id : null;
        reconcile(give, candidates(s), (m) => m.id, (m) => {
            const b = h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'floor-give',
                onclick: () => ctx.act('floor_give', { member_id: m.id }) });
            return h('li', { class: 'floor-give', 'data-member-id': m.id }, h('span', { class: 'floor-give-name' }), b);
        }, (li, m) => {
            const hand = r.hands.indexOf(m.id);
            setText(li.querySelector('.floor-give-name'), hand >= 0 ? t('floor.with_hand', { name: m.name, n: hand + 1 }) : m.name);
            const b = li.querySelector('button');
            b.disabled = inRound || m.id === speaker;
            setText(b, t('floor.give'));
            b.setAttribute('aria-label', t('floor.give_to', { name: m.name }));
        });
        setText(balanceTitle, t('floor.balance_title'));
        updateBalance();
    }

    // The balance: the server's tallies plus the floor held now; one bar per
    // member who spoke, scaled to the longest.
    function updateBalance() {
        const s = ctx.s;
        const r = s.room;
        const f = floorNow(s);
        const rows = new Map(r.balance.map((b) => [b.member_id, { id: b.member_id, ms: b.ms, turns: b.turns, passes: b.passes }]));
        if (f) {
            const row = rows.get(f.member) || { id: f.member, ms: 0, turns: 0, passes: 0 };
            rows.set(f.member, { ...row, ms: row.ms + f.elapsed, turns: row.turns + 1 });
        }
        const list = [...rows.values()].sort((a, b) => b.ms - a.ms);
        const max = Math.max(1, ...list.map((x) => x.ms));
        balance.hidden = list.length === 0;
        reconcile(balance, list, (x) => x.id, (x) => h('li', { class: 'balance-row', 'data-member-id': x.id },
            h('span', { class: 'balance-name' }),
            h('meter', { class: 'balance-bar', min: '0', 'aria-hidden': 'true' }),
            h('span', { class: 'balance-figures' })), (li, x) => {
            setText(li.querySelector('.balance-name'), memberName(s, x.id));
            const bar = li.querySelector('.balance-bar');
            bar.max = max;
            bar.value = x.ms;
            setText(li.querySelector('.balance-figures'), t('floor.balance_figures', { time: mmss(x.ms), turns: x.turns, passes: x.passes }));
            li.dataset.turns = String(x.turns);
            li.dataset.passes = String(x.passes);
        });
    }
    update();
    return { el, update, tick: () => { if (!el.hidden) updateBalance(); } };
}
