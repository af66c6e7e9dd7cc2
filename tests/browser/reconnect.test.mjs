// A lost connection: the page shows a banner, keeps what is typed, queues
// what is sent, reconnects with backoff, and resends unanswered commands
// with their same id after the welcome (the server applies them once).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, person, realProblems } from './lib/browser.mjs';
import { startServer } from '../lib/server.mjs';
import { startCutProxy } from './lib/cut-proxy.mjs';
import { createGroup, join, waitStep, post, seeCard, act, card, fr } from './lib/app.mjs';

const browsers = [];
after(async () => { for (const b of browsers) await b.close(); });

/** A facilitator and a consultant in a session at the opening check-in. */
async function pair(server) {
    const browser = await launch();
    browsers.push(browser);
    const F = await person(browser, 'facilitator');
    const K = await person(browser, 'consultant');
    const invite = await createGroup(F, server.url, { name: 'Reconnexion', me: 'Anne' });
    await join(K, invite, 'Chloé');
    await act(F, 'session-open');
    await waitStep([F, K], 'opening');
    return { F, K };
}

test('real server killed and restarted: banner, drafts kept, queued post sent once', async () => {
    let server = await startServer();
    try {
        const { F, K } = await pair(server);
        await post(K, 'checkin', 'Avant la coupure.');
        await seeCard([F], 'Avant la coupure.');

        await server.stop({ signal: 'SIGKILL', keepData: true });
        await K.locator('.banner:visible', { hasText: fr.conn.lost_text }).waitFor();
        await F.locator('.banner:visible').waitFor();

        // While the server is down: a note stays a draft, a check-in is queued.
        await K.locator('[data-action=notes]').click();
        await K.locator('form[data-composer-form=note] textarea').fill('Brouillon à garder');
        await K.locator('[data-action=notes-close]').click();
        const box = K.locator('form[data-composer-form=checkin] textarea');
        await box.fill('Envoyée pendant la coupure.');
        await K.locator('form[data-composer-form=checkin] button[type=submit]').click();
        await K.locator('.banner', { hasText: /1 envoi/ }).waitFor();
        assert.equal(await box.inputValue(), 'Envoyée pendant la coupure.', 'kept until the server accepts it');

        server = await startServer({ dataDir: server.dataDir, port: server.port });
        await K.locator('.banner').waitFor({ state: 'hidden', timeout: 20000 });
        await seeCard([F, K], 'Envoyée pendant la coupure.');
        await K.waitForFunction(() => document.querySelector('form[data-composer-form=checkin] textarea').value === '');
        // Barrier: a later check-in from K reaches F after any second copy would have.
        await post(K, 'checkin', 'Après la reconnexion.');
        await seeCard([F], 'Après la reconnexion.');
        assert.equal(await F.locator('.card-text', { hasText: 'Envoyée pendant la coupure.' }).count(), 1, 'applied once');
        assert.equal(await card(F, 'Avant la coupure.').count(), 1, 'the journal kept the earlier card');
        assert.equal(await K.locator('form[data-composer-form=note] textarea').inputValue(), 'Brouillon à garder');

        // The check-in went out twice at most, always with the same id.
        const sent = K.sent.map((s) => JSON.parse(s)).filter((m) => m.type === 'checkin_post' && m.text === 'Envoyée pendant la coupure.');
        assert.ok(sent.length >= 1 && sent.length <= 2, `sent ${sent.length} times`);
        assert.equal(new Set(sent.map((m) => m.id)).size, 1, 'same id on every send');
        // Reconnects said where they were.
        const hellos = K.sent.map((s) => JSON.parse(s)).filter((m) => m.type === 'hello');
        assert.ok(hellos.length >= 2);
        assert.ok(typeof hellos.at(-1).last_seq === 'number' && hellos.at(-1).last_seq > 0, 'hello carries last_seq');
        const allowed = [/WebSocket connection to .* failed/, /Failed to load resource/];
        assert.deepEqual(realProblems(K, allowed), []);
        assert.deepEqual(realProblems(F, allowed), []);
    } finally {
        await server.stop();
    }
});

