/*
 * hub_session.c - the room of each group (see hub.h): opening a session
 * from the group's members and plans, hub_sync after every accepted
 * command (facilitator, observers, removals and debriefs back into the
 * group), the close (the action plans kept, the text-free room under
 * retention "personal"), the closed room rebuilt at start-up, and
 * attaching or replacing a room the store rebuilt.
 *
 * Invariants:
 *   - A group has at most one room that is not closed; open_sessions and
 *     the creator's session count (hub_creator.c) count the groups whose
 *     room is counted (room_counted), and change together.
 *   - At the close, under retention "personal", the room is stripped in
 *     place: card text, problems, contracts, debriefs and the floor balance
 *     are wiped before they are freed, and the room's version moves so that
 *     no view cached before is served.
 *   - A room attached or replaced is sized by the hub's room_limits, as a
 *     room opened here.
 *   - A group holds the plan items still waiting (at most
 *     plans_waiting_max per client, enforced at each close) and those
 *     debriefed or expired since its records last all committed; g->plans
 *     is in ordinal order.
 *
 * Expected load: one open and one close per session; hub_sync runs after
 * every accepted command and is O(members + debriefs x plans). ONLY used
 * from the lws service thread (and at start-up, to load).
 */
#include "hub.h"

#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "errors.h"
#include "hub_internal.h"
#include "util.h"

bool hub_plan_waiting(const struct hub_plan *p)
{
    return !p->debriefed && !p->expired;
}

int hub_session_open(struct hub *h, struct hub_group *g, int64_t now_ms)
{
    char session_id[AUTH_UUID_LEN + 1];
    int64_t budgets[STEP_COUNT];
    struct room *r;

    if (g->room && g->room->step != STEP_CLOSED)
        return CODEV_E_SESSION_OPEN;
    if (h->open_sessions >= h->sessions_max)
        return CODEV_E_TOO_MANY_SESSIONS;
    const struct hub_creator *mine = hub_creator_find(h, g->creator);
    if (mine && mine->sessions >= h->sessions_per_ip)
        return CODEV_E_TOO_MANY_SESSIONS;
    /* The group's template (hub_settings.c): the format's defaults as the
     * facilitator adjusted them. */
    hub_group_budgets_ms(g, budgets);
    auth_uuid_new(session_id);
    r = room_new(session_id, budgets, &h->room_limits, now_ms);
    if (!r)
        return CODEV_E_INTERNAL;
    for (size_t i = 0; i < g->nmembers; i++) {
        const struct hub_member *m = &g->members[i];
        if (m->removed)
            continue;
        int idx = room_member_add(r, m->id, m->name, strcmp(m->id, g->facilitator) == 0,
                                  m->observer);
        if (idx < 0)
            goto fail;
        room_member_form_set(r, idx, m->form);
    }
    for (size_t i = 0; i < g->nplans; i++) {
        const struct hub_plan *p = &g->plans[i];
        if (!hub_plan_waiting(p) || room_member_find(r, p->client) < 0)
            continue;
        if (room_debrief_add(r, p->id, p->client, p->text, p->due, p->first_step) < 0)
            goto fail;
    }
    g->opened_once = true;
    g->room_active_ms = now_ms;
    if (hub_session_attach(h, g, r))
        return CODEV_E_SESSION_OPEN; /* checked above: not reached */
    hub_life_session_opened(g);
    return 0;
fail:
    room_free(r);
    return CODEV_E_INTERNAL;
}

static struct hub_member *hub_member_mut(struct hub_group *g, const char *id)
{
    return (struct hub_member *)hub_member_find(g, id);
}

void hub_plan_clear(struct hub_plan *p)
{
    if (p->pre_comment)
        memset(p->pre_comment, 0, strlen(p->pre_comment));
    free(p->pre_comment);
    free(p->text);
    free(p->due);
    free(p->first_step);
    p->text = p->due = p->first_step = p->pre_comment = NULL;
}

/*
 * Each client keeps at most h->plans_waiting_max items waiting, a removed
 * member none (nobody can debrief them any more): walking from the newest
 * (g->plans is in ordinal order), a client's items beyond that many
 * expire, marked with the session sid whose close expired them
 * (hub_session_replace makes them wait again should that close roll back).
 * O(plans x distinct clients + distinct clients x members).
 */
