// The rules through the wire: each refused command gets its documented
// error code (proto/README.md 2.3 and 2.5), with the command's id, changes
// nothing, and nobody else hears of it.
import test from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startServer } from '../lib/server.mjs';
import { Client, isSignificant } from './lib/client.mjs';
import { setupGroup, advance, assertAllClean, closeAll, settle } from './lib/scenario.mjs';

let srv;
test.before(async () => { srv = await startServer(); });
test.after(async () => { await srv.stop(); });

/** Asserts that nobody but `sender` received anything significant, by a barrier. */
async function nobodyElseHears(g, sender) {
    await Promise.all(g.everyone.filter((c) => c !== sender).map((c) => c.expectNoneAfterBarrier(isSignificant)));
}

async function group(step = 'opening', opts) {
    const g = await setupGroup(srv, opts);
    await advance(g, step);
    return g;
}

async function finish(g, extra = []) {
    assertAllClean(g, extra);
    await closeAll(g, extra);
}

// ---- attaching -----------------------------------------------------------

test('hello_required: a command before hello is refused with its id, then hello works', async () => {
    const g = await group();
    const c = await Client.connect(srv.wsUrl, { name: 'sans-hello' });
    const reply = await c.send({ type: 'hand_raise', id: 'avant-hello' });
    assert.deepEqual([reply.type, reply.code, reply.id], ['error', 'hello_required', 'avant-hello']);
    const w = await c.hello(g.groupId, g.K[0].key);
    assert.equal(w.type, 'welcome');
    assert.equal(w.you.member_id, g.K[0].memberId);
    await nobodyElseHears(g, g.K[0]);
    await finish(g, [c]);
});

test('bad_key: hello with a key of another group is refused and the connection stays open for another try', async () => {
    const g = await group();
    const other = await setupGroup(srv, { consultants: [], client: null, observer: null, open: false });
    const c = await Client.connect(srv.wsUrl, { name: 'mauvaise-clé' });
    const err = await c.hello(g.groupId, other.F.key);
    assert.deepEqual([err.type, err.code], ['error', 'bad_key']);
    const bogus = await c.hello(g.groupId, 'AAAAAAAAAAAAAAAAAAAAAA');
    assert.deepEqual([bogus.type, bogus.code], ['error', 'bad_key']);
    assert.equal(c.isOpen, true);
    const w = await c.hello(g.groupId, g.K[1].key);
    assert.equal(w.type, 'welcome');
    assert.equal(w.you.member_id, g.K[1].memberId);
    assert.equal(w.room.step, 'opening');
    await finish(g, [c, ...other.everyone]);
});

test('unknown_group: hello to a group that does not exist is refused, then a good hello works', async () => {
    const g = await group();
    const c = await Client.connect(srv.wsUrl, { name: 'groupe-inconnu' });
    const err = await c.hello(randomUUID(), g.K[0].key);
    assert.deepEqual([err.type, err.code], ['error', 'unknown_group']);
    assert.equal(c.isOpen, true);
    assert.equal((await c.hello(g.groupId, g.K[0].key)).type, 'welcome');
    await finish(g, [c]);
});

test('already_hello: a second hello on one connection is refused', async () => {
    const g = await group();
    const err = await g.K[0].hello(g.groupId, g.K[0].key);
    assert.deepEqual([err.type, err.code], ['error', 'already_hello']);
    await g.K[0].ok({ type: 'hand_raise' });
    await finish(g);
});

// ---- who and when --------------------------------------------------------

test('not_facilitator: a consultant cannot move the step or control the timer', async () => {
    const g = await group('topic');
    const K = g.K[0];
    for (const cmd of [{ type: 'step_next' }, { type: 'step_prev' }, { type: 'timer_pause' }, { type: 'timer_add', seconds: 60 },
        { type: 'client_assign', member_id: K.memberId }, { type: 'session_close' }, { type: 'consultation_new' },
        { type: 'facilitator_handover', member_id: K.memberId }, { type: 'role_set', member_id: K.memberId, observer: true },
        { type: 'member_remove', member_id: g.K[1].memberId }, { type: 'hand_lower', member_id: g.K[1].memberId }])
        await K.refused(cmd, 'not_facilitator');
    await nobodyElseHears(g, K);
    await finish(g);
});

