// Issue 14 in the browser: a display link follows the session in a
// separate browser without appearing among the members (screenshot at a
// 1280x720 screen share), and is closed when the facilitator revokes it;
// the facilitator names a co-facilitator, leaves, the co-facilitator's page
// gets the facilitator's controls, and the facilitator takes the role back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, person, realProblems, shotPath, fitsWidth } from './lib/browser.mjs';
import { axeProblems } from './lib/layout.mjs';
import { startServer } from '../lib/server.mjs';
import { createGroup, join, waitStep, post, seeCard, act, fr } from './lib/app.mjs';

let server;
let browser;
before(async () => {
    server = await startServer({ args: ['--set', 'facilitator_grace_s=1'] });
    browser = await launch();
});
after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
});

test('a display link follows the session in another browser, large, and never among the members', async () => {
    const F = await person(browser, 'facilitator');
    const invite = await createGroup(F, server.url, { name: 'Managers Lyon', me: 'Claire' });
    const K = await person(browser, 'consultant');
    await join(K, invite, 'Karim');
    await act(F, 'session-open');
    await waitStep([F, K], 'opening');

    // The facilitator makes the link from the menu.
    await F.locator('.menu > summary').click();
    await F.locator('[data-action=display-create]').click();
    const field = F.locator('[data-display-box] .link-field');
    await F.waitForFunction(() => /#\/display\//.test(document.querySelector('[data-display-box] .link-field').value));
    const link = await field.inputValue();
    assert.match(link, /#\/display\/[0-9a-f-]{36}\/[A-Za-z0-9_-]{22}$/);
    await F.locator('.menu > summary').click();

    // Another browser, at a screen share's size.
    const D = await person(browser, 'display', { width: 1280, height: 720 });
    await D.goto(link);
    await D.locator('[data-display-step]', { hasText: fr.steps.opening.label }).waitFor();
    await D.locator('[data-display-clock]').waitFor();
    // Members never see it: two members on each page, and no third.
    for (const p of [F, K]) {
        await p.locator('.members .member').nth(1).waitFor();
        assert.equal(await p.locator('.members .member').count(), 2);
    }

    await post(K, 'checkin', 'Bonjour, je suis là.');
    await D.locator('.display-card-text', { hasText: 'Bonjour, je suis là.' }).waitFor();
    await post(F, 'checkin', 'Bienvenue à toutes et à tous.');
    await D.locator('.display-card-text', { hasText: 'Bienvenue' }).waitFor();
    await act(K, 'hand');
    await D.locator('.display-hands li', { hasText: 'Karim' }).waitFor();
    // The facilitator gives Karim the floor from the queue: the display names who has it.
    await act(F, 'hand-give-floor');
    await D.locator('.display-floor-name', { hasText: 'Karim' }).waitFor();
    await D.locator('.display-title', { hasText: fr.display.floor }).waitFor();
    assert.equal(await D.locator('.display-hands li').count(), 0, 'the hand went down');
    assert.ok(await fitsWidth(D), 'the display fits 1280 px');
    // Large type: the step title and the clock read from across a share.
    const sizes = await D.evaluate(() => ['.display-step', '.display-clock', '.display-card-text']
        .map((s) => parseFloat(getComputedStyle(document.querySelector(s)).fontSize)));
    assert.ok(sizes[0] >= 48 && sizes[1] >= 80 && sizes[2] >= 20, `font sizes ${sizes}`);
    assert.deepEqual(await axeProblems(D), [], 'axe finds no serious or critical violation');
    await D.screenshot({ path: shotPath('display-1280x720-fr') });

    await act(F, 'step-next');
    await waitStep([F, K], 'topic');
    await D.locator('[data-display-step]', { hasText: fr.steps.topic.label }).waitFor();
    assert.equal(await F.locator('.members .member').count(), 2);
    // It sent nothing but its hello.
    assert.deepEqual(D.sent.map((f) => JSON.parse(f).type), ['hello']);

    // Revoked: the display says so and stops.
    await F.locator('.menu > summary').click();
    await F.locator('[data-action=display-revoke]').click();
    await D.locator('h1', { hasText: fr.display.fatal_title }).waitFor();
    await D.screenshot({ path: shotPath('display-revoked-fr') });
    assert.deepEqual(realProblems(D), []);
    assert.deepEqual(realProblems(F), []);
    assert.deepEqual(realProblems(K), []);
    await D.context().close();
    await F.context().close();
    await K.context().close();
});

test('the co-facilitator takes over when the facilitator leaves, and the facilitator takes the role back', async () => {
    const F = await person(browser, 'facilitator');
    const invite = await createGroup(F, server.url, { name: 'Relais', me: 'Claire' });
    const K = await person(browser, 'consultant');
    await join(K, invite, 'Léa');
    await act(F, 'session-open');
    await waitStep([F, K], 'opening');
    const personal = await F.locator('.menu-panel .link-field').nth(1).inputValue();

    const lea = F.locator('.members .member', { hasText: 'Léa' });
    await lea.locator('summary').click();
    await lea.locator('[data-action=cofacilitator]').click();
    await K.locator('.members .member-cofac:visible').waitFor();

    // The facilitator's browser goes away; Léa gets the controls.
    await F.context().close();
    await K.locator('[data-action=step-next]:visible').waitFor({ timeout: 6000 });
    await K.screenshot({ path: shotPath('cofacilitator-took-over-fr') });
    await act(K, 'step-next');
    await waitStep([K], 'topic');

    // Claire comes back from her personal link and takes the role back.
    const F2 = await person(browser, 'facilitator-back');
    await F2.goto(personal);
    await F2.locator('[data-action=facilitator-reclaim]').waitFor();
    await F2.screenshot({ path: shotPath('facilitator-reclaim-fr') });
    await F2.locator('[data-action=facilitator-reclaim]').click();
    await F2.locator('[data-action=step-next]:visible').waitFor();
    await K.locator('[data-action=step-next]').waitFor({ state: 'hidden' });
    await K.locator('.members .member-cofac:visible').waitFor();
    assert.deepEqual(realProblems(K), []);
    assert.deepEqual(realProblems(F2), []);
    await K.context().close();
    await F2.context().close();
});
