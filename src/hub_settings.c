/*
 * hub_settings.c - what the group's settings page changes besides the
 * retention and the warning (see hub.h, "the group's settings page"): the
 * session template (each step's minutes, from the format's defaults), the
 * ground rules shown at the opening, and removing a member between
 * sessions.
 *
 * Invariants:
 *   - Pure: libc only (and auth.h's generator, through hub_invite_rotate,
 *     for the invite a removal replaces); no I/O, no clock. ONLY used from
 *     the lws service thread (and at start-up, to load).
 *   - A template always holds a value HUB_STEP_MIN_MIN..HUB_STEP_MIN_MAX for
 *     every step from the opening to the learning, and the whole session it
 *     plans stays within HUB_SESSION_MIN_MAX minutes; setters check before
 *     they change anything.
 *   - A group holds at most HUB_RULES_MAX rules of HUB_RULE_MAX_CHARS code
 *     points, each one line (no control character): the store keeps them
 *     one per line.
 *
 * Expected load: a handful of calls per group between sessions; every
 * operation is O(steps + rules + members).
 */
#include "hub.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"

/* PRACTICE.md "Default step budgets", in minutes, indexed by enum step
 * (closed has none). A half-day holds two consultations of the 120-minute
 * steps. */
static const struct {
    int format;
    int consultations;
    int minutes[STEP_COUNT];
} formats[] = {
    {45, 1, {2, 3, 5, 10, 3, 15, 4, 3, 0}},
    {90, 1, {10, 5, 10, 20, 5, 25, 8, 7, 0}},
    {120, 1, {15, 10, 10, 25, 10, 30, 10, 10, 0}},
    {HUB_FORMAT_HALF_DAY, 2, {15, 10, 10, 25, 10, 30, 10, 10, 0}},
};

#define NFORMATS (sizeof(formats) / sizeof(formats[0]))

int hub_format_minutes(int format, int minutes[STEP_COUNT])
{
    for (size_t i = 0; i < NFORMATS; i++) {
        if (formats[i].format != format)
            continue;
        memcpy(minutes, formats[i].minutes, sizeof(formats[i].minutes));
        return 0;
    }
    return CODEV_E_BAD_FIELD;
}

int hub_format_consultations(int format)
{
    for (size_t i = 0; i < NFORMATS; i++)
        if (formats[i].format == format)
            return formats[i].consultations;
    return 1;
}

int hub_template_check(int format, const int minutes[STEP_COUNT])
{
    long total = 0;

    for (int s = 0; s < STEP_COUNT; s++) {
        if (s == STEP_CLOSED) {
            if (minutes[s] != 0)
                return CODEV_E_BAD_FIELD;
            continue;
        }
        if (minutes[s] < HUB_STEP_MIN_MIN || minutes[s] > HUB_STEP_MIN_MAX)
            return CODEV_E_BAD_FIELD;
        total += s == STEP_OPENING ? minutes[s]
                                   : (long)minutes[s] * hub_format_consultations(format);
    }
    return total > HUB_SESSION_MIN_MAX ? CODEV_E_BAD_FIELD : 0;
}

int hub_group_format_set(struct hub_group *g, int format)
{
    int minutes[STEP_COUNT];

    if (hub_format_minutes(format, minutes))
        return CODEV_E_BAD_FIELD;
    g->format = format;
    memcpy(g->step_min, minutes, sizeof(minutes));
    return 0;
}

int hub_group_template_set(struct hub_group *g, const int minutes[STEP_COUNT])
{
    if (hub_template_check(g->format, minutes))
        return CODEV_E_BAD_FIELD;
    memcpy(g->step_min, minutes, sizeof(g->step_min));
    return 0;
}

void hub_group_budgets_ms(const struct hub_group *g, int64_t budget_ms[STEP_COUNT])
{
    for (int s = 0; s < STEP_COUNT; s++)
        budget_ms[s] = (int64_t)g->step_min[s] * 60 * 1000;
}

/* A rule is one line: no C0 control (tab included), DEL or C1 control. */
static bool rule_has_control(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    for (; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return true;
        /* C1 controls are U+0080..U+009F: 0xC2 0x80..0x9F in UTF-8. */
        if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
            return true;
    }
    return false;
}

static bool rule_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ')
            return false;
    return true;
}

int hub_rules_check(const char *const *rules, size_t n)
{
    if (n > HUB_RULES_MAX)
        return CODEV_E_BAD_FIELD;
    for (size_t i = 0; i < n; i++) {
        if (!rules[i] || rule_blank(rules[i]))
            return CODEV_E_TEXT_EMPTY;
        if (rule_has_control(rules[i]))
            return CODEV_E_BAD_FIELD;
        if (room_utf8_chars(rules[i]) > HUB_RULE_MAX_CHARS)
            return CODEV_E_TEXT_TOO_LONG;
    }
    return 0;
}

void hub_settings_free(struct hub_group *g)
{
    for (size_t i = 0; i < g->nrules; i++) {
        free(g->rules[i]);
        g->rules[i] = NULL;
    }
    g->nrules = 0;
    g->rules_set = false;
}

int hub_group_rules_set(struct hub_group *g, const char *const *rules, size_t n)
{
    char *copy[HUB_RULES_MAX] = {0};
    int rc;

    if (!rules) {
        hub_settings_free(g);
        return 0;
    }
    if ((rc = hub_rules_check(rules, n)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (!(copy[i] = strdup(rules[i]))) {
            for (size_t j = 0; j < i; j++)
                free(copy[j]);
            return CODEV_E_INTERNAL;
        }
    }
    hub_settings_free(g);
    memcpy(g->rules, copy, sizeof(copy));
    g->nrules = n;
    g->rules_set = true;
    return 0;
}

int hub_settings_copy(struct hub_group *dst, const struct hub_group *src)
{
    memcpy(dst->step_min, src->step_min, sizeof(dst->step_min));
    if (!src->rules_set)
        return 0;
    return hub_group_rules_set(dst, (const char *const *)src->rules, src->nrules)
               ? CODEV_E_INTERNAL
               : 0;
}

int hub_member_remove(struct hub_group *g, const char *member_id)
{
    char invite[AUTH_SECRET_LEN + 1];
    struct hub_member *m = NULL;

    if (hub_session_is_open(g))
        return CODEV_E_SESSION_OPEN;
    for (size_t i = 0; member_id && i < g->nmembers; i++)
        if (strcmp(g->members[i].id, member_id) == 0)
            m = &g->members[i];
    if (!m || m->removed)
        return CODEV_E_UNKNOWN_MEMBER;
    if (strcmp(m->id, g->facilitator) == 0)
        return CODEV_E_BAD_TARGET;
    m->removed = true;
    for (size_t i = 0; i < g->nrota; i++) {
        if (strcmp(g->rota[i].client, m->id) == 0)
            g->rota[i].client[0] = '\0';
        if (strcmp(g->rota[i].facilitator, m->id) == 0)
            g->rota[i].facilitator[0] = '\0';
    }
    hub_draft_remove(g, m->id);
    /* The removed member may still hold the invite: it dies with their key.
     * Should the generator fail, the old hash stays, as in hub_sync. */
    hub_invite_rotate(g, invite);
    memset(invite, 0, sizeof(invite));
    return 0;
}

bool hub_invite_check(const struct hub_group *g, const char *invite)
{
    uint8_t hash[AUTH_HASH_LEN];

    if (!invite || !auth_secret_wellformed(invite))
        return false;
    auth_hash(invite, AUTH_SECRET_LEN, hash);
    return auth_hash_equal(hash, g->invite_hash);
}
