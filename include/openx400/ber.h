/* ber.h - X.690 Basic Encoding Rules: bounded reader and length-patching writer
 *
 * Why: every OSI layer above the session and all of P1 are ASN.1; no Debian library decodes
 *      BER with the bounds a store-and-forward MTA needs against hostile peers, so this one is
 *      small, iterative (no recursion) and fuzzed.
 * Reader: scoped. ox_ber_enter() yields an inner reader whose end is the element's end;
 *      ox_ber_leave() requires it to be fully consumed. Nothing reads past the input; nothing
 *      is allocated in proportion to a length field before its bytes are there.
 * Writer: appends to an ox_buf. ox_ber_open() leaves a one-byte length placeholder and
 *      returns a mark; ox_ber_close() writes the minimal definite length, moving the contents
 *      only when the long form needs more bytes (each level moves its contents at most once).
 * Limits: ox_ber_limits (depth, total size, DER strictness).
 * Diagnostics: a peer fault returns OX_E_PEER (or OX_E_LIMIT for a limit) and fills the
 *      reader's ox_ber_diag with the reason, the byte offset from the start of the input and
 *      the source line that noticed it.
 * Standards: X.690 (2002) clauses 8 (BER) and 10 (DER); X.680 for the string types. */
#ifndef OPENX400_BER_H
#define OPENX400_BER_H

#include "openx400/common.h"

/* Tags: class in the top three bits, number below. Constructedness is separate: the reader
 * reports it, the writer chooses it by the call (open = constructed, put = primitive). */
enum {
    OX_BER_CLASS_UNIVERSAL = 0,
    OX_BER_CLASS_APPLICATION = 1,
    OX_BER_CLASS_CONTEXT = 2,
    OX_BER_CLASS_PRIVATE = 3
};
#define OX_BER_TAG_NUM_MAX   ((1u << 29) - 1)
#define OX_BER_TAG(cls, num) ((uint32_t)(cls) << 29 | (uint32_t)(num))
#define OX_BER_UNIV(n)       OX_BER_TAG(OX_BER_CLASS_UNIVERSAL, n)
#define OX_BER_APP(n)        OX_BER_TAG(OX_BER_CLASS_APPLICATION, n)
#define OX_BER_CTX(n)        OX_BER_TAG(OX_BER_CLASS_CONTEXT, n)
#define OX_BER_PRIV(n)       OX_BER_TAG(OX_BER_CLASS_PRIVATE, n)
#define OX_BER_TAG_CLASS(t)  ((unsigned)((t) >> 29))
#define OX_BER_TAG_NUMBER(t) ((t)&OX_BER_TAG_NUM_MAX)

/* X.680 clause 8.4, Table 1: universal tags openx400 uses. */
enum {
    OX_BER_T_BOOLEAN = 1,
    OX_BER_T_INTEGER = 2,
    OX_BER_T_BIT_STRING = 3,
    OX_BER_T_OCTET_STRING = 4,
    OX_BER_T_NULL = 5,
    OX_BER_T_OID = 6,
    OX_BER_T_OBJECT_DESCRIPTOR = 7,
    OX_BER_T_EXTERNAL = 8,
    OX_BER_T_ENUMERATED = 10,
    OX_BER_T_UTF8_STRING = 12,
    OX_BER_T_SEQUENCE = 16,
    OX_BER_T_SET = 17,
    OX_BER_T_NUMERIC_STRING = 18,
    OX_BER_T_PRINTABLE_STRING = 19,
    OX_BER_T_TELETEX_STRING = 20,
    OX_BER_T_VIDEOTEX_STRING = 21,
    OX_BER_T_IA5_STRING = 22,
    OX_BER_T_UTC_TIME = 23,
    OX_BER_T_GENERALIZED_TIME = 24,
    OX_BER_T_GRAPHIC_STRING = 25,
    OX_BER_T_VISIBLE_STRING = 26,
    OX_BER_T_GENERAL_STRING = 27,
    OX_BER_T_UNIVERSAL_STRING = 28,
    OX_BER_T_BMP_STRING = 30,
};

