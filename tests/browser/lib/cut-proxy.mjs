// A scripted stand-in for the network between the page and the real codevd,
// for the one browser test the server cannot be made to show on demand: a
// connection cut while a command's answer is on its way. It forwards HTTP
// and WebSocket traffic unchanged to a running server (so the rules, the
// budgets and the CSP are the server's own) and, on demand, withholds the
// acks the server sends or cuts every WebSocket.
//
//   const cut = await startCutProxy(server);   // server: from startServer()
//   page.goto(cut.url) ...
//   cut.holdAnswers(true);                     // acks from now on are lost
//   cut.dropAll();                             // a network cut; pages reconnect
//   cut.log                                    // every command the pages sent
import http from 'node:http';
import { WebSocketServer, WebSocket } from 'ws';

const PROTOCOL = 'codev.v1';

/** A server frame without its acks (frames may batch messages as an array), or null when nothing is left. */
function withoutAcks(text) {
    let msg;
    try { msg = JSON.parse(text); } catch { return text; }
    if (Array.isArray(msg)) {
        const kept = msg.filter((m) => m.type !== 'ack');
        if (kept.length === msg.length) return text;
        return kept.length ? JSON.stringify(kept) : null;
    }
    return msg.type === 'ack' ? null : text;
}

export async function startCutProxy(upstream) {
    const target = new URL(upstream.url);
    const pairs = new Set(); // {page, server}: the two ends of one WebSocket
    const log = [];          // every message a page sent: {msg}
    let holding = false;

    const server = http.createServer((req, res) => {
        const out = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
            (up) => { res.writeHead(up.statusCode, up.headers); up.pipe(res); });
        out.on('error', () => { res.writeHead(502); res.end(); });
        req.pipe(out);
    });

    const wss = new WebSocketServer({ noServer: true, handleProtocols: (ps) => (ps.has(PROTOCOL) ? PROTOCOL : false) });
    server.on('upgrade', (req, sock, head) => {
        wss.handleUpgrade(req, sock, head, (page) => {
            const up = new WebSocket(`ws://${target.host}${req.url}`, PROTOCOL, { headers: { host: req.headers.host, ...(req.headers.origin ? { origin: req.headers.origin } : {}) } });
            const pair = { page, up };
            const pending = [];
            pairs.add(pair);
            page.on('message', (data) => {
                const text = String(data);
                try { log.push({ msg: JSON.parse(text) }); } catch { /* forwarded as it is */ }
                if (up.readyState === WebSocket.OPEN) up.send(text); else pending.push(text);
            });
            up.on('open', () => { for (const text of pending.splice(0)) up.send(text); });
            up.on('message', (data) => {
                const text = holding ? withoutAcks(String(data)) : String(data);
                if (text !== null && page.readyState === WebSocket.OPEN) page.send(text);
            });
            const end = () => { pairs.delete(pair); page.terminate(); up.terminate(); };
            page.on('close', end);
            up.on('close', end);
            page.on('error', end);
            up.on('error', end);
        });
    });

    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address();
    return {
        url: `http://127.0.0.1:${port}`,
        log,
        /** From now on, acks from the server are dropped (answers lost on the way). */
        holdAnswers(on) { holding = on; },
        /** Cuts every WebSocket (a network cut); pages must reconnect. */
        dropAll() { for (const p of pairs) { p.page.terminate(); p.up.terminate(); } },
        async stop() {
            this.dropAll();
            server.closeAllConnections?.();
            await new Promise((resolve) => server.close(resolve));
        },
    };
}
