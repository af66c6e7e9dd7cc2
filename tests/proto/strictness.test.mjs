// The schemas are strict: deviations a server (or client) could make are
// refused. Each case mutates a valid example and expects errors.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, validateServerMessage, validateClientMessage, validateHttp } from '../integration/lib/schemas.mjs';

const ex = (rel) => JSON.parse(readFileSync(path.join(repoRoot, 'proto', 'examples', rel), 'utf8'));
const mutate = (rel, fn) => { const o = structuredClone(ex(rel)); fn(o); return o; };

const serverBad = {
    'an event without seq': mutate('server/card_added.json', (o) => { delete o.seq; }),
    'an event with seq 0': mutate('server/card_added.json', (o) => { o.seq = 0; }),
    'an event with a string seq': mutate('server/hands.json', (o) => { o.seq = '62'; }),
    'an event without at_ms': mutate('server/closed.json', (o) => { delete o.at_ms; }),
    'an extra top-level field': mutate('server/problem.json', (o) => { o.author = o.text; }),
    'an unknown message type': { type: 'card_deleted', seq: 3, at_ms: 1 },
    'an error code not in errors.h': mutate('server/error.json', (o) => { o.code = 'forbidden'; }),
    'an error without message': mutate('server/error.json', (o) => { delete o.message; }),
    'an ack with duplicate:false': mutate('server/ack.json', (o) => { o.duplicate = false; }),
    'an ack with a 65-character id': mutate('server/ack.json', (o) => { o.id = 'x'.repeat(65); }),
    'a card with an unknown type': mutate('server/card_added.json', (o) => { o.card.type = 'comment'; }),
    'a contribution without kind': mutate('server/card_added.json', (o) => { delete o.card.kind; }),
    'a contribution with an unknown kind': mutate('server/card_added.json', (o) => { o.card.kind = 'critique'; }),
    'a contribution posted in another step': mutate('server/card_added.json', (o) => { o.card.step = 'synthesis'; }),
    'a question without flagged': mutate('server/card_added.question.json', (o) => { delete o.card.flagged; }),
    'a question with marked': mutate('server/card_added.question.json', (o) => { o.card.marked = true; }),
    'a learning with an unknown dimension': mutate('server/card_added.learning.json', (o) => { o.card.dimension = 'personal'; }),
    'an action without due': mutate('server/card_added.action.json', (o) => { delete o.card.due; }),
    'a check-in with a consultation index': mutate('server/card_added.checkin.json', (o) => { o.card.consultation = 0; }),
    'a card author that is not a UUID': mutate('server/card_added.json', (o) => { o.card.author = 'Léa'; }),
    'a card id 0': mutate('server/card_added.json', (o) => { o.card.id = 0; }),
    'an empty card text': mutate('server/card_added.json', (o) => { o.card.text = ''; }),
    'a step event with an unknown step': mutate('server/step.json', (o) => { o.step = 'debate'; }),
    'a clock without remaining_ms': mutate('server/clock.json', (o) => { delete o.clock.remaining_ms; }),
    'a clock with a fractional used_ms': mutate('server/tick.json', (o) => { o.clock.used_ms = 1.5; }),
    'a tick with seq': mutate('server/tick.json', (o) => { o.seq = 4; }),
    'a presence with seq': mutate('server/presence.json', (o) => { o.seq = 4; }),
    'a welcome with another protocol': mutate('server/welcome.json', (o) => { o.protocol = 'codev.v2'; }),
    'a welcome whose role is unknown': mutate('server/welcome.json', (o) => { o.you.role = 'animateur'; }),
    'a snapshot without budgets.learning': mutate('server/welcome.json', (o) => { delete o.room.budgets.learning; }),
    'a snapshot with a budget for closed': mutate('server/welcome.json', (o) => { o.room.budgets.closed = 0; }),
    'a snapshot with an unknown member field': mutate('server/welcome.json', (o) => { o.room.members[0].key = 'q2XrT7vLpK3mN8wQz5YbHg'; }),
    'a snapshot with duplicate hands': mutate('server/welcome.json', (o) => { o.room.hands = [o.room.hands[0], o.room.hands[0]]; }),
    'a consultation with step_used_ms for opening': mutate('server/welcome.json', (o) => { o.room.consultations[0].step_used_ms.opening = 1000; }),
    'a debrief with an unknown outcome': mutate('server/debrief.json', (o) => { o.debrief.outcome = 'failed'; }),
    'a recadrage count 0': mutate('server/recadrage.json', (o) => { o.count = 0; }),
    'a frame element that is an array': [ex('server/closed.json')],
    'a question verdict without its cues': mutate('server/card_added.question.advice.json', (o) => { delete o.card.advice_cues; }),
    'a question cue in another language': mutate('server/card_added.question.advice.json', (o) => { o.card.advice_cues[0].lang = 'de'; }),
    'a note with parked false': mutate('server/card_added.note.parked.json', (o) => { o.card.parked = false; }),
    'a verdict on a note': mutate('server/card_added.note.json', (o) => { o.card.advice_like = true; o.card.advice_cues = []; }),
    'a question_check ack with a seq': mutate('server/ack.question_check.json', (o) => { o.seq = 3; }),
    'a question_check ack without cues': mutate('server/ack.question_check.json', (o) => { delete o.cues; }),
    'a command ack with advice_like': mutate('server/ack.json', (o) => { o.advice_like = false; }),
};
for (const [name, msg] of Object.entries(serverBad))
    test(`server schema refuses ${name}`, () => {
        assert.notDeepEqual(validateServerMessage(msg), []);
    });

