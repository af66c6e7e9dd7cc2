// The group's settings page (issue 14): the session template (format and
// each step's budget) and the ground rules saved with the group and live
// for everyone connected, a member removed between sessions, the join
// page's keyless preview of the group, and the group deleted with every
// byte of it (proto/README.md 1.2). Every new input has its hostile case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { startServer } from '../lib/server.mjs';
import { api, createGroup, joinGroup, openSession, Client, requestFrom as request, storeBytes, holds } from './lib/client.mjs';
import { connectMember } from './lib/scenario.mjs';

const rnd = (label) => `${label}-${randomBytes(8).toString('hex')}`;
const MIN = 60000;

const settings = (srv, g, key, body, schema = 'settings_response') =>
    api(srv.url, 'POST', `/api/groups/${g.group_id}/settings`, { key, body, schema });

function refused(res, status, code, what) {
    assert.equal(res.status, status, `${what}: HTTP ${res.status} ${res.text}`);
    assert.equal(res.body.error.code, code, `${what}: ${res.text}`);
    assert.deepEqual(res.schemaErrors || [], [], what);
}

test('the facilitator sets the format, the template and the ground rules: others see group_updated, the next session starts with the template, a restart keeps them', async () => {
    const srv = await startServer();
    let srv2 = null;
    try {
        const g = await createGroup(srv.url);
        const lea = await joinGroup(srv.url, g.group_id, g.invite_code, 'Léa');
        const F = await connectMember(srv, g.group_id, g, 'Claire');
        const L = await connectMember(srv, g.group_id, lea, 'Léa');
        const w = L.welcome.group;
        assert.equal(w.format, 90);
        assert.equal(w.consultations, 1);
        assert.deepEqual(w.budgets, { opening: 10, topic: 5, expose: 10, clarification: 20, contract: 5, consultation: 25, synthesis: 8, learning: 7 });
        assert.equal(w.ground_rules, null, 'the default list until the facilitator edits it');

        // A member who is not the facilitator changes nothing.
        refused(await settings(srv, g, lea.member_key, { format: 45 }), 403, 'not_facilitator', 'a consultant');
        refused(await settings(srv, g, undefined, { format: 45 }), 401, 'unauthorized', 'no key');

        const rules = ['Confidentialité : ce qui se dit ici reste ici.', 'On écoute jusqu’au bout.', 'x'.repeat(200)];
        const res = await settings(srv, g, g.member_key, { format: 240, budgets: { opening: 20, consultation: 35 }, ground_rules: rules });
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.schemaErrors, []);
        const want = { opening: 20, topic: 10, expose: 10, clarification: 25, contract: 10, consultation: 35, synthesis: 10, learning: 10 };
        assert.equal(res.body.group.format, 240);
        assert.equal(res.body.group.consultations, 2, 'a half-day plans two consultations');
        assert.deepEqual(res.body.group.budgets, want, 'the half-day defaults with the two steps on top');
        assert.deepEqual(res.body.group.ground_rules, rules);
        const upd = await L.next((m) => m.type === 'group_updated');
        assert.deepEqual(upd.group, res.body.group, 'Léa sees the change live');
        await F.next((m) => m.type === 'group_updated');

        // The next session's room starts with the template.
        await openSession(srv.url, g.group_id, g.member_key);
        const opened = await L.next((m) => m.type === 'session_opened');
        for (const [step, min] of Object.entries(want))
            assert.equal(opened.room.budgets[step], min * MIN, `${step}: the room's budget is the template's`);
        assert.equal(opened.room.clock.budget_ms, 20 * MIN, 'the opening clock');

        // Changed while a session is open: saved for the next one, the open room keeps its own.
        const during = await settings(srv, g, g.member_key, { budgets: { topic: 12 } });
        assert.equal(during.status, 200, during.text);
        assert.equal(during.body.group.budgets.topic, 12);
        const again = await Client.connect(srv.wsUrl);
        const w2 = await again.hello(g.group_id, lea.member_key);
        assert.equal(w2.room.budgets.topic, 10 * MIN, 'the open room keeps its budgets');
        await again.close();

        // A restart keeps the template and the rules (migration 10).
        for (const c of [F, L]) await c.close();
        await srv.stop({ keepData: true });
        srv2 = await startServer({ dataDir: srv.dataDir });
        const c2 = await Client.connect(srv2.wsUrl);
        const w3 = await c2.hello(g.group_id, lea.member_key);
        assert.equal(w3.type, 'welcome');
        assert.equal(w3.group.format, 240);
        assert.deepEqual(w3.group.budgets, { ...want, topic: 12 });
        assert.deepEqual(w3.group.ground_rules, rules);
        assert.equal(w3.room.budgets.topic, 10 * MIN, 'the rebuilt room keeps its own budgets');

        // [] is no rules at all; null is the default list again; both survive a restart.
        const none = await settings(srv2, g, g.member_key, { ground_rules: [] });
        assert.deepEqual(none.body.group.ground_rules, []);
        await c2.close();
        await srv2.stop({ keepData: true });
        srv2 = await startServer({ dataDir: srv.dataDir });
        const c3 = await Client.connect(srv2.wsUrl);
        assert.deepEqual((await c3.hello(g.group_id, lea.member_key)).group.ground_rules, []);
        const dflt = await settings(srv2, g, g.member_key, { ground_rules: null });
        assert.equal(dflt.status, 200, dflt.text);
        assert.equal(dflt.body.group.ground_rules, null);
        assert.equal((await c3.next((m) => m.type === 'group_updated')).group.ground_rules, null);
        await c3.close();
    } finally {
        if (srv2) await srv2.stop();
        await srv.stop();
        rmSync(srv.dataDir, { recursive: true, force: true });
    }
});

