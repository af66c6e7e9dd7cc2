// What anyone saw survives (proto/README.md 2.5): a command's events reach
// the members only once its record is committed, so a crash or a full disk
// can take back nothing that anyone saw.
//  - kill -9 at twenty random moments while cards flow in three rooms:
//    after each restart, every card any member received is in its room,
//    exactly once, with the text they saw;
//  - a full disk (a small tmpfs, mounted here: root only, skipped with the
//    reason otherwise): the commands that could not be saved are refused
//    with store_unavailable and nobody sees them, health answers 503 while
//    it lasts, the same process goes on once space is back, seq numbers
//    are never reused, and a restart finds exactly what was acknowledged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { startServer } from '../lib/server.mjs';
import { smallDisk } from '../lib/disk.mjs';
import { setupGroup, advance, reconnect } from './lib/scenario.mjs';

const ARGS = ['--set', 'cards_per_step=10000', '--set', 'commands_burst=1000',
    '--set', 'commands_per_sec=1000', '--set', 'room_items_max=100000'];

/** Every card_added any connection of g received, as [client, card]. */
function cardsSeen(g) {
    const out = [];
    for (const c of g.everyone)
        for (const m of c.received((x) => x.type === 'card_added')) out.push([c, m.card]);
    return out;
}

/** Reconnects every member of g to srv; g's clients are replaced. */
async function reconnectAll(srv, g) {
    const again = [];
    for (const c of g.everyone) again.push(await reconnect(srv, c));
    const byId = new Map(again.map((c) => [c.memberId, c]));
    g.F = byId.get(g.F.memberId);
    g.C = byId.get(g.C.memberId);
    g.K = g.K.map((k) => byId.get(k.memberId));
    g.everyone = again;
    g.srv = srv;
    return again;
}

/** Asserts that every card anyone in g received is in room, once, as seen. */
function assertSeenInRoom(g, room, what) {
    const byId = new Map();
    for (const c of room.cards) {
        assert.ok(!byId.has(c.id), `${what}: card ${c.id} once`);
        byId.set(c.id, c);
    }
    for (const [client, card] of cardsSeen(g)) {
        const kept = byId.get(card.id);
        assert.ok(kept, `${what}: card ${card.id} ("${card.text}") that ${client.displayName} received is in the room`);
        assert.equal(kept.text, card.text, `${what}: card ${card.id} has the text ${client.displayName} saw`);
    }
}

test('kill -9 at twenty random moments while cards flow in three rooms: every card anyone received is in the room after the restart, once', async () => {
    // Every other round every commit waits 100 ms (test_commit_delay_us): a
    // kill then nearly always finds records in flight, so that events sent
    // before their commit would be caught, not only by luck.
    const argsOf = (round) => (round % 2 ? [...ARGS, '--set', 'test_commit_delay_us=100000'] : ARGS);
    let srv = await startServer({ args: argsOf(0) });
    const dataDir = srv.dataDir;
    try {
        const groups = [];
        for (let i = 0; i < 3; i++) {
            const g = await setupGroup(srv, { observer: null });
            await advance(g, 'consultation');
            groups.push(g);
        }
        let killedWithUnacked = 0;
        for (let round = 0; round < 20; round++) {
            const acks = new Set();
            const total = groups.length * 3 * 20;
            // A random moment: as the target-th ack arrives (0: at once),
            // or, every other round, as the clients together have received
            // the target-th card (a card seen before its commit would be
            // lost with the kill).
            const target = Math.floor(Math.random() * total);
            const victim = srv;
            if (round % 2) {
                let cardsReceived = 0;
                for (const g of groups) {
                    const take = g.C._message.bind(g.C);
                    g.C._message = (m) => {
                        take(m);
                        if (m?.type === 'card_added' && ++cardsReceived === target) victim.child.kill('SIGKILL');
                    };
                }
            }
            let fired = 0;
            groups.forEach((g, gi) => {
                for (const k of g.K) {
                    for (let i = 0; i < 20; i++) {
                        const id = `g${gi}-r${round}-${k.displayName}-${i}`;
                        fired++;
                        k.send({ type: 'contribution_post', id, kind: 'suggestion', text: `${id} ${'x'.repeat(i * 20)}` }, { timeoutMs: 30000 })
                            .then((r) => {
                                if (r.type !== 'ack') return;
                                acks.add(id);
                                if (acks.size === target && round % 2 === 0) victim.child.kill('SIGKILL');
                            }, () => {});
                    }
                }
            });
            assert.equal(fired, total);
            // Someone connects while the cards are in flight: the room view
            // of its welcome counts as seen too.
            const watchers = groups.map((g) => reconnect(srv, g.F).catch(() => null));
            if (target === 0) srv.child.kill('SIGKILL');
            await srv.exited;
            const watched = await Promise.all(watchers);
            if (acks.size < fired) killedWithUnacked++;
            srv = await startServer({ dataDir, args: argsOf(round + 1) });
            for (const [gi, g] of groups.entries()) {
                const before = g.everyone;
                const again = await reconnectAll(srv, g);
                const room = again[0].log.find((m) => m.type === 'welcome').room;
                assertSeenInRoom({ everyone: before }, room, `round ${round}, room ${gi}`);
                for (const c of before) c.terminate();
                const w = watched[gi];
                if (w) {
                    const view = w.log.find((m) => m.type === 'welcome').room;
                    const kept = new Map(room.cards.map((c) => [c.id, c.text]));
                    for (const c of view.cards)
                        assert.equal(kept.get(c.id), c.text, `round ${round}, room ${gi}: card ${c.id} of a welcome is in the room`);
                    assert.ok(view.seq <= room.seq, `round ${round}: a welcome at seq ${view.seq} is not ahead of the store (${room.seq})`);
                    w.terminate();
                }
                // And everything acknowledged is there, once.
                const ids = room.cards.map((c) => c.text.split(' ')[0]);
                for (const id of acks)
                    if (id.startsWith(`g${gi}-`))
                        assert.equal(ids.filter((x) => x === id).length, 1, `acknowledged ${id} once`);
            }
        }
        assert.ok(killedWithUnacked > 0, 'some kills came with commands still unacknowledged');
        for (const g of groups) for (const c of g.everyone) c.terminate();
    } finally {
        await srv.stop({ keepData: true }).catch(() => {});
        rmSync(dataDir, { recursive: true, force: true });
    }
});

