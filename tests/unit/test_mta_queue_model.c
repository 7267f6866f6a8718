/* test_mta_queue_model.c - reference-model test of the durable queue: seeded random operations
 * (insert with duplicate MTS ids, every transition, retry, route, purge, batches committed and
 * aborted, reopen with recovery, every scheduling query) applied both to the queue and to a
 * plain in-memory model, compared after each step. The seed is printed; rerun one with
 * OX_QUEUE_SEED=<seed>; OX_QUEUE_STEPS sets the step count (default 6000). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_mta_queue_util.h"

#include <time.h>

#define M_MSGS  512 /* model slots; old ones are reused once purged */
#define M_RCPTS 4
#define M_POOL  200 /* MTS ids are drawn from this many names, so duplicates happen */
#define M_SEEN  1024
#define M_RIDS  (1 << 16) /* recipient ids indexed directly below this; scanned above */

static const char *const conns[] = {"c0", "c1", "c2", NULL};

typedef struct m_rcpt {
    int64_t id;
    int state;
    const char *conn;
    uint64_t next_attempt;
    uint32_t open_att, xfer_att;
    char last_error[32];
    uint32_t flags;
    int reason, diag;
} m_rcpt;

typedef struct m_msg {
    bool present;
    int64_t id;
    char mts[16];
    int prio;
    uint64_t arrival, expiry;
    int64_t content; /* -1 none */
    uint32_t n;
    m_rcpt r[M_RCPTS];
} m_msg;

typedef struct m_seen {
    char mts[16];
    int64_t id;
    uint64_t purged;
} m_seen;

typedef struct model {
    m_msg msg[M_MSGS];
    m_seen seen[M_SEEN];
    size_t n_seen;
    int64_t max_rcpt_id;
    int32_t by_mts[M_POOL];  /* slot + 1 of the live message with MTS id "m<n>", 0 = none */
    int32_t by_rcpt[M_RIDS]; /* slot * M_RCPTS + index + 1 of a live recipient, 0 = none */
} model;

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static uint32_t rn(uint32_t n)
{
    return (uint32_t)(rnd() % n);
}

static model mdl, snap;
static bool in_batch;
static qt_dir dir;
static ox_queue *q;
static uint64_t now;

static m_msg *m_find_mts(const char *mts)
{
    unsigned long k = strtoul(mts + 1, NULL, 10);
    assert_true(mts[0] == 'm' && k < M_POOL);
    return mdl.by_mts[k] ? &mdl.msg[mdl.by_mts[k] - 1] : NULL;
}

static void m_index(m_msg *m, bool add)
{
    int32_t slot = (int32_t)(m - mdl.msg);
    mdl.by_mts[strtoul(m->mts + 1, NULL, 10)] = add ? slot + 1 : 0;
    for (uint32_t j = 0; j < m->n; j++)
        if (m->r[j].id < M_RIDS)
            mdl.by_rcpt[m->r[j].id] = add ? slot * M_RCPTS + (int32_t)j + 1 : 0;
}

static m_rcpt *m_find_rcpt(int64_t id, m_msg **owner)
{
    if (id > 0 && id < M_RIDS) {
        int32_t v = mdl.by_rcpt[id];
        if (!v)
            return NULL;
        m_msg *m = &mdl.msg[(v - 1) / M_RCPTS];
        if (owner)
            *owner = m;
        return &m->r[(v - 1) % M_RCPTS];
    }
    for (size_t i = 0; i < M_MSGS; i++)
        for (uint32_t j = 0; mdl.msg[i].present && j < mdl.msg[i].n; j++)
            if (mdl.msg[i].r[j].id == id) {
                if (owner)
                    *owner = &mdl.msg[i];
                return &mdl.msg[i].r[j];
            }
    return NULL;
}

/* ---- operations ---- */

