// The advice line in clarification (issue 13, part 2), over real WebSockets:
//   - question_check: a read-only query whose ack carries the detector's
//     verdict (advice_like, cues) at once, with no seq; nothing is
//     broadcast, nothing journaled (nothing of it survives a restart), no
//     card of the step's budget is used; its own rate limit, the text limit
//     and the rights of question_ask.
//   - the verdict of a posted question: in the card (events and snapshots)
//     for its author and the facilitator only.
//   - question_park: a private note marked parked, journaled, seen by its
//     author only, still there in consultation and after a kill -9.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer } from '../lib/server.mjs';
import { Client } from './lib/client.mjs';
import { setupGroup, advance, reconnect, settle, closeAll, assertAllClean } from './lib/scenario.mjs';

const ADVICE_FR = 'As-tu pensé à en parler à ta directrice ?';
const ADVICE_EN = "Why don't you delegate the planning to Paul?";
const CLEAN_FR = 'Depuis quand est-ce que ça dure ?';

/** Every byte of the files of dir, as latin1 text (to look for a marker). */
function dataBytes(dir) {
    let all = '';
    for (const f of readdirSync(dir, { recursive: true })) {
        try {
            all += readFileSync(path.join(dir, String(f))).toString('latin1');
        } catch { /* a folder */ }
    }
    return all;
}

/** The card with this text in a snapshot, or undefined. */
const cardIn = (room, text) => room.cards.find((c) => c.text === text);

test('question_check answers with the verdict at once: no seq, nothing broadcast, a resent id checked again', async () => {
    const srv = await startServer();
    try {
        const g = await setupGroup(srv);
        await advance(g, 'clarification');
        const [k] = g.K;
        const seqBefore = g.F.lastSeq;

        const fr = await k.ok({ type: 'question_check', text: ADVICE_FR });
        assert.equal(fr.advice_like, true);
        assert.equal(fr.seq, undefined, 'a query takes no sequence number');
        assert.equal(fr.cues.length, 1);
        assert.equal(fr.cues[0].lang, 'fr');
        assert.match(fr.cues[0].cue, /pensé/);
        const en = await k.ok({ type: 'question_check', text: ADVICE_EN });
        assert.equal(en.advice_like, true);
        assert.equal(en.cues[0].lang, 'en');
        const clean = await k.ok({ type: 'question_check', text: CLEAN_FR });
        assert.deepEqual({ ...clean, id: undefined }, { type: 'ack', id: undefined, advice_like: false, cues: [] });
        // Not in the idempotence ring: the same id is checked again, not
        // answered as a duplicate.
        const again1 = await k.ok({ type: 'question_check', id: 'same-check', text: ADVICE_FR });
        const again2 = await k.ok({ type: 'question_check', id: 'same-check', text: CLEAN_FR });
        assert.equal(again1.advice_like, true);
        assert.equal(again2.advice_like, false);
        assert.equal(again2.duplicate, undefined);

        // Nothing went to anyone, the sender included.
        for (const c of g.everyone) await c.expectNoneAfterBarrier();
        // The room's seq did not move: a fresh snapshot says so.
        const k2 = await reconnect(srv, k);
        assert.equal(k2.room.seq, seqBefore);
        assert.equal(k2.room.cards.filter((c) => c.type === 'question').length, 0);
        // A command's seq follows on directly.
        const asked = await k.ok({ type: 'question_ask', text: CLEAN_FR });
        assert.equal(asked.seq, seqBefore + 1);
        await closeAll(g, [k2]);
        assertAllClean(g, [k2]);
    } finally {
        await srv.stop();
    }
});

