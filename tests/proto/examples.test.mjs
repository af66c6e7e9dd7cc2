// Every example in proto/examples/ validates against its schema, and every
// schema in proto/schema/{client,server,http}/ has at least one example.
// An example file is named <dir>/<type>.json or <dir>/<type>.<variant>.json.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, schemaNames, validateWith } from '../integration/lib/schemas.mjs';

const exampleDir = path.join(repoRoot, 'proto', 'examples');
const dirs = ['client', 'server', 'http'];

function examples(dir) {
    return readdirSync(path.join(exampleDir, dir))
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => ({ file: `${dir}/${f}`, schema: f.split('.')[0], body: JSON.parse(readFileSync(path.join(exampleDir, dir, f), 'utf8')) }));
}

test('proto/examples holds only the client, server and http folders', () => {
    assert.deepEqual(readdirSync(exampleDir).sort(), [...dirs].sort());
});

for (const dir of dirs) {
    test(`every ${dir} schema has an example`, () => {
        const have = new Set(examples(dir).map((e) => e.schema));
        const missing = schemaNames(dir).filter((n) => !have.has(n));
        assert.deepEqual(missing, []);
    });

    test(`every ${dir} example names an existing schema`, () => {
        const names = new Set(schemaNames(dir));
        const orphans = examples(dir).filter((e) => !names.has(e.schema)).map((e) => e.file);
        assert.deepEqual(orphans, []);
    });

    for (const ex of examples(dir)) {
        test(`example ${ex.file} validates against ${dir}/${ex.schema}.json`, () => {
            assert.deepEqual(validateWith(`${dir}/${ex.schema}.json`, ex.body), []);
            if (dir !== 'http') assert.equal(ex.body.type, ex.schema, 'the type field matches the file name');
        });
    }
}
