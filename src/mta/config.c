/* config.c - loading and validating the MTA's INI configuration
 *
 * Why: a configuration mistake found at start-up costs a minute; found at 3 a.m. as mail that
 *      silently stopped flowing (seed 001) it costs a night. Every key is checked against a
 *      table, every problem carries file:line and the fix, and all problems are reported at
 *      once, not the first only.
 * File format: libinih's INI. Sections [mta], [log], [connector NAME]. Keys are kebab-case;
 *      address-space, local-address-space and window may repeat. Comments start with ';' or
 *      '#' at the start of a line, or ' ;' inside one - which is why O/R addresses are written
 *      in the /C=GB/A= /P=Site/ form here (the ';' form would start a comment at "A= ;").
 * Inheritance: a connector takes every value it does not set from [mta], wherever in the file
 *      [mta] stands. */
#include "openx400/config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void ox_mta_values_default(ox_mta_values *v)
{
    *v = (ox_mta_values){
        .checkpoint_size = 30 * 1024,
        .recovery_timeout_s = 60,
        .window_size = 5,
        .max_open_retries = 144,
        .max_transfer_retries = 2,
        .open_interval_s = 600,
        .transfer_interval_s = 120,
        .lifetime_s = 300,
        .disconnect_s = 120,
        .threshold = 50,
        .max_associations = 10,
        .transfer_timeout_s_per_kb = {1000, 2000, 3000},
        .message_timeout_s = {2 * 86400, 7 * 86400, 10 * 86400},
    };
}

static const char *const category_names[OX_CAT_COUNT] = {
    [OX_CAT_X400_SERVICE] = "x400-service",
    [OX_CAT_RESOURCE] = "resource",
    [OX_CAT_SECURITY] = "security",
    [OX_CAT_INTERFACE] = "interface",
    [OX_CAT_FIELD_ENGINEERING] = "field-engineering",
    [OX_CAT_MTA_ADMINISTRATION] = "mta-administration",
    [OX_CAT_CONFIGURATION] = "configuration",
    [OX_CAT_DIRECTORY_ACCESS] = "directory-access",
    [OX_CAT_OPERATING_SYSTEM] = "operating-system",
    [OX_CAT_INTERNAL_PROCESSING] = "internal-processing",
    [OX_CAT_INTEROPERABILITY] = "interoperability",
    [OX_CAT_APDU] = "apdu",
};

const char *ox_log_category_name(ox_log_category c)
{
    return (unsigned)c < OX_CAT_COUNT ? category_names[c] : "unknown";
}

int ox_log_category_parse(const char *name)
{
    for (int i = 0; i < OX_CAT_COUNT; i++)
        if (!strcasecmp(name, category_names[i]))
            return i;
    return -1;
}

const char *ox_log_level_name(int level)
{
    switch (level) {
    case OX_LEVEL_NONE: return "none";
    case OX_LEVEL_MINIMUM: return "minimum";
    case OX_LEVEL_MEDIUM: return "medium";
    case OX_LEVEL_MAXIMUM: return "maximum";
    default: return level < OX_LEVEL_MEDIUM ? "minimum+" : "medium+";
    }
}

/* ---- the value table shared by [mta] and [connector] ---- */

typedef enum { V_COUNT, V_SECONDS, V_BYTES } value_kind;

typedef struct value_key {
    const char *key;
    size_t offset; /* into ox_mta_values */
    value_kind kind;
    uint32_t min, max;
    const char *why_min; /* shown when the value is below min */
} value_key;

#define VOFF(f) offsetof(ox_mta_values, f)
static const value_key value_keys[] = {
    {"checkpoint-size", VOFF(checkpoint_size), V_BYTES, 0, 16u << 20, NULL},
    {"recovery-timeout", VOFF(recovery_timeout_s), V_SECONDS, 1, 86400, NULL},
    {"window-size", VOFF(window_size), V_COUNT, 1, 64, NULL},
    {"max-open-retries", VOFF(max_open_retries), V_COUNT, 0, 100000, NULL},
    {"max-transfer-retries", VOFF(max_transfer_retries), V_COUNT, 0, 1000, NULL},
    {"open-interval", VOFF(open_interval_s), V_SECONDS, 15, 7 * 86400, NULL},
    {"transfer-interval", VOFF(transfer_interval_s), V_SECONDS, 1, 7 * 86400, NULL},
    {"lifetime", VOFF(lifetime_s), V_SECONDS, 0, 86400, NULL},
    {"disconnect", VOFF(disconnect_s), V_SECONDS, 1, 3600, NULL},
    {"threshold", VOFF(threshold), V_COUNT, 1, 100000, NULL},
    {"max-associations", VOFF(max_associations), V_COUNT, 1, 128, NULL},
    {"transfer-timeout-urgent", VOFF(transfer_timeout_s_per_kb[0]), V_SECONDS, 1, 1u << 30, NULL},
    {"transfer-timeout-normal", VOFF(transfer_timeout_s_per_kb[1]), V_SECONDS, 1, 1u << 30, NULL},
    {"transfer-timeout-non-urgent", VOFF(transfer_timeout_s_per_kb[2]), V_SECONDS, 1, 1u << 30,
     NULL},
    {"message-timeout-urgent", VOFF(message_timeout_s[0]), V_SECONDS, 1, 365 * 86400, NULL},
    {"message-timeout-normal", VOFF(message_timeout_s[1]), V_SECONDS, 1, 365 * 86400, NULL},
    {"message-timeout-non-urgent", VOFF(message_timeout_s[2]), V_SECONDS, 1, 365 * 86400, NULL},
};
#define N_VALUES OX_ARRAY_LEN(value_keys)

