// The floor, rounds and balance over real WebSockets (proto/README.md 2.3,
// src/room_floor.c): a round in consultation with three consultants, one
// passing and one offline; the floor given from the hand queue; auto and
// signal turn budgets; the balance only the facilitator sees, exact after a
// reconnect and after a kill -9 restart; the group's memory of its last
// round; the balance in the facilitator's history.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer } from '../lib/server.mjs';
import { api } from './lib/client.mjs';
import { setupGroup, advance, reconnect, settle, closeAll, assertAllClean } from './lib/scenario.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const statuses = (round) => round.order.map((o) => o.status);

/** Waits until everyone has the floor event of seq; returns F's copy. */
async function floorEvent(g, seq) {
    const ev = await g.F.nextEvent('floor', (m) => m.seq === seq);
    await settle(g, seq);
    return ev;
}

test('a consultation round: the client is never in it, the offline member is skipped, a pass counts; only the facilitator sees the balance', async () => {
    const srv = await startServer();
    try {
        const g = await setupGroup(srv);
        await advance(g, 'consultation');
        const [lea, julien, sophie] = g.K;
        // Julien goes offline before the round.
        await julien.close();
        await g.F.nextEvent('presence', (m) => m.member_id === julien.memberId && !m.online);
        const others = g.everyone.filter((c) => c !== julien);

        // Who may start it, and where.
        await lea.refused({ type: 'round_start' }, 'not_facilitator');
        await g.F.refused({ type: 'round_start', seconds: 5 }, 'bad_duration', { unchecked: true });
        await g.F.refused({ type: 'round_start', seconds: 1801 }, 'bad_duration', { unchecked: true });
        await g.F.refused({ type: 'round_start', mode: 'auto' }, 'bad_duration');
        await g.F.refused({ type: 'round_start', mode: 'sometimes' }, 'bad_field', { unchecked: true });
        await g.F.refused({ type: 'round_start', seconds: '90' }, 'bad_field', { unchecked: true });

        const start = await g.F.ok({ type: 'round_start', seconds: 90 });
        const ev = await g.F.nextEvent('floor', (m) => m.seq === start.seq);
        await Promise.all(others.map((c) => c.waitSeq(start.seq)));
        assert.deepEqual(ev.round.order.map((o) => o.member_id), [lea.memberId, julien.memberId, sophie.memberId]);
        assert.equal(ev.round.active, true);
        assert.equal(ev.round.mode, 'signal');
        assert.equal(ev.round.turn_ms, 90000);
        assert.equal(ev.floor.member_id, lea.memberId);
        assert.deepEqual(statuses(ev.round), ['speaking', 'pending', 'pending']);
        for (const c of others) assert.ok(c.received((m) => m.type === 'floor' && m.seq === start.seq).length === 1, `${c.name} saw the floor`);

        // The client listens; a consultant who does not have the floor cannot end or pass it.
        await g.C.refused({ type: 'turn_pass' }, 'client_muted');
        await sophie.refused({ type: 'turn_pass' }, 'not_speaker');
        await sophie.refused({ type: 'floor_end' }, 'not_speaker');
        await g.F.refused({ type: 'floor_give', member_id: sophie.memberId }, 'round_active');

        // Léa: "J'ai terminé". Julien is offline: skipped; Sophie has the floor.
        await sleep(50);
        const end = await lea.ok({ type: 'floor_end' });
        const ev2 = await floorEvent({ ...g, everyone: others }, end.seq);
        assert.deepEqual(statuses(ev2.round), ['spoke', 'absent', 'speaking']);
        assert.equal(ev2.floor.member_id, sophie.memberId);
        const bal1 = await g.F.nextEvent('balance', (m) => m.balance.member_id === lea.memberId);
        assert.equal(bal1.balance.turns, 1);
        assert.ok(bal1.balance.ms >= 50, `Léa held the floor ${bal1.balance.ms} ms`);
        assert.deepEqual(Object.keys(bal1.balance.steps), ['consultation']);

        // Sophie passes: the round is over.
        const pass = await sophie.ok({ type: 'turn_pass' });
        const ev3 = await floorEvent({ ...g, everyone: others }, pass.seq);
        assert.deepEqual(statuses(ev3.round), ['spoke', 'absent', 'passed']);
        assert.equal(ev3.round.active, false);
        assert.equal(ev3.floor, null);
        const bal2 = await g.F.nextEvent('balance', (m) => m.balance.member_id === sophie.memberId);
        assert.equal(bal2.balance.passes, 1);
        assert.equal(bal2.balance.turns, 0);
        await g.F.refused({ type: 'round_skip' }, 'no_round');

        // Nobody but the facilitator received a balance.
        for (const c of others.filter((c) => c !== g.F))
            await c.expectNoneAfterBarrier((m) => m.type === 'balance');

        // Reconnect: the facilitator's snapshot has the exact balance; others none.
        const f2 = await reconnect(srv, g.F);
        const room = f2.welcome.room;
        assert.deepEqual(room.round.order.map((o) => o.status), ['spoke', 'absent', 'passed']);
        assert.equal(room.floor, null);
        const byId = new Map(room.balance.map((b) => [b.member_id, b]));
        assert.deepEqual(byId.get(lea.memberId), bal1.balance);
        assert.deepEqual(byId.get(sophie.memberId), bal2.balance);
        assert.equal(byId.has(julien.memberId), false);
        const k2 = await reconnect(srv, lea);
        assert.equal(k2.welcome.room.balance, undefined, 'a consultant sees no balance');
        assert.deepEqual(k2.welcome.room.round, room.round, 'everyone sees the round');

        // The floor from the hand queue: the hand goes down with it.
        const raised = await sophie.ok({ type: 'hand_raise' });
        await settle({ ...g, everyone: others }, raised.seq);
        await g.F.refused({ type: 'floor_give', member_id: julien.memberId }, 'member_offline');
        await g.F.refused({ type: 'floor_give', member_id: g.C.memberId }, 'bad_target');
        await g.F.refused({ type: 'floor_give', member_id: g.O.memberId }, 'bad_target');
        await g.F.refused({ type: 'floor_give', member_id: 'not-a-uuid' }, 'bad_field', { unchecked: true });
        const give = await g.F.ok({ type: 'floor_give', member_id: sophie.memberId });
        const hands = await g.F.nextEvent('hands', (m) => m.seq === give.seq - 1);
        assert.deepEqual(hands.hands, []);
        const gave = await g.F.nextEvent('floor', (m) => m.seq === give.seq);
        assert.equal(gave.floor.member_id, sophie.memberId);
        assert.equal(gave.round.active, false);
        // The tick carries who has the floor and for how long: one after
        // the floor event (earlier ticks, of the round, may still wait
        // unread in the inbox, carrying the round's speakers).
        await sophie.nextEvent('floor', (m) => m.seq === give.seq);
        const stale = new Set(sophie.inbox.filter((m) => m.type === 'tick'));
        const tick = await sophie.next((m) => m.type === 'tick' && m.floor && !stale.has(m), 3000);
        assert.equal(tick.floor.member_id, sophie.memberId);
        assert.ok(tick.floor.elapsed_ms >= 0);
        assert.equal(tick.floor.remaining_ms, undefined, 'no turn budget outside a round');
        await g.F.ok({ type: 'floor_end' });

        for (const c of [...others, f2, k2]) c.assertClean();
        await Promise.all([...others, f2, k2].map((c) => c.close()));
    } finally {
        await srv.stop();
    }
});

