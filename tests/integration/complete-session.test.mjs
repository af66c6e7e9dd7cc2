// One whole séance over the wire: a facilitator, a client, three consultants
// and an observer go from opening to closed through every step, with every
// command type at least once; the next séance opens with the debrief of the
// client's action plan. Each step checks what each participant receives.
import test from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { clientTypes } from './lib/schemas.mjs';
import { setupGroup, assertAllClean, closeAll } from './lib/scenario.mjs';

const BUDGETS_90 = {
    opening: 600000, topic: 300000, expose: 600000, clarification: 1200000,
    contract: 300000, consultation: 1500000, synthesis: 480000, learning: 420000,
};

/** Every client in `who` receives the same event of this type; its seq is ack.seq. */
async function seenBy(who, type, ack, pred = () => true) {
    const evs = await Promise.all(who.map((c) => c.nextEvent(type, pred)));
    for (let i = 1; i < evs.length; i++)
        assert.deepEqual(evs[i], evs[0], `${who[i].name} and ${who[0].name} receive the same ${type}`);
    if (ack) assert.equal(evs[0].seq, ack.seq, `${type}: the ack carries the seq of the command's last event`);
    return evs[0];
}

/**
 * seenBy for a question's card event: the same for everyone but the advice
 * verdict (advice_like, advice_cues), which only the question's author and
 * the facilitator receive. Returns the event without the verdict.
 */
async function questionSeenBy(who, type, ack, seers) {
    const evs = await Promise.all(who.map((c) => c.nextEvent(type)));
    const bare = evs.map((e) => {
        const { advice_like: _l, advice_cues: _c, ...card } = e.card;
        return { ...e, card };
    });
    for (let i = 0; i < evs.length; i++) {
        assert.deepEqual(bare[i], bare[0], `${who[i].name} and ${who[0].name} receive the same ${type} but the verdict`);
        const sees = seers.includes(who[i]);
        assert.equal(typeof evs[i].card.advice_like === 'boolean', sees, `${who[i].name} ${sees ? 'sees' : 'must not see'} the verdict`);
        assert.equal(Array.isArray(evs[i].card.advice_cues), sees);
    }
    if (ack) assert.equal(evs[0].seq, ack.seq, `${type}: the ack carries the seq of the command's last event`);
    return bare[0];
}

/** No client in `who` has received an event of this type matching pred, by a barrier. */
async function notSeenBy(who, type, pred = () => true) {
    await Promise.all(who.map((c) => c.expectNoneAfterBarrier((m) => m.type === type && pred(m))));
}