test('hostile settings: every value out of range is refused with a clear error and nothing changes', async () => {
    const srv = await startServer({ args: ['--set', 'http_writes_per_min=1000'] });
    try {
        const g = await createGroup(srv.url);
        const before = (await settings(srv, g, g.member_key, { warn_before_s: 60 })).body.group;
        const bad = [
            [{ format: 60 }, 'bad_field'],
            [{ format: '90' }, 'bad_field'],
            [{ format: 240.5 }, 'bad_field'],
            [{ budgets: { opening: 0 } }, 'bad_field'],
            [{ budgets: { opening: 241 } }, 'bad_field'],
            [{ budgets: { opening: -5 } }, 'bad_field'],
            [{ budgets: { opening: 1.5 } }, 'bad_field'],
            [{ budgets: { opening: '10' } }, 'bad_field'],
            [{ budgets: { closed: 5 } }, 'bad_field'],
            [{ budgets: { lunch: 5 } }, 'bad_field'],
            [{ budgets: [10, 5] }, 'bad_field'],
            [{ budgets: 'long' }, 'bad_field'],
            // Each step within bounds, the whole session over 480 minutes.
            [{ format: 240, budgets: { consultation: 200 } }, 'bad_field'],
            [{ budgets: { opening: 240, consultation: 240, clarification: 10 } }, 'bad_field'],
            [{ ground_rules: Array.from({ length: 9 }, (_, i) => `règle ${i}`) }, 'bad_field'],
            [{ ground_rules: ['x'.repeat(201)] }, 'text_too_long'],
            [{ ground_rules: ['é'.repeat(201)] }, 'text_too_long'],
            [{ ground_rules: ['   '] }, 'text_empty'],
            [{ ground_rules: [''] }, 'text_empty'],
            [{ ground_rules: ['deux\nlignes'] }, 'bad_field'],
            [{ ground_rules: ['tab\there'] }, 'bad_field'],
            [{ ground_rules: ['c1\u0085control'] }, 'bad_field'],
            [{ ground_rules: [42] }, 'bad_field'],
            [{ ground_rules: [null] }, 'bad_field'],
            [{ ground_rules: 'écoute' }, 'bad_field'],
            [{ ground_rules: { a: 'b' } }, 'bad_field'],
            // A valid change with a bad one: neither is applied.
            [{ retention: 'keep', budgets: { topic: 0 } }, 'bad_field'],
            [{ retention: 'keep', ground_rules: ['x'.repeat(300)] }, 'text_too_long'],
            [{ format: 45, ground_rules: 'x' }, 'bad_field'],
            [{}, 'missing_field'],
            [{ format: null, budgets: null }, 'missing_field'],
        ];
        for (const [body, code] of bad) {
            const res = await settings(srv, g, g.member_key, body);
            refused(res, 400, code, JSON.stringify(body).slice(0, 80));
            assert.ok(res.body.error.message.length > 10, 'a sentence says what is allowed');
        }
        const after = (await settings(srv, g, g.member_key, { warn_before_s: 60 })).body.group;
        assert.deepEqual(after, before, 'nothing changed');
        // The bounds themselves are accepted.
        const edge = await settings(srv, g, g.member_key, { format: 45, budgets: { opening: 240, consultation: 1 } });
        assert.equal(edge.status, 200, edge.text);
        assert.equal(edge.body.group.budgets.opening, 240);
        assert.equal(edge.body.group.budgets.topic, 3, 'the other steps: the 45-minute defaults');
        const eight = Array.from({ length: 8 }, (_, i) => `règle ${i} ${'é'.repeat(190)}`);
        const full = await settings(srv, g, g.member_key, { ground_rules: eight });
        assert.equal(full.status, 200, full.text);
        assert.deepEqual(full.body.group.ground_rules, eight);
    } finally {
        await srv.stop();
    }
});

