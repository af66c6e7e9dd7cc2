// Nothing acknowledged is lost: kill -9 the server at different moments of
// a session, restart it on the same data dir, reconnect, and check that
// every acknowledged command is there exactly once, that sequence numbers
// continue, that the clock counted the downtime, and that resending the
// unacknowledged commands with their ids applies each at most once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer } from '../lib/server.mjs';
import { setupGroup, advance, reconnect } from './lib/scenario.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts a burst of contributions from every consultant (n each) without
 * waiting; returns the commands and a map id -> ack (filled as acks come).
 */
function burst(g, n, label) {
    const cmds = [];
    const acks = new Map();
    for (const k of g.K) {
        for (let i = 0; i < n; i++) {
            const cmd = { type: 'contribution_post', id: `${k.tag}-${label}-${i}`, kind: 'suggestion', text: `${label} ${k.displayName} ${i}` };
            cmds.push({ k, cmd });
            k.send(cmd, { timeoutMs: 20000 }).then((r) => { if (r.type === 'ack') acks.set(cmd.id, r); }, () => {});
        }
    }
    return { cmds, acks };
}

async function killAndRestart(srv) {
    srv.child.kill('SIGKILL');
    await srv.exited;
    const killedAt = Date.now();
    await sleep(300); /* downtime */
    const again = await startServer({ dataDir: srv.dataDir });
    return { again, killedAt };
}

function textsIn(room) {
    const counts = new Map();
    for (const c of room.cards) counts.set(c.text, (counts.get(c.text) || 0) + 1);
    return counts;
}

const moments = [
    { name: 'mid-consultation, early in a burst of cards', acksBeforeKill: 3, n: 25 },
    { name: 'mid-consultation, in the middle of a burst of cards', acksBeforeKill: 15, n: 20 },
    { name: 'mid-consultation, late in a burst of cards', acksBeforeKill: 50, n: 20 },
    { name: 'right after a burst of cards was acknowledged', acksBeforeKill: 'all', n: 10 },
    { name: 'during a step change', acksBeforeKill: 'step', n: 5 },
];

for (const moment of moments) {
    test(`kill -9 ${moment.name}: every acknowledged command survives once`, async () => {
        const srv = await startServer();
        try {
            const g = await setupGroup(srv);
            await advance(g, 'consultation');
            const { cmds, acks } = burst(g, moment.n, 'idée');
            let stepAck = null;
            if (moment.acksBeforeKill === 'all') {
                while (acks.size < cmds.length) await sleep(5);
            } else if (moment.acksBeforeKill === 'step') {
                while (acks.size < cmds.length) await sleep(5);
                g.F.send({ type: 'step_next' }, { timeoutMs: 20000 }).then((r) => { stepAck = r; }, () => {});
                await sleep(2);
            } else {
                while (acks.size < moment.acksBeforeKill) await sleep(1);
            }
            const before = await (async () => {
                // what the facilitator saw of the clock just before the kill
                const tick = g.F.received((m) => m.clock).pop();
                return tick ? tick.clock : null;
            })();
            const ackedIds = new Set(acks.keys());
            const lastAckedSeq = Math.max(0, ...[...acks.values()].map((a) => a.seq), stepAck?.seq || 0);
            const { again, killedAt } = await killAndRestart(srv);
            try {
                const K = g.K[0];
                const back = await reconnect(again, K, lastAckedSeq);
                const welcome = back.log.find((m) => m.type === 'welcome');
                const room = welcome.room;
                assert.ok(room, 'the session is open again after the restart');
                const counts = textsIn(room);
                for (const { cmd } of cmds) {
                    const n = counts.get(cmd.text) || 0;
                    if (ackedIds.has(cmd.id)) assert.equal(n, 1, `acknowledged "${cmd.text}" present once`);
                    else assert.ok(n <= 1, `unacknowledged "${cmd.text}" at most once`);
                }
                assert.ok(room.seq >= lastAckedSeq, `seq ${room.seq} continues from ${lastAckedSeq}`);
                if (stepAck?.type === 'ack') assert.equal(room.step, 'synthesis');

                // The clock counted the downtime (it ran through the crash).
                if (before && before.running && room.clock.step === before.step) {
                    const expected = before.remaining_ms - (room.clock.server_ms - before.server_ms);
                    assert.ok(Math.abs(room.clock.remaining_ms - expected) < 1000,
                        `remaining ${room.clock.remaining_ms} ms, expected about ${expected} ms (killed at ${killedAt})`);
                    assert.equal(room.clock.running, true);
                }

                // Every consultant reconnects and resends what had no ack, same ids.
                const conns = [back];
                for (const k of g.K.slice(1)) conns.push(await reconnect(again, k, lastAckedSeq));
                const byTag = new Map([[K.tag, back], ...g.K.slice(1).map((k, i) => [k.tag, conns[i + 1]])]);
                for (const { k, cmd } of cmds) {
                    if (ackedIds.has(cmd.id)) continue;
                    const r = await byTag.get(k.tag).send(cmd, { timeoutMs: 5000 });
                    assert.equal(r.type, 'ack', JSON.stringify(r));
                }
                const after = await reconnect(again, K);
                const finalRoom = after.log.find((m) => m.type === 'welcome').room;
                const finalCounts = textsIn(finalRoom);
                for (const { cmd } of cmds) assert.equal(finalCounts.get(cmd.text), 1, `"${cmd.text}" exactly once after resend`);

                // Sequence numbers continue: the next card takes the next number.
                const next = await after.ok({ type: 'note_post', text: 'après le redémarrage' });
                assert.equal(next.seq, finalRoom.seq + 1);
                for (const c of [...conns, after]) c.assertClean();
                await Promise.all([...conns, after].map((c) => c.close()));
            } finally {
                await again.stop({ keepData: true });
            }
        } finally {
            await srv.stop({ keepData: true }).catch(() => {});
            rmSync(srv.dataDir, { recursive: true, force: true });
        }
    });
}

test('a restart without a crash keeps groups, members and the open session', async () => {
    const srv = await startServer();
    try {
        const g = await setupGroup(srv);
        await advance(g, 'clarification');
        const q = await g.K[0].ok({ type: 'question_ask', text: 'Depuis quand ?' });
        await srv.stop({ keepData: true });
        const again = await startServer({ dataDir: srv.dataDir });
        try {
            const back = await reconnect(again, g.C, q.seq);
            const room = back.log.find((m) => m.type === 'welcome').room;
            assert.equal(room.step, 'clarification');
            assert.equal(room.seq, q.seq);
            assert.ok(room.cards.some((c) => c.type === 'question' && c.text === 'Depuis quand ?'));
            const who = room.consultations[0].client;
            assert.equal(who, g.C.memberId);
            await back.close();
        } finally {
            await again.stop({ keepData: true });
        }
    } finally {
        rmSync(srv.dataDir, { recursive: true, force: true });
    }
});
