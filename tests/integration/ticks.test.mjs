// The server's clock: ticks about every second while the step clock runs,
// none while it is paused, negative remaining time on overrun (shown, never
// cut), and the exact state in the snapshot of a reconnect.
import test from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { isTick } from './lib/client.mjs';
import { setupGroup, advance, assertAllClean, closeAll, reconnect } from './lib/scenario.mjs';

let srv;
test.before(async () => { srv = await startServer(); });
test.after(async () => { await srv.stop(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Makes the clock run (a step change may or may not start it) and returns the clock event or null. */
async function ensureRunning(F) {
    const r = await F.send({ type: 'timer_start' });
    if (r.type === 'error') assert.equal(r.code, 'timer_running');
    return r;
}

/** The next n ticks c receives, in order (each within timeoutMs of the one before). */
async function nextTicks(c, n, timeoutMs = 3000) {
    const ticks = [];
    while (ticks.length < n) ticks.push(await c.next(isTick, timeoutMs));
    return ticks;
}

test('with the clock running, ticks arrive at about 1 Hz with remaining_ms decreasing by about 1000', async () => {
    const g = await setupGroup(srv);
    await advance(g, 'topic');
    await ensureRunning(g.F);
    g.everyone.forEach((c) => c.drain());
    /* Periods between consecutive ticks, not a count in a window: a loaded
     * machine (ASan, valgrind) delays a tick without making the next late. */
    const received = await Promise.all(g.everyone.map((c) => nextTicks(c, 5)));
    for (const [i, c] of g.everyone.entries()) {
        const ticks = received[i];
        for (const t of ticks) {
            assert.equal(t.clock.step, 'topic');
            assert.equal(t.clock.running, true);
            assert.equal(t.clock.budget_ms, 300000);
            assert.equal(t.clock.used_ms + t.clock.remaining_ms, t.clock.budget_ms);
            assert.equal(t.clock.server_ms, t.server_ms);
        }
        for (let j = 1; j < ticks.length; j++) {
            const dRemaining = ticks[j - 1].clock.remaining_ms - ticks[j].clock.remaining_ms;
            const dServer = ticks[j].server_ms - ticks[j - 1].server_ms;
            assert.ok(dRemaining >= 700 && dRemaining <= 1300, `${c.name}: remaining_ms fell by ${dRemaining} between ticks`);
            assert.equal(dRemaining, dServer, 'remaining_ms falls exactly as the server clock advances');
        }
    }
    assertAllClean(g);
    await closeAll(g);
});

test('a paused clock sends no ticks; started again, ticks resume from the paused time', async () => {
    const g = await setupGroup(srv);
    await advance(g, 'expose');
    await ensureRunning(g.F);
    await g.K[0].next(isTick, 2000);
    const pause = await g.F.ok({ type: 'timer_pause' });
    const paused = await g.K[0].nextEvent('clock', (m) => m.seq === pause.seq);
    assert.equal(paused.clock.running, false);
    for (const c of g.everyone.filter((x) => x !== g.K[0])) await c.nextEvent('clock', (m) => m.seq === pause.seq);
    g.everyone.forEach((c) => c.drain());
    await sleep(2500); /* time itself is under test: more than two tick periods */
    await Promise.all(g.everyone.map((c) => c.expectNoneAfterBarrier(isTick)));
    // The snapshot of a reconnect holds the exact paused state.
    const fresh = await reconnect(srv, g.K[1]);
    const clock = fresh.welcome.room.clock;
    assert.deepEqual([clock.step, clock.running, clock.budget_ms, clock.used_ms, clock.remaining_ms],
        ['expose', false, paused.clock.budget_ms, paused.clock.used_ms, paused.clock.remaining_ms]);
    await g.F.ok({ type: 'timer_start' });
    const tick = await g.K[0].next(isTick, 1600);
    assert.equal(tick.clock.running, true);
    assert.ok(tick.clock.used_ms >= paused.clock.used_ms && tick.clock.used_ms <= paused.clock.used_ms + 1300,
        `used_ms resumes from ${paused.clock.used_ms}: ${tick.clock.used_ms}`);
    assertAllClean(g, [fresh]);
    await closeAll(g, [fresh]);
});

test('overrun: the clock keeps running past the budget with negative remaining_ms, and the step stays', async () => {
    const g = await setupGroup(srv);
    await advance(g, 'clarification');
    await ensureRunning(g.F);
    const set = await g.F.ok({ type: 'timer_set', seconds: 1 });
    const ev = await g.K[0].nextEvent('clock', (m) => m.seq === set.seq);
    assert.ok(ev.clock.remaining_ms <= 1000 && ev.clock.remaining_ms > 0, `remaining ${ev.clock.remaining_ms}`);
    assert.equal(ev.clock.running, true);
    const overrun = await g.K[0].next((m) => isTick(m) && m.clock.remaining_ms <= -1000, 4000);
    assert.equal(overrun.clock.running, true);
    assert.equal(overrun.clock.step, 'clarification');
    assert.ok(overrun.clock.remaining_ms > -3000, `remaining ${overrun.clock.remaining_ms}`);
    assert.equal(overrun.clock.used_ms + overrun.clock.remaining_ms, overrun.clock.budget_ms);
    // The step is not cut: a question is still accepted.
    await g.K[1].ok({ type: 'question_ask', text: 'Encore une question, malgré le temps dépassé ?' });
    const fresh = await reconnect(srv, g.K[2]);
    assert.ok(fresh.welcome.room.clock.remaining_ms < 0);
    assert.equal(fresh.welcome.room.step, 'clarification');
    assertAllClean(g, [fresh]);
    await closeAll(g, [fresh]);
});
