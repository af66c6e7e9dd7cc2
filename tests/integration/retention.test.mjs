// Retention (DESIGN.md section 5): under "personal", once a session closed,
// the raw bytes of the SQLite database and its WAL no longer hold the text
// of group-visible cards, while the client's record and each member's
// learnings and notes are intact and exportable; under "keep", the group
// keeps full minutes. Every text is a distinctive random string.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer } from '../lib/server.mjs';
import { api, storeBytes, holds } from './lib/client.mjs';
import { setupGroup, advance, settle, closeAll, assertAllClean } from './lib/scenario.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rnd = (label) => `${label}-${randomBytes(8).toString('hex')}`;

async function cardId(c, text, ms = 3000) {
    for (const until = Date.now() + ms; Date.now() < until; await sleep(10))
        for (const card of c.cards.values()) if (card.text === text) return card.id;
    throw new Error(`${c.name} never saw a card "${text}"`);
}

/**
 * Runs one consultation where every card has a random text. Returns the
 * texts that are group-visible only (gone under personal), the client's
 * record, and each person's learnings and notes. Stops before the close.
 */
async function runSession(g) {
    const { F, C, K, O } = g;
    const t = {
        shared: {}, // group-visible, nobody's own record
        record: {}, // the client's record
        learnings: new Map(),
        notes: new Map(),
    };
    t.shared.checkin = rnd('checkin');
    await K[0].ok({ type: 'checkin_post', text: t.shared.checkin });
    await advance(g, 'topic');
    t.shared.topic = rnd('topic');
    await K[1].ok({ type: 'topic_propose', text: t.shared.topic });
    await settle(g, (await F.ok({ type: 'client_assign', member_id: C.memberId })).seq);
    g.clientNamed = true;
    await advance(g, 'expose');
    t.record.problem = rnd('problem');
    await settle(g, (await C.ok({ type: 'problem_set', text: t.record.problem })).seq);
    g.problem = true;
    await advance(g, 'clarification');
    t.shared.question = rnd('question');
    await K[0].ok({ type: 'question_ask', text: t.shared.question });
    t.shared.answer = rnd('answer');
    await C.ok({ type: 'question_answer', card_id: await cardId(C, t.shared.question), text: t.shared.answer });
    t.shared.flagged = rnd('advice');
    await K[2].ok({ type: 'question_ask', text: t.shared.flagged });
    await F.ok({ type: 'question_flag', card_id: await cardId(F, t.shared.flagged), flagged: true });
    await advance(g, 'contract');
    t.shared.reformulation = rnd('reformulation');
    await K[1].ok({ type: 'reformulation_post', text: t.shared.reformulation });
    t.record.contract = rnd('contract');
    await C.ok({ type: 'contract_set', text: t.record.contract });
    let last;
    for (const k of K) last = await k.ok({ type: 'contract_ack' });
    await settle(g, last.seq);
    g.contract = true;
    await advance(g, 'consultation');
    t.record.contributions = K.map(() => rnd('contribution'));
    for (const [i, k] of K.entries())
        await k.ok({ type: 'contribution_post', kind: ['suggestion', 'experience', 'feeling'][i], text: t.record.contributions[i] });
    await C.ok({ type: 'mark_set', card_id: await cardId(C, t.record.contributions[1]), marked: true });
    for (const who of g.everyone) {
        t.notes.set(who, rnd(`note-${who.tag}`));
        await who.ok({ type: 'note_post', text: t.notes.get(who) });
    }
    await advance(g, 'synthesis');
    t.record.action = rnd('action');
    await C.ok({ type: 'action_add', text: t.record.action });
    t.shared.removedAction = rnd('removed-action');
    await C.ok({ type: 'action_add', text: t.shared.removedAction });
    await C.ok({ type: 'action_remove', card_id: await cardId(C, t.shared.removedAction) });
    await advance(g, 'learning');
    for (const who of [F, C, ...K]) {
        t.learnings.set(who, rnd(`learning-${who.tag}`));
        await who.ok({ type: 'learning_post', dimension: 'content', text: t.learnings.get(who) });
    }
    assert.ok(O, 'the observer takes notes too');
    return t;
}

async function journal(srv, g, who) {
    const res = await api(srv.url, 'GET', `/api/groups/${g.groupId}/journal`, { key: who.key, schema: 'journal' });
    assert.equal(res.status, 200, `${who.name}: ${res.text}`);
    assert.deepEqual(res.schemaErrors, []);
    return res.body;
}

/** Every member's journal holds their learnings and notes; the client's its record. */
async function assertJournals(srv, g, t) {
    for (const who of g.everyone) {
        const j = await journal(srv, g, who);
        assert.deepEqual(j.notes.map((n) => n.text), [t.notes.get(who)], `${who.name}'s note`);
        assert.deepEqual(j.learnings.map((l) => l.text), t.learnings.has(who) ? [t.learnings.get(who)] : [], `${who.name}'s learning`);
    }
    const c = await journal(srv, g, g.C);
    assert.equal(c.cases.length, 1);
    assert.equal(c.cases[0].problem, t.record.problem);
    assert.equal(c.cases[0].contract, t.record.contract);
    assert.deepEqual(c.cases[0].contributions.map((x) => [x.text, x.marked]),
        t.record.contributions.map((x, i) => [x, i === 1]));
    assert.deepEqual(c.plans.map((p) => p.text), [t.record.action]);
}