/* Why a decode failed. Stable numbers: they appear in events and test vectors. */
typedef enum ox_ber_reason {
    OX_BER_R_NONE = 0,
    OX_BER_R_TRUNC_TAG = 1,       /* input ends inside the identifier octets */
    OX_BER_R_TRUNC_LEN = 2,       /* input ends inside the length octets */
    OX_BER_R_LEN_OVERRUN = 3,     /* length runs past the enclosing element or input */
    OX_BER_R_LEN_TOO_LONG = 4,    /* length-of-length > sizeof(size_t), or 0xFF (reserved) */
    OX_BER_R_NONMINIMAL_LEN = 5,  /* DER: length not in its shortest form */
    OX_BER_R_INDEF_PRIMITIVE = 6, /* indefinite length on a primitive element */
    OX_BER_R_INDEF_FORBIDDEN = 7, /* DER: indefinite length */
    OX_BER_R_EOC_MISSING = 8,     /* indefinite element without its end-of-contents */
    OX_BER_R_UNEXPECTED_EOC = 9,  /* end-of-contents where an element was expected */
    OX_BER_R_BAD_EOC = 10,        /* end-of-contents with a non-zero length */
    OX_BER_R_BAD_TAG = 11,        /* high-tag form for a low number, leading 0x80, too big, or a
                                     constructed UNIVERSAL 0 */
    OX_BER_R_UNEXPECTED_TAG = 12, /* the element is not the one the grammar requires */
    OX_BER_R_WRONG_FORM = 13,     /* primitive where constructed is required or the reverse */
    OX_BER_R_LEFTOVER = 14,       /* bytes left in a scope that must be fully consumed */
    OX_BER_R_DEPTH = 15,          /* nesting deeper than limits.max_depth (OX_E_LIMIT) */
    OX_BER_R_SIZE = 16,           /* input or value larger than limits.max_size (OX_E_LIMIT) */
    OX_BER_R_BAD_BOOLEAN = 17,
    OX_BER_R_BAD_INTEGER = 18, /* empty, or (DER) not minimal */
    OX_BER_R_INT_RANGE = 19,   /* valid INTEGER outside the range the caller accepts */
    OX_BER_R_BAD_NULL = 20,
    OX_BER_R_BAD_OID = 21,      /* empty, unterminated arc, leading 0x80, arc too large */
    OX_BER_R_OID_TOO_LONG = 22, /* more than OX_OID_MAX_ARCS arcs */
    OX_BER_R_BAD_CHAR = 23,     /* character outside the string type's set */
    OX_BER_R_BAD_TIME = 24,
    OX_BER_R_BAD_BIT_STRING = 25, /* unused-bits octet > 7, or bits unused in an empty one */
    OX_BER_R_BAD_SEGMENT = 26,    /* constructed string segment of the wrong type */
} ox_ber_reason;

const char *ox_ber_reason_name(ox_ber_reason r);

typedef struct ox_ber_diag {
    ox_ber_reason reason;
    size_t offset; /* from the start of the input given to ox_ber_rd_init */
    int line;      /* source line of openx400 that noticed */
} ox_ber_diag;

typedef struct ox_ber_limits {
    unsigned max_depth; /* nested constructed elements; 0 = OX_BER_DEFAULT_MAX_DEPTH */
    size_t max_size;    /* whole input and any reassembled value; 0 = OX_BER_DEFAULT_MAX_SIZE */
    bool der;           /* refuse what DER forbids: long lengths not minimal, indefinite
                           lengths, constructed strings, BOOLEAN true other than 0xFF,
                           INTEGERs not minimal, times not in the X.690 11.7/11.8 form */
} ox_ber_limits;

/* Why these defaults: X.400 envelopes nest about 12 deep (trace -> domain -> ORName ->
 * attributes); 64 leaves room for extensions while bounding work on hostile input. The size
 * bound is per decoded APDU held in memory; message content is streamed, not decoded here. */
#define OX_BER_DEFAULT_MAX_DEPTH 64u
#define OX_BER_DEFAULT_MAX_SIZE  ((size_t)64 << 20)

