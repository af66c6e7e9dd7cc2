/*
 * hub.c - groups, members and secrets (see hub.h): the hub's table of
 * groups, creating, finding and deleting a group, joining, names, member
 * keys, invite codes and display links, the retention and warning
 * settings, the snapshot an export takes, and loading what the store kept.
 * A group's room (opening a session, syncing after each command, the close,
 * attaching a rebuilt room) is hub_session.c's; what each creator address
 * holds (groups_per_ip, sessions_per_ip) is hub_creator.c's, both through
 * hub_internal.h.
 *
 * Invariants:
 *   - Secrets are kept hashed (auth.h); a key is compared with every
 *     member's hash, not stopping at the first match.
 *   - A name is cleaned before it is kept (hub_name_clean): no control or
 *     invisible character, not only spaces, name_max_chars at most.
 *   - The table's count (ngroups) and the creators' counts change together
 *     at create, insert and delete.
 *
 * Expected load: a hash table by group id, O(1) per lookup; a join or a key
 * check is O(members). ONLY used from the lws service thread (and at
 * start-up, to load).
 */
#include "hub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "errors.h"
#include "hub_internal.h"
#include "util.h"

#define HUB_INITIAL_BUCKETS 64

struct hub *hub_new(const struct config *cfg)
{
    struct hub *h = calloc(1, sizeof(*h));

    if (!h)
        return NULL;
    h->nbuckets = HUB_INITIAL_BUCKETS;
    h->buckets = calloc(h->nbuckets, sizeof(*h->buckets));
    if (!h->buckets) {
        free(h);
        return NULL;
    }
    h->room_limits = (struct room_limits){
        .text_max_chars = cfg->text_max_chars,
        .long_text_max_chars = cfg->long_text_max_chars,
        .cards_per_step = cfg->cards_per_step,
        .members_max = cfg->members_max,
        .items_max = cfg->room_items_max,
        .bytes_max = cfg->room_bytes_max,
        .rewrites_max = cfg->rewrites_max,
        .journal_bytes_max = cfg->group_journal_max_bytes,
        .member_share = cfg->room_member_share,
    };
    h->groups_max = cfg->groups_max;
    h->sessions_max = cfg->sessions_max;
    h->groups_per_ip = cfg->groups_per_ip;
    h->sessions_per_ip = cfg->sessions_per_ip;
    h->ncreator_buckets = HUB_INITIAL_BUCKETS;
    h->creators = calloc(h->ncreator_buckets, sizeof(*h->creators));
    if (!h->creators) {
        free(h->buckets);
        free(h);
        return NULL;
    }
    h->name_max_chars = cfg->name_max_chars;
    h->plans_waiting_max = cfg->plans_waiting_per_member ? cfg->plans_waiting_per_member
                                                         : HUB_PLANS_WAITING_DEFAULT;
    return h;
}

static void hub_group_free(struct hub_group *g)
{
    hub_life_free(g);
    hub_settings_free(g);
    for (size_t i = 0; i < g->nmembers; i++)
        free(g->members[i].name);
    for (size_t i = 0; i < g->nplans; i++)
        hub_plan_clear(&g->plans[i]);
    free(g->members);
    free(g->plans);
    free(g->name);
    room_free(g->room);
    free(g);
}

void hub_free(struct hub *h)
{
    if (!h)
        return;
    for (size_t b = 0; b < h->nbuckets; b++) {
        struct hub_group *g = h->buckets[b];
        while (g) {
            struct hub_group *next = g->next;
            hub_group_free(g);
            g = next;
        }
    }
    hub_creators_free(h);
    free(h->buckets);
    free(h);
}

int hub_format_budgets(int format, int64_t *budget_ms)
{
    int minutes[STEP_COUNT];

    if (hub_format_minutes(format, minutes))
        return CODEV_E_BAD_FIELD;
    for (int s = 0; s < STEP_COUNT; s++)
        budget_ms[s] = (int64_t)minutes[s] * 60 * 1000;
    return 0;
}

/* Returns true for a code point a name may not hold: C0 and C1 controls
 * and DEL, and the invisible ones that make a name read differently from
 * what it is (zero-width spaces and joiners, left-to-right and
 * right-to-left marks, bidirectional embeddings, overrides and isolates,
 * line and paragraph separators, the byte order mark, the soft hyphen,
 * the Hangul fillers, variation selectors and tags, which render as
 * nothing). Card text may hold them: only names, which others trust to tell
 * members apart, may not. */
