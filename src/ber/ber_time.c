/* ber_time.c - UTCTime and GeneralizedTime text, and conversion to and from Unix seconds
 *
 * Why: X.400 stamps every trace hop, deferred delivery and expiry; the MTA compares them, so
 *      they are parsed strictly into numbers once, here.
 * Standards: X.680 46 (GeneralizedTime), 47 (UTCTime); X.690 11.7-11.8 (DER forms we write). */
#include "openx400/ber.h"

#include <string.h>

static bool digits(const uint8_t *p, size_t n, int *v)
{
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        x = x * 10 + (p[i] - '0');
    }
    *v = x;
    return true;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

static bool fields_valid(const ox_ber_time *t)
{
    return t->month >= 1 && t->month <= 12 && t->day >= 1 &&
           t->day <= days_in_month(t->year, t->month) && t->hour <= 23 && t->minute <= 59 &&
           t->second <= 60; /* 60: a leap second */
}

/* Parses the zone suffix at |p|: "Z", "+hhmm", "-hhmm" (or "+hh" when |short_ok|). */
static bool parse_zone(const uint8_t *p, size_t n, bool short_ok, ox_ber_time *t)
{
    if (n == 1 && p[0] == 'Z') {
        t->has_zone = true;
        return true;
    }
    if ((n == 5 || (short_ok && n == 3)) && (p[0] == '+' || p[0] == '-')) {
        int hh, mm = 0;
        if (!digits(p + 1, 2, &hh) || (n == 5 && !digits(p + 3, 2, &mm)) || hh > 23 || mm > 59)
            return false;
        t->utc_offset_min = (p[0] == '-' ? -1 : 1) * (hh * 60 + mm);
        t->has_zone = true;
        return true;
    }
    return false;
}

int ox_ber_parse_utctime(ox_span s, ox_ber_time *t)
{
    memset(t, 0, sizeof(*t));
    /* YYMMDDhhmm[ss](Z|+hhmm|-hhmm) */
    if (s.len < 11)
        return OX_E_PEER;
    int yy;
    if (!digits(s.p, 2, &yy) || !digits(s.p + 2, 2, &t->month) || !digits(s.p + 4, 2, &t->day) ||
        !digits(s.p + 6, 2, &t->hour) || !digits(s.p + 8, 2, &t->minute))
        return OX_E_PEER;
    t->year = yy < 50 ? 2000 + yy : 1900 + yy;
    size_t i = 10;
    if (s.len - i >= 2 && s.p[i] >= '0' && s.p[i] <= '9') {
        if (!digits(s.p + i, 2, &t->second))
            return OX_E_PEER;
        i += 2;
    }
    if (!parse_zone(s.p + i, s.len - i, false, t) || !fields_valid(t))
        return OX_E_PEER;
    return 0;
}