static void op_insert(void)
{
    char mts[16];
    snprintf(mts, sizeof mts, "m%u", rn(M_POOL));
    int prio = (int)rn(3);
    uint64_t expiry = rn(3) == 0 ? 0 : now + rn(3000);
    uint32_t n = 1 + rn(M_RCPTS);
    const char *conn = conns[rn(4)];
    size_t clen = rn(4) == 0 ? (size_t)-1 : rn(300);
    int64_t id = -1;
    int rc = qt_insert(q, mts, (ox_queue_priority)prio, now, expiry, conn, n, clen, &id);

    m_msg *old = m_find_mts(mts);
    int64_t seen_id = -1;
    for (size_t i = 0; i < mdl.n_seen; i++)
        if (strcmp(mdl.seen[i].mts, mts) == 0)
            seen_id = mdl.seen[i].id;
    if (old || seen_id >= 0) {
        assert_int_equal(rc, OX_QUEUE_DUPLICATE);
        assert_int_equal(id, old ? old->id : seen_id);
        return;
    }
    assert_int_equal(rc, 0);
    m_msg *m = NULL;
    for (size_t i = 0; i < M_MSGS && !m; i++)
        if (!mdl.msg[i].present)
            m = &mdl.msg[i];
    assert_non_null(m); /* the pool bounds live messages below M_MSGS */
    *m = (m_msg){.present = true,
                 .id = id,
                 .prio = prio,
                 .arrival = now,
                 .expiry = expiry,
                 .content = clen == (size_t)-1 ? -1 : (int64_t)clen,
                 .n = n};
    snprintf(m->mts, sizeof m->mts, "%s", mts);
    for (uint32_t j = 0; j < n; j++) {
        int64_t rid = qt_rcpt(q, id, j);
        assert_true(rid > 0);
        m->r[j] = (m_rcpt){.id = rid,
                           .state = OX_QUEUE_PENDING,
                           .conn = conn,
                           .next_attempt = now,
                           .flags = j,
                           .reason = -1,
                           .diag = -1};
        if (rid > mdl.max_rcpt_id)
            mdl.max_rcpt_id = rid;
    }
    m_index(m, true);
}

/* A recipient id: mostly live ones, sometimes purged or unknown ones. */
static int64_t pick_rcpt(void)
{
    if (rn(10) == 0 || mdl.max_rcpt_id == 0)
        return 1 + (int64_t)rn((uint32_t)mdl.max_rcpt_id + 5);
    for (int tries = 0; tries < 50; tries++) {
        m_msg *m = &mdl.msg[rn(M_MSGS)];
        if (m->present)
            return m->r[rn(m->n)].id;
    }
    return 1;
}

static void op_transition(void)
{
    static const unsigned allowed[OX_QUEUE_STATE_COUNT] = {
        [OX_QUEUE_PENDING] = 1u << 0 | 1u << 1,
        [OX_QUEUE_IN_TRANSFER] = 1u << 0,
        [OX_QUEUE_TRANSFERRED] = 1u << 1,
        [OX_QUEUE_DELIVERED] = 1u << 0 | 1u << 1,
        [OX_QUEUE_NON_DELIVERED] = 1u << 0 | 1u << 1,
        [OX_QUEUE_REPORTED] = 1u << 3 | 1u << 4,
    };
    int64_t rid = pick_rcpt();
    m_rcpt *r = m_find_rcpt(rid, NULL);
    int to = (int)rn(OX_QUEUE_STATE_COUNT + 1); /* STATE_COUNT = route */
    int rc;
    uint64_t at = now + rn(500);
    char err[32];
    snprintf(err, sizeof err, "e%u", rn(1000));
    int reason = (int)rn(10), diag = (int)rn(40) - 1;
    const char *conn = conns[rn(4)];
    switch (to) {
    case OX_QUEUE_PENDING: {
        ox_queue_attempt kind = (ox_queue_attempt)rn(2);
        rc = ox_queue_retry(q, rid, now, at, kind, err);
        if (r && (allowed[to] & (1u << r->state))) {
            r->state = OX_QUEUE_PENDING;
            r->next_attempt = at;
            if (kind == OX_QUEUE_ATTEMPT_OPEN)
                r->open_att++;
            else
                r->xfer_att++;
            snprintf(r->last_error, sizeof r->last_error, "%s", err);
        }
        break;
    }
    case OX_QUEUE_IN_TRANSFER: rc = ox_queue_mark_in_transfer(q, rid, now); break;
    case OX_QUEUE_TRANSFERRED: rc = ox_queue_mark_transferred(q, rid, now); break;
    case OX_QUEUE_DELIVERED: rc = ox_queue_mark_delivered(q, rid, now); break;
    case OX_QUEUE_NON_DELIVERED:
        rc = ox_queue_mark_non_delivered(q, rid, now, reason, diag, err);
        if (r && (allowed[to] & (1u << r->state))) {
            r->reason = reason;
            r->diag = diag;
            snprintf(r->last_error, sizeof r->last_error, "%s", err);
        }
        break;
    case OX_QUEUE_REPORTED: rc = ox_queue_mark_reported(q, rid, now); break;
    default:
        rc = ox_queue_route(q, rid, conn, now);
        if (!r)
            assert_int_equal(rc, OX_E_NOTFOUND);
        else if (r->state != OX_QUEUE_PENDING)
            assert_int_equal(rc, OX_E_STATE);
        else {
            assert_int_equal(rc, 0);
            r->conn = conn;
        }
        return;
    }
    if (!r) {
        assert_int_equal(rc, OX_E_NOTFOUND);
    } else if (allowed[to] & (1u << r->state)) {
        assert_int_equal(rc, 0);
        r->state = to;
    } else {
        assert_int_equal(rc, OX_E_STATE);
    }
}

