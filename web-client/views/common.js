// views/common.js - pieces every step panel uses: the composer (a text box
// whose draft survives re-renders and reconnects), card nodes, section
// headings, and small formatting helpers.

import { h, setText, toggle, newId } from '../dom.js';
import { t, timeOfDay } from '../i18n.js';
import { memberName, myId, limit } from '../state.js';

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

/** A simple card: byline, optional tag, the text. */
export function cardNode(ctx, card, tag) {
    return h('li', { class: ['card', `card-${card.type}`], 'data-card-id': card.id },
        h('div', { class: 'card-head' }, byline(ctx, card), tag || null),
        h('p', { class: 'card-text', text: card.text }));
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
