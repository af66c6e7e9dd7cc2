/*
 * cluster.c - the edge's half of a cluster (store.h, "a cluster"; config
 * node_id): a request or a WebSocket for a group this node does not have
 * in memory takes the group over (store_group_claim: its lease, then the
 * group and its open session replayed from the journal), or is told that
 * another node holds it (`moved`: HTTP 503, so that nginx's
 * proxy_next_upstream tries the next node; README, Deploy).
 *
 * Invariants:
 *   - Without a cluster, cluster_group is hub_group_find.
 *   - A group taken over is in the hub with its lease in the store's map
 *     before anything of it is submitted; a session whose journal ends in
 *     its close (its node died between the two records) is closed here,
 *     as store_load does at start-up.
 *   - The takeover's read waits on PostgreSQL on the loop thread (a few
 *     milliseconds for a session of hundreds of records; logged with its
 *     time): once per group moved, never per command.
 * Expected load: a claim per group per failover; zero in steady state.
 * ONLY used from the lws service thread.
 */
#include "server_internal.h"

#include <string.h>

#include "errors.h"
#include "log.h"

struct hub_group *cluster_group(struct server *s, const char *group_id, int *err)
{
    struct hub_group *g = group_id ? hub_group_find(s->hub, group_id) : NULL;
    int64_t t0, now = server_now_ms(s);
    bool finalize;
    int rc;

    *err = 0;
    if (g)
        return g;
    if (!group_id || !store_cluster(s->store) || strlen(group_id) != AUTH_UUID_LEN) {
        *err = CODEV_E_UNKNOWN_GROUP;
        return NULL;
    }
    if (s->draining) {
        *err = CODEV_E_MOVED; /* this node is leaving: the next one takes it */
        return NULL;
    }
    /* Each try reads PostgreSQL on this thread, and a stranger can name
     * any number of group ids that exist nowhere: the whole node tries at
     * most cluster_claims_per_s a second (burst: twice). A failover's
     * clients over it are told rate_limited and come back. */
    if (!rate_bucket_take(&s->claims, 60.0 * s->cfg->cluster_claims_per_s,
                          2.0 * s->cfg->cluster_claims_per_s, server_mono_ms(), NULL)) {
        metrics_add(MC_CLUSTER_CLAIMS_REFUSED, 1);
        *err = CODEV_E_RATE_LIMITED;
        return NULL;
    }
    t0 = server_mono_ms();
    rc = store_group_claim(s->store, s->hub, group_id, now, &g, &finalize);
    if (rc) {
        if (rc == CODEV_E_MOVED)
            log_info("group %s: held by another node (moved)", group_id);
        else if (rc != CODEV_E_UNKNOWN_GROUP)
            log_warn("group %s: not taken over: %s", group_id, codev_err_name(rc));
        *err = rc;
        return NULL;
    }
    metrics_add(MC_CLUSTER_TAKEOVERS, 1);
    log_notice("group %s: taken over in %lld ms (session %s, seq %llu)", g->id,
               (long long)(server_mono_ms() - t0), g->room ? g->room->session_id : "none",
               g->room ? (unsigned long long)g->room->seq : 0ULL);
    if (finalize && g->room) {
        uint64_t token = ++s->next_token;
        if (store_submit_session_close(s->store, g, now, token) ||
            commit_wait_push(s, token, WAITS_NONE, NULL, NULL))
            log_err("group %s: close of its session not journaled", g->id);
    }
    timer_group_update(s, g);
    return g;
}

/* store_lease_lost's callback: another node took group_id while this one
 * was paused or cut off. Dropped now (or once its records in flight, which
 * the store refuses with moved, are back). */
static void cluster_lost(void *arg, const char *group_id)
{
    struct server *s = arg;
    struct hub_group *g = hub_group_find(s->hub, group_id);
    struct group_edge *e = g ? g->edge : NULL;

    if (!g) {
        store_lease_forget(s->store, group_id);
        return;
    }
    log_warn("group %s: taken by another node meanwhile (lease lost)", group_id);
    if (e && e->pending)
        e->moved = true; /* dropped once its records are back (commit.c) */
    else
        dispatch_group_moved(s, g);
}

void cluster_sweep(struct server *s)
{
    if (s->store && store_cluster(s->store))
        store_lease_lost(s->store, cluster_lost, s);
}
