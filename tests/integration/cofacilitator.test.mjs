// The facilitator's safety net (proto/README.md 2.3): a co-facilitator
// named by the facilitator takes the role when the facilitator's last
// connection has been gone facilitator_grace_s; without one, the
// longest-serving member present is offered it. The facilitator who was
// away takes it back with facilitator_reclaim. The server's handover is
// journaled: kill -9 and a restart give the same room.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { setupGroup, reconnect, settle } from './lib/scenario.mjs';

const GRACE_S = 1;
const TICK_MS = 1000; /* the sweep that checks absences runs once a second */
const args = ['--set', `facilitator_grace_s=${GRACE_S}`];

test('the co-facilitator takes over within the grace and a tick, acts, and the returning facilitator takes the role back; kill -9 keeps it', async () => {
    let srv = await startServer({ args });
    try {
        const g = await setupGroup(srv);
        const [lea, julien] = g.K;
        // Only the facilitator names the co-facilitator; not an observer.
        await g.K[1].refused({ type: 'cofacilitator_set', member_id: lea.memberId }, 'not_facilitator');
        await g.F.refused({ type: 'cofacilitator_set', member_id: g.O.memberId }, 'bad_target');
        const named = await g.F.ok({ type: 'cofacilitator_set', member_id: lea.memberId });
        await settle(g, named.seq);
        const ev = g.O.received((m) => m.type === 'cofacilitator');
        assert.equal(ev.at(-1).member_id, lea.memberId);
        const started = await g.F.ok({ type: 'timer_start' });
        await settle(g, started.seq);

        // The facilitator's socket dies (no close frame).
        const others = g.everyone.filter((c) => c !== g.F);
        const droppedAt = Date.now();
        g.F.terminate();
        const auto = await lea.nextEvent('facilitator', () => true, (GRACE_S + 3) * TICK_MS);
        const took = Date.now() - droppedAt;
        assert.ok(took <= GRACE_S * 1000 + TICK_MS + 300, `handover after ${took} ms, grace ${GRACE_S} s + one tick`);
        assert.ok(took >= GRACE_S * 1000 - 50, `not before the grace (${took} ms)`);
        assert.equal(auto.reason, 'auto');
        assert.equal(auto.member_id, lea.memberId);
        assert.equal(auto.facilitator_away, g.F.memberId);
        // Everyone saw it; the clock was not touched (no clock or step event).
        await Promise.all(others.map((c) => c.waitSeq(auto.seq)));
        for (const c of others) {
            assert.deepEqual(c.received((m) => (m.type === 'clock' || m.type === 'step') && m.seq > started.seq), []);
        }
        // The stand-in facilitates: a step.
        const step = await lea.ok({ type: 'step_next' });
        await Promise.all(others.map((c) => c.waitSeq(step.seq)));
        assert.equal(g.O.received((m) => m.type === 'step').at(-1).step, 'topic');
        // Only the facilitator who was away may take it back.
        await julien.refused({ type: 'facilitator_reclaim' }, 'not_away_facilitator');
        await lea.refused({ type: 'facilitator_reclaim' }, 'not_your_role');

        // kill -9: the server's handover was journaled like a command.
        srv.child.kill('SIGKILL');
        await srv.exited;
        srv = await startServer({ dataDir: srv.dataDir, args });
        const back = await reconnect(srv, g.F);
        assert.equal(back.room.facilitator, lea.memberId);
        assert.equal(back.room.facilitator_away, g.F.memberId);
        assert.equal(back.room.cofacilitator, null);
        assert.equal(back.room.step, 'topic');
        assert.equal(back.room.clock.running, true);
        const lea2 = await reconnect(srv, lea);
        const reclaim = await back.ok({ type: 'facilitator_reclaim' });
        const ev2 = await lea2.nextEvent('facilitator');
        assert.equal(ev2.reason, 'reclaim');
        assert.equal(ev2.member_id, g.F.memberId);
        assert.equal(ev2.facilitator_away, null);
        const cof = await lea2.nextEvent('cofacilitator');
        assert.equal(cof.member_id, lea.memberId, 'the stand-in is the co-facilitator again');
        await lea2.waitSeq(reclaim.seq);
        await back.ok({ type: 'timer_pause' });
        await lea2.refused({ type: 'timer_start' }, 'not_facilitator');
        await back.refused({ type: 'facilitator_reclaim' }, 'not_your_role');

        // Once more after a restart: the reclaim was journaled too.
        srv.child.kill('SIGKILL');
        await srv.exited;
        srv = await startServer({ dataDir: srv.dataDir, args });
        const again = await reconnect(srv, g.F);
        assert.equal(again.room.facilitator, g.F.memberId);
        assert.equal(again.room.cofacilitator, lea.memberId);
        assert.equal(again.room.facilitator_away, null);
        for (const c of [back, lea2, again]) c.assertClean();
        for (const c of g.everyone) c.assertClean();
    } finally {
        await srv.stop();
    }
});

