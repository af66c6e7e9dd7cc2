// The catalogue of bad inputs (issue 5): over fifty hostile or broken
// messages, each answered with its documented error while the server stays
// up and the session in progress stays exactly as it was (same sequence
// number, same cards, same step) for everyone.
import test from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { Client, isSignificant } from './lib/client.mjs';
import { setupGroup, advance, reconnect, drainAll } from './lib/scenario.mjs';

let srv, g, other, otherCard;
const big = (n) => 'x'.repeat(n);
const deep = (n) => '['.repeat(n) + ']'.repeat(n);
const uuid0 = '00000000-0000-4000-8000-000000000000';

/** Room state that no bad input may change. */
async function roomState(who) {
    const c = await reconnect(srv, who);
    const room = c.log.find((m) => m.type === 'welcome').room;
    await c.close();
    return { seq: room.seq, step: room.step, cards: room.cards, hands: room.hands, consultations: room.consultations };
}

test.before(async () => {
    /* Every case ends with a barrier on each member's connection (one
     * command each, some sixty in a few seconds): more than the default
     * burst of 40 per connection. Rate limits have their own tests
     * (limits.test.mjs). */
    srv = await startServer({ args: ['--set', 'commands_burst=1000'] });
    g = await setupGroup(srv);
    await advance(g, 'clarification');
    await g.K[0].ok({ type: 'question_ask', text: 'Question de départ ?' });
    // Another group, whose card ids and member ids must mean nothing here.
    other = await setupGroup(srv, { consultants: ['Yann'], client: 'Zoé', observer: null });
    await advance(other, 'clarification');
    otherCard = (await other.K[0].ok({ type: 'question_ask', text: 'Autre groupe ?' })).seq;
});
test.after(async () => { await srv.stop(); });