test('disk full: what could not be saved is refused and seen by nobody, health says so, space back lets the same process go on, seq never reused', async (t) => {
    const disk = smallDisk(t, 'full');
    if (!disk) return;
    const mnt = disk.dir;
    let srv = null;
    try {
        const dataDir = path.join(mnt, 'data');
        srv = await startServer({ dataDir, args: ARGS });
        const g = await setupGroup(srv, { observer: null });
        await advance(g, 'consultation');
        const K = g.K[0];
        const first = await K.ok({ type: 'contribution_post', kind: 'suggestion', text: 'plein-avant' });
        const ballast = disk.fill();

        // Post until the store refuses, then a few more.
        const acked = new Map([['plein-avant', first.seq]]);
        let refused = 0;
        let lastSeq = first.seq;
        for (let i = 0; i < 3000 && refused < 20; i++) {
            const text = `plein-${i} ${'y'.repeat(500)}`;
            const r = await K.send({ type: 'contribution_post', kind: 'suggestion', text }, { timeoutMs: 10000 });
            if (r.type === 'ack') {
                assert.equal(refused, 0, 'nothing is accepted while the store fails (but a trial a second)' );
                acked.set(text, r.seq);
                lastSeq = r.seq;
            } else {
                assert.equal(r.code, 'store_unavailable', JSON.stringify(r));
                refused++;
            }
        }
        assert.ok(refused > 0, 'the full disk refused a command');
        // Refused at once: only the first failure and the trial a second
        // reached the store, not each refused command.
        const metrics = await (await fetch(srv.url + '/metrics')).text();
        const storeErrors = Number(/^codevd_store_errors_total (\d+)$/m.exec(metrics)?.[1]);
        assert.ok(storeErrors >= 1 && storeErrors <= refused / 2,
            `${refused} refused, ${storeErrors} records failed in the store: the rest were refused without trying`);
        const health = await fetch(srv.url + '/api/health');
        assert.equal(health.status, 503, 'health says the store is failing');
        assert.equal((await health.json()).status, 'store_unavailable');
        const creation = await fetch(srv.url + '/api/groups', { method: 'POST', headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ name: 'Pendant', facilitator_name: 'Zoé' }) });
        assert.equal(creation.status, 503, 'a group cannot be created while the store fails');

        // Nobody saw a card that was not saved.
        for (const c of g.everyone) {
            await c.barrier();
            for (const m of c.received((x) => x.type === 'card_added'))
                assert.ok(acked.has(m.card.text), `${c.displayName} saw only saved cards (seq ${m.seq})`);
        }

        // Calls refused for their own reasons while the store fails (400)
        // must not keep the trial a second that tells when writing works
        // again: some of these take it, none submits anything.
        const deadline = Date.now() + 10000;
        let refusedOwn = 0;
        while (refusedOwn < 1 && Date.now() < deadline) {
            const r = await fetch(`${srv.url}/api/groups/${g.groupId}/settings`, { method: 'POST',
                headers: { 'content-type': 'application/json', authorization: `Bearer ${g.F.key}` },
                body: JSON.stringify({ retention: 'forever' }) });
            assert.ok(r.status === 503 || r.status === 400, `settings while failing: ${r.status}`);
            if (r.status === 400) refusedOwn++;
        }
        assert.equal(refusedOwn, 1, 'a call took the trial a second and was refused on its own');

        // Space comes back: the same process goes on, with the next seq.
        unlinkSync(ballast);
        await waitForHealth(srv.url, 200);
        const after = await K.ok({ type: 'contribution_post', kind: 'suggestion', text: 'après le disque plein' });
        assert.equal(after.seq, lastSeq + 1, 'seq continues after the last saved command, none reused');
        await Promise.all(g.everyone.map((c) => c.waitSeq(after.seq)));

        // A restart finds exactly what was acknowledged.
        srv.child.kill('SIGKILL');
        await srv.exited;
        srv = await startServer({ dataDir, args: ARGS });
        const back = await reconnect(srv, K);
        const room = back.log.find((m) => m.type === 'welcome').room;
        const texts = room.cards.map((c) => c.text);
        for (const text of acked.keys()) assert.equal(texts.filter((x) => x === text).length, 1, `saved "${text.slice(0, 12)}" once`);
        assert.equal(texts.filter((x) => x.startsWith('plein-')).length, acked.size, 'nothing refused came back');
        assert.ok(texts.includes('après le disque plein'));
        assert.equal(room.seq, after.seq);
        back.terminate();
        for (const c of g.everyone) c.terminate();
    } finally {
        if (srv) await srv.stop({ keepData: true }).catch(() => {});
        disk.remove();
    }
});

