// What the page must not decide on its own comes with welcome
// (proto/README.md 2.1): the limits in force, the step list and the rules
// table from which the page derives what a member may do now.
import test from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { setupGroup, advance, closeAll, reconnect, assertAllClean } from './lib/scenario.mjs';

/** The commands member may send now, by the welcome's rules table. */
function rightsOf(welcome) {
    const me = welcome.room.members.find((m) => m.id === welcome.you.member_id);
    const table = welcome.rules[me.role] || {};
    return Object.keys(table).filter((cmd) => table[cmd].includes(welcome.room.step)).sort();
}

test('welcome.limits are the limits the server was started with', async () => {
    const srv = await startServer({ args: ['--set', 'text_max_chars=321', '--set', 'long_text_max_chars=2345',
        '--set', 'name_max_chars=42', '--set', 'cards_per_step=7'] });
    try {
        const g = await setupGroup(srv, { open: false });
        for (const c of g.everyone)
            assert.deepEqual(c.welcome.limits,
                { text_max_chars: 321, long_text_max_chars: 2345, name_max_chars: 42, cards_per_step: 7, due_max_chars: 40, first_step_max_chars: 120 });
        assert.deepEqual(g.F.welcome.steps,
            ['opening', 'topic', 'expose', 'clarification', 'contract', 'consultation', 'synthesis', 'learning', 'closed']);
        // The limit the page was told is the one the server applies.
        await g.F.ok({ type: 'session_open' });
        await g.K[0].nextEvent('session_opened');
        await g.K[0].ok({ type: 'checkin_post', text: 'x'.repeat(321) });
        await g.K[0].refused({ type: 'checkin_post', text: 'x'.repeat(322) }, 'text_too_long');
        assertAllClean(g);
        await closeAll(g);
    } finally {
        await srv.stop();
    }
});

test('rights differ between a consultant and the client in consultation, and the server agrees', async () => {
    const srv = await startServer();
    try {
        const g = await setupGroup(srv);
        await advance(g, 'consultation');
        const K = await reconnect(srv, g.K[0]);
        const C = await reconnect(srv, g.C);
        const O = await reconnect(srv, g.O);
        const k = rightsOf(K.welcome), c = rightsOf(C.welcome), o = rightsOf(O.welcome);
        assert.ok(k.includes('contribution_post'), `consultant: ${k}`);
        assert.ok(!c.includes('contribution_post'), `client: ${c}`);
        assert.ok(c.includes('recadrage') && !k.includes('recadrage'));
        assert.ok(k.includes('hand_raise') && !c.includes('hand_raise'), 'the client listens');
        assert.deepEqual(o, ['note_post']);
        assert.notDeepEqual(k, c);
        // The server refuses what the table leaves out, and accepts what it lists.
        await K.ok({ type: 'contribution_post', kind: 'suggestion', text: 'Et si vous essayiez un café d’équipe ?' });
        await C.refused({ type: 'contribution_post', kind: 'suggestion', text: 'Moi aussi.' }, 'client_muted');
        await closeAll(g, [K, C, O]);
    } finally {
        await srv.stop();
    }
});