test('without a co-facilitator the longest-serving member present is offered the role: accepted, or withdrawn when the facilitator returns', async () => {
    const srv = await startServer({ args });
    try {
        const g = await setupGroup(srv);
        const [lea, julien] = g.K;
        // Karim joined first after the facilitator; then Léa.
        await g.C.refused({ type: 'facilitator_accept' }, 'no_offer');
        g.F.terminate();
        const offer = await g.C.next((m) => m.type === 'facilitator_offer', (GRACE_S + 3) * TICK_MS);
        assert.equal(offer.open, true);
        assert.equal(offer.facilitator, g.F.memberId);
        // Nobody else is asked, and nothing changed for anyone.
        await lea.expectNoneAfterBarrier((m) => m.type === 'facilitator_offer' || m.type === 'facilitator');
        await julien.refused({ type: 'facilitator_accept' }, 'no_offer');
        // The facilitator comes back before Karim answers: the offer ends.
        const F2 = await reconnect(srv, g.F);
        const withdrawn = await g.C.next((m) => m.type === 'facilitator_offer');
        assert.equal(withdrawn.open, false);
        await g.C.refused({ type: 'facilitator_accept' }, 'no_offer');
        assert.equal(F2.room.facilitator, g.F.memberId);

        // Away again: offered again, and this time accepted.
        F2.terminate();
        const offer2 = await g.C.next((m) => m.type === 'facilitator_offer' && m.open, (GRACE_S + 3) * TICK_MS);
        assert.equal(offer2.facilitator, g.F.memberId);
        const ack = await g.C.ok({ type: 'facilitator_accept' });
        const ev = await lea.nextEvent('facilitator');
        assert.equal(ev.seq, ack.seq);
        assert.equal(ev.reason, 'offer');
        assert.equal(ev.member_id, g.C.memberId);
        assert.equal(ev.facilitator_away, g.F.memberId);
        await g.C.refused({ type: 'facilitator_accept' }, 'no_offer');
        await g.C.ok({ type: 'step_next' });
        // The facilitator returns and takes the role back.
        const F3 = await reconnect(srv, g.F);
        assert.equal(F3.room.facilitator_away, g.F.memberId);
        await F3.ok({ type: 'facilitator_reclaim' });
        const back = await lea.nextEvent('facilitator', (m) => m.reason === 'reclaim');
        assert.equal(back.member_id, g.F.memberId);
        for (const c of [...g.everyone.filter((c) => c !== g.F), F3]) c.assertClean();
    } finally {
        await srv.stop();
    }
});

test('a hostile facilitator_handover cannot pass for the server\'s: extra fields are ignored, the reason is manual', async () => {
    const srv = await startServer({ args });
    try {
        const g = await setupGroup(srv);
        const lea = g.K[0];
        const ack = await g.F.send({ type: 'facilitator_handover', member_id: lea.memberId, variant: 1, reason: 'auto', kind: 'suggestion' }, { unchecked: true });
        assert.equal(ack.type, 'ack', JSON.stringify(ack));
        const ev = await lea.nextEvent('facilitator');
        assert.equal(ev.seq, ack.seq);
        assert.equal(ev.reason, 'manual');
        assert.equal(ev.facilitator_away, null);
        await g.F.refused({ type: 'facilitator_reclaim' }, 'not_away_facilitator');
        // facilitator_accept and cofacilitator_set take no hostile input either.
        await lea.refused({ type: 'cofacilitator_set', member_id: 'not-a-uuid' }, 'bad_field', { unchecked: true });
        await lea.refused({ type: 'cofacilitator_set', member_id: '00000000-0000-4000-8000-000000000000' }, 'unknown_member');
        const accept = await g.K[1].send({ type: 'facilitator_accept', member_id: g.K[1].memberId }, { unchecked: true });
        assert.equal(accept.code, 'no_offer');
        for (const c of g.everyone) c.assertClean();
    } finally {
        await srv.stop();
    }
});
