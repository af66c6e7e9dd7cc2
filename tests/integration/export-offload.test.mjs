// A large export does not stall the loop (issue 10, item 8, export part):
// exports are read and formatted on the export thread, so while one member
// downloads a 12 MB journal, another member's commands are acknowledged as
// fast as before. Time is what is under test: ack round trips are measured
// during the export and compared with those measured just before it.
import { test } from 'node:test';
import { execFile } from 'node:child_process';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { api, createGroup, joinGroup } from './lib/client.mjs';
import { connectMember } from './lib/scenario.mjs';

const NOTE_CHARS = 100000;
const NOTES = 125; // 12.5 MB of notes

/** Round trips (ms) of hand_raise/hand_lower commands sent one after the other while busy() is true. */
async function ackTimes(c, busy, min = 20) {
    const times = [];
    while (times.length < min || busy()) {
        const t0 = performance.now();
        await c.ok({ type: c.handUp ? 'hand_lower' : 'hand_raise' });
        times.push(performance.now() - t0);
        c.handUp = !c.handUp;
    }
    return times;
}
/** GETs url in a child process; resolves with its status, size and number of notes. */
function download(url, key) {
    const script = `const r = await fetch(${JSON.stringify(url)}, { headers: { authorization: 'Bearer ${key}' } });
        const t = await r.text();
        process.stdout.write(JSON.stringify({ status: r.status, bytes: t.length, notes: JSON.parse(t).notes?.length }));`;
    return new Promise((resolve, reject) => {
        execFile(process.execPath, ['--input-type=module', '-e', script], { maxBuffer: 1 << 20 },
            (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout))));
    });
}
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

test('a 12 MB journal export does not delay another member\'s acks', async () => {
    const srv = await startServer({
        args: ['--set', `text_max_chars=${NOTE_CHARS}`, '--set', `long_text_max_chars=${NOTE_CHARS}`, '--set', 'ws_max_message=1048576',
            '--set', 'cards_per_step=1000', '--set', 'commands_per_sec=10000', '--set', 'commands_burst=100000',
            // A session this large is past the default session budget.
            '--set', 'room_bytes_max=16777216', '--set', 'out_queue_bytes=20000000',
            '--set', 'group_journal_max_bytes=33554432'],
    });
    try {
        const g = await createGroup(srv.url);
        const k = await joinGroup(srv.url, g.group_id, g.invite_code, 'Léa');
        const F = await connectMember(srv, g.group_id, g, 'Claire');
        const K = await connectMember(srv, g.group_id, k, 'Léa');
        await F.ok({ type: 'session_open' });
        await K.nextEvent('session_opened');
        for (let i = 0; i < NOTES; i++) {
            await F.ok({ type: 'note_post', text: `${i} `.padEnd(NOTE_CHARS, 'n') }, { timeoutMs: 10000, unchecked: true });
            F.drain();
        }
        await F.ok({ type: 'session_close' });
        await F.ok({ type: 'session_open' });
        await K.nextEvent('session_opened');
        K.drain();

        // Three exports: a loop that does the work itself stalls during
        // every one of them, while a spike of a busy shared machine (the
        // suites run in parallel) rarely hits all three; the best of the
        // three worst cases is what is compared.
        const before = await ackTimes(K, () => false, 50);
        const worsts = [];
        for (let run = 0; run < 3; run++) {
            let done = false;
            // The download runs in another process, so that receiving 12 MB
            // does not hold this process's event loop (which times the acks).
            const exporting = download(`${srv.url}/api/groups/${g.group_id}/journal`, g.member_key)
                .finally(() => { done = true; });
            const during = await ackTimes(K, () => !done);
            const res = await exporting;
            assert.equal(res.status, 200);
            assert.ok(res.bytes >= 12 * 1000 * 1000, `the journal is ${res.bytes} bytes`);
            assert.equal(res.notes, NOTES);
            worsts.push(Math.max(...during));
            console.log(`export ${run}: ${during.length} acks, p50 ${quantile(during, 0.5).toFixed(2)} ms, max ${worsts[run].toFixed(2)} ms`);
        }
        const best = Math.min(...worsts), p99 = quantile(before, 0.99);
        console.log(`acks before: p50 ${quantile(before, 0.5).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms; best worst case during an export: ${best.toFixed(2)} ms`);
        // The target is 10 ms; the bound leaves room for a busy machine, far
        // below the ~90 ms the loop took when it read and formatted the
        // journal itself.
        assert.ok(best <= p99 + 40, `acks waited ${worsts.map((w) => w.toFixed(1)).join(', ')} ms during the exports (p99 before: ${p99.toFixed(1)} ms)`);
        await F.close();
        await K.close();
    } finally {
        await srv.stop();
    }
});

test('exports waiting for the export thread are bounded: past 32, 429 rate_limited with Retry-After, never a 500', async () => {
    const srv = await startServer({
        args: ['--set', `text_max_chars=${NOTE_CHARS}`, '--set', `long_text_max_chars=${NOTE_CHARS}`, '--set', 'ws_max_message=1048576', '--set', 'cards_per_step=1000',
            '--set', 'commands_per_sec=10000', '--set', 'commands_burst=100000', '--set', 'room_bytes_max=16777216',
            '--set', 'out_queue_bytes=20000000', '--set', 'group_journal_max_bytes=33554432', '--set', 'room_member_share=1'],
    });
    try {
        const g = await createGroup(srv.url);
        const F = await connectMember(srv, g.group_id, g, 'Claire');
        await F.ok({ type: 'session_open' });
        for (let i = 0; i < 40; i++) {
            await F.ok({ type: 'note_post', text: `${i} `.padEnd(NOTE_CHARS, 'n') }, { timeoutMs: 10000, unchecked: true });
            F.drain();
        }
        await F.ok({ type: 'session_close' });
        // 60 at once: the thread makes one at a time (4 MB each).
        const all = await Promise.all(Array.from({ length: 60 }, () =>
            fetch(`${srv.url}/api/groups/${g.group_id}/journal`, { headers: { authorization: `Bearer ${g.member_key}` } })
                .then(async (r) => ({ status: r.status, retry: r.headers.get('retry-after'), len: (await r.text()).length }))));
        const counts = {};
        for (const r of all) counts[r.status] = (counts[r.status] || 0) + 1;
        assert.deepEqual(Object.keys(counts).sort(), ['200', '429'], JSON.stringify(counts));
        assert.ok(counts[200] >= 32, JSON.stringify(counts));
        for (const r of all.filter((x) => x.status === 429)) assert.equal(r.retry, '1');
        for (const r of all.filter((x) => x.status === 200)) assert.ok(r.len > 4000000);
        await F.close();
    } finally {
        await srv.stop();
    }
});
