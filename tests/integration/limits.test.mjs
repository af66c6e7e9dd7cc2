// The default limits of proto/README.md 2.7 through the wire: commands per
// second, cards per member per step, members per group.
import test from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { api, createGroup, joinGroup } from './lib/client.mjs';
import { setupGroup, advance, assertAllClean, closeAll, reconnect } from './lib/scenario.mjs';

let srv;
test.before(async () => { srv = await startServer(); });
test.after(async () => { await srv.stop(); });

/** Sends n raw step_next commands from K at once; resolves with the n answers (ack/error) in order. */
async function burst(K, n, prefix) {
    for (let i = 1; i <= n; i++) K.sendJson({ type: 'step_next', id: `${prefix}-${i}` });
    const replies = [];
    for (let i = 0; i < n; i++) replies.push(await K.next((m) => m.type === 'ack' || m.type === 'error', 3000));
    return replies;
}

test('rate_limited: beyond a burst of 40 commands a connection is refused, then recovers', async () => {
    const g = await setupGroup(srv);
    const K = g.K[0];
    // 70 commands at once, each refused by the rules when not rate limited.
    const replies = await burst(K, 70, 'rl');
    const codes = replies.map((r) => r.code);
    const limited = codes.filter((c) => c === 'rate_limited').length;
    assert.deepEqual([...new Set(codes)].sort(), ['not_facilitator', 'rate_limited']);
    // Burst 40 (hello may count as one), refill 20/s while the burst arrives.
    assert.ok(limited >= 20 && limited <= 31, `${limited} of 70 rate limited (burst 40, 20/s)`);
    assert.ok(codes.slice(0, 39).every((c) => c === 'not_facilitator'), 'the first 39 are within the burst');
    await K.expectNoneAfterBarrier((m) => m.type === 'error' || m.type === 'ack');
    // Another connection is not limited by this one.
    await g.K[1].ok({ type: 'checkin_post', text: 'Je ne suis pas limitée.' });
    await new Promise((r) => setTimeout(r, 1100));
    await K.ok({ type: 'checkin_post', text: 'Après une seconde, je peux reparler.' });
    assertAllClean(g);
    await closeAll(g);
});

test('rate_limited errors carry the id of the refused command, so the client knows which to resend', async () => {
    const g = await setupGroup(srv);
    const K = g.K[0];
    const replies = await burst(K, 60, 'rli');
    const limited = replies.filter((r) => r.code === 'rate_limited');
    assert.ok(limited.length > 0);
    const ids = replies.map((r) => r.id);
    assert.deepEqual(ids, Array.from({ length: 60 }, (_, i) => `rli-${i + 1}`));
    assertAllClean(g);
    await closeAll(g);
});

test('too_many_cards: a member posts at most 30 cards in one step', async () => {
    const g = await setupGroup(srv);
    await advance(g, 'clarification');
    const K = g.K[0];
    for (let i = 1; i <= 30; i++) await K.ok({ type: 'question_ask', text: `Question numéro ${i} ?` });
    await K.refused({ type: 'question_ask', text: 'Question de trop ?' }, 'too_many_cards');
    // The limit is per member: another consultant still posts.
    await g.K[1].ok({ type: 'question_ask', text: 'Une question de Julien ?' });
    await g.F.waitSeq(g.K[1].accepted.at(-1).ack.seq);
    assert.deepEqual([...g.F.cards.values()].filter((c) => c.author === K.memberId).length, 30);
    assertAllClean(g);
    await closeAll(g);
});

test('group_full: a group holds at most 16 members; the 17th join is refused with 429', async () => {
    const g = await createGroup(srv.url);
    for (let i = 2; i <= 16; i++) await joinGroup(srv.url, g.group_id, g.invite_code, `Membre ${i}`);
    const res = await api(srv.url, 'POST', `/api/groups/${g.group_id}/members`, { body: { invite_code: g.invite_code, display_name: 'Membre 17' } });
    assert.equal(res.status, 429, res.text);
    assert.deepEqual(res.schemaErrors, []);
    assert.equal(res.body.error.code, 'group_full');
});

/** A server of its own with some settings, the rate limit out of the way. */
async function serverWith(settings) {
    const args = ['commands_per_sec=10000', 'commands_burst=100000', ...settings].flatMap((s) => ['--set', s]);
    return startServer({ args });
}