test('turn budgets: auto moves on when the turn runs out, signal only signals', async () => {
    const srv = await startServer();
    try {
        const a = await setupGroup(srv, { observer: null });
        const s = await setupGroup(srv, { observer: null });
        await advance(a, 'clarification');
        await advance(s, 'clarification');
        const t0 = Date.now();
        const startA = await a.F.ok({ type: 'round_start', seconds: 10, mode: 'auto' });
        const startS = await s.F.ok({ type: 'round_start', seconds: 10, mode: 'signal' });
        await settle(a, startA.seq);
        await settle(s, startS.seq);

        // Auto: the server moves on, as a round_skip of its own (a new seq).
        const moved = await a.K[1].nextEvent('floor', (m) => m.seq > startA.seq, 15000);
        assert.ok(Date.now() - t0 >= 9000, 'not before the budget ran out');
        assert.deepEqual(statuses(moved.round), ['expired', 'speaking', 'pending']);
        assert.equal(moved.floor.member_id, a.K[1].memberId);
        const bal = await a.F.nextEvent('balance', (m) => m.balance.member_id === a.K[0].memberId);
        assert.ok(bal.balance.ms >= 10000, `the expired turn lasted ${bal.balance.ms} ms`);
        const tickA = await a.F.next((m) => m.type === 'tick' && m.floor && m.floor.member_id === a.K[1].memberId, 3000);
        assert.equal(tickA.floor.turn_ms, 10000);
        assert.ok(tickA.floor.remaining_ms <= 10000 && tickA.floor.remaining_ms > 0);

        // Signal: the floor stays; the tick says the turn is over.
        const over = await s.F.next((m) => m.type === 'tick' && m.floor && m.floor.remaining_ms < 0, 15000);
        assert.equal(over.floor.member_id, s.K[0].memberId);
        await s.F.expectNoneAfterBarrier((m) => m.type === 'floor' && m.seq > startS.seq);
        const skip = await s.F.ok({ type: 'round_skip' });
        const skipped = await s.F.nextEvent('floor', (m) => m.seq === skip.seq);
        assert.deepEqual(statuses(skipped.round), ['skipped', 'speaking', 'pending']);
        const stop = await s.F.ok({ type: 'round_stop' });
        const stopped = await s.F.nextEvent('floor', (m) => m.seq === stop.seq);
        assert.deepEqual(statuses(stopped.round), ['skipped', 'spoke', 'pending']);
        assert.equal(stopped.round.active, false);

        assertAllClean(a);
        assertAllClean(s);
        await closeAll(a);
        await closeAll(s);
    } finally {
        await srv.stop();
    }
});

