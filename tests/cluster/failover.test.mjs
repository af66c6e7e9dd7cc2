// Three codevd nodes on one PostgreSQL behind nginx with
// config/nginx/cluster.conf (issue 17, "Proved on this machine"): groups
// spread over the nodes by nginx's consistent hash of the group id; real
// WebSocket clients through nginx (/ws?group=); mid-consultation, cards
// being posted, kill -9 of a node; its clients reconnect through nginx and
// land on another node once the dead node's lease expired (lease_ttl_s=2);
// every acknowledged card is there exactly once, seq continues, the clock
// still runs where it was. The dead node comes back on its port: a group
// another node took stays there (nginx's next_upstream walks to it: the
// returning node answers 503 moved), nothing acknowledged is lost or
// doubled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, freePort } from '../lib/server.mjs';
import { startPostgres } from '../lib/pg.mjs';
import { startClusterFront } from '../lib/cluster.mjs';
import { advance, connectMember } from '../integration/lib/scenario.mjs';
import { createGroup, joinGroup, api } from '../integration/lib/client.mjs';

const ARGS = ['--set', 'cards_per_step=10000', '--set', 'commands_burst=1000',
    '--set', 'commands_per_sec=1000', '--set', 'room_items_max=100000',
    '--set', 'listen=127.0.0.1', '--set', 'trusted_proxies=127.0.0.1', '--set', 'lease_ttl_s=2'];
/** Through nginx, as the web client reaches a group: /ws?group=<id>. */
const via = (front, gid) => ({ url: front.url, wsUrl: `${front.url.replace(/^http/, 'ws')}/ws?group=${gid}` });

/** connectMember, retried while nginx finds no node for the group yet. */
async function connectRetry(front, gid, member, name, timeoutMs = 20000) {
    for (const end = Date.now() + timeoutMs; ;) {
        try {
            return await connectMember(via(front, gid), gid, member, name);
        } catch (e) {
            if (Date.now() > end) throw e;
            await new Promise((r) => setTimeout(r, 100));
        }
    }
}

/** A group made through nginx: facilitator, client, two consultants, at the consultation. */
async function setupVia(front, label) {
    const created = await createGroup(front.url, { format: 90, name: `Groupe ${label}` });
    const gid = created.group_id;
    const members = [];
    for (const name of ['Karim', 'Léa', 'Julien'])
        members.push({ name, ...(await joinGroup(front.url, gid, created.invite_code, name)) });
    const F = await connectMember(via(front, gid), gid, created, 'Claire');
    const people = [];
    for (const m of members) people.push(await connectMember(via(front, gid), gid, m, m.name));
    const C = people.shift();
    const g = { srv: front, group: created, groupId: gid, F, C, K: people, O: null, step: null };
    g.everyone = [F, C, ...people];
    await F.ok({ type: 'session_open' });
    await Promise.all(g.everyone.map((c) => c.nextEvent('session_opened')));
    g.step = 'opening';
    for (const c of g.everyone) c.drain();
    await advance(g, 'consultation');
    g.consultAt = Date.now(); // the step's clock started (about) now
    return g;
}

const holders = (pg) => new Map(pg.psql('cluster', 'COPY (SELECT group_id, node_id FROM group_lease) TO STDOUT')
    .trim().split('\n').filter(Boolean).map((l) => l.split('\t')));

