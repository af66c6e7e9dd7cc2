// Shared helpers for the browser tests: Debian's chromium driven by
// playwright-core, one fresh context per person, and a record of every
// console error, page error and CSP violation each page produced (tests
// assert that there are none).
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../../lib/server.mjs';
import { frontCert } from '../../lib/nginx.mjs';

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const SHOTS = path.join(repoRoot, 'test-output', 'screenshots');

/**
 * Starts Chromium; extraArgs: more command-line switches. Behind nginx
 * (startBackend with CODEVD_FRONT=nginx, before launch), it trusts the
 * front's test certificate.
 */
export async function launch(extraArgs = []) {
    if (frontCert) extraArgs = [...extraArgs, trustCertificate(frontCert)];
    return chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
    });
}

/**
 * The switch that makes Chromium trust a test certificate (its public key)
 * as it would a real one: no certificate error, so that it caches what it
 * loads over https (it keeps nothing from a site whose certificate it
 * refused, even with ignoreHTTPSErrors).
 */
export function trustCertificate(certPath) {
    const spki = execFileSync('sh', ['-c',
        'openssl x509 -in "$0" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64', certPath])
        .toString().trim();
    return `--ignore-certificate-errors-spki-list=${spki}`;
}

/**
 * Opens a page for one person in its own context. opts: width, height,
 * reducedMotion, locale. The returned page has page.problems: an array of
 * console errors, page errors and CSP violations seen so far.
 */
export async function person(browser, name, opts = {}) {
    const context = await browser.newContext({
        viewport: { width: opts.width || 700, height: opts.height || 900 },
        locale: opts.locale || 'fr-CA',
        reducedMotion: opts.reducedMotion || 'no-preference',
        permissions: ['clipboard-read', 'clipboard-write'],
        ignoreHTTPSErrors: !!opts.ignoreHTTPSErrors, // a test certificate
    });
    const page = await context.newPage();
    page.setDefaultTimeout(opts.timeout || 8000);
    page.problems = [];
    page.personName = name;
    page.sent = [];        // every WebSocket frame the page sent
    page.apiBodies = [];   // {path, body} of every API request with a body
    page.on('websocket', (ws) => ws.on('framesent', (f) => page.sent.push(String(f.payload))));
    page.on('request', (r) => {
        const u = new URL(r.url());
        if (u.pathname.startsWith('/api/') && r.postData() !== null) page.apiBodies.push({ path: u.pathname, body: r.postData() });
    });
    page.on('console', (m) => {
        if (m.type() === 'error') page.problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
    await context.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (e) => {
            console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
        });
        // Keep a handle on the page's sockets so that a test can forge a
        // frame on the app's own connection (the server must refuse it).
        const Native = window.WebSocket;
        window.__sockets = [];
        window.WebSocket = class extends Native {
            constructor(...a) { super(...a); window.__sockets.push(this); }
        };
    });
    return page;
}

/** True when the page has no horizontal scroll (fits its viewport). */
export async function fitsWidth(page) {
    return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

export function shotPath(name) {
    mkdirSync(SHOTS, { recursive: true });
    return path.join(SHOTS, `${name}.png`);
}

/** Ignores expected noise: resource loads refused on purpose in a test. */
export function realProblems(page, allow = []) {
    return page.problems.filter((p) => !allow.some((re) => re.test(p)));
}
