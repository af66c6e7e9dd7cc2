// The command and event tables of proto/README.md (sections 2.3 and 2.4) and
// the schema files name the same message types.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, clientTypes, serverTypes } from '../integration/lib/schemas.mjs';

const readme = readFileSync(path.join(repoRoot, 'proto', 'README.md'), 'utf8');

/** First-column `names` of the markdown tables of the section starting at heading. */
function tableTypes(heading, nextHeading) {
    const start = readme.indexOf(heading);
    const end = readme.indexOf(nextHeading, start + 1);
    assert.ok(start >= 0 && end > start, `README has sections "${heading}" then "${nextHeading}"`);
    return readme.slice(start, end).split('\n')
        .map((l) => /^\|\s*`([a-z_]+)`\s*\|/.exec(l))
        .filter(Boolean)
        .map((m) => m[1]);
}

test('every command of README 2.3 has a client schema, and every client schema but hello is a command', () => {
    const commands = tableTypes('### 2.3 Commands', '### 2.4 Events');
    assert.ok(commands.length >= 30, `found ${commands.length} commands`);
    assert.deepEqual([...commands].sort(), clientTypes.filter((t) => t !== 'hello').sort());
});

test('every event and seq-less message of README 2.4 has a server schema, plus welcome, ack and error', () => {
    const events = tableTypes('### 2.4 Events', '### 2.5 Errors');
    assert.ok(events.length >= 20, `found ${events.length} events`);
    assert.deepEqual([...events, 'welcome', 'ack', 'error'].sort(), [...serverTypes].sort());
});