typedef struct m_due {
    int64_t rid, mid;
    uint32_t idx;
    int prio;
    uint64_t arrival;
} m_due;

static int due_cmp(const void *a, const void *b)
{
    const m_due *x = a, *y = b;
    if (x->prio != y->prio)
        return x->prio < y->prio ? -1 : 1;
    if (x->arrival != y->arrival)
        return x->arrival < y->arrival ? -1 : 1;
    if (x->mid != y->mid)
        return x->mid < y->mid ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static m_due due_buf[M_MSGS * M_RCPTS];

/* conn != NULL: due for conn; conn == NULL: expired. */
static size_t m_due_list(const char *conn, bool expired)
{
    size_t n = 0;
    for (size_t i = 0; i < M_MSGS; i++) {
        m_msg *m = &mdl.msg[i];
        for (uint32_t j = 0; m->present && j < m->n; j++) {
            m_rcpt *r = &m->r[j];
            if (r->state != OX_QUEUE_PENDING)
                continue;
            bool ok = expired ? (m->expiry > 0 && m->expiry <= now)
                              : (r->conn && strcmp(r->conn, conn) == 0 && r->next_attempt <= now);
            if (ok)
                due_buf[n++] = (m_due){r->id, m->id, j, m->prio, m->arrival};
        }
    }
    qsort(due_buf, n, sizeof due_buf[0], due_cmp);
    return n;
}

static void op_query(void)
{
    ox_queue_due due[16];
    size_t n, max = 1 + rn(16);
    bool expired = rn(3) == 0;
    const char *conn = conns[rn(3)];
    if (expired)
        assert_int_equal(ox_queue_expired(q, now, due, max, &n), 0);
    else
        assert_int_equal(ox_queue_due_for(q, conn, now, due, max, &n), 0);
    size_t want = m_due_list(conn, expired);
    assert_int_equal(n, want < max ? want : max);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(due[i].rcpt_id, due_buf[i].rid);
        assert_int_equal(due[i].msg_id, due_buf[i].mid);
        assert_int_equal(due[i].index, due_buf[i].idx);
        assert_int_equal(due[i].priority, due_buf[i].prio);
    }
    /* next due and connector stats */
    uint64_t best = UINT64_MAX;
    for (size_t i = 0; i < M_MSGS; i++) {
        m_msg *m = &mdl.msg[i];
        bool pending = false;
        for (uint32_t j = 0; m->present && j < m->n; j++)
            if (m->r[j].state == OX_QUEUE_PENDING) {
                pending = true;
                if (m->r[j].next_attempt < best)
                    best = m->r[j].next_attempt;
            }
        if (pending && m->expiry > 0 && m->expiry < best)
            best = m->expiry;
    }
    uint64_t when = 0;
    int rc = ox_queue_next_due(q, &when);
    if (best == UINT64_MAX)
        assert_int_equal(rc, OX_E_NOTFOUND);
    else {
        assert_int_equal(rc, 0);
        assert_int_equal(when, best);
    }
    uint64_t cnt = 0, oldest = 0, c2, o2;
    for (size_t i = 0; i < M_MSGS; i++) {
        m_msg *m = &mdl.msg[i];
        for (uint32_t j = 0; m->present && j < m->n; j++) {
            m_rcpt *r = &m->r[j];
            if (r->state <= OX_QUEUE_IN_TRANSFER && r->conn && strcmp(r->conn, conn) == 0) {
                cnt++;
                if (oldest == 0 || m->arrival < oldest)
                    oldest = m->arrival;
            }
        }
    }
    assert_int_equal(ox_queue_connector_stats(q, conn, &c2, &o2), 0);
    assert_int_equal(c2, cnt);
    assert_int_equal(o2, oldest);
}

