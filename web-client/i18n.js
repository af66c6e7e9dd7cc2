// i18n.js - every string the page shows comes from i18n/fr.json or
// i18n/en.json, loaded with fetch. French first: it is the fallback.
//
// t('steps.consultation.label') looks up a dotted key; {name} placeholders
// are replaced from params; a value that is an object with one/other is a
// plural chosen by params.n. French templates elide before a name that
// starts with a vowel ("de {name}" -> "d’Isabelle"); the strings themselves
// carry their typography (U+202F before ; : ! ? and inside « », ’).

export const LANGS = ['fr', 'en'];
const dicts = {};
let lang = 'fr';

export async function loadLanguage(l) {
    const want = LANGS.includes(l) ? l : 'fr';
    if (!dicts[want]) {
        // Beside this module: under codevd's /v/<version>/, so that the
        // browser keeps it with the modules (and index.html preloads fr).
        const r = await fetch(new URL(`i18n/${want}.json`, import.meta.url));
        if (!r.ok) throw new Error(`i18n ${want}: HTTP ${r.status}`);
        dicts[want] = await r.json();
    }
    lang = want;
    document.documentElement.lang = want;
    return want;
}

export function currentLanguage() {
    return lang;
}

function lookup(dict, key) {
    let v = dict;
    for (const part of key.split('.')) {
        if (v === null || typeof v !== 'object' || !(part in v)) return undefined;
        v = v[part];
    }
    return v;
}

/** Does the current language have this key? */
export function has(key) {
    return lookup(dicts[lang] || {}, key) !== undefined;
}

export function t(key, params = {}) {
    let v = lookup(dicts[lang] || {}, key);
    if (v === undefined && dicts.fr) v = lookup(dicts.fr, key);
    if (v === undefined) return key;
    if (typeof v === 'object' && v !== null) {
        const n = Number(params.n ?? 0);
        const rule = new Intl.PluralRules(lang).select(n);
        v = v[rule] ?? v.other ?? key;
    }
    if (lang === 'fr') v = elideTemplate(String(v), params);
    return String(v).replace(/\{(\w+)\}/g, (m, name) =>
        (params[name] === undefined || params[name] === null ? m : String(params[name])));
}

// French elision before a name that starts with a vowel sound: "de Bruno"
// but "d’Isabelle", "que Émilie" -> "qu’Émilie". Words starting with h
// are left alone (h muet or aspiré cannot be told from the spelling).
const ELIDING = { de: 'd’', De: 'D’', que: 'qu’', Que: 'Qu’', le: 'l’', la: 'l’', Le: 'L’', La: 'L’' };
const VOWEL_START = /^[aeiouyàâäéèêëîïôöùûüœæ]/i;

/** "de" + word as French writes it: elided before a vowel ("d’Anne"). */
export function elide(article, word) {
    const w = String(word ?? '');
    return ELIDING[article] && VOWEL_START.test(w) ? `${ELIDING[article]}${w}` : `${article} ${w}`;
}

/** Applies elide() to each "de {x}" (que, le, la) of a template. */
export function elideTemplate(template, params) {
    return template.replace(/(^|[\s(«\u202f\u00a0])(de|De|que|Que|le|la|Le|La) \{(\w+)\}/g, (m, pre, article, name) => {
        const value = params[name];
        if (value === undefined || value === null || !VOWEL_START.test(String(value))) return m;
        return `${pre}${ELIDING[article]}{${name}}`;
    });
}

/** The sentence for a server error code (never the raw code). */
export function errorText(code) {
    const k = `errors.${code}`;
    return has(k) ? t(k) : t('errors.unknown');
}

/** A localized clock time for an instant (ms since epoch). */
export function timeOfDay(ms) {
    return new Intl.DateTimeFormat(lang === 'fr' ? 'fr-CA' : 'en-CA',
        { hour: '2-digit', minute: '2-digit' }).format(new Date(ms));
}

export function dateLong(ms) {
    return new Intl.DateTimeFormat(lang === 'fr' ? 'fr-CA' : 'en-CA',
        { dateStyle: 'long' }).format(new Date(ms));
}
