// The room around the steps, against the real codevd: language (group
// setting, personal switch remembered), the personal link from another
// device, the facilitator's member actions, errors in words, keyboard use.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, person, realProblems, shotPath } from './lib/browser.mjs';
import { startServer } from '../lib/server.mjs';
import { createGroup, join, waitStep, post, seeCard, act, fr, en } from './lib/app.mjs';

let server;
let browser;
before(async () => {
    server = await startServer();
    browser = await launch();
});
after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
});

test('the group language leads; a personal switch is remembered', async () => {
    const F = await person(browser, 'facilitator');
    const invite = await createGroup(F, server.url, { name: 'Toronto managers', me: 'Ann', language: 'en' });
    await F.locator('html[lang=en]').waitFor();
    await F.locator('h1', { hasText: en.nosession.title }).waitFor();

    // A newcomer whose browser prefers French sees the English group in English.
    const K = await person(browser, 'consultant', { locale: 'fr-CA' });
    await K.goto(invite);
    // The join page is in the browser's language (the group's is not known
    // before joining); it names the group as soon as the preview is in.
    await K.locator('form[data-form=join] button[type=submit]', { hasText: fr.join.submit }).waitFor();
    await K.locator('[data-join=lead]', { hasText: 'Toronto managers' }).waitFor();
    await join(K, invite, 'Claire');
    await K.locator('html[lang=en]').waitFor();
    await K.locator('h1', { hasText: en.nosession.title }).waitFor();

    // Claire switches to French; it sticks across a reload, for her only.
    await K.locator('[data-action=lang]').click();
    await K.locator('h1', { hasText: fr.nosession.title }).waitFor();
    await K.reload();
    await K.locator('h1', { hasText: fr.nosession.title }).waitFor();
    assert.equal(await K.evaluate(() => document.documentElement.lang), 'fr');
    assert.equal(await F.evaluate(() => document.documentElement.lang), 'en');
    assert.deepEqual(realProblems(K), []);
    await F.context().close();
    await K.context().close();
});

