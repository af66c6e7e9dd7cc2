// A command resent with an id the server already accepted is not applied
// again: the answer is the original ack with "duplicate": true.
import test from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { isSignificant } from './lib/client.mjs';
import { setupGroup, advance, assertAllClean, closeAll, reconnect, settle } from './lib/scenario.mjs';

let srv;
test.before(async () => { srv = await startServer(); });
test.after(async () => { await srv.stop(); });

test('the same command id sent twice makes one card; the second ack is a duplicate with the same seq', async () => {
    const g = await setupGroup(srv);
    await advance(g, 'consultation');
    const cmd = { type: 'contribution_post', id: 'renvoi-1', kind: 'suggestion', text: 'Un café virtuel le lundi matin.' };
    const first = await g.K[0].ok(cmd);
    assert.equal(first.duplicate, undefined);
    const second = await g.K[0].ok(cmd);
    assert.deepEqual(second, { type: 'ack', id: 'renvoi-1', seq: first.seq, duplicate: true });
    // Even with a different body, the id decides: nothing is applied.
    const third = await g.K[0].ok({ ...cmd, text: 'Un autre texte sous le même id.' });
    assert.deepEqual(third, { type: 'ack', id: 'renvoi-1', seq: first.seq, duplicate: true });
    for (const c of g.everyone) {
        const ev = await c.nextEvent('card_added');
        assert.equal(ev.seq, first.seq);
        await c.expectNoneAfterBarrier(isSignificant);
    }
    const fresh = await reconnect(srv, g.K[1]);
    assert.equal(fresh.welcome.room.seq, first.seq);
    assert.deepEqual(fresh.welcome.room.cards.filter((c) => c.type === 'contribution').map((c) => c.text), ['Un café virtuel le lundi matin.']);
    assertAllClean(g, [fresh]);
    await closeAll(g, [fresh]);
});

test('a command resent on a new connection after a drop, with the same id, is not applied again', async () => {
    const g = await setupGroup(srv);
    await advance(g, 'clarification');
    const K = g.K[0];
    const q = { type: 'question_ask', id: 'q-7f3a-1', text: 'Comment réagit ta direction ?' };
    const first = await K.ok(q);
    await settle(g, first.seq);
    await K.terminate();
    const back = await reconnect(srv, K, first.seq);
    const again = await back.ok(q);
    assert.deepEqual(again, { type: 'ack', id: 'q-7f3a-1', seq: first.seq, duplicate: true });
    await Promise.all(g.everyone.filter((c) => c !== K).map((c) => c.expectNoneAfterBarrier((m) => isSignificant(m) && m.type !== 'presence' && m.seq > first.seq)));
    assert.equal(back.welcome.room.cards.filter((c) => c.type === 'question').length, 1);
    assertAllClean(g, [back]);
    await closeAll(g, [back]);
});

test('command ids are unique per member: two members may use the same id', async () => {
    const g = await setupGroup(srv);
    await advance(g, 'clarification');
    const a = await g.K[0].ok({ type: 'question_ask', id: 'q-1', text: 'Première question ?' });
    const b = await g.K[1].ok({ type: 'question_ask', id: 'q-1', text: 'Deuxième question ?' });
    assert.equal(b.duplicate, undefined);
    assert.equal(b.seq, a.seq + 1);
    await settle(g, b.seq);
    assert.deepEqual([...g.F.cards.values()].filter((c) => c.type === 'question').map((c) => c.text), ['Première question ?', 'Deuxième question ?']);
    assertAllClean(g);
    await closeAll(g);
});

test('a refused command is not remembered: resent with the same id once allowed, it is applied', async () => {
    const g = await setupGroup(srv);
    await advance(g, 'contract');
    const cmd = { type: 'contribution_post', id: 'tôt-1', kind: 'suggestion', text: 'Une idée trop tôt.' };
    await g.K[0].refused(cmd, 'wrong_step');
    await advance(g, 'consultation');
    const ack = await g.K[0].ok(cmd);
    assert.equal(ack.duplicate, undefined);
    assert.equal((await g.F.nextEvent('card_added')).seq, ack.seq);
    assertAllClean(g);
    await closeAll(g);
});