test('settings and removals take from the facilitator\'s write budget (http_writes_per_min): 429 with Retry-After beyond', async () => {
    const srv = await startServer({ args: ['--set', 'http_writes_per_min=3'] });
    try {
        const g = await createGroup(srv.url);
        const lea = await joinGroup(srv.url, g.group_id, g.invite_code, 'Léa');
        for (let i = 0; i < 2; i++) assert.equal((await settings(srv, g, g.member_key, { warn_before_s: 30 + i })).status, 200);
        assert.equal((await api(srv.url, 'DELETE', `/api/groups/${g.group_id}/members/${lea.member_id}`, { key: g.member_key })).status, 200);
        const over = await settings(srv, g, g.member_key, { warn_before_s: 90 });
        refused(over, 429, 'rate_limited', 'the fourth write of the minute');
        assert.ok(Number(over.headers.get('retry-after')) >= 1);
        // A refusal for the role costs nothing: the key is checked first.
        const other = await createGroup(srv.url);
        const k = await joinGroup(srv.url, other.group_id, other.invite_code, 'Karim');
        for (let i = 0; i < 5; i++) refused(await settings(srv, other, k.member_key, { warn_before_s: 0 }), 403, 'not_facilitator', 'a consultant');
        assert.equal((await settings(srv, other, other.member_key, { warn_before_s: 0 })).status, 200);
    } finally {
        await srv.stop();
    }
});

test('a member removed between sessions: key and invite dead, their sockets closed, the others told; refused during a session', async () => {
    const srv = await startServer();
    let srv2 = null;
    try {
        const g = await createGroup(srv.url);
        const lea = await joinGroup(srv.url, g.group_id, g.invite_code, 'Léa');
        const marc = await joinGroup(srv.url, g.group_id, g.invite_code, 'Marc');
        const draft = rnd('léa-draft');
        const base = `/api/groups/${g.group_id}`;
        assert.equal((await api(srv.url, 'POST', `${base}/draft`, { key: lea.member_key, body: { text: draft } })).status, 200);
        assert.equal((await api(srv.url, 'POST', `${base}/rota`, { key: g.member_key, body: { rota: [{ client: lea.member_id, facilitator: marc.member_id }] } })).status, 200);
        const F = await connectMember(srv, g.group_id, g, 'Claire');
        const L = await connectMember(srv, g.group_id, lea, 'Léa');
        const M = await connectMember(srv, g.group_id, marc, 'Marc');

        const del = (key, id) => api(srv.url, 'DELETE', `${base}/members/${id}`, { key, schema: 'member_remove_response' });
        refused(await del(marc.member_key, lea.member_id), 403, 'not_facilitator', 'a consultant removes');
        refused(await del(undefined, lea.member_id), 401, 'unauthorized', 'no key');
        refused(await del(g.member_key, g.member_id), 400, 'bad_target', 'the facilitator removes themselves');
        refused(await del(g.member_key, randomUUID()), 400, 'unknown_member', 'an unknown member');
        refused(await api(srv.url, 'DELETE', `${base}/members/not-a-uuid`, { key: g.member_key }), 404, 'not_found', 'not a UUID');
        refused(await api(srv.url, 'DELETE', `${base}/members/${lea.member_id}x`, { key: g.member_key }), 404, 'not_found', 'a UUID and more');
        refused(await api(srv.url, 'POST', `${base}/members/${lea.member_id}`, { key: g.member_key, body: {} }), 405, 'method_not_allowed', 'POST');
        assert.ok(holds(storeBytes(srv.dataDir), draft), 'the draft is on disk before');

        const res = await del(g.member_key, lea.member_id);
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.schemaErrors, []);
        assert.equal(res.body.removed, lea.member_id);
        const err = await L.next((m) => m.type === 'error');
        assert.equal(err.code, 'member_removed');
        assert.equal((await L.closed).code, 4001);
        for (const c of [F, M]) assert.equal((await c.next((m) => m.type === 'group_member_removed')).member_id, lea.member_id);

        refused(await api(srv.url, 'GET', base, { key: lea.member_key }), 401, 'member_removed', 'the removed key');
        refused(await api(srv.url, 'POST', `${base}/members`, { body: { invite_code: g.invite_code, display_name: 'Léa encore' } }), 403, 'bad_invite', 'the old invite');
        const again = await Client.connect(srv.wsUrl);
        assert.equal((await again.hello(g.group_id, lea.member_key)).code, 'member_removed');
        await again.close();
        const group = await api(srv.url, 'GET', base, { key: g.member_key, schema: 'group' });
        assert.deepEqual(group.body.members.map((m) => m.name).sort(), ['Claire', 'Marc']);
        const between = await api(srv.url, 'GET', `${base}/between`, { key: g.member_key, schema: 'between' });
        assert.equal(between.body.rota[0].client, null, 'the rota no longer names her');
        assert.equal(between.body.rota[0].facilitator.id, marc.member_id);
        assert.ok(!holds(storeBytes(srv.dataDir), draft), 'her private draft is gone from the disk');
        refused(await del(g.member_key, lea.member_id), 400, 'unknown_member', 'removed twice');

        // During a session, removal is the session's (member_remove).
        await F.ok({ type: 'session_open' });
        const opened = await M.next((m) => m.type === 'session_opened');
        assert.ok(!opened.room.members.some((m) => m.id === lea.member_id), 'she is not in the new room');
        refused(await del(g.member_key, marc.member_id), 409, 'session_open', 'during a session');

        for (const c of [F, M]) await c.close();
        await srv.stop({ keepData: true });
        srv2 = await startServer({ dataDir: srv.dataDir });
        refused(await api(srv2.url, 'GET', base, { key: lea.member_key }), 401, 'member_removed', 'after a restart');
        refused(await api(srv2.url, 'POST', `${base}/members`, { body: { invite_code: g.invite_code, display_name: 'Léa' } }), 403, 'bad_invite', 'the old invite after a restart');
    } finally {
        if (srv2) await srv2.stop();
        await srv.stop();
        rmSync(srv.dataDir, { recursive: true, force: true });
    }
});

