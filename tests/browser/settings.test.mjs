// The group's settings page in the browser (issue 14, proto/README.md 1.2):
// the join page names the group and its facilitator before anyone types a
// name; the facilitator's page (reached from the group's menu) changes the
// retention, the format and each step's minutes, the ground rules, the
// invite link and the members, live for a member who reads the summary;
// the ground rules show at the opening and the template starts the next
// session; the group is deleted after its name is typed. Screenshots in
// French and English at 700 px (test-output/screenshots).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, person, shotPath, realProblems, fitsWidth } from './lib/browser.mjs';
import { axeProblems } from './lib/layout.mjs';
import { startBackend, createGroup, join, waitStep, act, choose, fr, en } from './lib/app.mjs';

let server;
let browser;
const P = {};

before(async () => {
    server = await startBackend();
    browser = await launch();
    for (const who of ['facilitator', 'lea', 'marc', 'stranger']) P[who] = await person(browser, who, { width: 700 });
});

after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
});

const settingsView = (page) => page.locator('[data-view=settings]');
const groupIdOf = (page) => new URL(page.url()).hash.split('/')[2];

async function openSettingsFromMenu(page) {
    await page.locator('details.menu > summary').click();
    await act(page, 'settings');
    await settingsView(page).waitFor();
}

test('settings: join preview, the facilitator\'s page and the members\' summary live, rules at the opening, template in the next room, delete after typing the name', async () => {
    const F = P.facilitator;
    const L = P.lea;
    const M = P.marc;
    const invite = await createGroup(F, server.url, { name: 'Gestionnaires Lyon', me: 'Claire' });
    const gid = groupIdOf(F);

    // The join page names the group and its facilitator before a name is typed.
    await L.goto(invite);
    await L.locator('[data-join=lead][data-named=yes]').waitFor();
    assert.equal(await L.locator('main h1').textContent(), 'Gestionnaires Lyon');
    const lead = await L.locator('[data-join=lead]').textContent();
    assert.ok(lead.includes('Claire') && lead.includes('Gestionnaires Lyon'), lead);
    assert.ok(lead.includes('«\u202fGestionnaires Lyon\u202f»'), 'French quotes with thin spaces');
    await L.screenshot({ path: shotPath('settings-join-preview-fr') });
    await join(L, invite, 'Léa');
    await join(M, invite, 'Marc');

    // The facilitator reaches the settings page from the group's menu.
    await openSettingsFromMenu(F);
    assert.ok(F.url().endsWith(`#/g/${gid}/settings`));
    await F.locator('form[data-form=retention]').waitFor();
    assert.ok(await fitsWidth(F), 'no horizontal scroll at 700 px');
    assert.deepEqual(await axeProblems(F), [], 'axe: the facilitator\'s settings page');
    await F.screenshot({ path: shotPath('settings-facilitator-fr'), fullPage: true });

    // Léa reads the summary: no form, nothing to delete.
    await L.evaluate((id) => { location.hash = `#/g/${id}/settings`; }, gid);
    await settingsView(L).waitFor();
    await L.locator('[data-retention=personal].is-current').waitFor();
    assert.equal(await L.locator('[data-view=settings] form').count(), 0, 'a member gets a summary, no form');
    assert.equal(await L.locator('[data-action=group-delete]').count(), 0);
    assert.ok((await L.locator('[data-view=settings]').textContent()).includes(fr.settings.retention_personal_text));

    // Retention, live for Léa.
    await choose(F.locator('form[data-form=retention] input[value=keep]'));
    await act(F, 'retention-save');
    await L.locator('[data-retention=keep].is-current').waitFor();

    // The half-day format, then the consultation at 35 minutes: the template Léa sees.
    await choose(F.locator('form[data-form=format] input[value="240"]'));
    await act(F, 'format-apply');
    await L.locator('[data-setting=format]', { hasText: fr.home.format_240 }).waitFor();
    const consult = F.locator('form[data-form=budgets] input[data-step=consultation]');
    await F.waitForFunction(() => document.querySelector('form[data-form=budgets] input[data-step=consultation]').value === '30');
    await consult.fill('35');
    await act(F, 'budgets-save');
    await L.locator('tr[data-step=consultation] td', { hasText: '35' }).waitFor();
    await L.locator('[data-setting=total]', { hasText: '235' }).waitFor(); // 15 + 2 × (10+10+25+10+35+10+10)

    // A value the server refuses is said in words, and nothing changes.
    await consult.fill('500');
    await act(F, 'budgets-save');
    await F.locator('[data-settings-status]', { hasText: fr.errors.bad_field }).waitFor();
    await L.locator('tr[data-step=consultation] td', { hasText: '35' }).waitFor();

    // The ground rules, live for Léa.
    assert.equal(await L.locator('[data-list=settings-rules] li').count(), 4, 'the default list');
    await F.locator('form[data-form=rules] textarea').fill('Ce qui se dit ici reste ici.\n\nOn écoute jusqu’au bout.');
    await act(F, 'rules-save');
    await L.locator('[data-list=settings-rules] li', { hasText: 'On écoute jusqu’au bout.' }).waitFor();
    assert.equal(await L.locator('[data-list=settings-rules] li').count(), 2);

    // A new invite link: the old one no longer names the group.
    await act(F, 'invite-reset');
    await F.locator('[data-action=copy-new-invite]').waitFor();
    const fresh = await F.locator('[data-view=settings] .copy-field input').inputValue();
    assert.notEqual(fresh, invite);
    const S = P.stranger;
    await S.goto(invite);
    await S.locator('.form-status', { hasText: fr.errors.bad_invite }).waitFor();
    assert.notEqual(await S.locator('[data-join=lead]').getAttribute('data-named'), 'yes');
    await S.goto(fresh);
    await S.locator('[data-join=lead][data-named=yes]').waitFor();

    // Marc is removed between sessions: his page says so, Léa's list drops him.
    await L.locator('[data-list=settings-members] li', { hasText: 'Marc' }).waitFor();
    await F.locator('[data-list=settings-members] li', { hasText: 'Marc' }).locator('[data-action=member-remove]').click();
    await F.locator('dialog .btn-danger').click();
    await M.locator('h1', { hasText: fr.fatal.removed_title }).waitFor();
    await L.locator('[data-list=settings-members] li', { hasText: 'Marc' }).waitFor({ state: 'detached' });
    await L.screenshot({ path: shotPath('settings-member-fr'), fullPage: true });

    // English, at 700 px.
    await act(F, 'lang');
    await F.locator('[data-view=settings] h2', { hasText: en.settings.retention_title }).waitFor();
    assert.ok(await fitsWidth(F));
    await F.screenshot({ path: shotPath('settings-facilitator-en'), fullPage: true });
    await act(L, 'lang');
    await L.locator('[data-view=settings] h1', { hasText: en.settings.title }).waitFor();
    await L.screenshot({ path: shotPath('settings-member-en'), fullPage: true });
    await act(F, 'lang');
    await act(L, 'lang');

    // Back to the group: the next session starts with the template; the opening shows the rules.
    await act(F, 'settings-back');
    await act(L, 'settings-back');
    await act(F, 'session-open');
    await waitStep([F, L], 'opening');
    await L.locator('[data-list=ground-rules] li', { hasText: 'Ce qui se dit ici reste ici.' }).waitFor();
    assert.equal(await L.locator('[data-list=ground-rules] li').count(), 2);
    const label = await F.locator('.progress-step[data-step=consultation]').getAttribute('aria-label');
    assert.ok(label.includes('35'), `the room's consultation budget: ${label}`);
    await L.screenshot({ path: shotPath('settings-opening-rules-fr') });

    // Delete: the button waits for the group's exact name.
    await F.evaluate((id) => { location.hash = `#/g/${id}/settings`; }, gid);
    await settingsView(F).waitFor();
    await F.locator('[data-view=settings]', { hasText: fr.settings.members_in_session }).waitFor();
    const name = F.locator('input[data-input=delete-name]');
    await name.fill('Gestionnaires');
    assert.ok(await F.locator('[data-action=group-delete]').isDisabled(), 'not the whole name');
    await name.fill('Gestionnaires Lyon');
    await act(F, 'group-delete');
    await F.locator('form[data-form=create]').waitFor();
    assert.ok(!F.url().includes(gid), 'home');
    assert.equal(await F.locator('.group-list a', { hasText: 'Gestionnaires Lyon' }).count(), 0, 'forgotten on this device');
    await L.locator('h1', { hasText: fr.fatal.key_title }).waitFor();

    // Refused requests show up as console errors of the browser itself: the 400
    // of the refused template, the 403 of the dead invite's preview.
    assert.deepEqual(realProblems(F, [/status of 400/]), [], 'facilitator: no console error');
    assert.deepEqual(realProblems(L), [], 'Léa: no console error');
    assert.deepEqual(realProblems(S, [/status of 403/]), []);
});