async function killAndRestart(srv) {
    srv.child.kill('SIGKILL');
    await srv.exited;
    return startServer({ dataDir: srv.dataDir });
}

test('kill -9 mid-round: the round, the floor and the balance come back exact; the next round and the next session start after the last one', async () => {
    const srv = await startServer();
    let again = null;
    try {
        const g = await setupGroup(srv, { observer: null });
        await advance(g, 'consultation');
        const [lea, julien, sophie] = g.K;
        // Sophie offline at the start (absent when her turn comes).
        await sophie.close();
        await g.F.nextEvent('presence', (m) => m.member_id === sophie.memberId && !m.online);
        const start = await g.F.ok({ type: 'round_start', seconds: 600, mode: 'auto' });
        await g.F.waitSeq(start.seq);
        await sleep(30);
        const end = await lea.ok({ type: 'floor_end' });
        await g.F.waitSeq(end.seq);
        const before = (await reconnect(srv, g.F)).welcome.room;
        assert.equal(before.floor.member_id, julien.memberId);

        again = await killAndRestart(srv);
        const f = await reconnect(again, g.F);
        const after = f.welcome.room;
        assert.equal(after.seq, before.seq);
        assert.deepEqual(after.round, before.round);
        assert.deepEqual(after.floor, before.floor);
        assert.deepEqual(after.balance, before.balance);
        assert.equal(after.balance.length, 1);

        // Sophie comes back: her turn comes (presence now, not at the start).
        const s2 = await reconnect(again, sophie);
        const j2 = await reconnect(again, julien);
        const pass = await j2.ok({ type: 'turn_pass' });
        const ev = await f.nextEvent('floor', (m) => m.seq === pass.seq);
        assert.deepEqual(statuses(ev.round), ['spoke', 'passed', 'speaking']);
        assert.equal(ev.floor.member_id, sophie.memberId);
        const end2 = await s2.ok({ type: 'floor_end' });
        const done = await f.nextEvent('floor', (m) => m.seq === end2.seq);
        assert.equal(done.round.active, false);

        // The next round starts after Léa, who began the last one.
        const next = await f.ok({ type: 'round_start' });
        const ev2 = await f.nextEvent('floor', (m) => m.seq === next.seq);
        assert.deepEqual(ev2.round.order.map((o) => o.member_id), [julien.memberId, sophie.memberId, lea.memberId]);
        await f.ok({ type: 'round_stop' });
        const balance = (await reconnect(again, g.F)).welcome.room.balance;

        // The history keeps the balance of the closed session.
        const close = await f.ok({ type: 'session_close' });
        await f.waitSeq(close.seq);
        const res = await api(again.url, 'GET', `/api/groups/${g.groupId}/history`, { key: g.F.key, schema: 'history' });
        assert.equal(res.status, 200);
        assert.deepEqual(res.schemaErrors, []);
        const hist = res.body.sessions.at(-1).balance;
        if (process.env.FLOOR_DEBUG) console.log('DATADIR', srv.dataDir, JSON.stringify(res.body.sessions));
        const want = new Map(balance.map((b) => [b.member_id, b]));
        assert.equal(hist.length, want.size);
        for (const b of hist) {
            const w = want.get(b.member.id);
            assert.ok(w, `${b.member.name} in the live balance`);
            assert.equal(b.ms, w.ms);
            assert.equal(b.turns, w.turns);
            assert.equal(b.passes, w.passes);
        }
        const md = await api(again.url, 'GET', `/api/groups/${g.groupId}/history?format=md`, { key: g.F.key });
        assert.match(md.text, /Équilibre de la parole|Speaking balance/);

        // A new session after another restart: the round starts after
        // Julien, who began the group's last round.
        again = await killAndRestart(again);
        const f3 = await reconnect(again, g.F);
        await f3.ok({ type: 'session_open' });
        await f3.nextEvent('session_opened');
        const people = [lea, julien, sophie, g.C].map((c) => reconnect(again, c));
        const [l3, j3, s3, c3] = await Promise.all(people);
        const g3 = { F: f3, C: c3, K: [l3, j3, s3], everyone: [f3, c3, l3, j3, s3], step: 'opening' };
        await advance(g3, 'consultation');
        const third = await f3.ok({ type: 'round_start' });
        const ev3 = await f3.nextEvent('floor', (m) => m.seq === third.seq);
        assert.deepEqual(ev3.round.order.map((o) => o.member_id), [sophie.memberId, lea.memberId, julien.memberId]);
        for (const c of g3.everyone) c.assertClean();
        await Promise.all(g3.everyone.map((c) => c.close()));
        await Promise.all([f, s2, j2].map((c) => c.close().catch(() => {})));
    } finally {
        await srv.stop({ keepData: true }).catch(() => {});
        if (again) await again.stop({ keepData: true }).catch(() => {});
        if (!process.env.FLOOR_DEBUG) rmSync(srv.dataDir, { recursive: true, force: true });
    }
});