int ox_ber_parse_gentime(ox_span s, ox_ber_time *t)
{
    memset(t, 0, sizeof(*t));
    /* YYYYMMDDhh[mm[ss]][(.|,)f+][Z|+hh[mm]|-hh[mm]] */
    if (s.len < 10)
        return OX_E_PEER;
    if (!digits(s.p, 4, &t->year) || !digits(s.p + 4, 2, &t->month) ||
        !digits(s.p + 6, 2, &t->day) || !digits(s.p + 8, 2, &t->hour))
        return OX_E_PEER;
    size_t i = 10;
    int64_t unit_ms = 3600000; /* what a fraction is a fraction of (X.680 46.2 b, c) */
    if (s.len - i >= 2 && s.p[i] >= '0' && s.p[i] <= '9') {
        if (!digits(s.p + i, 2, &t->minute))
            return OX_E_PEER;
        i += 2;
        unit_ms = 60000;
        if (s.len - i >= 2 && s.p[i] >= '0' && s.p[i] <= '9') {
            if (!digits(s.p + i, 2, &t->second))
                return OX_E_PEER;
            i += 2;
            unit_ms = 1000;
        }
    }
    if (i < s.len && (s.p[i] == '.' || s.p[i] == ',')) {
        /* Up to nine digits count (millisecond precision of an hour needs seven); more are
         * allowed and ignored. The fraction fills the fields below its unit, which are 0. */
        i++;
        size_t nd = 0;
        int64_t num = 0, den = 1;
        while (i < s.len && s.p[i] >= '0' && s.p[i] <= '9') {
            if (nd < 9) {
                num = num * 10 + (s.p[i] - '0');
                den *= 10;
            }
            nd++;
            i++;
        }
        if (nd == 0)
            return OX_E_PEER;
        int64_t ms = num * unit_ms / den;
        t->minute += (int)(ms / 60000);
        t->second += (int)(ms / 1000 % 60);
        t->millis = (int)(ms % 1000);
    }
    if (i < s.len && !parse_zone(s.p + i, s.len - i, true, t))
        return OX_E_PEER;
    return fields_valid(t) ? 0 : OX_E_PEER;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
 * 64-bit throughout, so out-of-range fields from a caller give a wrong number, never an
 * overflow. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int64_t ox_ber_time_to_unix(const ox_ber_time *t)
{
    int64_t days = days_from_civil(t->year, t->month, t->day);
    return days * 86400 + (int64_t)t->hour * 3600 + (int64_t)t->minute * 60 + t->second -
           (int64_t)t->utc_offset_min * 60;
}

void ox_ber_time_from_unix(int64_t secs, ox_ber_time *t)
{
    memset(t, 0, sizeof(*t));
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    t->hour = (int)(rem / 3600);
    t->minute = (int)(rem % 3600 / 60);
    t->second = (int)(rem % 60);
    /* civil_from_days */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    t->day = (int)(doy - (153 * mp + 2) / 5 + 1);
    t->month = (int)(mp < 10 ? mp + 3 : mp - 9);
    t->year = (int)(yoe + era * 400 + (t->month <= 2));
    t->has_zone = true;
}

/* The DER forms (X.690 11.8 UTCTime: YYMMDDhhmmssZ; 11.7 GeneralizedTime:
 * YYYYMMDDhhmmss[.f]Z with '.', at least one fraction digit and no trailing zero) of a text
 * the parser already accepted. */
static bool der_time_form(ox_span s, bool gen)
{
    size_t secs_end = gen ? 14 : 12; /* digits up to and including the seconds */
    if (s.len < secs_end + 1 || s.p[s.len - 1] != 'Z')
        return false;
    for (size_t i = 0; i < secs_end; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
    if (s.len == secs_end + 1)
        return true;
    if (!gen || s.p[secs_end] != '.' || s.len < secs_end + 3)
        return false;
    for (size_t i = secs_end + 1; i < s.len - 1; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
    return s.p[s.len - 2] != '0';
}

static int read_time(ox_ber_rd *rd, uint32_t tag, ox_ber_time *t, bool gen)
{
    const uint8_t *at = rd->p;
    char text[40];
    int rc = ox_ber_read_cstr(rd, tag, OX_BER_STR_VISIBLE, text, sizeof(text));
    if (rc)
        return rc;
    ox_span s = ox_span_of(text, strlen(text));
    if ((gen ? ox_ber_parse_gentime(s, t) : ox_ber_parse_utctime(s, t)) != 0 ||
        (rd->lim.der && !der_time_form(s, gen))) {
        rd->p = at;
        return ox_ber_fail(rd, at, OX_BER_R_BAD_TIME, __LINE__);
    }
    return 0;
}

int ox_ber_read_utctime(ox_ber_rd *rd, uint32_t tag, ox_ber_time *t)
{
    return read_time(rd, tag ? tag : OX_BER_UNIV(OX_BER_T_UTC_TIME), t, false);
}

int ox_ber_read_gentime(ox_ber_rd *rd, uint32_t tag, ox_ber_time *t)
{
    return read_time(rd, tag ? tag : OX_BER_UNIV(OX_BER_T_GENERALIZED_TIME), t, true);
}

/* Writes |v| (0 <= v < 10^width) as |width| decimal digits at text[at]; returns the new end. */
static size_t put_digits(char *text, size_t at, int v, size_t width)
{
    for (size_t k = width; k-- > 0;) {
        text[at + k] = (char)('0' + v % 10);
        v /= 10;
    }
    return at + width;
}

/* Writes |t| converted to UTC, in the DER forms (X.690 11.7, 11.8): seconds always present,
 * "Z", and a fraction only when non-zero, without trailing zeros. A time we would refuse to
 * read (invalid date, offset beyond +-23:59, millis outside 0..999, year outside the type's
 * range after conversion) sets w->err to OX_E_ARG instead. */
static void put_time(ox_buf *w, uint32_t tag, const ox_ber_time *t, bool gen)
{
    if (w->err)
        return;
    if (!fields_valid(t) || t->hour < 0 || t->minute < 0 || t->second < 0 || t->millis < 0 ||
        t->millis > 999 || t->utc_offset_min < -(23 * 60 + 59) ||
        t->utc_offset_min > 23 * 60 + 59) {
        w->err = OX_E_ARG;
        return;
    }
    ox_ber_time u;
    ox_ber_time_from_unix(ox_ber_time_to_unix(t), &u);
    if (gen ? (u.year < 0 || u.year > 9999) : (u.year < 1950 || u.year > 2049)) {
        w->err = OX_E_ARG;
        return;
    }
    /* Every field is in range here (checked above), so fixed-width digits suffice. */
    char text[32];
    size_t len = 0;
    if (gen)
        len = put_digits(text, len, u.year / 100, 2);
    len = put_digits(text, len, u.year % 100, 2);
    len = put_digits(text, len, u.month, 2);
    len = put_digits(text, len, u.day, 2);
    len = put_digits(text, len, u.hour, 2);
    len = put_digits(text, len, u.minute, 2);
    len = put_digits(text, len, u.second, 2);
    if (gen && t->millis) {
        int ms = t->millis, digits_n = 3;
        while (ms % 10 == 0) {
            ms /= 10;
            digits_n--;
        }
        text[len++] = '.';
        for (int k = digits_n - 1; k >= 0; k--) {
            text[len + (size_t)k] = (char)('0' + ms % 10);
            ms /= 10;
        }
        len += (size_t)digits_n;
    }
    text[len++] = 'Z';
    ox_ber_put_prim(w, tag, text, len);
}

void ox_ber_put_utctime(ox_buf *w, uint32_t tag, const ox_ber_time *t)
{
    put_time(w, tag ? tag : OX_BER_UNIV(OX_BER_T_UTC_TIME), t, false);
}

void ox_ber_put_gentime(ox_buf *w, uint32_t tag, const ox_ber_time *t)
{
    put_time(w, tag ? tag : OX_BER_UNIV(OX_BER_T_GENERALIZED_TIME), t, true);
}
