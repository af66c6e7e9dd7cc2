// i18n.js - every string the page shows comes from i18n/fr.json or
// i18n/en.json, loaded with fetch. French first: it is the fallback.
//
// t('steps.consultation.label') looks up a dotted key; {name} placeholders
// are replaced from params; a value that is an object with one/other is a
// plural chosen by params.n.

export const LANGS = ['fr', 'en'];
const dicts = {};
let lang = 'fr';

export async function loadLanguage(l) {
    const want = LANGS.includes(l) ? l : 'fr';
    if (!dicts[want]) {
        const r = await fetch(`i18n/${want}.json`, { cache: 'no-cache' });
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
    return String(v).replace(/\{(\w+)\}/g, (m, name) =>
        (params[name] === undefined || params[name] === null ? m : String(params[name])));
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
