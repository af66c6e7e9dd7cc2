// Issue 12 in the page, against the real codevd: each member chooses the
// form of their role labels (at join, on the front page, and later in the
// menu) and the French page names them with it (« Vous êtes la cliente de
// cette consultation », the member list's tags); the synthesis follows the
// method: the client sees the contributions they marked first, then writes
// « Ce que je retiens », then the plan with échéance and premier pas;
// everyone else reads both.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, person, realProblems, shotPath } from './lib/browser.mjs';
import { startServer } from '../lib/server.mjs';
import { waitStep, post, seeCard, act, choose, fr } from './lib/app.mjs';

let server;
let browser;
const P = {};
let all = [];

before(async () => {
    server = await startServer();
    browser = await launch();
    for (const who of ['facilitator', 'client', 'k1']) P[who] = await person(browser, who);
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

/** Creates the group from the front page with a form for the facilitator. */
async function createWithForm(page, form) {
    await page.goto(`${server.url}/`);
    const f = page.locator('form[data-form=create]');
    await f.locator('input[name=group]').fill('Synthèse douze');
    await f.locator('input[name=facilitator]').fill('Paul');
    await choose(f.locator(`input[name=form][value="${form}"]`));
    await f.locator('button[type=submit]').click();
    await page.locator('#panel[data-step=none]').waitFor();
    return page.locator('#invite-link').inputValue();
}

async function joinWithForm(page, invite, name, form) {
    await page.goto(invite);
    const f = page.locator('form[data-form=join]');
    // The choice is there, neutral unless changed.
    assert.equal(await f.locator('input[name=form]:checked').getAttribute('value'), 'n');
    await f.locator('input[name=display_name]').fill(name);
    if (form) await choose(f.locator(`input[name=form][value="${form}"]`));
    await f.locator('button[type=submit]').click();
    await page.locator('#panel[data-step]').waitFor();
}

test('role labels in each one\'s form, and the synthesis as the method has it', async (root) => {
    let failed = false;
    const t = {
        test: (name, fn) => root.test(name, { skip: failed ? 'an earlier step failed' : false }, async (tt) => {
            try { await fn(tt); } catch (e) { failed = true; throw e; }
        }),
    };

    await t.test('join and create with a form; the tags name each member in theirs', async () => {
        const invite = await createWithForm(P.facilitator, 'm');
        await joinWithForm(P.client, invite, 'Inès', 'f');
        await joinWithForm(P.k1, invite, 'Yann');
        await P.facilitator.locator('.member-name', { hasText: 'Yann' }).waitFor();
        const bodies = P.client.apiBodies.filter((b) => b.path.endsWith('/members')).map((b) => JSON.parse(b.body));
        assert.equal(bodies.pop().form, 'f', 'the join sends the chosen form');
        await act(P.facilitator, 'session-open');
        await waitStep(all, 'opening');
        const tag = (page, name) => page.locator('.member', { hasText: name }).locator('.member-role');
        await tag(P.k1, 'Paul').filter({ hasText: fr.roles.facilitator_m }).waitFor();
        await P.facilitator.locator('.now-role', { hasText: fr.you_are.facilitator_m }).waitFor();
        await P.k1.locator('.now-role', { hasText: fr.you_are.consultant_n }).waitFor();
        await next('topic');
        await P.facilitator.locator('#assign-client').selectOption({ label: 'Inès' });
        await act(P.facilitator, 'assign');
        await P.client.locator('.now-role', { hasText: 'Vous êtes la cliente de cette consultation.' }).waitFor();
        await tag(P.k1, 'Inès').filter({ hasText: 'cliente' }).waitFor();
        assert.equal(await tag(P.k1, 'Inès').textContent(), 'cliente', 'no « personne » for who chose a form');
        await P.client.screenshot({ path: shotPath('synth12-client-feminine-fr') });
    });

    await t.test('the menu changes one\'s form; everyone sees it', async () => {
        await P.k1.locator('.menu > summary').click();
        await choose(P.k1.locator('[data-form-box] input[name=form][value=m]'));
        await P.k1.locator('[data-form-box] [role=status]', { hasText: fr.form.saved }).waitFor();
        await P.k1.locator('.now-role', { hasText: fr.you_are.consultant_m }).waitFor();
        await P.client.locator('.member', { hasText: 'Yann' }).locator('.member-role', { hasText: /^consultant$/ }).waitFor();
        await P.k1.locator('.menu > summary').click();
        // A reload keeps it (the server holds it with the member).
        await P.k1.reload();
        await P.k1.locator('.now-role', { hasText: fr.you_are.consultant_m }).waitFor();
    });

    await t.test('synthesis: marked contributions first, then « Ce que je retiens », then the plan with premier pas', async () => {
        await next('expose');
        await post(P.client, 'problem', 'Mon équipe rate une échéance sur deux.');
        await next('clarification');
        await next('contract');
        await post(P.client, 'contract', 'J’aimerais que vous m’aidiez à tenir les échéances.');
        await act(P.k1, 'ack');
        await act(P.facilitator, 'step-next');
        await waitStep(all, 'consultation');
        await post(P.k1, 'contribution', 'Un point d’équipe de dix minutes le lundi.', { kind: 'suggestion' });
        await seeCard([P.client], 'Un point d’équipe de dix minutes');
        await P.client.locator('.card', { hasText: 'dix minutes' }).locator('[data-action=mark]').click();
        await P.client.locator('.card.is-marked', { hasText: 'dix minutes' }).waitFor();
        await next('synthesis');

        // The client's panel, in the method's order.
        const order = await P.client.locator('.step-synthesis').evaluate((el) => {
            const pos = (sel) => { const n = el.querySelector(sel); return n ? [...el.querySelectorAll('*')].indexOf(n) : -1; };
            return [pos('.kept .card'), pos('form[data-composer-form=retain]'), pos('form[data-composer-form=action]')];
        });
        assert.ok(order[0] >= 0 && order[0] < order[1] && order[1] < order[2], `marked, retained, plan: ${order}`);
        await post(P.client, 'retain', 'Je peux demander de l’aide plus tôt.');
        await P.k1.locator('[data-retained]', { hasText: 'demander de l’aide plus tôt' }).waitFor();
        await P.facilitator.locator('[data-retained]', { hasText: 'demander de l’aide plus tôt' }).waitFor();
        // The first step's limit is the server's (welcome.limits).
        assert.equal(await P.client.locator('.first-step-input').getAttribute('maxlength'), '120');
        await P.client.locator('.due-input').fill('fin du mois');
        await P.client.locator('.first-step-input').fill('Bloquer le lundi 9 h dans les agendas');
        await post(P.client, 'action', 'Installer le point du lundi.');
        await seeCard(all, 'Installer le point du lundi');
        for (const p of all) {
            await p.locator('.action-first-step', { hasText: 'Bloquer le lundi 9 h' }).waitFor();
            await p.locator('.action-due', { hasText: 'fin du mois' }).waitFor();
        }
        assert.equal(await P.client.locator('.first-step-input').inputValue(), '', 'emptied once accepted');
        const sent = P.client.sent.map((f) => JSON.parse(f)).filter((m) => m.type === 'action_add').pop();
        assert.equal(sent.first_step, 'Bloquer le lundi 9 h dans les agendas');
        // Others read, they do not write.
        assert.equal(await P.k1.locator('form[data-composer-form=retain]').count(), 0);
        await P.client.screenshot({ path: shotPath('synth12-synthesis-client-fr'), fullPage: true });
        await P.k1.screenshot({ path: shotPath('synth12-synthesis-consultant-fr'), fullPage: true });
    });

    await t.test('the record the client keeps holds both', async () => {
        await next('learning');
        await act(P.facilitator, 'session-close');
        await P.facilitator.locator('dialog.dialog .btn-danger').click();
        await waitStep(all, 'closed');
        await P.client.locator('.record').waitFor();
        await P.client.locator('.record', { hasText: fr.record.retained }).waitFor();
        await P.client.locator('.record-first-step', { hasText: 'Bloquer le lundi 9 h' }).waitFor();
        for (const p of all) assert.deepEqual(realProblems(p), [], `${p.personName}: no page error`);
    });
});