test('question_check costs no card of the step budget', async () => {
    const srv = await startServer({ args: ['--set', 'cards_per_step=1'] });
    try {
        const g = await setupGroup(srv);
        await advance(g, 'clarification');
        const [k] = g.K;
        for (let i = 0; i < 3; i++) assert.equal((await k.ok({ type: 'question_check', text: ADVICE_FR })).advice_like, true);
        await k.ok({ type: 'question_ask', text: CLEAN_FR });
        await k.refused({ type: 'question_ask', text: 'Et ensuite ?' }, 'too_many_cards');
        assert.equal((await k.ok({ type: 'question_check', text: 'Et ensuite ?' })).advice_like, false);
        await closeAll(g);
        assertAllClean(g);
    } finally {
        await srv.stop();
    }
});

test('question_check is not journaled: after a restart nothing of it remains, the asked question does', async () => {
    const srv = await startServer();
    let again;
    try {
        const g = await setupGroup(srv);
        await advance(g, 'clarification');
        const [k] = g.K;
        const checked = 'Zorglub-check-7f3a : pourquoi ne pas lui écrire ?';
        const asked = 'Zorglub-ask-7f3a : depuis quand ?';
        assert.equal((await k.ok({ type: 'question_check', text: checked })).advice_like, true);
        const ack = await k.ok({ type: 'question_ask', text: asked });
        await settle(g, ack.seq);
        await closeAll(g);
        assertAllClean(g);
        await srv.stop({ keepData: true }); // a clean stop: the journal is all on disk
        const bytes = dataBytes(srv.dataDir);
        assert.ok(bytes.includes('Zorglub-ask-7f3a'), 'the asked question is in the data dir (the search can find a text)');
        assert.ok(!bytes.includes('Zorglub-check-7f3a'), 'the checked text is nowhere in the data dir');

        again = await startServer({ dataDir: srv.dataDir });
        const k2 = await Client.connect(again.wsUrl, { name: 'Léa again' });
        const w = await k2.hello(g.groupId, k.key);
        assert.equal(w.room.seq, ack.seq, 'the check took no seq, before or after the restart');
        assert.ok(cardIn(w.room, asked));
        assert.equal(cardIn(w.room, checked), undefined);
        await k2.close();
        k2.assertClean();
    } finally {
        if (again) await again.stop();
        await srv.stop().catch(() => {});
    }
});

test('question_check is rate-limited per connection (question_checks_per_sec), other connections unaffected', async () => {
    const srv = await startServer();
    try {
        const g = await setupGroup(srv);
        await advance(g, 'clarification');
        const [k, other] = g.K;
        // A page that checks on every keystroke, not on a pause: 20 at once.
        const replies = await Promise.all(Array.from({ length: 20 }, (_, i) =>
            k.send({ type: 'question_check', text: `${ADVICE_FR} ${i}` })));
        const acks = replies.filter((r) => r.type === 'ack');
        const limited = replies.filter((r) => r.type === 'error');
        assert.ok(acks.length >= 5 && acks.length <= 7, `a burst of 5 (and what refilled meanwhile) is answered: ${acks.length}`);
        assert.ok(limited.length >= 13);
        for (const e of limited) assert.equal(e.code, 'rate_limited');
        // Every reply carries its own id.
        assert.equal(new Set(replies.map((r) => r.id)).size, 20);
        // Another connection has its own bucket; the limited one may still act.
        assert.equal((await other.ok({ type: 'question_check', text: ADVICE_FR })).advice_like, true);
        await k.ok({ type: 'hand_raise' });
        // The bucket refills: a check passes again once a token is back.
        let passed = false;
        for (let i = 0; i < 200 && !passed; i++) {
            const r = await k.send({ type: 'question_check', text: CLEAN_FR });
            passed = r.type === 'ack';
            if (!passed) await new Promise((res) => setTimeout(res, 50));
        }
        assert.ok(passed, 'a check passes again after the refill');
        await closeAll(g);
        assertAllClean(g);
    } finally {
        await srv.stop();
    }
});

