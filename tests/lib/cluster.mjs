// nginx with config/nginx/cluster.conf in front of three codevd nodes on
// loopback (the cluster suite, issue 17): the sample templated into a
// temporary prefix, plain HTTP on the given port, its upstream servers
// replaced by the nodes' ports; nginx runs in the foreground as a child of
// the test. The sample's lines that name a host's own setup are replaced,
// each exactly once (a sample that no longer has one fails here, loudly).
//
//   const front = await startClusterFront(port, [p1, p2, p3]);
//   front.url    http://127.0.0.1:PORT
//   await front.stop();
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, repoRoot, testCertificate } from './server.mjs';
import { NGINX, writeMainConf } from './nginx.mjs';

const SAMPLE = path.join(repoRoot, 'config', 'nginx', 'cluster.conf');

function once(text, from, to) {
    const parts = text.split(from);
    if (parts.length !== 2) throw new Error(`config/nginx/cluster.conf: "${from}" found ${parts.length - 1} times, expected once`);
    return parts.join(to);
}

/** nginx with the cluster sample, plain HTTP on port, over the node ports. */
export async function startClusterFront(port, nodePorts) {
    const tls = testCertificate();
    const prefix = mkdtempSync(path.join(tmpdir(), 'codevd-cluster-nginx-'));
    chmodSync(prefix, 0o755);
    for (const d of ['tmp', 'logs']) {
        mkdirSync(path.join(prefix, d));
        chmodSync(path.join(prefix, d), 0o777);
    }
    let t = readFileSync(SAMPLE, 'utf8');
    const redirect = await freePort();
    t = once(t, 'listen 443 ssl http2;', `listen 127.0.0.1:${port};`);
    t = once(t, 'listen [::]:443 ssl http2;', '');
    t = once(t, 'listen 80;', `listen 127.0.0.1:${redirect};`);
    t = once(t, 'listen [::]:80;', '');
    t = once(t, '/etc/ssl/codevd/fullchain.pem', tls.cert);
    t = once(t, '/etc/ssl/codevd/privkey.pem', tls.key);
    for (let i = 0; i < 3; i++) t = once(t, `server 127.0.0.1:${8081 + i} max_fails=0;`, `server 127.0.0.1:${nodePorts[i]} max_fails=0;`);
    writeFileSync(path.join(prefix, 'cluster.conf'), t);
    writeMainConf(prefix, 'cluster.conf');
    const argv = ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-e', path.join(prefix, 'logs', 'error.log')];
    const check = spawnSync(NGINX, ['-t', ...argv], { encoding: 'utf8' });
    if (check.error || check.status !== 0) throw new Error(`nginx -t refused the cluster sample: ${check.error || check.stderr}`);
    const child = spawn(NGINX, [...argv, '-g', 'daemon off;'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const url = `http://127.0.0.1:${port}`;
    for (const end = Date.now() + 10000; ;) {
        try {
            const r = await fetch(url + '/api/health');
            if (r.status === 200) break;
        } catch { /* not up yet */ }
        if (Date.now() > end) throw new Error('nginx did not come up');
        await new Promise((r) => setTimeout(r, 50));
    }
    return {
        url,
        async stop() {
            child.kill('SIGTERM'); // fast: open WebSockets do not hold it
            await exited;
            rmSync(prefix, { recursive: true, force: true });
            rmSync(tls.dir, { recursive: true, force: true });
        },
    };
}

