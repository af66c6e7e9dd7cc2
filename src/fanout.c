/*
 * fanout.c - shared encoded messages and per-connection queues (see fanout.h).
 */
#include "fanout.h"

#include <stdlib.h>
#include <string.h>

#include "protocol.h"

struct fan_msg *fan_msg_new(const json_t *j, size_t headroom, bool tick)
{
    struct fan_msg *m = malloc(sizeof(*m));
    size_t len;

    if (!m)
        return NULL;
    m->buf = proto_dump(j, headroom, &len);
    if (!m->buf || len > UINT32_MAX) {
        free(m->buf);
        free(m);
        return NULL;
    }
    m->refs = 1;
    m->len = (uint32_t)len;
    m->tick = tick;
    m->body = NULL;
    m->split = m->body_len = 0;
    return m;
}

struct fan_msg *fan_msg_take(unsigned char *buf, size_t len, bool tick)
{
    struct fan_msg *m = len <= UINT32_MAX ? malloc(sizeof(*m)) : NULL;

    if (!m) {
        free(buf);
        return NULL;
    }
    m->buf = buf;
    m->refs = 1;
    m->len = (uint32_t)len;
    m->tick = tick;
    m->body = NULL;
    m->split = m->body_len = 0;
    return m;
}

struct fan_msg *fan_msg_splice(const unsigned char *head, size_t head_len,
                               struct fan_msg *body, size_t body_len,
                               const unsigned char *tail, size_t tail_len,
                               size_t headroom)
{
    struct fan_msg *m;
    size_t own = head_len + tail_len;

    if (!body || body_len > body->len || own + body_len > UINT32_MAX)
        return NULL;
    m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->buf = malloc(headroom + own + 1);
    if (!m->buf) {
        free(m);
        return NULL;
    }
    memcpy(m->buf + headroom, head, head_len);
    memcpy(m->buf + headroom + head_len, tail, tail_len);
    m->buf[headroom + own] = '\0';
    m->refs = 1;
    m->len = (uint32_t)(own + body_len);
    m->body = body;
    body->refs++;
    m->split = (uint32_t)head_len;
    m->body_len = (uint32_t)body_len;
    return m;
}

void fan_msg_copy(const struct fan_msg *m, size_t off, unsigned char *dst, size_t n,
                  size_t headroom)
{
    const unsigned char *own = m->buf + headroom;
    size_t end = off + n, a, b;

    if (!m->body) {
        memcpy(dst, own + off, n);
        return;
    }
    /* Three parts: own[0, split), body[0, body_len), own[split, ...). */
    a = m->split;
    b = a + m->body_len;
    if (off < a) {
        size_t k = (end < a ? end : a) - off;
        memcpy(dst, own + off, k);
        dst += k;
        off += k;
    }
    if (off < end && off < b) {
        size_t k = (end < b ? end : b) - off;
        memcpy(dst, m->body->buf + headroom + (off - a), k);
        dst += k;
        off += k;
    }
    if (off < end)
        memcpy(dst, own + m->split + (off - b), end - off);
}

void fan_msg_unref(struct fan_msg *m)
{
    if (!m || --m->refs)
        return;
    fan_msg_unref(m->body);
    free(m->buf);
    free(m);
}

void fan_queue_init(struct fan_queue *q)
{
    memset(q, 0, sizeof(*q));
    q->tick_slot = -1;
}

void fan_queue_clear(struct fan_queue *q)
{
    for (uint32_t i = 0; i < q->count; i++)
        fan_msg_unref(q->slots[(q->head + i) % q->cap]);
    free(q->slots);
    fan_queue_init(q);
}

