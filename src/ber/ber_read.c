/* ber_read.c - BER element headers, extents, scopes and the scalar types
 *
 * Why: the one place that turns untrusted bytes into tag/length/value. Every length is
 *      compared with what remains of the enclosing scope in size_t before it is used, and the
 *      extent of an indefinite-length element is found by an iterative walk bounded by the depth
 *      limit, so hostile nesting costs neither stack nor unbounded time.
 * Diagnostics: OX_E_PEER / OX_E_LIMIT with ox_ber_diag filled (reason, offset, line).
 * Standards: X.690 8.1 (identifier and length octets), 8.2 (BOOLEAN), 8.3 (INTEGER),
 *      8.8 (NULL), 10.1-10.2 (DER length and BOOLEAN rules), 11.5 (DER: no constructed
 *      strings). */
#include "openx400/ber.h"

#include <string.h>

static const char *const reason_names[] = {
    [OX_BER_R_NONE] = "none",
    [OX_BER_R_TRUNC_TAG] = "truncated-tag",
    [OX_BER_R_TRUNC_LEN] = "truncated-length",
    [OX_BER_R_LEN_OVERRUN] = "length-past-end",
    [OX_BER_R_LEN_TOO_LONG] = "length-of-length-too-long",
    [OX_BER_R_NONMINIMAL_LEN] = "non-minimal-length",
    [OX_BER_R_INDEF_PRIMITIVE] = "indefinite-primitive",
    [OX_BER_R_INDEF_FORBIDDEN] = "indefinite-length-in-der",
    [OX_BER_R_EOC_MISSING] = "end-of-contents-missing",
    [OX_BER_R_UNEXPECTED_EOC] = "unexpected-end-of-contents",
    [OX_BER_R_BAD_EOC] = "bad-end-of-contents",
    [OX_BER_R_BAD_TAG] = "bad-tag",
    [OX_BER_R_UNEXPECTED_TAG] = "unexpected-tag",
    [OX_BER_R_WRONG_FORM] = "wrong-form",
    [OX_BER_R_LEFTOVER] = "leftover-bytes",
    [OX_BER_R_DEPTH] = "depth-limit",
    [OX_BER_R_SIZE] = "size-limit",
    [OX_BER_R_BAD_BOOLEAN] = "bad-boolean",
    [OX_BER_R_BAD_INTEGER] = "bad-integer",
    [OX_BER_R_INT_RANGE] = "integer-out-of-range",
    [OX_BER_R_BAD_NULL] = "bad-null",
    [OX_BER_R_BAD_OID] = "bad-object-identifier",
    [OX_BER_R_OID_TOO_LONG] = "object-identifier-too-long",
    [OX_BER_R_BAD_CHAR] = "bad-character",
    [OX_BER_R_BAD_TIME] = "bad-time",
    [OX_BER_R_BAD_BIT_STRING] = "bad-bit-string",
    [OX_BER_R_BAD_SEGMENT] = "bad-string-segment",
};

const char *ox_ber_reason_name(ox_ber_reason r)
{
    if ((size_t)r < OX_ARRAY_LEN(reason_names) && reason_names[r])
        return reason_names[r];
    return "unknown";
}

int ox_ber_fail(const ox_ber_rd *rd, const uint8_t *at, ox_ber_reason reason, int line)
{
    if (rd->diag && rd->diag->reason == OX_BER_R_NONE) {
        rd->diag->reason = reason;
        rd->diag->offset = at && at >= rd->base ? (size_t)(at - rd->base) : 0;
        rd->diag->line = line;
    }
    return reason == OX_BER_R_DEPTH || reason == OX_BER_R_SIZE ? OX_E_LIMIT : OX_E_PEER;
}

#define FAIL(rd, at, reason) ox_ber_fail((rd), (at), (reason), __LINE__)

