// SIGHUP (issue 16, "restarts nobody notices"): codevd re-reads its config
// file and applies the limits, the log level, the allowed origins and the
// TLS certificate and key without dropping anyone; a bad file is refused
// with the reason logged, and the settings in force stay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import https from 'node:https';
import { startServer, testCertificate } from '../lib/server.mjs';
import { Client, createGroup } from './lib/client.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until the server's log has matched re n times in all. */
async function logged(srv, re, n = 1, ms = 5000) {
    const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g');
    for (const end = Date.now() + ms; Date.now() < end; await sleep(20))
        if ((srv.log().match(g) || []).length >= n) return;
    assert.fail(`the log never said ${re} (${n} times):\n${srv.log().slice(-3000)}`);
}

/** A config file in a new directory; write(text) replaces it. */
function configFile(text) {
    const dir = mkdtempSync(path.join(tmpdir(), 'codevd-reload-'));
    const file = path.join(dir, 'codevd.conf');
    writeFileSync(file, text);
    return { dir, file, write: (t) => writeFileSync(file, t) };
}

/** SIGHUP, then the nth "reload:" outcome in the log. */
async function hup(srv, n) {
    srv.child.kill('SIGHUP');
    await logged(srv, /reload: done|reload refused/, n);
}

test('SIGHUP applies new limits, log level and allowed origins; nobody is dropped; a bad file is refused and the old settings stay', async () => {
    const conf = configFile('unauth_per_ip = 5\nlog_level = notice\n');
    const srv = await startServer({ logLevel: null, args: ['--config', conf.file] });
    const open = [];
    try {
        const g = await createGroup(srv.url);
        const member = await Client.connect(srv.wsUrl, { name: 'member' });
        assert.equal((await member.hello(g.group_id, g.member_key)).type, 'welcome');
        for (let i = 0; i < 3; i++) open.push(await Client.connect(srv.wsUrl, { name: `w${i}` }));
        assert.doesNotMatch(srv.log(), /level=debug msg="conn \d+: open/, 'no debug lines at notice');
        await assert.rejects(Client.connect(srv.wsUrl, { origin: 'https://other.example' }));

        // (allowed_origins replaces "same origin only": the server's own is listed.)
        const origins = `allowed_origins = "${srv.url}, https://other.example"\n`;
        conf.write(`unauth_per_ip = 3\nlog_level = debug\n${origins}`);
        await hup(srv, 1);
        assert.match(srv.log(), /reload: done; changed: allowed_origins, log_level, unauth_per_ip/);
        // The three waiting sockets stay; a fourth is one too many now.
        const extra = await Client.connect(srv.wsUrl, { name: 'extra' });
        assert.equal((await extra.next((m) => m.type === 'error')).code, 'too_many_connections');
        assert.equal((await extra.closed).code, 1013);
        for (const c of open) assert.equal(c.closeInfo, null, `${c.name} still open`);
        await logged(srv, /level=debug msg="conn \d+: open/); /* debug now */
        const other = await Client.connect(srv.wsUrl, { origin: 'https://other.example' });
        open.push(other);
        // The member attached before the reload goes on.
        await member.ok({ type: 'session_open' });

        // A bad file: refused whole, the reason logged, the settings in force stay.
        conf.write('unauth_per_ip = 50\nlog_level = loud\n');
        await hup(srv, 2);
        assert.match(srv.log(), /reload: .*codevd\.conf:2: log_level: log_level must be one of/);
        assert.match(srv.log(), /reload refused: the settings in force stay/);
        const still = await Client.connect(srv.wsUrl, { name: 'still' });
        open.push(still);
        assert.equal((await still.next((m) => m.type === 'error')).code, 'too_many_connections', 'unauth_per_ip is still 3');
        // A setting that needs a restart is said so and kept.
        conf.write(`unauth_per_ip = 3\nlog_level = debug\n${origins}members_max = 20\n`);
        await hup(srv, 3);
        assert.match(srv.log(), /reload: needs a restart, kept as they were: members_max/);
        await member.ok({ type: 'timer_toggle' }).catch(() => {});
        assert.equal(member.closeInfo, null, 'the member was never dropped');
        await member.close();
    } finally {
        await Promise.all(open.map((c) => c.close()));
        await srv.stop();
        rmSync(conf.dir, { recursive: true, force: true });
    }
});

/** The SHA-256 fingerprint a new TLS handshake with port sees ("AB:CD:..."). */
function handshakeFingerprint(port) {
    return new Promise((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' }, () => {
            resolve(s.getPeerCertificate().fingerprint256);
            s.end();
        });
        s.on('error', reject);
    });
}