typedef struct ox_ber_rd {
    const uint8_t *base; /* start of the whole input, for offsets */
    const uint8_t *p;    /* next byte to read */
    const uint8_t *end;  /* end of this scope (for indefinite scopes: where the EOC starts) */
    unsigned depth;
    bool indefinite; /* this scope came from an indefinite length: leave() skips its EOC */
    ox_ber_limits lim;
    ox_ber_diag *diag;
} ox_ber_rd;

/* One element as found by ox_ber_peek/ox_ber_next. */
typedef struct ox_ber_tlv {
    uint32_t tag;
    bool constructed;
    bool indefinite;
    ox_span value; /* contents; for indefinite elements, up to (not including) the EOC */
    ox_span whole; /* identifier, length, contents and any EOC: the element byte-exact */
} ox_ber_tlv;

/* Starts a reader over |in| (borrowed: views it returns point into it). |lim| may be NULL
 * for the defaults; |diag| (borrowed, may be NULL) receives the reason of the first failure.
 * Returns 0, or OX_E_LIMIT when |in| is larger than the size limit. */
int ox_ber_rd_init(ox_ber_rd *rd, ox_span in, const ox_ber_limits *lim, ox_ber_diag *diag);

/* True when no element remains in this scope. */
bool ox_ber_at_end(const ox_ber_rd *rd);

/* Reads the next element's header and finds its extent without consuming it.
 * Returns 0, OX_E_AGAIN... never: a reader holds whole input; OX_E_PEER or OX_E_LIMIT. */
int ox_ber_peek(const ox_ber_rd *rd, ox_ber_tlv *tlv);
/* True when the next element exists and has |tag| (for OPTIONAL and CHOICE). */
bool ox_ber_peek_tag(const ox_ber_rd *rd, uint32_t tag);
/* Reads any next element and moves past it. */
int ox_ber_next(ox_ber_rd *rd, ox_ber_tlv *tlv);
/* Reads the next element, which must have |tag|; |constructed| is 0 or 1 to require a form,
 * or -1 for either. */
int ox_ber_expect(ox_ber_rd *rd, uint32_t tag, int constructed, ox_ber_tlv *tlv);

/* Enters the next element, which must be constructed with |tag|; the parent moves past it. */
int ox_ber_enter(ox_ber_rd *rd, uint32_t tag, ox_ber_rd *inner);
/* Enters an element already read from |parent| with ox_ber_next/expect. */
int ox_ber_enter_tlv(const ox_ber_rd *parent, const ox_ber_tlv *tlv, ox_ber_rd *inner);
/* Checks that |inner| was consumed to its end: OX_E_PEER (LEFTOVER) otherwise. */
int ox_ber_leave(ox_ber_rd *rd, const ox_ber_rd *inner);

/* Records a failure noticed by a caller (grammar errors above the BER level). */
int ox_ber_fail(const ox_ber_rd *rd, const uint8_t *at, ox_ber_reason reason, int line);
#define OX_BER_FAIL(rd, at, reason) ox_ber_fail((rd), (at), (reason), __LINE__)

/* Typed reads of the next element. |tag| is the tag to expect: pass the universal tag for
 * an untagged value, or the context/application tag for an IMPLICIT one. */
int ox_ber_read_bool(ox_ber_rd *rd, uint32_t tag, bool *v);
int ox_ber_read_int(ox_ber_rd *rd, uint32_t tag, int64_t *v);
/* INTEGER (or ENUMERATED) in [min, max]; outside -> OX_E_PEER with OX_BER_R_INT_RANGE. */
int ox_ber_read_int_range(ox_ber_rd *rd, uint32_t tag, int64_t min, int64_t max, int64_t *v);
int ox_ber_read_null(ox_ber_rd *rd, uint32_t tag);

/* OBJECT IDENTIFIER: up to OX_OID_MAX_ARCS arcs of up to 32 bits each. */
#define OX_OID_MAX_ARCS 24
typedef struct ox_oid {
    uint32_t arc[OX_OID_MAX_ARCS];
    uint8_t n;
} ox_oid;
/* A constant: static const ox_oid id = OX_OID_INIT(2, 6, 0, 1, 6); */
#define OX_OID_INIT(...)                                                                           \
    {                                                                                              \
        .arc = {__VA_ARGS__}, .n = (uint8_t)(sizeof((uint32_t[]){__VA_ARGS__}) / sizeof(uint32_t)) \
    }
