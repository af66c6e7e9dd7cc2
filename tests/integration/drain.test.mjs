// A restart nobody notices (issue 16): SIGTERM in the middle of a
// consultation while every consultant is posting cards. The server stops
// accepting, commits what it journaled, tells every WebSocket to come back
// (close 1001 "going_away retry_ms=N") and exits; a new process starts on
// the same port and data dir; each client reconnects after the hint,
// resends what had no answer with the same id, and goes on posting.
// Nothing acknowledged is lost, nothing is there twice, and every client is
// back within 5 s of being told to go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer } from '../lib/server.mjs';
import { setupGroup, advance, reconnect } from './lib/scenario.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const PER_CLIENT = 14;   // cards each consultant posts in all
const BEFORE_TERM = 4;   // acks each has before the SIGTERM

/**
 * A consultant that posts cards one after another (each waits for its
 * answer), and on a going_away close reconnects to `server()` after the
 * hint, resending the unanswered card with its id. Records acks and how
 * long each absence lasted.
 */
function poster(g, k, server) {
    const state = { conn: k, acks: new Map(), sent: [], backMs: [], closes: [], done: null };
    const waitBack = async (closeInfo) => {
        state.closes.push(closeInfo);
        const m = /^going_away retry_ms=(\d+)$/.exec(closeInfo.reason);
        assert.ok(m, `${k.displayName}: closed with ${closeInfo.code} "${closeInfo.reason}", expected going_away with a hint`);
        assert.equal(closeInfo.code, 1001);
        const gone = Date.now();
        // The web client's way: half the hint, plus up to half again at random;
        // then a short backoff while the new process is not up yet.
        await sleep(Number(m[1]) / 2 + Math.random() * Number(m[1]) / 2);
        for (let attempt = 0; ; attempt++) {
            try {
                state.conn = await reconnect(server(), k, k.lastSeq);
                break;
            } catch {
                assert.ok(Date.now() - gone < 20000, `${k.displayName}: no server to come back to`);
                await sleep(Math.min(250 * 2 ** attempt, 1000));
            }
        }
        state.backMs.push(Date.now() - gone);
    };
    state.done = (async () => {
        for (let i = 0; i < PER_CLIENT; i++) {
            const cmd = { type: 'contribution_post', id: `${k.tag}-drain-${i}`, kind: 'suggestion', text: `redémarrage ${k.displayName} ${i}` };
            state.sent.push(cmd);
            for (;;) {
                const c = state.conn;
                try {
                    const r = await c.send(cmd, { timeoutMs: 15000 });
                    assert.equal(r.type, 'ack', `${k.displayName}: ${JSON.stringify(r)}`);
                    state.acks.set(cmd.id, r);
                    break;
                } catch (e) {
                    if (c.ws.readyState === c.ws.OPEN) throw e;
                    await waitBack(await c.closed); /* then the same id again */
                }
            }
            // A close that came between two cards (nothing pending).
            if (state.conn.closeInfo) await waitBack(state.conn.closeInfo);
        }
    })();
    return state;
}

