/* fuzz_ber_text.c - the text-level parsers against independent reference checks.
 *
 * The first input octet picks what the rest is:
 *   0  dotted OID text: accepted exactly when a reference grammar accepts it; then to_text
 *      gives the same text back, and the binary encoding decodes to the same OID
 *   1  UTCTime text, 2  GeneralizedTime text: accepted only with valid fields; the Unix
 *      conversion round-trips; what the writer produces (DER form) reads back equal in DER
 *      mode; the same text inside an element reads the same as parsed
 *   3  eight octets of Unix seconds: from_unix/to_unix round-trip, fields valid, DER text
 *   4  a string and a type: ox_ber_str_valid agrees with a per-type reference (UTF-8: the
 *      well-formed byte sequences of Unicode Table 3-7) */
#include "openx400/ber.h"

#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

/* ---- OID text ---- */

/* Reference grammar: arc ("." arc)+, arc = "0" | [1-9][0-9]*, each <= 2^32-1, 2..24 arcs,
 * first arc 0..2, second arc 0..39 under 0 and 1. */
static bool ref_oid_text(const char *s, size_t n)
{
    size_t arcs = 0, i = 0;
    uint64_t first = 0;
    while (1) {
        size_t start = i;
        uint64_t v = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (i - start >= 10)
                return false; /* 11 digits exceed 2^32-1 */
            v = v * 10 + (uint64_t)(s[i] - '0');
            i++;
        }
        size_t len = i - start;
        if (len == 0 || (len > 1 && s[start] == '0') || v > 0xffffffffu)
            return false;
        if (arcs == 0 && v > 2)
            return false;
        if (arcs == 0)
            first = v;
        if (arcs == 1 && first < 2 && v > 39)
            return false;
        if (++arcs > OX_OID_MAX_ARCS)
            return false;
        if (i == n)
            break;
        if (s[i] != '.')
            return false;
        i++;
    }
    return arcs >= 2;
}

static void fuzz_oid_text(const uint8_t *p, size_t n)
{
    char text[512];
    if (n >= sizeof(text))
        return;
    memcpy(text, p, n);
    text[n] = '\0';
    bool has_nul = memchr(p, 0, n) != NULL;
    ox_oid oid, back;
    int rc = ox_oid_from_text(&oid, text);
    if (!has_nul)
        CHECK((rc == 0) == ref_oid_text(text, n));
    if (rc != 0) {
        CHECK(rc == OX_E_ARG);
        return;
    }
    char out[512];
    int len = ox_oid_to_text(&oid, out, sizeof(out));
    CHECK(len > 0 && strcmp(out, text) == 0);
    /* No room for the last character: OX_E_LIMIT and "". */
    CHECK(ox_oid_to_text(&oid, out, (size_t)len) == OX_E_LIMIT && out[0] == '\0');
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_ber_put_oid(&w, 0, &oid);
    CHECK(ox_ber_wr_status(&w) == 0);
    ox_ber_rd rd;
    const ox_ber_limits der = {.der = true};
    CHECK(ox_ber_rd_init(&rd, ox_buf_span(&w), &der, NULL) == 0);
    CHECK(ox_ber_read_oid(&rd, OX_BER_UNIV(OX_BER_T_OID), &back) == 0);
    CHECK(ox_oid_eq(&oid, &back) && ox_ber_at_end(&rd));
    ox_buf_free(&w);
}

/* ---- times ---- */

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool fields_ok(const ox_ber_time *t)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (t->month < 1 || t->month > 12 || t->day < 1)
        return false;
    int d = dim[t->month - 1] + (t->month == 2 && leap(t->year));
    return t->day <= d && t->hour >= 0 && t->hour <= 23 && t->minute >= 0 && t->minute <= 59 &&
           t->second >= 0 && t->second <= 60 && t->millis >= 0 && t->millis <= 999 &&
           t->utc_offset_min > -24 * 60 && t->utc_offset_min < 24 * 60;
}

