// The web client's files as codevd serves them (src/webfiles.c, http.c):
// gzip or brotli when the request accepts it, decompressing to the file's
// bytes, identity otherwise; Vary: Accept-Encoding, an ETag per encoding,
// Cache-Control: no-cache and 304 on a matching If-None-Match; HEAD; over
// HTTP/1.1 keep-alive and over HTTP/2; hostile Accept-Encoding and
// If-None-Match headers answered safely.
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import zlib from 'node:zlib';
import { readFileSync, readdirSync, statSync, rmSync, existsSync } from 'node:fs';
import path from 'node:path';
import { startServer, repoRoot, testCertificate } from '../lib/server.mjs';

const WEB = path.join(repoRoot, 'web-client');

/** Every file of web-client/, as served paths ("/app.js", "/i18n/fr.json"). */
function webFiles(dir = WEB, prefix = '') {
    const out = [];
    for (const f of readdirSync(dir).sort()) {
        const p = path.join(dir, f);
        if (statSync(p).isDirectory()) out.push(...webFiles(p, `${prefix}/${f}`));
        else out.push(`${prefix}/${f}`);
    }
    return out;
}
const disk = (p) => readFileSync(path.join(WEB, p));
/** What codevd serves for p: the file, but index.html's links to the client's files go under /v/<version>/. */
const served = (p, version) => {
    if (p !== '/index.html' && p !== '/') return disk(p);
    return Buffer.from(disk('/index.html').toString('utf8').replace(/(\s(?:href|src)=")([^"/#][^"]*)"/g,
        (m, attr, v) => (v !== 'index.html' && existsSync(path.join(WEB, v)) ? `${attr}v/${version}/${v}"` : m)));
};

let srv;
let agent;
let version; // of the client, as index.html names it
test.before(async () => {
    srv = await startServer();
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    version = /src="v\/([0-9a-f]{16})\/app\.js"/.exec((await get('/')).body.toString())[1];
});
test.after(async () => {
    agent.destroy();
    await srv.stop();
});

/** One request on the shared keep-alive connection; resolves with status, headers and the raw body. */
function get(p, headers = {}, method = 'GET') {
    return new Promise((resolve, reject) => {
        const req = http.request(`${srv.url}${p}`, { method, headers, agent }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        });
        req.on('error', reject);
        req.end();
    });
}

function decode(res) {
    const enc = res.headers['content-encoding'];
    if (enc === 'gzip') return zlib.gunzipSync(res.body);
    if (enc === 'br') return zlib.brotliDecompressSync(res.body);
    assert.equal(enc, undefined, `unknown content-encoding ${enc}`);
    return res.body;
}

function assertCacheHeaders(res, what) {
    assert.equal(res.headers['cache-control'], 'no-cache', `${what}: cache-control`);
    assert.match(res.headers.vary || '', /accept-encoding/i, `${what}: vary`);
    assert.match(res.headers.etag || '', /^"[0-9a-f]{16}(-gz|-br)?"$/, `${what}: etag`);
}

test('every file: identity without Accept-Encoding, gzip and brotli when accepted, each decompressing to the file', async () => {
    const files = webFiles();
    assert.ok(files.length >= 30, `${files.length} files`);
    // codevd built without libbrotli (meson -Dbrotli=disabled) serves gzip only.
    const brotli = (await get('/app.js', { 'accept-encoding': 'br' })).headers['content-encoding'] === 'br';
    let plain = 0, gz = 0, br = 0;
    for (const p of files) {
        const want = served(p, version);
        const id = await get(p);
        assert.equal(id.status, 200, p);
        assertCacheHeaders(id, p);
        assert.equal(id.headers['content-encoding'], undefined, `${p}: identity`);
        assert.equal(Number(id.headers['content-length']), want.length, `${p}: content-length`);
        assert.ok(id.body.equals(want), `${p}: the file's bytes`);
        plain += id.body.length;

        for (const [accept, enc] of [['gzip', 'gzip'], ['gzip, deflate, br, zstd', brotli ? 'br' : 'gzip']]) {
            const res = await get(p, { 'accept-encoding': accept });
            assert.equal(res.status, 200, p);
            assertCacheHeaders(res, `${p} ${accept}`);
            assert.equal(Number(res.headers['content-length']), res.body.length, `${p} ${accept}: content-length`);
            assert.ok(decode(res).equals(want), `${p} ${accept}: decompresses to the file`);
            if (/\.(js|css|json|html)$/.test(p) && want.length > 1500) {
                assert.equal(res.headers['content-encoding'], enc, `${p}: ${enc} when accepting ${accept}`);
                assert.ok(res.body.length < want.length * 0.6, `${p}: ${res.body.length} of ${want.length}`);
            }
            if (res.headers['content-encoding']) assert.notEqual(res.headers.etag, id.headers.etag, `${p}: an ETag per encoding`);
            if (accept === 'gzip') gz += res.body.length; else br += res.body.length;
        }
    }
    console.log(`# ${files.length} files: ${plain} bytes as they are, ${gz} gzip, ${br} ${brotli ? 'brotli' : 'gzip (no brotli in this build)'}`);
});

