// The command and event tables of proto/README.md (sections 2.3 and 2.4) and
// the schema files name the same message types.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, clientTypes, serverTypes } from '../integration/lib/schemas.mjs';

const readme = readFileSync(path.join(repoRoot, 'proto', 'README.md'), 'utf8');

/** First-column `names` of each markdown table of the section starting at
 * heading: one array per table, in order. */
function sectionTables(heading, nextHeading) {
    const start = readme.indexOf(heading);
    const end = readme.indexOf(nextHeading, start + 1);
    assert.ok(start >= 0 && end > start, `README has sections "${heading}" then "${nextHeading}"`);
    const tables = [];
    let current = null;
    for (const l of readme.slice(start, end).split('\n')) {
        if (!l.startsWith('|')) {
            current = null;
            continue;
        }
        if (!current)
            tables.push((current = []));
        const m = /^\|\s*`([a-z_]+)`\s*\|/.exec(l);
        if (m)
            current.push(m[1]);
    }
    return tables;
}

/** First-column `names` of every table of the section, in order. */
function tableTypes(heading, nextHeading) {
    return sectionTables(heading, nextHeading).flat();
}

test('every command of README 2.3 has a client schema, and every client schema but hello is a command', () => {
    const commands = sectionTables('### 2.3 Commands', '### 2.4 Events')[0];
    assert.ok(commands.length >= 30, `found ${commands.length} commands`);
    assert.deepEqual([...commands].sort(), clientTypes.filter((t) => t !== 'hello').sort());
});

test('every event and seq-less message of README 2.4 has a server schema, plus welcome, ack and error', () => {
    const events = tableTypes('### 2.4 Events', '### 2.5 Errors');
    assert.ok(events.length >= 20, `found ${events.length} events`);
    assert.deepEqual([...events, 'welcome', 'ack', 'error'].sort(), [...serverTypes].sort());
});

test('the rules table of README 2.3 has one row per command but session_open and facilitator_accept, in the commands table\'s order', () => {
    const [commands, rules] = sectionTables('### 2.3 Commands', '### 2.4 Events');
    assert.ok(rules, 'README 2.3 has a second table, the rules table');
    assert.deepEqual(rules, commands.filter((t) => t !== 'session_open' && t !== 'facilitator_accept'));
});