test('disk full: a command sent again while its record is in flight is refused with it, never acknowledged as a duplicate of what failed', async (t) => {
    const disk = smallDisk(t, 'dup');
    if (!disk) return;
    let srv = null;
    try {
        const dataDir = path.join(disk.dir, 'data');
        // Every commit waits 100 ms: the first record that fails waits
        // there (the one before committed just now), so its copy is surely
        // decided while it is in flight.
        srv = await startServer({ dataDir, args: [...ARGS, '--set', 'test_commit_delay_us=100000'] });
        const g = await setupGroup(srv, { observer: null });
        await advance(g, 'consultation');
        const K = g.K[0];
        const answer = (id) => K.next((m) => (m.type === 'ack' || m.type === 'error') && m.id === id, 10000);
        const ballast = disk.fill();
        // Each post goes twice, back to back (a client resending what it
        // has no answer for): the second is decided while the first's
        // record is in flight, as a duplicate.
        const acked = new Map();
        let refused = 0;
        for (let i = 0; i < 3000 && refused < 3; i++) {
            const id = `dup-${i}`;
            const cmd = JSON.stringify({ type: 'contribution_post', id, kind: 'suggestion', text: `${id} ${'z'.repeat(500)}` });
            K.sendRaw(cmd);
            K.sendRaw(cmd);
            const first = await answer(id);
            const again = await answer(id);
            if (first.type === 'ack') {
                assert.equal(again.type, 'ack', `${id} again: ${JSON.stringify(again)}`);
                assert.equal(again.seq, first.seq, `${id} again: the original's seq`);
                acked.set(id, first.seq);
                continue;
            }
            assert.equal(first.code, 'store_unavailable', JSON.stringify(first));
            assert.equal(again.type, 'error', `${id} again, after its original failed: ${JSON.stringify(again)}`);
            assert.equal(again.code, 'store_unavailable');
            refused++;
        }
        assert.ok(refused > 0, 'the full disk refused a command');
        unlinkSync(ballast);
        await waitForHealth(srv.url, 200);
        srv.child.kill('SIGKILL');
        await srv.exited;
        srv = await startServer({ dataDir, args: ARGS });
        const back = await reconnect(srv, K);
        const ids = back.log.find((m) => m.type === 'welcome').room.cards.map((c) => c.text.split(' ')[0]);
        for (const id of acked.keys()) assert.equal(ids.filter((x) => x === id).length, 1, `acknowledged ${id} is saved, once`);
        assert.equal(ids.filter((x) => x.startsWith('dup-')).length, acked.size, 'nothing refused was saved');
        back.terminate();
        for (const c of g.everyone) c.terminate();
    } finally {
        if (srv) await srv.stop({ keepData: true }).catch(() => {});
        disk.remove();
    }
});