test('personal: after the close, the database and its WAL hold no group-visible text; every journal is intact', async () => {
    const srv = await startServer();
    try {
        const g = await setupGroup(srv);
        const t = await runSession(g);
        const sessionId = g.F.room.session_id;

        // While the session is open, every acknowledged card is on disk
        // (which also shows that the byte search finds them).
        const before = storeBytes(srv.dataDir);
        for (const [name, text] of Object.entries(t.shared))
            assert.ok(holds(before, text), `before the close, ${name} is on disk`);

        const close = await g.F.ok({ type: 'session_close' });
        await settle(g, close.seq);

        const after = storeBytes(srv.dataDir);
        for (const [name, text] of Object.entries(t.shared))
            assert.ok(!holds(after, text), `after the close, ${name} "${text}" is gone from the database and the WAL`);
        for (const text of [t.record.problem, t.record.contract, t.record.action, ...t.record.contributions,
            ...t.notes.values(), ...t.learnings.values()])
            assert.ok(holds(after, text), `what people keep is still on disk: ${text}`);

        await assertJournals(srv, g, t);
        const minutes = await api(srv.url, 'GET', `/api/groups/${g.groupId}/sessions/${sessionId}/minutes`, { key: g.K[0].key });
        assert.equal(minutes.status, 404, minutes.text);
        assert.deepEqual(minutes.schemaErrors, []);

        // A restart changes nothing: the deleted text does not come back.
        await closeAll(g);
        await srv.stop({ keepData: true });
        const again = await startServer({ dataDir: srv.dataDir });
        try {
            const bytes = storeBytes(srv.dataDir);
            for (const text of Object.values(t.shared)) assert.ok(!holds(bytes, text), `still gone after a restart: ${text}`);
            await assertJournals(again, g, t);
        } finally {
            await again.stop();
        }
        assertAllClean(g);
    } finally {
        await srv.stop().catch(() => {});
    }
});

test('keep: the group keeps full minutes of the session, and every journal too', async () => {
    const srv = await startServer();
    try {
        const g = await setupGroup(srv);
        const set = await api(srv.url, 'POST', `/api/groups/${g.groupId}/settings`,
            { key: g.F.key, body: { retention: 'keep' }, schema: 'settings_response' });
        assert.equal(set.status, 200, set.text);
        const t = await runSession(g);
        const sessionId = g.F.room.session_id;
        const close = await g.F.ok({ type: 'session_close' });
        await settle(g, close.seq);

        const bytes = storeBytes(srv.dataDir);
        for (const [name, text] of Object.entries(t.shared)) assert.ok(holds(bytes, text), `kept: ${name}`);
        await assertJournals(srv, g, t);

        const res = await api(srv.url, 'GET', `/api/groups/${g.groupId}/sessions/${sessionId}/minutes`,
            { key: g.O.key, schema: 'minutes' });
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.schemaErrors, []);
        const texts = res.body.cards.map((c) => c.text);
        for (const name of ['checkin', 'topic', 'question', 'flagged', 'reformulation'])
            assert.ok(texts.includes(t.shared[name]), `the minutes hold the ${name}`);
        assert.ok(res.body.cards.find((c) => c.text === t.shared.flagged).flagged);
        assert.equal(res.body.cards.find((c) => c.text === t.shared.question).answer, t.shared.answer);
        assert.ok(!texts.includes(t.shared.removedAction), 'a removed action is not in the minutes');
        for (const note of t.notes.values()) assert.ok(!res.text.includes(note), 'no private note in the minutes');
        assert.equal(res.body.consultations[0].problem, t.record.problem);
        assert.equal(res.body.consultations[0].contract, t.record.contract);
        assertAllClean(g);
        await closeAll(g);
    } finally {
        await srv.stop();
    }
});

test('a private note after the close is refused with session_closed and never reaches the disk', async () => {
    const srv = await startServer();
    try {
        const g = await setupGroup(srv);
        const t = await runSession(g);
        const close = await g.F.ok({ type: 'session_close' });
        await settle(g, close.seq);

        const late = rnd('late-note');
        for (const who of g.everyone)
            await who.refused({ type: 'note_post', text: `${late}-${who.tag}` }, 'session_closed');
        // A barrier: an export reads what the writer committed before it.
        await assertJournals(srv, g, t);
        const bytes = storeBytes(srv.dataDir);
        assert.ok(!holds(bytes, late), 'no note written after the close is on disk');
        assertAllClean(g);
        await closeAll(g);
    } finally {
        await srv.stop();
    }
});
