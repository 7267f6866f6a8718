/* common.h - error codes, byte views, growable buffers and the allocator every layer shares
 *
 * Why: each layer is a sans-I/O machine that takes bytes in and appends bytes out; they all
 *      speak in the same three types (ox_span in, ox_buf out, int status) so that the layers
 *      stack without glue code.
 * Errors: negative ints in three classes (house style §10):
 *      local misuse  OX_E_ARG, OX_E_STATE, OX_E_UNSUPPORTED
 *      peer fault    OX_E_PEER (the layer records the standard's reason code), OX_E_LIMIT
 *      resource      OX_E_NOMEM and anything at or below OX_E_FATAL: the object may only be freed.
 *      OX_E_AGAIN is "need more input", not a failure. */
#ifndef OPENX400_COMMON_H
#define OPENX400_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    OX_OK = 0,
    OX_E_AGAIN = -1,       /* not enough input yet */
    OX_E_ARG = -2,         /* caller passed something invalid */
    OX_E_STATE = -3,       /* request not allowed in this state; nothing changed */
    OX_E_PEER = -4,        /* the peer's bytes break the protocol */
    OX_E_LIMIT = -5,       /* a configured limit (size, depth, count) was exceeded */
    OX_E_UNSUPPORTED = -6, /* valid but not implemented (e.g. transport class 2) */
    OX_E_NOTFOUND = -7,    /* lookup found nothing */
    OX_E_IO = -8,          /* an operating-system call failed (daemon and queue only) */
    OX_E_FATAL = -100,     /* at or below: object unusable, only free it */
    OX_E_NOMEM = -101,
};

/* Short, stable name of an error code ("peer", "nomem", ...), for logs and tests. */
const char *ox_strerror(int code);

/* A read-only view of bytes owned by someone else. */
typedef struct ox_span {
    const uint8_t *p;
    size_t len;
} ox_span;

static inline ox_span ox_span_of(const void *p, size_t len)
{
    ox_span s = {(const uint8_t *)p, len};
    return s;
}

bool ox_span_eq(ox_span a, ox_span b);

/* Allocator passed to every object that allocates (house style §17). NULL fields or a NULL
 * pointer mean the C library's allocator. realloc(ctx, NULL, n) must behave like malloc. */
typedef struct ox_alloc {
    void *(*realloc)(void *ctx, void *p, size_t n);
    void (*free)(void *ctx, void *p);
    void *ctx;
} ox_alloc;

void *ox_realloc(const ox_alloc *a, void *p, size_t n);
void ox_free(const ox_alloc *a, void *p);

/* A growable byte buffer. It may start in caller storage (ox_buf_init_fixed / ox_buf_init
 * with stack memory) and moves to the heap on growth. Sticky error: once an append fails,
 * err is set and every later append is a no-op, so writers check once at the end.
 * Invariant: len <= cap; p is NULL only when cap is 0. Growth moves the data: do not keep
 * pointers into p across appends. */
typedef struct ox_buf {
    uint8_t *p;
    size_t len;
    size_t cap;
    size_t max; /* hard ceiling on len (0 = SIZE_MAX): exceeding it sets OX_E_LIMIT */
    int err;    /* first error, 0 if none */
    bool heap;  /* p was allocated by us */
    const ox_alloc *alloc;
} ox_buf;

/* Starts an empty buffer. |initial|/|initial_cap| may be caller storage (borrowed: it must
 * outlive the buffer or the first growth) or NULL/0. |alloc| may be NULL. */
void ox_buf_init(ox_buf *b, const ox_alloc *alloc, void *initial, size_t initial_cap);
void ox_buf_free(ox_buf *b);
void ox_buf_reset(ox_buf *b); /* len = 0, err = 0; keeps the storage */

/* Ensures room for |n| more bytes. Returns 0, OX_E_NOMEM or OX_E_LIMIT (and sets err). */
int ox_buf_reserve(ox_buf *b, size_t n);
int ox_buf_append(ox_buf *b, const void *p, size_t n);
int ox_buf_put_u8(ox_buf *b, uint8_t v);
int ox_buf_put_u16be(ox_buf *b, uint16_t v);
/* Inserts |n| bytes at |pos| (pos <= len), moving the tail; used to patch lengths. */
int ox_buf_insert(ox_buf *b, size_t pos, const void *p, size_t n);
/* Removes |n| bytes from the front (consumed input). */
void ox_buf_consume(ox_buf *b, size_t n);

static inline ox_span ox_buf_span(const ox_buf *b)
{
    return ox_span_of(b->p, b->len);
}

/* Hex helpers for tests, vectors and logs. ox_hex_decode skips white space and '#'
 * comments to the end of line; returns 0, OX_E_ARG (odd digit count or bad char) or a buf
 * error. */
int ox_hex_decode(ox_buf *out, const char *text);
/* Writes at most |cap|-1 hex digits of |s| to |dst| and a NUL; returns the digits written. */
size_t ox_hex_encode(char *dst, size_t cap, ox_span s);

/* Copies |src| into |dst| (|cap| bytes, always NUL-terminated when cap > 0), cutting it if
 * needed. Returns strlen(src), so a result >= cap means it was cut. */
size_t ox_strlcpy(char *dst, const char *src, size_t cap);

#define OX_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#ifdef NDEBUG
#define OX_ALWAYS(x) (x)
#define OX_NEVER(x)  (x)
#else
#include <assert.h>
/* Defensive checks we believe cannot fire: assert in debug builds, a real test in release. */
#define OX_ALWAYS(x) ((x) ? 1 : (assert(0 && #x), 0))
#define OX_NEVER(x)  ((x) ? (assert(0 && #x), 1) : 0)
#endif

#endif
