// Issue 12, the synthesis and the role labels, over real WebSockets and
// HTTP: the client writes "ce que je retiens" (retain_set: the client
// only, in synthesis, long text limit, rewrites) and action items with a
// "premier pas" (action_add's first_step, 120 characters); both are seen
// by everyone, survive a restart, reach the exports (journal, minutes)
// and the next session's debrief. Each member chooses the form of their
// role labels (form: n / f / m) at creation, at join and later with POST
// …/members/me; it is in every member object and survives a restart.
// Every message is checked against proto/schema by the client library.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer } from '../lib/server.mjs';
import { setupGroup, advance, reconnect, settle, closeAll, assertAllClean, connectMember } from './lib/scenario.mjs';
import { api, createGroup, getGroup } from './lib/client.mjs';

/** Stops srv keeping its data, starts a new server on the same data dir. */
async function restart(srv, args) {
    await srv.stop({ keepData: true });
    return startServer({ dataDir: srv.dataDir, args });
}

/** The welcome member c gets after a fresh hello. */
async function welcomeOf(srv, c) {
    const back = await reconnect(srv, c);
    const w = back.welcome;
    await back.close();
    return w;
}

async function getText(srv, path, key) {
    const res = await fetch(srv.url + path, { headers: key ? { Authorization: `Bearer ${key}` } : {} });
    return { status: res.status, text: await res.text() };
}

const RETAINED = 'Je n’ai pas à tout porter seul : les anciens des deux équipes peuvent faire le lien.';
const FIRST_STEP = 'Écrire à Paul et Nadia lundi matin';

