// Backups and bad disks (issue 16): `codevd backup FILE` taken while a
// session runs and cards are being posted, `codevd restore FILE` after the
// server stopped (refused while it runs), `codevd check`, and a database
// that is damaged or belongs to another program at start: a clear error, a
// non-zero exit, and the file left exactly as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, serverBinary, freePort } from '../lib/server.mjs';
import { setupGroup, advance, reconnect } from './lib/scenario.mjs';
import { health } from './lib/client.mjs';

/** Runs `codevd ARGS...`; resolves with { code, stdout, stderr } (never rejects). */
function codevd(args, timeoutMs = 30000) {
    return new Promise((resolve) => {
        execFile(serverBinary(), args, { timeout: timeoutMs }, (err, stdout, stderr) =>
            resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
    });
}

/**
 * Starts codevd on dataDir expecting it to refuse to start: resolves with
 * its exit code and output once it exited (fails after 20 s).
 */
async function startRefused(dataDir) {
    const port = await freePort();
    const child = spawn(serverBinary(), ['--port', String(port), '--data-dir', dataDir, '--log-level', 'info'],
        { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => { log += d; });
    child.stderr.on('data', (d) => { log += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
    const { code, signal } = await new Promise((resolve) => child.on('exit', (c, s) => resolve({ code: c, signal: s })));
    clearTimeout(timer);
    return { code, signal, log };
}

function tempDir(tag) {
    return mkdtempSync(path.join(tmpdir(), `codevd-${tag}-`));
}

/** A SQLite database of another application (python3's sqlite3 module). */
function foreignDatabase(file) {
    execFileSync('python3', ['-c', `
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, customer TEXT, amount REAL)")
c.executemany("INSERT INTO invoices (customer, amount) VALUES (?, ?)", [("ACME", 12.5), ("Globex", 99.0)])
c.commit()
c.close()`, file]);
}

function textsIn(room) {
    const counts = new Map();
    for (const c of room.cards) counts.set(c.text, (counts.get(c.text) || 0) + 1);
    return counts;
}

test('a backup taken mid-session, restored after a stop, keeps every command acknowledged before it', async () => {
    const srv = await startServer();
    const work = tempDir('backup');
    const backupFile = path.join(work, 'mid-session.db');
    let again = null;
    try {
        const g = await setupGroup(srv);
        await advance(g, 'consultation');
        // Before: cards acknowledged, so committed, before the backup starts.
        const before = [];
        for (const k of g.K)
            for (let i = 0; i < 5; i++) {
                const text = `avant ${k.displayName} ${i}`;
                await k.ok({ type: 'contribution_post', kind: 'suggestion', text });
                before.push(text);
            }
        // During: a burst in flight while the backup runs.
        const during = [];
        const duringAcks = [];
        for (const k of g.K)
            for (let i = 0; i < 20; i++) {
                const text = `pendant ${k.displayName} ${i}`;
                during.push(text);
                duringAcks.push(k.send({ type: 'contribution_post', kind: 'suggestion', text }, { timeoutMs: 20000 }));
            }
        const backup = await codevd(['--data-dir', srv.dataDir, 'backup', backupFile]);
        assert.equal(backup.code, 0, `backup failed: ${backup.stderr}`);
        assert.match(backup.stdout, /backup of .*codevd\.db written to/);
        for (const r of await Promise.all(duringAcks)) assert.equal(r.type, 'ack', JSON.stringify(r));
        // After: acknowledged once the backup was written: not in it.
        const after = await g.K[0].ok({ type: 'contribution_post', kind: 'suggestion', text: 'après la sauvegarde' });
        assert.equal(after.type, 'ack');

        // The backup is a sound, self-contained codevd database.
        const checked = await codevd(['check', backupFile]);
        assert.equal(checked.code, 0, checked.stderr);
        assert.match(checked.stdout, /ok \(codevd schema v\d+/);
        assert.ok(!existsSync(backupFile + '-wal'), 'the backup is one file');

        // Restore while the server runs: refused, nothing touched.
        const live = readFileSync(path.join(srv.dataDir, 'codevd.db'));
        const refused = await codevd(['--data-dir', srv.dataDir, 'restore', backupFile]);
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /in use by a running codevd/);
        assert.ok(live.equals(readFileSync(path.join(srv.dataDir, 'codevd.db'))));
        assert.ok(!existsSync(path.join(srv.dataDir, 'codevd.db.pre-restore')));

        await Promise.all(g.everyone.map((c) => c.close()));
        await srv.stop({ keepData: true });

        const restored = await codevd(['--data-dir', srv.dataDir, 'restore', backupFile]);
        assert.equal(restored.code, 0, restored.stderr);
        assert.ok(existsSync(path.join(srv.dataDir, 'codevd.db.pre-restore')), 'the replaced database is kept');
        assert.ok(!existsSync(path.join(srv.dataDir, 'codevd.db-wal')), 'the old -wal is gone');

        again = await startServer({ dataDir: srv.dataDir });
        const back = await reconnect(again, g.F);
        const room = back.log.find((m) => m.type === 'welcome').room;
        assert.ok(room, 'the session is open again after the restore');
        assert.equal(room.step, 'consultation');
        const counts = textsIn(room);
        for (const text of before) assert.equal(counts.get(text), 1, `acknowledged before the backup: "${text}" once`);
        for (const text of during) assert.ok((counts.get(text) || 0) <= 1, `"${text}" at most once`);
        assert.equal(counts.get('après la sauvegarde'), undefined, 'what came after the backup is not in it');
        // The restored session takes commands again, numbered after what it holds.
        const next = await back.ok({ type: 'note_post', text: 'après la restauration' });
        assert.equal(next.seq, room.seq + 1);
        back.assertClean();
        await back.close();
    } finally {
        if (again) await again.stop({ keepData: true });
        await srv.stop({ keepData: true }).catch(() => {});
        rmSync(srv.dataDir, { recursive: true, force: true });
        rmSync(work, { recursive: true, force: true });
    }
});

test('codevd check: exit 0 on a sound database, 1 with the damage on a damaged one', async () => {
    const srv = await startServer();
    const work = tempDir('check');
    try {
        const g = await setupGroup(srv);
        for (let i = 0; i < 30; i++) await g.F.ok({ type: 'note_post', text: `note ${i} ${'x'.repeat(200)}` });
        const ok = await codevd(['--data-dir', srv.dataDir, 'check']);
        assert.equal(ok.code, 0, ok.stderr);
        assert.match(ok.stdout, /codevd\.db: ok/);
        await Promise.all(g.everyone.map((c) => c.close()));

        const copy = path.join(work, 'copy.db');
        assert.equal((await codevd(['--data-dir', srv.dataDir, 'backup', copy])).code, 0);
        const damaged = path.join(work, 'damaged.db');
        copyFileSync(copy, damaged);
        damagePages(damaged, 4);
        const bad = await codevd(['check', damaged]);
        assert.equal(bad.code, 1);
        assert.match(bad.stderr, /integrity check/);
        assert.match(bad.stdout, /Page \d+|Tree \d+|malformed|corrupt/i, 'the damage is listed');

        const none = await codevd(['check', path.join(work, 'missing.db')]);
        assert.equal(none.code, 1);
        assert.match(none.stderr, /No such file/);
        const usage = await codevd(['backup']);
        assert.equal(usage.code, 2);
    } finally {
        await srv.stop();
        rmSync(work, { recursive: true, force: true });
    }
});

/** Overwrites every other b-tree page from page `first` (0-based) with
 * random bytes, keeping the header and the schema (page 0): SQLite still
 * opens the file and reads its schema; those pages are garbage. */
function damagePages(file, first = 1) {
    const size = readFileSync(file).length;
    const fd = openSync(file, 'r+');
    for (let page = first; page * 4096 < size; page += 2) writeSync(fd, randomBytes(2048), 0, 2048, page * 4096 + 8);
    closeSync(fd);
}

const badFiles = [
    { name: 'random bytes', make: (f) => writeFileSync(f, randomBytes(64 * 1024)), why: /not a SQLite database/ },
    { name: 'a SQLite database of another application', make: foreignDatabase, why: /another application/ },
    { name: 'a text file', make: (f) => writeFileSync(f, 'groups,members\n1,2\n'), why: /not a SQLite database/ },
];

for (const bad of badFiles) {
    test(`start on ${bad.name}: a clear error, exit 1, the file untouched`, async () => {
        const dir = tempDir('bad');
        try {
            const file = path.join(dir, 'codevd.db');
            bad.make(file);
            const bytes = readFileSync(file);
            const res = await startRefused(dir);
            assert.equal(res.code, 1, res.log);
            assert.match(res.log, bad.why);
            assert.match(res.log, /refusing to touch it/);
            assert.ok(bytes.equals(readFileSync(file)), 'the file is exactly as it was');
            assert.ok(!existsSync(file + '-wal'), 'no -wal made beside it');
            // The operator's commands refuse it too.
            const check = await codevd(['--data-dir', dir, 'check']);
            assert.equal(check.code, 1);
            assert.match(check.stderr, bad.why);
            const backup = await codevd(['--data-dir', dir, 'backup', path.join(dir, 'b.db')]);
            assert.equal(backup.code, 1);
            const other = tempDir('restore-into');
            try {
                const restore = await codevd(['--data-dir', other, 'restore', file]);
                assert.equal(restore.code, 1);
                assert.match(restore.stderr, bad.why);
                assert.ok(!existsSync(path.join(other, 'codevd.db')), 'nothing restored');
            } finally {
                rmSync(other, { recursive: true, force: true });
            }
            assert.ok(bytes.equals(readFileSync(file)));
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
}

test('start on a damaged codevd database: exit 1, it says so, the file untouched', async () => {
    const srv = await startServer();
    const dir = tempDir('damaged');
    try {
        const g = await setupGroup(srv);
        await advance(g, 'consultation');
        for (let i = 0; i < 40; i++) await g.K[i % 3].ok({ type: 'contribution_post', kind: 'suggestion', text: `idée ${i} ${'y'.repeat(300)}` });
        await Promise.all(g.everyone.map((c) => c.close()));
        const file = path.join(dir, 'codevd.db');
        assert.equal((await codevd(['--data-dir', srv.dataDir, 'backup', file])).code, 0);
        damagePages(file);
        const bytes = readFileSync(file);
        const res = await startRefused(dir);
        assert.equal(res.code, 1, res.log);
        assert.match(res.log, /damaged|not a readable SQLite database/);
        assert.ok(bytes.equals(readFileSync(file)), 'the file is exactly as it was');
    } finally {
        await srv.stop();
        rmSync(dir, { recursive: true, force: true });
    }
});

test('a second codevd on the same data dir is refused while the first runs', async () => {
    const srv = await startServer();
    try {
        const res = await startRefused(srv.dataDir);
        assert.equal(res.code, 1, res.log);
        assert.match(res.log, /in use by a running codevd/);
        await health(srv.url); // the first still serves
    } finally {
        await srv.stop();
    }
});

test('store = postgresql: backup, restore and check refuse (never a success on a stale codevd.db the server no longer reads)', async () => {
    const dir = tempDir('pgstore');
    try {
        // A codevd.db left from the days of SQLite: the commands must not touch it.
        writeFileSync(path.join(dir, 'codevd.db'), 'stale');
        const pg = ['--data-dir', dir, '--set', 'store=postgresql', '--set', 'store_dsn=host=/nonexistent'];
        for (const cmd of [['backup', path.join(dir, 'b.db')], ['restore', path.join(dir, 'codevd.db')], ['check']]) {
            const r = await codevd([...pg, ...cmd]);
            assert.equal(r.code, 1, `${cmd[0]}: ${r.stderr}`);
            assert.match(r.stderr, /store = postgresql: back up, restore and check the database with its own tools/);
        }
        assert.ok(!existsSync(path.join(dir, 'b.db')), 'no backup file written');
        assert.equal(readFileSync(path.join(dir, 'codevd.db'), 'utf8'), 'stale');
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
});
