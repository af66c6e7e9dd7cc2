// early.js - the room's WebSocket, opened as early as the page can: it has
// no imports, and index.html runs it on its own (async) as soon as it
// arrives, before the other modules are even evaluated; net.js imports it
// and adopts that socket (takeEarly) instead of opening its own. On a slow
// network this overlaps the WebSocket handshake (one round trip) with
// loading and evaluating the page; the join form does the same with its
// POST (preconnect). The server sends nothing before hello, so nothing is
// lost while the socket waits to be adopted.
//
// Opened ahead only for a room this browser holds a key for (#/g/<group>);
// a socket nobody adopts is closed by the server's hello timeout.

export const PROTOCOL = 'codev.v1';

export function wsUrl() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}/ws`;
}

let early = null;

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

// (Node imports net.js in the unit tests: no location there.)
const room = typeof location === 'undefined' ? null : /^#\/g\/([^/]+)/.exec(location.hash);
let known = false;
try {
    known = Boolean(room && (localStorage.getItem('codev.groups') || '').includes(room[1]));
} catch { /* no storage: no early socket */ }
if (known) preconnect();
