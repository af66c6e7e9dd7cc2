/*
 * errors.h - the one error map of codevd.
 *
 * Every failure a client can see has one entry here: the enum value the C
 * code returns (negative), the wire name sent in the `error` frame's `code`,
 * and an English sentence for logs and the `message` field. The web client
 * translates codes itself; proto/README.md lists the same names (a test
 * checks that the two lists agree).
 *
 * Pure: libc only. Shared by the core (room, rules, clock) and the edges.
 */
#ifndef CODEV_ERRORS_H
#define CODEV_ERRORS_H

/* X(NAME, "wire_name", "message") */
#define CODEV_ERRNO_MAP(X)                                                               \
    /* protocol and framing */                                                           \
    X(BAD_JSON, "bad_json", "The message is not valid JSON.")                            \
    X(BAD_MESSAGE, "bad_message",                                                        \
      "The message is not a JSON object with a string type.")                            \
    X(UNKNOWN_TYPE, "unknown_type", "Unknown message type.")                             \
    X(MISSING_FIELD, "missing_field", "A required field is missing.")                    \
    X(BAD_FIELD, "bad_field", "A field has the wrong type or an invalid value.")         \
    X(TOO_LARGE, "too_large", "The message is too large.")                               \
    X(TOO_DEEP, "too_deep", "The message is nested too deeply.")                         \
    X(BINARY_FRAME, "binary_frame", "Binary frames are not accepted.")                   \
    X(RATE_LIMITED, "rate_limited", "Too many commands; slow down.")                     \
    /* session attachment */                                                             \
    X(HELLO_REQUIRED, "hello_required", "Send hello before any command.")                \
    X(ALREADY_HELLO, "already_hello", "This connection already said hello.")             \
    X(UNKNOWN_GROUP, "unknown_group", "No such group.")                                  \
    X(BAD_KEY, "bad_key", "The member key does not open this group.")                    \
    X(BAD_INVITE, "bad_invite", "The invite code is not valid for this group.")          \
    X(NO_SESSION, "no_session", "The group has no open session.")                        \
    X(SESSION_OPEN, "session_open", "The group already has an open session.")            \
    X(SESSION_CLOSED, "session_closed", "The session is closed.")                        \
    X(MEMBER_REMOVED, "member_removed", "You were removed from this group.")             \
    X(GROUP_DELETED, "group_deleted", "This group was deleted.")                         \
    X(HELLO_TIMEOUT, "hello_timeout", "No valid hello in time; the connection closes.")  \
    /* the rules */                                                                      \
    X(NOT_FACILITATOR, "not_facilitator", "Only the facilitator can do this.")           \
    X(NOT_YOUR_ROLE, "not_your_role", "Your role does not allow this.")                  \
    X(WRONG_STEP, "wrong_step", "This is not allowed in the current step.")              \
    X(CLIENT_MUTED, "client_muted", "The client listens during the consultation.")       \
    X(OBSERVER_READ_ONLY, "observer_read_only", "Observers can only read.")              \
    X(NOT_EARLIER_CLIENT, "not_earlier_client",                                          \
      "Only the client who made this plan can debrief it.")                              \
    X(NO_CLIENT, "no_client", "Assign a client first.")                                  \
    X(NO_PROBLEM, "no_problem", "The client has not written the problem yet.")           \
    X(NO_CONTRACT, "no_contract", "The client has not written the contract yet.")        \
    X(CONTRACT_NOT_ACKED, "contract_not_acked",                                          \
      "Not every consultant has acknowledged the contract.")                             \
    X(NO_SUCH_STEP, "no_such_step", "There is no step in that direction.")               \
    X(UNKNOWN_MEMBER, "unknown_member", "No such member in this group.")                 \
    X(UNKNOWN_CARD, "unknown_card", "No such card.")                                     \
    X(NOT_AUTHOR, "not_author", "Only its author can change or withdraw this.")          \
    X(CARD_STEP_OVER, "card_step_over",                                                  \
      "This card's step is over; it can no longer be changed.")                          \
    X(CARD_WITHDRAWN, "card_withdrawn", "This card was withdrawn by its author.")        \
    X(UNKNOWN_ACTION, "unknown_action", "No such action plan item.")                     \
    X(BAD_TARGET, "bad_target", "That member cannot take this role.")                    \
    X(ALREADY_DONE, "already_done", "That is already the case.")                         \
    X(TIMER_RUNNING, "timer_running", "The clock is already running.")                   \
    X(TIMER_STOPPED, "timer_stopped", "The clock is not running.")                       \
    X(BAD_DURATION, "bad_duration", "That duration is out of range.")                    \
    /* limits */                                                                         \
    X(TEXT_EMPTY, "text_empty", "The text is empty.")                                    \
    X(TEXT_TOO_LONG, "text_too_long", "The text is too long.")                           \
    X(TOO_MANY_CARDS, "too_many_cards",                                                  \
      "You have posted the maximum number of cards in this step.")                       \
    X(ROOM_FULL, "room_full", "This session holds as much as it can.")                   \
    X(TOO_MANY_REWRITES, "too_many_rewrites", "This text was rewritten too many times.") \
    X(JOURNAL_FULL, "journal_full", "This session has written as much as it can.")       \
    X(GROUP_FULL, "group_full", "The group has reached its member limit.")               \
    X(TOO_MANY_GROUPS, "too_many_groups",                                                \
      "The server, or your address, has reached its group limit.")                       \
    X(TOO_MANY_SESSIONS, "too_many_sessions",                                            \
      "The server, or the group's creator address, is at its session limit.")            \
    X(TOO_MANY_CONNECTIONS, "too_many_connections", "Too many connections.")             \
    X(SLOW_CONSUMER, "slow_consumer",                                                    \
      "The connection could not keep up and was closed.")                                \
    X(STORE_UNAVAILABLE, "store_unavailable",                                            \
      "The server cannot save right now; nothing was changed. Try again shortly.")       \
    /* HTTP */                                                                           \
    X(NOT_FOUND, "not_found", "No such resource.")                                       \
    X(METHOD_NOT_ALLOWED, "method_not_allowed", "Method not allowed.")                   \
    X(UNAUTHORIZED, "unauthorized", "A valid member key is required.")                   \
    X(NOT_AWAY_FACILITATOR, "not_away_facilitator",                                      \
      "Only the facilitator who was away can take the role back.")                       \
    X(NO_OFFER, "no_offer", "No offer to facilitate is waiting for you.")                \
    X(DISPLAY_READ_ONLY, "display_read_only", "A display link only shows the session.")  \
    X(BAD_DISPLAY, "bad_display",                                                        \
      "This display link is not valid (revoked or replaced).")                           \
    X(TOO_MANY_DISPLAYS, "too_many_displays",                                            \
      "This group has as many displays open as it may.")                                 \
    X(NO_FLOOR, "no_floor", "Nobody has the floor.")                                     \
    X(NOT_SPEAKER, "not_speaker", "Only the member who has the floor can do this.")      \
    X(NO_ROUND, "no_round", "No round is running.")                                      \
    X(ROUND_ACTIVE, "round_active", "A round is running: skip or stop it first.")        \
    X(ROUND_EMPTY, "round_empty", "Nobody connected can take a turn in this step.")      \
    X(MEMBER_OFFLINE, "member_offline", "That member is not connected.")                 \
    /* Between sessions (HTTP) */                                                        \
    X(TOO_MANY_PROPOSALS, "too_many_proposals",                                          \
      "The group, or you, already proposed as many cases as it may hold.")               \
    X(NO_NEXT_SESSION, "no_next_session", "The next session has no date yet.")           \
    /* A cluster (issue 17) */                                                           \
    X(MOVED, "moved", "Another server holds this group now; reconnect.")                 \
    X(INTERNAL, "internal", "Internal error.")

enum codev_err {
    CODEV_OK = 0,
    CODEV_ERR_BASE_ = -1000, /* keeps the values clear of errno-style -1..-999 */
#define CODEV_ERR_ENUM_(name, wire, msg) CODEV_E_##name,
    CODEV_ERRNO_MAP(CODEV_ERR_ENUM_)
#undef CODEV_ERR_ENUM_
        CODEV_ERR_END_
};

/* Returns the wire name of err ("client_muted"), or "internal" for a value
 * outside the map. The string is static. */
const char *codev_err_name(int err);

/* Returns the English message of err. The string is static. */
const char *codev_err_message(int err);

/* Returns the error whose wire name is name, or 0 when none has it. */
int codev_err_from_name(const char *name);

#endif
