// views/clock.js - the server's step clock, in the sticky bar: remaining
// time, overrun (shown as +m:ss, never cut), paused state; an untimed step
// (budget 0) shows the time spent instead, with no overrun. Overrun is the
// facilitator's business: only the facilitator sees it in red; everyone
// else (the listening client above all) sees it calmly, in grey. The numbers come from
// the last clock the server sent (tick, step, clock, welcome); between two
// ticks the display only advances by the time elapsed since that message.

import { h, setText, toggle } from '../dom.js';
import { t } from '../i18n.js';
import { remainingMs, usedMs, untimed, isFacilitator } from '../state.js';
import { formatDuration } from './common.js';

// The warning before the step's time is up: the group's setting
// (welcome.group.warn_before_s, proto 2.1; 0: none), one minute when absent.
function warnMs(s) {
    const w = s.group && s.group.warn_before_s;
    return (typeof w === 'number' ? w : 60) * 1000;
}

/** What is said once to screen readers when the warning starts: the time
 * actually left (the warning may begin below its threshold, after a
 * "Régler…"), in minutes, or in seconds under 45 s. */
function warnText(rem) {
    if (rem >= 45000) {
        const n = Math.max(1, Math.round(rem / 60000));
        return n === 1 ? t('clock.one_minute') : t('clock.minutes_left', { n });
    }
    return t('clock.seconds_left', { n: Math.max(1, Math.ceil(rem / 1000)) });
}

export function createClock(ctx) {
    const value = h('span', { class: 'clock-value', 'data-clock': '' });
    const label = h('span', { class: 'clock-label' });
    const budget = h('span', { class: 'clock-budget' });
    const el = h('div', { class: 'clock', role: 'timer', 'aria-live': 'off', 'aria-atomic': 'true' },
        label, value, budget);
    let lastState = '';
    let warned = false;

    function render() {
        const s = ctx.s;
        const c = s.room && s.room.clock;
        if (!c || s.room.step === 'closed') {
            el.hidden = true;
            return;
        }
        el.hidden = false;
        // Untimed (the facilitator set 0): the time spent, no budget, no
        // warning, never an overrun.
        if (untimed(s)) {
            const state = c.running ? 'untimed' : 'untimed-paused';
            setText(value, formatDuration(usedMs(s)));
            setText(label, t(`clock.${state}`));
            setText(budget, t('clock.untimed_budget'));
            for (const cls of ['is-warning', 'is-overrun', 'is-overrun-calm']) toggle(el, cls, false);
            toggle(el, 'is-paused', !c.running);
            toggle(el, 'is-running', c.running);
            el.dataset.state = state;
            lastState = state;
            warned = false;
            return;
        }
        const rem = remainingMs(s);
        const over = rem < 0;
        setText(value, (over ? '+' : '') + formatDuration(over ? -rem : rem + 999));
        let state;
        if (over) state = c.running ? 'overrun' : 'overrun-paused';
        else if (c.running) state = 'running';
        else state = c.used_ms > 0 ? 'paused' : 'stopped';
        const calm = over && !isFacilitator(s);
        // The last minute (or the group's warn_before_s): amber, and said
        // once to screen readers.
        const limitMs = warnMs(s);
        const warn = limitMs > 0 && !over && c.running && rem <= limitMs;
        toggle(el, 'is-warning', warn);
        if (warn && !warned) { warned = true; ctx.announce(warnText(rem)); }
        if (rem > limitMs) warned = false;
        toggle(el, 'is-overrun', over && !calm);
        toggle(el, 'is-overrun-calm', calm);
        toggle(el, 'is-paused', !c.running);
        toggle(el, 'is-running', c.running);
        el.dataset.state = state;
        setText(label, t(`clock.${calm ? 'overrun-calm' : state}`));
        // Under a minute (time taken away), minutes would read "of 0 min".
        setText(budget, (c.budget_ms || 0) < 60000
            ? t('clock.budget_short', { time: formatDuration(c.budget_ms || 0) })
            : t('clock.budget', { min: Math.round(c.budget_ms / 60000) }));
        if (state !== lastState) {
            if (lastState && ((state === 'overrun' && !calm) || state === 'paused')) ctx.announce(t(`clock.${state}`));
            lastState = state;
        }
    }

    const timer = setInterval(render, 250);
    render();
    return { el, update: render, destroy() { clearInterval(timer); } };
}