/* ---- parse state ---- */

typedef struct seen_key {
    char section[80];
    char key[48];
    int line;
} seen_key;

typedef struct parse_state {
    ox_mta_cfg *cfg;
    ox_config_diag *diag;
    const char *file;
    int line;      /* line the reader handed to inih last */
    char raw[512]; /* that line as written */
    bool in_mta_section_seen;
    uint32_t mta_values_set; /* bit per value_keys entry */
    uint32_t conn_values_set[OX_CFG_CONNECTOR_MAX];
    uint32_t open_interval_floor;
    int low_open_interval_line[1 + OX_CFG_CONNECTOR_MAX]; /* [0] = [mta], [1+i] = connector i */
    seen_key seen[512];
    size_t n_seen;
    /* reader source: a FILE or a string */
    FILE *fp;
    const char *text;
} parse_state;

static void diag_add(parse_state *st, int line, bool error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void diag_add(parse_state *st, int line, bool error, const char *fmt, ...)
{
    ox_config_diag *d = st->diag;
    if (error)
        d->errors++;
    else
        d->warnings++;
    if (d->len >= sizeof(d->text) - 1)
        return;
    int n = line > 0 ? snprintf(d->text + d->len, sizeof(d->text) - d->len, "%s:%d: %s: ", st->file,
                                line, error ? "error" : "warning")
                     : snprintf(d->text + d->len, sizeof(d->text) - d->len, "%s: %s: ", st->file,
                                error ? "error" : "warning");
    if (n > 0)
        d->len += (size_t)n;
    if (d->len >= sizeof(d->text) - 1) {
        d->len = sizeof(d->text) - 1;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(d->text + d->len, sizeof(d->text) - d->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        d->len += (size_t)n;
    if (d->len >= sizeof(d->text) - 1)
        d->len = sizeof(d->text) - 2;
    d->text[d->len++] = '\n';
    d->text[d->len] = '\0';
}

/* inih reader: hands out one line at a time so we know each key's line, refuses lines too
 * long for inih's buffer (it would silently split them) and keeps the raw line. */
static char *read_line(char *str, int num, void *stream)
{
    parse_state *st = stream;
    size_t cap = (size_t)num;
    size_t n = 0;
    bool eof = true;
    int c;
    char line[1024];
    for (;;) {
        if (st->fp) {
            c = fgetc(st->fp);
        } else {
            c = *st->text ? (unsigned char)*st->text++ : EOF;
        }
        if (c == EOF)
            break;
        eof = false;
        if (n < sizeof(line) - 1)
            line[n++] = (char)c;
        if (c == '\n')
            break;
    }
    if (eof)
        return NULL;
    line[n] = '\0';
    st->line++;
    size_t keep = n < sizeof(st->raw) - 1 ? n : sizeof(st->raw) - 1;
    memcpy(st->raw, line, keep);
    st->raw[keep] = '\0';
    if (n >= cap) {
        diag_add(st, st->line, true,
                 "line is %zu characters long, at most %zu are read; shorten it (a long "
                 "command can live in a script the line names)",
                 n, cap - 2);
        str[0] = '\n';
        str[1] = '\0';
        return str;
    }
    memcpy(str, line, n + 1);
    return str;
}

/* Levenshtein distance, for "did you mean" on unknown keys. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    size_t prev[41], cur[41];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] +
                         (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(prev));
    }
    return prev[lb];
}

static const char *const mta_keys[] = {"name",
                                       "password",
                                       "listen",
                                       "tsel",
                                       "ssel",
                                       "psel",
                                       "queue",
                                       "mailbox",
                                       "event-log",
                                       "control-socket",
                                       "syslog",
                                       "timezone",
                                       "local-address-space",
                                       "open-interval-floor",
                                       "global-domain",
                                       NULL};
static const char *const conn_keys[] = {"kind",
                                        "peer-mta",
                                        "peer-password",
                                        "peer-address",
                                        "override-name",
                                        "override-password",
                                        "address-space",
                                        "schedule",
                                        "window",
                                        "link-up",
                                        "link-down",
                                        "link-timeout",
                                        "bindback",
                                        "bindback-source-fallback",
                                        "bindback-address",
                                        "local-address",
                                        "advertise-address",
                                        "mode",
                                        NULL};

static void unknown_key(parse_state *st, const char *section, const char *key,
                        const char *const *keys, bool values)
{
    const char *best = NULL;
    size_t bestd = 3;
    for (size_t i = 0; keys && keys[i]; i++) {
        size_t d = edit_distance(key, keys[i]);
        if (d < bestd) {
            bestd = d;
            best = keys[i];
        }
    }
    for (size_t i = 0; values && i < N_VALUES; i++) {
        size_t d = edit_distance(key, value_keys[i].key);
        if (d < bestd) {
            bestd = d;
            best = value_keys[i].key;
        }
    }
    if (best)
        diag_add(st, st->line, true, "unknown key '%s' in [%s]; did you mean '%s'?", key, section,
                 best);
    else
        diag_add(st, st->line, true, "unknown key '%s' in [%s]; see docs/CONFIG.md for the keys",
                 key, section);
}

/* Records a key; a second occurrence of a non-repeatable key is an error. */
static bool first_time(parse_state *st, const char *section, const char *key)
{
    for (size_t i = 0; i < st->n_seen; i++) {
        if (!strcmp(st->seen[i].section, section) && !strcmp(st->seen[i].key, key)) {
            diag_add(st, st->line, true, "'%s' is set twice in [%s] (first at line %d); keep one",
                     key, section, st->seen[i].line);
            return false;
        }
    }
    if (st->n_seen < OX_ARRAY_LEN(st->seen)) {
        seen_key *s = &st->seen[st->n_seen++];
        snprintf(s->section, sizeof(s->section), "%s", section);
        snprintf(s->key, sizeof(s->key), "%s", key);
        s->line = st->line;
    }
    return true;
}

static bool copy_str(parse_state *st, char *dst, size_t cap, const char *key, const char *value)
{
    size_t n = strlen(value);
    if (n >= cap) {
        diag_add(st, st->line, true, "'%s' is %zu characters long; at most %zu are allowed", key, n,
                 cap - 1);
        return false;
    }
    memcpy(dst, value, n + 1);
    return true;
}

/* "600", "10m", "2h", "7d" -> seconds; "30K", "1M", "30720" -> bytes. */
static bool parse_number(const char *s, value_kind kind, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)*s))
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return false;
    uint64_t mul = 1;
    if (*end) {
        char u = (char)tolower((unsigned char)*end);
        if (end[1] != '\0' &&
            !(kind == V_BYTES && tolower((unsigned char)end[1]) == 'b' && end[2] == '\0'))
            return false;
        if (kind == V_SECONDS && u == 's')
            mul = 1;
        else if (kind == V_SECONDS && u == 'm')
            mul = 60;
        else if (kind == V_SECONDS && u == 'h')
            mul = 3600;
        else if (kind == V_SECONDS && u == 'd')
            mul = 86400;
        else if (kind == V_BYTES && u == 'k')
            mul = 1024;
        else if (kind == V_BYTES && u == 'm')
            mul = 1024 * 1024;
        else
            return false;
    }
    if (v > UINT64_MAX / mul)
        return false;
    *out = v * mul;
    return true;
}

