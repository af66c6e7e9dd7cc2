// The display link (proto/README.md 2.1, Displays): a read-only screen of
// the session. It sees what every member sees (never a private note, a mark
// or a refocus count), joins no presence list, can send nothing, and its
// token is a secret like an invite: hashed at rest, replaced or revoked by
// the facilitator, which closes its screens. A group has at most
// display_max_per_group of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer } from '../lib/server.mjs';
import { Client, api, getGroup } from './lib/client.mjs';
import { setupGroup, advance, settle, reconnect } from './lib/scenario.mjs';

/** POST /api/groups/{id}/display with key; resolves with the answer. */
function createDisplay(srv, g, key = g.F.key) {
    return api(srv.url, 'POST', `/api/groups/${g.groupId}/display`, { body: {}, key, schema: 'display_response' });
}

/** A display connection: hello with the token, resolves with [client, answer]. */
async function connectDisplay(srv, groupId, token, name = 'screen') {
    const d = await Client.connect(srv.wsUrl, { name });
    d.sendJson({ type: 'hello', group_id: groupId, display_token: token });
    const answer = await d.next((m) => m.type === 'display_welcome' || m.type === 'error');
    return [d, answer];
}

test('a display follows the session as everyone sees it, never a note, joins no presence list and can do nothing', async () => {
    const srv = await startServer();
    try {
        const g = await setupGroup(srv);
        const [lea] = g.K;
        // Only the facilitator makes the link.
        const refused = await createDisplay(srv, g, lea.key);
        assert.equal(refused.status, 403);
        assert.equal(refused.body.error.code, 'not_facilitator');
        const made = await createDisplay(srv, g);
        assert.equal(made.status, 200, made.text);
        assert.deepEqual(made.schemaErrors, []);
        const token = made.body.display_token;
        // Every member is told a link exists (not the token).
        const updated = await lea.next((m) => m.type === 'group_updated');
        assert.equal(updated.group.display, true);
        assert.ok(!JSON.stringify(updated).includes(token));

        // A note before the display arrives is not in its snapshot.
        await settle(g, (await lea.ok({ type: 'note_post', text: 'NOTE-PRIVÉE-1' })).seq, [lea]);
        await settle(g, (await g.F.ok({ type: 'checkin_post', text: 'Bonjour à tous' })).seq);
        const before = (await getGroup(srv.url, g.groupId, g.F.key)).members;
        const [d, welcome] = await connectDisplay(srv, g.groupId, token);
        assert.equal(welcome.type, 'display_welcome', JSON.stringify(welcome));
        assert.equal(welcome.group.id, g.groupId);
        assert.equal(welcome.room.session_id, g.F.room.session_id);
        assert.ok(welcome.room.cards.some((c) => c.text === 'Bonjour à tous'));
        assert.ok(!JSON.stringify(welcome).includes('NOTE-PRIVÉE'));
        assert.deepEqual(welcome.room.members.map((m) => m.id).sort(), g.F.room.members.map((m) => m.id).sort(),
            'the display is no member');
        // Nobody got a presence for it; the group's members are unchanged.
        for (const c of g.everyone) await c.expectNoneAfterBarrier((m) => m.type === 'presence');
        assert.deepEqual((await getGroup(srv.url, g.groupId, g.F.key)).members, before);

        // It follows: a card, the step and its clock, hands; not a note.
        await lea.ok({ type: 'note_post', text: 'NOTE-PRIVÉE-2' });
        const card = await lea.ok({ type: 'checkin_post', text: 'Je suis là' });
        const seen = await d.nextEvent('card_added');
        assert.equal(seen.seq, card.seq);
        assert.equal(seen.card.text, 'Je suis là');
        await advance(g, 'consultation');
        const step = await d.nextEvent('step', (m) => m.step === 'consultation');
        assert.equal(step.clock.running, true);
        await d.next((m) => m.type === 'tick', 2500);
        // The client's refocus goes to the client and the facilitator only,
        // a mark to the client only: neither to the display.
        const contrib = await lea.ok({ type: 'contribution_post', kind: 'suggestion', text: 'Une idée' });
        await d.waitSeq(contrib.seq);
        const cardId = d.received((m) => m.type === 'card_added').at(-1).card.id;
        await g.C.ok({ type: 'recadrage' });
        await g.C.ok({ type: 'mark_set', card_id: cardId, marked: true });
        const hand = await g.K[1].ok({ type: 'hand_raise' });
        await d.waitSeq(hand.seq);
        assert.deepEqual(d.received((m) => ['recadrage', 'mark'].includes(m.type)), []);
        assert.deepEqual(d.received((m) => JSON.stringify(m).includes('NOTE-PRIVÉE')), []);
        assert.deepEqual(d.received((m) => m.type === 'hands').at(-1).hands, [g.K[1].memberId]);

        // It can do nothing: every command, session_open and hello again.
        for (const c of g.everyone) { await c.barrier(); c.drain(); }
        for (const cmd of [{ type: 'hand_raise' }, { type: 'note_post', text: 'x' }, { type: 'step_next' },
            { type: 'session_open' }, { type: 'facilitator_accept' }, { type: 'checkin_post', text: 'x' }]) {
            const r = await d.send(cmd, { unchecked: true });
            assert.equal(r.code, 'display_read_only', `${cmd.type}: ${JSON.stringify(r)}`);
        }
        d.sendJson({ type: 'hello', group_id: g.groupId, display_token: token });
        assert.equal((await d.next((m) => m.type === 'error')).code, 'already_hello');
        // Still none of this reached a member: no step moved, no note.
        await g.F.expectNoneAfterBarrier((m) => m.type === 'step' || m.type === 'card_added');
        d.assertClean();
        for (const c of g.everyone) c.assertClean();
        await d.close();
    } finally {
        await srv.stop();
    }
});

