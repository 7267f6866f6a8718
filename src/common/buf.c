/* buf.c - growable byte buffer with a sticky error and an optional hard ceiling
 *
 * Why: every encoder in openx400 appends to one of these; a sticky error lets an encoder write
 *      a whole PDU and check once. Growth is geometric so appends are amortised O(1). */
#include "openx400/common.h"

#include <stdlib.h>
#include <string.h>

void *ox_realloc(const ox_alloc *a, void *p, size_t n)
{
    if (a && a->realloc)
        return a->realloc(a->ctx, p, n);
    return realloc(p, n);
}

void ox_free(const ox_alloc *a, void *p)
{
    if (!p)
        return;
    if (a && a->free)
        a->free(a->ctx, p);
    else
        free(p);
}

bool ox_span_eq(ox_span a, ox_span b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

void ox_buf_init(ox_buf *b, const ox_alloc *alloc, void *initial, size_t initial_cap)
{
    memset(b, 0, sizeof(*b));
    b->alloc = alloc;
    if (initial && initial_cap) {
        b->p = initial;
        b->cap = initial_cap;
    }
}

void ox_buf_free(ox_buf *b)
{
    if (b->heap)
        ox_free(b->alloc, b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->heap = false;
}

void ox_buf_reset(ox_buf *b)
{
    b->len = 0;
    b->err = 0;
}

static int buf_fail(ox_buf *b, int err)
{
    if (!b->err)
        b->err = err;
    return err;
}

int ox_buf_reserve(ox_buf *b, size_t n)
{
    if (b->err)
        return b->err;
    size_t max = b->max ? b->max : SIZE_MAX;
    if (n > max - b->len)
        return buf_fail(b, OX_E_LIMIT);
    size_t need = b->len + n;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p;
    if (b->heap) {
        p = ox_realloc(b->alloc, b->p, cap);
    } else {
        p = ox_realloc(b->alloc, NULL, cap);
        if (p && b->len)
            memcpy(p, b->p, b->len);
    }
    if (!p)
        return buf_fail(b, OX_E_NOMEM);
    b->p = p;
    b->cap = cap;
    b->heap = true;
    return 0;
}

int ox_buf_append(ox_buf *b, const void *p, size_t n)
{
    int rc = ox_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

int ox_buf_put_u8(ox_buf *b, uint8_t v)
{
    return ox_buf_append(b, &v, 1);
}

int ox_buf_put_u16be(ox_buf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    return ox_buf_append(b, x, 2);
}

int ox_buf_insert(ox_buf *b, size_t pos, const void *p, size_t n)
{
    if (OX_NEVER(pos > b->len))
        return buf_fail(b, OX_E_ARG);
    int rc = ox_buf_reserve(b, n);
    if (rc)
        return rc;
    memmove(b->p + pos + n, b->p + pos, b->len - pos);
    memcpy(b->p + pos, p, n);
    b->len += n;
    return 0;
}

void ox_buf_consume(ox_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}
