// views/common.js - pieces every step panel uses: the composer (a text box
// whose draft survives re-renders and reconnects), card nodes, section
// headings, and small formatting helpers.

import { h, setText, toggle, newId } from '../dom.js';
import { t, timeOfDay } from '../i18n.js';
import { memberName, myId, limit, may } from '../state.js';

/** Counts Unicode characters as the server does. */
export function charCount(s) {
    return [...s].length;
}

/**
 * A composer: label, textarea, optional extra controls, a submit button.
 * opts.key: draft key; opts.onSubmit(text) -> Promise (the server's ack).
 * opts.long: a problem or contract (the server's long_text_max_chars,
 * else its text_max_chars).
 * The draft is cleared only when the server accepted the text.
 */
export function composer(ctx, opts) {
    const id = newId('composer');
    // Read when used: the limits come with welcome, which may arrive later.
    const maxChars = () => limit(ctx.s, opts.long ? 'long_text_max_chars' : 'text_max_chars');
    const textarea = h('textarea', {
        id,
        class: 'composer-input',
        rows: opts.rows || 3,
        placeholder: opts.placeholder || null,
        'aria-describedby': `${id}-count`,
        'data-composer': opts.name || opts.key,
    });
    textarea.value = ctx.drafts.get(opts.key) || opts.initial || '';
    const count = h('span', { id: `${id}-count`, class: 'composer-count', 'aria-live': 'off' });
    const button = h('button', { type: 'submit', class: 'btn btn-primary', text: opts.submit });
    const status = h('span', { class: 'composer-status', role: 'status' });
    const form = h('form', { class: ['composer', opts.className], 'data-composer-form': opts.name || opts.key },
        h('label', { for: id, class: 'composer-label', text: opts.label }),
        opts.hint ? h('p', { class: 'hint', text: opts.hint }) : null,
        textarea,
        opts.extra || null,
        h('div', { class: 'composer-actions' }, button, status, count));
    let sending = false;

    function updateCount() {
        const n = charCount(textarea.value);
        const max = maxChars();
        toggle(count, 'over', n > max);
        setText(count, n > max * 0.8 ? t('composer.count', { n, max }) : '');
    }
    updateCount();
    textarea.addEventListener('input', () => {
        ctx.drafts.set(opts.key, textarea.value);
        updateCount();
    });
    textarea.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
            e.preventDefault();
            form.requestSubmit();
        }
    });
    form.addEventListener('submit', (e) => {
        e.preventDefault();
        if (sending) return;
        const text = textarea.value.trim();
        if (!text && !opts.optional) {
            setText(status, t('errors.text_empty'));
            textarea.focus();
            return;
        }
        if (charCount(text) > maxChars()) {
            setText(status, t('errors.text_too_long'));
            return;
        }
        sending = true;
        button.disabled = true;
        setText(status, t('composer.sending'));
        Promise.resolve(opts.onSubmit(text)).then(() => {
            if (textarea.value.trim() === text) {
                textarea.value = opts.keepAfterSend ? textarea.value : '';
                if (!opts.keepAfterSend) ctx.drafts.set(opts.key, '');
            }
            setText(status, opts.keepAfterSend ? t('composer.saved') : '');
            updateCount();
        }, (err) => {
            setText(status, err && err.code ? ctx.errorText(err.code) : '');
        }).finally(() => {
            sending = false;
            button.disabled = false;
        });
    });
    return { el: form, textarea, button };
}

/** A radio group (kind of contribution, dimension of learning...). */
export function choice(name, legend, options, selected, onChange) {
    const fs = h('fieldset', { class: 'choice' }, h('legend', { text: legend }));
    for (const o of options) {
        const id = newId(name);
        fs.appendChild(h('span', { class: 'choice-item' },
            h('input', { type: 'radio', id, name, value: o.value, checked: o.value === selected,
                onchange: () => onChange && onChange(o.value) }),
            h('label', { for: id, class: ['choice-label', `tag-${o.value}`], text: o.label })));
    }
    return fs;
}

export function choiceValue(fs) {
    const el = fs.querySelector('input:checked');
    return el ? el.value : null;
}

/** The "who · when" line of a card. */
export function byline(ctx, card) {
    const s = ctx.s;
    const mine = card.author === myId(s);
    return h('p', { class: 'card-by' },
        h('span', { class: 'card-author', text: mine ? t('cards.you', { name: memberName(s, card.author) }) : memberName(s, card.author) }),
        card.at_ms ? h('time', { class: 'card-time', datetime: new Date(card.at_ms).toISOString(), text: timeOfDay(card.at_ms) }) : null);
}

/** A simple card: byline, optional tag, the text; its author may correct
 * or withdraw it while its step runs (updateCard). */
export function cardNode(ctx, card, tag) {
    const li = h('li', { class: ['card', `card-${card.type}`], 'data-card-id': card.id },
        h('div', { class: 'card-head' }, byline(ctx, card), tag || null),
        h('p', { class: 'card-text', text: card.text }));
    updateCard(ctx, li, card);
    return li;
}

/** May I correct or withdraw this card now? Only its author, only while
 * the card's step (of this consultation) runs: the server's rule (proto
 * 2.2, corrected and withdrawn cards), read from the card and the room. */
export function canChangeCard(s, card) {
    const r = s.room;
    return Boolean(r && card && !card.withdrawn && card.author === myId(s) && may(s, 'card_edit')
        && card.step === r.step && (card.consultation ?? null) === (r.consultation ?? null));
}

/**
 * Brings a card node up to date with its card: the text (or "withdrawn"
 * once its author withdrew it), a discreet "modifiée" / "retirée" tag, and
 * for its author while the step runs, "Corriger" (an inline form) and
 * "Retirer" (asks once more before sending). opts.withdraw: false leaves
 * the withdraw button out (an action has its own "remove").
 */
