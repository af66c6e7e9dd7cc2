/*
 * hub_life.c - what a group keeps between its sessions (see hub.h, "between
 * sessions"): the rota of the coming sessions' roles, the next session's
 * date and link, case proposals, private exposé drafts and debriefs posted
 * in advance.
 *
 * Invariants:
 *   - Pure: libc only (and libuuid through auth.h for proposal ids); no
 *     I/O, no clock (now_ms is passed). ONLY used from the lws service
 *     thread (and at start-up, to load).
 *   - Every text is bounded: a rota of HUB_ROTA_MAX entries, at most
 *     HUB_PROPOSALS_MAX proposals (HUB_PROPOSALS_PER_MEMBER per member) of
 *     HUB_PROPOSAL_TITLE_MAX + HUB_PROPOSAL_TEXT_MAX code points, one draft
 *     per member of long_text_max_chars, one advance comment per plan item
 *     of text_max_chars. A group holds at most a few hundred kilobytes here.
 *   - Text that goes (a proposal withdrawn or spent, a draft used or
 *     deleted) is wiped in memory before it is freed; the store deletes its
 *     rows under secure_delete.
 *   - A draft is its author's alone: nothing here shows it to anyone else
 *     (the encoders in protocol.c take the caller's id).
 *
 * Expected load: a handful of calls per group between sessions; every
 * operation is O(members + proposals).
 */
#include "hub.h"

#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "errors.h"
#include "util.h"

/* Zeroes a text before freeing it. */
static void life_wipe(char **text)
{
    if (*text) {
        memset(*text, 0, strlen(*text));
        free(*text);
        *text = NULL;
    }
}

static bool life_blank(const char *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

/* Checks a member's text: CODEV_E_TEXT_EMPTY when NULL or blank (unless
 * optional), CODEV_E_TEXT_TOO_LONG over max code points. */
static int life_text_check(const char *s, size_t max, bool optional)
{
    if (!s || life_blank(s))
        return optional ? 0 : CODEV_E_TEXT_EMPTY;
    return room_utf8_chars(s) > max ? CODEV_E_TEXT_TOO_LONG : 0;
}

static bool life_is_member(const struct hub_group *g, const char *id)
{
    const struct hub_member *m = hub_member_find(g, id);

    return m && !m->removed;
}

bool hub_session_is_open(const struct hub_group *g)
{
    return g->room && g->room->step != STEP_CLOSED;
}

/* ---- rota ------------------------------------------------------------------- */

int hub_rota_set(struct hub_group *g, const char *const *clients,
                 const char *const *facilitators, size_t n)
{
    if (n > HUB_ROTA_MAX)
        return CODEV_E_BAD_FIELD;
    for (size_t i = 0; i < n; i++) {
        if (clients[i] && clients[i][0] && !life_is_member(g, clients[i]))
            return CODEV_E_UNKNOWN_MEMBER;
        if (facilitators[i] && facilitators[i][0] && !life_is_member(g, facilitators[i]))
            return CODEV_E_UNKNOWN_MEMBER;
    }
    memset(g->rota, 0, sizeof(g->rota));
    for (size_t i = 0; i < n; i++) {
        if (clients[i])
            memcpy(g->rota[i].client, clients[i], strlen(clients[i]) + 1);
        if (facilitators[i])
            memcpy(g->rota[i].facilitator, facilitators[i], strlen(facilitators[i]) + 1);
    }
    g->nrota = n;
    return 0;
}

/* ---- next session ------------------------------------------------------------ */

static bool life_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int life_num(const char *s, size_t n)
{
    int v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static bool life_date_ok(const char *d)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, day, max;

    if (!d || strlen(d) != 10 || d[4] != '-' || d[7] != '-' || !life_digits(d, 4) ||
        !life_digits(d + 5, 2) || !life_digits(d + 8, 2))
        return false;
    y = life_num(d, 4);
    m = life_num(d + 5, 2);
    day = life_num(d + 8, 2);
    if (y < 2000 || y > 2999 || m < 1 || m > 12)
        return false;
    max = days[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    return day >= 1 && day <= max;
}

static bool life_time_ok(const char *t)
{
    return t && strlen(t) == 5 && t[2] == ':' && life_digits(t, 2) &&
           life_digits(t + 3, 2) && life_num(t, 2) < 24 && life_num(t + 3, 2) < 60;
}

static bool life_link_ok(const char *l)
{
    size_t n = strlen(l), scheme;

    if (n > HUB_LINK_MAX)
        return false;
    if (strncmp(l, "https://", 8) == 0)
        scheme = 8;
    else if (strncmp(l, "http://", 7) == 0)
        scheme = 7;
    else
        return false;
    if (n == scheme || l[scheme] == '/' || l[scheme] == '?' || l[scheme] == '#')
        return false; /* no host */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)l[i];
        /* No space, control or non-ASCII byte: a URL as a browser sends it,
         * nothing that could break a calendar line or a page attribute. */
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' ||
            c == '`')
            return false;
    }
    return true;
}