static bool parse_bool(const char *s, bool *b)
{
    if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") || !strcasecmp(s, "on") || !strcmp(s, "1"))
        *b = true;
    else if (!strcasecmp(s, "no") || !strcasecmp(s, "false") || !strcasecmp(s, "off") ||
             !strcmp(s, "0"))
        *b = false;
    else
        return false;
    return true;
}

/* Tries the value table; returns true when |key| is one of its keys. */
static bool handle_value(parse_state *st, ox_mta_values *v, uint32_t *set, const char *section,
                         const char *key, const char *value)
{
    for (size_t i = 0; i < N_VALUES; i++) {
        const value_key *k = &value_keys[i];
        if (strcmp(k->key, key))
            continue;
        if (!first_time(st, section, key))
            return true;
        uint64_t n;
        static const char *const units[] = {"", " (seconds, or with s/m/h/d)",
                                            " (bytes, or with K/M)"};
        if (!parse_number(value, k->kind, &n)) {
            diag_add(st, st->line, true, "'%s = %s' is not a number%s", key, value, units[k->kind]);
            return true;
        }
        /* The Open Interval floor may be lowered later in the file: checked in validate(). */
        uint32_t min = strcmp(key, "open-interval") ? k->min : 1;
        if (n < min || n > k->max) {
            diag_add(st, st->line, true, "'%s = %s' is outside %u..%u%s%s", key, value, min, k->max,
                     k->why_min && n < min ? ": " : "", k->why_min && n < min ? k->why_min : "");
            return true;
        }
        *(uint32_t *)((char *)v + k->offset) = (uint32_t)n;
        *set |= 1u << i;
        if (!strcmp(key, "open-interval") && n < k->min)
            st->low_open_interval_line[set == &st->mta_values_set
                                           ? 0
                                           : 1 + (set - st->conn_values_set)] = st->line;
        return true;
    }
    return false;
}

/* "host:port", "[v6]:port" */
static bool parse_hostport(const char *s, char *host, size_t cap, uint16_t *port)
{
    const char *colon;
    const char *h = s;
    size_t hl;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return false;
        h = s + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return false;
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= cap)
        return false;
    char *end;
    errno = 0;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (errno || *end || p == 0 || p > 65535 || colon[1] == '\0')
        return false;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (uint16_t)p;
    return true;
}

