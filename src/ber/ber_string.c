/* ber_string.c - OCTET STRING, BIT STRING and the character string types
 *
 * Why: X.400 fields arrive as primitive or (from older BER encoders) constructed strings;
 *      reassembly walks the segments with an explicit stack so nesting costs no C stack, and
 *      every appended byte counts against the size limit before it is copied.
 * Standards: X.690 8.6 (BIT STRING), 8.7 (OCTET STRING), 8.23 (restricted character strings
 *      are encoded as OCTET STRING segments), 11.5 (DER: primitive only); X.680 41 (character
 *      sets of NumericString, PrintableString, IA5String, VisibleString). */
#include "openx400/ber.h"

#include <string.h>

/* Nesting of constructed string segments. Real encoders use one level (ISODE chunked 1 KB
 * segments); eight is generous and keeps the walk's stack on the C stack. */
#define STRING_MAX_NEST 8

#define FAIL(rd, at, reason) ox_ber_fail((rd), (at), (reason), __LINE__)

/* Appends one segment's bytes, counting against the size limit. */
static int seg_append(const ox_ber_rd *rd, const uint8_t *at, ox_buf *out, ox_span v)
{
    if (v.len > rd->lim.max_size || out->len > rd->lim.max_size - v.len)
        return FAIL(rd, at, OX_BER_R_SIZE);
    int rc = ox_buf_append(out, v.p, v.len);
    return rc == OX_E_LIMIT ? FAIL(rd, at, OX_BER_R_SIZE) : rc;
}

/* Reassembles a string whose segments carry universal tag |seg_tag|. For BIT STRING
 * (|bits|) each segment starts with an unused-bits octet that must be 0 except in the last. */
static int read_segments(ox_ber_rd *rd, uint32_t tag, uint32_t seg_tag, bool bits, ox_buf *out,
                         unsigned *unused)
{
    ox_ber_tlv t;
    int rc = ox_ber_expect(rd, tag, -1, &t);
    if (rc)
        return rc;
    unsigned last_unused = 0;
    bool any = false;
    if (!t.constructed) {
        if (bits) {
            if (t.value.len == 0 || t.value.p[0] > 7 || (t.value.len == 1 && t.value.p[0]))
                return FAIL(rd, t.whole.p, OX_BER_R_BAD_BIT_STRING);
            last_unused = t.value.p[0];
            t.value.p++;
            t.value.len--;
        }
        if ((rc = seg_append(rd, t.whole.p, out, t.value)) != 0)
            return rc;
        if (unused)
            *unused = last_unused;
        return 0;
    }
    if (rd->lim.der)
        return FAIL(rd, t.whole.p, OX_BER_R_WRONG_FORM);

    ox_ber_rd stack[STRING_MAX_NEST];
    size_t top = 0;
    if ((rc = ox_ber_enter_tlv(rd, &t, &stack[0])) != 0)
        return rc;
    for (;;) {
        ox_ber_rd *cur = &stack[top];
        if (ox_ber_at_end(cur)) {
            if (top == 0)
                break;
            top--;
            continue;
        }
        ox_ber_tlv s;
        if ((rc = ox_ber_next(cur, &s)) != 0)
            return rc;
        if (s.tag != seg_tag)
            return FAIL(rd, s.whole.p, OX_BER_R_BAD_SEGMENT);
        if (s.constructed) {
            if (top + 1 >= STRING_MAX_NEST)
                return FAIL(rd, s.whole.p, OX_BER_R_DEPTH);
            if ((rc = ox_ber_enter_tlv(cur, &s, &stack[top + 1])) != 0)
                return rc;
            top++;
            continue;
        }
        ox_span v = s.value;
        if (bits) {
            /* Only the final segment may leave bits unused (X.690 8.6.4). */
            if (v.len == 0 || v.p[0] > 7 || (any && last_unused))
                return FAIL(rd, s.whole.p, OX_BER_R_BAD_BIT_STRING);
            last_unused = v.p[0];
            v.p++;
            v.len--;
            if (last_unused && v.len == 0)
                return FAIL(rd, s.whole.p, OX_BER_R_BAD_BIT_STRING);
        }
        if ((rc = seg_append(rd, s.whole.p, out, v)) != 0)
            return rc;
        any = true;
    }
    if (unused)
        *unused = last_unused;
    return 0;
}

/* The same, leaving |out| and the reader as they were when it fails. */
static int read_segmented(ox_ber_rd *rd, uint32_t tag, uint32_t seg_tag, bool bits, ox_buf *out,
                          unsigned *unused)
{
    const uint8_t *p = rd->p;
    size_t len = out->len;
    int rc = read_segments(rd, tag, seg_tag, bits, out, unused);
    if (rc) {
        rd->p = p;
        if (out->len > len)
            out->len = len;
    }
    return rc;
}

