// sw.js - the page (index.html) from a cache of its own, at once, then
// refreshed from the network behind it: a reload or a return to the room
// no longer waits one round trip for index.html before anything else can
// start (issue 12: room ready within 400 ms of a reload on a 150 ms
// network). Every other file is already kept for good by the browser
// (codevd serves them under /v/<version>/, immutable), so index.html was
// the one request a reload still made before the room's WebSocket.
//
// Invariants:
//   - Only navigations to this origin's "/" or "/index.html" are answered
//     here; everything else (the API, the exports a link downloads, the
//     files) goes to the network as if there were no worker.
//   - The answer is the last index.html fetched (its own headers, CSP
//     included, so its inline script keeps its hash); each such navigation
//     fetches index.html again (a revalidation: 304 when unchanged) and
//     keeps it for the next one. With nothing kept yet, the network answers.
//   - A page served from the cache while codevd has a new client (its
//     index.html changed: another ETag) is told so (a "codev-page-changed"
//     message), and early.js reloads it once, so that a new version is
//     not one load late.
// Expected load: one navigation now and then per member; the cache holds
// one entry of about 2 kB.

const CACHE = 'codev-page-1';
const PAGE = '/';

self.addEventListener('install', (event) => {
    event.waitUntil(caches.open(CACHE).then((cache) => cache.add(PAGE)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
    event.waitUntil((async () => {
        for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
        await self.clients.claim();
    })());
});

self.addEventListener('fetch', (event) => {
    const req = event.request;
    const url = new URL(req.url);
    if (req.method !== 'GET' || req.mode !== 'navigate' || url.origin !== self.location.origin
        || (url.pathname !== '/' && url.pathname !== '/index.html')) return;
    event.respondWith(page(event));
});

async function page(event) {
    const cache = await caches.open(CACHE);
    const cached = await cache.match(PAGE);
    const fresh = fetch(PAGE, { cache: 'no-cache' }).then(async (res) => {
        if (res.status === 200) await cache.put(PAGE, res.clone());
        return res;
    });
    if (!cached) return fresh;
    event.waitUntil(fresh.then(async (res) => {
        const etag = res.headers.get('etag');
        if (res.status !== 200 || !etag || etag === cached.headers.get('etag')) return;
        const client = await self.clients.get(event.resultingClientId);
        if (client) client.postMessage({ type: 'codev-page-changed', etag });
    }).catch(() => undefined));
    return cached;
}
