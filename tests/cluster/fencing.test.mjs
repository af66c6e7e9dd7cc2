// A cluster's fencing (issue 17; README, Deploy, "Several nodes"): two
// codevd nodes on one PostgreSQL (tests/lib/pg.mjs), a short lease. Node A
// holds a group mid-consultation and is paused (SIGSTOP); once its lease
// expired, node B takes the group over (the journal replayed: every
// acknowledged card, the same seq); a command sent to A while it was
// paused is, once A resumes (SIGCONT), refused with `moved` and never
// acknowledged, A's sockets close with 4009, and B never shows it.
// Also: B answers 503 `moved` for a group A holds live, and a takeover of a
// session with 500 journal records is timed (logged for the report).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { startPostgres } from '../lib/pg.mjs';
import { setupGroup, advance, connectMember } from '../integration/lib/scenario.mjs';
import { api, PROTOCOL } from '../integration/lib/client.mjs';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';

const ARGS = ['--set', 'cards_per_step=10000', '--set', 'commands_burst=1000',
    '--set', 'commands_per_sec=1000', '--set', 'room_items_max=100000'];

/** The node as a group's clients reach it: /ws?group=<id>. */
const via = (srv, gid) => ({ url: srv.url, wsUrl: `${srv.wsUrl}?group=${gid}` });

/**
 * A throwaway PostgreSQL with database db, for nodes of one cluster
 * (lease_ttl_s = ttl when given): start(id, more) starts node id (more:
 * extra arguments), stop() stops every node started, then PostgreSQL.
 */
async function cluster(db, ttl) {
    const pg = await startPostgres();
    const nodes = [];
    try {
        await pg.createDatabase(db);
    } catch (e) {
        await pg.stop();
        throw e;
    }
    const store = ['--set', 'store=postgresql', '--set', `store_dsn=${pg.dsnFor(db)}`,
        ...(ttl ? ['--set', `lease_ttl_s=${ttl}`] : [])];
    return {
        pg,
        async start(id, more = []) {
            const n = await startServer({ args: [...ARGS, ...store, '--set', `node_id=${id}`, ...more] });
            nodes.push(n);
            return n;
        },
        async stop() {
            for (const n of nodes) await n.stop().catch(() => {});
            await pg.stop();
        },
    };
}

/** Polls the async cond every 50 ms until it is true. */
async function until(cond, what, timeoutMs) {
    for (const end = Date.now() + timeoutMs; ;) {
        if (await cond()) return;
        if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
    }
}

test('fencing: a paused node\'s group is taken over after its lease; its pending command is refused (moved, 4009), never acknowledged', async () => {
    const c = await cluster('fence', 2);
    try {
        const A = await c.start('a');
        const B = await c.start('b');

        const g = await setupGroup(A, { observer: null });
        await advance(g, 'consultation');
        const K = g.K[0];
        const acked = [];
        for (let i = 0; i < 5; i++)
            acked.push((await K.ok({ type: 'contribution_post', kind: 'suggestion', text: `avant-${i}` })).seq);
        const lastSeq = acked.at(-1);

        // A holds the group, alive: B refuses it (503 moved, nginx's cue).
        const r = await api(B.url, 'GET', `/api/groups/${g.groupId}`, { key: K.key });
        assert.equal(r.status, 503, JSON.stringify(r.body));
        assert.equal(r.body.error.code ?? r.body.error, 'moved');

        A.child.kill('SIGSTOP');
        try {
            // Sent while A sleeps: the kernel holds it for A.
            const pending = K.send({ type: 'contribution_post', kind: 'suggestion', text: 'pendant-pause' },
                { timeoutMs: 30000 });
            // B takes the group once A's lease expired (A cannot renew).
            let K2 = null;
            await until(async () => {
                const h = await api(B.url, 'GET', `/api/groups/${g.groupId}`, { key: K.key });
                return h.status === 200;
            }, 'B took the group over', 20000);
            K2 = await connectMember(via(B, g.groupId), g.groupId, { member_id: K.memberId, member_key: K.key }, 'K-on-B');
            const room = K2.welcome.room;
            const texts = room.cards.map((c) => c.text);
            for (let i = 0; i < 5; i++) assert.equal(texts.filter((t) => t === `avant-${i}`).length, 1, `avant-${i} once`);
            assert.equal(room.seq, lastSeq, 'seq as acknowledged');
            assert.ok(!texts.includes('pendant-pause'));
            const onB = await K2.ok({ type: 'contribution_post', kind: 'suggestion', text: 'sur-B' });
            assert.equal(onB.seq, lastSeq + 1, 'seq continues on B');

            A.child.kill('SIGCONT');
            // Refused with moved, or (when A's lease renewal found the group
            // lost first and dropped it) left unanswered as the socket
            // closes: never acknowledged either way.
            let reply;
            try {
                reply = await pending;
            } catch (e) {
                assert.match(e.message, /closed \(4009\) before the reply/);
                reply = { type: 'error', code: 'moved' };
            }
            assert.equal(reply.type, 'error', `the paused node's command was not acknowledged: ${JSON.stringify(reply)}`);
            assert.equal(reply.code, 'moved');
            const closed = await K.closed;
            assert.equal(closed.code, 4009, JSON.stringify(closed));
            // Its other members, who sent nothing, are told too (the renewal
            // found the lease lost): no socket keeps showing a stale room.
            for (const c of g.everyone.filter((x) => x !== K))
                assert.equal((await c.closed).code, 4009, `${c.displayName} closed with 4009`);

            // B never shows it, and goes on.
            const K3 = await connectMember(via(B, g.groupId), g.groupId, { member_id: K.memberId, member_key: K.key }, 'K3');
            const t3 = K3.welcome.room.cards.map((c) => c.text);
            assert.ok(!t3.includes('pendant-pause'), 'the refused command is nowhere');
            assert.equal(t3.filter((t) => t === 'sur-B').length, 1);
            await K2.close();
            await K3.close();
        } finally {
            A.child.kill('SIGCONT');
        }
        for (const c of g.everyone) c.terminate();
    } finally {
        await c.stop();
    }
});

