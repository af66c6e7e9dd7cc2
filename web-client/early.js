// early.js - the room's WebSocket, opened as early as the page can. For a
// room's address, index.html's inline script opens it as the page's first
// bytes are parsed (window.codevSocket), before any file is asked for;
// this module (no imports, run on its own, async) keeps it, or opens one
// itself when that script did not run, and net.js adopts it (takeEarly)
// instead of opening its own. On a slow network this overlaps the
// WebSocket handshake (one round trip) with loading and evaluating the
// page; the join form does the same with its POST (preconnect). The server
// sends nothing before hello, so nothing is lost while the socket waits to
// be adopted.
//
// Opened ahead for a room's address (#/g/<group>); a socket nobody adopts
// is closed by the server's hello timeout.
//
// It also reloads the page once when sw.js served it from its cache and
// then found that codevd has a new client (a "codev-page-changed" message),
// and has the browser fetch the room's modules (preloadRoom), which
// app.js imports only when a room or the display is shown: index.html
// preloads what the front page and the join form need, and nothing more.
// For a room's address that starts here, with the rest of the page; for
// the others, app.js calls it once its first page is shown.

export const PROTOCOL = 'codev.v1';

/**
 * The WebSocket's address; with group, `/ws?group=<id>`, so that a router
 * sends it to the node that holds the group (a cluster: proto/README.md 2).
 */
export function wsUrl(group) {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = group ? `?group=${encodeURIComponent(group)}` : '';
    return `${scheme}//${location.host}/ws${q}`;
}

// The socket index.html's inline script opened, if any.
let early = (typeof window !== 'undefined' && window.codevSocket) || null;
if (early) delete window.codevSocket;

// Every module that views/room.js and views/display.js import, at any
// depth, but those index.html preloads already (tests/browser/static.test.mjs
// checks the list against the imports).
export const ROOM_MODULES = ['views/room.js', 'views/display.js', 'net.js', 'views/header.js',
    'views/clock.js', 'views/floor.js', 'views/controls.js', 'views/dialog.js', 'views/members.js',
    'views/notes.js', 'record.js', 'views/closed.js', 'views/between.js', 'views/safety.js',
    'views/opening.js', 'views/settings.js', 'views/topic.js', 'views/expose.js',
    'views/clarification.js', 'views/contract.js', 'views/consultation.js', 'views/recall.js',
    'views/synthesis.js', 'views/learning.js', 'views/nosession.js', 'views/feedback.js'];
let preloaded = false;

/**
 * Has the browser fetch ROOM_MODULES at once (modulepreload, beside this
 * file: the same /v/<version>/ URLs the imports resolve to) rather than one
 * import level at a time when the room is first shown. Once per page.
 */
export function preloadRoom() {
    if (preloaded || typeof document === 'undefined') return;
    preloaded = true;
    for (const m of ROOM_MODULES) {
        const link = document.createElement('link');
        link.rel = 'modulepreload';
        link.href = new URL(m, import.meta.url).href;
        document.head.append(link);
    }
}

/** Opens a socket to url now, for the next Connection to adopt. */
export function preconnect(url = wsUrl()) {
    if (early && early.url === url && early.readyState <= WebSocket.OPEN) return;
    try {
        early = new WebSocket(url, PROTOCOL);
    } catch {
        early = null;
    }
}

/** The socket opened ahead to url, still connecting or open, or null (once). */
export function takeEarly(url) {
    const ws = early;
    early = null;
    if (ws && ws.url === url && ws.readyState <= WebSocket.OPEN) return ws;
    if (ws) ws.close();
    return null;
}

// (Node imports net.js in the unit tests: no location there.) The socket
// opens for any room address, as index.html's inline script does, without
// asking localStorage whether this browser holds its key: the room page
// says so when it does not, and the server's hello timeout closes the
// socket nobody adopted.
const hash = typeof location === 'undefined' ? '' : location.hash;
const roomGroup = /^#\/g\/([^/]+)/.exec(hash);
if (roomGroup) preconnect(wsUrl(roomGroup[1]));
if (/^#\/(g|display)\//.test(hash)) preloadRoom();

// sw.js served this page from its cache, and codevd's index.html has
// changed since: reload once (per new version and tab) for the new client.
if (typeof navigator !== 'undefined' && navigator.serviceWorker) {
    navigator.serviceWorker.addEventListener('message', (e) => {
        if (!e.data || e.data.type !== 'codev-page-changed') return;
        try {
            if (sessionStorage.getItem('codev.pageChanged') === e.data.etag) return;
            sessionStorage.setItem('codev.pageChanged', e.data.etag);
        } catch {
            return; /* without storage a reload could repeat: stay */
        }
        location.reload();
    });
    navigator.serviceWorker.startMessages();
}
