// A cluster node's journal batch holding many groups (issue 17): every
// batch's lease check reads the lease rows of the batch's groups, several
// groups a statement; 32 groups plus the node id once made 33 parameters,
// over the store's 32, and the whole batch failed (store_unavailable), so
// a node with more than 32 groups writing in one commit window refused
// them all. Found by tests/load/cluster-bench.sh. Here: one node (node_id
// set, PostgreSQL), 96 groups created at once (their records share
// batches: the loop submits them in one pass), then one command each, at
// once; every answer must be a success.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { startPostgres } from '../lib/pg.mjs';
import { api } from '../integration/lib/client.mjs';

const GROUPS = 96;

test('cluster: a journal batch of more than 32 groups commits (the lease check in several statements)', async () => {
    const pg = await startPostgres();
    let node = null;
    try {
        await pg.createDatabase('batch');
        node = await startServer({
            args: ['--set', 'store=postgresql', '--set', `store_dsn=${pg.dsnFor('batch')}`,
                '--set', 'node_id=solo'],
        });
        const created = await Promise.all(Array.from({ length: GROUPS }, (_, i) =>
            api(node.url, 'POST', '/api/groups', {
                body: { name: `Lot ${i}`, facilitator_name: `F${i}`, language: 'fr', format: 90 },
            })));
        const bad = created.filter((r) => r.status !== 201);
        assert.equal(bad.length, 0, `refused: ${JSON.stringify(bad.slice(0, 3).map((r) => [r.status, r.body]))}`);
        // A second wave, one record per group again: sessions opened at once.
        const opened = await Promise.all(created.map((r) =>
            api(node.url, 'POST', `/api/groups/${r.body.group_id}/sessions`, { key: r.body.member_key })));
        const bad2 = opened.filter((r) => r.status !== 201);
        assert.equal(bad2.length, 0, `refused: ${JSON.stringify(bad2.slice(0, 3).map((r) => [r.status, r.body]))}`);
        const held = pg.psql('batch', "COPY (SELECT count(*) FROM group_lease WHERE node_id = 'solo') TO STDOUT").trim();
        assert.equal(Number(held), GROUPS);
    } finally {
        if (node) await node.stop();
        await pg.stop();
    }
});