test('takeover of a session with 500 journal records: timed (the claim: lease, group, journal replayed)', async () => {
    const c = await cluster('takeover', 2);
    try {
        const A = await c.start('a');
        const B = await c.start('b');
        const g = await setupGroup(A, { observer: null });
        await advance(g, 'consultation');
        const K = g.K[0];
        let last = null;
        for (let i = 0; i < 500; i++)
            last = (await K.ok({ type: 'contribution_post', kind: 'suggestion', text: `carte-${i}` })).seq;
        const records = Number(c.pg.psql('takeover', 'COPY (SELECT count(*) FROM journal) TO STDOUT').trim());
        assert.ok(records >= 500, `${records} journal records`);
        A.child.kill('SIGKILL');
        await A.exited;
        let ms = null;
        await until(async () => {
            const t0 = performance.now();
            const h = await api(B.url, 'GET', `/api/groups/${g.groupId}`, { key: K.key });
            if (h.status === 200) ms = performance.now() - t0;
            return h.status === 200;
        }, 'B took the group over', 20000);
        const logged = /group \S+: taken over in (\d+) ms/.exec(B.log());
        assert.ok(logged, 'B logs the takeover with its time');
        console.log(`# takeover of a session with ${records} journal records: ${logged[1]} ms in codevd (claim + load + replay), ${ms.toFixed(1)} ms for the HTTP call that caused it`);
        const K2 = await connectMember(via(B, g.groupId), g.groupId, { member_id: K.memberId, member_key: K.key }, 'K2');
        assert.equal(K2.welcome.room.cards.length, 500);
        assert.equal(K2.welcome.room.seq, last);
        await K2.close();
        for (const c of g.everyone) c.terminate();
    } finally {
        await c.stop();
    }
});

test('a drained node releases its leases: another node takes its group at once, long before the lease would expire', async () => {
    const c = await cluster('drain', 600);
    try {
        const A = await c.start('a');
        const B = await c.start('b');
        const g = await setupGroup(A, { observer: null });
        await advance(g, 'consultation');
        const K = g.K[0];
        const last = (await K.ok({ type: 'contribution_post', kind: 'suggestion', text: 'avant-drain' })).seq;
        const refused = await api(B.url, 'GET', `/api/groups/${g.groupId}`, { key: K.key });
        assert.equal(refused.status, 503, 'A holds it (a 600 s lease)');
        const t0 = Date.now();
        await A.stop(); // SIGTERM: the drain releases the leases, the process exits 0
        assert.match(A.log(), /draining: leases released/);
        const h = await api(B.url, 'GET', `/api/groups/${g.groupId}`, { key: K.key });
        assert.equal(h.status, 200, `B takes it at once: ${JSON.stringify(h.body)}`);
        assert.ok(Date.now() - t0 < 15000);
        const K2 = await connectMember(via(B, g.groupId), g.groupId, { member_id: K.memberId, member_key: K.key }, 'K2');
        assert.equal(K2.welcome.room.seq, last);
        assert.equal(K2.welcome.room.cards.filter((c) => c.text === 'avant-drain').length, 1);
        await K2.close();
        for (const c of g.everyone) c.terminate();
    } finally {
        await c.stop();
    }
});

