// Loads the JSON Schemas of proto/schema/ (draft 2020-12) and validates
// messages against them. Every function returns an array of error strings,
// empty when the message is valid.
//
//   validateServerMessage(msg)      -> proto/schema/server/<msg.type>.json
//   validateClientMessage(msg)      -> proto/schema/client/<msg.type>.json
//   validateHttp(name, body)        -> proto/schema/http/<name>.json
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020Module from 'ajv/dist/2020.js';

const Ajv2020 = Ajv2020Module.default || Ajv2020Module;

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const schemaDir = path.join(repoRoot, 'proto', 'schema');
export const SCHEMA_BASE = 'https://codevd.invalid/proto/schema/';

const ajv = new Ajv2020({ strict: true, allErrors: true });

/** Every schema file: { rel: 'server/card_added.json', schema }. */
export const schemaFiles = [];

function load(rel) {
    const schema = JSON.parse(readFileSync(path.join(schemaDir, rel), 'utf8'));
    if (schema.$id !== SCHEMA_BASE + rel)
        throw new Error(`${rel}: $id is ${schema.$id}, expected ${SCHEMA_BASE + rel}`);
    schemaFiles.push({ rel, schema });
    ajv.addSchema(schema);
}

load('defs.json');
for (const dir of ['client', 'server', 'http'])
    for (const f of readdirSync(path.join(schemaDir, dir)).sort())
        if (f.endsWith('.json')) load(`${dir}/${f}`);

/** Message types (file names without .json) of one schema folder. */
export function schemaNames(dir) {
    return schemaFiles
        .filter((s) => s.rel.startsWith(dir + '/'))
        .map((s) => s.rel.slice(dir.length + 1, -'.json'.length));
}

export const serverTypes = schemaNames('server');
export const clientTypes = schemaNames('client');
export const httpNames = schemaNames('http');

/** The error codes the schemas accept (defs.json error_code enum). */
export const schemaErrorCodes = JSON.parse(readFileSync(path.join(schemaDir, 'defs.json'), 'utf8'))
    .$defs.error_code.enum;

function formatErrors(errors) {
    return (errors || []).map((e) => {
        const where = e.instancePath || '(root)';
        const extra = e.params && Object.keys(e.params).length ? ' ' + JSON.stringify(e.params) : '';
        return `${where} ${e.message}${extra}`;
    });
}

/** Validates data against the schema with relative path rel ('server/ack.json'). */
export function validateWith(rel, data) {
    const v = ajv.getSchema(SCHEMA_BASE + rel);
    if (!v) return [`no schema ${rel}`];
    return v(data) ? [] : formatErrors(v.errors);
}

function validateTyped(dir, known, msg) {
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg))
        return [`(root) must be a JSON object, got ${JSON.stringify(msg)}`];
    if (typeof msg.type !== 'string') return ['(root) has no string "type"'];
    if (!known.includes(msg.type)) return [`(root) unknown ${dir} message type "${msg.type}"`];
    return validateWith(`${dir}/${msg.type}.json`, msg);
}

/** Errors of one server message (an element of a frame), [] when valid. */
export function validateServerMessage(msg) {
    return validateTyped('server', serverTypes, msg);
}

/** Errors of one client message (hello or a command), [] when valid. */
export function validateClientMessage(msg) {
    return validateTyped('client', clientTypes, msg);
}

/** Errors of an HTTP body against proto/schema/http/<name>.json. */
export function validateHttp(name, body) {
    if (!httpNames.includes(name)) return [`no HTTP schema named "${name}"`];
    return validateWith(`http/${name}.json`, body);
}
