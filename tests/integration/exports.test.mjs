// Exports over HTTP after a real session run over WebSockets: each member's
// journal (JSON, Markdown, printable HTML) holds what is theirs and nothing
// of anyone else's; the client's holds the case and the action plan; the
// history is the facilitator's, with planned and actual durations; minutes
// exist only under retention "keep"; the retention setting is the
// facilitator's and is broadcast as group_updated. Every JSON body is
// checked against proto/schema/http.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { startServer } from '../lib/server.mjs';
import { api, createGroup } from './lib/client.mjs';
import { setupGroup, advance, settle, closeAll, assertAllClean, TEXT } from './lib/scenario.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** What the HTML export makes of a text: & < > " ' as entities. */
const htmlEscape = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** The id of the card with this text, once client c has seen it. */
async function cardId(c, text, ms = 3000) {
    for (const until = Date.now() + ms; Date.now() < until; await sleep(10))
        for (const card of c.cards.values()) if (card.text === text) return card.id;
    throw new Error(`${c.name} never saw a card "${text}"`);
}

/** GET with a member key; returns the raw response and its text. */
async function getText(srv, path, key) {
    const res = await fetch(srv.url + path, { headers: key ? { Authorization: `Bearer ${key}` } : {} });
    return { status: res.status, headers: res.headers, text: await res.text() };
}

function assertError(res, status, code, what) {
    assert.equal(res.status, status, `${what}: ${res.text}`);
    assert.deepEqual(res.schemaErrors, [], `${what}: error body schema`);
    assert.equal(res.body.error.code, code, `${what}: ${res.text}`);
}

/**
 * Runs a whole consultation with every kind of card, each text distinctive
 * (who, what, a random tag): check-in, topic, a question and its answer, a
 * reformulation, three contributions (the client marks the first), the
 * action plan, a learning from everyone who may post one and a private note
 * from everyone. The clarification clock runs a second; the facilitator
 * gives the contract two more minutes. Closes the
 * session and waits for the close ack (it comes after the commit).
 */
async function runSession(g, tag) {
    const T = (who, what) => `${what}-${who.displayName}-${tag}`;
    const { F, C, K, O } = g;
    const texts = { notes: new Map(), noteMarks: new Map(), learnings: new Map() };
    texts.checkin = T(K[0], 'checkin');
    await K[0].ok({ type: 'checkin_post', text: texts.checkin });
    await advance(g, 'topic');
    texts.topic = T(K[1], 'topic');
    await K[1].ok({ type: 'topic_propose', text: texts.topic });
    await advance(g, 'clarification');
    texts.question = T(K[0], 'question');
    await K[0].ok({ type: 'question_ask', text: texts.question });
    texts.answer = T(C, 'answer');
    await C.ok({ type: 'question_answer', card_id: await cardId(C, texts.question), text: texts.answer });
    await sleep(1100);
    await advance(g, 'contract');
    await F.ok({ type: 'timer_add', seconds: 120 });
    texts.reformulation = T(K[1], 'reformulation');
    await K[1].ok({ type: 'reformulation_post', text: texts.reformulation });
    await advance(g, 'consultation');
    texts.contributions = [
        { by: K[0], kind: 'suggestion', text: T(K[0], 'suggestion') },
        { by: K[1], kind: 'experience', text: T(K[1], 'experience') },
        { by: K[2], kind: 'feeling', text: T(K[2], 'feeling') },
    ];
    for (const c of texts.contributions) await c.by.ok({ type: 'contribution_post', kind: c.kind, text: c.text });
    await C.ok({ type: 'mark_set', card_id: await cardId(C, texts.contributions[0].text), marked: true });
    for (const who of [F, C, ...K, O]) {
        const text = who === K[2] ? `<script>alert("${tag}")</script> & 'note' ${T(who, 'note')}` : T(who, 'note');
        texts.notes.set(who, text);
        texts.noteMarks.set(who, T(who, 'note')); /* plain, in every format */
        await who.ok({ type: 'note_post', text });
    }
    await advance(g, 'synthesis');
    texts.action = T(C, 'action');
    await settle(g, (await C.ok({ type: 'action_add', text: texts.action, due: 'fin du mois' })).seq);
    await advance(g, 'learning');
    for (const [who, dimension] of [[F, 'process'], [C, 'content'], [K[0], 'content'], [K[1], 'process']]) {
        texts.learnings.set(who, T(who, 'learning'));
        await who.ok({ type: 'learning_post', dimension, text: texts.learnings.get(who) });
    }
    const close = await F.ok({ type: 'session_close' });
    await settle(g, close.seq);
    return texts;
}