test('a complete session: every step, every command, what each participant receives', async (t) => {
    const srv = await startServer();
    t.after(() => srv.stop());
    const g = await setupGroup(srv, { open: false });
    const { F, C, O } = g;
    const [K0, K1, K2] = g.K;
    const all = g.everyone;
    const others = (...except) => all.filter((c) => !except.includes(c));

    // ---- opening ----------------------------------------------------------
    const opened = await F.ok({ type: 'session_open' });
    assert.equal(typeof opened.seq, 'number');
    const snap = (await Promise.all(all.map((c) => c.nextEvent('session_opened')))).map((m) => m.room);
    for (const room of snap) {
        assert.equal(room.step, 'opening');
        assert.equal(room.seq, 0);
        assert.equal(room.consultation, null);
        assert.deepEqual(room.consultations, []);
        assert.deepEqual(room.cards, []);
        assert.deepEqual(room.hands, []);
        assert.deepEqual(room.debriefs, []);
        assert.equal(room.facilitator, F.memberId);
        assert.deepEqual(room.budgets, BUDGETS_90);
        assert.equal(room.clock.step, 'opening');
        assert.equal(room.clock.budget_ms, 600000);
        assert.deepEqual(room.members.map((m) => [m.id, m.name, m.role, m.observer, m.online]).sort(),
            all.map((c) => [c.memberId, c.displayName, c === F ? 'facilitator' : 'consultant', false, true]).sort());
    }
    assert.equal(new Set(snap.map((r) => r.session_id)).size, 1, 'one session id for everyone');

    let ack = await F.ok({ type: 'role_set', member_id: O.memberId, observer: true });
    let ev = await seenBy(all, 'role', ack);
    assert.deepEqual(ev.member, { id: O.memberId, name: 'Marc', role: 'observer', observer: true, online: true });
    assert.equal(ack.seq, 1, 'the first event of a session has seq 1');

    ack = await F.ok({ type: 'checkin_post', text: "Contente d'être là, une semaine dense mais riche." });
    ev = await seenBy(all, 'card_added', ack);
    assert.deepEqual({ ...ev.card, at_ms: 0, id: 0 }, {
        id: 0, at_ms: 0, type: 'checkin', author: F.memberId, consultation: null, step: 'opening',
        text: "Contente d'être là, une semaine dense mais riche.",
    });
    ack = await K0.ok({ type: 'checkin_post', text: 'Un peu fatiguée, deux recrutements en cours.' });
    const checkinK0 = (await seenBy(all, 'card_added', ack)).card;
    assert.equal(checkinK0.author, K0.memberId);

    ack = await K1.ok({ type: 'hand_raise' });
    assert.deepEqual((await seenBy(all, 'hands', ack)).hands, [K1.memberId]);
    ack = await K1.ok({ type: 'hand_lower' });
    assert.deepEqual((await seenBy(all, 'hands', ack)).hands, []);

    ack = await F.ok({ type: 'step_next' });
    ev = await seenBy(all, 'consultation', null);
    assert.equal(ev.seq, ack.seq - 1, 'consultation comes just before the step event');
    assert.deepEqual(ev.consultation, { index: 0, client: null, problem: null, contract: null, acks: [], step_used_ms: {} });
    ev = await seenBy(all, 'step', ack);
    assert.equal(ev.step, 'topic');
    assert.equal(ev.consultation, 0);
    assert.equal(ev.clock.step, 'topic');
    assert.equal(ev.clock.budget_ms, BUDGETS_90.topic);

    // ---- topic ------------------------------------------------------------
    ack = await K0.ok({ type: 'topic_propose', text: 'Comment dire non à ma direction sans me griller ?' });
    ev = await seenBy(all, 'card_added', ack);
    assert.equal(ev.card.type, 'topic');
    assert.equal(ev.card.consultation, 0);
    assert.equal(ev.card.step, 'topic');
    ack = await C.ok({ type: 'topic_propose', text: "Mon équipe ne se parle plus depuis la réorganisation." });
    assert.equal((await seenBy(all, 'card_added', ack)).card.author, C.memberId);

    ack = await F.ok({ type: 'client_assign', member_id: C.memberId });
    ev = await seenBy(all, 'client', ack);
    assert.deepEqual([ev.consultation, ev.member_id], [0, C.memberId]);

    ack = await F.ok({ type: 'step_next' });
    assert.equal((await seenBy(all, 'step', ack)).step, 'expose');

    // ---- expose -----------------------------------------------------------
    const problem1 = "Depuis la réorganisation de septembre, mon équipe ne se parle plus qu'à travers les tickets.";
    ack = await C.ok({ type: 'problem_set', text: problem1 });
    ev = await seenBy(all, 'problem', ack);
    assert.deepEqual([ev.consultation, ev.text], [0, problem1]);

    ack = await K2.ok({ type: 'note_post', text: 'Il dit « tickets » trois fois : à creuser.' });
    ev = await seenBy([K2], 'card_added', ack);
    assert.deepEqual([ev.card.type, ev.card.author, ev.card.step, ev.card.consultation], ['note', K2.memberId, 'expose', 0]);
    const noteK2 = ev.card.id;

    ack = await F.ok({ type: 'step_next' });
    assert.equal((await seenBy(all, 'step', ack)).step, 'clarification');
    await notSeenBy(others(K2), 'card_added', (m) => m.card.id === noteK2);

    // A co-facilitator (issue 14): named, then cleared; everyone is told.
    ack = await F.ok({ type: 'cofacilitator_set', member_id: K1.memberId });
    ev = await seenBy(all, 'cofacilitator', ack);
    ack = await F.ok({ type: 'cofacilitator_set' });
    await seenBy(all, 'cofacilitator', ack);

    // ---- clarification ----------------------------------------------------
    ack = await K0.ok({ type: 'question_ask', text: "Qu'est-ce qui a changé concrètement en septembre ?" });
    const q1 = (await questionSeenBy(all, 'card_added', ack, [F, K0])).card;
    assert.deepEqual([q1.type, q1.answer, q1.flagged, q1.step], ['question', null, false, 'clarification']);
    ack = await K1.ok({ type: 'question_ask', text: "As-tu pensé à organiser un séminaire d'équipe ?" });
    const q2 = (await questionSeenBy(all, 'card_added', ack, [F, K1])).card;
    // The advice line: a check is a query (no seq, nothing sent to anyone);
    // a parked question is a note for its author alone.
    const check = await K2.ok({ type: 'question_check', text: "Et si tu proposais un café d'équipe ?" });
    assert.deepEqual([check.advice_like, check.seq], [true, undefined]);
    ack = await K2.ok({ type: 'question_park', text: "Et si tu proposais un café d'équipe ?" });
    ev = await K2.nextEvent('card_added');
    assert.deepEqual([ev.seq, ev.card.type, ev.card.parked], [ack.seq, 'note', true]);
    await notSeenBy(others(K2), 'card_added', (m) => m.card.id === ev.card.id);

    ack = await C.ok({ type: 'question_answer', card_id: q1.id, text: 'Deux équipes ont fusionné, avec trois jours de télétravail.' });
    ev = await questionSeenBy(all, 'card_updated', ack, [F, K0]);
    assert.deepEqual(ev.card, { ...q1, answer: 'Deux équipes ont fusionné, avec trois jours de télétravail.' });

    ack = await F.ok({ type: 'question_flag', card_id: q2.id, flagged: true });
    ev = await questionSeenBy(all, 'card_updated', ack, [F, K1]);
    assert.deepEqual(ev.card, { ...q2, flagged: true });

    const problem2 = problem1 + ' Deux personnes envisagent de partir.';
    ack = await C.ok({ type: 'problem_set', text: problem2 });
    assert.equal((await seenBy(all, 'problem', ack)).text, problem2);

    ack = await C.ok({ type: 'hand_raise' });
    assert.deepEqual((await seenBy(all, 'hands', ack)).hands, [C.memberId]);
    ack = await C.ok({ type: 'hand_lower' });
    assert.deepEqual((await seenBy(all, 'hands', ack)).hands, []);

    ack = await F.ok({ type: 'step_next' });
    assert.equal((await seenBy(all, 'step', ack)).step, 'contract');

    // ---- contract ---------------------------------------------------------
    ack = await K2.ok({ type: 'reformulation_post', text: "Ce que j'ai compris de ton besoin, c'est retrouver une équipe qui se parle." });
    ev = await seenBy(all, 'card_added', ack);
    assert.deepEqual([ev.card.type, ev.card.step, ev.card.author], ['reformulation', 'contract', K2.memberId]);

    const contract = "J'aimerais que vous m'aidiez à trouver deux façons concrètes de recréer des échanges directs.";
    ack = await C.ok({ type: 'contract_set', text: contract });
    ev = await seenBy(all, 'contract', ack);
    assert.deepEqual([ev.consultation, ev.text], [0, contract]);

    for (const k of [K0, K1, K2]) {
        ack = await k.ok({ type: 'contract_ack' });
        ev = await seenBy(all, 'contract_ack', ack);
        assert.deepEqual([ev.consultation, ev.member_id], [0, k.memberId]);
    }

    ack = await F.ok({ type: 'step_next' });
    ev = await seenBy(all, 'step', ack);
    assert.equal(ev.step, 'consultation');
    assert.equal(ev.clock.budget_ms, BUDGETS_90.consultation);

    // ---- consultation -----------------------------------------------------
    // The clock: pause, start, add, set.
    if (ev.clock.running) {
        ack = await F.ok({ type: 'timer_pause' });
        assert.equal((await seenBy(all, 'clock', ack)).clock.running, false);
    }
    ack = await F.ok({ type: 'timer_start' });
    ev = await seenBy(all, 'clock', ack);
    assert.deepEqual([ev.clock.step, ev.clock.running], ['consultation', true]);
    ack = await F.ok({ type: 'timer_pause' });
    ev = await seenBy(all, 'clock', ack);
    assert.equal(ev.clock.running, false);
    const usedAtPause = ev.clock.used_ms;
    ack = await F.ok({ type: 'timer_add', seconds: 60 });
    ev = await seenBy(all, 'clock', ack);
    assert.deepEqual([ev.clock.budget_ms, ev.clock.used_ms, ev.clock.remaining_ms, ev.clock.running],
        [BUDGETS_90.consultation + 60000, usedAtPause, BUDGETS_90.consultation + 60000 - usedAtPause, false]);
    ack = await F.ok({ type: 'timer_set', seconds: 600 });
    ev = await seenBy(all, 'clock', ack);
    assert.deepEqual([ev.clock.remaining_ms, ev.clock.budget_ms - ev.clock.used_ms, ev.clock.running], [600000, 600000, false]);
    ack = await F.ok({ type: 'timer_start' });
    assert.equal((await seenBy(all, 'clock', ack)).clock.running, true);

    const contributions = [];
    for (const [k, kind, text] of [
        [K0, 'suggestion', 'Un point de dix minutes le lundi, sans ordre du jour, où chacun dit ce qui l\'occupe.'],
        [K1, 'experience', 'Après une fusion, nous avons fait des binômes entre anciens des deux équipes.'],
        [K2, 'feeling', 'Je ressens beaucoup de solitude dans ton rôle de manager.'],
    ]) {
        ack = await k.ok({ type: 'contribution_post', kind, text });
        ev = await seenBy(others(C), 'card_added', ack);
        assert.deepEqual([ev.card.type, ev.card.kind, ev.card.author, ev.card.text, ev.card.step, ev.card.consultation],
            ['contribution', kind, k.memberId, text, 'consultation', 0]);
        assert.equal(ev.card.marked, false, 'a new contribution is unmarked, for everyone');
        const forClient = await C.nextEvent('card_added');
        assert.deepEqual(forClient.card, ev.card, 'the client gets the same card_added, marked: false');
        assert.equal(forClient.seq, ack.seq);
        contributions.push(ev.card);
    }

    ack = await C.ok({ type: 'mark_set', card_id: contributions[0].id, marked: true });
    ev = await seenBy([C], 'mark', ack);
    assert.deepEqual([ev.card_id, ev.marked], [contributions[0].id, true]);

    ack = await C.ok({ type: 'recadrage' });
    ev = await seenBy([C, F], 'recadrage', ack);
    assert.deepEqual([ev.consultation, ev.count], [0, 1]);
    ack = await F.ok({ type: 'recadrage_ack' });
    ev = await seenBy([C, F], 'recadrage_ack', ack);
    assert.deepEqual([ev.consultation, ev.count], [0, 1]);

    // An author corrects, then withdraws, a card of the running step (a
    // private note here: its events go to its author alone).
    ack = await K2.ok({ type: 'note_post', text: 'Demander pour les tikets.' });
    const noteK2b = (await seenBy([K2], 'card_added', ack)).card;
    ack = await K2.ok({ type: 'card_edit', card_id: noteK2b.id, text: 'Demander pour les tickets.' });
    ev = await seenBy([K2], 'card_updated', ack);
    assert.deepEqual([ev.card.text, ev.card.edited], ['Demander pour les tickets.', true]);
    ack = await K2.ok({ type: 'card_withdraw', card_id: noteK2b.id });
    ev = await seenBy([K2], 'card_updated', ack);
    assert.deepEqual([ev.card.text, ev.card.withdrawn], ['', true]);

    ack = await K0.ok({ type: 'hand_raise' });
    assert.deepEqual((await seenBy(all, 'hands', ack)).hands, [K0.memberId]);
    ack = await K1.ok({ type: 'hand_raise' });
    assert.deepEqual((await seenBy(all, 'hands', ack)).hands, [K0.memberId, K1.memberId]);
    ack = await K0.ok({ type: 'hand_lower' });
    assert.deepEqual((await seenBy(all, 'hands', ack)).hands, [K1.memberId]);
    ack = await F.ok({ type: 'hand_lower', member_id: K1.memberId });
    assert.deepEqual((await seenBy(all, 'hands', ack)).hands, []);

    // The floor (issue 13): given from the hand queue, ended; a round of the
    // three consultants (never the client), a pass, a skip, a stop.
    ack = await K2.ok({ type: 'hand_raise' });
    await seenBy(all, 'hands', ack);
    ack = await F.ok({ type: 'floor_give', member_id: K2.memberId });
    ev = await seenBy(all, 'floor', ack);
    assert.equal(ev.floor.member_id, K2.memberId);
    ack = await K2.ok({ type: 'floor_end' });
    ev = await seenBy(all, 'floor', ack);
    assert.equal(ev.floor, null);
    ack = await F.ok({ type: 'round_start', seconds: 120, mode: 'signal' });
    ev = await seenBy(all, 'floor', ack);
    assert.deepEqual(ev.round.order.map((o) => o.member_id).sort(), [K0.memberId, K1.memberId, K2.memberId].sort());
    const firstSpeaker = all.find((c) => c.memberId === ev.floor.member_id);
    ack = await firstSpeaker.ok({ type: 'turn_pass' });
    ev = await seenBy(all, 'floor', ack);
    assert.equal(ev.round.order[0].status, 'passed');
    ack = await F.ok({ type: 'round_skip' });
    ev = await seenBy(all, 'floor', ack);
    assert.equal(ev.round.order[1].status, 'skipped');
    ack = await F.ok({ type: 'round_stop' });
    ev = await seenBy(all, 'floor', ack);
    assert.deepEqual([ev.round.active, ev.floor], [false, null]);

    ack = await O.ok({ type: 'note_post', text: "Observation : le client n'a pas parlé pendant la consultation." });
    const noteO = (await seenBy([O], 'card_added', ack)).card;
    assert.deepEqual([noteO.type, noteO.author, noteO.step], ['note', O.memberId, 'consultation']);

    ack = await F.ok({ type: 'step_next' });
    assert.equal((await seenBy(all, 'step', ack)).step, 'synthesis');
    await notSeenBy(others(C), 'mark', () => true);
    await notSeenBy(others(C, F), 'recadrage', () => true);
    await notSeenBy(others(C, F), 'recadrage_ack', () => true);
    await notSeenBy(others(K2), 'card_updated', (m) => m.card.id === noteK2b.id);
    await notSeenBy(others(O), 'card_added', (m) => m.card.id === noteO.id);

    // ---- synthesis --------------------------------------------------------
    ack = await C.ok({ type: 'mark_set', card_id: contributions[1].id, marked: true });
    assert.deepEqual((await seenBy([C], 'mark', ack)).card_id, contributions[1].id);

    ack = await C.ok({ type: 'action_add', text: 'Proposer des binômes entre anciens des deux équipes.', due: 'fin octobre' });
    const action1 = (await seenBy(all, 'card_added', ack)).card;
    assert.deepEqual([action1.type, action1.due, action1.step, action1.author], ['action', 'fin octobre', 'synthesis', C.memberId]);
    ack = await C.ok({ type: 'action_add', text: 'Organiser un séminaire.' });
    const action2 = (await seenBy(all, 'card_added', ack)).card;
    assert.equal(action2.due, null);
    ack = await C.ok({ type: 'action_remove', card_id: action2.id });
    assert.equal((await seenBy(all, 'card_removed', ack)).card_id, action2.id);

    ack = await F.ok({ type: 'step_next' });
    assert.equal((await seenBy(all, 'step', ack)).step, 'learning');

    // ---- learning ---------------------------------------------------------
    for (const [who, dimension, text] of [
        [K0, 'process', "Attendre la fin de l'exposé avant de reformuler m'a aidée."],
        [C, 'content', "Une fusion se joue d'abord dans les petits rituels."],
        [F, 'content', 'Le silence après une question ouvre souvent la vraie réponse.'],
    ]) {
        ack = await who.ok({ type: 'learning_post', dimension, text });
        ev = await seenBy(all, 'card_added', ack);
        assert.deepEqual([ev.card.type, ev.card.dimension, ev.card.author, ev.card.step], ['learning', dimension, who.memberId, 'learning']);
    }

    ack = await F.ok({ type: 'step_prev' });
    assert.equal((await seenBy(all, 'step', ack)).step, 'synthesis');
    ack = await F.ok({ type: 'step_next' });
    assert.equal((await seenBy(all, 'step', ack)).step, 'learning');

    // Facilitation passes to Sophie (K2), who starts a second consultation.
    ack = await F.ok({ type: 'facilitator_handover', member_id: K2.memberId });
    assert.equal((await seenBy(all, 'facilitator', ack)).member_id, K2.memberId);
    await F.refused({ type: 'step_next' }, 'not_facilitator');

    ack = await K2.ok({ type: 'consultation_new' });
    ev = await seenBy(all, 'consultation', null);
    assert.deepEqual(ev.consultation, { index: 1, client: null, problem: null, contract: null, acks: [], step_used_ms: {} });
    ev = await seenBy(all, 'step', ack);
    assert.deepEqual([ev.step, ev.consultation], ['topic', 1]);

    ack = await F.ok({ type: 'topic_propose', text: "Déléguer sans perdre le fil : comment m'y prendre ?" });
    assert.equal((await seenBy(all, 'card_added', ack)).card.consultation, 1);

    // Julien (K1) leaves the group; the others see it.
    ack = await K2.ok({ type: 'member_remove', member_id: K1.memberId });
    const stay = others(K1);
    assert.equal((await seenBy(stay, 'member_removed', ack)).member_id, K1.memberId);

    ack = await K2.ok({ type: 'session_close' });
    ev = await seenBy(stay, 'closed', ack);
    assert.deepEqual(Object.keys(ev).sort(), ['at_ms', 'seq', 'type']);
    await K0.refused({ type: 'hand_raise' }, 'session_closed');
    await K0.refused({ type: 'note_post', text: 'Relire mes notes avant la prochaine séance.' }, 'session_closed');

    // ---- the next séance: the client debriefs the action plan ------------
    await K2.ok({ type: 'session_open' });
    const next = (await Promise.all(stay.map((c) => c.nextEvent('session_opened')))).map((m) => m.room);
    for (const room of next) {
        assert.equal(room.step, 'opening');
        assert.equal(room.facilitator, K2.memberId);
        assert.notEqual(room.session_id, snap[0].session_id);
        assert.deepEqual(room.cards, []);
        assert.equal(room.members.some((m) => m.id === K1.memberId), false, 'the removed member is gone');
        assert.equal(room.debriefs.length, 1);
        assert.deepEqual({ ...room.debriefs[0], id: 'x' }, {
            id: 'x', client: C.memberId, text: 'Proposer des binômes entre anciens des deux équipes.',
            due: 'fin octobre', outcome: null, comment: null,
        });
    }
    const debriefId = next[0].debriefs[0].id;
    await K0.refused({ type: 'debrief_post', debrief_id: debriefId, outcome: 'done' }, 'not_earlier_client');
    ack = await C.ok({ type: 'debrief_post', debrief_id: debriefId, outcome: 'partly', text: 'Deux binômes sur trois fonctionnent.' });
    ev = await seenBy(stay, 'debrief', ack);
    assert.deepEqual(ev.debrief, {
        id: debriefId, client: C.memberId, text: 'Proposer des binômes entre anciens des deux équipes.',
        due: 'fin octobre', outcome: 'partly', comment: 'Deux binômes sur trois fonctionnent.',
    });
    ack = await K2.ok({ type: 'session_close' });
    await seenBy(stay, 'closed', ack);

    // Every command type of the protocol was accepted at least once.
    const used = new Set(all.flatMap((c) => c.accepted.map((a) => a.cmd.type)));
    // facilitator_reclaim and facilitator_accept need the facilitator to be
    // away for facilitator_grace_s: tests/integration/cofacilitator.test.mjs.
    const away = ['facilitator_reclaim', 'facilitator_accept'];
    assert.deepEqual(clientTypes.filter((type) => type !== 'hello' && !away.includes(type) && !used.has(type)), []);
    // Nobody saw an event twice or out of order, and every message matched its schema.
    assertAllClean(g);
    await closeAll(g);
});