test('question_check: the text limit and the rights of question_ask, with clear errors', async () => {
    const srv = await startServer({ args: ['--set', 'question_checks_per_sec=1000'] });
    try {
        const g = await setupGroup(srv);
        const [k] = g.K;
        await k.refused({ type: 'question_check', text: CLEAN_FR }, 'wrong_step'); // opening
        await advance(g, 'clarification');
        // The hostile texts.
        await k.refused({ type: 'question_check', text: 'é'.repeat(1001) }, 'text_too_long', { unchecked: true });
        await k.refused({ type: 'question_check', text: 'Pourquoi ne pas '.repeat(400) }, 'text_too_long', { unchecked: true });
        assert.equal((await k.ok({ type: 'question_check', text: 'é'.repeat(1000) })).advice_like, false);
        await k.refused({ type: 'question_check', text: '  \n ' }, 'text_empty');
        await k.refused({ type: 'question_check', text: '' }, 'text_empty', { unchecked: true });
        await k.refused({ type: 'question_check' }, 'missing_field', { unchecked: true });
        await k.refused({ type: 'question_check', text: 42 }, 'bad_field', { unchecked: true });
        // The roles.
        await g.F.refused({ type: 'question_check', text: CLEAN_FR }, 'not_your_role');
        await g.C.refused({ type: 'question_check', text: CLEAN_FR }, 'not_your_role');
        await g.O.refused({ type: 'question_check', text: CLEAN_FR }, 'observer_read_only');
        await advance(g, 'contract');
        await k.refused({ type: 'question_check', text: CLEAN_FR }, 'wrong_step');
        for (const c of g.everyone) await c.expectNoneAfterBarrier();
        await closeAll(g);
        assertAllClean(g);
    } finally {
        await srv.stop();
    }
});

test('question_check needs a hello and an open session', async () => {
    const srv = await startServer();
    try {
        const g = await setupGroup(srv, { open: false });
        await g.K[0].refused({ type: 'question_check', text: CLEAN_FR }, 'no_session');
        const stranger = await Client.connect(srv.wsUrl, { name: 'stranger' });
        await stranger.refused({ type: 'question_check', text: CLEAN_FR }, 'hello_required');
        await stranger.close();
        await closeAll(g);
        assertAllClean(g);
    } finally {
        await srv.stop();
    }
});

/** Asserts who sees the verdict of card (by text) in the message each client got. */
function assertVerdictMatrix(g, cards, text, seers, want) {
    for (const c of g.everyone) {
        const card = cards(c);
        assert.ok(card, `${c.name} sees the question "${text}"`);
        if (seers.includes(c)) {
            assert.equal(card.advice_like, want.advice_like, `${c.name} sees the verdict`);
            assert.equal(card.advice_cues.length, want.advice_like ? 1 : 0);
            if (want.lang) assert.equal(card.advice_cues[0].lang, want.lang);
        } else {
            assert.equal(card.advice_like, undefined, `${c.name} must not see the verdict`);
            assert.equal(card.advice_cues, undefined, `${c.name} must not see the cues`);
        }
    }
}