const clientBad = {
    'a command without id': mutate('client/hand_raise.json', (o) => { delete o.id; }),
    'an empty command id': mutate('client/hand_raise.json', (o) => { o.id = ''; }),
    'a 65-character command id': mutate('client/hand_raise.json', (o) => { o.id = 'é'.repeat(65); }),
    'an extra field': mutate('client/hand_raise.json', (o) => { o.text = 'moi'; }),
    'a text that is a number': mutate('client/question_ask.json', (o) => { o.text = 42; }),
    'an empty text': mutate('client/question_ask.json', (o) => { o.text = ''; }),
    'a card text of 1001 characters': mutate('client/question_ask.json', (o) => { o.text = 'é'.repeat(1001); }),
    'a timer_add of 0 seconds': mutate('client/timer_add.json', (o) => { o.seconds = 0; }),
    'a timer_add of 3601 seconds': mutate('client/timer_add.json', (o) => { o.seconds = 3601; }),
    'a timer_set of -1 second': mutate('client/timer_set.json', (o) => { o.seconds = -1; }),
    'a card_id given as a string': mutate('client/mark_set.json', (o) => { o.card_id = '6'; }),
    'a hello with a short key': mutate('client/hello.json', (o) => { o.member_key = 'abc'; }),
    'a hello with a negative last_seq': mutate('client/hello.json', (o) => { o.last_seq = -1; }),
    'a hello with an id': mutate('client/hello.json', (o) => { o.id = 'h-1'; }),
    'a question_check of 1001 characters': mutate('client/question_check.json', (o) => { o.text = 'é'.repeat(1001); }),
    'a question_park without text': mutate('client/question_park.json', (o) => { delete o.text; }),
};
for (const [name, msg] of Object.entries(clientBad))
    test(`client schema refuses ${name}`, () => {
        assert.notDeepEqual(validateClientMessage(msg), []);
    });

test('http request schemas accept names with surrounding white space (trimmed by the server)', () => {
    assert.deepEqual(validateHttp('join_request', mutate('http/join_request.json', (o) => { o.display_name = '  ' + 'é'.repeat(60) + ' '; })), []);
});

test('client schema accepts a 64-character id of non-ASCII characters', () => {
    assert.deepEqual(validateClientMessage(mutate('client/hand_raise.json', (o) => { o.id = 'é'.repeat(64); })), []);
});

const httpBad = {
    'create_group_request': [mutate('http/create_group_request.json', (o) => { o.format = 60; }),
        mutate('http/create_group_request.json', (o) => { o.name = '   '; }),
        mutate('http/create_group_request.json', (o) => { o.facilitator_name = ' ' + 'é'.repeat(61) + ' '; }),
        mutate('http/create_group_request.json', (o) => { o.name = 'x'.repeat(61); }),
        mutate('http/create_group_request.json', (o) => { o.language = 'de'; })],
    'create_group_response': [mutate('http/create_group_response.json', (o) => { o.member_key += '='; })],
    'group': [mutate('http/group.json', (o) => { o.session.step = 'pause'; }),
        mutate('http/group.json', (o) => { o.invite_code = 'Zk4Hc9Rt2WpLm7XqB3nVsA'; })],
    'open_session_request': [{ force: true }],
    'health': [{ status: 'degraded', version: '0.1.0' }],
    'error': [{ error: { code: 'nope', message: 'x' } }, { code: 'not_found', message: 'x' }],
};
for (const [name, bodies] of Object.entries(httpBad))
    test(`http schema ${name} refuses deviations`, () => {
        for (const b of bodies) assert.notDeepEqual(validateHttp(name, b), [], JSON.stringify(b));
    });
