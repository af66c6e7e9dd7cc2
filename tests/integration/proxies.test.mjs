// trusted_proxies (issue 16, "nginx in front"): behind a reverse proxy every
// TCP peer is the proxy, so the per-address limits count the client that
// X-Forwarded-For names, but only when the peer is a trusted proxy. A
// stranger who forges the header gains nothing: its requests still count
// against its own address.
//
// Loopback is 127.0.0.0/8: requests from 127.0.0.1 play the proxy, those
// from 127.0.0.2 a stranger (node's localAddress).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer } from '../lib/server.mjs';
import { Client, createGroup } from './lib/client.mjs';

const GROUP = { name: 'Derrière le proxy', facilitator_name: 'Claire', language: 'fr', format: 90 };

/** POST /api/groups from a local address with an optional X-Forwarded-For; resolves with the status. */
function create(srv, { from = '127.0.0.1', xff } = {}) {
    const body = JSON.stringify(GROUP);
    const headers = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
    if (xff !== undefined) headers['X-Forwarded-For'] = xff;
    return new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: srv.port, method: 'POST', path: '/api/groups', headers, localAddress: from, agent: false },
            (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
        req.on('error', reject);
        req.end(body);
    });
}

test('without trusted_proxies, a forged X-Forwarded-For changes nothing: one address, one budget', async () => {
    const srv = await startServer({ args: ['--set', 'http_create_per_min=3'] });
    try {
        for (let i = 0; i < 3; i++) assert.equal(await create(srv, { xff: `203.0.113.${i}` }), 201);
        for (let i = 0; i < 5; i++)
            assert.equal(await create(srv, { xff: `198.51.100.${i}` }), 429, 'a new forged address each time is still 127.0.0.1');
    } finally {
        await srv.stop();
    }
});

test('a stranger (not a trusted proxy) forging X-Forwarded-For is counted as itself', async () => {
    const srv = await startServer({ args: ['--set', 'http_create_per_min=3', '--set', 'trusted_proxies=127.0.0.1'] });
    try {
        // 127.0.0.2 pretends to be the proxy relaying other clients, and the proxy's own address.
        for (let i = 0; i < 3; i++) assert.equal(await create(srv, { from: '127.0.0.2', xff: `203.0.113.${i}` }), 201);
        assert.equal(await create(srv, { from: '127.0.0.2', xff: '203.0.113.50' }), 429);
        assert.equal(await create(srv, { from: '127.0.0.2', xff: '127.0.0.1' }), 429);
        assert.equal(await create(srv, { from: '127.0.0.2', xff: '203.0.113.51, 127.0.0.1' }), 429);
        // The real proxy relaying two real clients: each has its own budget.
        for (let i = 0; i < 3; i++) assert.equal(await create(srv, { xff: '192.0.2.10' }), 201);
        assert.equal(await create(srv, { xff: '192.0.2.10' }), 429, 'the first client spent its budget');
        assert.equal(await create(srv, { xff: '192.0.2.11' }), 201, 'the second client is served');
        // A client forging entries to the left of what the proxy appended gains nothing.
        assert.equal(await create(srv, { xff: '10.9.9.9, 192.0.2.10' }), 429);
        // Without the header, the proxy answers for the request (its own budget).
        for (let i = 0; i < 3; i++) assert.equal(await create(srv), 201);
        assert.equal(await create(srv), 429);
    } finally {
        await srv.stop();
    }
});

test('behind a trusted proxy, unauth_per_ip counts each real client, and the proxy is not capped by connections_per_ip', async () => {
    const srv = await startServer({ args: ['--set', 'unauth_per_ip=2', '--set', 'connections_per_ip=4', '--set', 'trusted_proxies=127.0.0.1'] });
    const open = [];
    try {
        const g = await createGroup(srv.url);
        const as = (client) => Client.connect(srv.wsUrl, { name: client, headers: { 'X-Forwarded-For': client } });
        for (let i = 0; i < 2; i++) open.push(await as('192.0.2.20'));
        const extra = await as('192.0.2.20');
        open.push(extra);
        assert.equal((await extra.next((m) => m.type === 'error')).code, 'too_many_connections');
        assert.equal((await extra.closed).code, 1013);
        // Another client behind the same proxy, past connections_per_ip for the proxy's address.
        for (let i = 0; i < 2; i++) {
            const c = await as('192.0.2.21');
            open.push(c);
            assert.equal((await c.hello(g.group_id, g.member_key)).type, 'welcome');
        }
        // A stranger's forged header counts against its own address.
        const s1 = await Client.connect(srv.wsUrl, { name: 's1', localAddress: '127.0.0.2', headers: { 'X-Forwarded-For': '192.0.2.30' } });
        const s2 = await Client.connect(srv.wsUrl, { name: 's2', localAddress: '127.0.0.2', headers: { 'X-Forwarded-For': '192.0.2.31' } });
        const s3 = await Client.connect(srv.wsUrl, { name: 's3', localAddress: '127.0.0.2', headers: { 'X-Forwarded-For': '192.0.2.32' } });
        open.push(s1, s2, s3);
        assert.equal((await s3.next((m) => m.type === 'error')).code, 'too_many_connections');
    } finally {
        await Promise.all(open.map((c) => c.close()));
        await srv.stop();
    }
});