static bool hub_name_char_banned(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x00ad || cp == 0x034f ||
           cp == 0x061c || cp == 0x115f || cp == 0x1160 || cp == 0x17b4 || cp == 0x17b5 ||
           (cp >= 0x180b && cp <= 0x180f) || (cp >= 0x200b && cp <= 0x200f) ||
           (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x206f) ||
           cp == 0x3164 || (cp >= 0xfe00 && cp <= 0xfe0f) || cp == 0xfeff ||
           cp == 0xffa0 || (cp >= 0x1d173 && cp <= 0x1d17a) ||
           (cp >= 0xe0000 && cp <= 0xe0fff);
}

/* Returns true for a space of any kind: a name must hold something else. */
static bool hub_name_char_space(uint32_t cp)
{
    return cp == ' ' || cp == 0x00a0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
           cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

/* Decodes the UTF-8 sequence at s (valid UTF-8, as jansson and the store
 * hand us; a stray byte decodes as itself) into *cp; returns its length. */
static size_t hub_utf8_next(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80 || !s[1]) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xe0) == 0xc0) {
        *cp = ((uint32_t)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
        return 2;
    }
    if (!s[2]) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xf0) == 0xe0) {
        *cp = ((uint32_t)(s[0] & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) |
              (s[2] & 0x3f);
        return 3;
    }
    if (!s[3]) {
        *cp = s[0];
        return 1;
    }
    *cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3f) << 12) |
          ((uint32_t)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
    return 4;
}

