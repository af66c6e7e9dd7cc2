// Issue 3, end to end: five people in five browser contexts (facilitator,
// client, three consultants) run a whole session through every step
// against the real codevd. Screenshots of every step for the facilitator
// and the client, in French and English, go to test-output/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, person, shotPath, realProblems, fitsWidth } from './lib/browser.mjs';
import { stickyInView, firstScreen, axeProblems, covers } from './lib/layout.mjs';
import { validateClientMessage, validateHttp } from '../integration/lib/schemas.mjs';
import { startBackend, createGroup, join, waitStep, panel, post, seeCard, card, act, barrier, clockSeconds, fr } from './lib/app.mjs';

let server;
let browser;
const P = {};          // name -> page
let all = [];

// The role's main element at each step: what must start within the first
// screen at 700 x 900 (issue 12). `whole`: entirely visible, not only begun.
const MAIN = {
    '01-opening': { facilitator: 'form[data-composer-form=checkin]', client: '.step-opening .block', consultant: 'form[data-composer-form=checkin]' },
    '02-topic': { facilitator: 'form.assign', client: 'form[data-composer-form=topic]', consultant: 'form[data-composer-form=topic]' },
    '03-expose': { facilitator: '.problem-text', client: 'form[data-composer-form=problem]', consultant: '.problem-text' },
    '04-clarification': { facilitator: '.questions .card-question', client: '.questions form[data-composer-form=answer]', consultant: 'form[data-composer-form=question]' },
    '05-contract': { facilitator: '.contract-text', client: 'form[data-composer-form=contract]', consultant: '[data-action=ack]' },
    '06-consultation': { facilitator: '.stack .card', client: ['.stack .card', { whole: true }], consultant: ['form[data-composer-form=contribution]', '.stack'] },
    // The client: the contributions they marked first, then « Ce que je retiens » (issue 12).
    '07-synthesis': { facilitator: '.actions-list .card', client: ['.kept .card', 'form[data-composer-form=retain]'], consultant: '.actions-list .card' },
    '08-learning': { facilitator: 'form[data-composer-form=learning]', client: 'form[data-composer-form=learning]', consultant: 'form[data-composer-form=learning]' },
    '09-closed': { facilitator: '.record-actions', client: '.record-actions', consultant: '.record-actions' },
    '10-next-opening': { facilitator: 'form[data-composer-form=checkin]', client: '.card-debrief', consultant: 'form[data-composer-form=checkin]' },
};
const ROLE_OF = { facilitator: 'facilitator', client: 'client', k1: 'consultant', k3: 'consultant' };

/** Every check of one page in its current language: bar, main element, axe. */
async function checkPage(step, who, lang) {
    const page = P[who];
    const where = `${step} ${who} ${lang}`;
    assert.ok(await fitsWidth(page), `${where}: the page fits its width`);
    const closed = step === '09-closed';
    const bar = closed ? ['.stepbar .now-title'] : ['.stepbar .now-title', '.stepbar [data-clock]'];
    if (who === 'facilitator' && !closed) bar.push(step === '08-learning' ? '[data-action=step-prev]' : '[data-action=step-next]');
    assert.deepEqual(await stickyInView(page, bar), [], `${where}: step and clock stay in view`);
    if (who !== 'k3') {
        let want = MAIN[step][ROLE_OF[who]];
        const list = Array.isArray(want) && typeof want[1] === 'object' ? [want] : [].concat(want);
        for (const w of list) {
            const [sel, opts] = Array.isArray(w) ? w : [w, {}];
            const at = await firstScreen(page, sel, opts);
            assert.ok(at.ok, `${where}: the main element is on the first screen (${at.why})`);
            assert.equal(await covers(page, '#alerts .toast', sel), '', `${where}: an error never hides the main element`);
        }
    }
    assert.deepEqual(await axeProblems(page), [], `${where}: axe finds no serious or critical violation`);
    await page.evaluate(() => window.scrollTo({ top: 0, behavior: 'instant' }));
    const name = { facilitator: 'facilitator', client: 'client', k1: 'consultant', k3: 'consultant-phone' }[who];
    await page.screenshot({ path: shotPath(`${step}-${name}-${lang}`) });
    if (who === 'facilitator' || who === 'client') {
        // The same person on a phone: the bar stays in view, axe is content.
        await page.setViewportSize({ width: 390, height: 844 });
        assert.ok(await fitsWidth(page), `${where} phone: the page fits its width`);
        assert.deepEqual(await stickyInView(page, bar), [], `${where} phone: step and clock stay in view`);
        assert.deepEqual(await axeProblems(page), [], `${where} phone: axe finds no serious or critical violation`);
        await page.evaluate(() => window.scrollTo({ top: 0, behavior: 'instant' }));
        await page.screenshot({ path: shotPath(`${step}-${name}-phone-${lang}`) });
        await page.setViewportSize({ width: 700, height: 900 });
    }
}

