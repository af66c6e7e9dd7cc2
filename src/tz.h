/*
 * tz.h - local time in a named (IANA) time zone to UTC, from the system's
 * time zone database (/usr/share/zoneinfo, TZif files, RFC 8536), without
 * touching the process's TZ or the libc's global time zone state (the
 * export and store threads run beside the loop).
 *
 * Invariants: reads one file of at most TZ_FILE_MAX bytes per call; a name
 * is checked before any path is made of it (no "..", no leading "/", only
 * [A-Za-z0-9_+-] components), so that it can never name a file outside
 * the database. Thread-safe (no globals). Expected load: a call each time
 * a facilitator sets the next session.
 */
#ifndef CODEV_TZ_H
#define CODEV_TZ_H

#include <stdbool.h>
#include <stdint.h>

#define TZ_DIR_DEFAULT "/usr/share/zoneinfo"
#define TZ_FILE_MAX    65536

/* Whether name has the shape of an IANA zone name ("Europe/Paris",
 * "America/Argentina/Buenos_Aires", "UTC", "Etc/GMT+3"): 1..64 bytes, no
 * component empty or starting with '.'. Pure. */
bool tz_name_ok(const char *name);

/*
 * The UTC instant (Unix epoch ms) of the local wall time y-mo-d h:mi in
 * zone name, read from dir (TZ_DIR_DEFAULT when NULL). A wall time that
 * happens twice (the hour the clocks go back) is the earlier instant; one
 * that never happens (the hour they go forward) is read with the offset in
 * force before the change. Returns 0, or -1: a bad name, no such zone, or
 * a file that is not TZif.
 */
int tz_local_to_utc(const char *dir, const char *name, int y, int mo, int d, int h,
                    int mi, int64_t *utc_ms);

/* Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian). Pure. */
int64_t tz_days_from_civil(int y, int m, int d);

#endif
