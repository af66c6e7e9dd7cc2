/*
 * fuzz_room.c - libFuzzer harness: bytes -> protocol decoder -> room state
 * machine -> encoders.
 *
 * An input is a sequence of lines. The first byte of a line picks the
 * sender (mod the five members: facilitator, three consultants, observer),
 * the rest is one client message. Decoded commands are applied to one room
 * at increasing instants; after each, every event and every member's
 * snapshot is encoded, and invariants are checked: a refused command
 * changes no sequence number, an accepted one never lowers it, the
 * encoders always produce a message, and the fast flat-object reader
 * (json_flat.c) builds what jansson builds or declines. Any crash,
 * sanitizer report or failed check (abort) is a bug.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "json_flat.h"
#include "protocol.h"
#include "room.h"

#define NMEMBERS 5

static const char *const ids[NMEMBERS] = {
    "00000000-0000-4000-8000-000000000000", "00000000-0000-4000-8000-000000000001",
    "00000000-0000-4000-8000-000000000002", "00000000-0000-4000-8000-000000000003",
    "00000000-0000-4000-8000-000000000004",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

static void encode_and_drop(json_t *j)
{
    size_t len;
    unsigned char *buf;

    check(j != NULL);
    buf = proto_dump(j, 16, &len);
    check(buf != NULL && len > 0);
    free(buf);
    json_decref(j);
}

/* json_flat's contract, differentially: what it accepts, jansson builds
 * the same (members, values, order); it may decline anything. */
static void flat_agrees_with_jansson(const char *buf, size_t len)
{
    json_t *f = json_flat_load(buf, len), *j;
    json_error_t e;
    void *fi, *ji;

    if (!f)
        return;
    j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    check(j != NULL && json_equal(f, j));
    for (fi = json_object_iter(f), ji = json_object_iter(j); fi && ji;
         fi = json_object_iter_next(f, fi), ji = json_object_iter_next(j, ji))
        check(strcmp(json_object_iter_key(fi), json_object_iter_key(ji)) == 0);
    check(fi == NULL && ji == NULL);
    json_decref(f);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct room_limits limits = {.text_max_chars = 200,
                                              .long_text_max_chars = 400,
                                              .cards_per_step = 8,
                                              .members_max = 8};
    static const struct proto_limits plimits = {.max_bytes = 4096, .max_depth = 8};
    int64_t budgets[STEP_COUNT] = {60000, 60000, 60000, 60000, 60000,
                                   60000, 60000, 60000, 0};
    struct room *r =
        room_new("00000000-0000-4000-8000-00000000000f", budgets, &limits, 0);
    int64_t now = 1000;
    size_t pos = 0;

    check(r != NULL);
    for (int i = 0; i < NMEMBERS; i++)
        check(room_member_add(r, ids[i], "Membre", i == 0, i == NMEMBERS - 1) == i);
    room_member_set_online(r, 1, 1);
    room_member_set_online(r, 2, 1);
    check(room_debrief_add(r, "00000000-0000-4000-8000-0000000000aa", ids[1], "Plan",
                           NULL, NULL) == 0);

    while (pos < size) {
        const uint8_t *line = data + pos;
        const uint8_t *nl = memchr(line, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - line) : size - pos;
        struct proto_msg msg;
        struct proto_error err;

        pos += len + 1;
        if (len < 1)
            continue;
        now += 250 + line[0] * 1000;
        flat_agrees_with_jansson((const char *)line + 1, len - 1);
        if (proto_decode((const char *)line + 1, len - 1, &plimits, &msg, &err) == 0) {
            if (msg.kind == PROTO_COMMAND && msg.cmd.type == CMD_QUESTION_CHECK) {
                /* As the edge answers it: a query that changes nothing. */
                uint64_t before = r->seq, version = r->version;
                struct advice_result res;
                int rc = room_question_check(r, line[0] % NMEMBERS, msg.cmd.text, &res);

                check(r->seq == before && r->version == version && r->nout == 0);
                encode_and_drop(rc ? proto_error_code_json(msg.id, rc)
                                   : proto_check_ack_json(msg.id, &res));
            } else if (msg.kind == PROTO_COMMAND) {
                uint64_t before = r->seq, seq = 0;
                bool dup = false;
                int rc = room_apply(r, line[0] % NMEMBERS, &msg.cmd, now, &seq, &dup);

                if (rc) {
                    check(rc < 0 && r->seq == before && r->nout == 0);
                    encode_and_drop(proto_error_code_json(msg.id, rc));
                } else {
                    check(r->seq >= before && seq <= r->seq);
                    check(dup ? r->nout == 0 : r->nout > 0);
                    for (size_t i = 0; i < r->nout; i++) {
                        check(r->out[i].seq > before);
                        json_t *advice = proto_event_advice_json(r, &r->out[i], now);

                        encode_and_drop(proto_event_json(r, &r->out[i], now));
                        if (advice)
                            encode_and_drop(advice);
                        for (int m = 0; m < NMEMBERS; m++)
                            (void)room_event_visible(r, &r->out[i], m);
                    }
                    room_outbox_clear(r);
                }
            }
            proto_msg_release(&msg);
        } else {
            check(err.code < 0);
            encode_and_drop(proto_error_json(&err));
        }
    }
    for (int m = 0; m < NMEMBERS; m++)
        encode_and_drop(proto_room_json(r, m, now));
    encode_and_drop(proto_tick_json(r, now));
    room_free(r);
    return 0;
}
