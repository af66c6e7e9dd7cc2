// The HTTP API of proto/README.md section 1: create, join, open, get; bad
// bodies, wrong keys, unknown groups and paths, methods and sizes; every
// body checked against proto/schema/http; security headers everywhere.
import test from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startServer } from '../lib/server.mjs';
import { api, createGroup, joinGroup, openSession, getGroup, Client, waitConnections, waitFor } from './lib/client.mjs';
import { connectMember } from './lib/scenario.mjs';

let srv;
test.before(async () => { srv = await startServer(); });
test.after(async () => { await srv.stop(); });

const BUDGETS = {
    45: { opening: 2, topic: 3, expose: 5, clarification: 10, contract: 3, consultation: 15, synthesis: 4, learning: 3 },
    90: { opening: 10, topic: 5, expose: 10, clarification: 20, contract: 5, consultation: 25, synthesis: 8, learning: 7 },
    120: { opening: 15, topic: 10, expose: 10, clarification: 25, contract: 10, consultation: 30, synthesis: 10, learning: 10 },
};
const minutes = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v * 60000]));

/** Asserts an error answer: status, code, JSON content type and the error schema. */
function assertError(res, status, code, what = '') {
    assert.equal(res.status, status, `${what}: ${res.text}`);
    assert.deepEqual(res.schemaErrors, [], `${what}: error body schema`);
    assert.equal(res.body.error.code, code, `${what}: ${res.text}`);
    assert.match(res.headers.get('content-type'), /^application\/json/);
}

function assertSecurityHeaders(res, what) {
    const csp = res.headers.get('content-security-policy');
    assert.ok(csp, `${what}: Content-Security-Policy present`);
    assert.match(csp, /default-src 'self'/, `${what}: CSP restricts default-src`);
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer', `${what}: Referrer-Policy`);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', `${what}: X-Content-Type-Options`);
}

