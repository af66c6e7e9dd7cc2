// Over https, as a group would run it in production. Chromium then speaks
// HTTP/2 and opens its WebSocket inside it (RFC 8441): the path and host
// arrive as :path and :authority, and the connection is an h2 stream, which
// codevd writes to only from LWS_CALLBACK_SERVER_WRITEABLE.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { launch, person, realProblems, trustCertificate } from './lib/browser.mjs';
import { startServer, testCertificate } from '../lib/server.mjs';
import { createGroup, join, waitStep, post, seeCard, act, fr } from './lib/app.mjs';

let server;
let browser;
let tls;
before(async () => {
    tls = testCertificate();
    server = await startServer({ args: [...tls.args, '--set', 'cards_per_step=200'], tls: true });
    // Trusted, as a group's certificate is: Chromium refuses a service
    // worker (web-client/sw.js) over a certificate it does not trust, and
    // says so in the console.
    browser = await launch([trustCertificate(tls.cert)]);
});
after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
    if (tls) rmSync(tls.dir, { recursive: true, force: true });
});

test('over https (WebSockets inside HTTP/2): a session opens, cards and ticks flow, a 100 kB snapshot arrives whole, a removal closes the page', async () => {
    assert.match(server.url, /^https:/);
    const F = await person(browser, 'facilitator', { ignoreHTTPSErrors: true });
    const invite = await createGroup(F, server.url, { name: 'Sécurisé', me: 'Anne' });
    const K = await person(browser, 'consultant', { ignoreHTTPSErrors: true });
    await join(K, invite, 'Chloé');
    await act(F, 'session-open');
    await waitStep([F, K], 'opening');
    await post(K, 'checkin', 'Par-dessus TLS.');
    await seeCard([F, K], 'Par-dessus TLS.');
    await act(F, 'timer-toggle');
    await K.locator('.clock.is-running').waitFor();
    const first = await K.locator('[data-clock]').textContent();
    await K.waitForFunction((t) => document.querySelector('[data-clock]').textContent !== t, first, { timeout: 4000 });

    // A long session: 120 cards of 900 characters make a welcome snapshot of
    // over 100 kB, more than one HTTP/2 flow-control window and more than
    // one batched frame. A reload must still show every card.
    const long = 'x'.repeat(880);
    await F.evaluate(async (text) => {
        const ws = window.__sockets.at(-1);
        for (let i = 0; i < 120; i++) {
            ws.send(JSON.stringify({ type: 'checkin_post', id: `bulk-${i}`, text: `${i} ${text}` }));
            await new Promise((r) => setTimeout(r, 70)); // under 20 commands/s
        }
    }, long);
    await seeCard([F], `119 ${long}`);
    await K.reload();
    await seeCard([K], `119 ${long}`);
    await K.locator('.card-text', { hasText: long }).nth(119).waitFor();
    assert.equal(await K.locator('.card-text', { hasText: long }).count(), 120);

    const menu = F.locator('.member', { hasText: 'Chloé' }).locator('.member-menu');
    await menu.locator('summary').click();
    await menu.locator('[data-action=remove]').click();
    await F.locator('dialog.dialog .btn-danger').click();
    await K.locator('h1', { hasText: fr.fatal.removed_title }).waitFor();
    assert.deepEqual(realProblems(F), []);
    for (const p of [F, K]) await p.context().close();
});