test('personal link: the same member on another device; the key leaves the address bar', async () => {
    const F = await person(browser, 'facilitator');
    const invite = await createGroup(F, server.url, { name: 'Appareils', me: 'Anne' });
    const K = await person(browser, 'laptop');
    await join(K, invite, 'Chloé');
    await K.locator('.menu > summary').click();
    await K.screenshot({ path: shotPath('menu-open-consultant-fr') });
    const link = await K.locator('.menu-panel .link-field').nth(1).inputValue();
    assert.match(link, /#\/g\/[0-9a-f-]{36}\/[A-Za-z0-9_-]{22}$/);
    const key = link.split('/').pop();
    assert.equal(await K.evaluate(() => localStorage.getItem('codev.groups')).then((s) => s.includes(key)), true);

    const phone = await person(browser, 'phone', { width: 390, height: 844 });
    await phone.goto(link);
    await phone.locator('#panel[data-step=none]').waitFor();
    assert.ok(!phone.url().includes(key), `key dropped from the address bar: ${phone.url()}`);
    await phone.locator('.member.is-me .member-name', { hasText: 'Chloé' }).waitFor();
    // Two devices, one member: the group still counts two people.
    await F.locator('.members .block-title', { hasText: '2' }).waitFor();
    assert.equal(await F.locator('.member').count(), 2);
    for (const p of [F, K, phone]) await p.context().close();
});

test('a wrong invite code is refused in words', async () => {
    const F = await person(browser, 'facilitator');
    const invite = await createGroup(F, server.url, { name: 'Invitations', me: 'Anne' });
    const X = await person(browser, 'stranger');
    const forged = invite.replace(/\/[A-Za-z0-9_-]{22}$/, '/AAAAAAAAAAAAAAAAAAAAAA');
    await X.goto(forged);
    const form = X.locator('form[data-form=join]');
    await form.locator('input[name=display_name]').fill('Intrus');
    await form.locator('button[type=submit]').click();
    await form.locator('.form-status', { hasText: fr.errors.bad_invite }).waitFor();
    assert.equal(await X.locator('#panel').count(), 0, 'not in the room');
    await F.context().close();
    await X.context().close();
});

test('facilitator actions: observer, hand over, remove; keyboard only posting', async () => {
    const F = await person(browser, 'facilitator');
    const invite = await createGroup(F, server.url, { name: 'Animation', me: 'Anne' });
    const K1 = await person(browser, 'k1');
    const K2 = await person(browser, 'k2');
    await join(K1, invite, 'Chloé');
    await join(K2, invite, 'Dmitri');
    await act(F, 'session-open');
    await waitStep([F, K1, K2], 'opening');

    // Keyboard: Tab reaches the check-in box, Ctrl+Enter sends it.
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
        await K1.keyboard.press('Tab');
        reached = await K1.evaluate(() => document.activeElement && document.activeElement.dataset.composer === 'checkin');
    }
    assert.ok(reached, 'the check-in box is reachable with Tab');
    await K1.keyboard.type('Au clavier seulement.');
    await K1.keyboard.press('Control+Enter');
    await seeCard([F, K2], 'Au clavier seulement.');
    // Focus is visible: Shift+Tab lands on a control with a 3px outline.
    await K1.keyboard.press('Shift+Tab');
    const outline = await K1.evaluate(() => {
        const s = getComputedStyle(document.activeElement);
        return `${s.outlineStyle} ${s.outlineWidth}`;
    });
    assert.equal(outline, 'solid 3px');

    // The last minute: amber for everyone, announced once.
    await act(F, 'timer-toggle');
    await K1.locator('.clock.is-running').waitFor();
    await act(F, 'timer-set');
    await F.locator('dialog.dialog input[type=number]').fill('1');
    await F.locator('dialog.dialog button[type=submit]').click();
    await K1.locator('.clock.is-warning').waitFor();
    await K1.locator('#announcer p', { hasText: fr.clock.one_minute }).waitFor({ state: 'attached' });
    await act(F, 'timer-toggle');
    await K1.locator('.clock.is-paused').waitFor();
    assert.equal(await K1.locator('.clock.is-warning').count(), 0, 'no warning on a paused clock');

    // The clock: start, set to 1 min then take it away (overrun shows as
    // +m:ss: in red for the facilitator, calmly for everyone else), +1 min,
    // pause. (Setting 0 makes the step untimed: room12.test.mjs.)
    await act(F, 'timer-toggle');
    await K1.locator('.clock.is-running').waitFor();
    await act(F, 'timer-set');
    await F.locator('dialog.dialog input[type=number]').fill('2');
    await F.locator('dialog.dialog button[type=submit]').click();
    // The set is in (events go out once committed): only then take the two
    // minutes away, or the set could come after and undo it.
    await F.waitForFunction(() => /^(2:00|1:5\d)$/.test(document.querySelector('[data-clock]').textContent));
    await F.evaluate(() => {
        const ws = window.__sockets[window.__sockets.length - 1];
        ws.send(JSON.stringify({ type: 'timer_add', id: 'minus-two', seconds: -120 }));
    });
    await F.locator('.clock.is-overrun').waitFor();
    await K1.locator('.clock.is-overrun-calm').waitFor();
    assert.match(await K1.locator('[data-clock]').textContent(), /^\+0:0\d$/);
    assert.equal(await F.locator('.clock-value').evaluate((el) => getComputedStyle(el).color), 'rgb(176, 0, 32)');
    assert.notEqual(await K1.locator('.clock-value').evaluate((el) => getComputedStyle(el).color), 'rgb(176, 0, 32)');
    await K1.screenshot({ path: shotPath('clock-overrun-consultant-fr') });
    await F.screenshot({ path: shotPath('clock-overrun-facilitator-fr') });
    await act(F, 'timer-plus1');
    await K1.locator('.clock:not(.is-overrun-calm).is-running').waitFor();
    assert.match(await K1.locator('[data-clock]').textContent(), /^0:5\d$|^1:00$/);
    await act(F, 'timer-toggle');
    await K1.locator('.clock.is-paused', { hasText: fr.clock.paused }).waitFor();
    const frozen = await K1.locator('[data-clock]').textContent();
    await K1.waitForTimeout(1300);
    assert.equal(await K1.locator('[data-clock]').textContent(), frozen, 'a paused clock does not move');

    // Raised hands, in order; the facilitator lowers one.
    await act(K2, 'hand');
    await act(K1, 'hand');
    await F.locator('.hands-list .hand').nth(1).waitFor();
    assert.deepEqual(await F.locator('.hands-list .hand-name').allTextContents(), ['Dmitri', 'Chloé']);
    await F.locator('.hand', { hasText: 'Dmitri' }).locator('[data-action=hand-lower]').click();
    await K2.locator('.hands-list .hand').nth(0).filter({ hasText: 'Chloé' }).waitFor();
    assert.equal(await K2.locator('.hands-list .hand').count(), 1);

    // Observer on: Dmitri only reads.
    const menuOf = (name) => F.locator('.member', { hasText: name }).locator('.member-menu');
    await menuOf('Dmitri').locator('summary').click();
    await menuOf('Dmitri').locator('[data-action=observer]').click();
    await K2.locator('.now-role', { hasText: fr.roles.observer }).waitFor();
    assert.equal(await K2.locator('form[data-composer-form=checkin]').count(), 0, 'no composer for an observer');
    // A forged post from the observer: refused, in words.
    await K2.evaluate(() => window.__sockets.at(-1).send(JSON.stringify({ type: 'checkin_post', id: 'obs-1', text: 'x' })));
    await K2.locator('#alerts .toast', { hasText: fr.errors.observer_read_only }).waitFor();

    // Hand facilitation to Chloé: the controls move with it.
    await menuOf('Chloé').locator('summary').click();
    await menuOf('Chloé').locator('[data-action=handover]').click();
    await F.locator('dialog.dialog .btn-primary').click();
    await K1.locator('.controls:visible').waitFor();
    await F.locator('.controls').waitFor({ state: 'hidden' });
    await F.locator('.now-role', { hasText: fr.roles.consultant }).waitFor();

    // Chloé removes Dmitri: his page says so and stops.
    const menu2 = K1.locator('.member', { hasText: 'Dmitri' }).locator('.member-menu');
    await menu2.locator('summary').click();
    await menu2.locator('[data-action=remove]').click();
    await K1.locator('dialog.dialog .btn-danger').click();
    await K2.locator('h1', { hasText: fr.fatal.removed_title }).waitFor();
    await F.locator('.member', { hasText: 'Dmitri' }).waitFor({ state: 'detached' });
    // And after a reload his key no longer opens the group.
    await K2.reload();
    await K2.locator('h1', { hasText: fr.fatal.removed_title }).waitFor();
    assert.equal(await K2.locator('#panel').count(), 0);
    for (const p of [F, K1]) assert.deepEqual(realProblems(p), []);
    for (const p of [F, K1, K2]) await p.context().close();
});

test('the name fields take their limit from the server (/api/health), on the front page and the join page', async () => {
    const own = await startServer({ args: ['--set', 'name_max_chars=12'] });
    try {
        const F = await person(browser, 'facilitator');
        await F.goto(own.url + '/');
        await F.waitForFunction(() => {
            const f = [...document.querySelectorAll('form[data-form=create] input[type=text]')];
            return f.length === 2 && f.every((i) => i.maxLength === 12);
        });
        const invite = await createGroup(F, own.url, { name: 'Douze', me: 'Anne' });
        const K = await person(browser, 'consultant');
        await K.goto(invite);
        await K.waitForFunction(() => document.querySelector('form[data-form=join] input[name=display_name]')?.maxLength === 12);
        assert.deepEqual(realProblems(F), []);
        assert.deepEqual(realProblems(K), []);
        await F.context().close();
        await K.context().close();
    } finally {
        await own.stop();
    }
});