// [name, sender (K consultant, C client, F facilitator, O observer, N no hello), frame, expected code]
// A frame is a string (sent raw), an object (sent as JSON) or a function of g.
const cases = [
    // not JSON, or not an object
    ['plain text', 'K', 'bonjour', 'bad_json'],
    ['truncated object', 'K', '{"type":"hand_raise","id":"t1"', 'bad_json'],
    ['trailing garbage', 'K', '{"type":"hand_raise","id":"t2"} x', 'bad_json'],
    ['single quotes', 'K', "{'type':'hand_raise'}", 'bad_json'],
    ['empty frame', 'K', '', 'bad_json'],
    ['NaN literal', 'K', '{"type":"timer_add","id":"t3","seconds":NaN}', 'bad_json'],
    ['duplicate keys', 'K', '{"type":"hand_raise","id":"t4","type":"session_close"}', 'bad_json'],
    ['NUL escape in a string', 'K', '{"type":"question_ask","id":"t5","text":"a\\u0000b"}', 'bad_json'],
    ['lone surrogate escape', 'K', '{"type":"question_ask","id":"t6","text":"\\ud800"}', 'bad_json'],
    ['a JSON array', 'K', '[{"type":"hand_raise","id":"t7"}]', 'bad_message'],
    ['a JSON number', 'K', '12', 'bad_message'],
    ['a JSON string', 'K', '"hand_raise"', 'bad_message'],
    ['null', 'K', 'null', 'bad_message'],
    ['no type', 'K', { id: 't8', text: 'x' }, 'bad_message'],
    ['type is a number', 'K', { type: 7, id: 't9' }, 'bad_message'],
    ['type is an object', 'K', { type: { a: 1 }, id: 't10' }, 'bad_message'],
    // unknown types
    ['unknown type', 'K', { type: 'vote', id: 't11' }, 'unknown_type'],
    ['type in upper case', 'K', { type: 'HAND_RAISE', id: 't12' }, 'unknown_type'],
    ['reply-like type', 'K', { type: 'card_reply', id: 't13', card_id: 1, text: 'non' }, 'unknown_type'],
    ['a server message type', 'K', { type: 'welcome', id: 't14' }, 'unknown_type'],
    // missing and wrong fields
    ['no id', 'K', { type: 'question_ask', text: 'x' }, 'missing_field'],
    ['id is a number', 'K', { type: 'question_ask', id: 5, text: 'x' }, 'bad_field'],
    ['id is empty', 'K', { type: 'question_ask', id: '', text: 'x' }, 'bad_field'],
    ['id of 65 characters', 'K', { type: 'question_ask', id: big(65), text: 'x' }, 'bad_field'],
    ['no text', 'K', { type: 'question_ask', id: 't15' }, 'missing_field'],
    ['text is null', 'K', { type: 'question_ask', id: 't16', text: null }, 'missing_field'],
    ['text is an array', 'K', { type: 'question_ask', id: 't17', text: ['a'] }, 'bad_field'],
    ['text is an object', 'K', { type: 'question_ask', id: 't18', text: { fr: 'a' } }, 'bad_field'],
    ['empty text', 'K', { type: 'question_ask', id: 't19', text: '' }, 'text_empty'],
    ['blank text', 'K', { type: 'question_ask', id: 't20', text: ' \n\t ' }, 'text_empty'],
    ['text of 1001 characters', 'K', { type: 'question_ask', id: 't21', text: 'é'.repeat(1001) }, 'text_too_long'],
    ['card_id is a string', 'F', { type: 'question_flag', id: 't22', card_id: '1', flagged: true }, 'bad_field'],
    ['card_id is negative', 'F', { type: 'question_flag', id: 't23', card_id: -1, flagged: true }, 'bad_field'],
    ['card_id is a float', 'F', { type: 'question_flag', id: 't24', card_id: 1.5, flagged: true }, 'bad_field'],
    ['flagged is a string', 'F', { type: 'question_flag', id: 't25', card_id: 1, flagged: 'yes' }, 'bad_field'],
    ['kind unknown', 'K', { type: 'contribution_post', id: 't26', kind: 'vote', text: 'x' }, 'bad_field'],
    ['seconds is a string', 'F', { type: 'timer_add', id: 't27', seconds: '60' }, 'bad_field'],
    // huge numbers and deep nesting
    ['huge integer', 'F', '{"type":"timer_add","id":"t28","seconds":123456789012345678901234567890}', 'bad_json'],
    ['number overflowing a double', 'F', '{"type":"timer_add","id":"t29","seconds":1e400}', 'bad_json'],
    ['seconds far out of range', 'F', { type: 'timer_add', id: 't30', seconds: 9007199254740991 }, 'bad_duration'],
    ['timer_set negative', 'F', { type: 'timer_set', id: 't31', seconds: -5 }, 'bad_duration'],
    ['card_id beyond 32 bits', 'F', { type: 'question_flag', id: 't32', card_id: 4294967296, flagged: true }, 'bad_field'],
    ['nesting 9 deep', 'K', `{"type":"hand_raise","id":"t33","x":${deep(8)}}`, 'too_deep'],
    ['nesting 10000 deep', 'K', `{"type":"hand_raise","id":"t34","x":${deep(10000)}}`, 'too_deep'],
    // commands for another room or forged authority
    ['card of another group', 'C', () => ({ type: 'question_answer', id: 't35', card_id: otherCard, text: 'r' }), 'unknown_card'],
    ['member of another group', 'F', () => ({ type: 'facilitator_handover', id: 't36', member_id: other.K[0].memberId }), 'unknown_member'],
    ['member id that is not a UUID', 'F', { type: 'member_remove', id: 't37', member_id: "'; DROP TABLE members; --" }, 'bad_field'],
    ['member id of 36 characters that is not a UUID', 'F', { type: 'client_assign', id: 't37b', member_id: 'x'.repeat(36) }, 'bad_field'],
    ['debrief id that is not a UUID', 'K', { type: 'debrief_post', id: 't37c', debrief_id: '42', outcome: 'done' }, 'bad_field'],
    ['hello with a group id that is not a UUID', 'N', () => ({ type: 'hello', group_id: 'groupe-1', member_key: g.F.key }), 'bad_field'],
    ['consultant moves the step', 'K', { type: 'step_next', id: 't38' }, 'not_facilitator'],
    ['consultant closes the session', 'K', { type: 'session_close', id: 't39' }, 'not_facilitator'],
    ['consultant removes the facilitator', 'K', () => ({ type: 'member_remove', id: 't40', member_id: g.F.memberId }), 'not_facilitator'],
    ['client writes the contract too early', 'C', { type: 'contract_set', id: 't41', text: 'x' }, 'wrong_step'],
    ['consultant answers a question', 'K', { type: 'question_answer', id: 't42', card_id: 1, text: 'x' }, 'not_your_role'],
    ['observer asks a question', 'O', { type: 'question_ask', id: 't43', text: 'x' }, 'observer_read_only'],
    ['extra role field is ignored, rule applies', 'K', { type: 'step_next', id: 't44', role: 'facilitator', as: 'F' }, 'not_facilitator'],
    ['second hello', 'K', () => ({ type: 'hello', group_id: g.groupId, member_key: g.F.key }), 'already_hello'],
    // before hello
    ['command before hello', 'N', { type: 'hand_raise', id: 't45' }, 'hello_required'],
    ['hello with a key of another group', 'N', () => ({ type: 'hello', group_id: g.groupId, member_key: other.F.key }), 'bad_key'],
    ['hello with the invite code as key', 'N', () => ({ type: 'hello', group_id: g.groupId, member_key: g.invite }), 'bad_key'],
    ['hello with an unknown group', 'N', () => ({ type: 'hello', group_id: uuid0, member_key: g.F.key }), 'unknown_group'],
    ['hello with a key that is too short', 'N', () => ({ type: 'hello', group_id: g.groupId, member_key: 'abc' }), 'bad_key'],
    ['hello with a number as key', 'N', () => ({ type: 'hello', group_id: g.groupId, member_key: 42 }), 'bad_field'],
];

