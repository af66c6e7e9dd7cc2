// One short session against the codevd that tests/deploy/deb.sh installed
// from the Debian package and started as the codevd user with
// /etc/codevd/codevd.conf: the packaged web client is served, a group is
// created and joined, a session opens, runs to the consultation, takes
// cards (every one acknowledged), and closes.
//
//   DEPLOY_URL=http://127.0.0.1:PORT node --test tests/deploy/session.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { setupGroup, advance, closeAll, assertAllClean } from '../integration/lib/scenario.mjs';
import { waitFor } from '../integration/lib/client.mjs';

const url = process.env.DEPLOY_URL;
const srv = url && { url, wsUrl: url.replace(/^http/, 'ws') + '/ws' };

function get(path) {
    return new Promise((resolve, reject) => {
        http.get(url + path, { agent: false }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (d) => { body += d; });
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
        }).on('error', reject);
    });
}

test('the installed codevd serves the packaged web client', { skip: !url && 'DEPLOY_URL unset' }, async () => {
    const page = await get('/');
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type'], /^text\/html/);
    assert.match(page.body, /<script[^>]+type="module"/);
    const i18n = await get('/i18n/fr.json');
    assert.equal(i18n.status, 200);
    assert.ok(Object.keys(JSON.parse(i18n.body)).length > 10);
});

test('one short session on the installed codevd: every card acknowledged', { skip: !url && 'DEPLOY_URL unset' }, async () => {
    const g = await setupGroup(srv);
    try {
        await advance(g, 'consultation');
        const texts = [];
        for (const k of g.K)
            for (let i = 0; i < 3; i++) {
                const text = `idée ${k.displayName} ${i}`;
                const r = await k.ok({ type: 'contribution_post', kind: 'suggestion', text });
                assert.equal(r.type, 'ack');
                texts.push(text);
            }
        const seen = () => new Set([...g.F.cards.values()].map((c) => c.text));
        await waitFor(() => texts.every((t) => seen().has(t)), 'the facilitator sees every card');
        await g.F.ok({ type: 'session_close' });
        assertAllClean(g);
    } finally {
        await closeAll(g);
    }
});