/* Selector: "0x4d5441" (hex) or "MTA" (text). */
static bool parse_selector(const char *s, uint8_t *dst, uint8_t *len)
{
    size_t n = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        ox_buf b;
        ox_buf_init(&b, NULL, dst, OX_CFG_SEL_MAX);
        b.max = OX_CFG_SEL_MAX;
        int rc = ox_hex_decode(&b, s + 2);
        n = b.len;
        ox_buf_free(&b);
        if (rc)
            return false;
    } else {
        n = strlen(s);
        if (n > OX_CFG_SEL_MAX)
            return false;
        memcpy(dst, s, n);
    }
    *len = (uint8_t)n;
    return true;
}

/* "PATTERN" or "PATTERN cost N" */
static void add_space(parse_state *st, ox_addr_space *arr, size_t *n, const char *key,
                      const char *value)
{
    if (strstr(st->raw, " ;")) {
        diag_add(st, st->line, true,
                 "' ;' starts a comment in this file, so the address is cut short; write it "
                 "in the /C=GB/A= /P=Site/ form");
        return;
    }
    if (*n >= OX_CFG_ADDRSPACE_MAX) {
        diag_add(st, st->line, true, "more than %d %s entries", OX_CFG_ADDRSPACE_MAX, key);
        return;
    }
    ox_addr_space *a = &arr[*n];
    memset(a, 0, sizeof(*a));
    a->cost = 1;
    a->line = st->line;
    const char *cost = strstr(value, " cost ");
    size_t plen = cost ? (size_t)(cost - value) : strlen(value);
    while (plen && value[plen - 1] == ' ')
        plen--;
    if (plen == 0 || plen >= sizeof(a->pattern)) {
        diag_add(st, st->line, true, "'%s' needs an O/R address pattern such as /C=GB/A= /P=Site/",
                 key);
        return;
    }
    if (!strchr(value, '=')) {
        diag_add(st, st->line, true,
                 "'%s = %s' is not an O/R address pattern; write attributes like /C=GB/A= /P=Site/",
                 key, value);
        return;
    }
    memcpy(a->pattern, value, plen);
    a->pattern[plen] = '\0';
    if (cost) {
        uint64_t c;
        if (!parse_number(cost + 6, V_COUNT, &c) || c < 1 || c > 100) {
            diag_add(st, st->line, true, "address-space cost must be 1..100 (lower wins)");
            return;
        }
        a->cost = (uint32_t)c;
    }
    (*n)++;
}

static const char *const day_names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

static int parse_day(const char *s)
{
    for (int i = 0; i < 7; i++)
        if (!strncasecmp(s, day_names[i], 3))
            return i;
    return -1;
}

/* "HH:MM" or "HH:MM:SS" (seconds let tests use windows that open within a minute) into
 * seconds since midnight; -1 when malformed. */
static int parse_clock(const char *s, const char **end)
{
    int h, m, sec = 0, n = 0, n2 = 0;
    if (sscanf(s, "%2d:%2d%n", &h, &m, &n) != 2)
        return -1;
    if (s[n] == ':' && sscanf(s + n + 1, "%2d%n", &sec, &n2) == 1)
        n += 1 + n2;
    if (h < 0 || h > 24 || m < 0 || m > 59 || sec < 0 || sec > 59 || (h == 24 && (m || sec)))
        return -1;
    *end = s + n;
    return h * 3600 + m * 60 + sec;
}

/* "Mon 08:00-17:00", "Mon-Fri 08:00-17:00", "daily 22:00-06:00" (may cross midnight),
 * "Tue 10:15:30-10:16:00". */
static void add_window(parse_state *st, ox_connector_cfg *c, const char *value)
{
    int d0, d1;
    char days[16];
    const char *p = value, *e;
    int n = 0;
    int start = -1, end = -1;
    if (sscanf(value, "%15s %n", days, &n) == 1 && n > 0) {
        p = value + n;
        start = parse_clock(p, &e);
        if (start >= 0 && *e == '-') {
            end = parse_clock(e + 1, &e);
            if (*e != '\0')
                end = -1;
        }
    }
    if (start < 0 || end < 0) {
        diag_add(st, st->line, true,
                 "window '%s' is not 'DAY[-DAY] HH:MM[:SS]-HH:MM[:SS]' (e.g. 'Mon-Fri "
                 "08:00-17:00')",
                 value);
        return;
    }
    if (!strcasecmp(days, "daily")) {
        d0 = 0;
        d1 = 6;
    } else {
        d0 = parse_day(days);
        const char *dash = strchr(days, '-');
        d1 = dash ? parse_day(dash + 1) : d0;
        if (d0 < 0 || d1 < 0 || (strlen(days) != 3 && strlen(days) != 7)) {
            diag_add(st, st->line, true,
                     "window '%s': days are Mon..Sun, a range Mon-Fri, or daily", value);
            return;
        }
    }
    if (start == end) {
        diag_add(st, st->line, true, "window '%s' is empty", value);
        return;
    }
    for (int d = d0;; d = (d + 1) % 7) {
        if (c->n_windows >= OX_CFG_WINDOW_MAX) {
            diag_add(st, st->line, true, "more than %d schedule windows", OX_CFG_WINDOW_MAX);
            return;
        }
        uint32_t s0 = (uint32_t)d * 86400 + (uint32_t)start;
        uint32_t e0 = (uint32_t)d * 86400 + (uint32_t)end + (end < start ? 86400 : 0);
        c->windows[c->n_windows++] = (ox_sched_window){s0, e0};
        if (d == d1)
            break;
    }
}