test('the join page preview: given the invite code, the group\'s name and its facilitator\'s only; a wrong code is bad_invite and costs the keyless budget', async () => {
    const srv = await startServer({ args: ['--set', 'http_anon_per_min=6'] });
    try {
        // Group set-up from 127.0.0.1 (creations and joins are keyless too).
        const g = await createGroup(srv.url, { name: 'Managers Lyon', facilitator_name: 'Claire' });
        const lea = await joinGroup(srv.url, g.group_id, g.invite_code, 'Léa');
        const path1 = `/api/groups/${g.group_id}/preview`;
        const ok = await api(srv.url, 'GET', path1, { headers: { Authorization: `Invite ${g.invite_code}` }, schema: 'preview' });
        assert.equal(ok.status, 200, ok.text);
        assert.deepEqual(ok.schemaErrors, []);
        assert.deepEqual(ok.body, { group_id: g.group_id, name: 'Managers Lyon', facilitator_name: 'Claire' }, 'nothing else');

        // From another address: each call takes from that address's keyless budget.
        const from = '127.0.0.2';
        const wrong = [
            {},
            { Authorization: 'Invite ' },
            { Authorization: `Invite ${'A'.repeat(22)}` },
            { Authorization: `Bearer ${lea.member_key}` }, // a member key is not an invite
            { Authorization: `Invite ${g.invite_code}x` },
            { Authorization: `Invite ${g.invite_code.slice(1)}A` },
        ];
        for (const headers of wrong) {
            const res = await request(srv, 'GET', path1, { headers, from });
            assert.equal(res.status, 403, `${JSON.stringify(headers)}: ${res.text}`);
            assert.equal(res.body.error.code, 'bad_invite');
            assert.ok(!res.text.includes('Managers') && !res.text.includes('Claire'), 'nothing of the group');
        }
        // The seventh call of the minute from that address: spent, even with the right code.
        const spent = await request(srv, 'GET', path1, { headers: { Authorization: `Invite ${g.invite_code}` }, from });
        assert.equal(spent.status, 429, spent.text);
        assert.equal(spent.body.error.code, 'rate_limited');
        assert.ok(Number(spent.headers['retry-after']) >= 1);
        // A member with a valid key from that address is still served.
        const member = await request(srv, 'GET', `/api/groups/${g.group_id}`, { headers: { Authorization: `Bearer ${lea.member_key}` }, from });
        assert.equal(member.status, 200, member.text);

        // From a third address: a rotated code is dead, an unknown group is 404, another method 405.
        const from3 = '127.0.0.3';
        const inv = await api(srv.url, 'POST', `/api/groups/${g.group_id}/invite`, { key: g.member_key, body: {}, schema: 'invite_response' });
        const old = await request(srv, 'GET', path1, { headers: { Authorization: `Invite ${g.invite_code}` }, from: from3 });
        assert.equal(old.status, 403, old.text);
        const fresh = await request(srv, 'GET', path1, { headers: { Authorization: `Invite ${inv.body.invite_code}` }, from: from3 });
        assert.equal(fresh.status, 200, fresh.text);
        const unknown = await request(srv, 'GET', `/api/groups/${randomUUID()}/preview`, { headers: { Authorization: `Invite ${inv.body.invite_code}` }, from: from3 });
        assert.equal(unknown.status, 404, unknown.text);
        assert.equal(unknown.body.error.code, 'unknown_group');
        const post = await request(srv, 'POST', path1, { headers: { Authorization: `Invite ${inv.body.invite_code}` }, from: from3 });
        assert.equal(post.status, 405, post.text);
    } finally {
        await srv.stop();
    }
});