static int fan_queue_grow(struct fan_queue *q, uint32_t max_frames)
{
    uint32_t ncap = q->cap ? q->cap * 2 : FAN_QUEUE_MIN;
    struct fan_msg **ns;

    if (ncap > max_frames)
        ncap = max_frames;
    if (ncap <= q->cap)
        return -1;
    ns = malloc(ncap * sizeof(*ns));
    if (!ns)
        return -1;
    for (uint32_t i = 0; i < q->count; i++)
        ns[i] = q->slots[(q->head + i) % q->cap];
    if (q->tick_slot >= 0)
        q->tick_slot = (int32_t)((q->tick_slot + q->cap - q->head) % q->cap);
    free(q->slots);
    q->slots = ns;
    q->cap = ncap;
    q->head = 0;
    return 0;
}

int fan_queue_push(struct fan_queue *q, struct fan_msg *m, uint32_t max_frames,
                   size_t max_bytes)
{
    size_t bytes = q->bytes + m->len;

    if (m->tick && q->tick_slot >= 0)
        bytes -= q->slots[q->tick_slot]->len;
    /* A single message counts too: one larger than the bound would be held
     * whole for a reader that may never read it (config_validate keeps the
     * bound above the welcome of a full room). */
    if (bytes > max_bytes)
        return -1;
    if (q->count == q->cap && fan_queue_grow(q, max_frames))
        return -1;
    if (m->tick && q->tick_slot >= 0) {
        struct fan_msg *old = q->slots[q->tick_slot];
        q->bytes -= old->len;
        fan_msg_unref(old);
        q->slots[q->tick_slot] = NULL;
    }
    m->refs++;
    q->slots[(q->head + q->count) % q->cap] = m;
    if (m->tick)
        q->tick_slot = (int32_t)((q->head + q->count) % q->cap);
    q->count++;
    q->bytes += m->len;
    return 0;
}

/* Removes the head entry (a hole or a message) and returns it. */
static struct fan_msg *fan_queue_pop(struct fan_queue *q)
{
    struct fan_msg *m = q->slots[q->head];

    if (q->tick_slot == (int32_t)q->head)
        q->tick_slot = -1;
    q->head = (q->head + 1) % q->cap;
    q->count--;
    if (m)
        q->bytes -= m->len;
    return m;
}

/* Skips holes at the head. */
static void fan_queue_skip_holes(struct fan_queue *q)
{
    while (q->count && !q->slots[q->head])
        fan_queue_pop(q);
}

size_t fan_queue_take(struct fan_queue *q, unsigned char *scratch, size_t scratch_cap,
                      size_t headroom, size_t max_frame, unsigned char **data,
                      size_t *len, struct fan_msg **hold)
{
    struct fan_msg *first, *next;
    size_t taken = 0, used;

    *hold = NULL;
    fan_queue_skip_holes(q);
    if (!q->count)
        return 0;
    first = q->slots[q->head];
    /* Is there a second message, and do the first two fit in one array? */
    {
        uint32_t i = 1;
        next = NULL;
        while (i < q->count && !(next = q->slots[(q->head + i) % q->cap]))
            i++;
    }
    if (max_frame > scratch_cap - headroom - 1)
        max_frame = scratch_cap - headroom - 1;
    if (!next || first->body || next->body ||
        (size_t)first->len + next->len + 3 > max_frame) {
        fan_queue_pop(q);
        *data = first->body ? NULL : first->buf + headroom;
        *len = first->len;
        *hold = first;
        return 1;
    }
    used = 0;
    scratch[headroom + used++] = '[';
    for (;;) {
        struct fan_msg *m;
        fan_queue_skip_holes(q);
        if (!q->count)
            break;
        m = q->slots[q->head];
        if (m->body || used + m->len + 2 > max_frame)
            break;
        if (taken)
            scratch[headroom + used++] = ',';
        memcpy(scratch + headroom + used, m->buf + headroom, m->len);
        used += m->len;
        fan_msg_unref(fan_queue_pop(q));
        taken++;
    }
    scratch[headroom + used++] = ']';
    *data = scratch + headroom;
    *len = used;
    return taken;
}