test('the verdict of a posted question: its author and the facilitator only, in events and in snapshots', async () => {
    const srv = await startServer();
    try {
        const g = await setupGroup(srv);
        await advance(g, 'clarification');
        const [lea, julien, sophie] = g.K;

        const a1 = await lea.ok({ type: 'question_ask', text: ADVICE_FR });
        await settle(g, a1.seq);
        const ev1 = new Map();
        for (const c of g.everyone) ev1.set(c, (await c.nextEvent('card_added')).card);
        assertVerdictMatrix(g, (c) => ev1.get(c), ADVICE_FR, [g.F, lea], { advice_like: true, lang: 'fr' });

        const a2 = await julien.ok({ type: 'question_ask', text: CLEAN_FR });
        await settle(g, a2.seq);
        const ev2 = new Map();
        for (const c of g.everyone) ev2.set(c, (await c.nextEvent('card_added')).card);
        assertVerdictMatrix(g, (c) => ev2.get(c), CLEAN_FR, [g.F, julien], { advice_like: false });

        // card_updated (the client answers, the facilitator flags) keeps the same audiences.
        const q1 = ev1.get(g.F).id;
        await settle(g, (await g.C.ok({ type: 'question_answer', card_id: q1, text: 'Pas encore.' })).seq);
        await settle(g, (await g.F.ok({ type: 'question_flag', card_id: q1, flagged: true })).seq);
        for (const round of ['answer', 'flag']) {
            const up = new Map();
            for (const c of g.everyone) up.set(c, (await c.nextEvent('card_updated')).card);
            assertVerdictMatrix(g, (c) => up.get(c), `${ADVICE_FR} (${round})`, [g.F, lea], { advice_like: true, lang: 'fr' });
            if (round === 'flag') for (const c of g.everyone) assert.equal(up.get(c).flagged, true);
        }

        // Snapshots: a welcome on a new connection of each (the view cache
        // shares the public view between joiners: it must not carry it).
        const again = new Map();
        for (const c of g.everyone) again.set(c, await reconnect(srv, c));
        const snap = (text) => (c) => cardIn(again.get(c).room, text);
        assertVerdictMatrix(g, snap(ADVICE_FR), ADVICE_FR, [g.F, lea], { advice_like: true, lang: 'fr' });
        assertVerdictMatrix(g, snap(CLEAN_FR), CLEAN_FR, [g.F, julien], { advice_like: false });
        // Sophie asked nothing, the observer and the client never ask:
        // nothing about advice anywhere in their welcomes.
        for (const c of [sophie, g.O, g.C])
            assert.ok(!JSON.stringify(again.get(c).welcome.room).includes('advice'), `${c.name}'s snapshot mentions no verdict`);
        await closeAll(g, [...again.values()]);
        assertAllClean(g, [...again.values()]);
    } finally {
        await srv.stop();
    }
});

test('question_park: a private parked note, journaled, for its author only, still there in consultation and after kill -9', async () => {
    const srv = await startServer();
    let again;
    try {
        const g = await setupGroup(srv);
        await advance(g, 'clarification');
        const [lea] = g.K;
        const ack = await lea.ok({ type: 'question_park', text: ADVICE_FR });
        assert.ok(Number.isInteger(ack.seq) && ack.seq > 0, 'parking is a command: it takes a seq');
        const ev = await lea.nextEvent('card_added');
        assert.equal(ev.card.type, 'note');
        assert.equal(ev.card.parked, true);
        assert.equal(ev.card.step, 'clarification');
        assert.equal(ev.card.consultation, 0);
        for (const c of g.everyone.filter((x) => x !== lea)) await c.expectNoneAfterBarrier();
        await g.F.refused({ type: 'question_park', text: ADVICE_FR }, 'not_your_role');
        await g.O.refused({ type: 'question_park', text: ADVICE_FR }, 'observer_read_only');
        await lea.refused({ type: 'question_park', text: 'é'.repeat(1001) }, 'text_too_long', { unchecked: true });

        await advance(g, 'consultation');
        await lea.refused({ type: 'question_park', text: ADVICE_FR }, 'wrong_step');
        srv.child.kill('SIGKILL');
        await srv.exited;
        again = await startServer({ dataDir: srv.dataDir });
        const l2 = await Client.connect(again.wsUrl, { name: 'Léa again' });
        const w = await l2.hello(g.groupId, lea.key);
        assert.equal(w.room.step, 'consultation');
        const parked = w.room.cards.filter((c) => c.parked);
        assert.equal(parked.length, 1);
        assert.equal(parked[0].text, ADVICE_FR);
        const j2 = await Client.connect(again.wsUrl, { name: 'Julien again' });
        const wj = await j2.hello(g.groupId, g.K[1].key);
        assert.equal(wj.room.cards.filter((c) => c.type === 'note').length, 0, 'another consultant never sees it');
        await l2.close();
        await j2.close();
        l2.assertClean();
        j2.assertClean();
    } finally {
        if (again) await again.stop();
        await srv.stop().catch(() => {});
    }
});