static void hub_plans_cap(const struct hub *h, struct hub_group *g, const char *sid)
{
    struct {
        const char *client;
        uint32_t n, max;
    } seen[HUB_MEMBERS_STORED_MAX];
    size_t nseen = 0;

    for (size_t i = g->nplans; i-- > 0;) {
        struct hub_plan *p = &g->plans[i];
        size_t k = 0;

        if (!hub_plan_waiting(p))
            continue;
        while (k < nseen && strcmp(seen[k].client, p->client) != 0)
            k++;
        if (k == nseen) {
            if (nseen == HUB_MEMBERS_STORED_MAX)
                continue; /* not reached: clients are the group's members */
            const struct hub_member *m = hub_member_find(g, p->client);
            seen[nseen].client = p->client;
            seen[nseen].max = m && m->removed ? 0 : h->plans_waiting_max;
            seen[nseen++].n = 0;
        }
        if (++seen[k].n <= seen[k].max)
            continue;
        p->expired = true;
        memcpy(p->expired_in, sid, sizeof(p->expired_in));
    }
}

/* Keeps the action plan of every consultation of a closed room, then
 * expires what passes a client's cap. */
static void hub_keep_plans(const struct hub *h, struct hub_group *g, const struct room *r)
{
    for (size_t i = 0; i < r->ncards; i++) {
        const struct room_card *c = &r->cards[i];
        const struct room_consultation *k;
        struct hub_plan *p;

        if (c->type != CARD_ACTION || c->removed || c->withdrawn || c->consultation < 0)
            continue;
        k = &r->consultations[c->consultation];
        if (k->client < 0)
            continue;
        if (array_grow((void **)&g->plans, &g->plans_cap, g->nplans + 1, sizeof(*p)))
            break;
        p = &g->plans[g->nplans];
        memset(p, 0, sizeof(*p));
        p->text = strdup(c->text);
        p->due = util_strdup_or_null(c->due);
        p->first_step = util_strdup_or_null(c->first_step);
        if (!p->text || (c->due && !p->due) || (c->first_step && !p->first_step)) {
            hub_plan_clear(p);
            break;
        }
        auth_uuid_new(p->id);
        memcpy(p->client, r->members[k->client].id, AUTH_UUID_LEN + 1);
        memcpy(p->session, r->session_id, sizeof(p->session));
        p->consultation = c->consultation;
        p->ordinal = g->plans_next_ordinal++;
        g->nplans++;
    }
    hub_plans_cap(h, g, r->session_id);
}

size_t hub_plans_settle(struct hub_group *g)
{
    size_t kept = 0, gone;

    for (size_t i = 0; i < g->nplans; i++) {
        if (!hub_plan_waiting(&g->plans[i])) {
            hub_plan_clear(&g->plans[i]);
            continue;
        }
        if (kept != i)
            g->plans[kept] = g->plans[i];
        kept++;
    }
    gone = g->nplans - kept;
    g->nplans = kept;
    if (!kept) { /* a group between sessions holds nothing for its plans */
        free(g->plans);
        g->plans = NULL;
        g->plans_cap = 0;
    }
    return gone;
}

void hub_plans_count(const struct hub_group *g, size_t *waiting, size_t *settling)
{
    size_t w = 0;

    for (size_t i = 0; i < g->nplans; i++)
        w += hub_plan_waiting(&g->plans[i]);
    *waiting = w;
    *settling = g->nplans - w;
}

struct room *hub_closed_room_new(const struct hub_closed *c)
{
    struct room *r = room_new(c->session_id, c->budgets, c->limits, c->opened_ms);

