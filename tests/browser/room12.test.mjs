// Issue 12, what people see of the server-side items, against the real
// codevd: the facilitator's "Pris en compte" on a recadrage and the
// client's discreet "vu" note; an author corrects and withdraws its own
// card while its step runs, and the others see "modifiée" / "retirée".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, person, realProblems, shotPath } from './lib/browser.mjs';
import { startServer } from '../lib/server.mjs';
import { createGroup, join, waitStep, post, seeCard, card, act, barrier, fr } from './lib/app.mjs';

let server;
let browser;
const P = {};
let all = [];

before(async () => {
    server = await startServer();
    browser = await launch();
    for (const who of ['facilitator', 'client', 'k1', 'k2']) P[who] = await person(browser, who);
    all = Object.values(P);
});

after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
});

async function next(step) {
    await act(P.facilitator, 'step-next');
    await waitStep(all, step);
}

test('recadrage noted, cards corrected and withdrawn', async (root) => {
    let failed = false;
    const t = {
        test: (name, fn) => root.test(name, { skip: failed ? 'an earlier step failed' : false }, async (tt) => {
            try { await fn(tt); } catch (e) { failed = true; throw e; }
        }),
    };

    await t.test('set up: a group in clarification', async () => {
        const invite = await createGroup(P.facilitator, server.url, { name: 'Issue douze', me: 'Anne' });
        await join(P.client, invite, 'Bruno');
        await join(P.k1, invite, 'Chloé');
        await join(P.k2, invite, 'Dmitri');
        await P.facilitator.locator('.member-name', { hasText: 'Dmitri' }).waitFor();
        await act(P.facilitator, 'session-open');
        await waitStep(all, 'opening');
        await next('topic');
        await P.facilitator.locator('#assign-client').selectOption({ label: 'Bruno' });
        await act(P.facilitator, 'assign');
        await P.client.locator('.now-role', { hasText: fr.roles.client }).waitFor();
        await next('expose');
        await post(P.client, 'problem', 'Mon équipe rate une échéance sur deux.');
        await next('clarification');
    });

    await t.test('an author corrects its question; the others see "modifiée"', async () => {
        await post(P.k1, 'question', 'Qui fixe les échéences ?');
        await seeCard(all, 'Qui fixe les échéences');
        const mine = P.k1.locator('.card-question', { hasText: 'échéences' });
        // Only the author is offered to correct or withdraw.
        assert.equal(await P.k2.locator('.card-question [data-action=card-edit]').count(), 0);
        assert.equal(await P.client.locator('.card-question [data-action=card-withdraw]').count(), 0);
        await mine.locator('[data-action=card-edit]').click();
        const form = mine.locator('.card-edit-form');
        await form.locator('textarea').fill('Qui fixe les échéances aujourd’hui ?');
        await form.locator('button[type=submit]').click();
        await seeCard(all, 'Qui fixe les échéances aujourd’hui');
        await P.k2.locator('.card-question.is-edited .card-state', { hasText: fr.cards.edited }).waitFor();
        await form.waitFor({ state: 'hidden' });
    });

    await t.test('an author withdraws a question; it keeps its place, its text is gone', async () => {
        await post(P.k2, 'question', 'As-tu pensé à tout arrêter ?');
        await seeCard(all, 'As-tu pensé à tout arrêter');
        const mine = P.k2.locator('.card-question', { hasText: 'tout arrêter' });
        await mine.locator('[data-action=card-withdraw]').click();
        // The first click asks once more.
        await mine.locator('[data-action=card-withdraw]', { hasText: fr.cards.withdraw_confirm }).waitFor();
        await mine.locator('[data-action=card-withdraw]').click();
        await Promise.all(all.map((p) => p.locator('.card-question.is-withdrawn .card-state', { hasText: fr.cards.withdrawn }).waitFor()));
        for (const p of all) {
            assert.equal(await p.locator('.card-question').count(), 2, `${p.personName}: the withdrawn card keeps its place`);
            assert.equal(await card(p, 'tout arrêter').count(), 0, `${p.personName}: its text is gone`);
        }
        // No answer form for a withdrawn question.
        assert.equal(await P.client.locator('.card-question.is-withdrawn form[data-composer-form=answer]:visible').count(), 0);
        await P.k2.screenshot({ path: shotPath('room12-withdrawn-card-k2-fr') });
    });

    await t.test('consultation: the author of a contribution may correct it, nobody else', async () => {
        await next('contract');
        await post(P.client, 'contract', 'J’aimerais que vous m’aidiez à remettre mon équipe sur ses échéances.');
        for (const k of ['k1', 'k2']) await act(P[k], 'ack');
        await P.facilitator.locator('.stepbar [data-action=step-next]:not(.is-force)', { hasText: fr.steps.consultation.short }).waitFor();
        await next('consultation');
        await post(P.k1, 'contribution', 'Moi, je ferais un point hebdomadaire.');
        await seeCard(all, 'point hebdomadaire');
        assert.equal(await P.k1.locator('.stack .card [data-action=card-edit]').count(), 1, 'the author may correct a contribution while the consultation runs');
        assert.equal(await P.k2.locator('.stack .card [data-action=card-edit]').count(), 0);
    });

    await t.test('recadrage: the facilitator notes it, the client sees it was seen', async () => {
        await act(P.client, 'recadrage');
        const alert = P.facilitator.locator('.stepbar .recadrage-alert[role=alert]:visible');
        await alert.waitFor();
        await P.facilitator.screenshot({ path: shotPath('room12-recadrage-facilitator-fr') });
        await alert.locator('[data-action=recadrage-ack]', { hasText: fr.consultation.recadrage_ack }).click();
        await alert.waitFor({ state: 'hidden' });
        await P.client.locator('.recadrage-seen', { hasText: fr.consultation.recadrage_seen }).waitFor();
        await P.client.screenshot({ path: shotPath('room12-recadrage-seen-client-fr') });
        // A new signal alerts the facilitator again, and the "seen" note goes.
        await act(P.client, 'recadrage');
        await alert.waitFor();
        await P.client.waitForFunction(() => document.querySelector('.recadrage-seen').textContent === '');
        await barrier(P.k1, all);
        assert.equal(await P.k1.locator('.recadrage-alert:visible, .recadrage-seen:visible').count(), 0, 'consultants see neither');
    });

    await t.test('"Régler… 0": the step is untimed, the clock counts the time spent, never "+0:02 sur 0 min"', async () => {
        await act(P.facilitator, 'timer-set');
        await P.facilitator.locator('dialog.dialog label', { hasText: fr.fac.set_label }).waitFor();
        await P.facilitator.locator('dialog.dialog input[type=number]').fill('0');
        await P.facilitator.locator('dialog.dialog button[type=submit]').click();
        await Promise.all(all.map((p) => p.locator('.clock[data-state=untimed]', { hasText: fr.clock.untimed }).waitFor()));
        for (const p of all) await p.locator('.clock-budget', { hasText: fr.clock.untimed_budget }).waitFor();
        // Time passes and is counted; no overrun anywhere.
        const first = await P.client.locator('[data-clock]').textContent();
        await P.client.waitForFunction((was) => document.querySelector('[data-clock]').textContent !== was, first);
        for (const p of all) {
            assert.doesNotMatch(await p.locator('[data-clock]').textContent(), /^\+/, `${p.personName}: no "+"`);
            assert.equal(await p.locator('.clock.is-overrun, .clock.is-overrun-calm, .clock.is-warning').count(), 0);
        }
        await P.facilitator.screenshot({ path: shotPath('room12-untimed-facilitator-fr') });
        // +1 min times it again.
        await act(P.facilitator, 'timer-plus1');
        await P.client.locator('.clock[data-state=running].is-warning').waitFor();
    });

    await t.test('the group\'s warning (warn_before_s) replaces the fixed minute; 0 turns it off', async () => {
        // The facilitator's key is the page's (localStorage); the settings API takes it.
        const setWarn = (seconds) => P.facilitator.evaluate(async (sec) => {
            const [gid, entry] = Object.entries(JSON.parse(localStorage.getItem('codev.groups')))[0];
            const key = entry.key || entry.member_key;
            const res = await fetch(`/api/groups/${gid}/settings`, { method: 'POST',
                headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
                body: JSON.stringify({ warn_before_s: sec }) });
            return res.status;
        }, seconds);
        const setClock = async (minutes) => {
            await act(P.facilitator, 'timer-set');
            await P.facilitator.locator('dialog.dialog input[type=number]').fill(String(minutes));
            await P.facilitator.locator('dialog.dialog button[type=submit]').click();
        };
        assert.equal(await setWarn(180), 200);
        await setClock(5);
        await Promise.all(all.map((p) => p.locator('.clock.is-running:not(.is-warning)').waitFor()));
        await setClock(2);
        // Two minutes left, three minutes of warning: amber everywhere, and
        // said once with the time actually left.
        await Promise.all(all.map((p) => p.locator('.clock.is-warning').waitFor()));
        await P.k2.locator('#announcer p', { hasText: fr.clock.minutes_left.other.replace('{n}', '2') }).waitFor({ state: 'attached' });
        assert.equal(await setWarn(0), 200);
        await Promise.all(all.map((p) => p.locator('.clock.is-running:not(.is-warning)').waitFor()));
        assert.equal(await setWarn(601), 400);
        for (const p of all) assert.deepEqual(realProblems(p, [/400/]), [], `${p.personName}: no page error`);
    });
});
