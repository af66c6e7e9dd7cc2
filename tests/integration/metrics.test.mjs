// What an operator sees of a running server (issue 16, Observe):
//  - GET /metrics in the Prometheus text format 0.0.4: a scrape taken in
//    the middle of a real session passes `promtool check metrics` (Debian's
//    prometheus package: without it this test FAILS, it does not pass),
//    and the session moved the counters it should (commands by type and
//    outcome, events, frames, journal commits, HTTP requests by route);
//  - strangers: /metrics is refused to a non-loopback peer and to a request
//    forwarded by a proxy; random paths and unknown message types add no
//    label (routes are the route table's names, unknown types "invalid");
//  - metrics_port: /metrics and /readyz on a port of their own, plain HTTP
//    even when the main port speaks TLS; nothing else there (404, no
//    WebSocket); the main port then answers /metrics 404;
//  - GET /readyz: 200 while all is well, 503 store_unavailable while the
//    disk is full (a small tmpfs, root only), 200 again once space is back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, unlinkSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import http from 'node:http';
import path from 'node:path';
import https from 'node:https';
import WebSocket from 'ws';
import { startServer, freePort, testCertificate } from '../lib/server.mjs';
import { smallDisk } from '../lib/disk.mjs';
import { setupGroup, advance } from './lib/scenario.mjs';

/** GET url with extra headers on a connection of its own: { status, text }. */
function get(url, headers = {}) {
    return new Promise((resolve, reject) => {
        http.get(url, { agent: false, headers }, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d) => { text += d; });
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
        }).on('error', reject);
    });
}

/** The samples of a scrape: Map "name{labels}" -> number. */
function parse(text) {
    const out = new Map();
    for (const line of text.split('\n')) {
        if (!line || line.startsWith('#')) continue;
        const m = /^(\S+) (\S+)$/.exec(line);
        assert.ok(m, `a sample line: ${line}`);
        out.set(m[1], Number(m[2]));
    }
    return out;
}

/** A sample's value, 0 when absent. */
const val = (s, key) => s.get(key) ?? 0;

/** The sum of the samples whose key starts with prefix and contains every part. */
function sum(s, prefix, ...parts) {
    let n = 0;
    for (const [k, v] of s) if (k.startsWith(prefix) && parts.every((p) => k.includes(p))) n += v;
    return n;
}

async function scrape(srv) {
    const r = await get(srv.url + '/metrics');
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    return r.text;
}

/** Runs promtool check metrics on text; fails (never skips) without promtool. */
function promtoolCheck(text) {
    const which = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
    if (which.error)
        assert.fail('promtool is missing: install the Debian package "prometheus" (scripts/setup-deps.sh installs it); ' +
            'the /metrics format is not checked without it');
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(r.status, 0, `promtool check metrics: ${r.stdout}${r.stderr}`);
    // It prints lint findings (names, units, HELP) without failing: none wanted.
    assert.equal(`${r.stdout}${r.stderr}`.trim(), '', 'promtool has no lint finding');
}