test('retain_set and first_step: the client only, bounded, seen by all; they survive a restart and reach the journal, the minutes and the next debrief', async () => {
    const args = ['--set', 'rewrites_max=2'];
    let srv = await startServer({ args });
    try {
        const g = await setupGroup(srv);
        const [k0] = g.K;
        await advance(g, 'consultation');
        await g.C.refused({ type: 'retain_set', text: 'Trop tôt' }, 'client_muted');
        const posted = await k0.ok({ type: 'contribution_post', kind: 'suggestion', text: 'Des binômes anciens / nouveaux' });
        await settle(g, posted.seq, [g.C]);
        const contribution = g.C.received((m) => m.type === 'card_added').pop().card.id;
        await g.C.ok({ type: 'mark_set', card_id: contribution, marked: true });
        await advance(g, 'synthesis');

        // Who may write it, and its limits.
        await k0.refused({ type: 'retain_set', text: 'Pas le mien' }, 'not_your_role');
        await g.F.refused({ type: 'retain_set', text: 'Pas le mien' }, 'not_your_role');
        await g.O.refused({ type: 'retain_set', text: 'Pas le mien' }, 'observer_read_only');
        await g.C.refused({ type: 'retain_set', text: ' \n ' }, 'text_empty', { unchecked: true });
        await g.C.refused({ type: 'retain_set', text: 'é'.repeat(4001) }, 'text_too_long', { unchecked: true });
        await g.C.refused({ type: 'retain_set' }, 'missing_field', { unchecked: true });
        await g.C.refused({ type: 'retain_set', text: 42 }, 'bad_field', { unchecked: true });

        // Written, seen by everyone (the observer too), rewritten within rewrites_max.
        const first = await g.C.ok({ type: 'retain_set', text: 'Premier jet' });
        await settle(g, first.seq);
        for (const c of g.everyone) {
            const ev = c.received((m) => m.type === 'retained').pop();
            assert.equal(ev.text, 'Premier jet', c.name);
            assert.equal(ev.consultation, 0);
            assert.equal(ev.seq, first.seq);
        }
        await g.C.refused({ type: 'retain_set', text: 'Premier jet' }, 'already_done');
        await g.C.ok({ type: 'retain_set', text: 'Deuxième jet' });
        const last = await g.C.ok({ type: 'retain_set', text: RETAINED });
        await g.C.refused({ type: 'retain_set', text: 'Encore une fois' }, 'too_many_rewrites');
        await settle(g, last.seq);

        // Action items: the first step is optional and bounded (120 characters).
        await g.C.refused({ type: 'action_add', text: 'Trop long', first_step: 'é'.repeat(121) }, 'text_too_long', { unchecked: true });
        await g.C.refused({ type: 'action_add', text: 'Mauvais type', first_step: 7 }, 'bad_field', { unchecked: true });
        await k0.refused({ type: 'action_add', text: 'Le mien', first_step: 'x' }, 'not_your_role');
        const a1 = await g.C.ok({ type: 'action_add', text: 'Proposer des binômes', due: 'fin octobre', first_step: FIRST_STEP });
        const a2 = await g.C.ok({ type: 'action_add', text: 'Relire le contrat', first_step: 'é'.repeat(120) });
        const a3 = await g.C.ok({ type: 'action_add', text: 'Sans premier pas', first_step: '' });
        await settle(g, a3.seq);
        for (const c of g.everyone) {
            const cards = c.received((m) => m.type === 'card_added' && m.card.type === 'action').map((m) => m.card);
            assert.deepEqual(cards.map((x) => x.first_step), [FIRST_STEP, 'é'.repeat(120), null], c.name);
            assert.equal(cards[0].due, 'fin octobre');
        }
        assert.ok(a1.seq < a2.seq);
        assert.equal(g.F.welcome.limits.first_step_max_chars, 120);

        // A restart mid-session: the journal replays both.
        await closeAll(g);
        srv = await restart(srv, args);
        for (const c of [g.F, k0, g.O]) {
            const room = (await welcomeOf(srv, c)).room;
            assert.equal(room.consultations[0].retained, RETAINED, c.name);
            const actions = room.cards.filter((x) => x.type === 'action');
            assert.deepEqual(actions.map((x) => x.first_step), [FIRST_STEP, 'é'.repeat(120), null], c.name);
        }
        // The client's own view after the restart: the mark is still theirs.
        const asC = (await welcomeOf(srv, g.C)).room;
        assert.equal(asC.cards.find((x) => x.id === contribution).marked, true);

        // The group keeps minutes; then the session closes.
        const F = await reconnect(srv, g.F);
        const C = await reconnect(srv, g.C);
        const set = await api(srv.url, 'POST', `/api/groups/${g.groupId}/settings`, { key: g.F.key, body: { retention: 'keep' }, schema: 'settings_response' });
        assert.equal(set.status, 200, set.text);
        const sessionId = F.welcome.room.session_id;
        const close = await F.ok({ type: 'session_close' });
        await C.waitSeq(close.seq);

        // The client's journal: what they retained, and the plan with its first steps.
        const j = await api(srv.url, 'GET', `/api/groups/${g.groupId}/journal`, { key: g.C.key, schema: 'journal' });
        assert.equal(j.status, 200, j.text);
        assert.deepEqual(j.schemaErrors, []);
        assert.equal(j.body.cases[0].retained, RETAINED);
        assert.deepEqual(j.body.plans.map((p) => p.first_step), [FIRST_STEP, 'é'.repeat(120), null]);
        // A consultant's journal holds neither.
        const jk = await api(srv.url, 'GET', `/api/groups/${g.groupId}/journal`, { key: k0.key, schema: 'journal' });
        assert.ok(!jk.text.includes(RETAINED) && !jk.text.includes(FIRST_STEP));
        for (const format of ['md', 'html']) {
            const res = await getText(srv, `/api/groups/${g.groupId}/journal?format=${format}`, g.C.key);
            assert.equal(res.status, 200);
            assert.ok(res.text.includes('Ce que je retiens'), `${format}: the label`);
            assert.ok(res.text.includes('premier pas'), `${format}: the first step's label`);
            assert.ok(res.text.includes('Paul et Nadia lundi matin'), `${format}: the first step`);
            assert.ok(res.text.includes('les anciens des deux équipes'), `${format}: what the client retained`);
        }
        // The minutes (kept): the same, as the room and as text.
        const mins = await api(srv.url, 'GET', `/api/groups/${g.groupId}/sessions/${sessionId}/minutes`, { key: k0.key, schema: 'minutes' });
        assert.equal(mins.status, 200, mins.text);
        assert.deepEqual(mins.schemaErrors, []);
        assert.equal(mins.body.consultations[0].retained, RETAINED);
        assert.equal(mins.body.cards.find((x) => x.type === 'action').first_step, FIRST_STEP);
        const md = await getText(srv, `/api/groups/${g.groupId}/sessions/${sessionId}/minutes?format=md`, k0.key);
        assert.ok(md.text.includes('Paul et Nadia lundi matin') && md.text.includes('les anciens des deux équipes'));

        // The next session: the client debriefs the plan, first step shown.
        await F.ok({ type: 'session_open' });
        const opened = await C.nextEvent('session_opened');
        const debriefs = opened.room.debriefs;
        assert.deepEqual(debriefs.map((d) => d.first_step), [FIRST_STEP, 'é'.repeat(120), null]);
        // And it survives a restart (the journal's debrief rows carry it).
        await Promise.all([F.close(), C.close()]);
        srv = await restart(srv, args);
        const again = (await welcomeOf(srv, g.C)).room.debriefs;
        assert.deepEqual(again.map((d) => d.first_step), [FIRST_STEP, 'é'.repeat(120), null]);
        F.assertClean();
        C.assertClean();
        assertAllClean(g);
    } finally {
        await srv.stop().catch(() => {});
        rmSync(srv.dataDir, { recursive: true, force: true });
    }
});