int hub_next_check(const char *date, const char *time, int duration_min, const char *link)
{
    if (!life_date_ok(date) || !life_time_ok(time) ||
        duration_min < HUB_NEXT_DURATION_MIN || duration_min > HUB_NEXT_DURATION_MAX ||
        (link && !life_link_ok(link)))
        return CODEV_E_BAD_FIELD;
    return 0;
}

int hub_next_set(struct hub_group *g, const char *date, const char *time,
                 int duration_min, const char *link, const char *tz, int64_t start_ms)
{
    struct hub_next *n = &g->next_session;
    char *copy = util_strdup_or_null(link);

    if (link && !copy)
        return CODEV_E_INTERNAL;
    free(n->link);
    n->link = copy;
    memcpy(n->date, date, sizeof(n->date) - 1);
    n->date[sizeof(n->date) - 1] = '\0';
    memcpy(n->time, time, sizeof(n->time) - 1);
    n->time[sizeof(n->time) - 1] = '\0';
    n->duration_min = duration_min;
    n->start_ms = start_ms;
    n->set = true;
    n->sequence++;
    if (tz) {
        size_t len = strlen(tz);
        if (len > HUB_TZ_MAX)
            len = HUB_TZ_MAX;
        memcpy(g->time_zone, tz, len);
        g->time_zone[len] = '\0';
    }
    return 0;
}

void hub_next_clear(struct hub_group *g)
{
    struct hub_next *n = &g->next_session;

    free(n->link);
    n->link = NULL;
    n->set = false;
    n->date[0] = n->time[0] = '\0';
    n->duration_min = 0;
    n->start_ms = 0;
    n->sequence++;
}

/* ---- proposals --------------------------------------------------------------- */

static int proposal_texts_check(const char *title, const char *text)
{
    int rc = life_text_check(title, HUB_PROPOSAL_TITLE_MAX, false);

    return rc ? rc : life_text_check(text, HUB_PROPOSAL_TEXT_MAX, true);
}

int hub_proposal_add(struct hub_group *g, const char *author, const char *title,
                     const char *text, int64_t now_ms, char id[AUTH_UUID_LEN + 1])
{
    struct hub_proposal *p;
    size_t mine = 0;
    int rc = proposal_texts_check(title, text);

    if (rc)
        return rc;
    for (size_t i = 0; i < g->nproposals; i++)
        mine += strcmp(g->proposals[i].author, author) == 0;
    if (g->nproposals >= HUB_PROPOSALS_MAX || mine >= HUB_PROPOSALS_PER_MEMBER)
        return CODEV_E_TOO_MANY_PROPOSALS;
    if (array_grow((void **)&g->proposals, &g->proposals_cap, g->nproposals + 1,
                   sizeof(*p)))
        return CODEV_E_INTERNAL;
    p = &g->proposals[g->nproposals];
    memset(p, 0, sizeof(*p));
    p->title = strdup(title);
    p->text = life_blank(text) ? NULL : strdup(text);
    if (!p->title || (!life_blank(text) && !p->text)) {
        free(p->title);
        free(p->text);
        return CODEV_E_INTERNAL;
    }
    auth_uuid_new(p->id);
    memcpy(p->author, author, strlen(author) + 1);
    p->created_ms = p->updated_ms = now_ms;
    if (hub_session_is_open(g))
        memcpy(p->during, g->room->session_id, sizeof(p->during));
    memcpy(id, p->id, AUTH_UUID_LEN + 1);
    g->nproposals++;
    return 0;
}