for (const [name, who, frame, code] of cases) {
    test(`bad input "${name}" -> ${code}; nothing changes`, async () => {
        drainAll(g);
        const before = await roomState(g.F);
        let sender;
        if (who === 'N') sender = await Client.connect(srv.wsUrl, { name: 'anonymous' });
        else sender = await reconnect(srv, who === 'K' ? g.K[0] : who === 'C' ? g.C : who === 'F' ? g.F : g.O);
        const f = typeof frame === 'function' ? frame() : frame;
        sender.sendRaw(typeof f === 'string' ? f : JSON.stringify(f));
        const err = await sender.next((m) => m.type === 'error' || m.type === 'ack', 3000);
        assert.equal(err.type, 'error', JSON.stringify(err));
        assert.equal(err.code, code, JSON.stringify(err));
        assert.ok(err.message.length > 0);
        await Promise.all(g.everyone.map((c) => c.expectNoneAfterBarrier(isSignificant)));
        assert.deepEqual(await roomState(g.F), before, 'the room is unchanged');
        await sender.close();
    });
}

test('a replayed command id is acknowledged as a duplicate and changes nothing', async () => {
    const id = `replay-${Date.now()}`;
    const first = await g.K[1].ok({ type: 'question_ask', id, text: 'Une seule fois ?' });
    const before = await roomState(g.F);
    const again = await g.K[1].send({ type: 'question_ask', id, text: 'Une seule fois ?' });
    assert.deepEqual([again.type, again.seq, again.duplicate], ['ack', first.seq, true]);
    const other2 = await reconnect(srv, g.K[1]);
    const viaNewConnection = await other2.send({ type: 'question_ask', id, text: 'autre texte' });
    assert.deepEqual([viaNewConnection.seq, viaNewConnection.duplicate], [first.seq, true]);
    await other2.close();
    assert.deepEqual(await roomState(g.F), before);
});

