// codevd behind Debian's nginx, as config/nginx/codevd.conf puts it: the
// sample file is templated into a temporary prefix (loopback ports, a test
// certificate made by openssl, the cache and temp files under the prefix),
// nginx runs in the foreground as a child of the test, and stop() ends it
// (SIGQUIT: a graceful stop) and then codevd.
//
//   const front = await startFront({ args: [...] });  // codevd's extra options
//   front.url      https://127.0.0.1:PORT, nginx's TLS port
//   front.srv      the codevd behind it (tests/lib/server.mjs)
//   front.cert     the certificate's path (browsers trust it: trustCertificate)
//   await front.stop();
//
// The sample's lines that name a host's own setup are replaced, each
// exactly once (a sample that no longer has one fails here, loudly).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import https from 'node:https';
import path from 'node:path';
import { repoRoot, startServer, freePort, testCertificate } from './server.mjs';

export const NGINX = process.env.NGINX_BIN || '/usr/sbin/nginx';

/** The certificate of the front started last (browsers launched after it trust it). */
export let frontCert = null;

/** Whether the tests run behind nginx (CODEVD_FRONT=nginx: run-all.sh's nginx suite). */
export const behindNginx = process.env.CODEVD_FRONT === 'nginx';
export const SAMPLE = path.join(repoRoot, 'config', 'nginx', 'codevd.conf');

/** Replaces `from` (a string that must occur exactly once) by `to`. */
function once(text, from, to) {
    const parts = text.split(from);
    if (parts.length !== 2) throw new Error(`config/nginx/codevd.conf: "${from}" found ${parts.length - 1} times, expected once`);
    return parts.join(to);
}

/** The sample, for this prefix and these ports. */
export function templateSample({ tlsPort, httpPort, upstreamPort, cert, key, prefix }) {
    let t = readFileSync(SAMPLE, 'utf8');
    t = once(t, 'listen 443 ssl http2;', `listen 127.0.0.1:${tlsPort} ssl http2;`);
    t = once(t, 'listen [::]:443 ssl http2;', '');
    t = once(t, 'listen 80;', `listen 127.0.0.1:${httpPort};`);
    t = once(t, 'listen [::]:80;', '');
    t = once(t, 'server 127.0.0.1:8080;', `server 127.0.0.1:${upstreamPort};`);
    t = once(t, '/etc/ssl/codevd/fullchain.pem', cert);
    t = once(t, '/etc/ssl/codevd/privkey.pem', key);
    t = once(t, '/var/cache/nginx/codevd', path.join(prefix, 'cache'));
    return t;
}

function getStatus(url) {
    return new Promise((resolve, reject) => {
        https.get(url, { rejectUnauthorized: false, agent: false }, (res) => { res.resume(); resolve(res.statusCode); })
            .on('error', reject);
    });
}

/**
 * Starts codevd (opts.args: more of its options) on loopback, then nginx in
 * front of it with the sample config. Resolves once a health check through
 * nginx over https answers 200.
 */
/**
 * Writes prefix/nginx.conf: one worker, logs, pid and temp files under
 * prefix (its tmp/ and logs/ exist), and the server blocks of
 * prefix/<include> (a templated sample).
 */
export function writeMainConf(prefix, include) {
    const tmp = (n) => path.join(prefix, 'tmp', n);
    writeFileSync(path.join(prefix, 'nginx.conf'), `
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    access_log ${prefix}/logs/access.log;
    client_body_temp_path ${tmp('body')};
    proxy_temp_path ${tmp('proxy')};
    fastcgi_temp_path ${tmp('fastcgi')};
    uwsgi_temp_path ${tmp('uwsgi')};
    scgi_temp_path ${tmp('scgi')};
    include ${prefix}/${include};
}
`);
}

export async function startFront(opts = {}) {
    const tlsPort = await freePort();
    let httpPort = await freePort();
    while (httpPort === tlsPort) httpPort = await freePort();
    const srv = await startServer({
        ...opts,
        args: ['--set', 'listen=127.0.0.1', '--set', 'trusted_proxies=127.0.0.1',
            '--set', `allowed_origins=https://127.0.0.1:${tlsPort}`, ...(opts.args || [])],
    });
    const tls = testCertificate();
    const prefix = mkdtempSync(path.join(tmpdir(), 'codevd-nginx-'));
    chmodSync(prefix, 0o755);
    // nginx's workers (nobody when it starts as root) write the cache and
    // the temp files.
    for (const d of ['cache', 'tmp', 'logs']) {
        mkdirSync(path.join(prefix, d));
        chmodSync(path.join(prefix, d), 0o777);
    }
    writeFileSync(path.join(prefix, 'codevd.conf'),
        templateSample({ tlsPort, httpPort, upstreamPort: srv.port, cert: tls.cert, key: tls.key, prefix }));
    writeMainConf(prefix, 'codevd.conf');
    const conf = path.join(prefix, 'nginx.conf');
    const argv = ['-p', prefix, '-c', conf, '-e', path.join(prefix, 'logs', 'error.log')];
    const cleanup = async () => {
        await srv.stop().catch(() => {});
        rmSync(prefix, { recursive: true, force: true });
        rmSync(tls.dir, { recursive: true, force: true });
    };
    const check = spawnSync(NGINX, ['-t', ...argv], { encoding: 'utf8' });
    if (check.error || check.status !== 0) {
        await cleanup();
        throw new Error(`nginx -t refused the templated sample (is Debian's nginx installed? scripts/setup-deps.sh): ${check.error || check.stderr}`);
    }
    const child = spawn(NGINX, [...argv, '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => { log += d; });
    child.stderr.on('data', (d) => { log += d; });
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const url = `https://127.0.0.1:${tlsPort}`;
    for (const until = Date.now() + 10000; ;) {
        if (child.exitCode !== null) {
            await cleanup();
            throw new Error(`nginx exited early: ${log}`);
        }
        try {
            if ((await getStatus(`${url}/api/health`)) === 200) break;
        } catch { /* not up yet */ }
        if (Date.now() > until) {
            child.kill('SIGKILL');
            await exited;
            await cleanup();
            throw new Error(`nginx did not answer in 10 s: ${log}`);
        }
        await new Promise((r) => setTimeout(r, 50));
    }
    frontCert = tls.cert;
    return {
        url,
        port: tlsPort,
        httpPort,
        srv,
        cert: tls.cert,
        prefix,
        log: () => log + readFileSync(path.join(prefix, 'logs', 'error.log'), 'utf8'),
        /** Stops nginx (gracefully), then codevd; removes the prefix. */
        async stop() {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT');
            const res = await exited;
            await cleanup();
            return res;
        },
    };
}
