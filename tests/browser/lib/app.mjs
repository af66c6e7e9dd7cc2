// Page-level helpers for driving the web client the way a person does:
// through its labelled forms and buttons (data-action / data-composer
// attributes name them), waiting for what the server sends back.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, startServer } from '../../lib/server.mjs';
import { startFront, behindNginx } from '../../lib/nginx.mjs';

export const fr = JSON.parse(readFileSync(path.join(repoRoot, 'web-client/i18n/fr.json'), 'utf8'));
export const en = JSON.parse(readFileSync(path.join(repoRoot, 'web-client/i18n/en.json'), 'utf8'));

/**
 * The real codevd (tests/lib/server.mjs); with CODEVD_FRONT=nginx (the
 * nginx suite of tests/run-all.sh), behind Debian's nginx over https
 * (tests/lib/nginx.mjs): url is then nginx's, and stop() stops both.
 */
export async function startBackend() {
    return behindNginx ? startFront() : startServer();
}

/** Creates a group from the home page; returns the invite link shown. */
export async function createGroup(page, url, { name, me, language = 'fr', format = '90' }) {
    await page.goto(`${url}/`);
    const form = page.locator('form[data-form=create]');
    await form.locator('input[name=group]').fill(name);
    await form.locator('input[name=facilitator]').fill(me);
    await form.locator('select[name=language]').selectOption(language);
    await choose(form.locator(`input[name=format][value="${format}"]`));
    await form.locator('button[type=submit]').click();
    await page.locator('#panel[data-step=none]').waitFor();
    return page.locator('#invite-link').inputValue();
}

/**
 * Chooses a radio button as a person does: by clicking its visible label
 * (the input itself is a 1 px box under it; a forced click at its centre
 * can land on whatever sticky bar covers it). Fails if the choice did not
 * take.
 */
export async function choose(input) {
    // The label follows its input in the same .choice-item; resolved from
    // the input's locator each time, so a re-rendered form is found again.
    await input.locator('xpath=following-sibling::label[1]').click();
    if (!(await input.isChecked())) throw new Error('choosing a radio: it is still unchecked after a click on its label');
}

export async function join(page, inviteLink, name) {
    await page.goto(inviteLink);
    const form = page.locator('form[data-form=join]');
    await form.locator('input[name=display_name]').fill(name);
    await form.locator('button[type=submit]').click();
    await page.locator('#panel[data-step]').waitFor();
}

export function panel(page, step) {
    return page.locator(`#panel[data-step="${step}"]`);
}

export async function waitStep(pages, step) {
    await Promise.all(pages.map((p) => panel(p, step).waitFor()));
}

/** Types into a composer and sends it; resolves once the server accepted. */
export async function post(page, composer, text, { kind, dimension, within } = {}) {
    const root = within || page;
    const form = root.locator(`form[data-composer-form="${composer}"]`).first();
    const box = form.locator('textarea');
    await box.fill(text);
    if (kind) await choose(form.locator(`input[name=kind][value=${kind}]`));
    if (dimension) await choose(form.locator(`input[name=dimension][value=${dimension}]`));
    const handle = await form.elementHandle();
    await form.locator('button[type=submit]').click();
    // The composer empties (or, for long texts kept in place, says saved)
    // only on the server's ack; a form the ack removes counts as done.
    await page.waitForFunction((f) => {
        if (!f.isConnected) return true;
        const ta = f.querySelector('textarea');
        const st = f.querySelector('.composer-status');
        const btn = f.querySelector('button[type=submit]');
        return !btn.disabled && (ta.value === '' || (st && st.textContent !== '' && !st.textContent.includes('…')));
    }, handle);
}

export function card(page, text) {
    return page.locator('.card-text', { hasText: text }).first();
}

export async function seeCard(pages, text) {
    await Promise.all(pages.map((p) => card(p, text).waitFor()));
}

/**
 * A barrier before an absence check (STYLE.md 14): page raises its hand and
 * lowers it again, and every page in pages sees both. Whatever the server
 * sent before reached those pages by then; nothing stays on screen.
 */
export async function barrier(page, pages) {
    const mine = (p) => p.locator('.hands .hand').first();
    await act(page, 'hand');
    await Promise.all(pages.map((p) => mine(p).waitFor({ state: 'attached' })));
    await act(page, 'hand');
    await Promise.all(pages.map((p) => mine(p).waitFor({ state: 'detached' })));
}

export async function act(page, action) {
    await page.locator(`[data-action="${action}"]:visible`).first().click();
}

/** Seconds shown on the big clock (negative when overrun). */
export async function clockSeconds(page) {
    const text = await page.locator('[data-clock]').textContent();
    const over = text.startsWith('+');
    const parts = text.replace('+', '').split(':').map(Number);
    const s = parts.reduce((acc, n) => acc * 60 + n, 0);
    return over ? -s : s;
}
