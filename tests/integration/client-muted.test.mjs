// During the consultation the client listens: anything the client sends but
// mark_set, recadrage and note_post is refused with client_muted, and nobody
// else receives anything.
import test from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { isSignificant } from './lib/client.mjs';
import { setupGroup, advance, assertAllClean, closeAll, reconnect } from './lib/scenario.mjs';

let srv;
test.before(async () => { srv = await startServer(); });
test.after(async () => { await srv.stop(); });

test('the client posting during consultation gets client_muted and nobody else receives anything', async () => {
    const g = await setupGroup(srv);
    await advance(g, 'consultation');
    const cardsBefore = g.K[0].cards.size;
    const seqBefore = g.K[0].lastSeq;
    const attempts = [
        { type: 'contribution_post', kind: 'suggestion', text: "Et si je vous donnais mon avis sur vos idées ?" },
        { type: 'contribution_post', kind: 'feeling', text: 'Je me sens incompris.' },
        { type: 'question_ask', text: 'Vous êtes sûrs ?' },
        { type: 'topic_propose', text: 'Un autre sujet.' },
        { type: 'problem_set', text: 'En fait, le problème est ailleurs.' },
        { type: 'contract_set', text: "J'aimerais plutôt que vous m'aidiez à autre chose." },
        { type: 'reformulation_post', text: 'Ce que vous dites, c\'est…' },
        { type: 'hand_raise' },
        { type: 'action_add', text: 'Trop tôt pour le plan.' },
        { type: 'learning_post', dimension: 'content', text: 'Trop tôt.' },
        { type: 'checkin_post', text: 'Bonjour.' },
        { type: 'contract_ack' },
    ];
    for (const cmd of attempts) await g.C.refused(cmd, 'client_muted');
    const others = g.everyone.filter((c) => c !== g.C);
    await Promise.all(others.map((c) => c.expectNoneAfterBarrier(isSignificant)));
    await g.C.expectNoneAfterBarrier(isSignificant);
    // Nothing changed: a fresh snapshot holds the same cards at the same seq.
    const again = await reconnect(srv, g.K[0]);
    assert.equal(again.welcome.room.seq, seqBefore);
    assert.equal(again.welcome.room.cards.length, cardsBefore);
    assert.deepEqual(again.welcome.room.hands, []);
    assertAllClean(g, [again]);
    await closeAll(g, [again]);
});

test('during consultation the client may still mark a contribution, signal a recadrage and take a note', async () => {
    const g = await setupGroup(srv);
    await advance(g, 'consultation');
    const post = await g.K[0].ok({ type: 'contribution_post', kind: 'experience', text: "J'ai vécu une fusion d'équipes l'an dernier." });
    const card = (await g.C.nextEvent('card_added', (m) => m.seq === post.seq)).card;
    const mark = await g.C.ok({ type: 'mark_set', card_id: card.id, marked: true });
    assert.equal((await g.C.nextEvent('mark')).seq, mark.seq);
    const rec = await g.C.ok({ type: 'recadrage' });
    assert.equal((await g.F.nextEvent('recadrage')).seq, rec.seq);
    const note = await g.C.ok({ type: 'note_post', text: 'Les binômes : piste à creuser.' });
    assert.equal((await g.C.nextEvent('card_added', (m) => m.card.type === 'note')).seq, note.seq);
    assertAllClean(g);
    await closeAll(g);
});

test('the client is muted only in consultation: the same client may raise a hand in clarification', async () => {
    const g = await setupGroup(srv);
    await advance(g, 'clarification');
    const ack = await g.C.ok({ type: 'hand_raise' });
    const ev = await g.K[1].nextEvent('hands');
    assert.deepEqual([ev.seq, ev.hands], [ack.seq, [g.C.memberId]]);
    assertAllClean(g);
    await closeAll(g);
});