test('GET /api/health answers {status: ok, version, connections}', async () => {
    const res = await api(srv.url, 'GET', '/api/health', { schema: 'health' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.schemaErrors, []);
    assert.equal(res.body.status, 'ok');
    assert.match(res.headers.get('content-type'), /^application\/json/);
});

test('GET /api/health counts the connections open now: one WebSocket more is one more, closed is gone', async () => {
    const own = await startServer();
    try {
        await waitConnections(own.url, 0);
        const c = await Client.connect(own.wsUrl, { name: 'compté' });
        await waitConnections(own.url, 1);
        await c.close();
        await waitConnections(own.url, 0);
    } finally {
        await own.stop();
    }
});

test('security headers on the web client, the API and API errors', async () => {
    const page = await fetch(srv.url + '/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /^text\/html/);
    assertSecurityHeaders(page, 'GET /');
    assertSecurityHeaders(await fetch(srv.url + '/api/health'), 'GET /api/health');
    const g = await createGroup(srv.url);
    const calls = [
        ['POST', '/api/groups', { body: { name: 'Équipe RH', facilitator_name: 'Nadia', language: 'fr', format: 45 } }],
        ['GET', `/api/groups/${g.group_id}`, { key: g.member_key }],
        ['GET', `/api/groups/${g.group_id}`, {}],
        ['GET', '/api/nope', {}],
        ['POST', '/api/groups', { rawBody: '{pas du json' }],
    ];
    for (const [method, path, opts] of calls) {
        const res = await api(srv.url, method, path, opts);
        assertSecurityHeaders(res, `${method} ${path} -> ${res.status}`);
    }
});

test('POST /api/groups creates a group: 201 with ids and 22-character secrets; names are trimmed', async () => {
    const res = await api(srv.url, 'POST', '/api/groups', {
        body: { name: '  Managers Lyon  ', facilitator_name: ' Claire ', language: 'fr', format: 90 }, schema: 'create_group_response',
    });
    assert.equal(res.status, 201);
    assert.deepEqual(res.schemaErrors, []);
    assert.notEqual(res.body.member_key, res.body.invite_code);
    const group = await getGroup(srv.url, res.body.group_id, res.body.member_key);
    assert.deepEqual({ ...group, members: null }, {
        group_id: res.body.group_id, name: 'Managers Lyon', language: 'fr', format: 90, retention: 'personal', warn_before_s: 60,
        facilitator: res.body.member_id, members: null, session: null,
    });
    assert.deepEqual(group.members, [{ id: res.body.member_id, name: 'Claire', role: 'facilitator', observer: false, online: false }]);
    // Names are counted in characters: 60 accented characters are fine.
    const sixty = await createGroup(srv.url, { name: 'é'.repeat(60), language: 'en', format: 120 });
    assert.equal((await getGroup(srv.url, sixty.group_id, sixty.member_key)).name, 'é'.repeat(60));
});

test('POST /api/groups refuses bad bodies with 400 and the documented code', async () => {
    const ok = { name: 'Managers Lyon', facilitator_name: 'Claire', language: 'fr', format: 90 };
    const cases = [
        [{ rawBody: '{"name": "Managers' }, 'bad_json'],
        [{ body: [ok] }, 'bad_message'],
        [{ body: { ...ok, name: undefined } }, 'missing_field'],
        [{ body: { ...ok, facilitator_name: undefined } }, 'missing_field'],
        [{ body: { ...ok, language: undefined } }, 'missing_field'],
        [{ body: { ...ok, format: undefined } }, 'missing_field'],
        [{ body: { ...ok, name: 5 } }, 'bad_field'],
        [{ body: { ...ok, name: '' } }, 'bad_field'],
        [{ body: { ...ok, name: '    ' } }, 'bad_field'],
        [{ body: { ...ok, name: 'x'.repeat(61) } }, 'bad_field'],
        [{ body: { ...ok, facilitator_name: 'é'.repeat(61) } }, 'bad_field'],
        [{ body: { ...ok, name: 'Ligne\nnouvelle' } }, 'bad_field'],
        [{ body: { ...ok, language: 'de' } }, 'bad_field'],
        [{ body: { ...ok, format: 60 } }, 'bad_field'],
        [{ body: { ...ok, format: '90' } }, 'bad_field'],
    ];
    const failures = [];
    for (const [opts, code] of cases) {
        const res = await api(srv.url, 'POST', '/api/groups', opts);
        const got = `${res.status} ${res.body?.error?.code}`;
        if (got !== `400 ${code}` || res.schemaErrors.length) failures.push(`${JSON.stringify(opts)}: expected 400 ${code}, got ${got}`);
    }
    assert.deepEqual(failures, []);
});

test('POST /api/groups/{id}/members joins with the invite; wrong invites, names and groups are refused', async () => {
    const g = await createGroup(srv.url);
    const lea = await joinGroup(srv.url, g.group_id, g.invite_code, '  Léa ');
    assert.notEqual(lea.member_id, g.member_id);
    const other = await createGroup(srv.url, { name: 'Autre groupe' });
    const path = `/api/groups/${g.group_id}/members`;
    const bad = await api(srv.url, 'POST', path, { body: { invite_code: other.invite_code, display_name: 'Intrus' } });
    // proto/README.md does not say which 4xx status bad_invite has.
    assert.ok([400, 401, 403].includes(bad.status), `bad invite status ${bad.status}`);
    assertError(bad, bad.status, 'bad_invite', 'invite of another group');
    assertError(await api(srv.url, 'POST', path, { body: { invite_code: g.member_key, display_name: 'Intrus' } }), bad.status, 'bad_invite', 'a member key is not an invite');
    assertError(await api(srv.url, 'POST', path, { body: { invite_code: g.invite_code, display_name: ' ' } }), 400, 'bad_field', 'blank name');
    assertError(await api(srv.url, 'POST', path, { body: { invite_code: g.invite_code, display_name: 'x'.repeat(61) } }), 400, 'bad_field', 'long name');
    assertError(await api(srv.url, 'POST', path, { body: { invite_code: g.invite_code } }), 400, 'missing_field', 'no name');
    assertError(await api(srv.url, 'POST', `/api/groups/${randomUUID()}/members`, { body: { invite_code: g.invite_code, display_name: 'Léa' } }), 404, 'unknown_group', 'unknown group');
    const group = await getGroup(srv.url, g.group_id, lea.member_key);
    assert.deepEqual(group.members.map((m) => [m.name, m.role]).sort(), [['Claire', 'facilitator'], ['Léa', 'consultant']]);
});

test('member_joined reaches the connected members while a session is open', async () => {
    const g = await createGroup(srv.url);
    await openSession(srv.url, g.group_id, g.member_key);
    const F = await connectMember(srv, g.group_id, g, 'Claire');
    const lea = await joinGroup(srv.url, g.group_id, g.invite_code, 'Léa');
    const joined = await F.nextEvent('member_joined');
    assert.deepEqual(joined.member, { id: lea.member_id, name: 'Léa', role: 'consultant', observer: false, online: false });
    const L = await connectMember(srv, g.group_id, lea, 'Léa');
    assert.deepEqual(L.welcome.room.members.map((m) => m.name), ['Claire', 'Léa']);
    await api(srv.url, 'POST', `/api/groups/${g.group_id}/members`, { body: { invite_code: 'AAAAAAAAAAAAAAAAAAAAAA', display_name: 'Intrus' } });
    await F.expectNoneAfterBarrier((m) => m.type === 'member_joined');
    F.assertClean();
    L.assertClean();
    await Promise.all([F.close(), L.close()]);
});

test('member_joined reaches the connected members when no session is open', async () => {
    const g = await createGroup(srv.url);
    const F = await connectMember(srv, g.group_id, g, 'Claire');
    assert.equal(F.welcome.room, null);
    const lea = await joinGroup(srv.url, g.group_id, g.invite_code, 'Léa');
    const joined = await F.nextEvent('member_joined', () => true, 1500);
    assert.deepEqual(joined.member, { id: lea.member_id, name: 'Léa', role: 'consultant', observer: false, online: false });
    F.assertClean();
    await F.close();
});

test('POST /api/groups/{id}/sessions: the facilitator opens (201), a second open is 409, others 401/403', async () => {
    const g = await createGroup(srv.url);
    const k = await joinGroup(srv.url, g.group_id, g.invite_code, 'Julien');
    const K = await connectMember(srv, g.group_id, k, 'Julien');
    const path = `/api/groups/${g.group_id}/sessions`;
    assertError(await api(srv.url, 'POST', path, { body: {} }), 401, 'unauthorized', 'no key');
    assertError(await api(srv.url, 'POST', path, { body: {}, key: 'AAAAAAAAAAAAAAAAAAAAAA' }), 401, 'unauthorized', 'wrong key');
    assertError(await api(srv.url, 'POST', path, { body: {}, key: g.invite_code }), 401, 'unauthorized', 'the invite is not a key');
    assertError(await api(srv.url, 'POST', path, { body: {}, key: k.member_key }), 403, 'not_facilitator', 'consultant key');
    assertError(await api(srv.url, 'POST', `/api/groups/${randomUUID()}/sessions`, { body: {}, key: g.member_key }), 404, 'unknown_group', 'unknown group');
    await K.expectNoneAfterBarrier((m) => m.type === 'session_opened');
    const opened = await openSession(srv.url, g.group_id, g.member_key);
    const ev = await K.nextEvent('session_opened');
    assert.equal(ev.room.session_id, opened.session_id);
    assert.equal(ev.room.step, 'opening');
    assertError(await api(srv.url, 'POST', path, { body: {}, key: g.member_key }), 409, 'session_open', 'second open');
    const group = await getGroup(srv.url, g.group_id, k.member_key);
    assert.deepEqual(group.session, { session_id: opened.session_id, step: 'opening' });
    assert.deepEqual(group.members.find((m) => m.id === k.member_id),
        { id: k.member_id, name: 'Julien', role: 'consultant', observer: false, online: true });
    K.assertClean();
    await K.close();
});

test('the session budgets follow the group format (45, 90, 120 minutes)', async () => {
    for (const format of [45, 90, 120]) {
        const g = await createGroup(srv.url, { format });
        await openSession(srv.url, g.group_id, g.member_key);
        const F = await connectMember(srv, g.group_id, g, 'Claire');
        assert.equal(F.welcome.group.format, format);
        assert.deepEqual(F.welcome.room.budgets, minutes(BUDGETS[format]), `format ${format}`);
        assert.equal(F.welcome.room.clock.budget_ms, BUDGETS[format].opening * 60000);
        F.assertClean();
        await F.close();
    }
});

test('GET /api/groups/{id} needs a member key of that group; unknown groups are 404', async () => {
    const g = await createGroup(srv.url);
    const other = await createGroup(srv.url, { name: 'Autre groupe' });
    const path = `/api/groups/${g.group_id}`;
    assertError(await api(srv.url, 'GET', path), 401, 'unauthorized', 'no key');
    assertError(await api(srv.url, 'GET', path, { key: other.member_key }), 401, 'unauthorized', 'key of another group');
    assertError(await api(srv.url, 'GET', path, { headers: { Authorization: g.member_key } }), 401, 'unauthorized', 'no Bearer scheme');
    assertError(await api(srv.url, 'GET', `/api/groups/${randomUUID()}`, { key: g.member_key }), 404, 'unknown_group', 'unknown group');
    const body = await getGroup(srv.url, g.group_id, g.member_key);
    assert.equal(body.group_id, g.group_id);
    assert.equal(JSON.stringify(body).includes(g.invite_code), false, 'the invite code is never sent back');
    assert.equal(JSON.stringify(body).includes(g.member_key), false, 'member keys are never sent back');
});

test('unknown paths are 404 not_found, wrong methods 405 method_not_allowed, large bodies 413 too_large', async () => {
    const g = await createGroup(srv.url);
    assertError(await api(srv.url, 'GET', '/api/nope'), 404, 'not_found', '/api/nope');
    assertError(await api(srv.url, 'GET', `/api/groups/${g.group_id}/nope`, { key: g.member_key }), 404, 'not_found', 'sub-path');
    assertError(await api(srv.url, 'GET', '/api/groups'), 405, 'method_not_allowed', 'GET /api/groups');
    assertError(await api(srv.url, 'DELETE', '/api/groups', { key: g.member_key }), 405, 'method_not_allowed', 'DELETE /api/groups');
    assertError(await api(srv.url, 'DELETE', `/api/groups/${g.group_id}/members`, { key: g.member_key }), 405, 'method_not_allowed', 'DELETE members');
    assertError(await api(srv.url, 'PUT', '/api/health'), 405, 'method_not_allowed', 'PUT health');
    assertError(await api(srv.url, 'GET', `/api/groups/${g.group_id}/members`, { key: g.member_key }), 405, 'method_not_allowed', 'GET members');
    const huge = { name: 'x', facilitator_name: 'y'.repeat(40000), language: 'fr', format: 90 };
    assertError(await api(srv.url, 'POST', '/api/groups', { body: huge }), 413, 'too_large', 'large body');
});

test('secrets and card texts never appear in the server log', async () => {
    const g = await createGroup(srv.url, { name: 'Groupe discret' });
    const k = await joinGroup(srv.url, g.group_id, g.invite_code, 'Sophie');
    await openSession(srv.url, g.group_id, g.member_key);
    const K = await connectMember(srv, g.group_id, k, 'Sophie');
    const secretText = 'Confidentiel : mon directeur me harcèle depuis mars.';
    await K.ok({ type: 'checkin_post', text: secretText });
    await K.ok({ type: 'note_post', text: secretText + ' (note)' });
    const bad = await Client.connect(srv.wsUrl, { name: 'intrus' });
    await bad.hello(g.group_id, 'ZZZZZZZZZZZZZZZZZZZZZZ');
    await bad.close();
    await K.close();
    /* The server logs each API call: once the line of a later one is in,
     * whatever it logged about the calls and closes above is in too. */
    const healthLines = () => srv.log().split('\n').filter((l) => l.includes('http GET /api/health -> 200')).length;
    const before = healthLines();
    await api(srv.url, 'GET', '/api/health');
    await waitFor(() => healthLines() > before, 'the log line of GET /api/health');
    const log = srv.log();
    assert.ok(log.length > 0, 'the server logs something');
    for (const secret of [g.member_key, g.invite_code, k.member_key, 'ZZZZZZZZZZZZZZZZZZZZZZ', 'Confidentiel', 'harcèle'])
        assert.equal(log.includes(secret), false, `the log holds "${secret}"`);
});
