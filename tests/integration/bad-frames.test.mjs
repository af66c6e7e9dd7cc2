// Bad input on the WebSocket: each bad frame gets its documented error
// (proto/README.md 2.5), the session goes on (a following valid command on
// the same connection works) and nobody else is affected.
import test from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { isSignificant, Client } from './lib/client.mjs';
import { setupGroup, advance, assertAllClean, closeAll, reconnect } from './lib/scenario.mjs';

let srv;
test.before(async () => { srv = await startServer(); });
test.after(async () => { await srv.stop(); });

/** A group in clarification; K[0] is the sender of bad frames. */
async function group() {
    const g = await setupGroup(srv);
    await advance(g, 'clarification');
    return g;
}

/** The next error frame on c (no reply tracking: raw frames have no pending id). */
const nextError = (c, ms = 2000) => c.next((m) => m.type === 'error', ms);

/**
 * Nobody else received anything; then a valid command from sender works on
 * the same connection and reaches the others.
 */
async function sessionGoesOn(g, sender) {
    const others = g.everyone.filter((c) => c !== sender);
    await Promise.all(others.map((c) => c.expectNoneAfterBarrier(isSignificant)));
    await sender.expectNoneAfterBarrier(isSignificant);
    const ack = await sender.ok({ type: 'question_ask', text: 'Une vraie question, après le message invalide ?' });
    for (const c of g.everyone) {
        const ev = await c.nextEvent('card_added');
        assert.deepEqual([ev.seq, ev.card.author], [ack.seq, sender.memberId], c.name);
    }
    assertAllClean(g);
    await closeAll(g);
}

async function expectFrameError(raw, code, id) {
    const g = await group();
    const K = g.K[0];
    K.sendRaw(raw);
    const err = await nextError(K);
    assert.equal(err.code, code, `${raw.slice(0, 80)} -> ${JSON.stringify(err)}`);
    if (id === undefined) assert.equal(err.id, undefined, 'no id when the frame has none');
    else assert.equal(err.id, id);
    assert.ok(err.message.length > 0);
    await sessionGoesOn(g, K);
}

test('not JSON: bad_json, and the session goes on', () => expectFrameError('{"type": "question_ask", "id": "x1", "text": "pas fini', 'bad_json'));

test('a JSON array: bad_message', () => expectFrameError(JSON.stringify([{ type: 'hand_raise', id: 'arr-1' }]), 'bad_message'));

test('a JSON string, number or null: bad_message', async () => {
    const g = await group();
    const K = g.K[0];
    for (const raw of ['"hand_raise"', '42', 'null', 'true']) {
        K.sendRaw(raw);
        assert.equal((await nextError(K)).code, 'bad_message', raw);
    }
    await sessionGoesOn(g, K);
});

test('an object without a string type: bad_message', async () => {
    const g = await group();
    const K = g.K[0];
    for (const msg of [{ id: 'no-type-1', text: 'x' }, { type: 7, id: 'num-type-1' }, { type: null, id: 'null-type-1' }]) {
        K.sendJson(msg);
        const err = await nextError(K);
        assert.equal(err.code, 'bad_message', JSON.stringify(msg));
    }
    await sessionGoesOn(g, K);
});

test('an unknown type: unknown_type with the command id', () => expectFrameError(JSON.stringify({ type: 'vote', id: 'vote-1', card_id: 1 }), 'unknown_type', 'vote-1'));

test('missing fields: missing_field with the command id; a command without id: missing_field', async () => {
    const g = await group();
    const K = g.K[0];
    for (const [msg, id] of [
        [{ type: 'question_ask', id: 'mf-1' }, 'mf-1'],
        [{ type: 'contribution_post', id: 'mf-2', text: 'Sans kind.' }, 'mf-2'],
        [{ type: 'question_answer', id: 'mf-3', text: 'Sans card_id.' }, 'mf-3'],
        [{ type: 'role_set', id: 'mf-4', member_id: K.memberId }, 'mf-4'],
        [{ type: 'hand_raise' }, undefined],
        [{ type: 'hello', member_key: K.key }, undefined],
    ]) {
        K.sendJson(msg);
        const err = await nextError(K);
        assert.deepEqual([err.code, err.id], ['missing_field', id], JSON.stringify(msg));
    }
    await sessionGoesOn(g, K);
});

test('wrong field types and values: bad_field with the command id', async () => {
    const g = await group();
    const K = g.K[0];
    const cases = [
        { type: 'question_ask', id: 'bf-1', text: 42 },
        { type: 'question_ask', id: 'bf-2', text: ['Une', 'liste'] },
        { type: 'contribution_post', id: 'bf-3', kind: 'critique', text: 'Un type inconnu.' },
        { type: 'question_answer', id: 'bf-4', card_id: '1', text: 'Un id en texte.' },
        { type: 'question_flag', id: 'bf-5', card_id: 1, flagged: 'oui' },
        { type: 'timer_add', id: 'bf-6', seconds: 1.5 },
        { type: 'timer_set', id: 'bf-7', seconds: '60' },
        { type: 'step_next', id: 'bf-8', force: 1 },
        { type: 'learning_post', id: 'bf-9', dimension: 'personal', text: 'Une dimension inconnue.' },
        { type: 'debrief_post', id: 'bf-10', debrief_id: 12, outcome: 'done' },
        { type: 'client_assign', id: 'bf-11', member_id: 42 },
    ];
    for (const msg of cases) {
        K.sendJson(msg);
        const err = await nextError(K);
        assert.deepEqual([err.code, err.id], ['bad_field', msg.id], JSON.stringify(msg));
    }
    await sessionGoesOn(g, K);
});

