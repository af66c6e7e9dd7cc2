// app.js - entry point: loads the language, routes on the URL fragment and
// mounts a page. Routes (secrets only ever in the fragment):
//   #/                       home: my groups, create a group
//   #/join/<group>/<invite>  join form (invite link)
//   #/g/<group>/<key>        personal link: the key is stored, then dropped
//                            from the address bar
//   #/g/<group>              the room, with the key this browser remembers
//   #/g/<group>/settings     the group's settings page (same connection)
//   #/display/<group>/<token> the display screen (read-only, no presence);
//                            the token is not stored

import { fill, h } from './dom.js';
import { t, loadLanguage, currentLanguage } from './i18n.js';
import * as store from './storage.js';
import { homePage, joinPage } from './views/home.js';
import { messagePage } from './views/message.js';
import { preloadRoom } from './early.js';

// The room and the display screen are loaded when first shown (import()),
// not with the front page: the join form needs a third of the client, and
// on a slow network it shows that much sooner. early.js has the browser
// fetch the room's whole module graph at once (preloadRoom): at once for a
// room's address, after the first page is shown for the others (so the
// room is in the cache when the join or the new group is answered).
const loadRoom = () => import('./views/room.js');
const loadDisplay = () => import('./views/display.js');

const root = document.getElementById('app');
let room = null;        // {unmount, remount} while a room is shown
let roomGroup = null;   // the room shown, or being loaded
let loading = 0;        // bumped by every mount: a late load of an older one is dropped

const app = {
    language: currentLanguage,
    async switchLanguage() {
        const next = currentLanguage() === 'fr' ? 'en' : 'fr';
        store.setLanguageChoice(next);
        await loadLanguage(next);
        if (room) room.remount();
        else route();
        const btn = document.querySelector('[data-action=lang]');
        if (btn) btn.focus();
    },
    /** Copies an input's value; falls back to selecting it. */
    async copy(input, statusEl) {
        try {
            await navigator.clipboard.writeText(input.value);
            statusEl.textContent = t('menu.copied');
        } catch {
            input.focus();
            input.select();
            statusEl.textContent = t('menu.copy_manual');
        }
    },
};

function leaveRoom() {
    if (room) room.unmount();
    room = null;
    roomGroup = null;
}

/**
 * Shows what mount(module) returns as the room of key, once load() has the
 * module; the page routed elsewhere meanwhile drops it. A module that cannot
 * be fetched (the network went away) says so, with a way to try again.
 */
function mountLater(key, load, mount) {
    leaveRoom();
    roomGroup = key;
    loading += 1;
    const mine = loading;
    load().then((m) => {
        if (mine === loading && roomGroup === key) room = mount(m);
    }, () => {
        if (mine !== loading || roomGroup !== key) return;
        fill(root, messagePage({ title: t('conn.load_failed_title'), text: t('conn.load_failed_text'),
            actions: [h('button', { type: 'button', class: 'btn', text: t('conn.retry'), onclick: () => location.reload() })] }));
    });
}

function parse(hash) {
    const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
    return parts;
}

/** The room of group a, showing view 'room' or 'settings' (one connection for both). */
function showRoom(a, view) {
    const entry = store.group(a);
    if (!entry || !entry.member_key) {
        leaveRoom();
        fill(root, messagePage({ title: t('fatal.no_key_title'), text: t('fatal.no_key_text'),
            actions: [h('a', { class: 'btn', href: '#/', text: t('menu.my_groups') })] }));
        return undefined;
    }
    if (room && roomGroup === a) {
        room.setView(view);
        return undefined;
    }
    mountLater(a, loadRoom, (m) => m.mountRoom(root, a, entry, app, view));
    return undefined;
}

function route() {
    const [kind, a, b] = parse(location.hash);
    if (kind === 'display' && a && b) {
        if (room && roomGroup === `display:${a}/${b}`) return undefined;
        mountLater(`display:${a}/${b}`, loadDisplay, (m) => m.mountDisplay(root, a, b));
        return undefined;
    }
    if (kind === 'g' && a && b === 'settings') return showRoom(a, 'settings');
    if (kind === 'g' && a && b) {
        store.rememberGroup(a, { member_key: b });
        history.replaceState(null, '', `#/g/${a}`);
        return route();
    }
    if (kind === 'join' && a && b) {
        const known = store.group(a);
        if (known && known.member_key) {
            if (!known.invite_code) store.rememberGroup(a, { invite_code: b });
            history.replaceState(null, '', `#/g/${a}`);
            return route();
        }
        leaveRoom();
        document.title = t('join.title');
        fill(root, joinPage(app, a, b));
        return undefined;
    }
    if (kind === 'g' && a) return showRoom(a, 'room');
    leaveRoom();
    document.title = t('app.name');
    fill(root, homePage(app));
    return undefined;
}

// A click outside an open menu (the top menu, a member's actions) closes it.
document.addEventListener('click', (e) => {
    for (const d of document.querySelectorAll('details.menu[open], details.member-menu[open]')) {
        if (!d.contains(e.target)) d.open = false;
    }
});

async function main() {
    const preferred = store.languageChoice()
        || ((navigator.language || '').toLowerCase().startsWith('en') ? 'en' : 'fr');
    await loadLanguage(preferred);
    window.addEventListener('hashchange', route);
    route();
    preloadRoom();
    // The page itself from a cache on the next load (sw.js); https or
    // localhost only, and not in every browser: without it, as before.
    // Once the page has loaded (the room's modules too), so that the
    // worker's two requests do not slow the first visit.
    if (navigator.serviceWorker) {
        const register = () => navigator.serviceWorker.register('/sw.js').catch(() => {});
        if (document.readyState === 'complete') register();
        else window.addEventListener('load', register, { once: true });
    }
}

main();