test('types, security headers, and 404 for what is not a file of the client', async () => {
    const types = { '/': /^text\/html/, '/app.js': /^text\/javascript/, '/style.css': /^text\/css/,
        '/i18n/fr.json': /^application\/json/, '/favicon.svg': /^image\/svg\+xml/ };
    for (const [p, re] of Object.entries(types)) {
        const res = await get(p);
        assert.match(res.headers['content-type'], re, p);
        assert.match(res.headers['content-security-policy'], /default-src 'self'/, `${p}: CSP`);
        assert.equal(res.headers['x-content-type-options'], 'nosniff', p);
    }
    assert.ok((await get('/')).body.equals(served('/', version)));
    for (const p of ['/nope.js', '/views/', '/views', '/i18n/de.json', '/%2e%2e/meson.build', '/app.js/x']) {
        const res = await get(p, { 'accept-encoding': 'gzip' });
        assert.equal(res.status, 404, p);
        assert.equal(res.headers['cache-control'], 'no-store', p);
    }
    // A path with .. never leaves web-client (raw, as a client may send it).
    const raw = await rawRequest('GET /../meson.build HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.doesNotMatch(raw, /project\('codevd'/);
    // Other methods on a file are not served.
    const post = await get('/app.js', { 'content-length': '0' }, 'POST');
    assert.notEqual(post.status, 200);
});

test('If-None-Match with the ETag of the representation: 304 without a body; another encoding\'s tag: 200', async () => {
    for (const p of ['/app.js', '/style.css', '/i18n/en.json', '/']) {
        const first = await get(p, { 'accept-encoding': 'gzip' });
        const tag = first.headers.etag;
        const again = await get(p, { 'accept-encoding': 'gzip', 'if-none-match': tag });
        assert.equal(again.status, 304, p);
        assert.equal(again.body.length, 0, `${p}: 304 has no body`);
        assert.equal(again.headers.etag, tag, `${p}: 304 names the tag`);
        assertCacheHeaders(again, `${p} 304`);
        assert.equal((await get(p, { 'accept-encoding': 'gzip', 'if-none-match': `"x", W/${tag}` })).status, 304, `${p}: weak, in a list`);
        assert.equal((await get(p, { 'accept-encoding': 'gzip', 'if-none-match': '*' })).status, 304, `${p}: *`);
        // The identity representation has its own tag: the gzip one does not match it.
        const plain = await get(p, { 'if-none-match': tag });
        assert.equal(plain.status, 200, `${p}: identity is another representation`);
        assert.ok(plain.body.equals(served(p, version)));
        assert.equal((await get(p, { 'if-none-match': '"0000000000000000"' })).status, 200, `${p}: stale tag`);
    }
});

test('index.html names every file under /v/<version>/, kept for good (immutable); index.html itself is asked for again', async () => {
    const index = (await get('/')).body.toString();
    assert.equal((await get('/')).headers['cache-control'], 'no-cache');
    const links = [...index.matchAll(/\s(?:href|src)="([^"]+)"/g)].map((m) => m[1]);
    // The modules of the front page and the join form (the room's come later: web-client/early.js).
    assert.ok(links.length >= 10, `${links.length} links`);
    for (const l of links) assert.match(l, new RegExp(`^v/${version}/`), `${l}: under the version`);
    for (const l of links) {
        const res = await get(`/${l}`, { 'accept-encoding': 'br' });
        assert.equal(res.status, 200, l);
        assert.equal(res.headers['cache-control'], 'max-age=31536000, immutable', l);
        assert.ok(decode(res).equals(disk(l.slice(version.length + 2))), `${l}: the file`);
    }
    // A page from another version (before a restart): the current file, asked for again.
    const old = await get('/v/0123456789abcdef/app.js');
    assert.equal(old.status, 200);
    assert.equal(old.headers['cache-control'], 'no-cache');
    assert.ok(old.body.equals(disk('/app.js')));
    assert.equal((await get(`/v/${version}/`)).status, 404);
    assert.equal((await get('/v/')).status, 404);
    // The service worker (web-client/sw.js) at its one address, asked for again.
    const sw = await get('/sw.js');
    assert.equal(sw.status, 200);
    assert.equal(sw.headers['cache-control'], 'no-cache');
    assert.match(sw.headers['content-type'], /^text\/javascript/);
    // 304 under the version too.
    const tag = (await get(`/v/${version}/style.css`, { 'accept-encoding': 'gzip' })).headers.etag;
    assert.equal((await get(`/v/${version}/style.css`, { 'accept-encoding': 'gzip', 'if-none-match': tag })).status, 304);
});

test('HEAD: the headers of GET, no body; keep-alive survives HEAD, 304 and 404 on one connection', async () => {
    const sockets = new Set();
    const track = (res) => { sockets.add(res.socket); return res; };
    const getT = (p, h, m) => new Promise((resolve, reject) => {
        const req = http.request(`${srv.url}${p}`, { method: m || 'GET', headers: h || {}, agent }, (res) => {
            track(res);
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        });
        req.on('error', reject);
        req.end();
    });
    const full = await getT('/views/room.js', { 'accept-encoding': 'gzip' });
    const head = await getT('/views/room.js', { 'accept-encoding': 'gzip' }, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], full.headers['content-length']);
    assert.equal(head.headers.etag, full.headers.etag);
    assert.equal(head.headers['content-encoding'], 'gzip');
    const notMod = await getT('/views/room.js', { 'accept-encoding': 'gzip', 'if-none-match': full.headers.etag });
    assert.equal(notMod.status, 304);
    assert.equal((await getT('/missing.js', {}, 'HEAD')).status, 404);
    const after = await getT('/views/room.js');
    assert.ok(after.body.equals(disk('/views/room.js')), 'the next answer on the connection is whole');
    assert.equal(sockets.size, 1, 'one kept-alive connection for all');
});

