// web-client/state.js and the backoff of net.js, run in node (they touch no
// DOM): the welcome snapshot is the truth, events at or below its seq are
// ignored, roles follow the room, private news stays where it belongs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createState, apply, myRole, roleOf, remainingMs, cardsOf } from '../../web-client/state.js';
import { backoffDelay, goingAwayDelay } from '../../web-client/net.js';

const F = 'f0000000-0000-4000-8000-000000000000';
const C = 'c0000000-0000-4000-8000-000000000000';
const K = 'k0000000-0000-4000-8000-000000000000';

function welcome(seq = 10, extra = {}) {
    return {
        type: 'welcome', protocol: 'codev.v1', server_ms: 1,
        you: { member_id: K, name: 'Léa', role: 'consultant' },
        group: { id: 'g', name: 'G', language: 'fr', format: 90 },
        room: {
            session_id: 's1', seq, step: 'consultation', created_ms: 1, facilitator: F,
            members: [F, C, K].map((id) => ({ id, name: id[0], role: 'consultant', observer: false, online: true })),
            budgets: {}, clock: { step: 'consultation', budget_ms: 60000, used_ms: 1000, remaining_ms: 59000, running: false, server_ms: 1 },
            consultation: 0,
            consultations: [{ index: 0, client: C, problem: 'p', contract: 'c', acks: [], step_used_ms: {} }],
            cards: [{ id: 1, type: 'contribution', author: K, consultation: 0, step: 'consultation', at_ms: 1, text: 'one', kind: 'suggestion' }],
            hands: [], debriefs: [], ...extra,
        },
    };
}
const card = (id, seq, text = `c${id}`) => ({ type: 'card_added', seq, at_ms: 1,
    card: { id, type: 'contribution', author: C, consultation: 0, step: 'consultation', at_ms: 1, text, kind: 'feeling' } });

test('events at or below the snapshot seq are ignored; later ones apply once', () => {
    const s = createState();
    apply(s, welcome(10));
    assert.equal(s.lastSeq, 10);
    assert.deepEqual(apply(s, card(2, 9)), [], 'older than the snapshot');
    assert.deepEqual(apply(s, card(2, 10)), [], 'already in the snapshot');
    assert.equal(s.room.cards.length, 1);
    const news = apply(s, card(2, 11, 'new'));
    assert.equal(news.length, 1);
    assert.equal(news[0].card.text, 'new');
    assert.deepEqual(apply(s, card(2, 11, 'new')), [], 'a repeat is ignored');
    assert.equal(s.room.cards.length, 2);
    assert.equal(s.lastSeq, 11);
    assert.deepEqual(cardsOf(s, 'contribution').map((c) => c.id), [1, 2]);
});

test('a new welcome replaces the state; a new session restarts the numbering', () => {
    const s = createState();
    apply(s, welcome(10));
    apply(s, card(2, 11));
    apply(s, welcome(12, { cards: [] }));
    assert.equal(s.room.cards.length, 0, 'the snapshot is the truth');
    apply(s, { type: 'session_opened', room: { ...welcome(0).room, session_id: 's2', seq: 0, cards: [] } });
    assert.equal(s.lastSeq, 0);
    assert.equal(apply(s, card(1, 1)).length, 1, 'seq 1 of the new session applies');
});

test('roles follow the room: client, facilitator handover, observer', () => {
    const s = createState();
    apply(s, welcome(10));
    assert.equal(myRole(s), 'consultant');
    assert.equal(roleOf(s, C), 'client');
    apply(s, { type: 'facilitator', seq: 11, at_ms: 1, member_id: K });
    assert.equal(myRole(s), 'facilitator');
    assert.equal(roleOf(s, F), 'consultant');
    apply(s, { type: 'role', seq: 12, at_ms: 1, member: { id: F, name: 'f', role: 'observer', observer: true, online: true } });
    assert.equal(roleOf(s, F), 'observer');
    apply(s, { type: 'closed', seq: 13, at_ms: 1 });
    assert.equal(s.room.step, 'closed');
    assert.equal(roleOf(s, C), 'consultant', 'no client once closed');
});

test('removal of me is news; ticks and presence need no seq', () => {
    const s = createState();
    apply(s, welcome(10));
    apply(s, { type: 'tick', clock: { step: 'consultation', budget_ms: 60000, used_ms: 70000, remaining_ms: -10000, running: true, server_ms: 2 }, server_ms: 2 });
    assert.ok(remainingMs(s) <= -10000, 'overrun is negative');
    apply(s, { type: 'presence', member_id: F, online: false });
    assert.equal(s.room.members.find((m) => m.id === F).online, false);
    const news = apply(s, { type: 'member_removed', seq: 11, at_ms: 1, member_id: K });
    assert.deepEqual(news.map((n) => n.kind), ['removed']);
    assert.equal(s.removed, true);
});

test('a contract rewrite clears the acknowledgements; marks and acks apply', () => {
    const s = createState();
    apply(s, welcome(10));
    apply(s, { type: 'contract_ack', seq: 11, at_ms: 1, consultation: 0, member_id: K });
    assert.deepEqual(s.room.consultations[0].acks, [K]);
    apply(s, { type: 'contract', seq: 12, at_ms: 1, consultation: 0, text: 'again' });
    assert.deepEqual(s.room.consultations[0].acks, []);
    apply(s, { type: 'mark', seq: 13, at_ms: 1, card_id: 1, marked: true });
    assert.equal(s.room.cards[0].marked, true);
});

test('reconnect backoff grows, is capped, and is jittered', () => {
    assert.equal(backoffDelay(0, () => 0), 250);
    assert.equal(backoffDelay(0, () => 1), 500);
    assert.ok(backoffDelay(3, () => 0) > backoffDelay(1, () => 1));
    assert.equal(backoffDelay(30, () => 1), 15000, 'capped at 15 s');
    assert.notEqual(backoffDelay(4, () => 0), backoffDelay(4, () => 0.9), 'jitter spreads reconnects');
});

test('a server going away (close 1001 with retry_ms) is retried after half to all of its hint; any other close backs off', () => {
    assert.equal(goingAwayDelay(1001, 'going_away retry_ms=1000', () => 0), 500);
    assert.equal(goingAwayDelay(1001, 'going_away retry_ms=1000', () => 1), 1000);
    assert.equal(goingAwayDelay(1001, 'going_away retry_ms=0', () => 1), 0);
    assert.equal(goingAwayDelay(1006, 'going_away retry_ms=1000'), null, 'only with code 1001');
    assert.equal(goingAwayDelay(1001, ''), null, 'a 1001 without a hint (a browser leaving) backs off');
    assert.equal(goingAwayDelay(1001, 'going_away retry_ms=99999'), null, 'a hint past a minute is not believed');
    assert.equal(goingAwayDelay(1001, 'going_away retry_ms=-5'), null);
    assert.equal(goingAwayDelay(1001, 'going_away retry_ms=10 extra'), null);
});
