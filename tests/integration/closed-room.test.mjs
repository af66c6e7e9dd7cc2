// What a closed room is (proto/README.md 2.2, "A closed room"; issue 10,
// item 6). Under retention "personal" a closed room carries no text at all:
// its steps and times, its members and who was client and facilitator.
// Under "keep" the members of that session see its full minutes. A member
// who joined after the close sees nothing of it. welcome, GET group and a
// restart all give the same answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer } from '../lib/server.mjs';
import { api, joinGroup, getGroup } from './lib/client.mjs';
import { setupGroup, advance, settle, closeAll, connectMember, TEXT } from './lib/scenario.mjs';

const rnd = (label) => `${label}-${randomBytes(8).toString('hex')}`;

/** A session with text in several places, then closed; every client disconnected. */
async function closedSession(srv, retention) {
    const g = await setupGroup(srv);
    if (retention === 'keep') {
        const res = await api(srv.url, 'POST', `/api/groups/${g.groupId}/settings`, { key: g.group.member_key, body: { retention } });
        assert.equal(res.status, 200, res.text);
    }
    const texts = { checkin: rnd('checkin'), topic: rnd('topic'), note: rnd('note') };
    await g.K[0].ok({ type: 'checkin_post', text: texts.checkin });
    await g.K[0].ok({ type: 'note_post', text: texts.note });
    await advance(g, 'topic');
    await settle(g, (await g.K[1].ok({ type: 'topic_propose', text: texts.topic })).seq);
    await advance(g, 'clarification'); // client named, problem written
    texts.problem = TEXT.problem;
    const close = await g.F.ok({ type: 'session_close' });
    await settle(g, close.seq);
    await closeAll(g);
    return { g, texts, sessionId: g.F.room.session_id };
}

/** The member's welcome room and GET group session, alone online. */
async function view(srv, g, member, name) {
    const c = await connectMember(srv, g.groupId, member, name);
    const room = c.welcome.room;
    if (room) delete room.clock.server_ms; // the instant of the answer, not of the room
    const group = await getGroup(srv.url, g.groupId, member.member_key);
    await c.close();
    c.assertClean();
    return { room, session: group.session };
}

const memberOf = (c) => ({ member_id: c.memberId, member_key: c.key });
const noText = (value, texts, what) => {
    const json = JSON.stringify(value);
    for (const [name, t] of Object.entries(texts))
        assert.ok(!json.includes(t), `${what}: the ${name} is not in ${json.slice(0, 300)}…`);
};

for (const retention of ['personal', 'keep']) {
    test(`${retention}: a closed room reads the same before and after a restart; a member who joined later sees nothing of it`, async () => {
        const srv = await startServer();
        let srv2;
        try {
            const { g, texts, sessionId } = await closedSession(srv, retention);
            const late = await joinGroup(srv.url, g.groupId, g.invite, 'Nadia');

            const before = await view(srv, g, memberOf(g.K[0]), 'Léa');
            const clientBefore = await view(srv, g, memberOf(g.C), 'Karim');
            const lateBefore = await view(srv, g, late, 'Nadia');

            assert.equal(before.room.session_id, sessionId);
            assert.equal(before.room.step, 'closed');
            assert.deepEqual(before.session, { session_id: sessionId, step: 'closed' });
            assert.equal(before.room.facilitator, g.F.memberId);
            assert.equal(before.room.consultations[0].client, g.C.memberId, 'who was client stays');
            if (retention === 'personal') {
                noText(before.room, texts, 'a member of the session, personal');
                noText(clientBefore.room, texts, 'the client, personal');
                assert.deepEqual(before.room.cards, []);
                assert.equal(before.room.consultations[0].problem, null);
            } else {
                assert.ok(JSON.stringify(before.room).includes(texts.checkin), 'keep: the minutes hold the check-in');
                assert.equal(before.room.consultations[0].problem, texts.problem);
                noText(clientBefore.room, { note: texts.note }, 'another member\'s private note');
            }
            assert.equal(lateBefore.room, null, 'the late joiner gets no closed room');
            assert.equal(lateBefore.session, null, 'nor a session in GET group');

            await srv.stop({ keepData: true });
            srv2 = await startServer({ dataDir: srv.dataDir });
            const after = await view(srv2, g, memberOf(g.K[0]), 'Léa');
            const clientAfter = await view(srv2, g, memberOf(g.C), 'Karim');
            const lateAfter = await view(srv2, g, late, 'Nadia');
            assert.deepEqual(after, before, 'a member of the session: same room and session after the restart');
            assert.deepEqual(clientAfter, clientBefore, 'the client: same after the restart');
            assert.deepEqual(lateAfter, lateBefore, 'the late joiner: still nothing');
        } finally {
            if (srv2) await srv2.stop();
            await srv.stop();
        }
    });
}