/** POST /api/groups over https with a test certificate; resolves with the answer. */
function createGroupTls(port) {
    const body = JSON.stringify({ name: 'Rechargement', facilitator_name: 'Claire', language: 'fr', format: 90 });
    return new Promise((resolve, reject) => {
        const req = https.request({ host: '127.0.0.1', port, method: 'POST', path: '/api/groups', rejectUnauthorized: false, agent: false,
            headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
            let text = '';
            res.on('data', (d) => { text += d; });
            res.on('end', () => resolve(JSON.parse(text)));
        });
        req.on('error', reject);
        req.end(body);
    });
}

function fileFingerprint(cert) {
    return execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', cert]).toString().trim().split('=')[1];
}

test('SIGHUP loads a new TLS certificate: new handshakes get it, open connections stay; a key that does not match is refused', async () => {
    const a = testCertificate(), b = testCertificate(), c = testCertificate();
    const conf = configFile(`tls_cert = ${a.cert}\ntls_key = ${a.key}\n`);
    const srv = await startServer({ tls: true, args: ['--config', conf.file] });
    try {
        assert.equal(await handshakeFingerprint(srv.port), fileFingerprint(a.cert));
        const g = await createGroupTls(srv.port);
        const member = await Client.connect(srv.wsUrl, { name: 'member', origin: srv.url, insecure: true });
        assert.equal((await member.hello(g.group_id, g.member_key)).type, 'welcome');

        conf.write(`tls_cert = ${b.cert}\ntls_key = ${b.key}\n`);
        await hup(srv, 1);
        assert.match(srv.log(), /reload: TLS certificate .* loaded for new connections/);
        assert.equal(await handshakeFingerprint(srv.port), fileFingerprint(b.cert), 'a new handshake sees the new certificate');
        // The connection made with the old certificate goes on.
        await member.ok({ type: 'session_open' });
        assert.equal(member.closeInfo, null);

        // A certificate with another's key: refused, B stays.
        conf.write(`tls_cert = ${c.cert}\ntls_key = ${a.key}\n`);
        await hup(srv, 2);
        assert.match(srv.log(), /reload refused: tls_key .* does not match tls_cert/);
        assert.equal(await handshakeFingerprint(srv.port), fileFingerprint(b.cert));
        // A renewed certificate at the same paths (certbot's way): loaded.
        conf.write(`tls_cert = ${c.cert}\ntls_key = ${c.key}\n`);
        await hup(srv, 3);
        assert.equal(await handshakeFingerprint(srv.port), fileFingerprint(c.cert));
        // Turning TLS off needs a restart: refused.
        conf.write('');
        await hup(srv, 4);
        assert.match(srv.log(), /reload refused: turning TLS off needs a restart/);
        assert.equal(await handshakeFingerprint(srv.port), fileFingerprint(c.cert));
        await member.ok({ type: 'timer_toggle' }).catch(() => {});
        assert.equal(member.closeInfo, null, 'never dropped');
        await member.close();
    } finally {
        await srv.stop();
        for (const t of [a, b, c]) rmSync(t.dir, { recursive: true, force: true });
        rmSync(conf.dir, { recursive: true, force: true });
    }
});