/** Sends raw bytes on a new connection; resolves with everything the server sent until it closed. */
function rawRequest(bytes) {
    return new Promise((resolve, reject) => {
        const sock = net.connect(srv.port, '127.0.0.1');
        let got = '';
        sock.on('data', (d) => { got += d.toString('latin1'); });
        sock.on('error', (e) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? resolve(got) : reject(e)));
        sock.on('close', () => resolve(got));
        sock.write(bytes);
    });
}

test('hostile Accept-Encoding and If-None-Match: odd q-values, huge and repeated headers are answered safely', async () => {
    const want = disk('/app.js');
    const cases = [
        'gzip;q=2', 'gzip;q=-1', 'gzip;q=abc', 'gzip;q=0.5.5', 'gzip;q=1e9', 'gzip;q=', 'gzip;q=0.0001',
        'br;q=NaN, gzip;q=Infinity', ';;;;,,,,==', '\t,\t;q=1', 'identity;q=0, *;q=0', '*;q=0',
        ','.repeat(240),
    ];
    for (const ae of cases) {
        const res = await get('/app.js', { 'accept-encoding': ae });
        assert.equal(res.status, 200, ae);
        assert.equal(res.headers['content-encoding'], undefined, `${JSON.stringify(ae)}: identity`);
        assert.ok(res.body.equals(want), ae);
    }
    // Accepted but odd: a valid q among junk still counts.
    assert.equal((await get('/app.js', { 'accept-encoding': 'junk;q=zz, GZIP ; q=0.9 , ,' })).headers['content-encoding'], 'gzip');
    assert.equal((await get('/app.js', { 'accept-encoding': 'gzip;' + 'a=b;'.repeat(40) })).headers['content-encoding'], 'gzip');
    // Longer than codevd reads (256 bytes): identity, whatever it says.
    const long = `${'x'.repeat(300)}, gzip`;
    const res = await get('/app.js', { 'accept-encoding': long });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], undefined);
    assert.ok(res.body.equals(want));
    // Repeated headers (lws joins them).
    const rep = await rawRequest('GET /app.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: br;q=0\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n');
    assert.match(rep, /^HTTP\/1\.1 200/);
    // If-None-Match: huge, malformed, unterminated: no 304, no crash.
    const tag = res.headers.etag;
    for (const inm of ['"'.repeat(500), `${tag.slice(0, -1)}`, `garbage ${tag}`, `W/${'W/'.repeat(100)}${tag}`, 'x'.repeat(600) + tag]) {
        const r = await get('/app.js', { 'if-none-match': inm });
        assert.equal(r.status, 200, inm.slice(0, 40));
    }
    // Headers past what lws accepts: the request is refused or the
    // connection closed, and the server goes on serving.
    const huge = await rawRequest(`GET /app.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: ${'gzip;q=0.5,'.repeat(20000)}\r\nIf-None-Match: ${'"a",'.repeat(20000)}\r\n\r\n`);
    assert.doesNotMatch(huge, /^HTTP\/1\.1 200/);
    const health = await get('/api/health');
    assert.equal(health.status, 200);
    assert.ok((await get('/app.js', { 'accept-encoding': 'gzip' })).status === 200);
});