int hub_name_clean(const struct hub *h, const char *in, char *out, size_t cap)
{
    const char *start = in, *end;
    size_t len, chars;

    if (!in)
        return CODEV_E_BAD_FIELD;
    while (*start == ' ' || *start == '\t' || *start == '\n' || *start == '\r')
        start++;
    end = start + strlen(start);
    while (end > start &&
           (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
        end--;
    len = (size_t)(end - start);
    if (len == 0 || len >= cap)
        return CODEV_E_BAD_FIELD;
    memcpy(out, start, len);
    out[len] = '\0';
    bool visible = false;

    for (size_t i = 0; i < len;) {
        uint32_t cp;

        i += hub_utf8_next((const unsigned char *)out + i, &cp);
        if (hub_name_char_banned(cp))
            return CODEV_E_BAD_FIELD;
        visible = visible || !hub_name_char_space(cp);
    }
    if (!visible)
        return CODEV_E_BAD_FIELD; /* only spaces (no-break, ideographic...) */
    chars = room_utf8_chars(out);
    return chars >= 1 && chars <= h->name_max_chars ? 0 : CODEV_E_BAD_FIELD;
}

static int hub_rehash(struct hub *h)
{
    size_t n = h->nbuckets * 2;
    struct hub_group **nb = calloc(n, sizeof(*nb));

    if (!nb)
        return -1;
    for (size_t b = 0; b < h->nbuckets; b++) {
        struct hub_group *g = h->buckets[b];
        while (g) {
            struct hub_group *next = g->next;
            size_t i = util_fnv1a64(g->id) & (n - 1);
            g->next = nb[i];
            nb[i] = g;
            g = next;
        }
    }
    free(h->buckets);
    h->buckets = nb;
    h->nbuckets = n;
    return 0;
}

/* Puts g (made, not yet in the table) into h's table and counts it for
 * creator (its address key; NULL counts nowhere). The caller has made room
 * (hub_rehash). */
static void hub_group_link(struct hub *h, struct hub_group *g, const char *creator)
{
    size_t b = util_fnv1a64(g->id) & (h->nbuckets - 1);

    snprintf(g->creator, sizeof(g->creator), "%s", creator ? creator : "");
    hub_creator_count(h, g->creator, 1, 0);
    g->next = h->buckets[b];
    h->buckets[b] = g;
    h->ngroups++;
}

/* Appends a member with a fresh id and key. Returns its index or an error. */
static int hub_member_new(struct hub_group *g, const char *name,
                          char member_id[AUTH_UUID_LEN + 1],
                          char key[AUTH_SECRET_LEN + 1])
{
    struct hub_member *m;

    if (array_grow((void **)&g->members, &g->members_cap, g->nmembers + 1, sizeof(*m)))
        return CODEV_E_INTERNAL;
    if (auth_secret_new(key))
        return CODEV_E_INTERNAL;
    m = &g->members[g->nmembers];
    memset(m, 0, sizeof(*m));
    m->name = strdup(name);
    if (!m->name)
        return CODEV_E_INTERNAL;
    auth_uuid_new(m->id);
    auth_hash(key, AUTH_SECRET_LEN, m->key_hash);
    memcpy(member_id, m->id, AUTH_UUID_LEN + 1);
    return (int)g->nmembers++;
}

int hub_group_create(struct hub *h, const char *creator, const char *name,
                     const char *facilitator_name, const char *language, int format,
                     struct hub_group **out, char member_id[AUTH_UUID_LEN + 1],
                     char key[AUTH_SECRET_LEN + 1], char invite[AUTH_SECRET_LEN + 1])
{
    char gname[1024], fname[1024];
    int64_t budgets[STEP_COUNT];
    struct hub_group *g = NULL;
    int rc;

    if (hub_name_clean(h, name, gname, sizeof(gname)) ||
        hub_name_clean(h, facilitator_name, fname, sizeof(fname)) || !language ||
        (strcmp(language, "fr") != 0 && strcmp(language, "en") != 0) ||
        hub_format_budgets(format, budgets))
        return CODEV_E_BAD_FIELD;
    if (h->ngroups >= h->groups_max)
        return CODEV_E_TOO_MANY_GROUPS;
    const struct hub_creator *mine = hub_creator_find(h, creator);
    if (mine && mine->groups >= h->groups_per_ip)
        return CODEV_E_TOO_MANY_GROUPS;
    if (h->ngroups + 1 > h->nbuckets && hub_rehash(h))
        return CODEV_E_INTERNAL;

    rc = CODEV_E_INTERNAL;
    g = calloc(1, sizeof(*g));
    if (!g)
        goto out;
    g->name = strdup(gname);
    if (!g->name || auth_secret_new(invite))
        goto out;
    auth_uuid_new(g->id);
    memcpy(g->language, language, 3);
    hub_group_format_set(g, format); /* checked above */
    g->warn_before_s = HUB_WARN_BEFORE_DEFAULT_S;
    auth_hash(invite, AUTH_SECRET_LEN, g->invite_hash);
    rc = hub_member_new(g, fname, member_id, key);
    if (rc < 0)
        goto out;
    memcpy(g->facilitator, member_id, AUTH_UUID_LEN + 1);
    hub_group_link(h, g, creator);
    *out = g;
    return 0;
out:
    if (g)
        hub_group_free(g);
    return rc;
}

struct hub_group *hub_group_find(const struct hub *h, const char *id)
{
    struct hub_group *g;

    if (!id)
        return NULL;
    for (g = h->buckets[util_fnv1a64(id) & (h->nbuckets - 1)]; g; g = g->next)
        if (strcmp(g->id, id) == 0)
            return g;
    return NULL;
}

static size_t hub_active_members(const struct hub_group *g)
{
    size_t n = 0;

    for (size_t i = 0; i < g->nmembers; i++)
        n += !g->members[i].removed;
    return n;
}

int hub_member_join(struct hub *h, struct hub_group *g, const char *invite,
                    const char *display_name, char member_id[AUTH_UUID_LEN + 1],
                    char key[AUTH_SECRET_LEN + 1], int *room_idx)
{
    uint8_t hash[AUTH_HASH_LEN];
    char name[1024];
    int idx;

    *room_idx = -1;
    if (!invite || !auth_secret_wellformed(invite))
        return CODEV_E_BAD_INVITE;
    auth_hash(invite, AUTH_SECRET_LEN, hash);
    if (!auth_hash_equal(hash, g->invite_hash))
        return CODEV_E_BAD_INVITE;
    if (hub_name_clean(h, display_name, name, sizeof(name)))
        return CODEV_E_BAD_FIELD;
    if (hub_active_members(g) >= h->room_limits.members_max ||
        g->nmembers >= HUB_MEMBERS_STORED_MAX)
        return CODEV_E_GROUP_FULL;
    idx = hub_member_new(g, name, member_id, key);
    if (idx < 0)
        return idx;
    if (g->room && g->room->step != STEP_CLOSED) {
        int r = room_member_add(g->room, member_id, name, false, false);
        if (r < 0) {
            /* The room is sized like the group, so this cannot happen short of
             * memory exhaustion: undo the join rather than split the two. */
            free(g->members[--g->nmembers].name);
            return r;
        }
        *room_idx = r;
    }
    return 0;
}

int hub_member_form_set(struct hub_group *g, const char *member_id, int form)
{
    struct hub_member *m = (struct hub_member *)hub_member_find(g, member_id);

    if (form < 0 || form >= FORM_COUNT)
        return CODEV_E_BAD_FIELD;
    if (!m)
        return CODEV_E_UNKNOWN_MEMBER;
    m->form = (uint8_t)form;
    if (g->room) {
        /* Removed members keep their index: set it by id, removed or not. */
        for (size_t i = 0; i < g->room->nmembers; i++)
            if (strcmp(g->room->members[i].id, member_id) == 0)
                room_member_form_set(g->room, (int)i, form);
    }
    return 0;
}

int hub_invite_rotate(struct hub_group *g, char invite[AUTH_SECRET_LEN + 1])
{
    if (auth_secret_new(invite))
        return CODEV_E_INTERNAL;
    auth_hash(invite, AUTH_SECRET_LEN, g->invite_hash);
    return 0;
}

int hub_display_rotate(struct hub_group *g, char token[AUTH_SECRET_LEN + 1])
{
    if (auth_secret_new(token))
        return CODEV_E_INTERNAL;
    auth_hash(token, AUTH_SECRET_LEN, g->display_hash);
    g->display_set = true;
    return 0;
}

void hub_display_revoke(struct hub_group *g)
{
    memset(g->display_hash, 0, sizeof(g->display_hash));
    g->display_set = false;
}

bool hub_display_auth(const struct hub_group *g, const char *token)
{
    uint8_t hash[AUTH_HASH_LEN];

    if (!token || !auth_secret_wellformed(token))
        return false;
    auth_hash(token, AUTH_SECRET_LEN, hash);
    return auth_hash_equal(hash, g->display_hash) && g->display_set;
}

void hub_display_load(struct hub_group *g, const uint8_t *hash)
{
    if (!hash) {
        hub_display_revoke(g);
        return;
    }
    memcpy(g->display_hash, hash, AUTH_HASH_LEN);
    g->display_set = true;
}

const struct hub_member *hub_member_auth(const struct hub_group *g, const char *key)
{
    uint8_t hash[AUTH_HASH_LEN];
    const struct hub_member *found = NULL;

    if (!key || !auth_secret_wellformed(key))
        return NULL;
    auth_hash(key, AUTH_SECRET_LEN, hash);
    /* Compare with every member, not stopping at the first match. */
    for (size_t i = 0; i < g->nmembers; i++)
        if (auth_hash_equal(hash, g->members[i].key_hash))
            found = &g->members[i];
    return found;
}

const struct hub_member *hub_member_find(const struct hub_group *g, const char *id)
{
    for (size_t i = 0; id && i < g->nmembers; i++)
        if (strcmp(g->members[i].id, id) == 0)
            return &g->members[i];
    return NULL;
}

struct hub_group *hub_group_snapshot_new(const struct hub_group *g)
{
    struct hub_group *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    memcpy(c->id, g->id, sizeof(c->id));
    memcpy(c->language, g->language, sizeof(c->language));
    memcpy(c->facilitator, g->facilitator, sizeof(c->facilitator));
    memcpy(c->creator, g->creator, sizeof(c->creator));
    memcpy(c->round_last, g->round_last, sizeof(c->round_last));
    c->format = g->format;
    c->retention = g->retention;
    c->warn_before_s = g->warn_before_s;
    c->name = strdup(g->name);
    if (!c->name || hub_settings_copy(c, g) ||
        (g->nmembers && array_grow((void **)&c->members, &c->members_cap, g->nmembers,
                                   sizeof(*c->members))))
        goto fail;
    for (size_t i = 0; i < g->nmembers; i++) {
        struct hub_member *m = &c->members[i];
        memset(m, 0, sizeof(*m));
        memcpy(m->id, g->members[i].id, sizeof(m->id));
        m->observer = g->members[i].observer;
        m->removed = g->members[i].removed;
        m->form = g->members[i].form;
        m->name = strdup(g->members[i].name);
        if (!m->name)
            goto fail;
        c->nmembers++;
    }
    return c;
fail:
    hub_group_free(c);
    return NULL;
}

void hub_group_snapshot_free(struct hub_group *snap)
{
    if (snap)
        hub_group_free(snap);
}

void hub_group_delete(struct hub *h, struct hub_group *g)
{
    struct hub_group **pp = &h->buckets[util_fnv1a64(g->id) & (h->nbuckets - 1)];

    for (; *pp; pp = &(*pp)->next) {
        if (*pp != g)
            continue;
        *pp = g->next;
        h->ngroups--;
        if (g->room_counted)
            h->open_sessions--;
        hub_creator_count(h, g->creator, -1, g->room_counted ? -1 : 0);
        hub_group_free(g);
        return;
    }
}

/* ---- retention and loading (see hub.h) ------------------------------------ */

static const char *const retention_names[] = {
    [HUB_RETENTION_PERSONAL] = "personal",
    [HUB_RETENTION_KEEP] = "keep",
};

const char *hub_retention_name(int retention)
{
    if (retention < 0 || retention > HUB_RETENTION_KEEP)
        return NULL;
    return retention_names[retention];
}

int hub_retention_from_name(const char *name)
{
    for (int i = 0; name && i <= HUB_RETENTION_KEEP; i++)
        if (strcmp(retention_names[i], name) == 0)
            return i;
    return -1;
}

int hub_group_retention_set(struct hub_group *g, const char *name)
{
    int r = hub_retention_from_name(name);

    if (r < 0)
        return CODEV_E_BAD_FIELD;
    g->retention = (enum hub_retention)r;
    return 0;
}

int hub_group_warn_before_set(struct hub_group *g, long long seconds)
{
    if (seconds < 0 || seconds > HUB_WARN_BEFORE_MAX_S)
        return CODEV_E_BAD_FIELD;
    g->warn_before_s = (int)seconds;
    return 0;
}

int hub_group_insert(struct hub *h, const char *id, const char *name,
                     const char *language, int format, const char *facilitator,
                     const uint8_t invite_hash[AUTH_HASH_LEN],
                     enum hub_retention retention, const char *creator,
                     struct hub_group **out)
{
    struct hub_group *g;

    if (!id || strlen(id) > AUTH_UUID_LEN || hub_group_find(h, id) || !name ||
        !language || (strcmp(language, "fr") != 0 && strcmp(language, "en") != 0) ||
        !facilitator || strlen(facilitator) > AUTH_UUID_LEN ||
        !hub_retention_name((int)retention))
        return CODEV_E_BAD_FIELD;
    if (h->ngroups + 1 > h->nbuckets && hub_rehash(h))
        return CODEV_E_INTERNAL;
    g = calloc(1, sizeof(*g));
    if (!g)
        return CODEV_E_INTERNAL;
    g->name = strdup(name);
    if (!g->name) {
        free(g);
        return CODEV_E_INTERNAL;
    }
    memcpy(g->id, id, strlen(id) + 1);
    memcpy(g->language, language, 3);
    /* What was accepted once stays loaded: an unknown format keeps its
     * number, with the 90-minute template (the store may carry another). */
    if (hub_group_format_set(g, format)) {
        hub_group_format_set(g, 90);
        g->format = format;
    }
    memcpy(g->facilitator, facilitator, strlen(facilitator) + 1);
    memcpy(g->invite_hash, invite_hash, AUTH_HASH_LEN);
    g->retention = retention;
    g->warn_before_s = HUB_WARN_BEFORE_DEFAULT_S; /* the store sets what was kept */
    hub_group_link(h, g, creator);
    *out = g;
    return 0;
}

int hub_member_insert(struct hub_group *g, const char *id, const char *name,
                      const uint8_t key_hash[AUTH_HASH_LEN], bool observer, bool removed)
{
    struct hub_member *m;

    if (!id || strlen(id) > AUTH_UUID_LEN || !name)
        return CODEV_E_BAD_FIELD;
    if (g->nmembers >= HUB_MEMBERS_STORED_MAX)
        return CODEV_E_GROUP_FULL;
    if (array_grow((void **)&g->members, &g->members_cap, g->nmembers + 1, sizeof(*m)))
        return CODEV_E_INTERNAL;
    m = &g->members[g->nmembers];
    memset(m, 0, sizeof(*m));
    m->name = strdup(name);
    if (!m->name)
        return CODEV_E_INTERNAL;
    memcpy(m->id, id, strlen(id) + 1);
    memcpy(m->key_hash, key_hash, AUTH_HASH_LEN);
    m->observer = observer;
    m->removed = removed;
    return (int)g->nmembers++;
}

int hub_plan_insert(struct hub_group *g, const struct hub_plan *src)
{
    struct hub_plan *p;

    if (!src->text)
        return CODEV_E_BAD_FIELD;
    if (array_grow((void **)&g->plans, &g->plans_cap, g->nplans + 1, sizeof(*p)))
        return CODEV_E_INTERNAL;
    p = &g->plans[g->nplans];
    *p = *src;
    p->text = strdup(src->text);
    p->due = util_strdup_or_null(src->due);
    p->first_step = util_strdup_or_null(src->first_step);
    p->pre_comment = util_strdup_or_null(src->pre_comment);
    if (!p->text || (src->due && !p->due) || (src->first_step && !p->first_step) ||
        (src->pre_comment && !p->pre_comment)) {
        free(p->text);
        free(p->due);
        free(p->first_step);
        free(p->pre_comment);
        return CODEV_E_INTERNAL;
    }
    if (p->ordinal >= g->plans_next_ordinal)
        g->plans_next_ordinal = p->ordinal + 1;
    g->nplans++;
    return 0;
}
