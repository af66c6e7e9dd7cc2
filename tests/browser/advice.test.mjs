// The advice line in the browser (issue 13, part 2): a consultant typing a
// question gets the hint after a pause in typing (question_check), may
// reword, send anyway or park; the facilitator sees the verdict next to the
// "conseil déguisé" flag; a parked question survives a reload and another
// device and comes back in the consultation composer as a suggestion.
// The rest of the group is driven over WebSockets (tests/integration/lib).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, person, realProblems } from './lib/browser.mjs';
import { panel, card, fr } from './lib/app.mjs';
import { startServer } from '../lib/server.mjs';
import { setupGroup, advance } from '../integration/lib/scenario.mjs';

const ADVICE = 'As-tu pensé à en parler à ta directrice ?';
const CLEAN = 'Depuis quand est-ce que ça dure ?';
const PARK = 'Pourquoi ne pas proposer un rituel d’équipe le lundi ?';

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

/** Opens member's personal link in a fresh browser context. */
async function open(name, groupId, key) {
    const page = await person(browser, name);
    await page.goto(`${srv.url}/#/g/${groupId}/${key}`);
    return page;
}

/** The number of question_check answers the page took into account. */
const checked = (page) => page.locator('.advice-line').getAttribute('data-checked').then((v) => Number(v || 0));

/** Types text in the question composer and waits for the check of it to be answered. */
async function typeAndCheck(page, text) {
    const before = await checked(page);
    await page.locator('form[data-composer-form=question] textarea').fill(text);
    await page.waitForFunction((n) => Number(document.querySelector('.advice-line').dataset.checked || 0) > n, before);
    const frames = page.sent.map((f) => JSON.parse(f)).filter((m) => m.type === 'question_check');
    assert.equal(frames.at(-1).text, text, 'the page asked the server about this text');
}

test('hint, reword, send anyway, the facilitator\'s highlight, park, and the parked question back in consultation', async () => {
    const g = await setupGroup(srv);
    await advance(g, 'clarification');
    const [leaWs] = g.K;
    const lea = await open('Léa', g.groupId, leaWs.key);
    const claire = await open('Claire', g.groupId, g.F.key);
    await Promise.all([lea, claire].map((p) => panel(p, 'clarification').waitFor()));
    const hint = lea.locator('.advice-hint');

    // The hint, after a pause, with the cue explained.
    await typeAndCheck(lea, ADVICE);
    await hint.waitFor({ state: 'visible' });
    assert.equal(await lea.locator('.advice-hint-text').textContent(), fr.clarification.advice_hint);
    assert.match(await lea.locator('.advice-hint-cue').textContent(), /pensé/);
    // Reword: the hint goes, the draft stays; a clean question brings no hint.
    await lea.locator('[data-action=advice-reword]').click();
    await hint.waitFor({ state: 'hidden' });
    assert.equal(await lea.locator('form[data-composer-form=question] textarea').inputValue(), ADVICE);
    await typeAndCheck(lea, CLEAN);
    assert.equal(await hint.isVisible(), false, 'no hint for an open question');

    // Send anyway.
    await typeAndCheck(lea, ADVICE);
    await hint.waitFor({ state: 'visible' });
    await lea.locator('[data-action=advice-send]').click();
    await card(claire, ADVICE).waitFor();
    await hint.waitFor({ state: 'hidden' });
    // The facilitator: highlighted, the flag one click away.
    const q = claire.locator('.card-question', { has: claire.locator('.card-text', { hasText: ADVICE }) });
    await q.locator('.tag-advice-like').waitFor();
    assert.equal(await q.locator('.tag-advice-like').textContent(), fr.clarification.advice_like);
    assert.ok(await q.evaluate((el) => el.classList.contains('is-advice-like')));
    await q.locator('[data-action=flag]').click();
    await q.locator('.tag-flagged').waitFor();
    assert.ok(!(await q.evaluate((el) => el.classList.contains('is-advice-like'))), 'once flagged, the flag speaks');
    // The author sees the tag on their own question too.
    await lea.locator('.card-question .tag-advice-like').waitFor();

    // Park.
    await typeAndCheck(lea, PARK);
    await hint.waitFor({ state: 'visible' });
    await lea.locator('[data-action=advice-park]').click();
    await lea.locator('.advice-hint-status', { hasText: fr.clarification.parked }).waitFor();
    assert.equal(await lea.locator('form[data-composer-form=question] textarea').inputValue(), '');
    const note = await leaWs.nextEvent('card_added', (m) => m.card.type === 'note');
    assert.equal(note.card.parked, true);
    assert.equal(note.card.text, PARK);
    assert.equal(await claire.locator('.card-text', { hasText: PARK }).count(), 0, 'the facilitator never sees a parked question');

    // Consultation: the parked question is offered back, after a reload and on another device.
    await advance(g, 'consultation');
    await lea.reload();
    await panel(lea, 'consultation').waitFor();
    const other = await open('Léa (téléphone)', g.groupId, leaWs.key);
    await panel(other, 'consultation').waitFor();
    for (const p of [lea, other]) {
        await p.locator('.parked .parked-item', { hasText: PARK }).waitFor();
        assert.equal(await p.locator('.parked-title, .parked .block-title').first().textContent(), fr.consultation.parked_title);
    }
    await lea.locator('[data-action=use-parked]').click();
    const box = lea.locator('form[data-composer-form=contribution] textarea');
    assert.equal(await box.inputValue(), PARK);
    assert.ok(await lea.locator('form[data-composer-form=contribution] input[name=kind][value=suggestion]').isChecked());
    await lea.locator('form[data-composer-form=contribution] button[type=submit]').click();
    await card(claire, PARK).waitFor();
    // Used: no longer offered, on either device.
    for (const p of [lea, other]) await p.locator('.parked').waitFor({ state: 'hidden' });

    for (const p of [lea, claire, other]) assert.deepEqual(realProblems(p), [], `${p.personName}: no console error`);
    for (const p of [lea, claire, other]) await p.context().close();
    for (const c of g.everyone) await c.close();
});
