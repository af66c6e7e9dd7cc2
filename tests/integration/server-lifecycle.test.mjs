// The codevd process as an operator sees it: command line, configuration
// errors, and a clean stop on SIGTERM / SIGINT with clients connected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, serverBinary } from '../lib/server.mjs';
import { Client } from './lib/client.mjs';

const run = (args) => spawnSync(serverBinary(), args, { encoding: 'utf8', timeout: 5000 });

test('--help and --version answer and exit 0', () => {
    const help = run(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--config FILE/);
    assert.match(help.stdout, /--data-dir DIR/);
    const version = run(['--version']);
    assert.equal(version.status, 0);
    assert.match(version.stdout, /^codevd \d+\.\d+\.\d+\n$/);
});

test('an unknown option or argument stops with usage and exit 2', () => {
    const r = run(['--bogus']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /Usage: codevd/);
    assert.equal(run(['extra']).status, 2);
});

test('a config file with an unknown key or a bad value stops start-up naming the key and the line', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'codevd-conf-'));
    try {
        const bad = path.join(dir, 'bad.conf');
        writeFileSync(bad, '# settings\nport = 8080\nprot = 9000\n');
        let r = run(['--config', bad]);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /bad\.conf:3: .*prot/);
        writeFileSync(bad, 'members_max = 500\n');
        r = run(['--config', bad]);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /bad\.conf:1: .*members_max/);
        r = run(['--port', '70000']);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /port/);
        r = run(['--config', path.join(dir, 'missing.conf')]);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /missing\.conf/);
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
});

test('the reference config file starts the server', async () => {
    const srv = await startServer({ args: ['--config', 'config/codevd.conf'] });
    const r = await fetch(srv.url + '/api/health');
    assert.equal(r.status, 200);
    assert.equal((await srv.stop()).code, 0);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
    test(`${signal} drains: clients told to come back (1001 going_away with a retry hint), then a clean exit`, async () => {
        const srv = await startServer();
        const g = await (await fetch(srv.url + '/api/groups', {
            method: 'POST',
            body: JSON.stringify({ name: 'Arrêt', facilitator_name: 'Léa', language: 'fr', format: 90 }),
        })).json();
        const c = await Client.connect(srv.wsUrl, { name: 'Léa' });
        const welcome = await c.hello(g.group_id, g.member_key);
        assert.equal(welcome.type, 'welcome');
        const closed = new Promise((resolve) => c.ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
        const res = await srv.stop({ signal });
        assert.deepEqual(res, { code: 0, signal: null });
        assert.match(srv.log(), /draining: 1 connections, 1 groups, 0 open sessions/);
        assert.match(srv.log(), /stopping: 0 connections/);
        const { code, reason } = await closed;
        assert.equal(code, 1001);
        assert.match(reason, /^going_away retry_ms=\d+$/);
    });
}

test('event_loop: epoll (libuv) by default when the plugin is installed, poll on request; both serve', async () => {
    const plugin = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib']
        .some((d) => existsSync(path.join(d, 'libwebsockets-evlib_uv.so')));
    for (const [args, want] of [[[], plugin ? /epoll \(libuv\) loop/ : /poll loop/],
        [['--set', 'event_loop=poll'], /, poll loop\)/]]) {
        const srv = await startServer({ args });
        try {
            assert.match(srv.log(), want);
            const res = await fetch(`${srv.url}/api/health`);
            assert.equal(res.status, 200);
            const c = await Client.connect(srv.wsUrl);
            await c.close();
        } finally {
            await srv.stop();
        }
    }
    const bad = run(['--set', 'event_loop=select', '--data-dir', mkdtempSync(path.join(tmpdir(), 'codevd-el-'))]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /event_loop must be auto, epoll or poll, got "select"/);
});