test('a binary frame, a flood of fragments and an oversized message are refused; the server stays up', async () => {
    const before = await roomState(g.F);
    const c = await reconnect(srv, g.K[2]);
    c.sendRaw(Buffer.from([1, 2, 3]), { binary: true });
    assert.equal((await c.next((m) => m.type === 'error')).code, 'binary_frame');
    // A message sent as many small fragments whose total passes the limit.
    const bye = new Promise((resolve) => c.ws.once('close', (code) => resolve(code)));
    const chunk = Buffer.from('x'.repeat(4096));
    c.ws.send(Buffer.from('{"type":"question_ask","id":"flood","text":"'), { fin: false, binary: false });
    for (let i = 0; i < 20; i++) c.ws.send(chunk, { fin: false, binary: false });
    c.ws.send(Buffer.from('"}'), { fin: true, binary: false });
    assert.equal((await c.next((m) => m.type === 'error')).code, 'too_large');
    assert.equal(await bye, 1009);
    assert.deepEqual(await roomState(g.F), before);
    const health = await fetch(srv.url + '/api/health');
    assert.equal(health.status, 200);
});

test('HTTP: oversized bodies, bad JSON and wrong keys get their errors; nothing is created', async () => {
    const post = (path, body, key) => fetch(srv.url + path, {
        method: 'POST', body, headers: key ? { authorization: `Bearer ${key}` } : {},
    });
    let r = await post('/api/groups', big(20000));
    assert.equal(r.status, 413);
    assert.equal((await r.json()).error.code, 'too_large');
    r = await post('/api/groups', '{"name": "G", ');
    assert.equal((await r.json()).error.code, 'bad_json');
    r = await post(`/api/groups/${g.groupId}/sessions`, '{}', other.F.key);
    assert.equal(r.status, 401);
    r = await post(`/api/groups/${g.groupId}/sessions`, '{}', g.K[0].key);
    assert.equal(r.status, 403);
    r = await post(`/api/groups/${g.groupId}/members`, JSON.stringify({ invite_code: other.invite, display_name: 'Intrus' }));
    assert.equal(r.status, 403);
    assert.equal((await r.json()).error.code, 'bad_invite');
    r = await fetch(`${srv.url}/api/groups/${g.groupId}`, { headers: { authorization: `Basic ${g.F.key}` } });
    assert.equal(r.status, 401);
});

test('HTTP: deleting a group needs its facilitator\'s key; strangers and members delete nothing', async () => {
    const before = await roomState(g.F);
    const del = (path, key) => fetch(srv.url + path, { method: 'DELETE', headers: key ? { authorization: `Bearer ${key}` } : {} });
    const cases = [
        [`/api/groups/${g.groupId}`, undefined, 401, 'unauthorized'],
        [`/api/groups/${g.groupId}`, g.invite, 401, 'unauthorized'],
        [`/api/groups/${g.groupId}`, other.F.key, 401, 'unauthorized'],
        [`/api/groups/${g.groupId}`, g.K[0].key, 403, 'not_facilitator'],
        [`/api/groups/${g.groupId}`, g.O.key, 403, 'not_facilitator'],
        [`/api/groups/${uuid0}`, g.F.key, 404, 'unknown_group'],
        ['/api/groups', g.F.key, 405, 'method_not_allowed'],
        [`/api/groups/${g.groupId}/members`, g.F.key, 405, 'method_not_allowed'],
    ];
    for (const [path, key, status, code] of cases) {
        const r = await del(path, key);
        assert.equal(r.status, status, `DELETE ${path}`);
        assert.equal((await r.json()).error.code, code, `DELETE ${path}`);
    }
    const r = await fetch(`${srv.url}/api/groups/${g.groupId}`, { headers: { authorization: `Bearer ${g.K[0].key}` } });
    assert.equal(r.status, 200, 'the group is still there');
    assert.deepEqual(await roomState(g.F), before);
});