    if (!r)
        return NULL;
    r->step = STEP_CLOSED;
    r->seq = c->seq;
    r->opening_budget_ms = c->opening_planned_ms;
    r->opening_used_ms = c->opening_used_ms;
    clock_init(&r->clock, 0, 0);
    for (size_t i = 0; i < c->nmembers; i++) {
        const struct hub_closed_member *m = &c->members[i];
        int idx = room_member_add(r, m->id, m->name, m->facilitator, m->observer);
        if (idx != (int)i)
            goto fail; /* a duplicate id, or over the limits */
        r->members[idx].removed = m->removed;
    }
    if (c->nconsultations && array_grow((void **)&r->consultations, &r->consultations_cap,
                                        c->nconsultations, sizeof(*r->consultations)))
        goto fail;
    for (size_t i = 0; i < c->nconsultations; i++) {
        struct room_consultation *k = &r->consultations[i];
        memset(k, 0, sizeof(*k));
        k->client = -1;
        for (size_t m = 0; c->consultations[i].client[0] && m < r->nmembers; m++)
            if (strcmp(r->members[m].id, c->consultations[i].client) == 0)
                k->client = (int)m;
        for (int s = STEP_TOPIC; s <= STEP_LEARNING; s++) {
            k->step_budget_ms[s] = c->consultations[i].planned_ms[s];
            k->step_used_ms[s] = c->consultations[i].used_ms[s];
        }
        r->nconsultations++;
    }
    /* Hidden placeholders keep the card ids of the session taken. */
    if (c->ncards &&
        array_grow((void **)&r->cards, &r->cards_cap, c->ncards, sizeof(*r->cards)))
        goto fail;
    for (size_t i = 0; i < c->ncards; i++) {
        struct room_card *k = &r->cards[i];
        memset(k, 0, sizeof(*k));
        k->id = (uint32_t)i + 1;
        k->consultation = -1;
        k->removed = true;
        k->text = calloc(1, 1);
        if (!k->text)
            goto fail;
        r->ncards++;
    }
    return r;
fail:
    room_free(r);
    return NULL;
}

const struct room *hub_room_of(const struct hub_group *g, const char *member_id)
{
    if (!g->room || g->room->step != STEP_CLOSED)
        return g->room;
    return room_member_find(g->room, member_id) >= 0 ? g->room : NULL;
}

/* Overwrites a string's bytes before it is freed: the text leaves the heap
 * too, not only the room. */
static void hub_wipe(char **text)
{
    if (!*text)
        return;
    memset(*text, 0, strlen(*text));
    free(*text);
    *text = NULL;
}

/*
 * Makes g's closed room its text-free version, in place (the same room, so
 * that pointers and member indexes held elsewhere stay valid): cards become
 * hidden placeholders (their ids stay taken), problems, contracts, acks,
 * refocus counts, hands, debriefs and the floor balance go, and the clock is
 * reset, exactly as hub_closed_room_new builds it at start-up.
 */
static void hub_room_strip(struct hub_group *g)
{
    struct room *r = g->room;

    for (size_t i = 0; i < r->ncards; i++) {
        struct room_card *c = &r->cards[i];
        if (c->text)
            memset(c->text, 0, strlen(c->text)); /* an empty text, for who reads it */
        hub_wipe(&c->answer);
        hub_wipe(&c->due);
        hub_wipe(&c->first_step);
        c->removed = true;
        c->flagged = c->marked = false;
    }
    for (size_t i = 0; i < r->nconsultations; i++) {
        struct room_consultation *k = &r->consultations[i];
        hub_wipe(&k->problem);
        hub_wipe(&k->contract);
        hub_wipe(&k->retained);
        k->acks = 0;
        k->recadrages = 0;
        k->last_recadrage_ms = 0;
    }
    for (size_t i = 0; i < r->ndebriefs; i++) {
        hub_wipe(&r->debriefs[i].text);
        hub_wipe(&r->debriefs[i].due);
        hub_wipe(&r->debriefs[i].first_step);
        hub_wipe(&r->debriefs[i].comment);
    }
    r->ndebriefs = 0;
    for (size_t i = 0; i < r->nmembers; i++) {
        r->members[i].hand = 0;
        /* The balance is in the history (session_floor), not the closed room. */
        memset(r->members[i].floor, 0, sizeof(r->members[i].floor));
    }
    clock_init(&r->clock, 0, 0);
    r->version++; /* a view cached before the strip holds the text: never serve it */
}