test('role labels: each member chooses a form (n, f, m) at creation, at join and with POST members/me; every member object carries it; it survives a restart', async () => {
    let srv = await startServer();
    try {
        const created = await createGroup(srv.url, { facilitator_name: 'Claire', form: 'f' });
        const gid = created.group_id;
        const join = (name, form) => api(srv.url, 'POST', `/api/groups/${gid}/members`,
            { body: { invite_code: created.invite_code, display_name: name, ...(form === undefined ? {} : { form }) }, schema: 'join_response' });
        // A bad form creates nothing.
        for (const form of ['x', 'F', '', 12, true]) {
            const res = await join('Bad', form);
            assert.equal(res.status, 400, `${JSON.stringify(form)}: ${res.text}`);
            assert.equal(res.body.error.code, 'bad_field');
        }
        const bad = await api(srv.url, 'POST', '/api/groups', { body: { name: 'G', facilitator_name: 'F', language: 'fr', format: 90, form: 'z' } });
        assert.equal(bad.status, 400);
        assert.equal(bad.body.error.code, 'bad_field');
        const karim = (await join('Karim', 'm')).body;
        const lea = (await join('Léa', null)).body;
        const sam = (await join('Sam')).body;
        let group = await getGroup(srv.url, gid, created.member_key);
        assert.deepEqual(group.members.map((m) => [m.name, m.form]), [['Claire', 'f'], ['Karim', 'm'], ['Léa', 'n'], ['Sam', 'n']]);

        const F = await connectMember(srv, gid, created, 'Claire');
        const K = await connectMember(srv, gid, karim, 'Karim');
        const L = await connectMember(srv, gid, lea, 'Léa');
        assert.equal(F.welcome.you.form, 'f');
        assert.equal(K.welcome.you.form, 'm');
        assert.equal(L.welcome.you.form, 'n');

        // A change with no session open: saved, answered, told to the group's sockets.
        const me = (key, body) => api(srv.url, 'POST', `/api/groups/${gid}/members/me`, { key, body, schema: 'member_me_response' });
        let res = await me(lea.member_key, { form: 'f' });
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.schemaErrors, []);
        assert.equal(res.body.member.id, lea.member_id);
        assert.equal(res.body.member.form, 'f');
        for (const c of [F, K, L]) assert.equal((await c.nextEvent('member_updated')).member.form, 'f', c.name);
        // Refusals: no key, a wrong key, no form, a bad form, GET.
        assert.equal((await me(undefined, { form: 'm' })).status, 401);
        assert.equal((await me('AAAAAAAAAAAAAAAAAAAAAA', { form: 'm' })).status, 401);
        res = await me(lea.member_key, {});
        assert.equal(res.status, 400);
        assert.equal(res.body.error.code, 'missing_field');
        for (const form of ['feminine', 1, null]) {
            res = await me(lea.member_key, { form });
            assert.equal(res.status, 400, JSON.stringify(form));
        }
        assert.equal((await api(srv.url, 'GET', `/api/groups/${gid}/members/me`, { key: lea.member_key })).status, 405);
        group = await getGroup(srv.url, gid, sam.member_key);
        assert.equal(group.members.find((m) => m.id === lea.member_id).form, 'f', 'the refusals changed nothing');

        // In a session: the snapshot's members, and a change there.
        await F.ok({ type: 'session_open' });
        const opened = await K.nextEvent('session_opened');
        assert.deepEqual(opened.room.members.map((m) => [m.name, m.form]), [['Claire', 'f'], ['Karim', 'm'], ['Léa', 'f'], ['Sam', 'n']]);
        await L.nextEvent('session_opened');
        res = await me(karim.member_key, { form: 'n' });
        assert.equal(res.status, 200);
        assert.equal(res.body.member.role, 'consultant');
        for (const c of [F, K, L]) assert.equal((await c.nextEvent('member_updated')).member.form, 'n', c.name);
        const fresh = (await welcomeOf(srv, L)).room.members.find((m) => m.id === karim.member_id);
        assert.equal(fresh.form, 'n', 'a new snapshot has the change');
        // A member who joins during the session: member_joined carries the form.
        const zoe = (await join('Zoé', 'f')).body;
        const joined = await F.nextEvent('member_joined');
        assert.equal(joined.member.id, zoe.member_id);
        assert.equal(joined.member.form, 'f');

        // After a restart: the open room and the group both.
        await Promise.all([F.close(), K.close(), L.close()]);
        srv = await restart(srv);
        const w = (await welcomeOf(srv, { groupId: gid, memberId: lea.member_id, key: lea.member_key, displayName: 'Léa' }));
        assert.equal(w.you.form, 'f');
        assert.deepEqual(w.room.members.map((m) => [m.name, m.form]),
            [['Claire', 'f'], ['Karim', 'n'], ['Léa', 'f'], ['Sam', 'n'], ['Zoé', 'f']]);
        group = await getGroup(srv.url, gid, created.member_key);
        assert.deepEqual(group.members.map((m) => m.form), ['f', 'n', 'f', 'n', 'f']);
        F.assertClean();
        K.assertClean();
        L.assertClean();
    } finally {
        await srv.stop().catch(() => {});
        rmSync(srv.dataDir, { recursive: true, force: true });
    }
});
