// frame_ancestors (config/codevd.conf): the pages allowed to embed codevd,
// as the CSP frame-ancestors directive of every answer. The default denies
// every page (and sends X-Frame-Options: DENY); an operator may allow a
// Teams or Zoom side panel; a value that could inject another directive or
// header stops start-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, serverBinary, repoRoot } from '../lib/server.mjs';

const paths = ['/', '/api/health', '/index.html', '/no-such-file'];

/** The CSP source of index.html's one inline script (the socket bootstrap): its SHA-256. */
function inlineScriptHash() {
    const html = readFileSync(path.join(repoRoot, 'web-client/index.html'), 'utf8');
    const body = /<script>([\s\S]*?)<\/script>/.exec(html)[1];
    return `'sha256-${createHash('sha256').update(body, 'utf8').digest('base64')}'`;
}

/** The directives of a CSP header, as a map name -> value. */
function directives(csp) {
    return new Map(csp.split(';').map((d) => d.trim()).filter(Boolean).map((d) => {
        const i = d.indexOf(' ');
        return [d.slice(0, i), d.slice(i + 1)];
    }));
}

test("by default every answer says frame-ancestors 'none' and X-Frame-Options: DENY", async () => {
    const srv = await startServer();
    try {
        for (const p of paths) {
            const res = await fetch(srv.url + p);
            const csp = res.headers.get('content-security-policy');
            assert.ok(csp, `${p}: CSP`);
            assert.equal(directives(csp).get('frame-ancestors'), "'none'", `${p}: ${csp}`);
            assert.equal(directives(csp).get('script-src'), `'self' ${inlineScriptHash()}`);
            assert.equal(res.headers.get('x-frame-options'), 'DENY', p);
            await res.arrayBuffer();
        }
    } finally {
        await srv.stop();
    }
});

test('frame_ancestors set to allow Microsoft Teams ends the CSP with it, and X-Frame-Options is left out', async () => {
    const value = "'self' https://teams.microsoft.com https://*.example.org";
    const srv = await startServer({ args: ['--set', `frame_ancestors=${value}`] });
    try {
        for (const p of paths) {
            const res = await fetch(srv.url + p);
            const csp = res.headers.get('content-security-policy');
            const d = directives(csp);
            assert.equal(d.get('frame-ancestors'), value, `${p}: ${csp}`);
            assert.ok(csp.endsWith(`frame-ancestors ${value}`), csp);
            assert.equal(d.get('default-src'), "'self'", 'the rest of the policy is unchanged');
            assert.equal(res.headers.get('x-frame-options'), null, p);
            await res.arrayBuffer();
        }
    } finally {
        await srv.stop();
    }
});

test('a frame_ancestors value that is not source expressions stops start-up naming the key', () => {
    for (const bad of ["'self'; script-src *", 'https://a.example,https://b.example', "'self'\r\nSet-Cookie: x=1",
        "'none' 'self'", "'unsafe-inline'", '"x"', 'a'.repeat(1100)]) {
        const r = spawnSync(serverBinary(), ['--port', '1', '--set', `frame_ancestors=${bad}`], { encoding: 'utf8', timeout: 5000 });
        assert.notEqual(r.status, 0, `${JSON.stringify(bad)} accepted`);
        assert.match(r.stderr, /frame_ancestors/, JSON.stringify(bad));
    }
});
