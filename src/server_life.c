/*
 * server_life.c - restarts nobody notices: the SIGTERM drain and the SIGHUP
 * reload of a running server (issue 16). The signal handlers (main.c) only
 * set flags and wake the loop (server_drain, server_reload); server_woken
 * (server.c) acts on them here, on the loop thread.
 *
 * Invariants:
 *   - Drain: no more accepts, what is submitted committed (within
 *     drain_timeout_s) and delivered, every WebSocket closed 1001
 *     "going_away retry_ms=N" after what is queued for it; the loop
 *     returns once no WebSocket and no answer waiting for the journal is
 *     left, or at drain_timeout_s. A second signal stops at once.
 *   - Reload: the fresh config is made and checked whole (the TLS
 *     certificate and key too, in a scratch SSL_CTX) before anything
 *     changes; then config_reload applies what may change while running,
 *     and the certificate already parsed goes into the vhost's SSL_CTX (new
 *     handshakes; a TLS session already up keeps its own). A bad file
 *     changes nothing.
 * Expected load: a signal now and then; a drain walks every connection
 * once, then once per loop iteration until it ends.
 */
#include "server.h"

#include "server_internal.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* ---- SIGHUP: reload --------------------------------------------------------- */

/* Puts the certificate and chain that scratch holds, and pkey (which
 * matches them: checked), into target: the objects already parsed, so the
 * files are read once, and a renewal that rewrites them meanwhile cannot
 * leave target with a certificate and a key that do not belong together.
 * Returns 0 or -1. */
static int server_tls_copy(SSL_CTX *scratch, SSL_CTX *target, EVP_PKEY *pkey)
{
    X509 *x = SSL_CTX_get0_certificate(scratch);
    STACK_OF(X509) *chain = NULL;

    if (!x || SSL_CTX_get0_chain_certs(scratch, &chain) != 1)
        return -1;
    if (SSL_CTX_use_certificate(target, x) != 1 ||
        SSL_CTX_use_PrivateKey(target, pkey) != 1 ||
        SSL_CTX_set1_chain(target, chain) != 1 || SSL_CTX_check_private_key(target) != 1)
        return -1;
    return 0;
}

/* Checks that cert and key (PEM paths) load and belong together, in a
 * scratch SSL_CTX; then, when apply, loads them into the vhost's: the
 * handshakes that start from now on present the new certificate, the
 * connections already up keep theirs. Returns 0, or -1 with why filled. */
static int server_tls_load(struct server *s, const char *cert, const char *key,
                           bool apply, char *why, size_t n)
{
    SSL_CTX *scratch = SSL_CTX_new(TLS_server_method());
    SSL_CTX *target = apply ? s->tls_ctx : scratch;
    FILE *f = fopen(key, "r");
    EVP_PKEY *pkey = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    int rc = -1;

    if (f)
        fclose(f);
    if (!scratch || !target) {
        snprintf(why, n, "no TLS context to load it into");
    } else if (!pkey) {
        snprintf(why, n, "tls_key %s: not a readable PEM private key", key);
    } else if (SSL_CTX_use_certificate_chain_file(scratch, cert) != 1) {
        snprintf(why, n, "tls_cert %s: not a readable PEM certificate", cert);
    } else if (SSL_CTX_use_PrivateKey(scratch, pkey) != 1 ||
               SSL_CTX_check_private_key(scratch) != 1) {
        snprintf(why, n, "tls_key %s does not match tls_cert %s", key, cert);
    } else if (apply && server_tls_copy(scratch, target, pkey)) {
        snprintf(why, n,
                 "the certificate checked, then failed to load into the live context");
    } else {
        rc = 0;
    }
    ERR_clear_error();
    EVP_PKEY_free(pkey);
    SSL_CTX_free(scratch);
    return rc;
}