test('not_your_role: a consultant cannot write the problem, the client cannot ask a question', async () => {
    const g = await group('expose');
    await g.K[0].refused({ type: 'problem_set', text: "Je prends la place du client." }, 'not_your_role');
    await advance(g, 'clarification');
    await g.C.refused({ type: 'question_ask', text: 'Je me pose une question à moi-même ?' }, 'not_your_role');
    await g.F.refused({ type: 'question_ask', text: "Une question de l'animatrice ?" }, 'not_your_role');
    await g.K[0].refused({ type: 'contract_set', text: "J'aimerais que vous m'aidiez à…" }, 'not_your_role');
    await nobodyElseHears(g, null);
    await finish(g);
});

test('wrong_step: allowed for the role but not in this step', async () => {
    const g = await group('opening');
    const K = g.K[0];
    await K.refused({ type: 'contribution_post', kind: 'suggestion', text: 'Trop tôt pour une suggestion.' }, 'wrong_step');
    await K.refused({ type: 'question_ask', text: 'Trop tôt pour une question ?' }, 'wrong_step');
    await K.refused({ type: 'learning_post', dimension: 'content', text: 'Trop tôt.' }, 'wrong_step');
    await K.refused({ type: 'topic_propose', text: 'Pas encore le moment.' }, 'wrong_step');
    await advance(g, 'clarification');
    await K.refused({ type: 'checkin_post', text: 'La météo est passée.' }, 'wrong_step');
    await K.refused({ type: 'contract_ack' }, 'wrong_step');
    await g.F.refused({ type: 'client_assign', member_id: g.K[1].memberId }, 'wrong_step');
    await nobodyElseHears(g, null);
    await finish(g);
});

test('client_muted is checked after not_facilitator: the client moving the step gets not_facilitator in consultation', async () => {
    const g = await group('consultation');
    await g.C.refused({ type: 'step_next' }, 'not_facilitator');
    await g.C.refused({ type: 'timer_pause' }, 'not_facilitator');
    await g.C.refused({ type: 'question_ask', text: 'Une question ?' }, 'client_muted');
    await nobodyElseHears(g, g.C);
    await finish(g);
});

test('observer_read_only: an observer can only take private notes, and is refused before not_facilitator', async () => {
    const g = await group('opening');
    const O = g.O;
    await O.refused({ type: 'checkin_post', text: 'Bonjour à tous.' }, 'observer_read_only');
    await O.refused({ type: 'hand_raise' }, 'observer_read_only');
    await O.refused({ type: 'step_next' }, 'observer_read_only');
    await O.refused({ type: 'session_close' }, 'observer_read_only');
    await nobodyElseHears(g, O);
    const ack = await O.ok({ type: 'note_post', text: "Le groupe démarre à l'heure." });
    const ev = await O.nextEvent('card_added');
    assert.deepEqual([ev.seq, ev.card.type, ev.card.author], [ack.seq, 'note', O.memberId]);
    await finish(g);
});

test('session_closed: after session_close everything is refused, private notes too', async () => {
    const g = await group('topic');
    const ack = await g.F.ok({ type: 'session_close' });
    await settle(g, ack.seq);
    g.everyone.forEach((c) => c.drain());
    await g.F.refused({ type: 'step_next' }, 'session_closed');
    await g.F.refused({ type: 'session_close' }, 'session_closed');
    await g.K[0].refused({ type: 'topic_propose', text: 'Encore un sujet ?' }, 'session_closed');
    await g.O.refused({ type: 'hand_raise' }, 'session_closed');
    await g.K[0].refused({ type: 'note_post', text: 'À reprendre la prochaine fois.' }, 'session_closed');
    await g.O.refused({ type: 'session_open' }, 'observer_read_only');
    await g.K[0].refused({ type: 'session_open' }, 'not_facilitator');
    await nobodyElseHears(g, null);
    await finish(g);
});

test('session_open: opening a session while one is open is refused', async () => {
    const g = await group('opening');
    await g.F.refused({ type: 'session_open' }, 'session_open');
    await g.K[0].refused({ type: 'session_open' }, 'not_facilitator');
    // The documented order: observer_read_only comes before not_facilitator.
    await g.O.refused({ type: 'session_open' }, 'observer_read_only');
    await nobodyElseHears(g, null);
    await finish(g);
});

// ---- leaving a step ------------------------------------------------------