bool ox_oid_eq(const ox_oid *a, const ox_oid *b);
/* "2.6.0.1.6" -> oid. Returns 0 or OX_E_ARG (syntax, first arc > 2, second arc > 39 under
 * 0/1, arc > 2^32-1, too many arcs). */
int ox_oid_from_text(ox_oid *oid, const char *text);
/* Writes dotted text and a NUL; returns the length, OX_E_LIMIT if |cap| is too small (|dst|
 * then holds "" when cap > 0), or OX_E_ARG if oid->n > OX_OID_MAX_ARCS. */
int ox_oid_to_text(const ox_oid *oid, char *dst, size_t cap);
/* Content octets <-> oid (no tag, no length). */
int ox_oid_decode(ox_oid *oid, ox_span content, ox_ber_reason *why);
int ox_ber_read_oid(ox_ber_rd *rd, uint32_t tag, ox_oid *oid);

/* OCTET STRING: primitive or (BER) constructed, reassembled into |out| (appended). */
int ox_ber_read_octets(ox_ber_rd *rd, uint32_t tag, ox_buf *out);
/* OCTET STRING that must be primitive: a view into the input, no copy. */
int ox_ber_read_octets_view(ox_ber_rd *rd, uint32_t tag, ox_span *v);
/* BIT STRING: bytes appended to |out|, number of unused bits in the last byte in |unused|. */
int ox_ber_read_bits(ox_ber_rd *rd, uint32_t tag, ox_buf *out, unsigned *unused);

/* Character string types with their X.680 character sets. TeletexString (T.61) and
 * GeneralString accept any octet; UTF8String must be valid UTF-8. */
typedef enum ox_ber_strtype {
    OX_BER_STR_NUMERIC = OX_BER_T_NUMERIC_STRING,     /* digits and space */
    OX_BER_STR_PRINTABLE = OX_BER_T_PRINTABLE_STRING, /* A-Z a-z 0-9 space '()+,-./:=? */
    OX_BER_STR_TELETEX = OX_BER_T_TELETEX_STRING,
    OX_BER_STR_IA5 = OX_BER_T_IA5_STRING,         /* 0x00-0x7F */
    OX_BER_STR_VISIBLE = OX_BER_T_VISIBLE_STRING, /* 0x20-0x7E */
    OX_BER_STR_GENERAL = OX_BER_T_GENERAL_STRING,
    OX_BER_STR_UTF8 = OX_BER_T_UTF8_STRING,
} ox_ber_strtype;
/* True when every byte of |s| belongs to |type|'s character set. */
bool ox_ber_str_valid(ox_ber_strtype type, ox_span s);
/* Reads a string of |type| (tag 0 = the type's universal tag) into |out| (appended, no NUL). */
int ox_ber_read_string(ox_ber_rd *rd, uint32_t tag, ox_ber_strtype type, ox_buf *out);
/* The same into a fixed char array with a NUL; longer than cap-1 -> OX_E_LIMIT (SIZE); a NUL
 * octet inside (IA5, Teletex, General allow one) -> OX_E_PEER (BAD_CHAR), since it would cut
 * the C string. On failure |dst| is "". */
int ox_ber_read_cstr(ox_ber_rd *rd, uint32_t tag, ox_ber_strtype type, char *dst, size_t cap);

/* UTCTime and GeneralizedTime. */
typedef struct ox_ber_time {
    int year; /* full year; UTCTime YY < 50 -> 20YY, else 19YY (X.509 rule) */
    int month, day, hour, minute, second;
    int millis;         /* GeneralizedTime fraction, to milliseconds */
    int utc_offset_min; /* from +hhmm/-hhmm, 0 for Z */
    bool has_zone;      /* Z or an offset was present (local time otherwise) */
} ox_ber_time;
/* Parse the text of a time value; return 0 or OX_E_PEER (syntax, invalid date, zone).
 * UTCTime: YYMMDDhhmm[ss](Z|+-hhmm). GeneralizedTime: YYYYMMDDhh[mm[ss]][(.|,)f+][Z|+-hh[mm]];
 * a fraction is of the last unit given (hour, minute or second), kept to milliseconds. */