test('a bad command id: empty, longer than 64 characters or not a string gets bad_field', async () => {
    const g = await group();
    const K = g.K[0];
    for (const id of ['', 'x'.repeat(65), 17, { n: 1 }]) {
        K.sendJson({ type: 'hand_raise', id });
        const err = await nextError(K);
        assert.equal(err.code, 'bad_field', JSON.stringify(id));
        assert.equal(err.id, undefined, 'an unusable id is not echoed');
    }
    await sessionGoesOn(g, K);
});

test('a command id of 64 characters is accepted, even when the characters are not ASCII', async () => {
    const g = await group();
    const K = g.K[0];
    const ascii = await K.send({ type: 'hand_raise', id: 'a'.repeat(64) });
    assert.deepEqual([ascii.type, ascii.id], ['ack', 'a'.repeat(64)]);
    // proto/README.md 2.3: "a string of 1–64 characters". 64 'é' are 128 bytes.
    K.sendJson({ type: 'hand_lower', id: 'é'.repeat(64) });
    const wide = await K.next((m) => m.type === 'ack' || m.type === 'error');
    assert.deepEqual([wide.type, wide.id], ['ack', 'é'.repeat(64)], JSON.stringify(wide));
    assertAllClean(g);
    await closeAll(g);
});

test('JSON nested deeper than 8 levels: too_deep', () => {
    let text = '"fond"';
    for (let i = 0; i < 10; i++) text = `{"a": ${text}}`;
    return expectFrameError(`{"type": "question_ask", "id": "deep-1", "text": "x", "extra": ${text}}`, 'too_deep');
});

test('an oversized message (> 65536 bytes): too_large and close 1009; the others are unaffected', async () => {
    const g = await group();
    const K = g.K[0];
    K.sendJson({ type: 'question_ask', id: 'big-1', text: 'x'.repeat(70000) });
    const closed = await Promise.race([K.closed, new Promise((r) => setTimeout(() => r(null), 3000))]);
    assert.ok(closed, 'the connection is closed');
    assert.equal(closed.code, 1009);
    const errors = K.received((m) => m.type === 'error');
    assert.deepEqual(errors.map((e) => e.code), ['too_large'], 'one too_large error before the close');
    const others = g.everyone.filter((c) => c !== K);
    await Promise.all(others.map((c) => c.expectNoneAfterBarrier(isSignificant)));
    // The member reconnects and goes on; the others see the new question.
    const back = await reconnect(srv, K);
    const ack = await back.ok({ type: 'question_ask', text: 'Une question de taille raisonnable ?' });
    for (const c of others) assert.equal((await c.nextEvent('card_added')).seq, ack.seq, c.name);
    assertAllClean(g, [back]);
    await closeAll(g, [back]);
});

test('a message just under 65536 bytes is decoded, not too_large: its long text gets text_too_long', async () => {
    const g = await group();
    const K = g.K[0];
    const text = 'y'.repeat(65536 - 100);
    const msg = JSON.stringify({ type: 'question_ask', id: 'near-1', text });
    assert.ok(msg.length <= 65536);
    K.sendRaw(msg);
    const err = await nextError(K);
    assert.deepEqual([err.code, err.id], ['text_too_long', 'near-1']);
    assert.equal(K.isOpen, true);
    await sessionGoesOn(g, K);
});

test('a binary frame: binary_frame, the connection stays open and the session goes on', async () => {
    const g = await group();
    const K = g.K[0];
    K.sendRaw(Buffer.from(JSON.stringify({ type: 'hand_raise', id: 'bin-1' })), { binary: true });
    const err = await nextError(K);
    assert.equal(err.code, 'binary_frame');
    assert.equal(K.isOpen, true);
    await sessionGoesOn(g, K);
});

test('a text frame that is not valid UTF-8: bad_json, or a 1007 close as RFC 6455 requires', async () => {
    const g = await group();
    const K = g.K[0];
    const bytes = Buffer.concat([Buffer.from('{"type":"question_ask","id":"utf-1","text":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]);
    K.sendRaw(bytes, { binary: false });
    const outcome = await Promise.race([
        nextError(K, 3000).then((e) => ({ error: e })),
        K.closed.then((c) => ({ close: c })),
    ]);
    if (outcome.error) {
        assert.equal(outcome.error.code, 'bad_json');
        await sessionGoesOn(g, K);
    } else {
        assert.equal(outcome.close.code, 1007);
        const others = g.everyone.filter((c) => c !== K);
        await Promise.all(others.map((c) => c.expectNoneAfterBarrier(isSignificant)));
        assertAllClean(g);
        await closeAll(g);
    }
});

test('a hello with a malformed group id or key is refused with an error and the connection stays open', async () => {
    const g = await group();
    const c = await Client.connect(srv.wsUrl, { name: 'hello-invalide' });
    c.sendJson({ type: 'hello', group_id: 42, member_key: g.K[0].key });
    assert.equal((await nextError(c)).code, 'bad_field');
    c.sendJson({ type: 'hello', group_id: g.groupId, member_key: g.K[0].key, last_seq: -3 });
    assert.equal((await nextError(c)).code, 'bad_field');
    const err = await c.hello('pas-un-uuid', g.K[0].key);
    assert.ok(['unknown_group', 'bad_field'].includes(err.code), err.code);
    assert.equal((await c.hello(g.groupId, g.K[0].key)).type, 'welcome');
    assertAllClean(g, [c]);
    await closeAll(g, [c]);
});
