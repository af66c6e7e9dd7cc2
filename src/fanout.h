/*
 * fanout.h - encode once, queue to every recipient, batch per write.
 *
 * A fan_msg is one server message serialised once, with spare headroom in
 * front for the transport (LWS_PRE), shared by reference among the queues of
 * all its recipients and freed when the last one has written it.
 *
 * A fan_queue is one connection's bounded, ordered queue of messages. A tick
 * is special: only the latest matters, so a new tick replaces a tick still
 * waiting (its slot becomes a hole) and goes to the tail, keeping the order
 * with the events around it. A push that would exceed the frame or byte
 * bound fails: the caller then drops the slow connection (it recovers by
 * reconnecting), so a reader that stops reading never grows server memory
 * without bound.
 *
 * fan_queue_take() gathers what is waiting into one frame: a lone message
 * as it is (no copy), several as a JSON array "[m1,m2,...]" built in a
 * caller-provided scratch buffer, so that one write carries many events.
 *
 * No lws here (the headroom is a parameter); ONLY used from the lws service
 * thread. Memory per idle connection: the queue struct plus a ring that
 * starts at FAN_QUEUE_MIN slots and grows on demand.
 */
#ifndef CODEV_FANOUT_H
#define CODEV_FANOUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FAN_QUEUE_MIN 4

struct fan_msg {
    uint32_t refs;
    uint32_t len;         /* JSON bytes, headroom excluded (a spliced message: all of
                             head, body part and tail) */
    bool tick;            /* coalescing tick */
    unsigned char *buf;   /* headroom + own bytes + NUL */
    struct fan_msg *body; /* spliced: the shared body (one reference), else NULL */
    uint32_t split;       /* spliced: own bytes before the body part */
    uint32_t body_len;    /* spliced: bytes of body used (from its start) */
};

struct fan_queue {
    struct fan_msg **slots; /* ring; NULL entries are holes left by replaced ticks */
    uint32_t cap;
    uint32_t head;     /* index of the oldest entry */
    uint32_t count;    /* entries, holes included */
    int32_t tick_slot; /* ring index of the waiting tick, or -1 */
    size_t bytes;      /* JSON bytes waiting */
};

/* Serialises j once. Returns a new message with one reference (the
 * caller's), or NULL. Does not steal j. */
struct fan_msg *fan_msg_new(const json_t *j, size_t headroom, bool tick);

/* Wraps buf (headroom + len JSON bytes + NUL, from malloc; taken, freed
 * on failure) as a new message with one reference (the caller's), or
 * NULL. */
struct fan_msg *fan_msg_take(unsigned char *buf, size_t len, bool tick);

/* Returns a new spliced message (one reference, the caller's): head, then
 * the first body_len bytes of body's JSON, then tail. Takes a new reference
 * on body (the caller keeps its own). NULL on allocation failure or when
 * body_len exceeds body->len. */
struct fan_msg *fan_msg_splice(const unsigned char *head, size_t head_len,
                               struct fan_msg *body, size_t body_len,
                               const unsigned char *tail, size_t tail_len,
                               size_t headroom);

/* Copies bytes [off, off + n) of m's JSON (off + n <= m->len) to dst,
 * whether m is spliced or not. */
void fan_msg_copy(const struct fan_msg *m, size_t off, unsigned char *dst, size_t n,
                  size_t headroom);

/* Drops one reference; frees at zero. fan_msg_unref(NULL) is a no-op. */
void fan_msg_unref(struct fan_msg *m);

void fan_queue_init(struct fan_queue *q);

/* Releases every waiting message and the ring. */
void fan_queue_clear(struct fan_queue *q);

/* Queues m (takes a new reference; the caller keeps its own). A tick
 * replaces a waiting tick. Returns 0, or -1 when max_frames or max_bytes
 * would be exceeded (nothing queued; a single message larger than
 * max_bytes included) or on allocation failure. */
int fan_queue_push(struct fan_queue *q, struct fan_msg *m, uint32_t max_frames,
                   size_t max_bytes);

static inline bool fan_queue_empty(const struct fan_queue *q)
{
    return q->count == 0;
}

/*
 * Takes waiting messages for one frame of at most max_frame bytes (a single
 * larger message, or a spliced one, still goes alone: *data is then NULL
 * for a spliced message, which the caller writes with fan_msg_copy). Sets *data to the
 * JSON text (with `headroom` writable bytes before it) and *len. *hold receives the
 * message to unref after the write when the frame is a lone message, or NULL when it was
 * built in scratch (capacity scratch_cap, headroom included). Returns the number of
 * messages taken (0 when empty).
 */
size_t fan_queue_take(struct fan_queue *q, unsigned char *scratch, size_t scratch_cap,
                      size_t headroom, size_t max_frame, unsigned char **data,
                      size_t *len, struct fan_msg **hold);

#endif
