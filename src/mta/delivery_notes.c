/* delivery_notes.c - the queue rows of deliveries at arrival, held until their files are durable
 *
 * Why: a message delivered at arrival leaves two rows in the queue (its MTS identifier, so a
 *      resend is dropped, and its history lines). Committed before its mailbox file is on
 *      disk, a crash could keep the rows and lose the file: the resend would then be dropped
 *      and the message lost. While every delivery's rows went into the open transaction at
 *      once, each commit of that transaction had to sync the mailbox first, on the daemon's
 *      loop, while the loop's own syncs ran on a worker (a twentieth of the receiver's time,
 *      docs/BENCH.md). Held here instead, the rows enter the transaction only after a sync
 *      that began after their files were written has ended, so any commit may happen at any
 *      time without a sync. A note is numbered as it is added; a sync takes the number of the
 *      last one as its mark (ox_mta_notes_mark) and, when it ends, writes or forgets the notes
 *      up to the mark it is given (ox_mta_notes_end), always from the oldest: the daemon, whose
 *      syncs may end out of order, never passes a mark beyond the start of an earlier sync
 *      still running, which may yet fail. */
#include "mta_int.h"

#include <stdlib.h>
#include <string.h>

struct ox_mta_note {
    struct ox_mta_note *next;
    uint64_t seq;
    uint64_t now_ms;
    size_t n;
    ox_queue_line *lines; /* n of them, right after this header */
    char *mts_id;         /* after the lines: the MTS identifier, then each line's text */
};

static uint64_t id_hash(const char *s)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

bool ox_mta_note_pending_for(const ox_mta *m, const char *mts_id)
{
    uint64_t h = id_hash(mts_id);
    for (size_t i = 0; i < m->hashes_len; i++) {
        if (m->note_hashes[m->hashes_first + i] != h)
            continue;
        const struct ox_mta_note *n = m->notes_head; /* the i-th note: rare, a hash matched */
        for (size_t k = 0; k < i; k++)
            n = n->next;
        if (!strcmp(n->mts_id, mts_id))
            return true;
    }
    return false;
}

/* Room for one more hash at the end (moved to the front, or grown). */
static int hash_room(ox_mta *m)
{
    if (m->hashes_first + m->hashes_len < m->hashes_cap)
        return 0;
    if (m->hashes_first > m->hashes_len) { /* the front half is free */
        memmove(m->note_hashes, m->note_hashes + m->hashes_first,
                m->hashes_len * sizeof(*m->note_hashes));
        m->hashes_first = 0;
        return 0;
    }
    size_t cap = m->hashes_cap ? m->hashes_cap * 2 : 256;
    uint64_t *p = realloc(m->note_hashes, cap * sizeof(*p));
    if (!p)
        return OX_E_NOMEM;
    m->note_hashes = p;
    m->hashes_cap = cap;
    return 0;
}

int ox_mta_note_add(ox_mta *m, const char *mts_id, uint64_t now_ms, const ox_queue_line *lines,
                    size_t n)
{
    size_t len = n * sizeof(ox_queue_line) + strlen(mts_id) + 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(lines[i].text) + 1;
    struct ox_mta_note *note = hash_room(m) == 0 ? malloc(sizeof(*note) + len) : NULL;
    if (!note)
        return OX_E_NOMEM;
    note->lines = (ox_queue_line *)(note + 1);
    char *p = note->mts_id = (char *)(note->lines + n);
    p = stpcpy(p, mts_id) + 1;
    for (size_t i = 0; i < n; i++) {
        note->lines[i] = (ox_queue_line){lines[i].event_id, p};
        p = stpcpy(p, lines[i].text) + 1;
    }
    note->next = NULL;
    note->seq = ++m->notes_added;
    note->now_ms = now_ms;
    note->n = n;
    m->note_hashes[m->hashes_first + m->hashes_len++] = id_hash(mts_id);
    if (m->notes_tail)
        m->notes_tail->next = note;
    else
        m->notes_head = note;
    m->notes_tail = note;
    return 0;
}

uint64_t ox_mta_notes_mark(const ox_mta *m)
{
    return m->notes_added;
}

bool ox_mta_notes_pending(const ox_mta *m)
{
    return m->notes_head != NULL;
}

int ox_mta_notes_end(ox_mta *m, uint64_t upto, bool synced)
{
    int rc = 0;
    struct ox_mta_note *note;
    while ((note = m->notes_head) && note->seq <= upto) {
        m->notes_head = note->next;
        if (!m->notes_head)
            m->notes_tail = NULL;
        m->hashes_first++;
        if (--m->hashes_len == 0)
            m->hashes_first = 0;
        if (synced) {
            /* Not expected (a resend finds the note, ox_mta_note_pending_for), but one row
             * is enough. */
            int r = ox_queue_note_delivered(m->q, note->mts_id, note->now_ms, note->lines, note->n);
            if (r && r != OX_QUEUE_DUPLICATE && !rc)
                rc = r;
        }
        free(note);
    }
    return rc;
}

void ox_mta_notes_free(ox_mta *m)
{
    ox_mta_notes_end(m, UINT64_MAX, false);
    free(m->note_hashes);
    m->note_hashes = NULL;
    m->hashes_first = m->hashes_len = m->hashes_cap = 0;
}