/** axe on a screen outside the room (home, no session yet), both languages. */
async function axeScreen(page, name) {
    for (const lang of ['fr', 'en']) {
        assert.deepEqual(await axeProblems(page), [], `${name} ${lang}: axe finds no serious or critical violation`);
        await page.screenshot({ path: shotPath(`${name}-${lang}`) });
        await page.locator('[data-action=lang]').first().click();
        await page.locator(`html[lang=${lang === 'fr' ? 'en' : 'fr'}]`).waitFor();
    }
}

async function switchLanguage(page, lang) {
    await page.locator('[data-action=lang]').first().click();
    await page.locator(`html[lang=${lang}]`).waitFor();
    await page.locator('.stepbar .now-title').or(page.locator('#panel[data-step=none]')).first().waitFor();
}

/**
 * At each step, for the facilitator, the client, a consultant at 700 px and
 * one on a phone, in French then English: layout, axe, a first-screen
 * screenshot; and a full-page one of the facilitator and the client.
 */
async function shoot(step) {
    for (const p of all) assert.ok(await fitsWidth(p), `${step}: ${p.personName}'s page fits its width`);
    for (const who of ['facilitator', 'client']) await P[who].screenshot({ path: shotPath(`${step}-${who}-fr-full`), fullPage: true });
    for (const who of ['facilitator', 'client', 'k1', 'k3']) {
        await checkPage(step, who, 'fr');
        await switchLanguage(P[who], 'en');
        await checkPage(step, who, 'en');
        await switchLanguage(P[who], 'fr');
    }
}

/** Starts the step clock if the server has it stopped; waits until every browser shows it running. */
async function clockRunning() {
    if (!(await P.facilitator.locator('.clock.is-running').count())) await act(P.facilitator, 'timer-toggle');
    await Promise.all(all.map((p) => p.locator('.clock.is-running').waitFor()));
}

async function next(step) {
    await act(P.facilitator, 'step-next');
    await waitStep(all, step);
}

before(async () => {
    server = await startBackend();
    browser = await launch();
    for (const who of ['facilitator', 'client', 'k1']) P[who] = await person(browser, who);
    P.k2 = await person(browser, 'k2', { reducedMotion: 'reduce' });
    P.k3 = await person(browser, 'k3', { width: 390, height: 844 }); // a phone
    all = Object.values(P);
});

after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
});

