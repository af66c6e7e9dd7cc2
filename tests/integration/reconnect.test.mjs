// Reconnecting: a consultant who drops mid-consultation and comes back with
// last_seq gets a snapshot holding every card posted meanwhile (the same as
// a consultant who stayed), and the seqs continue from the snapshot's.
// Presence follows a member's first connection and last disconnection.
import test from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { isSignificant, waitConnections } from './lib/client.mjs';
import { setupGroup, advance, assertAllClean, closeAll, reconnect, settle } from './lib/scenario.mjs';

let srv;
test.before(async () => { srv = await startServer(); });
test.after(async () => { await srv.stop(); });

const byId = (a, b) => a.id - b.id;
const publicCards = (cards) => [...cards].filter((c) => c.type !== 'note').sort(byId);

test('a consultant who reconnects with last_seq gets every card posted while away, like a consultant who stayed', async () => {
    const g = await setupGroup(srv);
    await advance(g, 'consultation');
    const [K0, K1, K2] = g.K;
    const before = await K0.ok({ type: 'contribution_post', kind: 'suggestion', text: 'Avant la coupure : un rituel du lundi.' });
    await settle(g, before.seq);
    const lastSeen = K1.lastSeq;
    assert.equal(lastSeen, before.seq);
    await K1.terminate(); // the network drops: no close handshake

    const off = await g.F.nextEvent('presence', (m) => m.member_id === K1.memberId);
    assert.equal(off.online, false);
    const posted = [];
    for (const [k, kind, text] of [
        [K0, 'experience', "Pendant la coupure : j'ai vécu une fusion, les binômes ont aidé."],
        [K2, 'feeling', 'Pendant la coupure : je sens de la fatigue dans ton récit.'],
        [K0, 'suggestion', 'Pendant la coupure : demande à chacun ce qui lui manque.'],
    ]) posted.push(await k.ok({ type: 'contribution_post', kind, text }));
    const hands = await K2.ok({ type: 'hand_raise' });
    await settle(g, hands.seq, [g.F, g.C, K0, K2, g.O]);

    const back = await reconnect(srv, K1, lastSeen);
    const room = back.welcome.room;
    assert.equal(room.seq, hands.seq, 'the snapshot includes every event up to the last one');
    assert.equal(room.seq, K2.lastSeq);
    assert.equal(room.step, 'consultation');
    assert.deepEqual(room.hands, [K2.memberId]);
    // Exactly the cards a consultant who stayed holds.
    assert.deepEqual(publicCards(room.cards), publicCards(K2.cards.values()));
    const texts = room.cards.filter((c) => c.type === 'contribution').map((c) => c.text);
    assert.deepEqual(texts, [
        'Avant la coupure : un rituel du lundi.',
        "Pendant la coupure : j'ai vécu une fusion, les binômes ont aidé.",
        'Pendant la coupure : je sens de la fatigue dans ton récit.',
        'Pendant la coupure : demande à chacun ce qui lui manque.',
    ]);
    assert.equal(room.members.find((m) => m.id === K1.memberId).online, true);
    const on = await g.F.nextEvent('presence', (m) => m.member_id === K1.memberId);
    assert.equal(on.online, true);

    // Seq continuity: the next event follows the snapshot's seq.
    const after = await K0.ok({ type: 'contribution_post', kind: 'suggestion', text: 'Après le retour : un déjeuner mensuel.' });
    const ev = await back.nextEvent('card_added');
    assert.equal(ev.seq, after.seq);
    assert.equal(ev.seq, room.seq + 1);
    assert.deepEqual(back.staleEvents, [], 'no event already in the snapshot is resent');
    assert.deepEqual(ev.card, K2.cards.get(ev.card.id));
    assertAllClean(g, [back]);
    await closeAll(g, [back]);
});

test('presence is announced for a member\'s first connection and last disconnection only', async () => {
    const g = await setupGroup(srv);
    const K = g.K[0];
    const tab2 = await reconnect(srv, K);
    await g.F.expectNoneAfterBarrier((m) => m.type === 'presence');
    /* The server's own word that it has seen tab2 go (its connection count
     * falls), then a barrier: a presence would have been sent by then. */
    const open = await waitConnections(srv.url, () => true);
    await tab2.close();
    await waitConnections(srv.url, (n) => n < open);
    await g.F.expectNoneAfterBarrier((m) => m.type === 'presence');
    await K.close();
    const off = await g.F.nextEvent('presence');
    assert.deepEqual([off.member_id, off.online], [K.memberId, false]);
    const again = await reconnect(srv, K);
    const on = await g.F.nextEvent('presence');
    assert.deepEqual([on.member_id, on.online], [K.memberId, true]);
    for (const c of [g.C, g.K[1], g.O]) {
        await c.nextEvent('presence', (m) => m.member_id === K.memberId && m.online === true);
        assert.deepEqual(c.received((m) => m.type === 'presence' && m.member_id === K.memberId).slice(-2).map((m) => m.online),
            [false, true], c.name);
    }
    await Promise.all(g.everyone.filter((c) => c !== K).map((c) => c.expectNoneAfterBarrier(isSignificant)));
    assertAllClean(g, [again, tab2]);
    await closeAll(g, [again]);
});

test('two connections of one member both receive the room\'s events', async () => {
    const g = await setupGroup(srv);
    await advance(g, 'clarification');
    const tab2 = await reconnect(srv, g.K[0]);
    const ack = await g.K[1].ok({ type: 'question_ask', text: 'Depuis quand la situation dure-t-elle ?' });
    const a = await g.K[0].nextEvent('card_added');
    const b = await tab2.nextEvent('card_added');
    assert.deepEqual(a, b);
    assert.equal(a.seq, ack.seq);
    // A note from one tab reaches the author's other tab too.
    const note = await tab2.ok({ type: 'note_post', text: 'Noté depuis le deuxième onglet.' });
    assert.equal((await g.K[0].nextEvent('card_added')).seq, note.seq);
    assertAllClean(g, [tab2]);
    await closeAll(g, [tab2]);
});
