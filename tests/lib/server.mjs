// Starts a real codevd process for a test: a free port, a fresh temporary
// data dir, and a stop() that kills it and removes the dir. Shared by the
// integration and browser tests.
//
//   const srv = await startServer();           // srv.url, srv.wsUrl, srv.port
//   ...
//   await srv.stop();                          // resolves with { code, signal }
//
// The binary is $CODEVD_BIN, or build/src/codevd under the repository root.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * A self-signed certificate for 127.0.0.1, valid one day, in a new
 * temporary directory (the caller removes dir). args: the codevd options
 * that use it.
 */
export function testCertificate() {
    const dir = mkdtempSync(path.join(tmpdir(), 'codevd-tls-'));
    const cert = path.join(dir, 'cert.pem'), key = path.join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-keyout', key, '-out', cert], { stdio: 'ignore' });
    return { dir, cert, key, args: ['--set', `tls_cert=${cert}`, '--set', `tls_key=${key}`] };
}

export function serverBinary() {
    return process.env.CODEVD_BIN || path.join(repoRoot, 'build', 'src', 'codevd');
}

/**
 * A port that is free now, chosen below the kernel's ephemeral range
 * (32768-60999 here), so that the source ports of many client sockets (a
 * load test running beside the tests) cannot take it before the server
 * binds it. Checked on all interfaces, as codevd binds them all by default.
 */
export async function freePort() {
    for (let i = 0; i < 200; i++) {
        const port = 20000 + Math.floor(Math.random() * 12000);
        const free = await new Promise((resolve) => {
            const s = net.createServer();
            s.unref();
            s.once('error', () => resolve(false));
            s.listen(port, () => s.close(() => resolve(true)));
        });
        if (free) return port;
    }
    throw new Error('no free port found in 20000-31999');
}

/**
 * GET url over http or https (accepting a self-signed certificate) on a
 * connection of its own that closes after the answer: a kept-alive one
 * would count against the server's per-address connection limit in the
 * tests that set it low. Resolves with the status.
 */
function getStatus(url) {
    const mod = url.startsWith('https:') ? https : http;
    return new Promise((resolve, reject) => {
        mod.get(url, { rejectUnauthorized: false, agent: false }, (res) => { res.resume(); resolve(res.statusCode); })
            .on('error', reject);
    });
}

async function waitHealthy(url, child, deadlineMs) {
    const until = Date.now() + deadlineMs;
    let lastErr;
    while (Date.now() < until) {
        if (child.exitCode !== null)
            throw new Error(`codevd exited early with code ${child.exitCode}`);
        try {
            if ((await getStatus(url + '/api/health')) === 200) return;
        } catch (e) {
            lastErr = e;
        }
        await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`codevd did not become healthy: ${lastErr}`);
}

/**
 * Starts codevd. opts.args: extra command-line arguments; opts.dataDir: reuse
 * a data dir (restart tests); opts.env: extra environment; opts.tls: the
 * server speaks https/wss (a certificate is in opts.args); opts.wrapper: a
 * command prefix such as ['valgrind', '--error-exitcode=99'] (then
 * CODEVD_WRAPPER in the environment is ignored); otherwise CODEVD_WRAPPER,
 * split on spaces, is used when set.
 */
export async function startServer(opts = {}) {
    // A free port can be taken by someone else between freePort() and the
    // server's bind: try another one then, unless the caller chose the port.
    for (let attempt = 1; ; attempt++) {
        try {
            return await startServerOnce(opts);
        } catch (e) {
            if (opts.port || attempt >= 5 || !/port is already in use/.test(e.message)) throw e;
        }
    }
}

async function startServerOnce(opts) {
    const bin = serverBinary();
    if (!existsSync(bin)) throw new Error(`no codevd binary at ${bin}; build first`);
    const port = opts.port || (await freePort());
    const ownDir = !opts.dataDir;
    const dataDir = opts.dataDir || mkdtempSync(path.join(tmpdir(), 'codevd-test-'));
    const wrapper = opts.wrapper ||
        (process.env.CODEVD_WRAPPER ? process.env.CODEVD_WRAPPER.split(' ').filter(Boolean) : []);
    /* CODEVD_ARGS: options for every server of a run (run-all.sh's poll suite). */
    const extra = process.env.CODEVD_ARGS ? process.env.CODEVD_ARGS.split(' ').filter(Boolean) : [];
    // Every test client comes from loopback: the HTTP budgets and the group
    // and session caps per address (proto/README.md 2.7) would throttle the
    // suites themselves. Tests of those limits set their own values in
    // opts.args, which come later and win.
    // opts.defaults: the server exactly as shipped (the hostile-load script).
    const budgets = opts.defaults ? [] : ['--set', 'http_anon_per_min=100000', '--set', 'http_create_per_min=100000',
        '--set', 'http_create_global_per_min=1000000', '--set', 'http_exports_per_min=100000',
        '--set', 'groups_per_ip=1000000', '--set', 'sessions_per_ip=1000000'];
    // opts.logLevel null: no --log-level (the config file's then counts).
    const level = opts.logLevel === null ? [] : ['--log-level', opts.logLevel || 'info'];
    const argv = [...wrapper, bin, '--port', String(port), '--data-dir', dataDir,
        ...level, ...budgets, ...extra, ...(opts.args || [])];
    const child = spawn(argv[0], argv.slice(1), {
        env: { ...process.env, ...(opts.env || {}) },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (d) => { log += d; });
    child.stderr.on('data', (d) => { log += d; });
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    try {
        await waitHealthy(url, child, opts.startTimeoutMs || (wrapper.length ? 60000 : 10000));
    } catch (e) {
        child.kill('SIGKILL');
        await exited;
        throw new Error(`${e.message}\n--- codevd log ---\n${log}`);
    }
    return {
        port,
        url,
        wsUrl: `${opts.tls ? 'wss' : 'ws'}://127.0.0.1:${port}/ws`,
        dataDir,
        child,
        pid: child.pid,
        /** The server's resident memory in bytes (VmRSS of /proc/PID/status). */
        rssBytes() {
            const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (!m) throw new Error('no VmRSS in /proc/PID/status');
            return Number(m[1]) * 1024;
        },
        log: () => log,
        exited,
        /**
         * Sends signal (default SIGTERM), waits for exit, removes the data dir
         * unless keepData. A server asked to stop must exit 0: anything else
         * (a sanitizer or valgrind report, a crash) throws with the log's end.
         */
        async stop({ signal = 'SIGTERM', keepData = false } = {}) {
            const asked = child.exitCode === null && child.signalCode === null;
            if (asked) child.kill(signal);
            const res = await exited;
            if (ownDir && !keepData) rmSync(dataDir, { recursive: true, force: true });
            if (asked && signal !== 'SIGKILL' && (res.code !== 0 || res.signal))
                throw new Error(`codevd exited with ${JSON.stringify(res)} after ${signal}\n--- codevd log (end) ---\n${log.slice(-6000)}`);
            return res;
        },
    };
}