test('SIGTERM mid-consultation while cards are posted: nothing acknowledged lost, nothing twice, everyone back within 5 s', async () => {
    let srv = await startServer({ args: ['--set', 'drain_timeout_s=10'] });
    const dataDir = srv.dataDir, port = srv.port;
    let current = srv;
    try {
        const g = await setupGroup(srv);
        await advance(g, 'consultation');
        const posters = g.K.map((k) => poster(g, k, () => current));
        // Every consultant is in the middle of posting when the signal comes.
        while (posters.some((p) => p.acks.size < BEFORE_TERM)) await sleep(5);
        const ackedBefore = new Set(posters.flatMap((p) => [...p.acks.keys()]));
        const termAt = Date.now();
        const res = await srv.stop({ signal: 'SIGTERM', keepData: true });
        const drainMs = Date.now() - termAt;
        assert.deepEqual(res, { code: 0, signal: null });
        assert.match(srv.log(), /draining: \d+ connections/);
        assert.match(srv.log(), /drained/);
        assert.ok(drainMs < 10000, `exited ${drainMs} ms after SIGTERM, within drain_timeout_s`);
        // The facilitator, the client and the observer were told too.
        for (const c of [g.F, g.C, g.O]) {
            const info = await c.closed;
            assert.equal(info.code, 1001);
            assert.match(info.reason, /^going_away retry_ms=\d+$/);
        }

        current = await startServer({ dataDir, port });
        await Promise.all(posters.map((p) => p.done));

        for (const p of posters) {
            assert.equal(p.closes.length, 1, `${p.conn.displayName}: told to go once`);
            for (const ms of p.backMs) assert.ok(ms < 5000, `${p.conn.displayName} back after ${ms} ms`);
            assert.equal(p.acks.size, PER_CLIENT);
        }
        // The room as the new process has it: every card once, acked ones included.
        const look = await reconnect(current, g.F);
        const room = look.welcome.room;
        assert.ok(room && room.step === 'consultation', 'the session goes on in the same step');
        const counts = new Map();
        for (const c of room.cards) counts.set(c.text, (counts.get(c.text) || 0) + 1);
        for (const p of posters) {
            for (const cmd of p.sent) {
                assert.equal(counts.get(cmd.text), 1, `"${cmd.text}" exactly once${ackedBefore.has(cmd.id) ? ' (acknowledged before the SIGTERM)' : ''}`);
            }
        }
        // Nothing shown twice: on every connection, each card arrived once
        // (a snapshot, then events for cards it did not hold).
        for (const p of posters) {
            const seen = new Set(p.conn.welcome.room.cards.map((c) => c.id));
            for (const m of p.conn.log) {
                if (m.type !== 'card_added') continue;
                const id = m.card?.id;
                if (!id) continue;
                assert.ok(!seen.has(id), `${p.conn.displayName} was shown card ${id} twice`);
                seen.add(id);
            }
            p.conn.assertClean();
        }
        look.assertClean();
        await Promise.all([look, ...posters.map((p) => p.conn)].map((c) => c.close()));
        console.log(`# drain: exit ${drainMs} ms after SIGTERM; back after ${posters.flatMap((p) => p.backMs).join(', ')} ms`);
    } finally {
        await current.stop({ keepData: true }).catch(() => {});
        await srv.stop({ keepData: true }).catch(() => {});
        rmSync(dataDir, { recursive: true, force: true });
    }
});

test('a drain that cannot finish (a client that never answers the close) still exits by drain_timeout_s, journal committed', async () => {
    const srv = await startServer({ args: ['--set', 'drain_timeout_s=2'] });
    try {
        const g = await setupGroup(srv, { consultants: ['Léa'], observer: null });
        await advance(g, 'consultation');
        const ack = await g.K[0].ok({ type: 'contribution_post', kind: 'suggestion', text: 'avant l’arrêt' });
        // A peer that stops reading: its socket never takes the close frame.
        g.K[0].ws._socket.pause();
        const t0 = Date.now();
        const res = await srv.stop({ signal: 'SIGTERM', keepData: true });
        const ms = Date.now() - t0;
        assert.deepEqual(res, { code: 0, signal: null });
        assert.ok(ms < 2000 + 3000, `exited ${ms} ms after SIGTERM (drain_timeout_s = 2)`);
        assert.match(srv.log(), /drain_timeout_s reached: 1 connections still open/);
        g.K[0].ws._socket.resume();
        const again = await startServer({ dataDir: srv.dataDir });
        try {
            const back = await reconnect(again, g.F);
            assert.ok(back.welcome.room.cards.some((c) => c.text === 'avant l’arrêt'), `card of seq ${ack.seq} kept`);
            await back.close();
        } finally {
            await again.stop();
        }
    } finally {
        rmSync(srv.dataDir, { recursive: true, force: true });
    }
});