test('a scrape taken mid-session passes promtool check metrics, and the session moved the counters it should', async () => {
    const srv = await startServer();
    try {
        const before = parse(await scrape(srv));
        const g = await setupGroup(srv, { observer: 'Marc' });
        await advance(g, 'consultation');
        for (let i = 0; i < 3; i++)
            await g.K[i].ok({ type: 'contribution_post', kind: 'suggestion', text: `idée ${i}` });
        const refusal = await g.K[0].send({ type: 'step_next' });
        assert.equal(refusal.type, 'error');
        g.K[1].sendJson({ type: 'no_such_message_type', id: 'x-1' });
        await g.K[1].barrier();

        const text = await scrape(srv);
        promtoolCheck(text);
        const s = parse(text);
        const d = (key) => val(s, key) - val(before, key);

        // Commands by type and outcome.
        assert.ok(d('codevd_commands_total{type="hello",outcome="ok"}') >= 6, 'six hellos');
        assert.equal(d('codevd_commands_total{type="session_open",outcome="ok"}'), 1);
        assert.ok(d('codevd_commands_total{type="step_next",outcome="ok"}') >= 4, 'the steps to consultation');
        assert.equal(d('codevd_commands_total{type="contribution_post",outcome="ok"}'), 3);
        assert.equal(d(`codevd_commands_total{type="step_next",outcome="${refusal.code}"}`), 1,
            `the refused step_next counted with its code ${refusal.code}`);
        // Two unknown types: ours and the barrier's (test_barrier).
        assert.equal(d('codevd_commands_total{type="invalid",outcome="unknown_type"}'), 2, 'an unknown type is "invalid"');
        assert.ok(!text.includes('test_barrier'));
        assert.ok(!text.includes('no_such_message_type'), 'the unknown type is not a label');
        // Events, frames, bytes, queues.
        assert.ok(d('codevd_events_released_total') >= 6, 'events released after their commit');
        assert.ok(d('codevd_ws_messages_queued_total') > d('codevd_events_released_total'), 'each event to each recipient, acks too');
        assert.ok(d('codevd_ws_frames_sent_total') > 0 && d('codevd_ws_sent_bytes_total') > d('codevd_ws_frames_sent_total'));
        assert.equal(d('codevd_ws_opened_total'), 6);
        assert.equal(val(s, 'codevd_websockets{kind="member"}'), 6);
        assert.equal(val(s, 'codevd_connections{state="websocket"}'), 6);
        assert.equal(val(s, 'codevd_groups'), 1);
        assert.equal(val(s, 'codevd_open_sessions'), 1);
        assert.equal(val(s, 'codevd_members_online'), 6);
        // The journal.
        assert.ok(d('codevd_journal_records_total') >= 10, 'records committed');
        assert.ok(d('codevd_journal_commit_seconds_count') > 0 && d('codevd_journal_batch_records_count') > 0);
        assert.equal(val(s, 'codevd_journal_commit_seconds_bucket{le="+Inf"}'), val(s, 'codevd_journal_commit_seconds_count'));
        assert.equal(val(s, 'codevd_journal_batch_records_sum'), val(s, 'codevd_journal_records_total'),
            'every record in one batch');
        assert.equal(val(s, 'codevd_store_errors_total'), 0);
        // The timer ran while people were connected.
        assert.ok(d('codevd_tick_lateness_seconds_count') > 0);
        // HTTP by route-table name.
        assert.equal(d('codevd_http_requests_total{route="groups",method="POST",status="201"}'), 1);
        assert.equal(sum(s, 'codevd_http_requests_total{route="group_members",method="POST"'), 5, 'five joins');
        assert.ok(val(s, 'codevd_http_requests_total{route="metrics",method="GET",status="200"}') >= 1);
        // The process.
        assert.ok(val(s, 'process_resident_memory_bytes') > 1e6);
        assert.ok(val(s, 'process_open_fds') >= 6);
        assert.ok(val(s, 'codevd_uptime_seconds') > 0);
        assert.match(text, /^codevd_build_info\{version="[^"]+"\} 1$/m);
        for (const c of g.everyone) c.terminate();
    } finally {
        await srv.stop();
    }
});

/** A non-loopback IPv4 address of this host, or null. */
function externalAddress() {
    for (const list of Object.values(networkInterfaces()))
        for (const a of list || []) if (a.family === 'IPv4' && !a.internal) return a.address;
    return null;
}

test('strangers: /metrics is refused off loopback and through a proxy, and cannot be made to grow labels', async (t) => {
    const srv = await startServer();
    try {
        // Through a proxy on this host (it says whom it forwards): refused.
        const proxied = await get(srv.url + '/metrics', { 'x-forwarded-for': '203.0.113.9' });
        assert.equal(proxied.status, 403);
        assert.ok(!proxied.text.includes('codevd_'), 'nothing of the metrics');
        // Whatever header the proxy uses to say whom it forwards.
        for (const h of [{ 'x-real-ip': '203.0.113.9' }, { forwarded: 'for=203.0.113.9' }]) {
            const r = await get(srv.url + '/metrics', h);
            assert.equal(r.status, 403, JSON.stringify(h));
            assert.ok(!r.text.includes('codevd_'));
        }
        // Random paths and methods: each counted under a fixed route name.
        const junk = [];
        for (let i = 0; i < 30; i++) {
            const tag = `zq${i}x${Math.random().toString(36).slice(2, 8)}`;
            junk.push(tag);
            await get(`${srv.url}/${tag}`);
            await get(`${srv.url}/api/${tag}`);
            await get(`${srv.url}/api/groups/00000000-0000-4000-8000-000000000000/${tag}`);
        }
        const text = await scrape(srv);
        for (const tag of junk) assert.ok(!text.includes(tag), `the path ${tag} is not a label`);
        const routes = new Set([...text.matchAll(/route="([^"]*)"/g)].map((m) => m[1]));
        assert.deepEqual([...routes].sort(), ['health', 'metrics', 'static', 'unknown'].sort(),
            'only route-table names');
        assert.ok(val(parse(text), 'codevd_http_requests_total{route="unknown",method="GET",status="404"}') >= 60);
        assert.equal(val(parse(text), 'codevd_http_requests_total{route="metrics",method="GET",status="403"}'), 3);
        // /readyz answers anyone; a POST to /metrics is refused (405).
        assert.equal((await new Promise((resolve, reject) => {
            const req = http.request(srv.url + '/metrics', { method: 'POST', agent: false }, (res) => { res.resume(); resolve(res.statusCode); });
            req.on('error', reject);
            req.end('x');
        })), 405);

        const ext = externalAddress();
        if (!ext) {
            t.skip('no non-loopback IPv4 address on this host to ask /metrics from');
            return;
        }
        // The server listens on every interface by default: a peer that is
        // not loopback (here, this host through its own external address).
        const far = await get(`http://${ext}:${srv.port}/metrics`);
        assert.equal(far.status, 403, `from ${ext}`);
        assert.ok(!far.text.includes('codevd_'));
        const ready = await get(`http://${ext}:${srv.port}/readyz`);
        assert.equal(ready.status, 200, 'a load balancer anywhere may ask /readyz');
    } finally {
        await srv.stop();
    }
});

test('/metrics on the main port: refused to a trusted proxy on this host, headers or not (it forwards strangers)', async () => {
    const srv = await startServer({ args: ['--set', 'trusted_proxies=127.0.0.1, ::1'] });
    try {
        const r = await get(srv.url + '/metrics');
        assert.equal(r.status, 403);
        assert.ok(!r.text.includes('codevd_'));
    } finally {
        await srv.stop();
    }
});

test('metrics_port: /metrics and /readyz on a plain-HTTP port of their own, nothing else there; the main port no longer answers /metrics', async () => {
    const tls = testCertificate();
    const mport = await freePort();
    const srv = await startServer({ args: [...tls.args, '--set', `metrics_port=${mport}`], tls: true });
    const mbase = `http://127.0.0.1:${mport}`;
    try {
        assert.match(srv.log(), new RegExp(`metrics \\(/metrics, /readyz, plain http\\) on 127\\.0\\.0\\.1:${mport}`));
        const m = await get(`${mbase}/metrics`);
        assert.equal(m.status, 200);
        assert.match(m.headers['content-type'], /^text\/plain; version=0\.0\.4/);
        assert.ok(val(parse(m.text), 'codevd_groups') >= 0, 'the registry, on the metrics port');
        assert.equal((await get(`${mbase}/readyz`)).status, 200);
        // Nothing else: not the page, not the API, not a WebSocket.
        for (const p of ['/', '/index.html', '/api/health', '/api/groups', '/ws']) {
            const r = await get(mbase + p);
            assert.equal(r.status, 404, `${p} on the metrics port`);
            assert.ok(!/<html|"status"/.test(r.text), `${p}: nothing of the app`);
        }
        await new Promise((resolve, reject) => {
            const ws = new WebSocket(`ws://127.0.0.1:${mport}/ws`, 'codev.v1');
            ws.on('open', () => { ws.close(); reject(new Error('a WebSocket opened on the metrics port')); });
            ws.on('unexpected-response', (req, res) => { res.resume(); resolve(res.statusCode); });
            ws.on('error', () => resolve('refused'));
        });
        // The main port (https) keeps the app and /readyz, not /metrics.
        const main = (p) => new Promise((resolve, reject) => {
            https.get(srv.url + p, { agent: false, rejectUnauthorized: false }, (res) => {
                let text = '';
                res.setEncoding('utf8');
                res.on('data', (d) => { text += d; });
                res.on('end', () => resolve({ status: res.statusCode, text }));
            }).on('error', reject);
        });
        const moved = await main('/metrics');
        assert.equal(moved.status, 404);
        assert.ok(!moved.text.includes('codevd_'), 'no metrics on the main port');
        assert.equal((await main('/readyz')).status, 200);
        assert.equal((await main('/api/health')).status, 200);
        // The refusals are counted like any request, under fixed route names.
        const after = parse((await get(`${mbase}/metrics`)).text);
        assert.equal(val(after, 'codevd_http_requests_total{route="metrics",method="GET",status="404"}'), 1);
        assert.ok(val(after, 'codevd_http_requests_total{route="static",method="GET",status="404"}') >= 2);
    } finally {
        await srv.stop();
        rmSync(tls.dir, { recursive: true, force: true });
    }
});

test('/readyz: 200 while all is well, 503 store_unavailable while the disk is full, 200 again once space is back', async (t) => {
    const disk = smallDisk(t, 'readyz');
    if (!disk) return;
    const mnt = disk.dir;
    let srv = null;
    try {
        srv = await startServer({ dataDir: path.join(mnt, 'data'),
            args: ['--set', 'commands_burst=1000', '--set', 'commands_per_sec=1000', '--set', 'cards_per_step=10000'] });
        const ok = await get(srv.url + '/readyz');
        assert.equal(ok.status, 200);
        assert.equal(JSON.parse(ok.text).status, 'ready');
        const g = await setupGroup(srv, { observer: null });
        await advance(g, 'consultation');
        const ballast = disk.fill();
        let refused = 0;
        for (let i = 0; i < 3000 && !refused; i++) {
            const r = await g.K[0].send({ type: 'contribution_post', kind: 'suggestion', text: `plein-${i} ${'y'.repeat(500)}` },
                { timeoutMs: 10000 });
            if (r.type === 'error') {
                assert.equal(r.code, 'store_unavailable');
                refused++;
            }
        }
        assert.ok(refused, 'the full disk refused a command');
        const failing = await get(srv.url + '/readyz');
        assert.equal(failing.status, 503, failing.text);
        assert.equal(JSON.parse(failing.text).status, 'store_unavailable');
        const s = parse(await scrape(srv));
        assert.equal(val(s, 'codevd_store_failing'), 1);
        assert.ok(val(s, 'codevd_store_errors_total') >= 1);

        unlinkSync(ballast);
        const until = Date.now() + 15000;
        while ((await get(srv.url + '/readyz')).status !== 200) {
            assert.ok(Date.now() < until, 'ready again once space is back');
            await new Promise((r) => setTimeout(r, 50));
        }
        for (const c of g.everyone) c.terminate();
    } finally {
        if (srv) await srv.stop().catch(() => {});
        disk.remove();
    }
});