test('a whole session, five browsers, every step', async (root) => {
    // Steps depend on each other: after the first failure, skip the rest.
    let failed = false;
    const t = {
        test: (name, fn) => root.test(name, { skip: failed ? 'an earlier step failed' : false }, async (tt) => {
            try { await fn(tt); } catch (e) { failed = true; throw e; }
        }),
    };
    const names = { facilitator: 'Anne', client: 'Bruno', k1: 'Chloé', k2: 'Dmitri', k3: 'Émilie' };

    await t.test('home: create a group, invite, join', async () => {
        await P.facilitator.goto(`${server.url}/`);
        await P.facilitator.locator('form[data-form=create]').waitFor();
        await axeScreen(P.facilitator, '00-home-facilitator');
        const invite = await createGroup(P.facilitator, server.url, { name: 'Gestionnaires Montréal', me: names.facilitator });
        assert.match(invite, /#\/join\/[0-9a-f-]{36}\/[A-Za-z0-9_-]{22}$/, 'invite link carries the code in the fragment');
        assert.doesNotMatch(invite, /\?/, 'no query string');
        for (const who of ['client', 'k1', 'k2', 'k3']) await join(P[who], invite, names[who]);
        await Promise.all(all.map((p) => p.locator('#panel[data-step=none]').waitFor()));
        // Everyone appears in the facilitator's member list.
        for (const who of ['client', 'k1', 'k2', 'k3']) {
            await P.facilitator.locator('.member-name', { hasText: names[who] }).waitFor();
        }
        await axeScreen(P.facilitator, '00-nosession-facilitator');
        await axeScreen(P.client, '00-nosession-client');
        // The key never shows up in the address bar.
        for (const p of all) assert.doesNotMatch(p.url(), /\?/);
    });

    await t.test('opening: session opens everywhere, clock counts down, check-in', async () => {
        await act(P.facilitator, 'session-open');
        await waitStep(all, 'opening');
        await clockRunning();
        const first = await Promise.all(all.map(clockSeconds));
        await P.facilitator.waitForTimeout(2300);
        const later = await Promise.all(all.map(clockSeconds));
        for (let i = 0; i < all.length; i++) {
            assert.ok(later[i] < first[i], `clock counts down for ${all[i].personName}: ${first[i]} -> ${later[i]}`);
            assert.ok(Math.abs(later[i] - later[0]) <= 1, 'every browser shows the same clock');
        }
        // The first view of a step: its help in one line on the phone; the
        // "?" opens it whole, and folds it away again (issue 12).
        const help = P.k3.locator('#now-help');
        const helpBtn = P.k3.locator('.stepbar [data-action=help]');
        await P.k3.locator('#now-help.is-line').waitFor();
        const lineHeight = await help.evaluate((el) => parseFloat(getComputedStyle(el.querySelector('.now-rules')).lineHeight));
        const folded = await help.boundingBox();
        assert.ok(folded.height < 2 * lineHeight, `phone: the help takes one line (${folded.height} px)`);
        assert.equal(await helpBtn.getAttribute('aria-expanded'), 'false');
        await helpBtn.click();
        await P.k3.locator('#now-help:not(.is-line) .now-purpose').waitFor();
        assert.equal(await helpBtn.getAttribute('aria-expanded'), 'true');
        assert.ok((await help.boundingBox()).height > 3 * lineHeight, 'opened whole: the purpose and the rules');
        await helpBtn.click();
        await help.waitFor({ state: 'hidden' });
        await post(P.k1, 'checkin', 'Un peu fatiguée mais contente d\'être là.');
        await seeCard(all, 'Un peu fatiguée mais contente');
        await shoot('01-opening');
    });

    await t.test('topic: proposals, the facilitator names the client', async () => {
        await next('topic');
        await post(P.client, 'topic', 'Mon équipe ne tient pas ses échéances <b>depuis</b> la fusion');
        await seeCard(all, 'Mon équipe ne tient pas ses échéances');
        // Text is text: the <b> stays literal.
        const html = await card(P.k2, 'Mon équipe ne tient pas').innerHTML();
        assert.ok(html.includes('&lt;b&gt;'), 'card text is escaped, never parsed as HTML');
        await P.facilitator.locator('#assign-client').selectOption({ label: names.client });
        await act(P.facilitator, 'assign');
        await P.client.locator('.now-role', { hasText: fr.roles.client }).waitFor();
        await shoot('02-topic');
    });

    await t.test('expose: the client writes, everyone reads', async () => {
        await next('expose');
        await post(P.client, 'problem', 'Depuis la fusion, mon équipe rate une échéance sur deux.\nJ\'ai essayé des points quotidiens.');
        await Promise.all(all.map((p) => p.locator('.problem-text', { hasText: 'rate une échéance sur deux' }).waitFor()));
        assert.equal(await P.k1.locator('form[data-composer-form=problem]').count(), 0, 'only the client has the problem composer');
        // Only the client speaks: nobody is offered a hand.
        for (const p of all) assert.equal(await p.locator('[data-action=hand]:visible').count(), 0, `${p.personName}: no hand during the exposé`);
        await shoot('03-expose');
    });

    await t.test('clarification: questions and answers', async () => {
        await next('clarification');
        await P.k1.locator('[data-action=hand]:visible').waitFor();
        await post(P.k1, 'question', 'Qui fixe les échéances aujourd\'hui ?');
        await post(P.k2, 'question', 'As-tu pensé à réduire le nombre de projets ?');
        await seeCard(all, 'Qui fixe les échéances');
        const q = P.client.locator('.card-question', { hasText: 'Qui fixe les échéances' });
        await post(P.client, 'answer', 'La direction, sans nous consulter.', { within: q });
        await Promise.all(all.map((p) => p.locator('.answer-text', { hasText: 'sans nous consulter' }).waitFor()));
        const advice = P.facilitator.locator('.card-question', { hasText: 'As-tu pensé' });
        await advice.locator('[data-action=flag]').click();
        await P.k2.locator('.card-question.is-flagged', { hasText: 'As-tu pensé' }).waitFor();
        await shoot('04-clarification');
    });

    await t.test('contract: reformulation, request, every consultant confirms', async () => {
        await next('contract');
        await post(P.k3, 'reformulation', 'Ce que j\'ai compris : tu veux retrouver la maîtrise des délais.');
        await seeCard(all, 'retrouver la maîtrise des délais');
        await post(P.client, 'contract', 'J\'aimerais que vous m\'aidiez à remettre mon équipe sur ses échéances sans l\'épuiser.');
        await Promise.all(all.map((p) => p.locator('.contract-text', { hasText: 'sans l\'épuiser' }).waitFor()));
        // The facilitator's Next says how many confirmed and offers to go on.
        const nextBtn = P.facilitator.locator('.stepbar [data-action=step-next]');
        await P.facilitator.locator('.stepbar [data-action=step-next].is-force', { hasText: fr.fac.next_force.replace('{n}', '0').replace('{total}', '3') }).waitFor();
        // A refused step_next (no force) says why, and the message goes away
        // by itself once the acknowledgements change.
        await P.facilitator.evaluate(() => {
            const ws = window.__sockets[window.__sockets.length - 1];
            ws.send(JSON.stringify({ type: 'step_next', id: 'not-yet-1' }));
        });
        const toast = P.facilitator.locator('#alerts .toast', { hasText: fr.errors.contract_not_acked });
        await toast.waitFor();
        await act(P.k1, 'ack');
        await P.facilitator.locator('.stepbar [data-action=step-next]', { hasText: '1/3' }).waitFor();
        await toast.waitFor({ state: 'detached' });
        for (const k of ['k2', 'k3']) await act(P[k], 'ack');
        await P.facilitator.locator('.ack-summary', { hasText: '3' }).waitFor();
        await P.facilitator.locator('.ack.is-acked').nth(2).waitFor();
        await P.facilitator.locator('.stepbar [data-action=step-next]:not(.is-force)', { hasText: fr.steps.consultation.short }).waitFor();
        assert.equal(await nextBtn.count(), 1);
        await shoot('05-contract');
    });

    await t.test('consultation: the stack, the listening client, a refused forged post', async () => {
        await next('consultation');
        await clockRunning();
        assert.equal(await P.client.locator('form[data-composer-form=contribution]').count(), 0, 'no composer for the client');
        await P.client.locator('.listening').waitFor();
        // Dmitri is typing while Chloé's card arrives: his text and focus stay.
        const draft = P.k2.locator('form[data-composer-form=contribution] textarea');
        await draft.click();
        await P.k2.keyboard.type('Je tape encore');
        await post(P.k1, 'contribution', 'Suggestion : renégocier deux échéances avec la direction.', { kind: 'suggestion' });
        await seeCard([P.k2], 'renégocier deux échéances');
        assert.equal(await draft.inputValue(), 'Je tape encore');
        assert.equal(await P.k2.evaluate(() => document.activeElement.dataset.composer), 'contribution');
        await P.k2.keyboard.type(' et encore');
        assert.equal(await draft.inputValue(), 'Je tape encore et encore');
        await draft.fill('');
        await post(P.k2, 'contribution', 'J\'ai vécu une fusion : nous avons gelé les nouveaux projets un mois.', { kind: 'experience' });
        await post(P.k3, 'contribution', 'Je ressens beaucoup de loyauté envers ton équipe.', { kind: 'feeling' });
        await post(P.k1, 'contribution', 'Rendre visibles les échéances sur un tableau commun.', { kind: 'suggestion' });
        for (const text of ['renégocier deux échéances', 'gelé les nouveaux projets', 'loyauté envers', 'tableau commun']) await seeCard(all, text);
        // New cards slide in, unless the person asked for reduced motion.
        const top = (p) => p.locator('.stack .card').first();
        assert.match(await top(P.facilitator).getAttribute('class'), /card-enter/);
        assert.equal(await top(P.facilitator).evaluate((el) => getComputedStyle(el).animationName), 'card-in');
        assert.match(await top(P.k2).getAttribute('class'), /card-enter/);
        assert.equal(await top(P.k2).evaluate((el) => getComputedStyle(el).animationName), 'none');
        // Screen readers hear the new card.
        assert.match(await P.k2.locator('#announcer').textContent(), /tableau commun/);
        // French elision before a name that starts with a vowel.
        assert.match(await P.k2.locator('#announcer').textContent(), /d’Émilie/);
        // Newest at the top, in every browser.
        for (const p of all) {
            const firstText = await p.locator('.stack .card-text').first().textContent();
            assert.match(firstText, /tableau commun/, `newest card on top for ${p.personName}`);
        }
        // Counts per consultant.
        const k1count = await P.facilitator.locator('.count', { hasText: 'Chloé' }).locator('.count-n').textContent();
        assert.equal(k1count, '2');
        // The kind is shown in words.
        await P.client.locator('.card-contribution.kind-experience .tag', { hasText: fr.kinds.experience }).waitFor();

        // A forged post from the client's own socket is refused by the server.
        await P.client.evaluate(() => {
            const ws = window.__sockets[window.__sockets.length - 1];
            ws.send(JSON.stringify({ type: 'contribution_post', id: 'forged-1', kind: 'suggestion', text: 'FORGED by the client' }));
        });
        await P.client.locator('#alerts .toast', { hasText: fr.errors.client_muted }).waitFor();
        assert.equal(await P.client.locator('#alerts').textContent().then((s) => s.includes('client_muted')), false, 'no raw code');
        // On a phone the error does not hide « Vous écoutez », which still
        // starts on the first screen (issue 12: a toast fixed at the bottom
        // covered it; it now sits at the foot of the sticky bar).
        await P.client.setViewportSize({ width: 390, height: 844 });
        assert.equal(await covers(P.client, '#alerts .toast', '.listening'), '', 'phone: the error leaves « Vous écoutez » visible');
        assert.equal(await covers(P.client, '#alerts .toast', '.stack'), '', 'phone: the error leaves the contributions visible');
        const listening = await firstScreen(P.client, '.listening');
        assert.ok(listening.ok, `phone: « Vous écoutez » starts on the first screen with the error shown (${listening.why})`);
        assert.deepEqual(await stickyInView(P.client, ['.stepbar [data-clock]', '#alerts .toast']), [], 'phone: the error stays in view with the clock');
        await P.client.screenshot({ path: shotPath('06-consultation-client-phone-error-fr') });
        await P.client.setViewportSize({ width: 700, height: 900 });
        // The refusal came after the forged command; a later hand reaches everyone after any card would have.
        await barrier(P.k2, all);
        for (const p of all) assert.equal(await card(p, 'FORGED').count(), 0, 'the forged card reached nobody');

        // Marks ("à retenir") are private to the client; recadrage reaches the facilitator.
        const target = P.client.locator('.card-contribution', { hasText: 'gelé les nouveaux projets' });
        await target.locator('[data-action=mark]').click();
        await P.client.locator('.card-contribution.is-marked', { hasText: 'gelé les nouveaux projets' }).waitFor();
        await act(P.client, 'recadrage');
        await P.facilitator.locator('.stepbar .recadrage-alert[role=alert]:visible').waitFor();
        assert.equal(await P.k1.locator('.card-contribution.is-marked').count(), 0, 'consultants do not see marks');
        assert.equal(await P.k1.locator('.recadrage-alert:visible').count(), 0, 'consultants do not see recadrage');

        // A consultant reloads mid-consultation: same stack, same order.
        const before = await P.k3.locator('.stack .card-text').allTextContents();
        await P.k3.reload();
        await panel(P.k3, 'consultation').waitFor();
        await P.k3.locator('.stack .card-text').nth(before.length - 1).waitFor();
        assert.deepEqual(await P.k3.locator('.stack .card-text').allTextContents(), before);

        // The clock survived the reload: still running, same time as elsewhere.
        const [a, b] = await Promise.all([clockSeconds(P.k3), clockSeconds(P.facilitator)]);
        assert.ok(Math.abs(a - b) <= 1, `clock after reload ${a} vs ${b}`);
        await P.k3.waitForTimeout(1200);
        assert.ok(await clockSeconds(P.k3) < a, 'and keeps counting down');
        // The case at hand: the exposé and the answers, folded.
        await P.k1.locator('[data-recall] summary').click();
        await P.k1.locator('[data-recall] .recall-a', { hasText: 'sans nous consulter' }).waitFor();
        await P.k1.locator('[data-recall] .problem-text', { hasText: 'rate une échéance sur deux' }).waitFor();
        await P.k1.locator('[data-recall] summary').click();
        // Overrun: red for the facilitator only, calm for everyone else.
        // (Setting 0 makes a step untimed since issue 12: set 1 minute and
        // take it back instead.)
        await act(P.facilitator, 'timer-set');
        await P.facilitator.locator('dialog.dialog input[type=number]').fill('1');
        await P.facilitator.locator('dialog.dialog button[type=submit]').click();
        await P.facilitator.locator('.clock.is-warning').waitFor();
        await P.facilitator.evaluate(() => {
            const ws = window.__sockets[window.__sockets.length - 1];
            ws.send(JSON.stringify({ type: 'timer_add', id: 'overrun-1', seconds: -60 }));
        });
        await P.facilitator.locator('.clock.is-overrun').waitFor();
        await P.client.locator('.clock.is-overrun-calm').waitFor();
        assert.equal(await P.client.locator('.clock.is-overrun').count(), 0, 'no red overrun for the client');
        assert.equal(await P.client.locator('.clock-label').textContent(), fr.clock['overrun-calm']);
        await shoot('06-consultation');
    });

    await t.test('consultation: a round with three consultants, one passing, one offline (issue 13)', async () => {
        // Émilie closes her tab: offline when her turn comes.
        const back = P.k3.url();
        await P.k3.goto('about:blank');
        await P.facilitator.locator('.member:not(.is-online) .member-name', { hasText: names.k3 }).waitFor();
        const present = [P.facilitator, P.client, P.k1, P.k2];
        await P.facilitator.locator('select[data-field=turn-seconds]').selectOption('90');
        await P.facilitator.locator('select[data-field=round-mode]').selectOption('signal');
        await act(P.facilitator, 'round-start');
        // Everyone sees who has the floor; the client is not in the round.
        await Promise.all(present.filter((p) => p !== P.k1).map((p) => p.locator('.floor-bar .floor-who', { hasText: fr.floor.has.replace('{name}', names.k1) }).waitFor()));
        await P.k1.locator('.floor-bar .floor-who', { hasText: fr.floor.you_have }).waitFor();
        assert.equal(await P.facilitator.locator('.round-order .round-turn').count(), 3, 'three consultants in the round');
        assert.equal(await P.facilitator.locator('.round-order .round-turn', { hasText: names.client }).count(), 0, 'never the client');
        // The turn's time runs, with the budget, for everyone.
        await P.client.locator('.floor-bar [data-floor-time]', { hasText: 'reste' }).waitFor();
        // Only the speaker has "J’ai terminé" and "Je passe".
        assert.equal(await P.k2.locator('[data-action=turn-pass]:visible').count(), 0);
        await P.k1.locator('[data-action=turn-pass]:visible', { hasText: fr.floor.pass }).waitFor();
        await P.k1.locator('[data-action=floor-end]:visible', { hasText: fr.floor.done }).click();
        // Émilie is offline: skipped; Dmitri has the floor, and passes.
        await P.k2.locator('.floor-bar .floor-who', { hasText: fr.floor.you_have }).waitFor();
        await act(P.k2, 'turn-pass');
        await Promise.all(present.map((p) => p.locator('.round-order.is-over').waitFor()));
        const statuses = await P.facilitator.locator('.round-order .round-turn').evaluateAll((els) => els.map((e) => e.dataset.status));
        assert.deepEqual(statuses, ['spoke', 'passed', 'absent']);
        // The balance: the facilitator's, a bar per member who had the floor.
        await P.facilitator.locator(`.balance-row[data-turns="1"]`, { hasText: names.k1 }).waitFor();
        await P.facilitator.locator(`.balance-row[data-passes="1"]`, { hasText: names.k2 }).waitFor();
        for (const p of [P.client, P.k1, P.k2]) {
            assert.equal(await p.locator('.balance-row').count(), 0, `${p.personName} sees no balance`);
            assert.equal(await p.locator('.floor-panel:visible').count(), 0, `${p.personName} has no floor panel`);
        }
        // The facilitator gives the floor from the list: Chloé again.
        await P.facilitator.locator('.floor-give', { hasText: names.k1 }).locator('[data-action=floor-give]').click();
        await P.k1.locator('.floor-bar .floor-who', { hasText: fr.floor.you_have }).waitFor();
        await P.facilitator.locator('.floor-bar [data-action=floor-end]:visible', { hasText: fr.floor.end }).click();
        await P.k1.locator('.floor-bar .floor-who', { hasText: fr.floor.you_have }).waitFor({ state: 'detached' }).catch(() => {});
        await P.facilitator.locator(`.balance-row[data-turns="2"]`, { hasText: names.k1 }).waitFor();
        await P.facilitator.screenshot({ path: shotPath('06-consultation-round-facilitator-fr') });
        await P.k2.screenshot({ path: shotPath('06-consultation-round-consultant-fr') });
        // Émilie comes back to the same room.
        await P.k3.goto(back);
        await panel(P.k3, 'consultation').waitFor();
        assert.deepEqual(await P.k3.locator('.round-order .round-turn').evaluateAll((els) => els.map((e) => e.dataset.status)), ['spoke', 'passed', 'absent']);
    });

    await t.test('synthesis: the action plan', async () => {
        await next('synthesis');
        await post(P.client, 'retain', 'Je peux négocier plutôt que subir.');
        await P.k1.locator('[data-retained]', { hasText: 'négocier plutôt que subir' }).waitFor();
        await P.client.locator('.first-step-input').fill('Demander un rendez-vous mardi');
        await P.client.locator('.due-input').fill('d\'ici la prochaine séance');
        await post(P.client, 'action', 'Renégocier deux échéances avec ma directrice.');
        await seeCard(all, 'Renégocier deux échéances avec ma directrice');
        await P.k1.locator('.action-due', { hasText: 'prochaine séance' }).waitFor();
        await P.k1.locator('.action-first-step', { hasText: 'rendez-vous mardi' }).waitFor();
        await P.client.locator('.kept .card-text', { hasText: 'gelé les nouveaux projets' }).waitFor();
        for (const p of all) assert.equal(await p.locator('[data-action=hand]:visible').count(), 0, `${p.personName}: no hand during the synthesis`);
        await P.k3.locator('[data-recall] summary').waitFor();
        await shoot('07-synthesis');
    });

    await t.test('learning: everyone, facilitator included', async () => {
        await next('learning');
        await post(P.facilitator, 'learning', 'Tenir le silence du client aide vraiment.', { dimension: 'process' });
        await post(P.client, 'learning', 'Je peux négocier les échéances.', { dimension: 'content' });
        await post(P.k2, 'learning', 'Poser des questions ouvertes.', { dimension: 'process' });
        await seeCard(all, 'Poser des questions ouvertes');
        await P.client.locator('.learning-process .card-text', { hasText: 'Tenir le silence' }).waitFor();
        await shoot('08-learning');
    });

    await t.test('private notes stay private', async () => {
        await P.k1.locator('[data-action=notes]').click();
        await post(P.k1, 'note', 'Note pour moi : relire le contrat.');
        await P.k1.locator('.notes-list .card-text', { hasText: 'relire le contrat' }).waitFor();
        // The notes leave the room visible: the bar above the sheet, usable.
        const [sheetTop, barBottom, vh] = await P.k1.evaluate(() => [document.querySelector('dialog.drawer').getBoundingClientRect().top,
            document.querySelector('.stepbar').getBoundingClientRect().bottom, window.innerHeight]);
        assert.ok(sheetTop > barBottom && sheetTop >= vh * 0.4, `sheet from ${sheetTop}, bar to ${barBottom}`);
        await P.k1.screenshot({ path: shotPath('08-learning-notes-consultant-fr') });
        await P.k1.locator('[data-action=notes-close]').click();
        // K1's hand, sent after the note, reaches the others after any copy of it would have.
        await barrier(P.k1, [P.facilitator, P.client, P.k2, P.k3]);
        for (const p of [P.facilitator, P.client, P.k2, P.k3]) assert.equal(await card(p, 'relire le contrat').count(), 0);
    });

    await t.test('closed: my record, exported', async () => {
        await act(P.facilitator, 'session-close');
        await P.facilitator.locator('dialog.dialog .btn-danger').click();
        await waitStep(all, 'closed');
        assert.match(await P.k1.locator('#announcer').textContent(), new RegExp(fr.steps.closed.label));
        const rec = P.client.locator('.record');
        await rec.locator('.long-text', { hasText: 'rate une échéance sur deux' }).waitFor();
        await rec.locator('text=gelé les nouveaux projets').waitFor();
        await rec.locator('text=Renégocier deux échéances avec ma directrice.').waitFor();
        const dl = P.client.waitForEvent('download');
        await P.client.locator('[data-action=export-md]').click();
        const file = await dl;
        const md = await (await file.createReadStream()).toArray().then((chunks) => Buffer.concat(chunks).toString('utf8'));
        assert.match(md, /^# /);
        assert.ok(md.includes(`**${fr.record.kept}** · ${fr.kinds.experience} (Dmitri)\u202f: J'ai vécu une fusion`), md);
        assert.ok(md.includes(`1. Renégocier deux échéances avec ma directrice. — ${fr.synthesis.due_value.replace('{due}', 'd\'ici la prochaine séance')}`), md);
        // The HTML export is a standalone, escaped document.
        const dl2 = P.client.waitForEvent('download');
        await P.client.locator('[data-action=export-html]').click();
        const html = await (await dl2).createReadStream().then((st) => st.toArray()).then((c) => Buffer.concat(c).toString('utf8'));
        assert.match(html, /^<!doctype html>/i);
        assert.match(html, /rate une échéance sur deux/);
        assert.doesNotMatch(html, /<script/i);
        // Printing shows the record alone.
        await P.client.emulateMedia({ media: 'print' });
        assert.equal(await P.client.locator('.topbar').isVisible(), false);
        assert.equal(await P.client.locator('.record-actions').isVisible(), false);
        assert.equal(await P.client.locator('.record').isVisible(), true);
        await P.client.screenshot({ path: shotPath('09-closed-client-print'), fullPage: true });
        await P.client.emulateMedia({ media: 'screen' });
        // The journal of every closed session, from the server.
        const dl3 = P.client.waitForEvent('download');
        await P.client.locator('[data-action=journal-md]').click();
        const journal = await (await dl3).createReadStream().then((st) => st.toArray()).then((c) => Buffer.concat(c).toString('utf8'));
        assert.match(journal, /rate une échéance sur deux/, 'the client case is in the journal');
        assert.match(journal, /Je peux négocier les échéances/, 'and the learning');
        // A consultant's record holds their own note, not the client's case.
        const k1rec = P.k1.locator('.record');
        await k1rec.locator('text=relire le contrat').waitFor();
        assert.equal(await k1rec.locator('text=rate une échéance sur deux').count(), 0);
        await shoot('09-closed');
    });

    await t.test('next session: the client reports on the action plan', async () => {
        await P.facilitator.reload();
        await panel(P.facilitator, 'closed').waitFor();
        // The closed session stays on screen until the facilitator opens the next.
        await act(P.facilitator, 'session-open');
        await waitStep(all, 'opening');
        // The client's record of the closed session is still at hand.
        await P.client.locator('[data-action=notes]').click();
        await P.client.locator('.notes-record summary').click();
        await P.client.locator('.notes-record .record', { hasText: 'rate une échéance sur deux' }).waitFor();
        await P.client.locator('[data-action=notes-close]').click();
        const item = P.client.locator('.card-debrief', { hasText: 'Renégocier deux échéances avec ma directrice.' });
        await item.waitFor();
        assert.equal(await P.k1.locator('.card-debrief form').count(), 0, 'only the earlier client reports');
        assert.equal(await item.locator('input[name^=outcome]:checked').count(), 0, 'no outcome is chosen in advance');
        // As a person does: the visible label (the radio itself is a 1 px
        // input under it; a forced click at its centre could land on the
        // sticky bar when the item scrolls under it).
        await item.locator('label.tag-partly').click();
        assert.ok(await item.locator('input[value=partly]').isChecked(), 'the outcome is chosen');
        await post(P.client, 'debrief', 'Une échéance renégociée sur deux.', { within: item });
        await Promise.all(all.map((p) => p.locator('.card-debrief .debrief-outcome', { hasText: fr.outcomes.partly }).waitFor()));
        await shoot('10-next-opening');
    });

    await t.test('no console errors, no CSP violations', () => {
        for (const p of all) assert.deepEqual(realProblems(p), [], `${p.personName}`);
    });

    await t.test('every frame and request the pages sent follows proto/schema', () => {
        const HTTP = { '/api/groups': 'create_group_request', members: 'join_request', sessions: 'open_session_request' };
        let frames = 0;
        for (const p of all) {
            for (const raw of p.sent) {
                const msg = JSON.parse(raw);
                assert.deepEqual(validateClientMessage(msg), [], `${p.personName} sent ${raw}`);
                frames += 1;
            }
            for (const { path: where, body } of p.apiBodies) {
                const name = HTTP[where] || HTTP[where.split('/').pop()];
                assert.ok(name, `unexpected API call ${where}`);
                assert.deepEqual(validateHttp(name, JSON.parse(body)), [], `${where} ${body}`);
            }
        }
        assert.ok(frames > 40, `checked ${frames} frames`);
    });
});