/* Writes |t| as the type, reads it back under DER, compares the instant. */
static void write_read(const ox_ber_time *t, bool gen)
{
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    if (gen)
        ox_ber_put_gentime(&w, 0, t);
    else
        ox_ber_put_utctime(&w, 0, t);
    ox_ber_time u;
    ox_ber_time_from_unix(ox_ber_time_to_unix(t), &u);
    bool in_range = gen ? u.year >= 0 && u.year <= 9999 : u.year >= 1950 && u.year <= 2049;
    /* A leap second (60) is written as read; ours always is in range of the date checks. */
    CHECK((ox_ber_wr_status(&w) == 0) == in_range);
    if (in_range) {
        ox_ber_rd rd;
        ox_ber_time r;
        const ox_ber_limits der = {.der = true};
        CHECK(ox_ber_rd_init(&rd, ox_buf_span(&w), &der, NULL) == 0);
        CHECK((gen ? ox_ber_read_gentime(&rd, 0, &r) : ox_ber_read_utctime(&rd, 0, &r)) == 0);
        CHECK(ox_ber_time_to_unix(&r) == ox_ber_time_to_unix(t));
        CHECK(r.has_zone && r.utc_offset_min == 0);
        CHECK(!gen || r.millis == t->millis);
    }
    ox_buf_free(&w);
}

static void fuzz_time_text(const uint8_t *p, size_t n, bool gen)
{
    ox_ber_time t;
    ox_span s = ox_span_of(p, n);
    int rc = gen ? ox_ber_parse_gentime(s, &t) : ox_ber_parse_utctime(s, &t);
    /* Inside an element (short enough for the reader's buffer, visible characters only) the
     * reader agrees with the parser. */
    bool visible = n <= 39 && ox_ber_str_valid(OX_BER_STR_VISIBLE, s);
    if (visible) {
        ox_buf w;
        ox_buf_init(&w, NULL, NULL, 0);
        ox_ber_put_prim(&w, OX_BER_UNIV(gen ? OX_BER_T_GENERALIZED_TIME : OX_BER_T_UTC_TIME), p, n);
        ox_ber_rd rd;
        ox_ber_time r;
        CHECK(ox_ber_rd_init(&rd, ox_buf_span(&w), NULL, NULL) == 0);
        int rrc = gen ? ox_ber_read_gentime(&rd, 0, &r) : ox_ber_read_utctime(&rd, 0, &r);
        CHECK((rrc == 0) == (rc == 0));
        if (rc == 0)
            CHECK(r.year == t.year && r.month == t.month && r.day == t.day && r.hour == t.hour &&
                  r.minute == t.minute && r.second == t.second && r.millis == t.millis &&
                  r.utc_offset_min == t.utc_offset_min && r.has_zone == t.has_zone);
        ox_buf_free(&w);
    }
    if (rc != 0) {
        CHECK(rc == OX_E_PEER);
        return;
    }
    CHECK(fields_ok(&t));
    CHECK(gen ? t.year >= 0 && t.year <= 9999 : t.year >= 1950 && t.year <= 2049);
    CHECK(gen || (t.has_zone && t.millis == 0));
    int64_t secs = ox_ber_time_to_unix(&t);
    ox_ber_time u;
    ox_ber_time_from_unix(secs, &u);
    CHECK(fields_ok(&u) && ox_ber_time_to_unix(&u) == secs);
    /* The offset is what separates the local reading from UTC. */
    ox_ber_time local = t;
    local.utc_offset_min = 0;
    CHECK(ox_ber_time_to_unix(&local) - secs == (int64_t)t.utc_offset_min * 60);
    write_read(&t, gen);
}

