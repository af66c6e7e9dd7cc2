// Who sees what: the client's "à retenir" marks reach only the client, the
// recadrage only the client and the facilitator, a private note only its
// author; the same holds in the snapshots of a fresh connection.
import test from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { setupGroup, advance, assertAllClean, closeAll, reconnect, settle } from './lib/scenario.mjs';

let srv;
test.before(async () => { srv = await startServer(); });
test.after(async () => { await srv.stop(); });

/** Posts one contribution per consultant; returns the cards as a consultant saw them. */
async function contributions(g) {
    const cards = [];
    const kinds = ['suggestion', 'experience', 'feeling'];
    for (const [i, k] of g.K.entries()) {
        const ack = await k.ok({ type: 'contribution_post', kind: kinds[i], text: `Contribution ${i + 1} : une piste concrète pour l'équipe.` });
        cards.push((await g.K[0].nextEvent('card_added', (m) => m.seq === ack.seq)).card);
    }
    await settle(g, g.K[0].lastSeq);
    return cards;
}

async function snapshots(g) {
    const fresh = [];
    for (const c of g.everyone) fresh.push(await reconnect(srv, c));
    return fresh;
}

test('consultants, the observer and the facilitator never receive the client\'s marks, as events or in snapshots', async () => {
    const g = await setupGroup(srv);
    await advance(g, 'consultation');
    const cards = await contributions(g);
    const m1 = await g.C.ok({ type: 'mark_set', card_id: cards[0].id, marked: true });
    const ev = await g.C.nextEvent('mark');
    assert.deepEqual([ev.seq, ev.card_id, ev.marked], [m1.seq, cards[0].id, true]);
    await advance(g, 'synthesis');
    const m2 = await g.C.ok({ type: 'mark_set', card_id: cards[2].id, marked: true });
    assert.equal((await g.C.nextEvent('mark')).seq, m2.seq);
    const m3 = await g.C.ok({ type: 'mark_set', card_id: cards[0].id, marked: false });
    assert.deepEqual((await g.C.nextEvent('mark')).marked, false);
    // A later public event proves the others are past the marks' seqs.
    const hand = await g.K[0].ok({ type: 'hand_raise' });
    assert.ok(hand.seq > m3.seq);
    await settle(g, hand.seq);
    for (const c of g.everyone.filter((x) => x !== g.C)) {
        assert.deepEqual(c.received((m) => m.type === 'mark'), [], `${c.name} received a mark`);
        assert.equal(c.received((m) => m.type === 'card_added' && m.card.marked !== false && m.card.type === 'contribution').length, 0, `${c.name} saw a card_added without marked: false`);
    }
    const fresh = await snapshots(g);
    for (const s of fresh) {
        const contribs = s.welcome.room.cards.filter((c) => c.type === 'contribution');
        assert.deepEqual(contribs.map((c) => c.id), cards.map((c) => c.id), `${s.name} sees every contribution`);
        if (s.memberId === g.C.memberId)
            assert.deepEqual(contribs.map((c) => c.marked), [false, false, true], 'the client sees its marks');
        else
            assert.deepEqual(contribs.map((c) => c.marked), [false, false, false], `${s.name} sees no mark in the snapshot`);
    }
    assertAllClean(g, fresh);
    await closeAll(g, fresh);
});

test('the recadrage reaches only the client and the facilitator, as events and in snapshots', async () => {
    const g = await setupGroup(srv);
    await advance(g, 'consultation');
    const r1 = await g.C.ok({ type: 'recadrage' });
    for (const c of [g.C, g.F]) {
        const ev = await c.nextEvent('recadrage');
        assert.deepEqual([ev.seq, ev.consultation, ev.count], [r1.seq, 0, 1], c.name);
    }
    const r2 = await g.C.ok({ type: 'recadrage' });
    for (const c of [g.C, g.F]) assert.deepEqual((await c.nextEvent('recadrage')).count, 2, c.name);
    const hand = await g.K[1].ok({ type: 'hand_raise' });
    assert.ok(hand.seq > r2.seq);
    await settle(g, hand.seq);
    for (const c of [...g.K, g.O]) assert.deepEqual(c.received((m) => m.type === 'recadrage'), [], `${c.name} received a recadrage`);
    const fresh = await snapshots(g);
    for (const s of fresh) {
        const cons = s.welcome.room.consultations[0];
        if (s.memberId === g.C.memberId || s.memberId === g.F.memberId)
            assert.equal(cons.recadrages, 2, `${s.name} sees the count`);
        else
            assert.equal('recadrages' in cons, false, `${s.name} must not see the recadrage count`);
    }
    assertAllClean(g, fresh);
    await closeAll(g, fresh);
});

test('a private note reaches only its author, as an event and in snapshots, whoever writes it', async () => {
    const g = await setupGroup(srv);
    await advance(g, 'clarification');
    const notes = new Map();
    for (const c of g.everyone) {
        const ack = await c.ok({ type: 'note_post', text: `Note personnelle de ${c.displayName}.` });
        const ev = await c.nextEvent('card_added', (m) => m.seq === ack.seq);
        assert.deepEqual([ev.card.type, ev.card.author, ev.card.step, ev.card.consultation],
            ['note', c.memberId, 'clarification', 0]);
        notes.set(c.memberId, ev.card);
    }
    const hand = await g.K[2].ok({ type: 'hand_raise' });
    await settle(g, hand.seq);
    for (const c of g.everyone) {
        const seen = c.received((m) => m.type === 'card_added' && m.card.type === 'note');
        assert.deepEqual(seen.map((m) => m.card), [notes.get(c.memberId)], `${c.name} sees only its own note`);
    }
    const fresh = await snapshots(g);
    for (const s of fresh) {
        const seen = s.welcome.room.cards.filter((c) => c.type === 'note');
        assert.deepEqual(seen, [notes.get(s.memberId)], `${s.name}'s snapshot holds only its own note`);
    }
    assertAllClean(g, fresh);
    await closeAll(g, fresh);
});