bool ox_schedule_open_at(const ox_connector_cfg *c, uint32_t t)
{
    for (size_t i = 0; i < c->n_windows; i++) {
        const ox_sched_window *w = &c->windows[i];
        /* A window may run past Sunday midnight into Monday. */
        if ((t >= w->start_s && t < w->end_s) || (w->end_s > OX_WEEK_S && t + OX_WEEK_S < w->end_s))
            return true;
    }
    return false;
}

uint32_t ox_schedule_next_open(const ox_connector_cfg *c, uint32_t t)
{
    uint32_t best = UINT32_MAX;
    for (size_t i = 0; i < c->n_windows; i++) {
        uint32_t s0 = c->windows[i].start_s;
        uint32_t wait = s0 >= t ? s0 - t : s0 + OX_WEEK_S - t;
        if (wait < best)
            best = wait;
    }
    return best;
}

static int handle_mta(parse_state *st, const char *key, const char *value)
{
    ox_mta_cfg *cfg = st->cfg;
    if (handle_value(st, &cfg->values, &st->mta_values_set, "mta", key, value))
        return 1;
    bool repeat = !strcmp(key, "local-address-space");
    bool known = false;
    for (size_t i = 0; mta_keys[i]; i++)
        known |= !strcmp(mta_keys[i], key);
    if (!known) {
        unknown_key(st, "mta", key, mta_keys, true);
        return 1;
    }
    if (!repeat && !first_time(st, "mta", key))
        return 1;
    if (!strcmp(key, "name")) {
        copy_str(st, cfg->name, 33, key, value); /* X.411 ub-mta-name-length 32 */
    } else if (!strcmp(key, "password")) {
        copy_str(st, cfg->password, 63, key, value); /* ub-password-length 62 */
    } else if (!strcmp(key, "listen")) {
        if (!parse_hostport(value, cfg->listen_host, sizeof(cfg->listen_host), &cfg->listen_port))
            diag_add(st, st->line, true,
                     "listen '%s' is not HOST:PORT (e.g. 0.0.0.0:102 or [::1]:10102)", value);
    } else if (!strcmp(key, "tsel") || !strcmp(key, "ssel") || !strcmp(key, "psel")) {
        uint8_t *dst = key[0] == 't' ? cfg->tsel : key[0] == 's' ? cfg->ssel : cfg->psel;
        uint8_t *len = key[0] == 't'   ? &cfg->tsel_len
                       : key[0] == 's' ? &cfg->ssel_len
                                       : &cfg->psel_len;
        if (!parse_selector(value, dst, len))
            diag_add(st, st->line, true, "%s '%s' is neither text nor 0x-hex of at most %d octets",
                     key, value, OX_CFG_SEL_MAX);
    } else if (!strcmp(key, "queue")) {
        copy_str(st, cfg->queue_path, sizeof(cfg->queue_path), key, value);
    } else if (!strcmp(key, "mailbox")) {
        copy_str(st, cfg->mailbox_dir, sizeof(cfg->mailbox_dir), key, value);
    } else if (!strcmp(key, "event-log")) {
        copy_str(st, cfg->event_log_path, sizeof(cfg->event_log_path), key, value);
    } else if (!strcmp(key, "control-socket")) {
        copy_str(st, cfg->control_path, 108, key, value); /* sun_path */
    } else if (!strcmp(key, "syslog")) {
        if (!parse_bool(value, &cfg->syslog))
            diag_add(st, st->line, true, "syslog must be yes or no");
    } else if (!strcmp(key, "global-domain")) {
        if (strstr(st->raw, " ;"))
            diag_add(st, st->line, true,
                     "' ;' starts a comment in this file, so the domain is cut short; write it "
                     "in the /C=GB/A= /P=Site/ form");
        else
            copy_str(st, cfg->global_domain, sizeof(cfg->global_domain), key, value);
    } else if (!strcmp(key, "timezone")) {
        copy_str(st, cfg->timezone, sizeof(cfg->timezone), key, value);
    } else if (!strcmp(key, "local-address-space")) {
        add_space(st, cfg->local_spaces, &cfg->n_local_spaces, key, value);
    } else if (!strcmp(key, "open-interval-floor")) {
        uint64_t n;
        if (!parse_number(value, V_SECONDS, &n) || n < 1 || n > 15)
            diag_add(st, st->line, true, "open-interval-floor must be 1..15 seconds");
        else
            st->open_interval_floor = (uint32_t)n;
    }
    return 1;
}