struct hub_proposal *hub_proposal_find(struct hub_group *g, const char *id)
{
    for (size_t i = 0; id && i < g->nproposals; i++)
        if (strcmp(g->proposals[i].id, id) == 0)
            return &g->proposals[i];
    return NULL;
}

int hub_proposal_edit(struct hub_proposal *p, const char *title, const char *text,
                      int64_t now_ms)
{
    char *t, *x = NULL;
    int rc = proposal_texts_check(title, text);

    if (rc)
        return rc;
    t = strdup(title);
    if (!life_blank(text))
        x = strdup(text);
    if (!t || (!life_blank(text) && !x)) {
        free(t);
        free(x);
        return CODEV_E_INTERNAL;
    }
    life_wipe(&p->title);
    life_wipe(&p->text);
    p->title = t;
    p->text = x;
    p->updated_ms = now_ms;
    return 0;
}

void hub_proposal_remove(struct hub_group *g, struct hub_proposal *p)
{
    size_t i = (size_t)(p - g->proposals);

    life_wipe(&p->title);
    life_wipe(&p->text);
    memmove(p, p + 1, (g->nproposals - i - 1) * sizeof(*p));
    g->nproposals--;
}

int hub_proposal_choose(struct hub_group *g, struct hub_proposal *p)
{
    if (!hub_session_is_open(g))
        return CODEV_E_NO_SESSION;
    if (strcmp(p->chosen, g->room->session_id) == 0)
        return CODEV_E_ALREADY_DONE;
    memcpy(p->chosen, g->room->session_id, sizeof(p->chosen));
    return 0;
}

/* ---- drafts ------------------------------------------------------------------ */

const struct hub_draft *hub_draft_find(const struct hub_group *g, const char *author)
{
    for (size_t i = 0; author && i < g->ndrafts; i++)
        if (strcmp(g->drafts[i].author, author) == 0)
            return &g->drafts[i];
    return NULL;
}

int hub_draft_set(struct hub *h, struct hub_group *g, const char *author,
                  const char *text, int64_t now_ms)
{
    struct hub_draft *d = (struct hub_draft *)hub_draft_find(g, author);
    char *copy;
    int rc = life_text_check(text, h->room_limits.long_text_max_chars, false);

    if (rc)
        return rc;
    if (!(copy = strdup(text)))
        return CODEV_E_INTERNAL;
    if (!d) {
        if (array_grow((void **)&g->drafts, &g->drafts_cap, g->ndrafts + 1, sizeof(*d))) {
            free(copy);
            return CODEV_E_INTERNAL;
        }
        d = &g->drafts[g->ndrafts++];
        memset(d, 0, sizeof(*d));
        memcpy(d->author, author, strlen(author) + 1);
    }
    life_wipe(&d->text);
    d->text = copy;
    d->updated_ms = now_ms;
    return 0;
}

int hub_draft_remove(struct hub_group *g, const char *author)
{
    struct hub_draft *d = (struct hub_draft *)hub_draft_find(g, author);
    size_t i;

    if (!d)
        return CODEV_E_NOT_FOUND;
    i = (size_t)(d - g->drafts);
    life_wipe(&d->text);
    memmove(d, d + 1, (g->ndrafts - i - 1) * sizeof(*d));
    g->ndrafts--;
    return 0;
}

/* ---- debriefs in advance ------------------------------------------------------ */

int hub_debrief_advance(struct hub *h, struct hub_group *g, const char *member,
                        const char *plan_id, int outcome, const char *comment)
{
    struct hub_plan *p = NULL;
    char *copy = NULL;
    int rc;

    for (size_t i = 0; plan_id && i < g->nplans; i++)
        if (hub_plan_waiting(&g->plans[i]) && strcmp(g->plans[i].id, plan_id) == 0)
            p = &g->plans[i];
    if (!p)
        return CODEV_E_UNKNOWN_ACTION;
    if (strcmp(p->client, member) != 0)
        return CODEV_E_NOT_EARLIER_CLIENT;
    if (outcome < 0 || outcome >= OUTCOME_COUNT)
        return CODEV_E_BAD_FIELD;
    if ((rc = life_text_check(comment, h->room_limits.text_max_chars, true)))
        return rc;
    if (hub_session_is_open(g))
        return CODEV_E_SESSION_OPEN;
    if (!life_blank(comment) && !(copy = strdup(comment)))
        return CODEV_E_INTERNAL;
    life_wipe(&p->pre_comment);
    p->pre_comment = copy;
    p->pre_outcome = outcome;
    p->pre_debriefed = true;
    return 0;
}