static void op_purge(void)
{
    uint64_t forget = now > 2000 ? now - rn(2000) : 0;
    size_t n, want = 0;
    assert_int_equal(ox_queue_purge(q, now, forget, &n), 0);
    for (size_t i = 0; i < M_MSGS; i++) {
        m_msg *m = &mdl.msg[i];
        if (!m->present)
            continue;
        bool done = true;
        for (uint32_t j = 0; j < m->n; j++)
            done &= m->r[j].state == OX_QUEUE_TRANSFERRED || m->r[j].state == OX_QUEUE_REPORTED;
        if (!done)
            continue;
        want++;
        m->present = false;
        m_index(m, false);
        size_t k = 0;
        while (k < mdl.n_seen && strcmp(mdl.seen[k].mts, m->mts) != 0)
            k++;
        assert_true(k < M_SEEN);
        if (k == mdl.n_seen)
            mdl.n_seen++;
        mdl.seen[k] = (m_seen){.id = m->id, .purged = now};
        snprintf(mdl.seen[k].mts, sizeof mdl.seen[k].mts, "%s", m->mts);
    }
    assert_int_equal(n, want);
    for (size_t k = 0; k < mdl.n_seen;)
        if (mdl.seen[k].purged < forget)
            mdl.seen[k] = mdl.seen[--mdl.n_seen];
        else
            k++;
}

static void op_reopen(void)
{
    if (in_batch) {
        mdl = snap; /* close rolls an open batch back */
        in_batch = false;
    }
    ox_queue_close(q);
    ox_queue_recovery rec;
    assert_int_equal(qt_open(&dir, true, true, &q, &rec), 0);
    assert_int_equal(rec.orphans_removed, 0);
    assert_int_equal(rec.quarantined, 0);
    uint32_t reset = 0;
    for (size_t i = 0; i < M_MSGS; i++)
        for (uint32_t j = 0; mdl.msg[i].present && j < mdl.msg[i].n; j++)
            if (mdl.msg[i].r[j].state == OX_QUEUE_IN_TRANSFER) {
                mdl.msg[i].r[j].state = OX_QUEUE_PENDING;
                reset++;
            }
    assert_int_equal(rec.transfers_reset, reset);
}

static void op_batch(void)
{
    if (!in_batch) {
        assert_int_equal(ox_queue_batch_begin(q), 0);
        snap = mdl;
        in_batch = true;
    } else if (rn(3) == 0) {
        assert_int_equal(ox_queue_batch_abort(q), 0);
        mdl = snap;
        in_batch = false;
    } else {
        assert_int_equal(ox_queue_batch_commit(q), 0);
        in_batch = false;
    }
}

/* ---- comparison ---- */

typedef struct cmp_ctx {
    size_t n;
} cmp_ctx;

