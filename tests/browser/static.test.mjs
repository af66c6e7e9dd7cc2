// Checks of web-client/ that need no browser: both languages carry the same
// strings, every server error code of proto/README.md has a sentence in
// both, every key the code asks for exists, and the code keeps to the CSP
// and to "text only through textContent".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../lib/server.mjs';

const WEB = path.join(repoRoot, 'web-client');
const fr = JSON.parse(readFileSync(path.join(WEB, 'i18n/fr.json'), 'utf8'));
const en = JSON.parse(readFileSync(path.join(WEB, 'i18n/en.json'), 'utf8'));

function files(dir, ext) {
    const out = [];
    for (const f of readdirSync(dir)) {
        const p = path.join(dir, f);
        if (statSync(p).isDirectory()) out.push(...files(p, ext));
        else if (f.endsWith(ext)) out.push(p);
    }
    return out;
}
const jsFiles = files(WEB, '.js');
const js = jsFiles.map((f) => ({ f: path.relative(WEB, f), src: readFileSync(f, 'utf8') }));

// The contract's enums (proto/schema/defs.json), which the server's welcome
// also sends: the steps and the roles.
const defs = JSON.parse(readFileSync(path.join(repoRoot, 'proto/schema/defs.json'), 'utf8')).$defs;
const STEPS = defs.step.enum;
const ROLES = defs.role.enum;

const isPlural = (v) => v && typeof v === 'object' && 'other' in v && Object.keys(v).every((k) => ['zero', 'one', 'two', 'few', 'many', 'other'].includes(k));

/** Flattens to { 'a.b.c': string | {one, other} }. */
function flat(d, prefix = '', out = {}) {
    for (const [k, v] of Object.entries(d)) {
        if (v && typeof v === 'object' && !isPlural(v)) flat(v, `${prefix}${k}.`, out);
        else out[prefix + k] = v;
    }
    return out;
}
const FR = flat(fr);
const EN = flat(en);
const lookup = (dict, key) => Object.prototype.hasOwnProperty.call(dict, key);

test('fr.json and en.json have the same keys', () => {
    assert.deepEqual(Object.keys(EN).sort(), Object.keys(FR).sort());
});

test('every string is non-empty and both languages use the same placeholders', () => {
    const holes = (v) => [...JSON.stringify(v).matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const key of Object.keys(FR)) {
        for (const [name, dict] of [['fr', FR], ['en', EN]]) {
            const v = dict[key];
            const strings = typeof v === 'string' ? [v] : Object.values(v);
            for (const s of strings) assert.ok(typeof s === 'string' && s.trim(), `${name} ${key} is empty`);
        }
        assert.deepEqual([...new Set(holes(EN[key]))], [...new Set(holes(FR[key]))], `placeholders of ${key}`);
    }
});