void hub_sync(struct hub *h, struct hub_group *g)
{
    struct room *r = g->room;

    if (!r)
        return;
    if (r->facilitator >= 0)
        memcpy(g->facilitator, r->members[r->facilitator].id, AUTH_UUID_LEN + 1);
    for (size_t i = 0; i < r->nmembers; i++) {
        struct hub_member *m = hub_member_mut(g, r->members[i].id);
        if (!m)
            continue;
        m->observer = r->members[i].observer;
        if (r->members[i].removed && !m->removed) {
            char invite[AUTH_SECRET_LEN + 1];
            m->removed = true;
            /* The removed member may still hold the invite: it dies with
             * their key. Should the generator fail, the old hash stays
             * (hub_invite_rotate leaves it), as after a failed POST /invite. */
            if (!hub_invite_rotate(g, invite))
                g->invite_rotated = true;
        }
    }
    for (size_t i = 0; i < r->ndebriefs; i++) {
        if (r->debriefs[i].outcome < 0)
            continue;
        for (size_t j = 0; j < g->nplans; j++) {
            struct hub_plan *p = &g->plans[j];
            if (strcmp(p->id, r->debriefs[i].id) != 0)
                continue;
            p->debriefed = true;
            /* The room's debrief is the one kept now (with the plan, at the
             * close): the copy posted in advance goes. */
            if (p->pre_comment) {
                memset(p->pre_comment, 0, strlen(p->pre_comment));
                free(p->pre_comment);
                p->pre_comment = NULL;
            }
            p->pre_debriefed = false;
        }
    }
    if (r->step == STEP_CLOSED && g->room_counted) {
        g->room_counted = false;
        h->open_sessions--;
        hub_creator_count(h, g->creator, 0, -1);
        hub_keep_plans(h, g, r);
        hub_life_session_closed(g);
        if (g->retention == HUB_RETENTION_PERSONAL)
            hub_room_strip(g);
    }
}

void hub_room_forms_sync(struct hub_group *g)
{
    struct room *r = g->room;

    for (size_t i = 0; r && i < r->nmembers; i++) {
        const struct hub_member *m = hub_member_find(g, r->members[i].id);
        if (m)
            room_member_form_set(r, (int)i, m->form);
    }
}

int hub_session_attach(struct hub *h, struct hub_group *g, struct room *r)
{
    if (g->room && g->room->step != STEP_CLOSED) {
        room_free(r);
        return CODEV_E_SESSION_OPEN;
    }
    room_free(g->room);
    /* A rebuilt room was replayed without the session budget (the journal
     * keeps the limits that shape commands, not the budget): it holds from
     * here on, counted over everything replayed. */
    r->limits.items_max = h->room_limits.items_max;
    r->limits.bytes_max = h->room_limits.bytes_max;
    r->limits.rewrites_max = h->room_limits.rewrites_max;
    r->limits.journal_bytes_max = h->room_limits.journal_bytes_max;
    r->limits.member_share = h->room_limits.member_share;
    /* The group's memory of its last round (a rebuilt room knows its own
     * rounds; the group's is as recent or more). */
    if (g->round_last[0])
        room_round_seed_set(r, g->round_last);
    g->room = r;
    hub_room_forms_sync(g);
    g->opened_once = true;
    g->room_counted = true;
    h->open_sessions++;
    hub_creator_count(h, g->creator, 0, 1);
    return 0;
}

int hub_session_replace(struct hub *h, struct hub_group *g, struct room *r)
{
    char sid[ROOM_ID_LEN + 1] = "";
    int rc;

    if (g->room) {
        memcpy(sid, g->room->session_id, sizeof(sid));
        if (g->room_counted) {
            g->room_counted = false;
            h->open_sessions--;
            hub_creator_count(h, g->creator, 0, -1);
        }
        room_free(g->room);
        g->room = NULL;
    }
    /* Plans kept by a close that did not commit; those it expired wait
     * again (the close, when replayed, expires them anew). */
    for (size_t i = 0; sid[0] && i < g->nplans;) {
        if (strcmp(g->plans[i].session, sid) != 0) {
            if (g->plans[i].expired && strcmp(g->plans[i].expired_in, sid) == 0) {
                g->plans[i].expired = false;
                g->plans[i].expired_in[0] = '\0';
            }
            i++;
            continue;
        }
        hub_plan_clear(&g->plans[i]);
        memmove(&g->plans[i], &g->plans[i + 1], (g->nplans - i - 1) * sizeof(*g->plans));
        g->nplans--;
    }
    if (!r)
        return 0;
    rc = hub_session_attach(h, g, r);
    if (rc)
        return rc;
    for (size_t i = 0; i < r->nmembers; i++) {
        struct hub_member *m = hub_member_mut(g, r->members[i].id);
        if (m && m->removed && !r->members[i].removed)
            m->removed = false;
    }
    /* Debriefs that did not commit: the plan waits for its debrief again. */
    for (size_t i = 0; i < r->ndebriefs; i++)
        for (size_t j = 0; r->debriefs[i].outcome < 0 && j < g->nplans; j++)
            if (strcmp(g->plans[j].id, r->debriefs[i].id) == 0)
                g->plans[j].debriefed = false;
    hub_sync(h, g);
    return 0;
}
