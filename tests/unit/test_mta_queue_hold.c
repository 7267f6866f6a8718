/* test_mta_queue_hold.c - a hold: batches nest inside it as savepoints, nothing is durable or
 * visible to another connection until hold_commit, an inner abort undoes only its batch */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "openx400/queue.h"

#include <sqlite3.h>
#include <stdio.h>

#include "test_mta_queue_util.h"

static void test_hold(void **state)
{
    (void)state;
    qt_dir d;
    qt_dir_make(&d);
    ox_queue *q, *reader;
    assert_int_equal(qt_open(&d, true, false, &q, NULL), 0);
    int64_t id, found;
    assert_false(ox_queue_holding(q));
    assert_int_equal(ox_queue_hold_commit(q), OX_E_STATE); /* no hold */
    assert_int_equal(ox_queue_hold_begin(q), 0);
    assert_true(ox_queue_holding(q));
    /* a batch inside: a savepoint */
    assert_int_equal(ox_queue_batch_begin(q), 0);
    assert_int_equal(qt_insert(q, "h-1", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 1, 10, &id), 0);
    assert_int_equal(ox_queue_hold_commit(q), OX_E_STATE); /* the batch is still open */
    assert_int_equal(ox_queue_batch_commit(q), 0);
    /* an aborted batch inside undoes only itself, its content file included */
    assert_int_equal(ox_queue_batch_begin(q), 0);
    assert_int_equal(qt_insert(q, "h-2", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 1, 100000, &id), 0);
    assert_int_equal(ox_queue_batch_abort(q), 0);
    assert_int_equal(ox_queue_find_mts_id(q, "h-2", &found), OX_E_NOTFOUND);
    assert_int_equal(ox_queue_find_mts_id(q, "h-1", &found), 0);
    /* a call outside any batch joins the hold too */
    assert_int_equal(qt_insert(q, "h-3", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 1, 10, &id), 0);
    /* nothing is visible to another connection before the commit */
    assert_int_equal(qt_open(&d, false, false, &reader, NULL), 0);
    assert_int_equal(ox_queue_find_mts_id(reader, "h-1", &found), OX_E_NOTFOUND);
    assert_int_equal(ox_queue_hold_commit(q), 0);
    assert_false(ox_queue_holding(q));
    assert_int_equal(ox_queue_find_mts_id(reader, "h-1", &found), 0);
    assert_int_equal(ox_queue_find_mts_id(reader, "h-3", &found), 0);
    assert_int_equal(ox_queue_find_mts_id(reader, "h-2", &found), OX_E_NOTFOUND);
    assert_int_equal(qt_count_files(&d, "tmp-"), 0);
    ox_queue_close(reader);
    /* a hold rolled back: everything in it goes */
    assert_int_equal(ox_queue_hold_begin(q), 0);
    assert_int_equal(qt_insert(q, "h-4", OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 1, 10, &id), 0);
    assert_int_equal(ox_queue_batch_abort(q), 0);
    assert_false(ox_queue_holding(q));
    assert_int_equal(ox_queue_find_mts_id(q, "h-4", &found), OX_E_NOTFOUND);
    /* ordinary batches work again afterwards */
    assert_int_equal(ox_queue_batch_begin(q), 0);
    assert_int_equal(ox_queue_batch_begin(q), OX_E_STATE);
    assert_int_equal(ox_queue_batch_commit(q), 0);
    ox_queue_close(q);
    qt_dir_remove(&d);
}

/* Many savepoints in one hold, an aborted batch of many in the middle: the savepoint journals
 * (kept in recycled 1 KB pieces, queue_sqlite_memory.c) undo exactly the aborted part. */
static void test_journal_pieces(void **state)
{
    (void)state;
    qt_dir d;
    qt_dir_make(&d);
    ox_queue *q;
    assert_int_equal(qt_open(&d, true, false, &q, NULL), 0);
    char mts[32];
    int64_t id, found;
    assert_int_equal(ox_queue_hold_begin(q), 0);
    for (int i = 0; i < 300; i++) {
        if (i == 100)
            assert_int_equal(ox_queue_batch_begin(q), 0);
        snprintf(mts, sizeof(mts), "j-%d", i);
        assert_int_equal(qt_insert(q, mts, OX_QUEUE_PRIO_NORMAL, 10, 0, "c", 2, 3000, &id), 0);
        if (i == 199)
            assert_int_equal(ox_queue_batch_abort(q), 0);
    }
    /* a one-statement call without a savepoint of its own fails alone */
    assert_int_equal(ox_queue_mark_in_transfer(q, 999999, 5), OX_E_NOTFOUND);
    assert_int_equal(ox_queue_hold_commit(q), 0);
    for (int i = 0; i < 300; i++) {
        snprintf(mts, sizeof(mts), "j-%d", i);
        assert_int_equal(ox_queue_find_mts_id(q, mts, &found),
                         i >= 100 && i < 200 ? OX_E_NOTFOUND : 0);
    }
    /* a freed journal piece is the next one handed out */
    void *a = sqlite3_malloc(1024);
    assert_non_null(a);
    sqlite3_free(a);
    void *b = sqlite3_malloc(1024);
    assert_ptr_equal(a, b);
    sqlite3_free(b);
    ox_queue_close(q);
    qt_dir_remove(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_hold),
                                       cmocka_unit_test(test_journal_pieces)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
