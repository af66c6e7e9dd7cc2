// Issue 12, server side, over real WebSockets: the facilitator acknowledges
// the client's refocus signals (recadrage_ack); an author corrects or
// withdraws its own card while its step runs (card_edit, card_withdraw).
// Each also survives a restart of the server mid-session (the journal
// replays it). Every message is checked against proto/schema by the
// client library (assertClean).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer } from '../lib/server.mjs';
import { setupGroup, advance, reconnect, settle, closeAll, assertAllClean } from './lib/scenario.mjs';
import { api } from './lib/client.mjs';

/** Stops srv keeping its data, starts a new server on the same data dir. */
async function restart(srv) {
    await srv.stop({ keepData: true });
    return startServer({ dataDir: srv.dataDir });
}

/** The room as member c sees it after a fresh hello. */
async function roomOf(srv, c) {
    const back = await reconnect(srv, c);
    const room = back.welcome.room;
    await back.close();
    return room;
}

test('recadrage_ack: the facilitator marks the signals seen, the client is told, nobody else; it survives a restart', async () => {
    let srv = await startServer();
    try {
        const g = await setupGroup(srv);
        await advance(g, 'consultation');
        const [k] = g.K;
        await g.F.refused({ type: 'recadrage_ack' }, 'already_done');
        await g.C.ok({ type: 'recadrage' });
        const sig = await g.C.ok({ type: 'recadrage' });
        await settle(g, sig.seq, [g.F, g.C]);
        await g.C.refused({ type: 'recadrage_ack' }, 'not_facilitator');
        await k.refused({ type: 'recadrage_ack' }, 'not_facilitator');
        await g.O.refused({ type: 'recadrage_ack' }, 'observer_read_only');

        const ack = await g.F.ok({ type: 'recadrage_ack' });
        const forClient = await g.C.nextEvent('recadrage_ack');
        assert.equal(forClient.seq, ack.seq);
        assert.equal(forClient.count, 2);
        assert.equal(forClient.consultation, 0);
        assert.equal((await g.F.nextEvent('recadrage_ack')).count, 2);
        // A consultant and the observer never see it: after a barrier, nothing.
        for (const c of [k, g.O]) await c.expectNoneAfterBarrier((m) => m.type === 'recadrage_ack' || m.type === 'recadrage');
        await g.F.refused({ type: 'recadrage_ack' }, 'already_done');
        // A third signal is pending again (the facilitator's snapshot says so).
        const third = await g.C.ok({ type: 'recadrage' });
        await settle(g, third.seq, [g.F]);

        await closeAll(g);
        srv = await restart(srv);
        const asF = (await roomOf(srv, g.F)).consultations[0];
        assert.equal(asF.recadrages, 3);
        assert.equal(asF.recadrages_seen, 2);
        const asC = (await roomOf(srv, g.C)).consultations[0];
        assert.equal(asC.recadrages_seen, 2);
        const asK = (await roomOf(srv, k)).consultations[0];
        assert.equal(asK.recadrages_seen, undefined);
        assert.equal(asK.recadrages, undefined);
        assertAllClean(g);
    } finally {
        await srv.stop().catch(() => {});
        rmSync(srv.dataDir, { recursive: true, force: true });
    }
});