int ox_ber_parse_utctime(ox_span text, ox_ber_time *t);
int ox_ber_parse_gentime(ox_span text, ox_ber_time *t);
/* Seconds since 1970-01-01T00:00:00Z (local time taken as UTC). */
int64_t ox_ber_time_to_unix(const ox_ber_time *t);
void ox_ber_time_from_unix(int64_t secs, ox_ber_time *t);
/* Reads a time element (tag 0 = the universal tag): 0, or OX_E_PEER with BAD_TIME (text the
 * parser refuses; with limits.der, also any form but YYMMDDhhmmssZ and
 * YYYYMMDDhhmmss[.f]Z with no trailing zero), BAD_CHAR, or the string readers' errors; a text
 * longer than 39 octets is OX_E_LIMIT (SIZE). On failure the reader has not moved. */
int ox_ber_read_utctime(ox_ber_rd *rd, uint32_t tag, ox_ber_time *t);
int ox_ber_read_gentime(ox_ber_rd *rd, uint32_t tag, ox_ber_time *t);

/* ---- Writer: all functions append to |w|; errors are sticky in w->err. ---- */

/* Identifier octets and a length, for callers that stream contents of known length.
 * Every writer refuses tag OX_BER_UNIV(0) (reserved for end-of-contents: ox_ber_put_eoc)
 * with w->err = OX_E_ARG; the typed put_* functions take tag 0 as their universal tag. */
void ox_ber_put_header(ox_buf *w, uint32_t tag, bool constructed, size_t len);
/* Opens a constructed element; returns the mark to give to ox_ber_close. */
size_t ox_ber_open(ox_buf *w, uint32_t tag);
void ox_ber_close(ox_buf *w, size_t mark);
/* Indefinite-length constructed element and its end-of-contents, for streaming. */
void ox_ber_open_indef(ox_buf *w, uint32_t tag);
void ox_ber_put_eoc(ox_buf *w);

void ox_ber_put_prim(ox_buf *w, uint32_t tag, const void *content, size_t len);
void ox_ber_put_bool(ox_buf *w, uint32_t tag, bool v);
void ox_ber_put_int(ox_buf *w, uint32_t tag, int64_t v);
void ox_ber_put_null(ox_buf *w, uint32_t tag);
void ox_ber_put_oid(ox_buf *w, uint32_t tag, const ox_oid *oid);
void ox_ber_put_octets(ox_buf *w, uint32_t tag, ox_span v);
void ox_ber_put_bits(ox_buf *w, uint32_t tag, ox_span bytes, unsigned unused);
/* Writes a string of |type| (tag 0 = universal). Characters outside the set set w->err to
 * OX_E_ARG: we never send what we would refuse. */
void ox_ber_put_string(ox_buf *w, uint32_t tag, ox_ber_strtype type, ox_span s);
void ox_ber_put_cstr(ox_buf *w, uint32_t tag, ox_ber_strtype type, const char *s);
/* UTCTime "YYMMDDhhmmssZ" and GeneralizedTime "YYYYMMDDhhmmss[.f]Z" (DER: converted to UTC,
 * fraction only when millis != 0, without trailing zeros). An invalid date, millis outside
 * 0..999, an offset beyond +-23:59, or a UTC year outside 1950..2049 (UTCTime) or 0..9999 set
 * w->err to OX_E_ARG. */
void ox_ber_put_utctime(ox_buf *w, uint32_t tag, const ox_ber_time *t);
void ox_ber_put_gentime(ox_buf *w, uint32_t tag, const ox_ber_time *t);
/* Copies an already-encoded element (an unknown extension kept byte-exact). */
void ox_ber_put_raw(ox_buf *w, ox_span whole);

static inline int ox_ber_wr_status(const ox_buf *w)
{
    return w->err;
}

#endif