static int handle_log(parse_state *st, const char *key, const char *value)
{
    int cat = ox_log_category_parse(key);
    if (cat < 0) {
        const char *best = NULL;
        size_t bestd = 4;
        for (int i = 0; i < OX_CAT_COUNT; i++) {
            size_t d = edit_distance(key, category_names[i]);
            if (d < bestd) {
                bestd = d;
                best = category_names[i];
            }
        }
        diag_add(st, st->line, true, "unknown log category '%s'%s%s%s", key,
                 best ? "; did you mean '" : "", best ? best : "", best ? "'?" : "");
        return 1;
    }
    if (!first_time(st, "log", key))
        return 1;
    int level = -1;
    static const struct {
        const char *name;
        int level;
    } levels[] = {{"none", 0}, {"minimum", 1}, {"medium", 3}, {"maximum", 5}};
    for (size_t i = 0; i < OX_ARRAY_LEN(levels); i++)
        if (!strcasecmp(value, levels[i].name))
            level = levels[i].level;
    if (level < 0 && value[0] >= '0' && value[0] <= '5' && value[1] == '\0')
        level = value[0] - '0';
    if (level < 0)
        diag_add(st, st->line, true,
                 "log level '%s' must be none, minimum, medium, maximum or 0..5", value);
    else
        st->cfg->log_level[cat] = (uint8_t)level;
    return 1;
}

static int handle_connector(parse_state *st, ox_connector_cfg *c, size_t idx, const char *section,
                            const char *key, const char *value)
{
    if (handle_value(st, &c->values, &st->conn_values_set[idx], section, key, value))
        return 1;
    bool known = false;
    for (size_t i = 0; conn_keys[i]; i++)
        known |= !strcmp(conn_keys[i], key);
    if (!known) {
        unknown_key(st, section, key, conn_keys, true);
        return 1;
    }
    bool repeat = !strcmp(key, "address-space") || !strcmp(key, "window");
    if (!repeat && !first_time(st, section, key))
        return 1;
    if (!strcmp(key, "kind")) {
        if (!strcasecmp(value, "lan") || !strcasecmp(value, "tcp"))
            c->kind = OX_CONN_LAN;
        else if (!strcasecmp(value, "ondemand") || !strcasecmp(value, "on-demand") ||
                 !strcasecmp(value, "dynamic-ras"))
            c->kind = OX_CONN_ONDEMAND;
        else
            diag_add(st, st->line, true, "kind '%s' must be lan or ondemand", value);
        if (c->kind == OX_CONN_ONDEMAND) /* bindback defaults on for on-demand links */
            c->bindback = true;
    } else if (!strcmp(key, "peer-mta")) {
        copy_str(st, c->peer_mta, 33, key, value);
    } else if (!strcmp(key, "peer-password")) {
        copy_str(st, c->peer_password, 63, key, value);
    } else if (!strcmp(key, "peer-address")) {
        if (!parse_hostport(value, c->peer_host, sizeof(c->peer_host), &c->peer_port))
            diag_add(st, st->line, true, "peer-address '%s' is not HOST:PORT", value);
    } else if (!strcmp(key, "override-name")) {
        copy_str(st, c->local_name, 33, key, value);
    } else if (!strcmp(key, "override-password")) {
        copy_str(st, c->local_password, 63, key, value);
    } else if (!strcmp(key, "address-space")) {
        add_space(st, c->spaces, &c->n_spaces, key, value);
    } else if (!strcmp(key, "schedule")) {
        static const char *const names[] = {"never", "always", "remote-initiated",
                                            "selected-times"};
        size_t i;
        for (i = 0; i < 4 && strcasecmp(value, names[i]); i++)
            ;
        if (i == 4)
            diag_add(st, st->line, true,
                     "schedule '%s' must be never, always, remote-initiated or selected-times",
                     value);
        else
            c->schedule = (ox_schedule)i;
    } else if (!strcmp(key, "window")) {
        add_window(st, c, value);
    } else if (!strcmp(key, "link-up")) {
        copy_str(st, c->link_up, sizeof(c->link_up), key, value);
    } else if (!strcmp(key, "link-down")) {
        copy_str(st, c->link_down, sizeof(c->link_down), key, value);
    } else if (!strcmp(key, "link-timeout")) {
        uint64_t n;
        if (!parse_number(value, V_SECONDS, &n) || n < 1 || n > 3600)
            diag_add(st, st->line, true, "link-timeout must be 1..3600 seconds");
        else
            c->link_timeout_s = (uint32_t)n;
    } else if (!strcmp(key, "bindback") || !strcmp(key, "bindback-source-fallback")) {
        bool *b = key[8] == '\0' ? &c->bindback : &c->bindback_source_fallback;
        if (!parse_bool(value, b))
            diag_add(st, st->line, true, "%s must be yes or no", key);
    } else if (!strcmp(key, "bindback-address")) {
        /* HOST (a name, IPv4 or a bare IPv6 address: the peer-port is used), HOST:PORT or
         * [V6]:PORT. */
        const char *colon = strchr(value, ':');
        bool with_port = value[0] == '[' || (colon && !strchr(colon + 1, ':'));
        c->bindback_port = 0;
        if (with_port ? !parse_hostport(value, c->bindback_host, sizeof(c->bindback_host),
                                        &c->bindback_port)
                      : !*value || strlen(value) >= sizeof(c->bindback_host))
            diag_add(st, st->line, true,
                     "bindback-address '%s' is not HOST, HOST:PORT or [V6]:PORT", value);
        else if (!with_port)
            copy_str(st, c->bindback_host, sizeof(c->bindback_host), key, value);
    } else if (!strcmp(key, "local-address")) {
        copy_str(st, c->local_address, sizeof(c->local_address), key, value);
    } else if (!strcmp(key, "advertise-address")) {
        copy_str(st, c->advertise_address, sizeof(c->advertise_address), key, value);
    } else if (!strcmp(key, "mode")) {
        if (!strcmp(value, "1988") || !strcasecmp(value, "normal"))
            c->x410_1984 = false;
        else if (!strcmp(value, "1984") || !strcasecmp(value, "x410-1984"))
            c->x410_1984 = true;
        else
            diag_add(st, st->line, true, "mode '%s' must be 1988 (normal) or 1984 (X.410-1984)",
                     value);
    }
    return 1;
}