static int cmp_msg(void *ctx, const ox_queue_msg_info *mi)
{
    cmp_ctx *c = ctx;
    m_msg *m = m_find_mts(mi->mts_id);
    assert_non_null(m);
    assert_int_equal(mi->id, m->id);
    assert_int_equal(mi->priority, m->prio);
    assert_int_equal(mi->arrival_ms, m->arrival);
    assert_int_equal(mi->expiry_ms, m->expiry);
    assert_int_equal(mi->has_content, m->content >= 0);
    assert_int_equal(mi->content_size, m->content >= 0 ? (uint64_t)m->content : 0);
    assert_int_equal(mi->n_rcpts, m->n);
    c->n++;
    return 0;
}

static int cmp_rcpt(void *ctx, const ox_queue_rcpt_info *ri)
{
    cmp_ctx *c = ctx;
    m_msg *m = NULL;
    m_rcpt *r = m_find_rcpt(ri->id, &m);
    assert_non_null(r);
    assert_int_equal(ri->msg_id, m->id);
    assert_int_equal(ri->state, r->state);
    assert_string_equal(ri->connector, r->conn ? r->conn : "");
    assert_int_equal(ri->next_attempt_ms, r->next_attempt);
    assert_int_equal(ri->open_attempts, r->open_att);
    assert_int_equal(ri->transfer_attempts, r->xfer_att);
    assert_string_equal(ri->last_error, r->last_error);
    assert_int_equal(ri->report_flags, r->flags);
    assert_int_equal(ri->reason, r->reason);
    assert_int_equal(ri->diagnostic, r->diag);
    c->n++;
    return 0;
}

static void compare(void)
{
    size_t want_msgs = 0, want_rcpts = 0, want_files = 0;
    for (size_t i = 0; i < M_MSGS; i++)
        if (mdl.msg[i].present) {
            want_msgs++;
            want_rcpts += mdl.msg[i].n;
            want_files += mdl.msg[i].content > 150;
        }
    cmp_ctx c = {0};
    assert_int_equal(ox_queue_foreach_msg(q, cmp_msg, &c), 0);
    assert_int_equal(c.n, want_msgs);
    c.n = 0;
    assert_int_equal(ox_queue_foreach_rcpt(q, 0, cmp_rcpt, &c), 0);
    assert_int_equal(c.n, want_rcpts);
    if (!in_batch)
        assert_int_equal((size_t)qt_count_files(&dir, ""), want_files);
}

static void test_model(void **state)
{
    (void)state;
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    const char *env = getenv("OX_QUEUE_SEED");
    if (env)
        seed = strtoull(env, NULL, 0);
    const char *steps_env = getenv("OX_QUEUE_STEPS");
    long steps = steps_env ? strtol(steps_env, NULL, 0) : 6000;
    fprintf(stderr, "queue model: seed %llu (OX_QUEUE_SEED=%llu to rerun), %ld steps\n",
            (unsigned long long)seed, (unsigned long long)seed, steps);
    rng_state = seed ? seed : 1;
    qt_dir_make(&dir);
    qt_inline_max = 150; /* contents are 0..299 bytes: half in the row, half in files */
    assert_int_equal(qt_open(&dir, true, true, &q, NULL), 0);
    now = 1000;
    long counts[8] = {0};
    for (long step = 0; step < steps; step++) {
        now += rn(40);
        uint32_t pick = rn(100);
        int op = pick < 30 ? 0 : pick < 70 ? 1 : pick < 85 ? 2 : pick < 92 ? 3 : pick < 98 ? 4 : 5;
        counts[op]++;
        switch (op) {
        case 0: op_insert(); break;
        case 1: op_transition(); break;
        case 2: op_query(); break;
        case 3: op_purge(); break;
        case 4: op_batch(); break;
        default: op_reopen(); break;
        }
        compare();
    }
    fprintf(stderr,
            "queue model: %ld inserts, %ld transitions, %ld queries, %ld purges, %ld batch ops, "
            "%ld reopens\n",
            counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]);
    ox_queue_close(q);
    qt_dir_remove(&dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_model)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
