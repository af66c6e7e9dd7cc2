/*
 * tz.c - local wall time to UTC in a named zone, from TZif files (see
 * tz.h). Reads the version 2+ (64-bit) block of the file, and past its
 * last transition the POSIX TZ rule of its footer ("CET-1CEST,M3.5.0,
 * M10.5.0/3"; the M form, the one the database uses). A version 1 file is
 * read with its 32-bit block.
 */
#include "tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZ_NAME_MAX  64
#define TZ_TYPES_MAX 256

bool tz_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    bool start = true;

    if (n == 0 || n > TZ_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (c == '/') {
            if (start)
                return false; /* leading "/" or "//" */
            start = true;
            continue;
        }
        if (start && (c == '.' || c == '-'))
            return false;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '-'))
            return false;
        start = false;
    }
    return !start;
}

int64_t tz_days_from_civil(int y, int m, int d)
{
    int64_t yy = y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}

/* The zone as read from its file. */
struct tz_zone {
    int64_t *times; /* transitions, ascending (UTC seconds) */
    unsigned char *idx;
    size_t ntimes;
    int32_t utoff[TZ_TYPES_MAX];
    bool isdst[TZ_TYPES_MAX];
    size_t ntypes;
    /* The footer's rule, when it has one of the M form. */
    bool rule;
    int32_t std_off, dst_off; /* seconds east of UTC */
    bool has_dst;
    int sm, sw, sd, em, ew, ed; /* start and end: month, week, weekday */
    int32_t stime, etime;       /* seconds after local midnight */
};

static int64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    if (n == 4)
        return (int32_t)(uint32_t)v;
    return (int64_t)v;
}

/* Reads a [+-]hh[:mm[:ss]] at *p, in seconds; advances *p. */
static bool posix_time(const char **p, int32_t *out)
{
    int sign = 1, part = 0;
    int32_t v = 0, f;

    if (**p == '+' || **p == '-')
        sign = *(*p)++ == '-' ? -1 : 1;
    for (;;) {
        if (**p < '0' || **p > '9')
            return false;
        f = 0;
        while (**p >= '0' && **p <= '9' && f < 1000)
            f = f * 10 + (*(*p)++ - '0');
        v += f * (part == 0 ? 3600 : part == 1 ? 60 : 1);
        if (**p != ':' || part == 2)
            break;
        (*p)++;
        part++;
    }
    *out = sign * v;
    return true;
}

static bool posix_name(const char **p)
{
    const char *s = *p;

    if (*s == '<') {
        while (*s && *s != '>')
            s++;
        if (*s != '>')
            return false;
        *p = s + 1;
        return true;
    }
    while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
        s++;
    if (s - *p < 3)
        return false;
    *p = s;
    return true;
}

/* Reads ",Mm.w.d[/time]" at *p. */
static bool posix_rule(const char **p, int *m, int *w, int *d, int32_t *t)
{
    char *end;

    if (**p != ',' || (*p)[1] != 'M')
        return false;
    *p += 2;
    *m = (int)strtol(*p, &end, 10);
    if (*end != '.')
        return false;
    *w = (int)strtol(end + 1, &end, 10);
    if (*end != '.')
        return false;
    *d = (int)strtol(end + 1, &end, 10);
    *p = end;
    *t = 7200;
    if (**p == '/') {
        (*p)++;
        if (!posix_time(p, t))
            return false;
    }
    return *m >= 1 && *m <= 12 && *w >= 1 && *w <= 5 && *d >= 0 && *d <= 6;
}

/* Reads the footer's TZ string (between newlines). */
static void posix_parse(struct tz_zone *z, const char *s)
{
    int32_t off;

    if (!posix_name(&s) || !posix_time(&s, &off))
        return;
    z->std_off = -off;
    if (*s == '\0' || *s == '\n') {
        z->rule = true;
        return;
    }
    if (!posix_name(&s))
        return;
    z->dst_off = z->std_off + 3600;
    if (*s != ',' && *s != '\0' && *s != '\n') {
        if (!posix_time(&s, &off))
            return;
        z->dst_off = -off;
    }
    if (!posix_rule(&s, &z->sm, &z->sw, &z->sd, &z->stime) ||
        !posix_rule(&s, &z->em, &z->ew, &z->ed, &z->etime))
        return;
    z->has_dst = true;
    z->rule = true;
}

static void zone_free(struct tz_zone *z)
{
    free(z->times);
    free(z->idx);
}