static int on_key(void *user, const char *section, const char *key, const char *value)
{
    parse_state *st = user;
    ox_mta_cfg *cfg = st->cfg;
    if (!strcmp(section, "mta"))
        return handle_mta(st, key, value);
    if (!strcmp(section, "log"))
        return handle_log(st, key, value);
    if (!strncmp(section, "connector ", 10)) {
        const char *name = section + 10;
        while (*name == ' ')
            name++;
        size_t i;
        for (i = 0; i < cfg->n_connectors; i++)
            if (!strcmp(cfg->connectors[i].name, name))
                break;
        if (i == cfg->n_connectors) {
            if (cfg->n_connectors >= OX_CFG_CONNECTOR_MAX) {
                diag_add(st, st->line, true, "more than %d connectors", OX_CFG_CONNECTOR_MAX);
                return 1;
            }
            ox_connector_cfg *c = &cfg->connectors[cfg->n_connectors++];
            memset(c, 0, sizeof(*c));
            if (!copy_str(st, c->name, sizeof(c->name), "connector name", name))
                c->name[0] = '?';
            c->line = st->line; /* first key's line; the header is just above */
            c->schedule = OX_SCHED_ALWAYS;
            c->bindback_source_fallback = true;
            c->link_timeout_s = 60;
        }
        return handle_connector(st, &cfg->connectors[i], i, section, key, value);
    }
    diag_add(st, st->line, true,
             "unknown section [%s]; sections are [mta], [log], [connector NAME]", section);
    return 1;
}

/* Seed 001: names are compared as X.400 compares printable strings (case and spaces folded). */
static bool names_equal_folded(const char *a, const char *b)
{
    for (;;) {
        while (*a == ' ')
            a++;
        while (*b == ' ')
            b++;
        if (!*a || !*b)
            return !*a && !*b;
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
        a++;
        b++;
    }
}