test('room_full: private notes while the facilitator moves back and forth meet the session budget', async () => {
    const own = await serverWith(['room_items_max=12', 'cards_per_step=1', 'room_member_share=1']);
    try {
        const g = await setupGroup(own);
        const K = g.K[0];
        let notes = 0, code = null;
        // The per-step count resets with each move; the session's does not.
        for (let i = 0; i < 40 && !code; i++) {
            const r = await K.send({ type: 'note_post', text: `Note ${i}` });
            if (r.type === 'error') code = r.code;
            else notes++;
            // opening -> topic -> opening -> ...: one consultation, re-entered.
            await g.F.ok({ type: i % 2 === 0 ? 'step_next' : 'step_prev' });
        }
        assert.equal(code, 'room_full');
        assert.equal(notes, 11, 'eleven notes and the consultation make twelve items');
        await g.K[1].refused({ type: 'note_post', text: 'Et moi ?' }, 'room_full');
        assertAllClean(g);
        await closeAll(g);
    } finally {
        await own.stop();
    }
});

test('room_member_share: one member cannot fill the session for everyone; the others and the facilitator go on', async () => {
    // A share of 40 / 4 = 10 cards per member; the facilitator has no share.
    const own = await serverWith(['room_items_max=40', 'cards_per_step=1000']);
    try {
        const g = await setupGroup(own);
        const [K0, K1] = g.K;
        for (let i = 0; i < 10; i++) await K0.ok({ type: 'note_post', text: `Note ${i}` });
        await K0.refused({ type: 'note_post', text: 'Encore une' }, 'room_full');
        await K1.ok({ type: 'checkin_post', text: 'Bonjour à tous' });
        for (let i = 0; i < 12; i++) await g.F.ok({ type: 'note_post', text: `Note de Claire ${i}` });
        await g.F.ok({ type: 'member_remove', member_id: K0.memberId });
        await closeAll(g);
    } finally {
        await own.stop();
    }
});

test('too_many_rewrites: the client rewrites the problem at most rewrites_max times', async () => {
    const own = await serverWith(['rewrites_max=3']);
    try {
        const g = await setupGroup(own);
        await advance(g, 'expose');
        for (let i = 0; i < 4; i++) await g.C.ok({ type: 'problem_set', text: `Version ${i} du problème.` });
        await g.C.refused({ type: 'problem_set', text: 'Encore une version.' }, 'too_many_rewrites');
        assertAllClean(g);
        await closeAll(g);
    } finally {
        await own.stop();
    }
});

test('journal_full: one session journals at most group_journal_max_bytes; the facilitator can still close it', async () => {
    const own = await serverWith(['group_journal_max_bytes=65536', 'rewrites_max=100000', 'room_member_share=1']);
    try {
        const g = await setupGroup(own);
        await advance(g, 'expose');
        const text = 'é'.repeat(3999) + '.'; // 8 kB as sent
        let written = 0, code = null;
        for (let i = 0; i < 20 && !code; i++) {
            const r = await g.C.send({ type: 'problem_set', text: `${i}${text}`.slice(0, 4000) });
            if (r.type === 'error') code = r.code;
            else written++;
        }
        assert.equal(code, 'journal_full');
        assert.ok(written >= 6 && written <= 8, `${written} rewrites of 8 kB in 64 kB`);
        await g.F.ok({ type: 'session_close' });
        await closeAll(g);
    } finally {
        await own.stop();
    }
});

test('room_full holds after a restart: the replayed room counts what it holds and keeps the budget', async () => {
    const settings = ['room_items_max=10', 'cards_per_step=1000', 'room_member_share=1'];
    const own = await serverWith(settings);
    let again;
    try {
        const g = await setupGroup(own);
        for (let i = 0; i < 10; i++) await g.K[0].ok({ type: 'checkin_post', text: `Bonjour ${i}` });
        await g.K[1].refused({ type: 'checkin_post', text: 'Et moi ?' }, 'room_full');
        await closeAll(g);
        await own.stop({ keepData: true });
        again = await startServer({ dataDir: own.dataDir,
            args: ['commands_per_sec=10000', 'commands_burst=100000', ...settings].flatMap((x) => ['--set', x]) });
        const K = await reconnect(again, g.K[1]);
        assert.equal(K.welcome.room.cards.length, 10);
        await K.refused({ type: 'checkin_post', text: 'Toujours pas ?' }, 'room_full');
        await K.close();
    } finally {
        if (again) await again.stop();
        await own.stop().catch(() => {});
    }
});