int ox_ber_rd_init(ox_ber_rd *rd, ox_span in, const ox_ber_limits *lim, ox_ber_diag *diag)
{
    memset(rd, 0, sizeof(*rd));
    if (lim)
        rd->lim = *lim;
    if (!rd->lim.max_depth)
        rd->lim.max_depth = OX_BER_DEFAULT_MAX_DEPTH;
    if (!rd->lim.max_size)
        rd->lim.max_size = OX_BER_DEFAULT_MAX_SIZE;
    rd->diag = diag;
    if (diag)
        memset(diag, 0, sizeof(*diag));
    rd->base = rd->p = in.p;
    rd->end = in.p ? in.p + in.len : in.p;
    if (in.len > rd->lim.max_size)
        return FAIL(rd, in.p, OX_BER_R_SIZE);
    return 0;
}

bool ox_ber_at_end(const ox_ber_rd *rd)
{
    return rd->p >= rd->end;
}

/* The identifier and length octets of one element. */
typedef struct ber_hdr {
    uint32_t tag;
    bool constructed;
    bool indefinite;
    const uint8_t *content; /* first content octet */
    size_t len;             /* definite length */
} ber_hdr;

/* Parses identifier and length octets at |p|, which must lie before |end|. Does not check
 * that a definite length fits: the caller knows the scope. */
static int parse_header(const ox_ber_rd *rd, const uint8_t *p, const uint8_t *end, ber_hdr *h)
{
    const uint8_t *start = p;
    if (p >= end)
        return FAIL(rd, p, OX_BER_R_TRUNC_TAG);
    uint8_t id = *p++;
    h->constructed = (id & 0x20) != 0;
    uint32_t num = id & 0x1f;
    if (num == 0x1f) {
        /* X.690 8.1.2.4: high tag number, base 128, first octet's low bits not all zero. */
        num = 0;
        if (p >= end)
            return FAIL(rd, start, OX_BER_R_TRUNC_TAG);
        if (*p == 0x80)
            return FAIL(rd, p, OX_BER_R_BAD_TAG);
        for (;;) {
            if (p >= end)
                return FAIL(rd, start, OX_BER_R_TRUNC_TAG);
            uint8_t b = *p++;
            if (num > (OX_BER_TAG_NUM_MAX >> 7))
                return FAIL(rd, start, OX_BER_R_BAD_TAG);
            num = num << 7 | (b & 0x7f);
            if (!(b & 0x80))
                break;
        }
        if (num < 0x1f)
            return FAIL(rd, start, OX_BER_R_BAD_TAG);
    }
    /* X.680 8.6, Table 1: UNIVERSAL 0 is reserved for the end-of-contents octets (00 00,
     * primitive, which the callers handle before parsing a header); constructed it is no
     * element at all. */
    if (id == 0x20)
        return FAIL(rd, start, OX_BER_R_BAD_TAG);
    h->tag = OX_BER_TAG(id >> 6, num);

    if (p >= end)
        return FAIL(rd, p, OX_BER_R_TRUNC_LEN);
    uint8_t l0 = *p++;
    h->indefinite = false;
    h->len = 0;
    if (l0 < 0x80) {
        h->len = l0;
    } else if (l0 == 0x80) {
        if (rd->lim.der)
            return FAIL(rd, p - 1, OX_BER_R_INDEF_FORBIDDEN);
        if (!h->constructed)
            return FAIL(rd, p - 1, OX_BER_R_INDEF_PRIMITIVE);
        h->indefinite = true;
    } else {
        size_t n = l0 & 0x7f;
        if (l0 == 0xff || n > sizeof(size_t))
            return FAIL(rd, p - 1, OX_BER_R_LEN_TOO_LONG);
        if (n > (size_t)(end - p))
            return FAIL(rd, p - 1, OX_BER_R_TRUNC_LEN);
        size_t len = 0;
        for (size_t i = 0; i < n; i++)
            len = len << 8 | p[i];
        if (rd->lim.der && (len < 0x80 || p[0] == 0))
            return FAIL(rd, p - 1, OX_BER_R_NONMINIMAL_LEN);
        p += n;
        h->len = len;
    }
    h->content = p;
    return 0;
}

