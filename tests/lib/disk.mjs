// disk.mjs - a small disk that can be filled: a 6 MB tmpfs for the tests
// of a full disk (seen-survives, metrics' /readyz). Root only: without
// root, or where a tmpfs cannot be mounted, the test is skipped with the
// reason, never passed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Mounts a 6 MB tmpfs for test t. Returns { dir, fill, remove }, or null
 * when t was skipped. fill() writes a ballast file until the disk is full
 * and returns its path; remove() unmounts and deletes the mount point.
 */
export function smallDisk(t, tag) {
    if (process.getuid && process.getuid() !== 0) {
        t.skip('needs root to mount a small tmpfs');
        return null;
    }
    const dir = mkdtempSync(path.join(tmpdir(), `codevd-${tag}-`));
    try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', dir], { stdio: 'pipe' });
    } catch (e) {
        rmSync(dir, { recursive: true, force: true });
        t.skip(`cannot mount a tmpfs here: ${String(e.stderr || e.message).trim()}`);
        return null;
    }
    return {
        dir,
        fill() {
            const file = path.join(dir, 'ballast');
            const fd = openSync(file, 'w');
            const chunk = Buffer.alloc(16384, 7);
            try {
                for (;;) writeSync(fd, chunk);
            } catch (e) {
                if (e.code !== 'ENOSPC') throw e;
            } finally {
                closeSync(fd);
            }
            return file;
        },
        remove() {
            try { execFileSync('umount', [dir]); } catch { /* already gone */ }
            rmSync(dir, { recursive: true, force: true });
        },
    };
}