test('HTTP: brackets inside a name are text, not nesting (a group "Team [a][b][c][d][e]" is created)', async () => {
    const name = 'Team [a][b][c][d][e] {x}{y}{z}{w}{v} \\"[[[[[';
    const r = await fetch(srv.url + '/api/groups', {
        method: 'POST',
        body: JSON.stringify({ name, facilitator_name: 'Anne [[[[[[', language: 'fr', format: 90 }),
    });
    const body = await r.json();
    assert.equal(r.status, 201, JSON.stringify(body));
    const got = await fetch(`${srv.url}/api/groups/${body.group_id}`, { headers: { authorization: `Bearer ${body.member_key}` } });
    assert.equal((await got.json()).name, name);
    // Real nesting is still refused.
    const deepBody = await fetch(srv.url + '/api/groups', { method: 'POST', body: '{"a":{"b":{"c":{"d":{"e":1}}}}}' });
    assert.equal((await deepBody.json()).error.code, 'too_deep');
});

test('HTTP: names holding bidirectional overrides, zero-width or control characters are refused with bad_field', async () => {
    const bad = ['Anne\u202Eeg', 'Anne\u202A', 'Anne\u2066x\u2069', 'An\u200Bne', 'An\u200Dne', 'Anne\u200F',
        '\uFEFFAnne', 'An\u2028ne', 'An\u2029ne', 'An\u0085ne', 'An\u009Bne', 'An\u001Bne', 'An\u007Fne'];
    const create = (name, fname) => fetch(srv.url + '/api/groups', {
        method: 'POST', body: JSON.stringify({ name, facilitator_name: fname, language: 'fr', format: 90 }),
    });
    for (const name of bad) {
        const label = JSON.stringify(name);
        let r = await create(name, 'F');
        assert.equal(r.status, 400, `group name ${label}`);
        assert.equal((await r.json()).error.code, 'bad_field');
        r = await create('G', name);
        assert.equal((await r.json()).error.code, 'bad_field', `facilitator_name ${label}`);
        r = await fetch(`${srv.url}/api/groups/${g.groupId}/members`, {
            method: 'POST', body: JSON.stringify({ invite_code: g.invite, display_name: name }),
        });
        assert.equal(r.status, 400, `display_name ${label}`);
        assert.equal((await r.json()).error.code, 'bad_field');
    }
    // Card text is not a name: the same characters are text there.
    const ack = await g.K[1].ok({ type: 'question_ask', text: 'Pourquoi \u202Ececi\u202C ?' });
    assert.ok(ack.seq > 0);
});

test('network edge: origins of another scheme or port are refused, half-sent requests hold nothing; the session goes on', async () => {
    const before = await roomState(g.F);
    const refused = /upgrade refused|Unexpected server response|socket hang up/;
    const port = new URL(srv.url).port;
    await assert.rejects(Client.connect(srv.wsUrl, { origin: `https://127.0.0.1:${port}` }), refused);
    await assert.rejects(Client.connect(srv.wsUrl, { origin: `http://127.0.0.1:${Number(port) + 1}` }), refused);
    await assert.rejects(Client.connect(srv.wsUrl, { origin: 'http://127.0.0.1' }), refused);
    await assert.rejects(Client.connect(srv.wsUrl, { origin: 'null' }), refused);
    // Half a request and half a body, left hanging, while members go on.
    const net = await import('node:net');
    const halves = ['GET /api/health HTTP/1.1\r\nHo', 'POST /api/groups HTTP/1.1\r\nContent-Length: 50\r\n\r\n{"na'].map((text) => {
        const s = net.connect({ host: '127.0.0.1', port: Number(port) });
        s.on('error', () => {});
        s.on('connect', () => s.write(text));
        return s;
    });
    try {
        assert.deepEqual(await roomState(g.F), before, 'the room is unchanged');
        assert.equal((await g.K[0].send({ type: 'hand_raise' })).type, 'ack');
        await g.K[0].ok({ type: 'hand_lower' });
        assert.equal((await fetch(srv.url + '/api/health')).status, 200);
    } finally {
        for (const s of halves) s.destroy();
    }
});