int ox_ber_read_octets(ox_ber_rd *rd, uint32_t tag, ox_buf *out)
{
    return read_segmented(rd, tag, OX_BER_UNIV(OX_BER_T_OCTET_STRING), false, out, NULL);
}

int ox_ber_read_octets_view(ox_ber_rd *rd, uint32_t tag, ox_span *v)
{
    ox_ber_tlv t;
    int rc = ox_ber_expect(rd, tag, 0, &t);
    if (rc)
        return rc;
    *v = t.value;
    return 0;
}

int ox_ber_read_bits(ox_ber_rd *rd, uint32_t tag, ox_buf *out, unsigned *unused)
{
    return read_segmented(rd, tag, OX_BER_UNIV(OX_BER_T_BIT_STRING), true, out, unused);
}

static bool printable_char(uint8_t c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return true;
    switch (c) {
    case ' ':
    case '\'':
    case '(':
    case ')':
    case '+':
    case ',':
    case '-':
    case '.':
    case '/':
    case ':':
    case '=':
    case '?': return true;
    default: return false;
    }
}

/* RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(ox_span s)
{
    const uint8_t *p = s.p, *end = s.p + s.len;
    while (p < end) {
        uint8_t c = *p++;
        if (c < 0x80)
            continue;
        size_t n;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if ((size_t)(end - p) < n)
            return false;
        for (size_t i = 0; i < n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        p += n;
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
    }
    return true;
}

bool ox_ber_str_valid(ox_ber_strtype type, ox_span s)
{
    if (s.len == 0)
        return true;
    switch (type) {
    case OX_BER_STR_NUMERIC:
        for (size_t i = 0; i < s.len; i++)
            if (!((s.p[i] >= '0' && s.p[i] <= '9') || s.p[i] == ' '))
                return false;
        return true;
    case OX_BER_STR_PRINTABLE:
        for (size_t i = 0; i < s.len; i++)
            if (!printable_char(s.p[i]))
                return false;
        return true;
    case OX_BER_STR_IA5:
        for (size_t i = 0; i < s.len; i++)
            if (s.p[i] > 0x7f)
                return false;
        return true;
    case OX_BER_STR_VISIBLE:
        for (size_t i = 0; i < s.len; i++)
            if (s.p[i] < 0x20 || s.p[i] > 0x7e)
                return false;
        return true;
    case OX_BER_STR_UTF8: return utf8_valid(s);
    case OX_BER_STR_TELETEX:
    case OX_BER_STR_GENERAL: return true;
    }
    return false;
}

int ox_ber_read_string(ox_ber_rd *rd, uint32_t tag, ox_ber_strtype type, ox_buf *out)
{
    const uint8_t *at = rd->p;
    size_t start = out->len;
    if (tag == 0)
        tag = OX_BER_UNIV((uint32_t)type);
    int rc = ox_ber_read_octets(rd, tag, out);
    if (rc)
        return rc;
    ox_span got = {out->p ? out->p + start : NULL, out->len - start};
    if (!ox_ber_str_valid(type, got)) {
        out->len = start;
        rd->p = at;
        return FAIL(rd, at, OX_BER_R_BAD_CHAR);
    }
    return 0;
}

int ox_ber_read_cstr(ox_ber_rd *rd, uint32_t tag, ox_ber_strtype type, char *dst, size_t cap)
{
    if (OX_NEVER(cap == 0))
        return OX_E_ARG;
    const uint8_t *at = rd->p;
    ox_buf b;
    ox_buf_init(&b, NULL, dst, cap);
    /* The ceiling keeps the buffer in |dst|: it never grows onto the heap. max 0 would mean
     * "no ceiling", so for cap 1 the ceiling is 1 and a one-byte string is refused below. */
    b.max = cap > 1 ? cap - 1 : 1;
    int rc = ox_ber_read_string(rd, tag, type, &b);
    if (rc == 0 && b.len > cap - 1) {
        rd->p = at;
        rc = FAIL(rd, at, OX_BER_R_SIZE);
    } else if (rc == 0 && memchr(dst, 0, b.len)) {
        /* A NUL would silently cut the C string ("abc\0evil" read as "abc"). */
        rd->p = at;
        rc = FAIL(rd, at, OX_BER_R_BAD_CHAR);
    }
    dst[rc == 0 ? b.len : 0] = '\0';
    ox_buf_free(&b);
    return rc;
}
