// codevd behind Debian's nginx with config/nginx/codevd.conf (issue 16,
// "nginx in front"), over https on loopback: the per-address limits hit
// each real client (nginx's X-Forwarded-For, trusted_proxies), a forged
// header changes nothing, the web client's immutable files come from
// nginx's cache, JSON is gzipped, HTTP/2 is spoken, plain HTTP redirects,
// and the WebSocket works through it.
//
// The clients bind 127.0.0.2 and 127.0.0.3 (loopback is 127.0.0.0/8): to
// nginx they are two addresses, and codevd sees only nginx (127.0.0.1).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import http from 'node:http';
import http2 from 'node:http2';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startFront } from '../lib/nginx.mjs';
import { Client } from '../integration/lib/client.mjs';

let front;
before(async () => {
    front = await startFront({ args: ['--set', 'http_create_per_min=3'] });
});
after(async () => {
    if (front) await front.stop();
});

const GROUP = { name: 'Derrière nginx', facilitator_name: 'Claire', language: 'fr', format: 90 };

/** An https request to nginx from a chosen local address; resolves with status, headers, raw body. */
function request(method, urlPath, { from = '127.0.0.2', body, headers = {} } = {}) {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const h = { ...headers };
    if (payload !== undefined) Object.assign(h, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
    return new Promise((resolve, reject) => {
        const req = https.request({ host: '127.0.0.1', port: front.port, method, path: urlPath, headers: h, localAddress: from,
            agent: false, rejectUnauthorized: false }, (res) => {
            const chunks = [];
            res.on('data', (d) => chunks.push(d));
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        });
        req.on('error', reject);
        req.end(payload);
    });
}

test('through nginx, the per-address creation budget hits each real client: 127.0.0.2 is limited, 127.0.0.3 is served', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await request('POST', '/api/groups', { body: GROUP })).status, 201, `create ${i}`);
    const limited = await request('POST', '/api/groups', { body: GROUP });
    assert.equal(limited.status, 429);
    assert.equal(JSON.parse(limited.body).error.code, 'rate_limited');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    // A forged X-Forwarded-For: nginx appends the real address, codevd takes that.
    assert.equal((await request('POST', '/api/groups', { body: GROUP, headers: { 'X-Forwarded-For': '203.0.113.9' } })).status, 429,
        'a forged header does not make 127.0.0.2 someone else');
    // The other client behind the same nginx still has its whole budget.
    for (let i = 0; i < 3; i++)
        assert.equal((await request('POST', '/api/groups', { body: GROUP, from: '127.0.0.3' })).status, 201, `127.0.0.3 create ${i}`);
    assert.equal((await request('POST', '/api/groups', { body: GROUP, from: '127.0.0.3' })).status, 429);
});

test('the web client: index.html is revalidated every time, the /v/<version>/ files are served from nginx\'s cache', async () => {
    const index = await request('GET', '/', { from: '127.0.0.3' });
    assert.equal(index.status, 200);
    assert.match(index.headers['cache-control'], /no-cache/);
    assert.equal(index.headers['x-cache-status'], undefined, 'index.html is not cached by nginx');
    const m = /src="\/?(v\/[0-9a-f]{16}\/app\.js)"/.exec(index.body.toString('utf8'));
    assert.ok(m, 'index.html names the versioned app.js');
    m[1] = `/${m[1]}`;
    const first = await request('GET', m[1], { from: '127.0.0.3', headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(first.status, 200);
    assert.match(first.headers['cache-control'], /immutable/);
    assert.ok(['MISS', 'HIT'].includes(first.headers['x-cache-status']));
    const second = await request('GET', m[1], { from: '127.0.0.2', headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(second.headers['x-cache-status'], 'HIT');
    assert.equal(second.headers['content-encoding'], 'gzip');
    const onDisk = readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), '../../web-client/app.js'));
    assert.ok(gunzipSync(second.body).equals(onDisk), 'the cached file is app.js');
    // An encoding the first client did not ask for is not served from its variant.
    const plain = await request('GET', m[1], { from: '127.0.0.2' });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.ok(plain.body.equals(onDisk));
    // HSTS from nginx, the security headers from codevd.
    assert.match(second.headers['strict-transport-security'], /max-age=/);
    assert.equal(second.headers['x-content-type-options'], 'nosniff');
});

test('JSON answers are gzipped by nginx when the client accepts it', async () => {
    const created = JSON.parse((await request('POST', '/api/groups', { body: { ...GROUP, name: 'G'.repeat(50) }, from: '127.0.0.4' })).body);
    const res = await request('GET', `/api/groups/${created.group_id}`, {
        from: '127.0.0.4', headers: { Authorization: `Bearer ${created.member_key}`, 'Accept-Encoding': 'gzip' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(JSON.parse(gunzipSync(res.body).toString('utf8')).group_id, created.group_id);
});

test('nginx speaks HTTP/2 over TLS, and plain HTTP is redirected to https', async () => {
    const session = http2.connect(front.url, { rejectUnauthorized: false });
    try {
        const status = await new Promise((resolve, reject) => {
            const req = session.request({ ':path': '/api/health' });
            req.on('response', (h) => resolve(h[':status']));
            req.on('error', reject);
            req.resume();
            req.end();
        });
        assert.equal(status, 200);
        assert.equal(session.alpnProtocol, 'h2');
    } finally {
        session.close();
    }
    const redirect = await new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: front.httpPort, path: '/x', headers: { Host: 'codev.example.org' } }, (res) => {
            res.resume();
            resolve(res);
        }).on('error', reject);
    });
    assert.equal(redirect.statusCode, 301);
    assert.equal(redirect.headers.location, 'https://codev.example.org/x');
});

test('a WebSocket through nginx: upgrade, hello, welcome; another origin is refused', async () => {
    const created = JSON.parse((await request('POST', '/api/groups', { body: GROUP, from: '127.0.0.5' })).body);
    const wsUrl = `wss://127.0.0.1:${front.port}/ws`;
    const ws = await Client.connect(wsUrl, { name: 'via-nginx', origin: front.url, localAddress: '127.0.0.5', insecure: true });
    const welcome = await ws.hello(created.group_id, created.member_key);
    assert.equal(welcome.type, 'welcome');
    await ws.close();
    // Another origin than the public one is still refused through nginx.
    await assert.rejects(Client.connect(wsUrl, { name: 'evil', origin: 'https://evil.example', localAddress: '127.0.0.5', insecure: true }));
});
