// The action plan items a group holds in memory (issue 16, the soak's RSS):
//  - an item debriefed in a session leaves the server's memory once that
//    session's records have committed (codevd_plans_settling back to 0,
//    codevd_plans_waiting down by one); the store keeps it for the
//    client's journal;
//  - kill -9, then a restart on the same data dir: the same items wait
//    (the client's between page lists the same ids), nothing debriefed
//    comes back;
//  - hostile: a client who never debriefs and writes more items at every
//    session holds at most plans_waiting_per_member of them waiting, and
//    each opening offers no more than that; the older ones stay in the
//    journal, not debriefed.
// Expected load: a handful of short sessions on one server, one restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { startServer } from '../lib/server.mjs';
import { api } from './lib/client.mjs';
import { setupGroup, advance, connectMember, drainAll } from './lib/scenario.mjs';

const CAP = 2;
const ARGS = ['--set', `plans_waiting_per_member=${CAP}`];
const rnd = (label) => `${label}-${randomBytes(6).toString('hex')}`;

/** The plan gauges of a scrape: { waiting, settling }. */
function plans(srv) {
    return new Promise((resolve, reject) => {
        http.get(srv.url + '/metrics', { agent: false }, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d) => { text += d; });
            res.on('end', () => {
                const num = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
                resolve({ waiting: num('codevd_plans_waiting'), settling: num('codevd_plans_settling') });
            });
        }).on('error', reject);
    });
}

/** Waits (scraping again, at most 10 s) until the gauges are these. */
async function plansBecome(srv, want) {
    let got;
    for (const until = Date.now() + 10000; Date.now() < until;) {
        got = await plans(srv);
        if (got.waiting === want.waiting && got.settling === want.settling) return;
        await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(got, want, 'the plan items held in memory');
}

/** Opens the next session of g (a new consultation to run); resolves with its room. */
async function openSession(g) {
    await g.F.ok({ type: 'session_open' });
    const opened = await Promise.all(g.everyone.map((c) => c.nextEvent('session_opened')));
    Object.assign(g, { step: 'opening', clientNamed: false, problem: false, contract: false });
    drainAll(g);
    return opened[0].room;
}

async function closeSession(g) {
    const ack = await g.F.ok({ type: 'session_close' });
    await Promise.all(g.everyone.map((c) => c.waitSeq(ack.seq)));
    drainAll(g);
}

/** The client's items waiting for a debrief, as their between page lists them. */
async function waitingIds(srv, g) {
    const res = await api(srv.url, 'GET', `/api/groups/${g.groupId}/between`, { key: g.C.key });
    assert.equal(res.status, 200, res.text);
    return res.body.debriefs.map((d) => d.plan_id);
}

/** The client writes these action items in synthesis, then the session closes. */
async function consultationWith(g, actions) {
    await advance(g, 'synthesis');
    for (const a of actions) await g.C.ok({ type: 'action_add', text: a });
    await closeSession(g);
}

test('a debriefed item leaves memory once committed; after kill -9 the same items wait', async () => {
    const srv = await startServer({ args: ARGS });
    const { dataDir } = srv;
    let srv2 = null;
    try {
        const g = await setupGroup(srv);
        const actions = [rnd('one'), rnd('two')];
        await consultationWith(g, actions);
        await plansBecome(srv, { waiting: 2, settling: 0 });

        const room = await openSession(g);
        assert.deepEqual(room.debriefs.map((d) => d.text), actions);
        await g.C.ok({ type: 'debrief_post', debrief_id: room.debriefs[0].id, outcome: 'done' });
        await closeSession(g);
        await plansBecome(srv, { waiting: 1, settling: 0 });
        const before = await waitingIds(srv, g);
        assert.deepEqual(before, [room.debriefs[1].id]);

        await Promise.all(g.everyone.map((c) => c.close()));
        await srv.stop({ signal: 'SIGKILL', keepData: true });
        srv2 = await startServer({ dataDir, args: ARGS });
        await plansBecome(srv2, { waiting: 1, settling: 0 });
        assert.deepEqual(await waitingIds(srv2, g), before);

        // The journal keeps both: the debriefed one with its outcome.
        const j = await api(srv2.url, 'GET', `/api/groups/${g.groupId}/journal`, { key: g.C.key, schema: 'journal' });
        assert.equal(j.status, 200, j.text);
        assert.deepEqual(j.body.plans.map((p) => [p.text, p.debriefed, p.outcome]),
            [[actions[0], true, 'done'], [actions[1], false, null]]);
    } finally {
        await srv2?.stop();
        if (!srv2) await srv.stop();
    }
});

test('hostile: a client who never debriefs holds at most plans_waiting_per_member items', async () => {
    const srv = await startServer({ args: ARGS });
    const { dataDir } = srv;
    let srv2 = null;
    try {
        const g = await setupGroup(srv);
        const written = [];
        for (let k = 0; k < 4; k++) {
            if (k > 0) {
                const room = await openSession(g);
                assert.ok(room.debriefs.length <= CAP, `opening ${k + 1} offers ${room.debriefs.length} items`);
            }
            const actions = [rnd(`s${k}a`), rnd(`s${k}b`), rnd(`s${k}c`)];
            written.push(...actions);
            await consultationWith(g, actions);
            await plansBecome(srv, { waiting: CAP, settling: 0 });
        }
        // The newest wait; the next opening offers exactly them.
        const room = await openSession(g);
        assert.deepEqual(room.debriefs.map((d) => d.text), written.slice(-CAP));
        const ids = await waitingIds(srv, g);
        assert.deepEqual(ids, room.debriefs.map((d) => d.id));

        await Promise.all(g.everyone.map((c) => c.close()));
        await srv.stop({ signal: 'SIGKILL', keepData: true });
        srv2 = await startServer({ dataDir, args: ARGS });
        assert.deepEqual(await waitingIds(srv2, g), ids);
        // The open session was rebuilt with the same debriefs.
        const F = await connectMember(srv2, g.groupId, { member_id: g.F.memberId, member_key: g.F.key }, 'Claire');
        assert.deepEqual(F.room.debriefs.map((d) => d.id), ids);
        await F.close();

        // Expired, never debriefed: the journal still has every item.
        const j = await api(srv2.url, 'GET', `/api/groups/${g.groupId}/journal`, { key: g.C.key, schema: 'journal' });
        assert.equal(j.status, 200, j.text);
        assert.deepEqual(j.body.plans.map((p) => p.text), written);
        assert.ok(j.body.plans.every((p) => p.debriefed === false && p.outcome === null));
    } finally {
        await srv2?.stop();
        if (!srv2) await srv.stop();
    }
});
