/*
 * test_helpers.c - what several unit tests share (test_helpers.h).
 */
#include "test_helpers.h"

struct config test_config(void)
{
    return (struct config){
        .text_max_chars = 1000,
        .long_text_max_chars = 4000,
        .name_max_chars = 60,
        .cards_per_step = 30,
        .members_max = 16,
        .groups_max = 100,
        .sessions_max = 100,
        .groups_per_ip = 50,
        .sessions_per_ip = 20,
    };
}
