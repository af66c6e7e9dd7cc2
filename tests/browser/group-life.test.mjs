// The group between its sessions in the page (issue 14, first part): the
// group view (next session and its calendar file, whose turn, the rota,
// proposals, the private exposé draft), the proposals and the rota at the
// topic step, and the draft offered to its author at the exposé step.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch, person, shotPath, realProblems } from './lib/browser.mjs';
import { axeProblems } from './lib/layout.mjs';
import { startBackend, createGroup, join, waitStep, panel, post, seeCard, act, fr } from './lib/app.mjs';

let server;
let browser;
const P = {};
let all = [];

before(async () => {
    server = await startBackend();
    browser = await launch();
    for (const who of ['facilitator', 'karim', 'lea']) P[who] = await person(browser, who);
    all = Object.values(P);
});

after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
});

const view = (page) => page.locator('[data-view=between][data-loaded=yes]');

async function reloadView(page) {
    await page.reload();
    await panel(page, 'none').waitFor();
    await view(page).waitFor();
}

test('between sessions: the group view, the rota, the next session\'s file, proposals at the topic step, the draft at the exposé', async () => {
    const invite = await createGroup(P.facilitator, server.url, { name: 'Gestionnaires Lyon', me: 'Claire' });
    await join(P.karim, invite, 'Karim');
    await join(P.lea, invite, 'Léa');
    await Promise.all(all.map((p) => view(p)));

    // The facilitator sets the next session; the others see it and download it.
    const F = P.facilitator;
    await reloadView(F);
    const next = F.locator('form[data-form=next]');
    await next.locator('#next-date').fill('2031-03-14');
    await next.locator('#next-time').fill('18:30');
    await next.locator('#next-duration').fill('90');
    await next.locator('#next-link').fill('https://meet.example.org/codev-lyon');
    await next.locator('#next-zone').fill('Europe/Paris');
    await act(F, 'next-save');
    // Written as people write dates, in the group's zone: « vendredi 14 mars 2031 à 18 h 30 ».
    await F.locator('[data-next=when][data-datetime="2031-03-14T18:30"]', { hasText: /vendredi 14 mars 2031 à 18\sh\s30/ }).waitFor();

    // The rota: Karim is client at the next session, Claire facilitates.
    await act(F, 'rota-add');
    const [c, f] = await F.locator('form[data-form=rota] select').all();
    await c.selectOption({ label: 'Karim' });
    await f.selectOption({ label: 'Claire' });
    await act(F, 'rota-save');
    await F.locator('[data-list=rota] li', { hasText: 'Karim' }).waitFor();

    // Karim proposes a case and drafts his exposé, privately.
    const K = P.karim;
    await reloadView(K);
    await K.locator('[data-next=when]', { hasText: '14 mars 2031' }).waitFor();
    await K.locator('[data-list=rota] li', { hasText: 'Claire' }).waitFor();
    const suggestion = await K.locator('[data-suggest=client]').textContent();
    assert.ok(suggestion.includes('Claire') && suggestion.includes('Karim'), `suggestions name who never was client: ${suggestion}`);
    const download = K.waitForEvent('download');
    await act(K, 'next-ics');
    const file = readFileSync(await (await download).path(), 'utf8');
    assert.match(file, /BEGIN:VEVENT\r\n/);
    assert.match(file, /DTSTART:20310314T173000Z\r\n/, 'Paris in March is UTC+1');
    assert.match(file, /URL:https:\/\/meet\.example\.org\/codev-lyon\r\n/);

    const pf = K.locator('form[data-form=proposal-new]');
    await pf.locator('input').fill('Une équipe qui ne se parle plus');
    await pf.locator('textarea').fill('Depuis la réorganisation, tout passe par les tickets.');
    await act(K, 'propose');
    await K.locator('[data-list=proposals] .proposal-title', { hasText: 'Une équipe qui ne se parle plus' }).waitFor();
    const draft = 'Brouillon privé : mon équipe ne se parle plus qu’à travers les tickets.';
    await K.locator('form[data-form=draft] textarea').fill(draft);
    await act(K, 'draft-save');
    await K.locator('[data-action=draft-delete]').waitFor();

    // Léa sees the proposal, never the draft.
    const L = P.lea;
    await reloadView(L);
    await L.locator('[data-list=proposals] .proposal-title', { hasText: 'Une équipe qui ne se parle plus' }).waitFor();
    assert.equal(await L.locator('form[data-form=draft] textarea').inputValue(), '');
    assert.ok(!(await L.content()).includes('Brouillon privé'), 'nobody else ever has the draft');
    assert.equal(await L.locator('[data-list=proposals] [data-action=withdraw]').count(), 0, 'only its author edits or withdraws it');
    assert.deepEqual(await axeProblems(K), [], 'axe: the group view');
    await K.screenshot({ path: shotPath('between-group-view-fr'), fullPage: true });

    // The session: at the topic step the rota and the proposal are offered; bringing it fills the topic.
    await act(F, 'session-open');
    await waitStep(all, 'opening');
    await act(F, 'step-next');
    await waitStep(all, 'topic');
    await K.locator('[data-rota=next]', { hasText: 'Karim' }).waitFor();
    await act(K, 'use-proposal');
    const topicBox = K.locator('form[data-composer-form=topic] textarea');
    await K.waitForFunction(() => document.querySelector('form[data-composer-form=topic] textarea').value.startsWith('Une équipe'));
    assert.equal(await topicBox.inputValue(), 'Une équipe qui ne se parle plus\nDepuis la réorganisation, tout passe par les tickets.');
    await post(K, 'topic', await topicBox.inputValue());
    await seeCard(all, 'Une équipe qui ne se parle plus');
    await K.locator('.topic-proposals .hint', { hasText: fr.between.used }).waitFor();
    await K.screenshot({ path: shotPath('between-topic-fr') });

    // Karim is named client: his draft waits in his exposé composer, for him only.
    await F.locator('#assign-client').selectOption({ label: 'Karim' });
    await act(F, 'assign');
    await act(F, 'step-next');
    await waitStep(all, 'expose');
    await K.locator('.draft-offer:visible').waitFor();
    assert.equal(await K.locator('form[data-composer-form=problem] textarea').inputValue(), draft);
    assert.ok(!(await L.content()).includes('Brouillon privé'), 'the draft is not shown to others before it is published');
    await post(K, 'problem', draft.replace('Brouillon privé : ', ''));
    await Promise.all(all.map((p) => p.locator('.problem-text', { hasText: 'mon équipe ne se parle plus' }).waitFor()));

    for (const p of all) assert.deepEqual(realProblems(p), [], `${p.personName}: no console error`);
});