static void validate(parse_state *st)
{
    ox_mta_cfg *cfg = st->cfg;
    uint32_t floor = st->open_interval_floor ? st->open_interval_floor : 15;
    for (size_t i = 0; i <= cfg->n_connectors; i++) {
        int line = st->low_open_interval_line[i];
        uint32_t v =
            i ? cfg->connectors[i - 1].values.open_interval_s : cfg->values.open_interval_s;
        if (line && v < floor)
            diag_add(
                st, line, true,
                "open-interval %u s is below %u s: smaller values caused redial and NDR "
                "storms (seed 002); tests with short timers set 'open-interval-floor' in [mta]",
                v, floor);
    }
    if (!cfg->name[0])
        diag_add(st, 0, true, "[mta] has no 'name' (the Local MTA Name peers bind with); add one");
    if (!cfg->password[0])
        diag_add(st, 0, false,
                 "[mta] has no 'password': peers that expect one will refuse our binds");
    if (!cfg->listen_port)
        diag_add(st, 0, true, "[mta] has no 'listen = HOST:PORT' (RFC 1006 uses port 102)");
    if (!cfg->global_domain[0])
        diag_add(st, 0, true,
                 "[mta] has no 'global-domain' (e.g. /C=GB/A= /P=SiteA/): it names this MTA's "
                 "domain in message identifiers and trace");
    if (!cfg->n_local_spaces)
        diag_add(st, 0, false, "[mta] has no 'local-address-space': nothing is delivered locally");
    for (size_t i = 0; i < cfg->n_connectors; i++) {
        ox_connector_cfg *c = &cfg->connectors[i];
        /* Values the connector did not set come from [mta]. */
        for (size_t k = 0; k < N_VALUES; k++) {
            if (st->conn_values_set[i] & (1u << k))
                continue;
            size_t off = value_keys[k].offset;
            *(uint32_t *)((char *)&c->values + off) = *(uint32_t *)((char *)&cfg->values + off);
        }
        if (!c->peer_mta[0])
            diag_add(st, c->line, true,
                     "[connector %s] has no 'peer-mta' (the remote's Local MTA Name)", c->name);
        if (!c->peer_port && c->schedule != OX_SCHED_REMOTE_INITIATED &&
            c->schedule != OX_SCHED_NEVER)
            diag_add(st, c->line, true,
                     "[connector %s] has no 'peer-address = HOST:PORT'; set it, or use "
                     "'schedule = remote-initiated'",
                     c->name);
        if (!c->n_spaces)
            diag_add(st, c->line, false,
                     "[connector %s] has no 'address-space': no mail is routed to it", c->name);
        if (c->kind == OX_CONN_ONDEMAND && !c->link_up[0])
            diag_add(st, c->line, true,
                     "[connector %s] is on-demand but has no 'link-up' command to bring the link "
                     "up",
                     c->name);
        if (c->schedule == OX_SCHED_SELECTED_TIMES && !c->n_windows)
            diag_add(st, c->line, true,
                     "[connector %s] has 'schedule = selected-times' but no 'window'", c->name);
        if (c->n_windows && c->schedule != OX_SCHED_SELECTED_TIMES)
            diag_add(st, c->line, false,
                     "[connector %s] has windows but its schedule is not selected-times; they are "
                     "ignored",
                     c->name);
        if (c->peer_mta[0] && cfg->name[0] && names_equal_folded(c->peer_mta, cfg->name))
            diag_add(st, c->line, true, "[connector %s] peer-mta '%s' is this MTA's own name",
                     c->name, c->peer_mta);
        for (size_t j = 0; j < i; j++) {
            ox_connector_cfg *o = &cfg->connectors[j];
            if (!c->peer_mta[0] || !names_equal_folded(c->peer_mta, o->peer_mta))
                continue;
            if (strcmp(c->peer_mta, o->peer_mta))
                diag_add(st, c->line, false,
                         "[connector %s] peer-mta '%s' and [connector %s] peer-mta '%s' differ "
                         "only in case or spaces; X.400 treats them as the same MTA",
                         c->name, c->peer_mta, o->name, o->peer_mta);
        }
    }
}

static int load(ox_mta_cfg *cfg, parse_state *st)
{
    memset(cfg, 0, sizeof(*cfg));
    ox_mta_values_default(&cfg->values);
    for (int i = 0; i < OX_CAT_COUNT; i++)
        cfg->log_level[i] = OX_LEVEL_MINIMUM;
    snprintf(cfg->path, sizeof(cfg->path), "%s", st->file);
    snprintf(cfg->queue_path, sizeof(cfg->queue_path), "/var/lib/openx400/queue.db");
    snprintf(cfg->mailbox_dir, sizeof(cfg->mailbox_dir), "/var/lib/openx400/mailbox");
    snprintf(cfg->event_log_path, sizeof(cfg->event_log_path), "/var/log/openx400/events.jsonl");
    snprintf(cfg->control_path, sizeof(cfg->control_path), "/run/openx400/control.sock");
    st->cfg = cfg;
    int rc = ini_parse_stream(read_line, st, on_key, st);
    if (rc > 0)
        diag_add(st, rc, true, "not an INI line: expected '[section]', 'key = value' or a comment");
    else if (rc < 0)
        diag_add(st, 0, true, "could not parse the file (inih error %d)", rc);
    validate(st);
    return st->diag->errors ? OX_E_ARG : 0;
}

/* Runs load() over a file (|fp|) or a string (|text|) named |name| in messages. */
static int load_from(ox_mta_cfg *cfg, const char *name, FILE *fp, const char *text,
                     ox_config_diag *diag)
{
    static const parse_state zero;
    parse_state *st = malloc(sizeof(*st));
    if (!st)
        return OX_E_NOMEM;
    *st = zero;
    st->diag = diag;
    st->file = name;
    st->fp = fp;
    st->text = text;
    int rc = load(cfg, st);
    free(st);
    return rc;
}

int ox_config_load(ox_mta_cfg *cfg, const char *path, ox_config_diag *diag)
{
    memset(diag, 0, sizeof(*diag));
    FILE *fp = fopen(path, "r");
    if (!fp) {
        int n = snprintf(diag->text, sizeof(diag->text), "%s: error: cannot open: %s\n", path,
                         strerror(errno));
        diag->len = n > 0 ? (size_t)n : 0;
        diag->errors = 1;
        return OX_E_IO;
    }
    int rc = load_from(cfg, path, fp, NULL, diag);
    fclose(fp);
    return rc;
}

int ox_config_load_string(ox_mta_cfg *cfg, const char *name, const char *text, ox_config_diag *diag)
{
    memset(diag, 0, sizeof(*diag));
    return load_from(cfg, name, NULL, text, diag);
}

const ox_connector_cfg *ox_config_connector(const ox_mta_cfg *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_connectors; i++)
        if (!strcmp(cfg->connectors[i].name, name))
            return &cfg->connectors[i];
    return NULL;
}