test('French typography: no ASCII space before ; : ! ? » or after «, no ASCII apostrophe', () => {
    const bad = [];
    for (const [key, v] of Object.entries(FR)) {
        for (const str of typeof v === 'string' ? [v] : Object.values(v)) {
            if (/[ \u00a0][;:!?»]/.test(str)) bad.push(`${key}: a space before ; : ! ? or » must be U+202F: ${str}`);
            if (/«[ \u00a0]/.test(str)) bad.push(`${key}: the space after « must be U+202F: ${str}`);
            if (/'/.test(str)) bad.push(`${key}: ASCII apostrophe, use ’: ${str}`);
            if (/·/.test(str)) bad.push(`${key}: point médian: use neutral phrasing: ${str}`);
        }
    }
    assert.deepEqual(bad, []);
});

test('French role labels: each role in the three forms a member may choose, English unchanged', () => {
    for (const r of ROLES) {
        const [f, m, n] = ['f', 'm', 'n'].map((x) => FR[`roles.${r}_${x}`]);
        assert.equal(n, FR[`roles.${r}`], `roles.${r}_n is the neutral label`);
        assert.notEqual(f, m, `roles.${r}: feminine and masculine differ`);
        for (const x of ['f', 'm', 'n']) {
            assert.equal(EN[`roles.${r}_${x}`], EN[`roles.${r}`], `en roles.${r}_${x} unchanged`);
            assert.ok(FR[`you_are.${r}_${x}`].includes(FR[`roles.${r}_${x}`]) || x === 'n', `you_are.${r}_${x} names the role as chosen`);
        }
    }
    assert.equal(FR['roles.client_f'], 'cliente');
    assert.equal(FR['roles.facilitator_m'], 'animateur');
    assert.equal(FR['you_are.client_f'], 'Vous êtes la cliente de cette consultation.');
});

test('French elision before a name that starts with a vowel', async () => {
    const { elide, elideTemplate } = await import('../../web-client/i18n.js');
    assert.equal(elide('de', 'Isabelle'), 'd’Isabelle');
    assert.equal(elide('de', 'Émilie'), 'd’Émilie');
    assert.equal(elide('de', 'Bruno'), 'de Bruno');
    assert.equal(elideTemplate(FR['contract.pinned_by'], { name: 'Anne' }), FR['contract.pinned_by'].replace('de {name}', 'd’{name}'));
    assert.equal(elideTemplate(FR['contract.pinned_by'], { name: 'Bruno' }), FR['contract.pinned_by']);
    assert.equal(elideTemplate('Question que {name} pose', { name: 'Ulysse' }), 'Question qu’{name} pose');
    assert.equal(elideTemplate('Garde {name}', { name: 'Anne' }), 'Garde {name}', 'only after de, que, le, la');
});

test('every error code of proto/README.md has a sentence in both languages', () => {
    const readme = readFileSync(path.join(repoRoot, 'proto/README.md'), 'utf8');
    const table = readme.split('<!-- error-codes:begin -->')[1].split('<!-- error-codes:end -->')[0];
    const codes = [...table.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
    assert.ok(codes.length >= 40, `found ${codes.length} codes`);
    for (const code of codes) {
        assert.ok(lookup(FR, `errors.${code}`), `fr: errors.${code}`);
        assert.ok(lookup(EN, `errors.${code}`), `en: errors.${code}`);
        assert.notEqual(FR[`errors.${code}`], code, 'a sentence, not the code');
    }
});

test('every key the code asks for exists', () => {
    const wanted = new Set();
    for (const { src } of js) for (const m of src.matchAll(/\bt\('([a-z0-9_.-]+)'/g)) wanted.add(m[1]);
    assert.ok(wanted.size > 150, `found ${wanted.size} literal keys`);
    // Keys the code builds from data.
    for (const s of STEPS) for (const k of ['label', 'short', 'purpose']) wanted.add(`steps.${s}.${k}`);
    for (const s of STEPS) for (const r of ROLES) wanted.add(`rules.${s}.${r}`);
    for (const r of ROLES) wanted.add(`roles.${r}`);
    // Role labels in the form each member chose (feminine, masculine, neutral).
    const FORMS = defs.form.enum;
    for (const r of ROLES) for (const f of FORMS) { wanted.add(`roles.${r}_${f}`); wanted.add(`you_are.${r}_${f}`); }
    for (const f of FORMS) wanted.add(`form.${f}`);
    for (const k of ['suggestion', 'experience', 'feeling']) wanted.add(`kinds.${k}`);
    for (const d of ['process', 'content']) wanted.add(`dims.${d}`);
    for (const o of ['done', 'partly', 'not_done', 'dropped']) wanted.add(`outcomes.${o}`);
    for (const c of ['running', 'paused', 'stopped', 'overrun', 'overrun-paused', 'overrun-calm']) wanted.add(`clock.${c}`);
    for (const c of ['idle', 'connecting', 'open', 'lost', 'fatal']) wanted.add(`conn.${c}`);
    for (const c of ['checkin', 'topic', 'question', 'reformulation', 'contribution', 'action', 'learning', 'note']) wanted.add(`announce.types.${c}`);
    for (const c of ['pending', 'speaking', 'spoke', 'passed', 'skipped', 'expired', 'absent']) wanted.add(`floor.status.${c}`);
    const missing = [...wanted].filter((k) => !lookup(FR, k) || !lookup(EN, k));
    assert.deepEqual(missing, []);
    // And the template keys in the code are only of the enumerated families.
    for (const { f, src } of js) {
        for (const m of src.matchAll(/\bt\(`([^`]+)`/g)) {
            assert.match(m[1], /^(steps|rules|roles|you_are|form|kinds|dims|outcomes|clock|conn|announce\.types|errors|floor\.status)\.\$\{/, `${f}: t(\`${m[1]}\`)`);
        }
    }
});

// STYLE.md 13: the server tells the page what a member may do now and which
// limits hold (welcome.rules, welcome.limits, welcome.steps); the page keeps
// no copy. These patterns are how the copies looked.
test('the page takes rules, limits and steps from the server, not from its own copies', () => {
    const views = js.filter(({ f }) => f.startsWith('views/'));
    const roleName = `'(?:${ROLES.join('|')})'`;
    for (const { f, src } of views) {
        // A limit of the server's config: a constant, or a number given as a maximum.
        assert.doesNotMatch(src, /\b(?:LONG_)?TEXT_MAX\b|\bmax:\s*\d/, `${f}: a text limit the server sends in welcome.limits`);
        assert.doesNotMatch(src, /\bmaxlength:\s*\d/, `${f}: a length limit the server sends (welcome.limits, or /api/health for the front page)`);
        assert.doesNotMatch(src, /(?<![/*]\s*)\b(?:1000|4000)\b(?!\s*px)/, `${f}: the server's default text limit`);
        // What I may do, decided from my role: welcome.rules says it (state.js may()).
        assert.doesNotMatch(src, new RegExp(`\\b(?:role|my|myRole\\([^)]*\\))\\s*[!=]==\\s*${roleName}`),
            `${f}: a right derived from the member's role instead of may()`);
        assert.doesNotMatch(src, /\bconst (?:can(?:[A-Z]\w*)?|isClient)\s*=(?!\s*may\()/, `${f}: a right not taken from may()`);
        assert.doesNotMatch(src, /\bisFacilitator\([^)]*\)\s*(?:\?|&&)\s*[^\n]*\bctx\.act\(/, `${f}: a facilitator command gated by role`);
    }
    const state = js.find(({ f }) => f === 'state.js').src;
    assert.match(state, /export function may\(s, cmd\)/);
    assert.match(state, /s\.rules = msg\.rules/, 'state.js keeps welcome.rules');
    assert.match(state, /s\.limits = msg\.limits/, 'state.js keeps welcome.limits');
    // The step list: one source, the server's welcome.steps.
    for (const { f, src } of js) {
        assert.doesNotMatch(src, /'opening',\s*'topic',\s*'expose'/, `${f}: a copy of the step list (welcome.steps has it)`);
    }
    // Each step's composer is offered by may(), with the command it sends.
    const gated = { 'opening.js': 'checkin_post', 'topic.js': 'topic_propose', 'expose.js': 'problem_set', 'clarification.js': 'question_ask',
        'contract.js': 'contract_set', 'consultation.js': 'contribution_post', 'synthesis.js': 'action_add', 'learning.js': 'learning_post' };
    for (const [file, cmd] of Object.entries(gated)) {
        const src = views.find(({ f }) => f === `views/${file}`).src;
        assert.match(src, new RegExp(`may\\(ctx\\.s, '${cmd}'\\)`), `${file}: may(ctx.s, '${cmd}')`);
    }
});

test('the page builds text with textContent only and keeps to the CSP', () => {
    for (const { f, src } of js) {
        assert.doesNotMatch(src, /\.innerHTML\s*=|\.outerHTML\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(/, `${f}: HTML injection sink`);
        assert.doesNotMatch(src, /\.style\.[a-zA-Z]+\s*=|\.style\s*=|setAttribute\(\s*'style'|cssText/, `${f}: inline style`);
        assert.doesNotMatch(src, /https?:\/\/(?!codevd\.invalid)/, `${f}: external URL`);
        assert.doesNotMatch(src, /\bstyle:\s*['"`]/, `${f}: style attribute through h()`);
    }
    const html = readFileSync(path.join(WEB, 'index.html'), 'utf8');
    assert.doesNotMatch(html, /\sstyle\s*=/i, 'no style attributes');
    assert.doesNotMatch(html, /<style/i, 'no style element');
    assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'no inline event handlers');
    // Scripts are files, but the bootstrap that opens the room's socket
    // before any file arrives: one bare <script>, which the CSP lets run by
    // its hash (src/webfiles.c; tests/integration/frame-ancestors.test.mjs).
    const inline = [];
    for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
        if (m[2].trim()) inline.push(m);
        else assert.match(m[1], /\bsrc=/, 'scripts are files');
    }
    assert.equal(inline.length, 1, 'one inline script');
    assert.equal(inline[0][1], '', 'the inline script is a bare <script>');
    assert.ok(inline[0][2].length < 300, 'the inline script stays a few bytes');
    const css = readFileSync(path.join(WEB, 'style.css'), 'utf8');
    assert.doesNotMatch(css, /@import|url\(\s*['"]?https?:/, 'no external CSS resources');
});

// Issue 12: the browser fetches a module graph at once instead of
// discovering it one import level at a time. index.html lists every module
// app.js imports statically, at any depth, as a modulepreload (what the
// front page and the join form need); early.js's ROOM_MODULES lists the
// rest of what app.js's import() calls bring (the room and the display),
// which it preloads when a room is on its way.
test('index.html preloads the static module graph of app.js, early.js the room\'s, and nothing else', async () => {
    const html = readFileSync(path.join(WEB, 'index.html'), 'utf8');
    const dynamic = [];
    const walk = (rel, graph) => {
        if (graph.has(rel)) return graph;
        graph.add(rel);
        const src = readFileSync(path.join(WEB, rel), 'utf8');
        const specs = [...src.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*'([^']+)'|^\s*import\s*'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/gm)];
        for (const m of specs) {
            const spec = m[1] || m[2] || m[3];
            assert.match(spec, /^\.\.?\//, `${rel}: import '${spec}' is relative`);
            const target = path.posix.normalize(path.posix.join(path.posix.dirname(rel), spec));
            if (m[3]) dynamic.push(target);
            else walk(target, graph);
        }
        return graph;
    };
    const graph = walk('app.js', new Set());
    assert.deepEqual(dynamic.sort(), ['views/display.js', 'views/room.js'], 'app.js loads the room and the display when shown');
    const later = new Set();
    for (const d of dynamic) for (const m of walk(d, new Set())) if (!graph.has(m)) later.add(m);
    assert.ok(graph.size >= 8 && later.size >= 20, `${graph.size} modules first, ${later.size} later`);
    const attr = (re) => [...html.matchAll(re)].map((m) => m[1]);
    const preloaded = attr(/<link rel="modulepreload" href="([^"]+)">/g);
    const scripts = attr(/<script type="module"(?: async)? src="([^"]+)"><\/script>/g);
    assert.deepEqual(scripts.sort(), ['app.js', 'early.js'], 'the module scripts');
    const listed = new Set([...preloaded, ...scripts]);
    assert.equal(listed.size, preloaded.length + scripts.length, 'each module once');
    assert.deepEqual([...graph].filter((m) => !listed.has(m)), [], 'modules of the graph index.html does not preload');
    assert.deepEqual([...listed].filter((m) => !graph.has(m)), [], 'preloads of modules app.js does not import statically');
    const { ROOM_MODULES } = await import('../../web-client/early.js');
    assert.equal(new Set(ROOM_MODULES).size, ROOM_MODULES.length, 'each room module once');
    assert.deepEqual([...ROOM_MODULES].sort(), [...later].sort(), 'ROOM_MODULES: the room\'s graph beyond index.html\'s');
    // The French words: preloaded, and fetched by i18n.js from the same place.
    assert.match(html, /<link rel="preload" href="i18n\/fr\.json" as="fetch" crossorigin>/);
    const i18n = js.find(({ f }) => f === 'i18n.js').src;
    assert.match(i18n, /fetch\(new URL\(`i18n\/\$\{want\}\.json`, import\.meta\.url\)\)/);
});

test('text colours keep a contrast of at least 4.5:1 (WCAG AA)', () => {
    const css = readFileSync(path.join(WEB, 'style.css'), 'utf8');
    const root = css.slice(css.indexOf(':root {'), css.indexOf('}', css.indexOf(':root {')));
    const vars = Object.fromEntries([...root.matchAll(/--([a-z0-9-]+):\s*(#[0-9a-f]{6})/gi)].map((m) => [m[1], m[2]]));
    const lum = (hex) => {
        const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
            .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    };
    const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
    const white = '#ffffff';
    // [foreground, background] pairs the stylesheet actually uses for text.
    const pairs = [['text', 'bg'], ['text', 'surface'], ['muted', 'bg'], ['muted', 'surface'], ['primary', 'surface'],
        ['danger', 'surface'], ['danger', 'danger-soft'], ['overrun', 'danger-soft'], ['warn', 'warn-soft'], ['ok', 'surface'],
        ['k-suggestion', 'k-suggestion-soft'], ['k-experience', 'k-experience-soft'], ['k-feeling', 'k-feeling-soft'],
        ['muted', 'primary-soft'], ['text', 'primary-soft'], ['text', 'warn-soft']];
    for (const [fg, bg] of pairs) {
        assert.ok(vars[fg] && vars[bg], `--${fg} / --${bg} defined`);
        const r = ratio(vars[fg], vars[bg]);
        assert.ok(r >= 4.5, `--${fg} on --${bg}: ${r.toFixed(2)}:1`);
    }
    for (const bg of ['primary', 'primary-dark', 'danger', 'k-experience', 'k-feeling']) {
        assert.ok(ratio(white, vars[bg]) >= 4.5, `white on --${bg}: ${ratio(white, vars[bg]).toFixed(2)}:1`);
    }
});
