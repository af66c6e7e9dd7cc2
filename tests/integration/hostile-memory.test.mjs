// Issue 10 item 2: a hundred strangers holding one invite say hello on a
// room filled to its budget and never read. The server's memory may grow by
// less than 64 MB: the room is bounded (room_full), every joiner shares one
// encoding of the room, and a welcome goes out in slices, so that no
// connection holds a copy of it. Measured from /proc/PID/status (VmRSS).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startServer, repoRoot } from '../lib/server.mjs';
import { setupGroup, reconnect, closeAll } from './lib/scenario.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MB = 1024 * 1024;
const HOSTILE = 100;
const BOUND = 64 * MB;

function peers(args) {
    const p = spawn('python3', [path.join(repoRoot, 'tests/integration/lib/rawpeer.py'), ...args.map(String)],
        { stdio: ['ignore', 'pipe', 'inherit'] });
    p.lines = [];
    p.stdout.on('data', (d) => p.lines.push(...d.toString().split('\n').filter(Boolean)));
    return p;
}

test(`${HOSTILE} connections that say hello on a full room and never read keep the server under ${BOUND / MB} MB above its baseline`, async () => {
    // The rate and per-step limits out of the way: only the room budget stops the filling.
    const srv = await startServer({
        args: ['--set', 'commands_per_sec=10000', '--set', 'commands_burst=100000', '--set', 'cards_per_step=10000'],
    });
    let p;
    try {
        const g = await setupGroup(srv);
        // Fill the room with check-ins until room_full (at most 3000 tries:
        // a server without a budget would take them all).
        const text = 'é'.repeat(999);
        let posted = 0, full = false;
        for (let i = 0; i < 3000 && !full; i++) {
            const r = await g.K[i % 3].send({ type: 'checkin_post', text: `${text}${i % 10}` });
            if (r.type === 'error') {
                assert.equal(r.code, 'room_full');
                full = true;
            } else {
                posted++;
            }
        }
        assert.ok(full, `the room took ${posted} cards of 2 kB without room_full`);

        // Baseline: the full room in memory, a reader's welcome already sent once.
        const reader = await reconnect(srv, g.K[1]);
        const welcome = reader.log.find((m) => m.type === 'welcome');
        assert.equal(welcome.room.cards.length, posted, 'a reader gets the full room');
        await reader.close();
        const baseline = srv.rssBytes();

        p = peers([srv.port, 'noreadmany', g.groupId, g.O.key, HOSTILE]);
        for (const until = Date.now() + 30000; !p.lines.some((l) => l.startsWith('upgraded')); await sleep(20))
            if (Date.now() > until || p.exitCode !== null) throw new Error(`rawpeer: ${JSON.stringify(p.lines)}`);
        assert.deepEqual(p.lines, [`upgraded ${HOSTILE}`]);

        // Every hello answered: a barrier command from the facilitator is
        // acknowledged after the hellos queued before it were handled.
        await g.F.ok({ type: 'timer_start' });
        let peak = 0;
        for (let i = 0; i < 20; i++) {
            peak = Math.max(peak, srv.rssBytes());
            await sleep(50);
        }
        const grown = peak - baseline;
        console.log(`# rss baseline ${(baseline / MB).toFixed(1)} MB, peak with ${HOSTILE} hostile readers ${(peak / MB).toFixed(1)} MB (+${(grown / MB).toFixed(1)} MB); room ${posted} cards, welcome ${Buffer.byteLength(JSON.stringify(welcome))} bytes`);
        assert.ok(grown < BOUND, `the server grew by ${(grown / MB).toFixed(1)} MB`);

        // The room goes on for everyone else.
        const late = await reconnect(srv, g.K[2]);
        assert.equal(late.log.find((m) => m.type === 'welcome').room.cards.length, posted);
        await late.close();
        await closeAll(g);
    } finally {
        if (p) p.kill();
        await srv.stop();
    }
});
