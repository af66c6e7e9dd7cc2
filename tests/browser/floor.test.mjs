// Rounds in the browser (issue 13, part 1): what the whole-session test
// does not click. The facilitator's page starts a round with a turn budget
// in "signal" mode, sees the signal when a turn runs over and clicks
// "Suivant" and "Arrêter le tour"; then a round in "auto" mode, where the
// server moves on by itself and no signal shows. The speaker's page shows
// who has the floor; the balance bars are the facilitator's only, and the
// same after a reload. The rest of the group is driven over WebSockets
// (tests/integration/lib).
//
// The page offers budgets from 60 s; the test adds a 10 s choice to the
// select (the server's minimum, ROOM_TURN_MIN_S) so that a turn runs out
// in seconds instead of a minute. Everything else is the page as is.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, person, realProblems } from './lib/browser.mjs';
import { panel, fr } from './lib/app.mjs';
import { startServer } from '../lib/server.mjs';
import { setupGroup, advance } from '../integration/lib/scenario.mjs';

let srv;
let browser;

before(async () => {
    srv = await startServer();
    browser = await launch();
});

after(async () => {
    if (browser) await browser.close();
    if (srv) await srv.stop();
});

async function open(name, groupId, key) {
    const page = await person(browser, name);
    await page.goto(`${srv.url}/#/g/${groupId}/${key}`);
    return page;
}

/** The round's statuses as page shows them, once they are want. */
async function statusesBecome(page, want) {
    await page.waitForFunction((w) => {
        const got = [...document.querySelectorAll('.round-order .round-turn')].map((e) => e.dataset.status);
        return JSON.stringify(got) === JSON.stringify(w);
    }, want, { timeout: 20000 });
}

/** Starts a round from the facilitator's panel with a 10 s turn budget. */
async function startRound(page, mode) {
    const turn = page.locator('select[data-field=turn-seconds]');
    await turn.evaluate((sel) => {
        if (![...sel.options].some((o) => o.value === '10')) sel.add(new Option('10 s', '10'), 0);
    });
    await turn.selectOption('10');
    await page.locator('select[data-field=round-mode]').selectOption(mode);
    await page.locator('[data-action=round-start]').click();
}

const hasFloor = (page, name) => page.locator('.floor-bar .floor-who', { hasText: fr.floor.has.replace('{name}', name) });

test('signal: the facilitator is told, skips and stops; auto: the server moves on; the balance is the facilitator\'s, the same after a reload', async () => {
    const g = await setupGroup(srv);
    await advance(g, 'clarification');
    const [lea, julien] = g.K;
    const claire = await open('Claire', g.groupId, g.F.key);
    const leaPage = await open('Léa', g.groupId, lea.key);
    await Promise.all([claire, leaPage].map((p) => panel(p, 'clarification').waitFor()));
    const alert = claire.locator('.floor-bar .floor-alert');

    // Signal: Léa has the floor; the time runs out; nothing moves on by itself.
    await startRound(claire, 'signal');
    await leaPage.locator('.floor-bar .floor-who', { hasText: fr.floor.you_have }).waitFor();
    await hasFloor(claire, 'Léa').waitFor();
    await statusesBecome(claire, ['speaking', 'pending', 'pending']);
    await alert.waitFor({ state: 'visible', timeout: 20000 });
    assert.equal(await alert.textContent(), fr.floor.signal.replace('{name}', 'Léa'));
    await claire.locator('.floor-bar.is-over').waitFor();
    assert.equal(await leaPage.locator('.floor-bar .floor-alert:visible').count(), 0, 'only the facilitator gets the signal');
    await statusesBecome(claire, ['speaking', 'pending', 'pending']);
    // « Suivant »: Julien; « Arrêter le tour »: his turn counts, Sophie stays pending.
    await claire.locator('.floor-bar [data-action=round-skip]', { hasText: fr.floor.skip }).click();
    await hasFloor(claire, 'Julien').waitFor();
    await statusesBecome(leaPage, ['skipped', 'speaking', 'pending']);
    await alert.waitFor({ state: 'hidden' });
    await claire.locator('.floor-bar [data-action=round-stop]', { hasText: fr.floor.stop }).click();
    await statusesBecome(claire, ['skipped', 'spoke', 'pending']);
    await claire.locator('.round-order.is-over').waitFor();
    await leaPage.locator('.round-order.is-over').waitFor();
    assert.equal(await claire.locator('.floor-bar [data-action=round-skip]:visible').count(), 0, 'no « Suivant » once the round is over');

    // Auto: the next round starts after Léa, who began the last one; the
    // server moves Julien's expired turn on; no signal.
    await startRound(claire, 'auto');
    await hasFloor(claire, 'Julien').waitFor();
    const order = await claire.locator('.round-order .round-turn').evaluateAll((els) => els.map((e) => e.dataset.memberId));
    assert.deepEqual(order, [julien.memberId, g.K[2].memberId, lea.memberId]);
    await statusesBecome(claire, ['expired', 'speaking', 'pending']);
    await statusesBecome(leaPage, ['expired', 'speaking', 'pending']);
    assert.equal(await alert.isVisible(), false, 'auto mode moves on without a signal');
    await claire.locator('.floor-bar [data-action=round-stop]').click();
    await statusesBecome(claire, ['expired', 'spoke', 'pending']);

    // The balance: Léa one turn, Julien two (one of them expired after 10 s), Sophie one.
    await claire.locator('.balance-row[data-turns="2"]', { hasText: 'Julien' }).waitFor();
    const before = await claire.locator('.balance-row').evaluateAll((els) => els.map((e) => [e.dataset.memberId, e.dataset.turns, e.dataset.passes, e.querySelector('.balance-figures').textContent]));
    assert.equal(before.length, 3);
    assert.equal(await leaPage.locator('.balance-row').count(), 0, 'a consultant sees no balance');
    assert.equal(await leaPage.locator('.floor-panel:visible').count(), 0, 'a consultant has no floor panel');
    await claire.reload();
    await panel(claire, 'clarification').waitFor();
    await claire.locator('.balance-row').nth(2).waitFor();
    const after = await claire.locator('.balance-row').evaluateAll((els) => els.map((e) => [e.dataset.memberId, e.dataset.turns, e.dataset.passes, e.querySelector('.balance-figures').textContent]));
    assert.deepEqual(after, before, 'the same balance after a reload');

    for (const p of [claire, leaPage]) assert.deepEqual(realProblems(p), [], `${p.personName}: no console error`);
    for (const p of [claire, leaPage]) await p.context().close();
    for (const c of g.everyone) await c.close();
});