test('a wrong, replaced or revoked token is refused; replacing or revoking closes the screens (4005); the cap holds; the token survives kill -9 hashed', async () => {
    let srv = await startServer({ args: ['--set', 'display_max_per_group=2'] });
    try {
        const g = await setupGroup(srv, { consultants: ['Léa'], observer: null });
        const first = (await createDisplay(srv, g)).body.display_token;
        // Hostile hellos.
        for (const bad of ['AAAAAAAAAAAAAAAAAAAAAA', 'short', '', 'x'.repeat(300)]) {
            const [d, answer] = await connectDisplay(srv, g.groupId, bad);
            assert.equal(answer.code, 'bad_display', `${bad}: ${JSON.stringify(answer)}`);
            await d.close();
        }
        {
            const d = await Client.connect(srv.wsUrl);
            d.sendJson({ type: 'hello', group_id: g.groupId, display_token: first, member_key: g.F.key });
            assert.equal((await d.next((m) => m.type === 'error')).code, 'bad_field');
            d.sendJson({ type: 'hello', group_id: g.groupId, display_token: 42 });
            assert.equal((await d.next((m) => m.type === 'error')).code, 'bad_field');
            await d.close();
        }
        // The cap: two screens, not three.
        const [d1, w1] = await connectDisplay(srv, g.groupId, first, 'screen1');
        const [d2, w2] = await connectDisplay(srv, g.groupId, first, 'screen2');
        assert.equal(w1.type, 'display_welcome');
        assert.equal(w2.type, 'display_welcome');
        const [d3, w3] = await connectDisplay(srv, g.groupId, first, 'screen3');
        assert.equal(w3.code, 'too_many_displays');
        await d3.close();

        // Replacing the link: both screens get bad_display and close 4005.
        const second = (await createDisplay(srv, g)).body.display_token;
        assert.notEqual(second, first);
        for (const d of [d1, d2]) {
            assert.equal((await d.next((m) => m.type === 'error')).code, 'bad_display');
            const info = await d.closed;
            assert.equal(info.code, 4005);
        }
        const [old, oldAnswer] = await connectDisplay(srv, g.groupId, first);
        assert.equal(oldAnswer.code, 'bad_display');
        await old.close();

        // The token is at rest as its hash only: not in any database file.
        const [d4, w4] = await connectDisplay(srv, g.groupId, second);
        assert.equal(w4.type, 'display_welcome');
        srv.child.kill('SIGKILL');
        await srv.exited;
        await d4.closed;
        for (const f of readdirSync(srv.dataDir)) {
            const bytes = readFileSync(path.join(srv.dataDir, f));
            assert.equal(bytes.indexOf(Buffer.from(second)), -1, `${f} holds the display token in clear`);
        }
        srv = await startServer({ dataDir: srv.dataDir, args: ['--set', 'display_max_per_group=2'] });
        const [d5, w5] = await connectDisplay(srv, g.groupId, second);
        assert.equal(w5.type, 'display_welcome', 'the link works after a restart');
        assert.equal(w5.group.display, true);

        // Revoking: the screen closes, the token is refused, the group says so.
        const F = await reconnect(srv, g.F);
        const revoked = await api(srv.url, 'DELETE', `/api/groups/${g.groupId}/display`, { key: g.F.key, schema: 'display_revoke_response' });
        assert.equal(revoked.status, 200, revoked.text);
        assert.deepEqual(revoked.schemaErrors, []);
        assert.equal((await d5.next((m) => m.type === 'error')).code, 'bad_display');
        assert.equal((await d5.closed).code, 4005);
        assert.equal((await F.next((m) => m.type === 'group_updated')).group.display, false);
        const [d6, w6] = await connectDisplay(srv, g.groupId, second);
        assert.equal(w6.code, 'bad_display');
        await d6.close();
        const other = await api(srv.url, 'PUT', `/api/groups/${g.groupId}/display`, { key: g.F.key });
        assert.equal(other.status, 405);
        await F.close();
    } finally {
        await srv.stop();
    }
});

test('a display before any session gets room null, then the session when it opens', async () => {
    const srv = await startServer();
    try {
        const g = await setupGroup(srv, { open: false, consultants: ['Léa'], observer: null });
        const token = (await createDisplay(srv, g)).body.display_token;
        const [d, w] = await connectDisplay(srv, g.groupId, token);
        assert.equal(w.room, null);
        await g.F.ok({ type: 'session_open' });
        const opened = await d.next((m) => m.type === 'session_opened');
        assert.equal(opened.room.step, 'opening');
        d.assertClean();
        await d.close();
    } finally {
        await srv.stop();
    }
});
