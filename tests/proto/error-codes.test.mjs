// The error-code table of proto/README.md, src/errors.h (the source of truth)
// and the schemas' error_code enum list exactly the same wire names.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, schemaErrorCodes } from '../integration/lib/schemas.mjs';

/** Wire names of the X-macro CODEV_ERRNO_MAP, in order. */
export function errorsHCodes() {
    const text = readFileSync(path.join(repoRoot, 'src', 'errors.h'), 'utf8');
    const start = text.indexOf('#define CODEV_ERRNO_MAP(X)');
    assert.ok(start >= 0, 'errors.h defines CODEV_ERRNO_MAP(X)');
    // The macro body runs until the first line that does not end in a backslash.
    const lines = text.slice(start).split('\n');
    const body = [];
    for (const line of lines) {
        body.push(line);
        if (!line.trimEnd().endsWith('\\')) break;
    }
    // Line continuations may split one X(...) entry over two lines.
    const withoutComments = body.join('\n').replace(/\\\n/g, ' ').replace(/\/\*[\s\S]*?\*\//g, '');
    return [...withoutComments.matchAll(/\bX\(\s*([A-Z0-9_]+)\s*,\s*"([^"]*)"\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)/g)]
        .map((m) => ({ name: m[1], wire: m[2], message: m[3] }));
}

/** Codes of the README table between the error-codes markers, in order. */
export function readmeCodes() {
    const text = readFileSync(path.join(repoRoot, 'proto', 'README.md'), 'utf8');
    const begin = text.indexOf('<!-- error-codes:begin -->');
    const end = text.indexOf('<!-- error-codes:end -->');
    assert.ok(begin >= 0 && end > begin, 'README has the error-codes markers in order');
    const rows = text.slice(begin, end).split('\n').filter((l) => /^\|\s*`/.test(l));
    return rows.map((l) => {
        const m = /^\|\s*`([^`]+)`\s*\|\s*(.+?)\s*\|\s*$/.exec(l);
        assert.ok(m, `README row is "| \`code\` | meaning |": ${l}`);
        return m[1];
    });
}

const dups = (list) => list.filter((x, i) => list.indexOf(x) !== i);

test('errors.h: the X-macro parses into a non-trivial list of unique wire names', () => {
    const codes = errorsHCodes();
    assert.ok(codes.length >= 40, `found ${codes.length} entries`);
    assert.deepEqual(dups(codes.map((c) => c.wire)), []);
    assert.deepEqual(dups(codes.map((c) => c.name)), []);
    for (const c of codes) {
        assert.match(c.wire, /^[a-z][a-z_]*[a-z]$/, `${c.name}: wire name is snake_case`);
        assert.equal(c.wire, c.name.toLowerCase(), `${c.name}: wire name is the lower-case enum name`);
        assert.ok(c.message.length > 0, `${c.name} has a message`);
    }
    assert.ok(codes.some((c) => c.wire === 'client_muted'));
});

test('proto/README.md error table lists exactly the wire names of src/errors.h', () => {
    const readme = readmeCodes();
    const header = errorsHCodes().map((c) => c.wire);
    assert.deepEqual(dups(readme), [], 'no code listed twice in the README');
    assert.deepEqual(readme.filter((c) => !header.includes(c)), [], 'README codes missing from errors.h');
    assert.deepEqual(header.filter((c) => !readme.includes(c)), [], 'errors.h codes missing from the README');
});

test('proto/schema/defs.json error_code enum lists exactly the wire names of src/errors.h', () => {
    const header = errorsHCodes().map((c) => c.wire);
    assert.deepEqual(dups(schemaErrorCodes), []);
    assert.deepEqual([...schemaErrorCodes].sort(), [...header].sort());
});
