// Continuity across sessions (issue 4): a group meets again a "month" later
// (the server restarts on the same data dir with its clock moved on by
// the test-only setting test_time_offset_s) and the new session opens with the earlier
// client's action plan to debrief; the earlier client records an outcome
// and a comment for one item, which the next session (another month, another
// restart) no longer shows, and which the client's journal export keeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { startServer } from '../lib/server.mjs';
import { api } from './lib/client.mjs';
import { setupGroup, advance, settle, connectMember } from './lib/scenario.mjs';

const MONTH = 2592000000; /* 30 days in ms */
const rnd = (label) => `${label}-${randomBytes(6).toString('hex')}`;

/** Reconnects every person of g to srv (same member ids and keys, same names). */
async function reconnectAll(srv, g) {
    const back = [];
    for (const c of g.everyone)
        back.push(await connectMember(srv, g.groupId, { member_id: c.memberId, member_key: c.key }, c.displayName));
    const [F, C, ...rest] = back;
    return { F, C, K: rest.slice(0, g.K.length), everyone: back };
}

/** The facilitator opens a session; resolves with the snapshot everyone got. */
async function openSession(people) {
    await people.F.ok({ type: 'session_open' });
    const opened = await Promise.all(people.everyone.map((c) => c.nextEvent('session_opened')));
    for (const o of opened) assert.equal(o.room.session_id, opened[0].room.session_id);
    return opened[0].room;
}

async function closeSession(people) {
    const ack = await people.F.ok({ type: 'session_close' });
    await Promise.all(people.everyone.map((c) => c.waitSeq(ack.seq)));
    return ack;
}

const closeConns = (people) => Promise.all(people.everyone.map((c) => c.close()));

test('a month later the plan is there to debrief; the debrief is recorded and kept', async () => {
    const srv = await startServer();
    const { dataDir } = srv;
    const servers = [srv];
    try {
        // Session 1: Karim is the client and writes a plan of three actions.
        const g = await setupGroup(srv);
        await advance(g, 'synthesis');
        const actions = [rnd('action-one'), rnd('action-two'), rnd('action-three')];
        await g.C.ok({ type: 'action_add', text: actions[0], due: 'dans deux semaines' });
        for (const a of actions.slice(1)) await g.C.ok({ type: 'action_add', text: a });
        await advance(g, 'learning');
        await closeSession(g);
        const firstClosed = g.F.received((m) => m.type === 'closed').pop().at_ms;
        await closeConns(g);
        await srv.stop({ keepData: true });

        // Session 2, a month later, after a restart.
        const srv2 = await startServer({ dataDir, args: ['--set', `test_time_offset_s=${MONTH / 1000}`] });
        servers.push(srv2);
        const p2 = await reconnectAll(srv2, g);
        const room2 = await openSession(p2);
        assert.equal(room2.step, 'opening');
        const gap = room2.created_ms - firstClosed;
        assert.ok(gap >= MONTH && gap < MONTH + 120000, `the second session opens a month later (${gap} ms)`);
        assert.deepEqual(room2.debriefs.map((d) => [d.client, d.text, d.due, d.outcome, d.comment]), [
            [g.C.memberId, actions[0], 'dans deux semaines', null, null],
            [g.C.memberId, actions[1], null, null, null],
            [g.C.memberId, actions[2], null, null, null],
        ]);
        for (const c of p2.everyone) assert.equal(c.room.debriefs.length, 3, `${c.name} sees the plan to debrief`);

        // Only the earlier client debriefs; then everyone sees the outcome.
        const first = room2.debriefs[0];
        await p2.K[0].refused({ type: 'debrief_post', debrief_id: first.id, outcome: 'done' }, 'not_earlier_client');
        await p2.F.refused({ type: 'debrief_post', debrief_id: first.id, outcome: 'done' }, 'not_earlier_client');
        const comment = rnd('comment');
        const ack = await p2.C.ok({ type: 'debrief_post', debrief_id: first.id, outcome: 'partly', text: comment });
        for (const c of p2.everyone) {
            const ev = await c.nextEvent('debrief', (m) => m.seq === ack.seq);
            assert.deepEqual([ev.debrief.id, ev.debrief.outcome, ev.debrief.comment], [first.id, 'partly', comment]);
        }
        await closeSession(p2);
        await closeConns(p2);
        await srv2.stop({ keepData: true });

        // Session 3, another month later: only the items not debriefed yet.
        const srv3 = await startServer({ dataDir, args: ['--set', `test_time_offset_s=${(2 * MONTH) / 1000}`] });
        servers.push(srv3);
        const p3 = await reconnectAll(srv3, g);
        const room3 = await openSession(p3);
        assert.deepEqual(room3.debriefs.map((d) => [d.text, d.outcome]), [[actions[1], null], [actions[2], null]]);

        // The client's journal keeps the outcome and the comment.
        const res = await api(srv3.url, 'GET', `/api/groups/${g.groupId}/journal`, { key: g.C.key, schema: 'journal' });
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.schemaErrors, []);
        assert.deepEqual(res.body.plans.map((p) => [p.text, p.debriefed, p.outcome, p.comment]), [
            [actions[0], true, 'partly', comment],
            [actions[1], false, null, null],
            [actions[2], false, null, null],
        ]);
        const md = await fetch(`${srv3.url}/api/groups/${g.groupId}/journal?format=md`, { headers: { Authorization: `Bearer ${g.C.key}` } });
        const text = await md.text();
        assert.ok(text.includes(`- ${actions[0]} (échéance : dans deux semaines) — _bilan : en partie_ — commentaire : ${comment}\n`), text);
        assert.ok(text.includes(`- ${actions[1]} — _bilan à faire_\n`), text);

        // The history shows both closed sessions a month apart.
        const h = await api(srv3.url, 'GET', `/api/groups/${g.groupId}/history`, { key: g.F.key, schema: 'history' });
        assert.equal(h.status, 200, h.text);
        assert.deepEqual(h.schemaErrors, []);
        assert.equal(h.body.sessions.length, 2);
        assert.ok(h.body.sessions[1].opened_ms - h.body.sessions[0].closed_ms >= MONTH);
        assert.equal(h.body.sessions[1].consultations.length, 0, 'the second session held only the opening');

        for (const c of [...p2.everyone, ...p3.everyone]) c.assertClean();
        g.F.assertClean();
        await closeConns(p3);
    } finally {
        for (const s of servers) await s.stop({ keepData: true }).catch(() => {});
        rmSync(dataDir, { recursive: true, force: true });
    }
});