/* Re-reads the config (SIGHUP) and applies what may change while running. */
void server_reload_now(struct server *s)
{
    struct config fresh;
    char changed[512], restart[256], why[300];
    bool tls_changed;
    int lws_levels = LLL_ERR | LLL_WARN;

    if (!s->load || !s->live) {
        log_warn("reload: SIGHUP ignored (no config to re-read)");
        return;
    }
    if (s->load(&fresh, s->load_arg)) {
        log_err("reload refused: the settings in force stay");
        return;
    }
    /* TLS on or off, or a certificate that does not load: refused whole. */
    if (!s->cfg->tls_cert != !fresh.tls_cert) {
        log_err("reload refused: turning TLS %s needs a restart; the settings in force "
                "stay",
                fresh.tls_cert ? "on" : "off");
        config_free(&fresh);
        return;
    }
    tls_changed = fresh.tls_cert && (strcmp(fresh.tls_cert, s->cfg->tls_cert) != 0 ||
                                     strcmp(fresh.tls_key, s->cfg->tls_key) != 0);
    /* The same paths may hold new files (a renewed certificate): load them
     * whenever TLS is on. */
    if (fresh.tls_cert &&
        server_tls_load(s, fresh.tls_cert, fresh.tls_key, false, why, sizeof(why))) {
        log_err("reload refused: %s; the settings in force stay", why);
        config_free(&fresh);
        return;
    }
    if (config_reload(s->live, &fresh, changed, sizeof(changed), restart,
                      sizeof(restart))) {
        log_err("reload refused: out of memory; the settings in force stay");
        config_free(&fresh);
        return;
    }
    config_free(&fresh);
    if (s->cfg->tls_cert &&
        server_tls_load(s, s->cfg->tls_cert, s->cfg->tls_key, true, why, sizeof(why)))
        log_err("reload: TLS certificate not replaced: %s", why);
    else if (s->cfg->tls_cert)
        log_notice("reload: TLS certificate %s loaded for new connections%s",
                   s->cfg->tls_cert, tls_changed ? " (new path)" : "");
    log_init(s->cfg->log_level);
    if (log_level_current >= LOG_LEVEL_NOTICE)
        lws_levels |= LLL_NOTICE;
    lws_set_log_level(lws_levels, server_lws_log_emit);
    server_apply_derived(s);
    log_notice("reload: done; changed: %s", changed[0] ? changed : "nothing");
    if (restart[0])
        log_warn("reload: needs a restart, kept as they were: %s", restart);
}

/* ---- SIGTERM: drain -------------------------------------------------------- */

/* Begins the drain: no more accepts, the journal committed so far
 * delivered, every WebSocket told to come back (close 1001 with a retry
 * hint once what is queued for it is written). */
void server_drain_begin(struct server *s)
{
    /* Spread the reconnections of a crowd over more time. */
    unsigned retry_ms = 1000 + (unsigned)(s->nconns / 4);

    if (retry_ms > 10000)
        retry_ms = 10000;
    s->draining = true;
    s->drain_deadline = server_mono_ms() + (int64_t)s->cfg->drain_timeout_s * 1000;
    snprintf(s->going_away, sizeof(s->going_away), "going_away retry_ms=%u", retry_ms);
    log_notice("draining: %zu connections, %zu groups, %zu open sessions (at most %u s)",
               s->nconns, s->hub->ngroups, s->hub->open_sessions,
               s->cfg->drain_timeout_s);
    peer_listen_stop(s);
    /* What is submitted commits now, and its events and acks are queued
     * ahead of the close frames (a short wait: one group commit). */
    if (s->store) {
        /* Bounded: a database that stopped answering must not hold the
         * drain past its deadline (what is left is refused as usual). */
        if (store_flush_within(s->store, s->drain_deadline - server_mono_ms()))
            log_warn("draining: the journal did not commit within the drain's time");
        store_drain(s->store, commit_drained, s);
        /* A cluster: its groups are free for the other nodes at once (the
         * clients told to come back land there); what is still sent here
         * commits unless another node took the group meanwhile. */
        if (store_cluster(s->store)) {
            if (store_lease_release_all(s->store))
                log_warn("draining: leases not released (the store did not answer): "
                         "the other nodes take the groups when they expire");
            else
                log_notice("draining: leases released");
        }
    }
    for (struct conn *c = s->all; c; c = c->all_next)
        conn_close_later(c, LWS_CLOSE_STATUS_GOINGAWAY, s->going_away);
    conn_flush_dirty(s);
    timer_arm(s, true); /* wake often enough to see the drain end */
}

/* While draining, once per loop iteration: stops when every WebSocket is
 * gone and nothing waits for the journal, or at the deadline. */
void server_drain_check(struct server *s)
{
    bool empty = s->nconns == 0 && s->waits.n == 0;

    if (!s->draining || s->stopping)
        return;
    if (!empty && server_mono_ms() < s->drain_deadline) {
        /* A WebSocket opened since (over an HTTP/2 connection already up)
         * is told to go too. */
        for (struct conn *c = s->all; c; c = c->all_next)
            if (!c->close_code)
                conn_close_later(c, LWS_CLOSE_STATUS_GOINGAWAY, s->going_away);
        return;
    }
    if (!empty)
        log_warn("drain_timeout_s reached: %zu connections still open, stopping",
                 s->nconns);
    else
        log_notice("drained");
    server_stop(s);
}

void server_drain(struct server *s)
{
    if (s->drain_asked) { /* a second signal: stop now */
        server_stop(s);
        return;
    }
    s->drain_asked = 1;
    if (s->ctx)
        lws_cancel_service(s->ctx);
}

void server_set_reload(struct server *s, struct config *live, server_load_fn load,
                       void *arg)
{
    s->live = live;
    s->load = load;
    s->load_arg = arg;
}

void server_reload(struct server *s)
{
    s->reload_asked = 1;
    if (s->ctx)
        lws_cancel_service(s->ctx);
}
