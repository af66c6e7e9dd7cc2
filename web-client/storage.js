// storage.js - what the browser remembers: per group, the member key (the
// only credential, 128 random bits), member id, name and invite code; the
// person's language choice; drafts typed in composers (sessionStorage: they
// survive a reload of the tab, not the tab itself). Keys travel in URL
// fragments and live here, never in a query string.

const GROUPS = 'codev.groups';
const LANG = 'codev.lang';

function read(store, name, fallback) {
    try {
        const raw = store.getItem(name);
        return raw ? JSON.parse(raw) : fallback;
    } catch {
        return fallback;
    }
}

function write(store, name, value) {
    try {
        store.setItem(name, JSON.stringify(value));
    } catch {
        /* storage full or disabled: the page still works for this visit */
    }
}

export function groups() {
    return read(localStorage, GROUPS, {});
}

export function group(groupId) {
    return groups()[groupId] || null;
}

/** Merges fields into the remembered entry of a group. */
export function rememberGroup(groupId, fields) {
    const all = groups();
    all[groupId] = { ...(all[groupId] || {}), ...fields, seen_ms: Date.now() };
    write(localStorage, GROUPS, all);
    return all[groupId];
}

export function forgetGroup(groupId) {
    const all = groups();
    delete all[groupId];
    write(localStorage, GROUPS, all);
}

export function languageChoice() {
    const l = read(localStorage, LANG, null);
    return l === 'fr' || l === 'en' ? l : null;
}

export function setLanguageChoice(l) {
    write(localStorage, LANG, l);
}

/**
 * Drafts: text typed in a composer but not yet accepted by the server, by
 * group and composer key. Kept across re-renders, reconnects and reloads.
 */
export function createDrafts(groupId) {
    const name = `codev.drafts.${groupId}`;
    const map = read(sessionStorage, name, {});
    return {
        get(key) { return map[key] || ''; },
        set(key, text) {
            if (text) map[key] = text; else delete map[key];
            write(sessionStorage, name, map);
        },
    };
}

/** The closed session's personal record, kept for this tab. */
export function saveRecord(groupId, record) {
    write(sessionStorage, `codev.record.${groupId}`, record);
}

export function loadRecord(groupId) {
    return read(sessionStorage, `codev.record.${groupId}`, null);
}

/** Steps this browser has shown once (their help folds after that). */
const SEEN = 'codev.seenSteps';

export function seenStep(step) {
    return read(localStorage, SEEN, []).includes(step);
}

export function markStepSeen(step) {
    const seen = read(localStorage, SEEN, []);
    if (!seen.includes(step)) write(localStorage, SEEN, [...seen, step]);
}
