// Starts a PostgreSQL server of its own for the tests that run the store
// on PostgreSQL (the pg suite of tests/run-all.sh): Debian's postgresql
// package's binaries (/usr/lib/postgresql/<version>/bin, or $PG_BIN),
// initdb into a new temporary directory as an unprivileged user (nobody
// when we run as root: PostgreSQL refuses root), a free port on loopback,
// its unix socket in that directory; stop() stops it and removes it all.
// No server needs to be installed or running beforehand.
//
//   const pg = await startPostgres();   // pg.dsn: superuser, dbname postgres
//   pg.dsnFor('t1')                     // the same server, database t1
//   await pg.createDatabase('t1');
//   await pg.pause(); await pg.resume(); // pg_ctl stop -m fast / start
//   await pg.stop();
//
// As a command: `node tests/lib/pg.mjs CMD ARGS...` starts one, runs CMD
// with CODEVD_TEST_PG_DSN set to its dsn, stops it and exits with CMD's
// status.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, chownSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

/** The directory of initdb and pg_ctl. */
export function pgBinDir() {
    if (process.env.PG_BIN) return process.env.PG_BIN;
    const root = '/usr/lib/postgresql';
    const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => b - a) : [];
    if (!versions.length) throw new Error('PostgreSQL binaries not found (Debian package postgresql)');
    return path.join(root, versions[0], 'bin');
}

async function freeLoopbackPort() {
    for (let i = 0; i < 200; i++) {
        const port = 33000 + Math.floor(Math.random() * 2000);
        const free = await new Promise((resolve) => {
            const s = net.createServer();
            s.unref();
            s.once('error', () => resolve(false));
            s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
        });
        if (free) return port;
    }
    throw new Error('no free port for PostgreSQL');
}

/** Runs a PostgreSQL binary as the cluster's owner. */
function asOwner(user, bin, args, opts = {}) {
    const cmd = user ? ['runuser', ['-u', user, '--', bin, ...args]] : [bin, args];
    const r = spawnSync(cmd[0], cmd[1], { encoding: 'utf8', ...opts });
    if (r.status !== 0) throw new Error(`${path.basename(bin)} failed: ${r.stderr || r.stdout}`);
    return r.stdout;
}

export async function startPostgres() {
    const bin = pgBinDir();
    const user = process.getuid() === 0 ? 'nobody' : null;
    const dir = mkdtempSync(path.join(tmpdir(), 'codevd-pg-'));
    const data = path.join(dir, 'data');
    if (user) {
        const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }));
        const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }));
        chownSync(dir, uid, gid);
    }
    asOwner(user, path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-locale',
        '-E', 'UTF8', '--no-sync'], { cwd: dir });
    const port = await freeLoopbackPort();
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`;
    const ctl = (args) => asOwner(user, path.join(bin, 'pg_ctl'), ['-D', data, ...args], { cwd: dir });
    const start = () => ctl(['-o', opts, '-l', path.join(dir, 'log'), '-w', '-t', '60', 'start']);
    start();
    const base = `host=${dir} port=${port} user=postgres`;
    const psql = (db, sql) => execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', `${base} dbname=${db}`,
        '-c', sql], { encoding: 'utf8' });
    let running = true;
    return {
        dir, port, host: dir, data,
        dsn: `${base} dbname=postgres`,
        dsnFor: (db) => `${base} dbname=${db}`,
        psql,
        async createDatabase(db) { psql('postgres', `CREATE DATABASE "${db}"`); },
        async pause() { if (running) { ctl(['-m', 'fast', '-w', 'stop']); running = false; } },
        async resume() { if (!running) { start(); running = true; } },
        async stop() {
            try { if (running) ctl(['-m', 'immediate', '-w', 'stop']); } catch { /* already gone */ }
            running = false;
            rmSync(dir, { recursive: true, force: true });
        },
    };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
    const [cmd, ...args] = process.argv.slice(2);
    const pg = await startPostgres();
    let status = 1;
    try {
        const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, CODEVD_TEST_PG_DSN: pg.dsn } });
        status = r.status ?? 1;
    } finally {
        await pg.stop();
    }
    process.exit(status);
}