/* Finds the end-of-contents that closes the indefinite element at |elem| whose contents
 * start at |content|. Iterative: |level| counts open indefinite elements, bounded by the
 * depth limit (|depth| is the depth of the element itself, so a nested indefinite element
 * at |level| has depth |depth| + |level|, allowed up to max_depth as ox_ber_enter allows). */
static int find_eoc(const ox_ber_rd *rd, const uint8_t *elem, const uint8_t *content,
                    const uint8_t *end, unsigned depth, const uint8_t **eoc)
{
    const uint8_t *p = content;
    unsigned level = 1;
    for (;;) {
        if (p >= end)
            return FAIL(rd, elem, OX_BER_R_EOC_MISSING);
        if (p[0] == 0) {
            if (end - p < 2)
                return FAIL(rd, p, OX_BER_R_TRUNC_LEN);
            if (p[1] != 0)
                return FAIL(rd, p, OX_BER_R_BAD_EOC);
            if (--level == 0) {
                *eoc = p;
                return 0;
            }
            p += 2;
            continue;
        }
        ber_hdr h;
        int rc = parse_header(rd, p, end, &h);
        if (rc)
            return rc;
        if (h.indefinite) {
            if (depth + level > rd->lim.max_depth)
                return FAIL(rd, p, OX_BER_R_DEPTH);
            level++;
            p = h.content;
        } else {
            if (h.len > (size_t)(end - h.content))
                return FAIL(rd, p, OX_BER_R_LEN_OVERRUN);
            p = h.content + h.len;
        }
    }
}

int ox_ber_peek(const ox_ber_rd *rd, ox_ber_tlv *tlv)
{
    const uint8_t *p = rd->p;
    if (p >= rd->end)
        return FAIL(rd, p, OX_BER_R_TRUNC_TAG);
    /* X.690 8.1.5: identifier 0x00 (universal 0, reserved) only ever starts the two-octet
     * end-of-contents; with any other length it is a malformed end-of-contents. */
    if (p[0] == 0 && rd->end - p >= 2)
        return FAIL(rd, p, p[1] == 0 ? OX_BER_R_UNEXPECTED_EOC : OX_BER_R_BAD_EOC);
    ber_hdr h;
    int rc = parse_header(rd, p, rd->end, &h);
    if (rc)
        return rc;
    tlv->tag = h.tag;
    tlv->constructed = h.constructed;
    tlv->indefinite = h.indefinite;
    if (h.indefinite) {
        const uint8_t *eoc = NULL;
        if ((rc = find_eoc(rd, p, h.content, rd->end, rd->depth + 1, &eoc)) != 0)
            return rc;
        tlv->value = ox_span_of(h.content, (size_t)(eoc - h.content));
        tlv->whole = ox_span_of(p, (size_t)(eoc + 2 - p));
    } else {
        if (h.len > (size_t)(rd->end - h.content))
            return FAIL(rd, p, OX_BER_R_LEN_OVERRUN);
        tlv->value = ox_span_of(h.content, h.len);
        tlv->whole = ox_span_of(p, (size_t)(h.content + h.len - p));
    }
    return 0;
}

bool ox_ber_peek_tag(const ox_ber_rd *rd, uint32_t tag)
{
    /* Only the identifier octets matter; errors in the rest surface on the real read. */
    ox_ber_rd quiet = *rd;
    quiet.diag = NULL;
    ber_hdr h;
    if (rd->p >= rd->end || parse_header(&quiet, rd->p, rd->end, &h) != 0)
        return false;
    if (h.tag == 0 && !h.constructed)
        return false; /* end-of-contents */
    return h.tag == tag;
}

int ox_ber_next(ox_ber_rd *rd, ox_ber_tlv *tlv)
{
    int rc = ox_ber_peek(rd, tlv);
    if (rc)
        return rc;
    rd->p = tlv->whole.p + tlv->whole.len;
    return 0;
}

int ox_ber_expect(ox_ber_rd *rd, uint32_t tag, int constructed, ox_ber_tlv *tlv)
{
    ox_ber_tlv t;
    int rc = ox_ber_peek(rd, &t);
    if (rc)
        return rc;
    if (t.tag != tag)
        return FAIL(rd, rd->p, OX_BER_R_UNEXPECTED_TAG);
    if (constructed >= 0 && t.constructed != (constructed != 0))
        return FAIL(rd, rd->p, OX_BER_R_WRONG_FORM);
    rd->p = t.whole.p + t.whole.len;
    *tlv = t;
    return 0;
}