static void fuzz_unix(const uint8_t *p, size_t n)
{
    if (n < 8)
        return;
    uint64_t raw = 0;
    for (int i = 0; i < 8; i++)
        raw = raw << 8 | p[i];
    /* +-300000 years keeps every field inside int. */
    int64_t secs = (int64_t)(raw % (2 * 9467280000000ULL)) - 9467280000000LL;
    ox_ber_time t;
    ox_ber_time_from_unix(secs, &t);
    CHECK(t.month >= 1 && t.month <= 12 && t.day >= 1 && t.hour >= 0 && t.hour <= 23 &&
          t.minute >= 0 && t.minute <= 59 && t.second >= 0 && t.second <= 59);
    CHECK(ox_ber_time_to_unix(&t) == secs);
    if (t.year >= 0 && t.year <= 9999) {
        CHECK(fields_ok(&t));
        char text[20];
        snprintf(text, sizeof(text), "%04d%02d%02d%02d%02d%02dZ", t.year, t.month, t.day, t.hour,
                 t.minute, t.second);
        ox_ber_time back;
        CHECK(ox_ber_parse_gentime(ox_span_of(text, 15), &back) == 0);
        CHECK(ox_ber_time_to_unix(&back) == secs);
        t.millis = n > 9 ? (p[8] << 8 | p[9]) % 1000 : 0;
        write_read(&t, true);
        write_read(&t, false);
    }
}

/* ---- character sets ---- */

/* Unicode 15, Table 3-7: well-formed UTF-8 byte sequences. */
static bool ref_utf8(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t need;
        uint8_t lo = 0x80, hi = 0xbf;
        if (c <= 0x7f) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
        } else if (c == 0xe0) {
            need = 2;
            lo = 0xa0;
        } else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) {
            need = 2;
        } else if (c == 0xed) {
            need = 2;
            hi = 0x9f;
        } else if (c == 0xf0) {
            need = 3;
            lo = 0x90;
        } else if (c >= 0xf1 && c <= 0xf3) {
            need = 3;
        } else if (c == 0xf4) {
            need = 3;
            hi = 0x8f;
        } else {
            return false;
        }
        if (n - i - 1 < need)
            return false;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= need; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xbf)
                return false;
        i += need + 1;
    }
    return true;
}

static bool ref_char(ox_ber_strtype type, uint8_t c)
{
    switch (type) {
    case OX_BER_STR_NUMERIC: return (c >= '0' && c <= '9') || c == ' ';
    case OX_BER_STR_PRINTABLE:
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == ' ' || c == '\'' || c == '(' || c == ')' || c == '+' || c == ',' || c == '-' ||
               c == '.' || c == '/' || c == ':' || c == '=' || c == '?';
    case OX_BER_STR_IA5: return c <= 0x7f;
    case OX_BER_STR_VISIBLE: return c >= 0x20 && c <= 0x7e;
    case OX_BER_STR_TELETEX:
    case OX_BER_STR_GENERAL:
    case OX_BER_STR_UTF8: return true;
    }
    return false;
}

static void fuzz_charset(const uint8_t *p, size_t n)
{
    static const ox_ber_strtype types[] = {
        OX_BER_STR_NUMERIC, OX_BER_STR_PRINTABLE, OX_BER_STR_TELETEX, OX_BER_STR_IA5,
        OX_BER_STR_VISIBLE, OX_BER_STR_GENERAL,   OX_BER_STR_UTF8};
    ox_span s = ox_span_of(p, n);
    for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
        bool want = true;
        if (types[k] == OX_BER_STR_UTF8) {
            want = ref_utf8(p, n);
        } else {
            for (size_t i = 0; i < n && want; i++)
                want = ref_char(types[k], p[i]);
        }
        bool got = ox_ber_str_valid(types[k], s);
        CHECK(got == want);
        /* The writer sends exactly what the checker accepts. */
        ox_buf w;
        ox_buf_init(&w, NULL, NULL, 0);
        ox_ber_put_string(&w, 0, types[k], s);
        CHECK((ox_ber_wr_status(&w) == 0) == got);
        ox_buf_free(&w);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 5) {
    case 0: fuzz_oid_text(p, n); break;
    case 1: fuzz_time_text(p, n, false); break;
    case 2: fuzz_time_text(p, n, true); break;
    case 3: fuzz_unix(p, n); break;
    case 4: fuzz_charset(p, n); break;
    }
    return 0;
}
