// Layout and accessibility checks of a page as a person sees it (issue 12):
// is the sticky bar (step and clock) inside the viewport whatever the
// scroll, does the role's main element start within the first screen, and
// does axe-core find no serious or critical violation.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Scrolls to the bottom of the page, then to the top: at each end, each
 * selector that names a visible element must lie inside the viewport.
 * Returns a list of failures (empty when all is well).
 */
export async function stickyInView(page, selectors) {
    return page.evaluate(async (sels) => {
        const out = [];
        const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        for (const y of [document.documentElement.scrollHeight, 0]) {
            window.scrollTo({ top: y, behavior: 'instant' });
            await frame();
            for (const sel of sels) {
                const el = document.querySelector(sel);
                if (!el || !el.getClientRects().length) { out.push(`${sel}: not shown`); continue; }
                const r = el.getBoundingClientRect();
                if (r.top < 0 || r.bottom > window.innerHeight || r.left < 0 || r.right > window.innerWidth) {
                    out.push(`${sel} at scroll ${Math.round(window.scrollY)}: ${Math.round(r.top)}..${Math.round(r.bottom)} outside 0..${window.innerHeight}`);
                }
            }
        }
        return out;
    }, selectors);
}

/**
 * At scroll 0: where the element named by selector starts (px from the
 * top of the page) and whether it starts within the first screen; with
 * whole, whether it is entirely inside the first screen.
 */
export async function firstScreen(page, selector, { whole = false } = {}) {
    return page.evaluate(async ({ sel, all }) => {
        window.scrollTo({ top: 0, behavior: 'instant' });
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        const el = document.querySelector(sel);
        if (!el || !el.getClientRects().length) return { ok: false, why: `${sel}: not shown` };
        const r = el.getBoundingClientRect();
        const ok = all ? r.bottom <= window.innerHeight : r.top < window.innerHeight - 40;
        return { ok, why: `${sel} ${Math.round(r.top)}..${Math.round(r.bottom)} / ${window.innerHeight}` };
    }, { sel: selector, all: whole });
}

/**
 * At scroll 0: does a visible element named by coverSel overlap the
 * element named by mainSel? Returns '' when not (or when no such element
 * shows), else where they meet.
 */
export async function covers(page, coverSel, mainSel) {
    return page.evaluate(async ({ coverSel, mainSel }) => {
        window.scrollTo({ top: 0, behavior: 'instant' });
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        const main = document.querySelector(mainSel);
        if (!main || !main.getClientRects().length) return '';
        const m = main.getBoundingClientRect();
        for (const el of document.querySelectorAll(coverSel)) {
            if (!el.getClientRects().length) continue;
            const c = el.getBoundingClientRect();
            const meet = c.left < m.right && m.left < c.right && c.top < m.bottom && m.top < c.bottom;
            if (meet) return `${coverSel} ${Math.round(c.top)}..${Math.round(c.bottom)} covers ${mainSel} ${Math.round(m.top)}..${Math.round(m.bottom)}`;
        }
        return '';
    }, { coverSel, mainSel });
}

/** axe-core on the whole page: the serious and critical violations, as text. */
export async function axeProblems(page) {
    // Runtime.evaluate is not subject to the page's CSP (no inline script).
    await page.evaluate(AXE);
    const violations = await page.evaluate(async () => {
        const res = await window.axe.run(document, { resultTypes: ['violations'] });
        return res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
            .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
    });
    return violations;
}