/* Parses a TZif file's bytes into z. Returns 0 or -1. */
static int zone_parse(struct tz_zone *z, const unsigned char *b, size_t n)
{
    size_t isutc, isstd, leap, timecnt, typecnt, charcnt, size, w = 4;
    const unsigned char *p = b;

    memset(z, 0, sizeof(*z));
    if (n < 44 || memcmp(b, "TZif", 4) != 0)
        return -1;
    for (int pass = 0; pass < 2; pass++) {
        if ((size_t)(p - b) + 44 > n)
            return -1;
        isutc = (size_t)be(p + 20, 4);
        isstd = (size_t)be(p + 24, 4);
        leap = (size_t)be(p + 28, 4);
        timecnt = (size_t)be(p + 32, 4);
        typecnt = (size_t)be(p + 36, 4);
        charcnt = (size_t)be(p + 40, 4);
        if (timecnt > 100000 || typecnt == 0 || typecnt > TZ_TYPES_MAX || leap > 100000 ||
            charcnt > 100000 || isutc > typecnt || isstd > typecnt)
            return -1;
        size = timecnt * w + timecnt + typecnt * 6 + charcnt + leap * (w + 4) + isstd +
               isutc;
        if ((size_t)(p - b) + 44 + size > n)
            return -1;
        if (pass == 0 && b[4] >= '2') {
            /* Skip the 32-bit block for the 64-bit one. */
            p += 44 + size;
            w = 8;
            continue;
        }
        break;
    }
    p += 44;
    z->times = malloc((timecnt ? timecnt : 1) * sizeof(*z->times));
    z->idx = malloc(timecnt ? timecnt : 1);
    if (!z->times || !z->idx)
        return -1;
    for (size_t i = 0; i < timecnt; i++)
        z->times[i] = be(p + i * w, (int)w);
    p += timecnt * w;
    for (size_t i = 0; i < timecnt; i++) {
        z->idx[i] = p[i];
        if (p[i] >= typecnt)
            return -1;
    }
    p += timecnt;
    for (size_t i = 0; i < typecnt; i++) {
        z->utoff[i] = (int32_t)be(p + i * 6, 4);
        z->isdst[i] = p[i * 6 + 4] != 0;
    }
    z->ntypes = typecnt;
    z->ntimes = timecnt;
    p += typecnt * 6 + charcnt + leap * (w + 4) + isstd + isutc;
    if (w == 8 && (size_t)(p - b) < n && *p == '\n') {
        char footer[128];
        size_t len = 0;
        p++;
        while ((size_t)(p - b) < n && *p != '\n' && len + 1 < sizeof(footer))
            footer[len++] = (char)*p++;
        footer[len] = '\0';
        posix_parse(z, footer);
    }
    return 0;
}

/* The day of month of the w-th weekday d of month m in year y (w 5: last). */
static int rule_mday(int y, int m, int w, int d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int max = mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    int wd1 = (int)((tz_days_from_civil(y, m, 1) % 7 + 11) % 7); /* 1970-01-01: Thu */
    int day = 1 + (d - wd1 + 7) % 7 + (w - 1) * 7;

    while (day > max)
        day -= 7;
    return day;
}

/* The offset (seconds east of UTC) in force at UTC second t. */
static int32_t zone_offset(const struct tz_zone *z, int64_t t)
{
    size_t lo = 0, hi = z->ntimes;

    if (z->ntimes == 0 || t < z->times[0]) {
        if (z->ntimes == 0 && z->rule && !z->has_dst)
            return z->std_off;
        if (z->ntimes > 0 || !z->rule)
            return z->utoff[0];
    } else if (t < z->times[z->ntimes - 1] || !z->rule) {
        while (hi - lo > 1) {
            size_t mid = (lo + hi) / 2;
            if (z->times[mid] <= t)
                lo = mid;
            else
                hi = mid;
        }
        return z->utoff[z->idx[lo]];
    }
    if (!z->has_dst)
        return z->std_off;
    {
        int64_t days = (t + z->std_off) / 86400 - ((t + z->std_off) % 86400 < 0);
        /* The civil year of that day (Hinnant's civil_from_days, year only). */
        int64_t zd = days + 719468, era = (zd >= 0 ? zd : zd - 146096) / 146097;
        int64_t doe = zd - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        int y = (int)(yoe + era * 400 + (mp >= 10));
        int64_t start =
            tz_days_from_civil(y, z->sm, rule_mday(y, z->sm, z->sw, z->sd)) * 86400 +
            z->stime - z->std_off;
        int64_t end =
            tz_days_from_civil(y, z->em, rule_mday(y, z->em, z->ew, z->ed)) * 86400 +
            z->etime - z->dst_off;
        bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
        return dst ? z->dst_off : z->std_off;
    }
}

int tz_local_to_utc(const char *dir, const char *name, int y, int mo, int d, int h,
                    int mi, int64_t *utc_ms)
{
    char path[256];
    unsigned char *buf;
    struct tz_zone z;
    size_t n;
    FILE *f;
    int64_t local, best = 0;
    bool found = false;
    int rc;

    if (!tz_name_ok(name))
        return -1;
    if (snprintf(path, sizeof(path), "%s/%s", dir ? dir : TZ_DIR_DEFAULT, name) >=
        (int)sizeof(path))
        return -1;
    if (!(f = fopen(path, "rb")))
        return -1;
    buf = malloc(TZ_FILE_MAX);
    n = buf ? fread(buf, 1, TZ_FILE_MAX, f) : 0;
    fclose(f);
    rc = buf ? zone_parse(&z, buf, n) : -1;
    free(buf);
    if (rc) {
        if (buf)
            zone_free(&z);
        return -1;
    }
    local = tz_days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60;
    /* Every offset is within 26 hours of UTC: the ones in force half a day
     * either side are the candidates. */
    int32_t cand[2] = {zone_offset(&z, local - 50400), zone_offset(&z, local + 50400)};
    for (int i = 0; i < 2; i++) {
        int64_t t = local - cand[i];
        if (zone_offset(&z, t) == cand[i] && (!found || t < best)) {
            best = t;
            found = true;
        }
    }
    if (!found)
        best = local - cand[0]; /* in the gap: the offset before the change */
    zone_free(&z);
    *utc_ms = best * 1000;
    return 0;
}