test('card_edit and card_withdraw: only the author, only while the card\'s step runs; others see "edited" / "withdrawn"; it survives a restart', async () => {
    let srv = await startServer({ args: ['--set', 'rewrites_max=3'] });
    try {
        const g = await setupGroup(srv);
        await advance(g, 'consultation');
        const [k0, k1] = g.K;
        const posted = await k0.ok({ type: 'contribution_post', kind: 'suggestion', text: 'Essaie le tour de table du lundi' });
        await settle(g, posted.seq);
        const id = g.F.received((m) => m.type === 'card_added').pop().card.id;
        await g.C.ok({ type: 'mark_set', card_id: id, marked: true });

        // Someone else's card, an unknown card, a blank text, the same text.
        await k1.refused({ type: 'card_edit', card_id: id, text: 'La mienne' }, 'not_author');
        await g.F.refused({ type: 'card_withdraw', card_id: id }, 'not_author');
        await g.C.refused({ type: 'card_withdraw', card_id: id }, 'not_author');
        await g.O.refused({ type: 'card_edit', card_id: id, text: 'x' }, 'observer_read_only');
        await k0.refused({ type: 'card_edit', card_id: 99999, text: 'x' }, 'unknown_card');
        await k0.refused({ type: 'card_edit', card_id: id, text: '   ' }, 'text_empty', { unchecked: true });
        await k0.refused({ type: 'card_edit', card_id: id, text: 'Essaie le tour de table du lundi' }, 'already_done');
        await k0.refused({ type: 'card_edit', card_id: id, text: 'é'.repeat(1001) }, 'text_too_long', { unchecked: true });

        const edited = await k0.ok({ type: 'card_edit', card_id: id, text: 'Essaie le tour de table du lundi matin' });
        await settle(g, edited.seq);
        for (const c of g.everyone) {
            const ev = c.received((m) => m.type === 'card_updated' && m.card.id === id).pop();
            assert.equal(ev.card.text, 'Essaie le tour de table du lundi matin', c.name);
            assert.equal(ev.card.edited, true);
            assert.equal(ev.card.marked, false, 'the shared encoding never carries the mark');
        }
        // The edit loop stops at rewrites_max (3): two more pass, the fourth is refused.
        await k0.ok({ type: 'card_edit', card_id: id, text: 'Version 2' });
        await k0.ok({ type: 'card_edit', card_id: id, text: 'Version 3' });
        await k0.refused({ type: 'card_edit', card_id: id, text: 'Version 4' }, 'too_many_rewrites');

        // A second card, withdrawn: it keeps its place, its text is gone.
        await k1.ok({ type: 'contribution_post', kind: 'experience', text: 'Chez nous, on a essayé les binômes' });
        const second = k1.received((m) => m.type === 'card_added').pop()?.card.id
            ?? (await k1.nextEvent('card_added')).card.id;
        const gone = await k1.ok({ type: 'card_withdraw', card_id: second });
        await settle(g, gone.seq);
        const ev = g.K[2].received((m) => m.type === 'card_updated' && m.card.id === second).pop();
        assert.equal(ev.card.withdrawn, true);
        assert.equal(ev.card.text, '');
        await k1.refused({ type: 'card_withdraw', card_id: second }, 'card_withdrawn');
        await k1.refused({ type: 'card_edit', card_id: second, text: 'Finalement' }, 'card_withdrawn');
        await g.C.refused({ type: 'mark_set', card_id: second, marked: true }, 'card_withdrawn');

        // Its step is over: neither can be changed any more.
        await advance(g, 'synthesis');
        await k0.refused({ type: 'card_edit', card_id: id, text: 'Trop tard' }, 'card_step_over');
        await k0.refused({ type: 'card_withdraw', card_id: id }, 'card_step_over');

        await closeAll(g);
        srv = await restart(srv);
        const room = await roomOf(srv, g.C);
        const a = room.cards.find((c) => c.id === id);
        const b = room.cards.find((c) => c.id === second);
        assert.equal(a.text, 'Version 3');
        assert.equal(a.edited, true);
        assert.equal(a.marked, true, 'the client still sees its mark');
        assert.equal(b.withdrawn, true);
        assert.equal(b.text, '');
        assert.ok(!JSON.stringify(room).includes('binômes'), 'the withdrawn text is in no snapshot');
        assert.ok(room.cards.indexOf(b) > room.cards.indexOf(a), 'the withdrawn card keeps its place');
        assertAllClean(g);
    } finally {
        await srv.stop().catch(() => {});
        rmSync(srv.dataDir, { recursive: true, force: true });
    }
});