export function updateCard(ctx, li, card, opts = {}) {
    const text = li.querySelector('.card-text');
    if (text) setText(text, card.withdrawn ? t('cards.withdrawn_text') : card.text);
    toggle(li, 'is-withdrawn', Boolean(card.withdrawn));
    toggle(li, 'is-edited', Boolean(card.edited) && !card.withdrawn);
    const head = li.querySelector('.card-head') || li;
    let state = head.querySelector('.card-state');
    const label = card.withdrawn ? t('cards.withdrawn') : card.edited ? t('cards.edited') : '';
    if (label && !state) { state = h('span', { class: 'tag tag-state card-state' }); head.append(state); }
    if (state) { setText(state, label); state.hidden = !label; }
    let tools = li.querySelector(':scope > .card-own');
    // may('card_edit') and the card's author and step (the server checks again).
    const changeable = canChangeCard(ctx.s, card);
    if (!changeable) { if (tools) tools.remove(); return; }
    if (!tools) {
        tools = ownTools(ctx, card, opts);
        li.append(tools);
    }
}

/** "Corriger" / "Retirer" for the author of card. */
function ownTools(ctx, card, opts) {
    const id = newId('fix');
    const area = h('textarea', { id, class: 'composer-input', rows: 2, 'data-composer': 'card-edit' });
    const status = h('span', { class: 'composer-status', role: 'status' });
    const form = h('form', { class: 'composer composer-inline card-edit-form', hidden: true },
        h('label', { for: id, class: 'composer-label', text: t('cards.edit_label') }), area,
        h('div', { class: 'composer-actions' },
            h('button', { type: 'submit', class: 'btn btn-small btn-primary', text: t('cards.edit_save') }),
            h('button', { type: 'button', class: 'btn btn-small', text: t('dialog.cancel'),
                onclick: () => { form.hidden = true; editBtn.setAttribute('aria-expanded', 'false'); editBtn.focus(); } }),
            status));
    const editBtn = h('button', { type: 'button', class: 'btn btn-small btn-quiet', 'data-action': 'card-edit',
        'aria-expanded': 'false', text: t('cards.edit'),
        onclick: () => {
            const cur = ctx.s.room.cards.find((c) => c.id === card.id) || card;
            form.hidden = !form.hidden;
            editBtn.setAttribute('aria-expanded', form.hidden ? 'false' : 'true');
            if (!form.hidden) { area.value = cur.text; area.focus(); }
        } });
    form.addEventListener('submit', (e) => {
        e.preventDefault();
        const text = area.value.trim();
        if (!text) { setText(status, t('errors.text_empty')); return; }
        if (charCount(text) > limit(ctx.s, 'text_max_chars')) { setText(status, t('errors.text_too_long')); return; }
        setText(status, t('composer.sending'));
        ctx.send('card_edit', { card_id: card.id, text }).then(() => {
            setText(status, '');
            form.hidden = true;
            editBtn.setAttribute('aria-expanded', 'false');
        }, (err) => setText(status, err && err.code ? ctx.errorText(err.code) : ''));
    });
    let armed = false;
    const withdrawBtn = opts.withdraw === false ? null : h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet',
        'data-action': 'card-withdraw', text: t('cards.withdraw'),
        onclick: () => {
            if (!armed) { armed = true; setText(withdrawBtn, t('cards.withdraw_confirm')); return; }
            ctx.act('card_withdraw', { card_id: card.id });
        },
        onblur: () => { armed = false; setText(withdrawBtn, t('cards.withdraw')); } });
    return h('div', { class: 'card-own' }, h('div', { class: 'card-actions' }, editBtn, withdrawBtn), form);
}

export function tagNode(kind, label) {
    return h('span', { class: ['tag', `tag-${kind}`], text: label });
}

export function section(title, ...children) {
    const id = newId('sec');
    return h('section', { class: 'block', 'aria-labelledby': id },
        h('h2', { id, class: 'block-title', text: title }), ...children);
}

export function emptyNote(text) {
    return h('p', { class: 'empty', text });
}

/** Formats a duration in ms as m:ss or h:mm:ss (absolute value). */
export function formatDuration(ms) {
    const total = Math.floor(Math.abs(ms) / 1000);
    const hh = Math.floor(total / 3600);
    const mm = Math.floor((total % 3600) / 60);
    const ss = total % 60;
    const two = (n) => String(n).padStart(2, '0');
    return hh > 0 ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

/**
 * A read-only link with a copy button and a status line ("copied").
 * copy(input, statusEl) is app.copy. Returns {el, input}.
 */
export function copyField(copy, { label, value, button, action, id }) {
    const input = h('input', { type: 'text', readonly: true, class: 'link-field', id: id || newId('link'), value: value || '' });
    const status = h('span', { class: 'hint', role: 'status' });
    const el = h('div', { class: 'copy-field' },
        h('p', { class: 'inline-form' },
            h('label', { for: input.id, class: 'sr-only', text: label }), input,
            h('button', { type: 'button', class: 'btn', 'data-action': action, text: button, onclick: () => copy(input, status) })),
        status);
    return { el, input };
}

/** The button that switches the page to the other language. */
export function languageButton(onSwitch) {
    return h('button', { type: 'button', class: 'btn btn-quiet', 'data-action': 'lang', lang: t('lang.switch_lang'),
        'aria-label': t('lang.switch_label'), text: t('lang.switch'), onclick: onSwitch });
}

/** A list that keeps its nodes across updates (see dom.reconcile). */
export function list(className, label) {
    return h('ul', { class: ['cards', className], 'aria-label': label || null });
}