test('DELETE /api/groups/{id} takes everything of the group from the disk: rules, template, rota, proposals, drafts, sessions, floor balance', async () => {
    const srv = await startServer();
    try {
        const marker = rnd('grp');
        const g = await createGroup(srv.url, { name: marker });
        const k = await joinGroup(srv.url, g.group_id, g.invite_code, 'Léa');
        const base = `/api/groups/${g.group_id}`;
        const texts = {
            rule: rnd('rule'), proposal: rnd('proposal'), proposalText: rnd('proposal-text'), draft: rnd('draft'),
            link: `https://visio.example/${rnd('room')}`, checkin: rnd('checkin'), open: rnd('open-session'),
        };
        assert.equal((await settings(srv, g, g.member_key, { retention: 'keep', format: 120, budgets: { topic: 17 }, ground_rules: [texts.rule] })).status, 200);
        assert.equal((await api(srv.url, 'POST', `${base}/proposals`, { key: k.member_key, body: { title: texts.proposal, text: texts.proposalText } })).status, 201);
        assert.equal((await api(srv.url, 'POST', `${base}/draft`, { key: k.member_key, body: { text: texts.draft } })).status, 200);
        assert.equal((await api(srv.url, 'POST', `${base}/rota`, { key: g.member_key, body: { rota: [{ client: k.member_id, facilitator: g.member_id }] } })).status, 200);
        const F = await connectMember(srv, g.group_id, g, 'Claire');
        const K = await connectMember(srv, g.group_id, k, 'Léa');
        await F.ok({ type: 'session_open' });
        await K.nextEvent('session_opened');
        await K.ok({ type: 'checkin_post', text: texts.checkin });
        await F.ok({ type: 'floor_give', member_id: k.member_id }); // a floor balance row at the close
        await K.nextEvent('floor');
        await F.ok({ type: 'session_close' });
        await K.nextEvent('closed');
        // A second proposal and draft for the next session, and a session open with text in its journal.
        assert.equal((await api(srv.url, 'POST', `${base}/draft`, { key: k.member_key, body: { text: texts.draft } })).status, 200);
        await F.ok({ type: 'session_open' });
        await K.ok({ type: 'checkin_post', text: texts.open });
        // The session after it (opening a session clears the next one).
        assert.equal((await api(srv.url, 'POST', `${base}/next-session`, { key: g.member_key, body: { date: '2031-05-06', time: '18:30', duration_min: 90, link: texts.link } })).status, 200);

        const before = storeBytes(srv.dataDir);
        for (const [name, t] of Object.entries({ ...texts, name: marker }))
            assert.ok(holds(before, t), `before the delete, ${name} is on disk`);

        const res = await api(srv.url, 'DELETE', base, { key: g.member_key, schema: 'delete_group_response' });
        assert.equal(res.status, 200, res.text);
        for (const c of [F, K]) {
            assert.equal((await c.next((m) => m.type === 'error')).code, 'group_deleted');
            assert.equal((await c.closed).code, 4003);
        }
        const after = storeBytes(srv.dataDir);
        for (const [name, t] of Object.entries({ ...texts, name: marker, group_id: g.group_id, member: k.member_id }))
            assert.ok(!holds(after, t), `after the delete, ${name} "${t}" is gone from the database, its WAL and its shm`);
        refused(await api(srv.url, 'GET', `${base}/preview`, { headers: { Authorization: `Invite ${g.invite_code}` } }), 404, 'unknown_group', 'no preview of a deleted group');
    } finally {
        await srv.stop();
        rmSync(srv.dataDir, { recursive: true, force: true });
    }
});
