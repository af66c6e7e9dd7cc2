// The store on PostgreSQL when PostgreSQL goes away mid-session (the pg
// suite of tests/run-all.sh; the same promise as seen-survives' full disk,
// proto/README.md 2.5): with its server stopped, the commands that could
// not be committed are refused with store_unavailable and nobody sees
// them, health answers 503; once it is back, the same codevd process goes
// on by itself (its probes find out), seq numbers are never reused, and a
// restart finds exactly what was acknowledged.
//
// It starts a PostgreSQL of its own (tests/lib/pg.mjs), since it stops it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { startPostgres } from '../lib/pg.mjs';
import { setupGroup, advance, reconnect } from '../integration/lib/scenario.mjs';

const ARGS = ['--set', 'cards_per_step=10000', '--set', 'commands_burst=1000',
    '--set', 'commands_per_sec=1000', '--set', 'room_items_max=100000'];

async function waitForHealth(url, status, timeoutMs = 20000) {
    const until = Date.now() + timeoutMs;
    for (;;) {
        const r = await fetch(url + '/api/health');
        if (r.status === status) return;
        if (Date.now() > until) throw new Error(`health still ${r.status}, not ${status}`);
        await new Promise((res) => setTimeout(res, 50));
    }
}

test('PostgreSQL stopped mid-session: nothing unsaved is acknowledged or seen, health says so, the same process goes on once it is back, a restart finds exactly what was acknowledged', async () => {
    const pg = await startPostgres();
    let srv = null;
    try {
        await pg.createDatabase('outage');
        const store = ['--set', 'store=postgresql', '--set', `store_dsn=${pg.dsnFor('outage')}`];
        srv = await startServer({ args: [...ARGS, ...store] });
        const g = await setupGroup(srv, { observer: null });
        await advance(g, 'consultation');
        const K = g.K[0];
        const first = await K.ok({ type: 'contribution_post', kind: 'suggestion', text: 'avant-arrêt' });
        const acked = new Map([['avant-arrêt', first.seq]]);
        let lastSeq = first.seq;

        await pg.pause(); // pg_ctl stop -m fast: every session of codevd's is cut
        let refused = 0;
        for (let i = 0; i < 200 && refused < 5; i++) {
            const text = `pendant-${i}`;
            const r = await K.send({ type: 'contribution_post', kind: 'suggestion', text }, { timeoutMs: 10000 });
            if (r.type === 'ack') {
                assert.equal(refused, 0, 'nothing is acknowledged once the store failed');
                acked.set(text, r.seq);
                lastSeq = r.seq;
            } else {
                assert.equal(r.code, 'store_unavailable', JSON.stringify(r));
                refused++;
            }
        }
        assert.ok(refused > 0, 'a stopped PostgreSQL refused a command');
        const health = await fetch(srv.url + '/api/health');
        assert.equal(health.status, 503, 'health says the store is failing');
        for (const c of g.everyone) {
            await c.barrier();
            for (const m of c.received((x) => x.type === 'card_added'))
                assert.ok(acked.has(m.card.text), `${c.displayName} saw only saved cards (seq ${m.seq})`);
        }

        await pg.resume();
        await waitForHealth(srv.url, 200);
        const after = await K.ok({ type: 'contribution_post', kind: 'suggestion', text: 'après-retour' });
        assert.equal(after.seq, lastSeq + 1, 'seq continues after the last saved command, none reused');
        await Promise.all(g.everyone.map((c) => c.waitSeq(after.seq)));

        srv.child.kill('SIGKILL');
        await srv.exited;
        srv = await startServer({ dataDir: srv.dataDir, args: [...ARGS, ...store] });
        const back = await reconnect(srv, K);
        const room = back.log.find((m) => m.type === 'welcome').room;
        const texts = room.cards.map((c) => c.text);
        for (const text of acked.keys()) assert.equal(texts.filter((x) => x === text).length, 1, `saved "${text}" once`);
        assert.equal(texts.filter((x) => x.startsWith('pendant-')).length, acked.size - 1, 'nothing refused came back');
        assert.ok(texts.includes('après-retour'));
        assert.equal(room.seq, after.seq);
        back.terminate();
        for (const c of g.everyone) c.terminate();
    } finally {
        if (srv) await srv.stop().catch(() => {});
        await pg.stop();
    }
});