describe('exports after a real session', () => {
    let srv, g, texts, sessionId;
    const tag = randomBytes(4).toString('hex');

    before(async () => {
        srv = await startServer();
        g = await setupGroup(srv);
        sessionId = g.F.room.session_id;
        texts = await runSession(g, tag);
    });
    after(async () => {
        if (g) await closeAll(g);
        await srv.stop();
    });

    const journal = (who, format, key = who.key) =>
        api(srv.url, 'GET', `/api/groups/${g.groupId}/journal${format ? `?format=${format}` : ''}`, { key, schema: 'journal' });

    test('each member\'s JSON journal holds their own learnings and notes and nobody else\'s', async () => {
        for (const who of g.everyone) {
            const res = await journal(who);
            assert.equal(res.status, 200, `${who.name}: ${res.text}`);
            assert.deepEqual(res.schemaErrors, [], `${who.name}: journal schema`);
            assert.match(res.headers.get('content-type'), /^application\/json/);
            const j = res.body;
            assert.equal(j.member.id, who.memberId);
            assert.equal(j.member.name, who.displayName);
            assert.equal(j.group.id, g.groupId);
            assert.deepEqual(j.notes.map((n) => n.text), [texts.notes.get(who)], `${who.name}: own note only`);
            assert.deepEqual(j.learnings.map((l) => l.text), texts.learnings.has(who) ? [texts.learnings.get(who)] : [],
                `${who.name}: own learning only`);
            for (const [other, mark] of texts.noteMarks)
                if (other !== who) assert.ok(!res.text.includes(mark), `${who.name}'s journal leaks ${other.name}'s note`);
            for (const [other, l] of texts.learnings)
                if (other !== who) assert.ok(!res.text.includes(l), `${who.name}'s journal holds ${other.name}'s learning`);
            for (const shared of [texts.question, texts.answer, texts.reformulation, texts.checkin, texts.topic])
                assert.ok(!res.text.includes(shared), `${who.name}'s journal holds group-visible "${shared}"`);
        }
    });

    test('the client\'s journal holds the problem, the contract, every contribution with its mark and the action plan', async () => {
        const j = (await journal(g.C, 'json')).body;
        assert.equal(j.cases.length, 1);
        const c = j.cases[0];
        assert.equal(c.session_id, sessionId);
        assert.equal(c.consultation, 0);
        assert.equal(c.problem, TEXT.problem);
        assert.equal(c.contract, TEXT.contract);
        assert.deepEqual(c.contributions.map((x) => [x.kind, x.text, x.marked]),
            texts.contributions.map((x, i) => [x.kind, x.text, i === 0]));
        assert.deepEqual(j.plans.map((p) => [p.text, p.due, p.outcome, p.debriefed, p.session_id]),
            [[texts.action, 'fin du mois', null, false, sessionId]]);
        for (const who of g.K) {
            const theirs = (await journal(who)).body;
            assert.deepEqual([theirs.cases, theirs.plans], [[], []], `${who.name} was not a client`);
        }
    });

    test('Markdown: a download named codev-journal.md with the case, the marks and the plan; others\' notes absent', async () => {
        const res = await getText(srv, `/api/groups/${g.groupId}/journal?format=md`, g.C.key);
        assert.equal(res.status, 200, res.text);
        assert.equal(res.headers.get('content-type'), 'text/markdown; charset=utf-8');
        assert.match(res.headers.get('content-disposition'), /^attachment; filename="codev-journal\.md"$/);
        const md = res.text;
        assert.match(md, /^# Journal de bord — Karim\n/);
        for (const s of [TEXT.problem, TEXT.contract, texts.action, texts.notes.get(g.C), texts.learnings.get(g.C)])
            assert.ok(md.includes(s), `the client's Markdown has "${s}"`);
        assert.ok(md.includes(`- Suggestion · **à retenir** — ${texts.contributions[0].text}\n`), md);
        assert.ok(md.includes(`- Retour d’expérience — ${texts.contributions[1].text}\n`), md);
        assert.ok(md.includes(`- ${texts.action} (échéance : fin du mois) — _bilan à faire_`), md);
        for (const [other, mark] of texts.noteMarks) if (other !== g.C) assert.ok(!md.includes(mark), `no note of ${other.name}`);
        const k0 = await getText(srv, `/api/groups/${g.groupId}/journal?format=md`, g.K[0].key);
        assert.ok(k0.text.includes(texts.notes.get(g.K[0])));
        assert.ok(!k0.text.includes(TEXT.problem), 'a consultant\'s journal has no client record');
        assert.ok(!k0.text.includes('à retenir'), 'marks are the client\'s');
    });

    test('printable HTML: escaped, no script or inline style, styled by /print.css', async () => {
        const res = await getText(srv, `/api/groups/${g.groupId}/journal?format=html`, g.C.key);
        assert.equal(res.status, 200, res.text);
        assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
        assert.match(res.headers.get('content-security-policy'), /script-src 'self'/);
        const html = res.text;
        assert.match(html, /^<!DOCTYPE html>\n<html lang="fr">/);
        assert.ok(html.includes('<link rel="stylesheet" href="/print.css">'));
        assert.ok(html.includes(htmlEscape(TEXT.problem)), 'the problem, escaped');
        assert.ok(html.includes(`<strong class="mark">à retenir</strong> — ${texts.contributions[0].text}`));
        assert.ok(!/<script|<style|\sstyle=|\son[a-z]+=/i.test(html), 'no script, no inline style, no handler');
        const css = await fetch(srv.url + '/print.css');
        assert.equal(css.status, 200);
        assert.match(css.headers.get('content-type'), /^text\/css/);

        const hostile = await getText(srv, `/api/groups/${g.groupId}/journal?format=html`, g.K[2].key);
        assert.ok(hostile.text.includes(htmlEscape(texts.notes.get(g.K[2]))), 'the hostile note, escaped');
        assert.ok(!hostile.text.includes('<script'), 'a note cannot inject a script');
    });

    test('journal: 401 without a key, with a wrong key and with a key of another group; 400 for an unknown format', async () => {
        const other = await createGroup(srv.url, { name: 'Autre groupe' });
        const path = `/api/groups/${g.groupId}/journal`;
        assertError(await api(srv.url, 'GET', path), 401, 'unauthorized', 'no key');
        assertError(await api(srv.url, 'GET', path, { key: 'q2XrT7vLpK3mN8wQz5YbHg' }), 401, 'unauthorized', 'wrong key');
        assertError(await api(srv.url, 'GET', path, { key: other.member_key }), 401, 'unauthorized', 'key of another group');
        assertError(await api(srv.url, 'GET', path, { headers: { Authorization: g.C.key } }), 401, 'unauthorized', 'no Bearer');
        for (const q of ['format=pdf', 'format=', 'format=MD', 'format=md&format=html'])
            assertError(await api(srv.url, 'GET', `${path}?${q}`, { key: g.C.key }), 400, 'bad_field', q);
        assertError(await api(srv.url, 'POST', path, { key: g.C.key, body: {} }), 405, 'method_not_allowed', 'POST');
        assertError(await api(srv.url, 'GET', `/api/groups/${randomUUID()}/journal`, { key: g.C.key }), 404, 'unknown_group', 'unknown group');
        const withOther = await api(srv.url, 'GET', `${path}?lang=en&format=json`, { key: g.C.key, schema: 'journal' });
        assert.equal(withOther.status, 200, 'other query parameters are ignored');
        assert.deepEqual(withOther.schemaErrors, []);
    });

    test('history: the facilitator\'s, with planned and actual durations and who was client and facilitator', async () => {
        const path = `/api/groups/${g.groupId}/history`;
        for (const who of [g.C, g.K[0], g.O])
            assertError(await api(srv.url, 'GET', path, { key: who.key }), 403, 'not_facilitator', who.name);
        assertError(await api(srv.url, 'GET', path), 401, 'unauthorized', 'no key');
        const res = await api(srv.url, 'GET', path, { key: g.F.key, schema: 'history' });
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.schemaErrors, []);
        const h = res.body;
        assert.equal(h.group_id, g.groupId);
        assert.equal(h.sessions.length, 1);
        const s = h.sessions[0];
        assert.equal(s.session_id, sessionId);
        assert.ok(s.closed_ms >= s.opened_ms);
        assert.equal(s.opening.planned_ms, 10 * 60000);
        assert.equal(s.consultations.length, 1);
        const c = s.consultations[0];
        assert.deepEqual(c.client, { id: g.C.memberId, name: 'Karim' });
        assert.deepEqual(c.facilitator, { id: g.F.memberId, name: 'Claire' });
        assert.equal(c.steps.clarification.planned_ms, 20 * 60000);
        assert.ok(c.steps.clarification.used_ms >= 1000 && c.steps.clarification.used_ms < 60000,
            `clarification ran about a second: ${c.steps.clarification.used_ms}`);
        assert.equal(c.steps.contract.planned_ms, 7 * 60000, 'the budget as the facilitator adjusted it');
        assert.equal(c.steps.consultation.planned_ms, 25 * 60000);
        for (const [step, t] of Object.entries(c.steps))
            assert.ok(t.used_ms < 60000, `${step} ran less than a minute: ${t.used_ms}`);
        const karim = h.members.find((m) => m.id === g.C.memberId);
        assert.deepEqual([karim.as_client, karim.as_facilitator, karim.last_client_ms], [1, 0, s.closed_ms]);
        const claire = h.members.find((m) => m.id === g.F.memberId);
        assert.deepEqual([claire.as_client, claire.as_facilitator, claire.last_client_ms], [0, 1, null]);

        const md = await getText(srv, `${path}?format=md`, g.F.key);
        assert.equal(md.headers.get('content-type'), 'text/markdown; charset=utf-8');
        assert.ok(md.text.includes('### Consultation 1 — Personne cliente : Karim · Animation : Claire\n'), md.text);
        assert.match(md.text, /\| 2\. Clarification \| 20:00 \| 0:0[1-9] \|\n/);
        assert.match(md.text, /\| 3\. Contrat \| 7:00 \| 0:0\d \|\n/);
        assert.match(md.text, /\| 4\. Consultation \| 25:00 \| 0:0\d \|\n/);
    });

    test('minutes: 404 under retention personal', async () => {
        const res = await api(srv.url, 'GET', `/api/groups/${g.groupId}/sessions/${sessionId}/minutes`, { key: g.K[0].key });
        assertError(res, 404, 'not_found', 'minutes under personal');
        assert.match(res.body.error.message, /personal/);
    });

    test('settings: refused for a consultant, checked, and broadcast as group_updated to connected members', async () => {
        const path = `/api/groups/${g.groupId}/settings`;
        assertError(await api(srv.url, 'POST', path, { key: g.K[0].key, body: { retention: 'keep' } }), 403, 'not_facilitator', 'consultant');
        assertError(await api(srv.url, 'POST', path, { key: g.C.key, body: { retention: 'keep' } }), 403, 'not_facilitator', 'client');
        assertError(await api(srv.url, 'POST', path, { body: { retention: 'keep' } }), 401, 'unauthorized', 'no key');
        assertError(await api(srv.url, 'POST', path, { key: g.F.key, body: { retention: 'forever' } }), 400, 'bad_field', 'unknown value');
        assertError(await api(srv.url, 'POST', path, { key: g.F.key, body: { retention: true } }), 400, 'bad_field', 'not a string');
        assertError(await api(srv.url, 'POST', path, { key: g.F.key, body: {} }), 400, 'missing_field', 'no retention');
        assertError(await api(srv.url, 'GET', path, { key: g.F.key }), 405, 'method_not_allowed', 'GET');
        /* Nothing changed yet: no group_updated before a barrier on each socket. */
        await Promise.all(g.everyone.map((c) => c.expectNoneAfterBarrier((m) => m.type === 'group_updated')));

        const res = await api(srv.url, 'POST', path, { key: g.F.key, body: { retention: 'keep' }, schema: 'settings_response' });
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.schemaErrors, []);
        assert.deepEqual(res.body.group, { id: g.groupId, name: 'Managers Lyon', language: 'fr', format: 90, retention: 'keep', warn_before_s: 60, display: false,
            budgets: { opening: 10, topic: 5, expose: 10, clarification: 20, contract: 5, consultation: 25, synthesis: 8, learning: 7 },
            consultations: 1, ground_rules: null });
        for (const c of g.everyone) {
            const m = await c.nextEvent('group_updated');
            assert.deepEqual(m.group, res.body.group, `${c.name} was told`);
        }
        const group = await api(srv.url, 'GET', `/api/groups/${g.groupId}`, { key: g.K[1].key, schema: 'group' });
        assert.equal(group.body.retention, 'keep');
    });

    test('minutes: under keep, a session that closed under personal still has none', async () => {
        const res = await api(srv.url, 'GET', `/api/groups/${g.groupId}/sessions/${sessionId}/minutes`, { key: g.K[0].key });
        assertError(res, 404, 'not_found', 'closed under personal');
    });

    test('minutes: under keep, a closed session\'s minutes for any member, without notes or marks', async () => {
        const opened = await g.F.ok({ type: 'session_open' });
        assert.equal(opened.type, 'ack');
        await Promise.all(g.everyone.map((c) => c.nextEvent('session_opened')));
        const keptId = g.F.room.session_id;
        assert.notEqual(keptId, sessionId);
        const minutesPath = `/api/groups/${g.groupId}/sessions/${keptId}/minutes`;
        assertError(await api(srv.url, 'GET', minutesPath, { key: g.K[0].key }), 404, 'not_found', 'session still open');
        g.step = 'opening';
        g.clientNamed = g.problem = g.contract = false;
        const kept = await runSession(g, `${tag}k`);

        for (const who of [g.K[0], g.O, g.C]) {
            const res = await api(srv.url, 'GET', minutesPath, { key: who.key, schema: 'minutes' });
            assert.equal(res.status, 200, `${who.name}: ${res.text}`);
            assert.deepEqual(res.schemaErrors, [], `${who.name}: minutes schema`);
            const room = res.body;
            assert.equal(room.session_id, keptId);
            assert.equal(room.step, 'closed');
            const cardTexts = room.cards.map((c) => c.text);
            for (const s of [kept.checkin, kept.topic, kept.question, kept.reformulation, kept.action,
                ...kept.contributions.map((c) => c.text), ...kept.learnings.values()])
                assert.ok(cardTexts.includes(s), `minutes hold "${s}"`);
            assert.equal(room.cards.find((c) => c.text === kept.question).answer, kept.answer);
            for (const mark of kept.noteMarks.values()) assert.ok(!res.text.includes(mark), `no private note: ${mark}`);
            assert.ok(room.cards.every((c) => c.type !== 'note' && c.marked !== true), 'no note, no mark');
            assert.equal(room.consultations[0].problem, TEXT.problem);
        }
        const md = await getText(srv, `${minutesPath}?format=md`, g.K[1].key);
        assert.equal(md.status, 200, md.text);
        assert.equal(md.headers.get('content-type'), 'text/markdown; charset=utf-8');
        assert.match(md.headers.get('content-disposition'), /filename="codev-minutes\.md"/);
        assert.match(md.text, /^# Compte rendu de séance — Managers Lyon\n/);
        assert.ok(md.text.includes(`- Léa — ${kept.question}\n  - **Réponse :** ${kept.answer}\n`), md.text);
        assert.ok(md.text.includes(`- Suggestion · Léa — ${kept.contributions[0].text}\n`));
        assert.ok(!md.text.includes('à retenir'));
        for (const mark of kept.noteMarks.values()) assert.ok(!md.text.includes(mark), `no private note in Markdown: ${mark}`);

        // The earlier session still has none; another group's member gets 401;
        // an unknown or malformed session id is 404.
        assertError(await api(srv.url, 'GET', `/api/groups/${g.groupId}/sessions/${sessionId}/minutes`, { key: g.K[0].key }), 404, 'not_found', 'earlier');
        assertError(await api(srv.url, 'GET', `/api/groups/${g.groupId}/sessions/${randomUUID()}/minutes`, { key: g.K[0].key }), 404, 'not_found', 'unknown');
        assertError(await api(srv.url, 'GET', `/api/groups/${g.groupId}/sessions/nope/minutes`, { key: g.K[0].key }), 404, 'not_found', 'malformed');
        const other = await createGroup(srv.url, { name: 'Autre groupe' });
        assertError(await api(srv.url, 'GET', minutesPath, { key: other.member_key }), 401, 'unauthorized', 'other group key');
        assertError(await api(srv.url, 'GET', `${minutesPath}?format=docx`, { key: g.K[0].key }), 400, 'bad_field', 'format');
        assertAllClean(g);
    });

    test('minutes of a kept session cannot be read through another group', async () => {
        const other = await createGroup(srv.url, { name: 'Autre groupe', format: 45 });
        await api(srv.url, 'POST', `/api/groups/${other.group_id}/settings`, { key: other.member_key, body: { retention: 'keep' } });
        const keptId = g.F.room.session_id;
        const res = await api(srv.url, 'GET', `/api/groups/${other.group_id}/sessions/${keptId}/minutes`, { key: other.member_key });
        assertError(res, 404, 'not_found', 'another group\'s session');
    });
});