test('over HTTP/2 (https): gzip, 304 and HEAD on one session, and the session goes on', async () => {
    const tls = testCertificate();
    const h2srv = await startServer({ args: tls.args, tls: true });
    const session = http2.connect(h2srv.url, { rejectUnauthorized: false });
    const req = (p, headers = {}, method = 'GET') => new Promise((resolve, reject) => {
        const s = session.request({ ':path': p, ':method': method, ...headers });
        const chunks = [];
        let head;
        s.on('response', (h) => { head = h; });
        s.on('data', (c) => chunks.push(c));
        s.on('end', () => resolve({ status: head[':status'], headers: head, body: Buffer.concat(chunks) }));
        s.on('error', reject);
        s.end();
    });
    try {
        const want = disk('/style.css');
        const gz = await req('/style.css', { 'accept-encoding': 'gzip' });
        assert.equal(gz.status, 200);
        assert.equal(gz.headers['content-encoding'], 'gzip');
        assert.equal(Number(gz.headers['content-length']), gz.body.length);
        assert.ok(zlib.gunzipSync(gz.body).equals(want));
        assertCacheHeaders(gz, 'h2');
        const nm = await req('/style.css', { 'accept-encoding': 'gzip', 'if-none-match': gz.headers.etag });
        assert.equal(nm.status, 304);
        assert.equal(nm.body.length, 0);
        const head = await req('/style.css', { 'accept-encoding': 'gzip' }, 'HEAD');
        assert.equal(head.status, 200);
        assert.equal(head.body.length, 0);
        assert.equal(head.headers['content-length'], gz.headers['content-length']);
        // Many at once on the session, as a browser loads the module graph.
        const all = await Promise.all(webFiles().map((p) => req(p, { 'accept-encoding': 'br, gzip' })));
        const v = /src="v\/([0-9a-f]{16})\//.exec((await req('/')).body.toString())[1];
        all.forEach((r, i) => assert.ok(decode(r).equals(served(webFiles()[i], v)), webFiles()[i]));
        const plain = await req('/app.js');
        assert.ok(plain.body.equals(disk('/app.js')));
    } finally {
        session.close();
        await h2srv.stop();
        rmSync(tls.dir, { recursive: true, force: true });
    }
});