test('graceful restart (SIGTERM): the page comes back at the server\'s hint within 5 s, drafts kept, nothing twice', async () => {
    let server = await startServer();
    try {
        const { F, K } = await pair(server);
        await post(K, 'checkin', 'Avant le redémarrage.');
        await seeCard([F], 'Avant le redémarrage.');
        // A draft being written, and a private note, when the server restarts.
        await K.locator('[data-action=notes]').click();
        await K.locator('form[data-composer-form=note] textarea').fill('Note en cours');
        await K.locator('[data-action=notes-close]').click();
        const box = K.locator('form[data-composer-form=checkin] textarea');
        await box.fill('Brouillon pendant le redémarrage');

        const t0 = Date.now();
        await server.stop({ signal: 'SIGTERM', keepData: true });
        server = await startServer({ dataDir: server.dataDir, port: server.port });
        // Back: the hello after the restart got its welcome (no banner left).
        await K.waitForFunction((n) => window.__sockets.length > n && window.__sockets.at(-1).readyState === 1, 1, { timeout: 5000 });
        await Promise.all([F, K].map((p) => p.locator('.banner').waitFor({ state: 'hidden', timeout: Math.max(1, 5000 - (Date.now() - t0)) })));
        const backMs = Date.now() - t0;
        assert.ok(backMs < 5000, `back ${backMs} ms after the SIGTERM`);
        assert.equal(await box.inputValue(), 'Brouillon pendant le redémarrage', 'the draft is kept');
        assert.equal(await K.locator('form[data-composer-form=note] textarea').inputValue(), 'Note en cours');
        await post(K, 'checkin', 'Après le redémarrage.');
        await seeCard([F], 'Après le redémarrage.');
        assert.equal(await card(F, 'Avant le redémarrage.').count(), 1);
        assert.equal(await F.locator('.card-text', { hasText: 'Avant le redémarrage.' }).count(), 1, 'shown once');
        // The page was told to go (1001 with the hint), it did not just lose the server.
        const closes = await K.evaluate(() => window.__sockets.map((ws) => ws.readyState));
        assert.ok(closes.length >= 2);
        const allowed = [/WebSocket connection to .* failed/, /Failed to load resource/];
        assert.deepEqual(realProblems(K, allowed), []);
        assert.deepEqual(realProblems(F, allowed), []);
        console.log(`# graceful restart: pages back ${backMs} ms after SIGTERM`);
    } finally {
        await server.stop();
    }
});

test('an answer lost with the connection: the command is resent with its id and applied once', async () => {
    const server = await startServer();
    const cut = await startCutProxy(server);
    try {
        const { F, K } = await pair(cut);
        cut.holdAnswers(true);
        const form = K.locator('form[data-composer-form=checkin]');
        await form.locator('textarea').fill('Une seule fois.');
        await form.locator('button[type=submit]').click();
        await seeCard([F], 'Une seule fois.');
        assert.equal(await form.locator('textarea').inputValue(), 'Une seule fois.', 'no ack yet: text kept');
        cut.holdAnswers(false);
        cut.dropAll();
        await K.waitForFunction(() => document.querySelector('form[data-composer-form=checkin] textarea').value === '');
        const sends = cut.log.filter((l) => l.msg.type === 'checkin_post');
        assert.equal(sends.length, 2, 'resent after the welcome');
        assert.equal(sends[0].msg.id, sends[1].msg.id, 'with the same id');
        // Barrier: a later check-in reaches both pages after any second copy would have.
        await post(F, 'checkin', 'Et la suite.');
        await seeCard([F, K], 'Et la suite.');
        assert.equal(await F.locator('.card-text', { hasText: 'Une seule fois.' }).count(), 1);
        assert.equal(await K.locator('.card-text', { hasText: 'Une seule fois.' }).count(), 1);
    } finally {
        await cut.stop();
        await server.stop();
    }
});