test('timer_set 0: the step is untimed (time counts, no overrun), stays so across a step back and forth and a restart; +1 min times it again', async () => {
    let srv = await startServer();
    try {
        const g = await setupGroup(srv);
        await advance(g, 'clarification');
        const set = await g.F.ok({ type: 'timer_set', seconds: 0 });
        const ev = await g.K[0].nextEvent('clock', (m) => m.seq === set.seq);
        assert.equal(ev.clock.budget_ms, 0);
        assert.equal(ev.clock.remaining_ms, 0);
        assert.equal(ev.clock.running, true);
        // Time passes: a tick shows it spent, never an overrun.
        const tick = await g.K[0].next((m) => m.type === 'tick' && m.clock.used_ms > ev.clock.used_ms + 500, 5000);
        assert.equal(tick.clock.remaining_ms, 0);
        assert.equal(tick.clock.budget_ms, 0);
        // Forward and back: still untimed, the time spent kept.
        await settle(g, (await g.F.ok({ type: 'step_next' })).seq);
        const back = await g.F.ok({ type: 'step_prev' });
        const step = await g.K[0].nextEvent('step', (m) => m.seq === back.seq);
        assert.equal(step.step, 'clarification');
        assert.equal(step.clock.budget_ms, 0);
        assert.ok(step.clock.used_ms >= tick.clock.used_ms);
        await g.F.refused({ type: 'timer_add', seconds: -60 }, 'bad_duration');

        await closeAll(g);
        srv = await restart(srv);
        const room = await roomOf(srv, g.F);
        assert.equal(room.clock.step, 'clarification');
        assert.equal(room.clock.budget_ms, 0);
        assert.equal(room.clock.remaining_ms, 0);

        // +1 min times it again from now.
        const F = await reconnect(srv, g.F);
        const add = await F.ok({ type: 'timer_add', seconds: 60 });
        const clock = (await F.nextEvent('clock', (m) => m.seq === add.seq)).clock;
        assert.equal(clock.remaining_ms, 60000);
        assert.equal(clock.budget_ms, clock.used_ms + 60000);
        F.assertClean();
        await F.close();
        assertAllClean(g);
    } finally {
        await srv.stop().catch(() => {});
        rmSync(srv.dataDir, { recursive: true, force: true });
    }
});

test('warn_before_s: the facilitator sets the group\'s warning (0…600 s), members are told, a bad value changes nothing, it survives a restart', async () => {
    let srv = await startServer();
    try {
        const g = await setupGroup(srv);
        assert.equal(g.F.welcome.group.warn_before_s, 60, 'one minute by default');
        const path = `/api/groups/${g.groupId}/settings`;
        const refused = async (body, status, code, key = g.F.key) => {
            const res = await api(srv.url, 'POST', path, { key, body });
            assert.equal(res.status, status, `${JSON.stringify(body)}: ${res.text}`);
            assert.equal(res.body.error.code, code, JSON.stringify(body));
        };
        await refused({ warn_before_s: 120 }, 403, 'not_facilitator', g.K[0].key);
        await refused({ warn_before_s: -1 }, 400, 'bad_field');
        await refused({ warn_before_s: 601 }, 400, 'bad_field');
        await refused({ warn_before_s: 1e12 }, 400, 'bad_field');
        await refused({ warn_before_s: '60' }, 400, 'bad_field');
        await refused({ warn_before_s: 1.5 }, 400, 'bad_field');
        await refused({}, 400, 'missing_field');
        // Both given, one bad: neither is applied.
        await refused({ retention: 'keep', warn_before_s: 9999 }, 400, 'bad_field');
        await refused({ retention: 'forever', warn_before_s: 30 }, 400, 'bad_field');
        await Promise.all(g.everyone.map((c) => c.expectNoneAfterBarrier((m) => m.type === 'group_updated')));
        let group = await api(srv.url, 'GET', `/api/groups/${g.groupId}`, { key: g.K[1].key, schema: 'group' });
        assert.equal(group.body.warn_before_s, 60);
        assert.equal(group.body.retention, 'personal');

        const res = await api(srv.url, 'POST', path, { key: g.F.key, body: { warn_before_s: 120 }, schema: 'settings_response' });
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.schemaErrors, []);
        assert.equal(res.body.group.warn_before_s, 120);
        assert.equal(res.body.group.retention, 'personal', 'the other setting is left as it was');
        for (const c of g.everyone) assert.equal((await c.nextEvent('group_updated')).group.warn_before_s, 120, c.name);
        const off = await api(srv.url, 'POST', path, { key: g.F.key, body: { warn_before_s: 0 } });
        assert.equal(off.body.group.warn_before_s, 0);
        const back = await api(srv.url, 'POST', path, { key: g.F.key, body: { warn_before_s: 600 } });
        assert.equal(back.body.group.warn_before_s, 600);

        await closeAll(g);
        srv = await restart(srv);
        const again = await reconnect(srv, g.K[0]);
        assert.equal(again.welcome.group.warn_before_s, 600);
        group = await api(srv.url, 'GET', `/api/groups/${g.groupId}`, { key: g.K[1].key, schema: 'group' });
        assert.equal(group.body.warn_before_s, 600);
        again.assertClean();
        await again.close();
    } finally {
        await srv.stop().catch(() => {});
        rmSync(srv.dataDir, { recursive: true, force: true });
    }
});