test('a paused node whose group was taken while nobody spoke: on waking, its renewal finds the lease lost and closes the group\'s sockets (4009)', async () => {
    const c = await cluster('idle', 2);
    try {
        const A = await c.start('a');
        const B = await c.start('b');
        const g = await setupGroup(A, { observer: null });
        A.child.kill('SIGSTOP');
        try {
            await until(async () => (await api(B.url, 'GET', `/api/groups/${g.groupId}`, { key: g.F.key })).status === 200,
                'B took the group over', 20000);
        } finally {
            A.child.kill('SIGCONT');
        }
        // Nobody sends anything: A finds out by itself (its next renewal).
        const within = (p, ms) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`not within ${ms} ms`)), ms))]);
        for (const c of g.everyone) assert.equal((await within(c.closed, 10000)).code, 4009, `${c.displayName} closed with 4009`);
        assert.match(A.log(), /lease lost/);
    } finally {
        await c.stop();
    }
});

test('/readyz: 503 store_unreachable while the leases cannot be renewed (PostgreSQL stopped), 200 again once it is back', async () => {
    const c = await cluster('ready', 2);
    try {
        const A = await c.start('a');
        const ready = async () => {
            const r = await fetch(`${A.url}/readyz`);
            return { status: r.status, body: await r.json() };
        };
        assert.equal((await ready()).status, 200);
        await c.pg.pause();
        await until(async () => (await ready()).body.status === 'store_unreachable', '/readyz says store_unreachable', 20000);
        assert.equal((await ready()).status, 503);
        await c.pg.resume();
        await until(async () => (await ready()).status === 200, '/readyz ready again', 30000);
    } finally {
        await c.stop();
    }
});

test('strangers naming group ids that exist nowhere: at most cluster_claims_per_s takeovers are tried (429 past it), the node stays responsive, and a real group is still taken over', async () => {
    const c = await cluster('claims', 600);
    try {
        const A = await c.start('a');
        const B = await c.start('b', ['--set', 'cluster_claims_per_s=5']);
        const g = await setupGroup(A, { observer: null });
        const K = g.K[0];
        await A.stop(); // its leases released: B may take the group
        for (const c of g.everyone) c.terminate();

        // 60 WebSocket upgrades at once, each naming a random group id:
        // each that B tries costs it PostgreSQL reads on its one thread.
        const upgrade = (gid) => new Promise((resolve) => {
            const ws = new WebSocket(`${B.wsUrl}?group=${gid}`, PROTOCOL, { origin: B.url });
            ws.on('open', () => { ws.terminate(); resolve(101); });
            ws.on('unexpected-response', (_req, res) => { res.resume(); ws.terminate(); resolve(res.statusCode); });
            ws.on('error', (e) => resolve(`error: ${e.message}`));
        });
        const statuses = await Promise.all(Array.from({ length: 60 }, () => upgrade(randomUUID())));
        const tried = statuses.filter((x) => x === 101).length;
        const refused = statuses.filter((x) => x === 429).length;
        assert.equal(tried + refused, 60, `every upgrade answered 101 or 429: ${JSON.stringify(statuses)}`);
        assert.ok(refused >= 40, `most were refused before any read (burst 10, 5/s): ${refused} refused, ${tried} tried`);
        const scrape = await (await fetch(`${B.url}/metrics`)).text();
        const n = Number(/^codevd_cluster_claims_refused_total (\d+)/m.exec(scrape)?.[1]);
        assert.equal(n, refused, 'each refusal counted');
        // Responsive meanwhile, and the real group is taken over once the
        // bucket refills (a second or two).
        assert.equal((await fetch(`${B.url}/api/health`)).status, 200);
        await until(async () => (await api(B.url, 'GET', `/api/groups/${g.groupId}`, { key: K.key })).status === 200,
            'B takes the real group over', 10000);
    } finally {
        await c.stop();
    }
});

test('three nodes started at once on an empty database: one migrates, the others wait for it, all three come up', async () => {
    const c = await cluster('together');
    try {
        const started = await Promise.allSettled(['a', 'b', 'c'].map((id) => c.start(id)));
        const nodes = started.filter((r) => r.status === 'fulfilled').map((r) => r.value);
        const failed = started.filter((r) => r.status === 'rejected').map((r) => String(r.reason).slice(0, 300));
        assert.deepEqual(failed, [], 'every node started');
        for (const n of nodes) assert.equal((await fetch(`${n.url}/readyz`)).status, 200);
    } finally {
        await c.stop();
    }
});