/* ---- session life cycle -------------------------------------------------------- */

void hub_life_session_opened(struct hub_group *g)
{
    if (!g->next_session.set)
        return;
    hub_next_clear(g);
    g->next_session.slot++;
}

void hub_life_session_closed(struct hub_group *g)
{
    const struct room *r = g->room;

    if (!r)
        return;
    if (g->nrota) {
        memmove(g->rota, g->rota + 1, (g->nrota - 1) * sizeof(g->rota[0]));
        g->nrota--;
        memset(&g->rota[g->nrota], 0, sizeof(g->rota[0]));
    }
    for (size_t i = g->nproposals; i-- > 0;) {
        struct hub_proposal *p = &g->proposals[i];
        bool chosen = strcmp(p->chosen, r->session_id) == 0;
        bool before = strcmp(p->during, r->session_id) != 0;
        if (chosen || (before && g->retention == HUB_RETENTION_PERSONAL))
            hub_proposal_remove(g, p);
        else if (before)
            p->chosen[0] = '\0';
    }
    for (size_t c = 0; c < r->nconsultations; c++) {
        int client = r->consultations[c].client;
        if (client >= 0 && r->consultations[c].problem)
            hub_draft_remove(g, r->members[client].id);
    }
}

/* ---- loading, copies, freeing ------------------------------------------------- */

int hub_proposal_insert(struct hub_group *g, const struct hub_proposal *src)
{
    struct hub_proposal *p;

    if (!src->title || array_grow((void **)&g->proposals, &g->proposals_cap,
                                  g->nproposals + 1, sizeof(*p)))
        return CODEV_E_INTERNAL;
    p = &g->proposals[g->nproposals];
    *p = *src;
    p->title = strdup(src->title);
    p->text = util_strdup_or_null(src->text);
    if (!p->title || (src->text && !p->text)) {
        free(p->title);
        free(p->text);
        return CODEV_E_INTERNAL;
    }
    g->nproposals++;
    return 0;
}

int hub_draft_insert(struct hub_group *g, const struct hub_draft *src)
{
    struct hub_draft *d;

    if (!src->text ||
        array_grow((void **)&g->drafts, &g->drafts_cap, g->ndrafts + 1, sizeof(*d)))
        return CODEV_E_INTERNAL;
    d = &g->drafts[g->ndrafts];
    *d = *src;
    if (!(d->text = strdup(src->text)))
        return CODEV_E_INTERNAL;
    g->ndrafts++;
    return 0;
}

void hub_life_free(struct hub_group *g)
{
    for (size_t i = 0; i < g->nproposals; i++) {
        life_wipe(&g->proposals[i].title);
        life_wipe(&g->proposals[i].text);
    }
    for (size_t i = 0; i < g->ndrafts; i++)
        life_wipe(&g->drafts[i].text);
    for (size_t i = 0; i < g->nplans; i++)
        life_wipe(&g->plans[i].pre_comment);
    free(g->proposals);
    free(g->drafts);
    free(g->next_session.link);
    g->proposals = NULL;
    g->drafts = NULL;
    g->next_session.link = NULL;
    g->nproposals = g->proposals_cap = g->ndrafts = g->drafts_cap = 0;
}

int hub_life_copy(struct hub_group *dst, const struct hub_group *src)
{
    memcpy(dst->time_zone, src->time_zone, sizeof(dst->time_zone));
    memcpy(dst->rota, src->rota, sizeof(dst->rota));
    dst->nrota = src->nrota;
    dst->next_session = src->next_session;
    dst->next_session.link = util_strdup_or_null(src->next_session.link);
    if (src->next_session.link && !dst->next_session.link)
        return CODEV_E_INTERNAL;
    for (size_t i = 0; i < src->nproposals; i++)
        if (hub_proposal_insert(dst, &src->proposals[i]))
            return CODEV_E_INTERNAL;
    for (size_t i = 0; i < src->ndrafts; i++)
        if (hub_draft_insert(dst, &src->drafts[i]))
            return CODEV_E_INTERNAL;
    return 0;
}