test('no_client: topic cannot be left before a client is named', async () => {
    const g = await group('topic');
    await g.F.refused({ type: 'step_next' }, 'no_client');
    await nobodyElseHears(g, null);
    await finish(g);
});

test('no_problem: expose cannot be left before the problem is written', async () => {
    const g = await group('topic');
    await g.F.ok({ type: 'client_assign', member_id: g.C.memberId });
    await g.F.ok({ type: 'step_next' });
    g.clientNamed = true;
    await g.F.refused({ type: 'step_next' }, 'no_problem');
    await finish(g);
});

test('no_contract, contract_not_acked, then force: leaving contract needs the contract and every acknowledgement', async () => {
    const g = await group('clarification');
    const step = await g.F.ok({ type: 'step_next' });
    await settle(g, step.seq);
    await g.F.refused({ type: 'step_next' }, 'no_contract');
    await g.F.refused({ type: 'step_next', force: true }, 'no_contract');
    await g.C.ok({ type: 'contract_set', text: "J'aimerais que vous m'aidiez à préparer mon entretien." });
    await g.K[0].ok({ type: 'contract_ack' });
    await g.F.refused({ type: 'step_next' }, 'contract_not_acked');
    // A rewritten contract clears the acknowledgements.
    const rewrite = await g.C.ok({ type: 'contract_set', text: "J'aimerais que vous m'aidiez à préparer mon entretien annuel." });
    const ev = await g.K[2].nextEvent('contract', (m) => m.seq === rewrite.seq);
    assert.match(ev.text, /entretien annuel/);
    await g.K[1].ok({ type: 'contract_ack' });
    await g.K[2].ok({ type: 'contract_ack' });
    await g.F.refused({ type: 'step_next' }, 'contract_not_acked');
    const forced = await g.F.ok({ type: 'step_next', force: true });
    const stepEv = await g.K[1].nextEvent('step', (m) => m.seq === forced.seq);
    assert.equal(stepEv.step, 'consultation');
    await finish(g);
});

test('already_done: raising a raised hand, lowering a lowered one, handing over to oneself', async () => {
    const g = await group('opening');
    const K = g.K[0];
    await K.ok({ type: 'hand_raise' });
    await K.refused({ type: 'hand_raise' }, 'already_done');
    await K.ok({ type: 'hand_lower' });
    await K.refused({ type: 'hand_lower' }, 'already_done');
    await g.F.refused({ type: 'role_set', member_id: g.O.memberId, observer: true }, 'already_done');
    await g.F.refused({ type: 'facilitator_handover', member_id: g.F.memberId }, 'already_done');
    await finish(g);
});

test('unknown_action: debriefing a plan item that does not exist', async () => {
    const g = await group('opening');
    await g.K[0].refused({ type: 'debrief_post', debrief_id: randomUUID(), outcome: 'done' }, 'unknown_action');
    await nobodyElseHears(g, null);
    await finish(g);
});

test('member_remove: the removed member is told, disconnected, and its key no longer opens the group', async () => {
    const g = await group('opening');
    const gone = g.K[2];
    const ack = await g.F.ok({ type: 'member_remove', member_id: gone.memberId });
    for (const c of g.everyone.filter((x) => x !== gone))
        assert.deepEqual(await c.nextEvent('member_removed').then((m) => [m.seq, m.member_id]), [ack.seq, gone.memberId], c.name);
    const err = await gone.next((m) => m.type === 'error', 2000);
    assert.equal(err.code, 'member_removed');
    const closed = await Promise.race([gone.closed, new Promise((r) => setTimeout(() => r(null), 2000))]);
    assert.ok(closed, 'the removed member\'s connection is closed');
    const again = await Client.connect(srv.wsUrl, { name: 'retour' });
    const refused = await again.hello(g.groupId, gone.key);
    assert.deepEqual([refused.type, refused.code], ['error', 'member_removed']);
    const fresh = await again.hello(g.groupId, g.K[0].key);
    assert.equal(fresh.room.members.some((m) => m.id === gone.memberId), false);
    await g.F.refused({ type: 'member_remove', member_id: g.F.memberId }, 'bad_target');
    await finish(g, [again]);
});

test('bad_target: the facilitator cannot be named client', async () => {
    const g = await group('topic');
    await g.F.refused({ type: 'client_assign', member_id: g.F.memberId }, 'bad_target');
    await nobodyElseHears(g, null);
    await finish(g);
});

