// The default limits of proto/README.md 2.7 through the wire: commands per
// second, cards per member per step, members per group.
import test from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { api, createGroup, joinGroup } from './lib/client.mjs';
import { setupGroup, advance, assertAllClean, closeAll } from './lib/scenario.mjs';

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
    await K.expectNone((m) => m.type === 'error' || m.type === 'ack', 200);
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