test('three nodes behind nginx: kill -9 mid-consultation, the clients land on another node with every acknowledged card once, seq and clock right; the dead node comes back without doubling anything', async () => {
    const pg = await startPostgres();
    const nodes = [];
    let front = null;
    const clients = [];
    try {
        await pg.createDatabase('cluster');
        const frontPort = await freePort();
        const store = ['--set', 'store=postgresql', '--set', `store_dsn=${pg.dsnFor('cluster')}`,
            '--set', `allowed_origins=http://127.0.0.1:${frontPort}`];
        for (let i = 0; i < 3; i++)
            nodes.push(await startServer({ args: [...ARGS, ...store, '--set', `node_id=n${i + 1}`] }));
        front = await startClusterFront(frontPort, nodes.map((n) => n.port));

        // Six groups: nginx's hash spreads them over the nodes.
        const groups = [];
        for (let i = 0; i < 6; i++) {
            const g = await setupVia(front, i);
            groups.push(g);
            clients.push(...g.everyone);
        }
        const lease = holders(pg);
        const byNode = new Map();
        for (const g of groups) byNode.set(lease.get(g.groupId), [...(byNode.get(lease.get(g.groupId)) || []), g]);
        assert.ok(byNode.size >= 2, `groups spread over the nodes: ${JSON.stringify([...byNode].map(([n, gs]) => [n, gs.length]))}`);
        // The victim: the node holding the most groups.
        const [victimId, victimGroups] = [...byNode].sort((a, b) => b[1].length - a[1].length)[0];
        const victim = nodes[Number(victimId.slice(1)) - 1];

        // Cards acknowledged before, and being posted during, the kill.
        const acked = new Map(groups.map((g) => [g.groupId, []]));
        let lastSeq = new Map();
        for (const g of groups)
            for (let i = 0; i < 3; i++) {
                const a = await g.K[0].ok({ type: 'contribution_post', kind: 'suggestion', text: `${g.groupId.slice(0, 8)}-avant-${i}` });
                acked.get(g.groupId).push(a.seq);
                lastSeq.set(g.groupId, a.seq);
            }
        for (const g of victimGroups) {
            const r = await api(front.url, 'GET', `/api/groups/${g.groupId}`, { key: g.F.key });
            assert.equal(r.status, 200, 'a group call through nginx reaches its node');
        }
        let posting = true;
        const inFlight = [];
        const ackedTexts = new Map(groups.map((g) => [g.groupId, new Set()]));
        for (const g of groups) for (let i = 0; i < 3; i++) ackedTexts.get(g.groupId).add(`${g.groupId.slice(0, 8)}-avant-${i}`);
        for (const g of victimGroups) {
            inFlight.push((async () => {
                for (let i = 0; posting && i < 1000; i++) {
                    const text = `${g.groupId.slice(0, 8)}-pendant-${i}`;
                    let r;
                    try {
                        r = await g.K[1].send({ type: 'contribution_post', kind: 'suggestion', text }, { timeoutMs: 5000 });
                    } catch {
                        return; // the connection died with the node: no answer, unknown fate
                    }
                    if (r.type === 'ack') {
                        ackedTexts.get(g.groupId).add(text);
                        lastSeq.set(g.groupId, r.seq);
                    }
                }
            })());
        }
        await new Promise((r) => setTimeout(r, 300)); // mid-flow: some acknowledged, some not
        const killedAt = Date.now();
        victim.child.kill('SIGKILL');
        await victim.exited;
        posting = false;
        await Promise.all(inFlight);

        // Reconnect through nginx: another node takes each group over once
        // the lease expired.
        const failover = [];
        for (const g of victimGroups) {
            const back = await connectRetry(front, g.groupId, { member_id: g.K[0].memberId, member_key: g.K[0].key }, 'K-back');
            clients.push(back);
            failover.push(Date.now() - killedAt);
            const room = back.welcome.room;
            const texts = room.cards.map((c) => c.text);
            for (const t of ackedTexts.get(g.groupId)) assert.equal(texts.filter((x) => x === t).length, 1, `acknowledged "${t}" once`);
            for (const t of new Set(texts)) assert.equal(texts.filter((x) => x === t).length, 1, `"${t}" not doubled`);
            assert.ok(room.seq >= lastSeq.get(g.groupId), 'seq at least the last acknowledged');
            assert.equal(room.step, 'consultation');
            assert.equal(room.clock.running, true, 'the step clock still runs');
            // The clock counted the downtime: used is the wall time since the step began.
            const wall = Date.now() - g.consultAt;
            assert.ok(Math.abs(room.clock.used_ms - wall) < 2500, `clock used_ms ${room.clock.used_ms}, wall ${wall}`);
            const next = await back.ok({ type: 'contribution_post', kind: 'suggestion', text: `${g.groupId.slice(0, 8)}-après` });
            assert.equal(next.seq, room.seq + 1, 'seq continues');
            g.back = back;
        }
        const taken = holders(pg);
        for (const g of victimGroups) assert.notEqual(taken.get(g.groupId), victimId, 'another node holds it');
        console.log(`# failover through nginx after kill -9: ${failover.map((ms) => `${ms} ms`).join(', ')} (lease_ttl_s=2)`);

        // The other nodes' groups went on meanwhile.
        for (const g of groups.filter((x) => !victimGroups.includes(x)))
            await g.K[0].ok({ type: 'contribution_post', kind: 'suggestion', text: `${g.groupId.slice(0, 8)}-ailleurs` });

        // The dead node comes back on its port: the groups taken stay where
        // they are; a new connection through nginx still reaches them.
        const again = await startServer({ port: victim.port, args: [...ARGS, ...store, '--set', `node_id=${victimId}`] });
        nodes[Number(victimId.slice(1)) - 1] = again;
        for (const g of victimGroups) {
            const c = await connectRetry(front, g.groupId, { member_id: g.K[0].memberId, member_key: g.K[0].key }, 'K-again');
            clients.push(c);
            const room = c.welcome.room;
            const texts = room.cards.map((x) => x.text);
            for (const t of [...ackedTexts.get(g.groupId), `${g.groupId.slice(0, 8)}-après`])
                assert.equal(texts.filter((x) => x === t).length, 1, `after the return: "${t}" once`);
            const more = await c.ok({ type: 'contribution_post', kind: 'suggestion', text: `${g.groupId.slice(0, 8)}-retour` });
            assert.equal(more.seq, room.seq + 1);
            await g.back.waitSeq(more.seq); // the same room: the taker's
        }
        const after = holders(pg);
        for (const g of victimGroups) assert.equal(after.get(g.groupId), taken.get(g.groupId), 'a taken group stays with its taker');
    } finally {
        for (const c of clients) c.terminate();
        if (front) await front.stop().catch(() => {});
        for (const n of nodes) await n.stop().catch(() => {});
        await pg.stop();
    }
});