async function waitForHealth(url, status, timeoutMs = 10000) {
    const until = Date.now() + timeoutMs;
    for (;;) {
        const r = await fetch(url + '/api/health');
        if (r.status === status) return;
        if (Date.now() > until) throw new Error(`health still ${r.status}, not ${status}`);
        await new Promise((res) => setTimeout(res, 50));
    }
}

test('a member who connects while cards are in flight gets a view of what is committed, then every later event once, in order', async () => {
    const srv = await startServer({ args: ARGS });
    try {
        const g = await setupGroup(srv, { observer: null });
        await advance(g, 'consultation');
        const acks = [];
        const burst = [];
        for (const k of g.K)
            for (let i = 0; i < 30; i++) // under the 32 unanswered a connection may have
                burst.push(k.send({ type: 'contribution_post', kind: 'experience', text: `vol ${k.displayName} ${i}` }, { timeoutMs: 20000 })
                    .then((r) => { assert.equal(r.type, 'ack', JSON.stringify(r)); acks.push(r.seq); }));
        // Connections that arrive during the burst.
        const late = [];
        for (let i = 0; i < 8; i++) late.push(await reconnect(srv, i % 2 ? g.C : g.F));
        await Promise.all(burst);
        const last = Math.max(...acks);
        for (const c of late) {
            await c.waitSeq(last);
            const room = c.log.find((m) => m.type === 'welcome').room;
            const seqs = c.received((m) => typeof m.seq === 'number' && m.type !== 'ack').map((m) => m.seq);
            const expected = [];
            for (let s = room.seq + 1; s <= last; s++) expected.push(s);
            assert.deepEqual(seqs, expected, `after a welcome at seq ${room.seq}, each later event once, in order`);
            // The view held only committed cards: each is one the sender had acked or will.
            assert.ok(room.seq <= last);
            c.assertClean();
            c.terminate();
        }
        for (const c of g.everyone) c.terminate();
    } finally {
        await srv.stop();
    }
});

test('a tick shows only what is committed: while a clock change waits for its record, the tick waits behind it', async () => {
    // Every commit waiting 100 ms keeps each record in flight long enough
    // for the room's tick (once a second) to come while one is.
    const srv = await startServer({ args: [...ARGS, '--set', 'test_commit_delay_us=100000'] });
    try {
        const g = await setupGroup(srv, { observer: null });
        await advance(g, 'consultation');
        await g.F.send({ type: 'timer_start' }); // running, or refused as already running
        // The clock's budget changes over and over while it runs: nearly
        // every tick comes while a change waits for its commit.
        const seen = () => g.C.received((m) => m.type === 'tick').length;
        const before = seen();
        const until = Date.now() + 20000;
        while (seen() < before + 4 && Date.now() < until) {
            await g.F.ok({ type: 'timer_add', seconds: 60 });
            await g.F.ok({ type: 'timer_add', seconds: -60 });
        }
        assert.ok(seen() >= before + 4, 'ticks came while the clock changed');
        // Every tick agrees with the clock the events before it showed.
        let clock = null;
        for (const m of g.C.log) {
            if ((m.type === 'welcome' || m.type === 'session_opened') && m.room) clock = m.room.clock;
            if (m.clock && m.type !== 'tick' && typeof m.seq === 'number') clock = m.clock;
            if (m.type !== 'tick') continue;
            assert.ok(clock, 'a tick comes after a view of the room');
            assert.equal(m.clock.step, clock.step, 'a tick shows the step the events before it showed');
            assert.equal(m.clock.running, clock.running, 'a tick shows the clock running as the events before it did');
            assert.equal(m.clock.budget_ms, clock.budget_ms, `a tick (server_ms ${m.server_ms}) shows the budget the events before it showed, not one still in flight`);
        }
        for (const c of g.everyone) c.terminate();
    } finally {
        await srv.stop();
    }
});
