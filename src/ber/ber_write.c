/* ber_write.c - BER/DER writer into an ox_buf with length back-patching
 *
 * Why: hand-counted lengths are where OSI stacks go wrong; here a constructed element is
 *      opened with a one-byte length placeholder and closed by writing its real length in the
 *      shortest form, moving the contents only when that form is longer than one byte. All
 *      output is DER-shaped (minimal lengths and integers) except open_indef, kept for
 *      streaming content of unknown size.
 * Standards: X.690 8.1.2-8.1.5, 8.3, 10.1. */
#include "openx400/ber.h"

#include <string.h>

static void set_err(ox_buf *w, int err)
{
    if (!w->err)
        w->err = err;
}

/* Identifier octets of |tag| into |dst|; returns how many (1..6), or 0 for UNIVERSAL 0,
 * which is the end-of-contents (ox_ber_put_eoc) and, as any other element, refused by the
 * reader, so never written. */
static size_t encode_tag(uint8_t dst[6], uint32_t tag, bool constructed)
{
    if (tag == OX_BER_UNIV(0))
        return 0;
    uint8_t id = (uint8_t)(OX_BER_TAG_CLASS(tag) << 6 | (constructed ? 0x20 : 0));
    uint32_t num = OX_BER_TAG_NUMBER(tag);
    if (num < 0x1f) {
        dst[0] = id | (uint8_t)num;
        return 1;
    }
    dst[0] = id | 0x1f;
    size_t n = 0;
    for (uint32_t v = num; v; v >>= 7)
        n++;
    for (size_t i = 0; i < n; i++)
        dst[n - i] = (uint8_t)((num >> (7 * i)) & 0x7f) | (i ? 0x80 : 0);
    return n + 1;
}

/* Length octets in the shortest form; returns how many were written to |dst| (<= 9). */
static size_t encode_len(uint8_t dst[9], size_t len)
{
    if (len < 0x80) {
        dst[0] = (uint8_t)len;
        return 1;
    }
    size_t n = 0;
    for (size_t v = len; v; v >>= 8)
        n++;
    dst[0] = (uint8_t)(0x80 | n);
    for (size_t i = 0; i < n; i++)
        dst[n - i] = (uint8_t)(len >> (8 * i));
    return n + 1;
}

/* Identifier octets and |len_octets| (1 or more) as one append. */
static void put_id_len(ox_buf *w, uint32_t tag, bool constructed, const uint8_t *len_octets,
                       size_t n)
{
    uint8_t h[6 + 9];
    size_t t = encode_tag(h, tag, constructed);
    if (t == 0) {
        set_err(w, OX_E_ARG);
        return;
    }
    memcpy(h + t, len_octets, n);
    ox_buf_append(w, h, t + n);
}

void ox_ber_put_header(ox_buf *w, uint32_t tag, bool constructed, size_t len)
{
    uint8_t l[9];
    put_id_len(w, tag, constructed, l, encode_len(l, len));
}

size_t ox_ber_open(ox_buf *w, uint32_t tag)
{
    static const uint8_t placeholder = 0; /* patched by close */
    put_id_len(w, tag, true, &placeholder, 1);
    return w->err ? 0 : w->len;
}

void ox_ber_close(ox_buf *w, size_t mark)
{
    if (w->err)
        return;
    if (OX_NEVER(mark == 0 || mark > w->len)) {
        set_err(w, OX_E_ARG);
        return;
    }
    uint8_t l[9];
    size_t n = encode_len(l, w->len - mark);
    w->p[mark - 1] = l[0];
    if (n > 1)
        ox_buf_insert(w, mark, l + 1, n - 1);
}

void ox_ber_open_indef(ox_buf *w, uint32_t tag)
{
    static const uint8_t indefinite = 0x80;
    put_id_len(w, tag, true, &indefinite, 1);
}

void ox_ber_put_eoc(ox_buf *w)
{
    ox_buf_put_u16be(w, 0);
}

void ox_ber_put_prim(ox_buf *w, uint32_t tag, const void *content, size_t len)
{
    ox_ber_put_header(w, tag, false, len);
    ox_buf_append(w, content, len);
}

void ox_ber_put_bool(ox_buf *w, uint32_t tag, bool v)
{
    uint8_t b = v ? 0xff : 0x00;
    ox_ber_put_prim(w, tag ? tag : OX_BER_UNIV(OX_BER_T_BOOLEAN), &b, 1);
}

void ox_ber_put_int(ox_buf *w, uint32_t tag, int64_t v)
{
    uint8_t tmp[8];
    uint64_t u = (uint64_t)v;
    for (size_t i = 0; i < 8; i++)
        tmp[7 - i] = (uint8_t)(u >> (8 * i));
    /* Drop octets whose removal keeps the value: minimal two's complement (X.690 8.3.2). */
    size_t s = 0;
    while (s < 7 &&
           ((tmp[s] == 0x00 && !(tmp[s + 1] & 0x80)) || (tmp[s] == 0xff && (tmp[s + 1] & 0x80))))
        s++;
    ox_ber_put_prim(w, tag ? tag : OX_BER_UNIV(OX_BER_T_INTEGER), tmp + s, 8 - s);
}

void ox_ber_put_null(ox_buf *w, uint32_t tag)
{
    ox_ber_put_prim(w, tag ? tag : OX_BER_UNIV(OX_BER_T_NULL), NULL, 0);
}

void ox_ber_put_octets(ox_buf *w, uint32_t tag, ox_span v)
{
    ox_ber_put_prim(w, tag ? tag : OX_BER_UNIV(OX_BER_T_OCTET_STRING), v.p, v.len);
}

void ox_ber_put_bits(ox_buf *w, uint32_t tag, ox_span bytes, unsigned unused)
{
    if (unused > 7 || (bytes.len == 0 && unused)) {
        set_err(w, OX_E_ARG);
        return;
    }
    uint8_t u = (uint8_t)unused;
    ox_ber_put_header(w, tag ? tag : OX_BER_UNIV(OX_BER_T_BIT_STRING), false, bytes.len + 1);
    ox_buf_append(w, &u, 1);
    ox_buf_append(w, bytes.p, bytes.len);
}

void ox_ber_put_string(ox_buf *w, uint32_t tag, ox_ber_strtype type, ox_span s)
{
    if (!ox_ber_str_valid(type, s)) {
        set_err(w, OX_E_ARG);
        return;
    }
    ox_ber_put_prim(w, tag ? tag : OX_BER_UNIV((uint32_t)type), s.p, s.len);
}

void ox_ber_put_cstr(ox_buf *w, uint32_t tag, ox_ber_strtype type, const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    ox_ber_put_string(w, tag, type, ox_span_of(s, n));
}

void ox_ber_put_raw(ox_buf *w, ox_span whole)
{
    ox_buf_append(w, whole.p, whole.len);
}
