/* ber_oid.c - OBJECT IDENTIFIER: content octets and dotted text, both ways
 *
 * Why: every layer from presentation up keys on OIDs (abstract syntaxes, application
 *      context, content types); a wrong arc silently breaks interoperation, so parsing is
 *      strict (no leading 0x80 octets, no unterminated arc, arcs within 32 bits).
 * Standards: X.690 8.19; X.660 (first arc 0..2, second arc 0..39 under 0 and 1). */
#include "openx400/ber.h"

#include <stdio.h>
#include <string.h>

bool ox_oid_eq(const ox_oid *a, const ox_oid *b)
{
    if (OX_NEVER(a->n > OX_OID_MAX_ARCS || b->n > OX_OID_MAX_ARCS))
        return false;
    return a->n == b->n && memcmp(a->arc, b->arc, a->n * sizeof(a->arc[0])) == 0;
}

static bool oid_valid(const ox_oid *oid)
{
    /* Under arc 2 the second arc may use all 32 bits: the first subidentifier (80 + arc)
     * is encoded from 64 bits, and ox_oid_decode accepts the same range. */
    return oid->n >= 2 && oid->n <= OX_OID_MAX_ARCS && oid->arc[0] <= 2 &&
           (oid->arc[0] == 2 || oid->arc[1] <= 39);
}

int ox_oid_from_text(ox_oid *oid, const char *text)
{
    memset(oid, 0, sizeof(*oid));
    const char *s = text;
    for (;;) {
        if (*s < '0' || *s > '9')
            return OX_E_ARG;
        if (*s == '0' && s[1] >= '0' && s[1] <= '9')
            return OX_E_ARG; /* "01" is not an arc */
        uint64_t v = 0;
        while (*s >= '0' && *s <= '9') {
            v = v * 10 + (uint64_t)(*s++ - '0');
            if (v > UINT32_MAX)
                return OX_E_ARG;
        }
        if (oid->n >= OX_OID_MAX_ARCS)
            return OX_E_ARG;
        oid->arc[oid->n++] = (uint32_t)v;
        if (*s == '\0')
            break;
        if (*s++ != '.')
            return OX_E_ARG;
    }
    return oid_valid(oid) ? 0 : OX_E_ARG;
}

int ox_oid_to_text(const ox_oid *oid, char *dst, size_t cap)
{
    size_t n = 0;
    if (!dst || cap == 0)
        return OX_E_LIMIT; /* no room even for the NUL */
    if (oid->n > OX_OID_MAX_ARCS) {
        if (cap)
            dst[0] = '\0';
        return OX_E_ARG;
    }
    for (size_t i = 0; i < oid->n; i++) {
        int w = snprintf(dst + n, cap - n, i ? ".%u" : "%u", (unsigned)oid->arc[i]);
        if (w < 0 || (size_t)w >= cap - n) {
            if (cap)
                dst[0] = '\0';
            return OX_E_LIMIT;
        }
        n += (size_t)w;
    }
    if (cap)
        dst[n] = '\0';
    return (int)n;
}

int ox_oid_decode(ox_oid *oid, ox_span c, ox_ber_reason *why)
{
    memset(oid, 0, sizeof(*oid));
    *why = OX_BER_R_BAD_OID;
    if (c.len == 0)
        return OX_E_PEER;
    size_t i = 0;
    bool first = true;
    while (i < c.len) {
        if (c.p[i] == 0x80)
            return OX_E_PEER; /* X.690 8.19.2: leading octet 0x80 is not minimal */
        uint64_t v = 0;
        for (;;) {
            if (i >= c.len)
                return OX_E_PEER; /* last octet still had bit 8 set */
            uint8_t b = c.p[i++];
            if (v > (UINT64_MAX >> 7))
                return OX_E_PEER;
            v = v << 7 | (b & 0x7f);
            if (!(b & 0x80))
                break;
        }
        if (first) {
            /* X.690 8.19.4: the first subidentifier packs arcs one and two. */
            uint32_t a0 = v < 40 ? 0 : v < 80 ? 1 : 2;
            uint64_t a1 = v - 40u * a0;
            if (a1 > UINT32_MAX)
                return OX_E_PEER;
            oid->arc[0] = a0;
            oid->arc[1] = (uint32_t)a1;
            oid->n = 2;
            first = false;
            continue;
        }
        if (v > UINT32_MAX)
            return OX_E_PEER;
        if (oid->n >= OX_OID_MAX_ARCS) {
            *why = OX_BER_R_OID_TOO_LONG;
            return OX_E_PEER;
        }
        oid->arc[oid->n++] = (uint32_t)v;
    }
    *why = OX_BER_R_NONE;
    return 0;
}

int ox_ber_read_oid(ox_ber_rd *rd, uint32_t tag, ox_oid *oid)
{
    ox_ber_tlv t;
    int rc = ox_ber_expect(rd, tag, 0, &t);
    if (rc)
        return rc;
    ox_ber_reason why;
    if (ox_oid_decode(oid, t.value, &why) != 0)
        return ox_ber_fail(rd, t.whole.p, why, __LINE__);
    return 0;
}

/* Appends one subidentifier in base 128, most significant group first. */
static void put_subid(ox_buf *w, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (uint8_t)(v & 0x7f);
        v >>= 7;
    } while (v);
    while (n > 1)
        ox_buf_put_u8(w, tmp[--n] | 0x80);
    ox_buf_put_u8(w, tmp[0]);
}

void ox_ber_put_oid(ox_buf *w, uint32_t tag, const ox_oid *oid)
{
    if (!oid_valid(oid)) {
        if (!w->err)
            w->err = OX_E_ARG;
        return;
    }
    uint8_t tmp[OX_OID_MAX_ARCS * 5 + 5];
    ox_buf c;
    ox_buf_init(&c, NULL, tmp, sizeof(tmp));
    put_subid(&c, (uint64_t)oid->arc[0] * 40 + oid->arc[1]);
    for (size_t i = 2; i < oid->n; i++)
        put_subid(&c, oid->arc[i]);
    ox_ber_put_prim(w, tag ? tag : OX_BER_UNIV(OX_BER_T_OID), c.p, c.len);
    ox_buf_free(&c);
}