test('unknown_member and unknown_card: references to nothing are refused', async () => {
    const g = await group('clarification');
    await g.F.refused({ type: 'facilitator_handover', member_id: randomUUID() }, 'unknown_member');
    await g.F.refused({ type: 'member_remove', member_id: randomUUID() }, 'unknown_member');
    await g.C.refused({ type: 'question_answer', card_id: 9999, text: 'Réponse à rien.' }, 'unknown_card');
    await g.F.refused({ type: 'question_flag', card_id: 9999, flagged: true }, 'unknown_card');
    await nobodyElseHears(g, null);
    await finish(g);
});

test('timer_running and timer_stopped: start a running clock, pause a stopped one', async () => {
    const g = await group('topic');
    // Whether a step change starts the clock is not specified: start it unless it runs.
    const first = await g.F.send({ type: 'timer_start' });
    if (first.type === 'error') assert.equal(first.code, 'timer_running');
    await g.F.refused({ type: 'timer_start' }, 'timer_running');
    await g.F.ok({ type: 'timer_pause' });
    await g.F.refused({ type: 'timer_pause' }, 'timer_stopped');
    await finish(g);
});

test('bad_duration: timer_add beyond ±3600 s and timer_set beyond 8 h are refused', async () => {
    const g = await group('topic');
    for (const cmd of [{ type: 'timer_add', seconds: 3601 }, { type: 'timer_add', seconds: -3601 },
        { type: 'timer_set', seconds: 28801 }, { type: 'timer_set', seconds: -1 }]) {
        const reply = await g.F.send(cmd, { unchecked: true });
        assert.deepEqual([reply.type, reply.code], ['error', 'bad_duration'], JSON.stringify(cmd));
    }
    await nobodyElseHears(g, null);
    await finish(g);
});

test('text_empty and text_too_long: card texts are 1 to 1000 characters, counted as characters', async () => {
    const g = await group('opening');
    const K = g.K[0];
    for (const text of ['', '   ']) {
        const reply = await K.send({ type: 'checkin_post', text }, { unchecked: true });
        assert.deepEqual([reply.type, reply.code], ['error', 'text_empty'], JSON.stringify(text));
    }
    const long = await K.send({ type: 'checkin_post', text: 'é'.repeat(1001) }, { unchecked: true });
    assert.deepEqual([long.type, long.code], ['error', 'text_too_long']);
    await nobodyElseHears(g, K);
    // 1000 two-byte characters (2000 bytes) are within the limit.
    const ack = await K.ok({ type: 'checkin_post', text: 'é'.repeat(1000) });
    const ev = await g.F.nextEvent('card_added', (m) => m.seq === ack.seq);
    assert.equal(ev.card.text, 'é'.repeat(1000));
    await finish(g);
});

test('text_too_long: the problem statement and the contract hold up to 4000 characters', async () => {
    const g = await group('topic');
    await g.F.ok({ type: 'client_assign', member_id: g.C.memberId });
    g.clientNamed = true;
    await advance(g, 'expose');
    const over = await g.C.send({ type: 'problem_set', text: 'é'.repeat(4001) }, { unchecked: true });
    assert.deepEqual([over.type, over.code], ['error', 'text_too_long']);
    const ack = await g.C.ok({ type: 'problem_set', text: 'é'.repeat(4000) });
    assert.equal((await g.K[0].nextEvent('problem')).seq, ack.seq);
    g.problem = true;
    await advance(g, 'contract');
    const c = await g.C.send({ type: 'contract_set', text: 'à'.repeat(4001) }, { unchecked: true });
    assert.deepEqual([c.type, c.code], ['error', 'text_too_long']);
    await finish(g);
});

test('a step change lowers every hand: a hands event with the empty queue comes just before the step event', async () => {
    const g = await group('clarification');
    await g.K[0].ok({ type: 'hand_raise' });
    const up = await g.K[1].ok({ type: 'hand_raise' });
    await settle(g, up.seq);
    g.everyone.forEach((c) => c.drain());
    const ack = await g.F.ok({ type: 'step_next' });
    for (const c of g.everyone) {
        const hands = await c.nextEvent('hands');
        const step = await c.nextEvent('step');
        assert.deepEqual([hands.hands, hands.seq, step.seq, step.step], [[], ack.seq - 1, ack.seq, 'contract'], c.name);
    }
    await finish(g);
});