int ox_ber_enter_tlv(const ox_ber_rd *parent, const ox_ber_tlv *tlv, ox_ber_rd *inner)
{
    if (!tlv->constructed)
        return FAIL(parent, tlv->whole.p, OX_BER_R_WRONG_FORM);
    if (parent->depth + 1 > parent->lim.max_depth)
        return FAIL(parent, tlv->whole.p, OX_BER_R_DEPTH);
    *inner = *parent;
    inner->depth = parent->depth + 1;
    inner->p = tlv->value.p;
    inner->end = tlv->value.p + tlv->value.len;
    inner->indefinite = tlv->indefinite;
    return 0;
}

int ox_ber_enter(ox_ber_rd *rd, uint32_t tag, ox_ber_rd *inner)
{
    ox_ber_tlv tlv;
    int rc = ox_ber_expect(rd, tag, 1, &tlv);
    if (rc)
        return rc;
    return ox_ber_enter_tlv(rd, &tlv, inner);
}

int ox_ber_leave(ox_ber_rd *rd, const ox_ber_rd *inner)
{
    (void)rd;
    if (inner->p != inner->end)
        return FAIL(inner, inner->p, OX_BER_R_LEFTOVER);
    return 0;
}

int ox_ber_read_bool(ox_ber_rd *rd, uint32_t tag, bool *v)
{
    ox_ber_tlv t;
    int rc = ox_ber_expect(rd, tag, 0, &t);
    if (rc)
        return rc;
    if (t.value.len != 1 || (rd->lim.der && t.value.p[0] != 0 && t.value.p[0] != 0xff))
        return FAIL(rd, t.whole.p, OX_BER_R_BAD_BOOLEAN);
    *v = t.value.p[0] != 0;
    return 0;
}

int ox_ber_read_int(ox_ber_rd *rd, uint32_t tag, int64_t *v)
{
    ox_ber_tlv t;
    int rc = ox_ber_expect(rd, tag, 0, &t);
    if (rc)
        return rc;
    const uint8_t *p = t.value.p;
    size_t n = t.value.len;
    if (n == 0)
        return FAIL(rd, t.whole.p, OX_BER_R_BAD_INTEGER);
    /* X.690 8.3.2: the first nine bits must not be all equal. DER refuses, BER tolerates
     * the redundant octets, which we drop before the range check. */
    while (n > 1 && ((p[0] == 0x00 && !(p[1] & 0x80)) || (p[0] == 0xff && (p[1] & 0x80)))) {
        if (rd->lim.der)
            return FAIL(rd, t.whole.p, OX_BER_R_BAD_INTEGER);
        p++;
        n--;
    }
    if (n > 8)
        return FAIL(rd, t.whole.p, OX_BER_R_INT_RANGE);
    uint64_t u = (p[0] & 0x80) ? UINT64_MAX : 0;
    for (size_t i = 0; i < n; i++)
        u = u << 8 | p[i];
    *v = (int64_t)u;
    return 0;
}

int ox_ber_read_int_range(ox_ber_rd *rd, uint32_t tag, int64_t min, int64_t max, int64_t *v)
{
    const uint8_t *at = rd->p;
    int64_t x;
    int rc = ox_ber_read_int(rd, tag, &x);
    if (rc)
        return rc;
    if (x < min || x > max)
        return FAIL(rd, at, OX_BER_R_INT_RANGE);
    *v = x;
    return 0;
}

int ox_ber_read_null(ox_ber_rd *rd, uint32_t tag)
{
    ox_ber_tlv t;
    int rc = ox_ber_expect(rd, tag, 0, &t);
    if (rc)
        return rc;
    if (t.value.len != 0)
        return FAIL(rd, t.whole.p, OX_BER_R_BAD_NULL);
    return 0;
}
