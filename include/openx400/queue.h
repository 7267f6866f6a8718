/* queue.h - the MTA's durable message queue (SQLite in WAL mode, content files beside it)
 *
 * Why: the queue is the only state that survives a restart. A message is acknowledged to its
 *      sender (RTSE confirm, submit reply) only after the transaction holding it is durable,
 *      and a peer that resends a message after a crash is recognised by its MTS identifier,
 *      so together with the sender's retry every message is stored exactly once.
 * Shape: one database file per MTA (cfg.path) plus a content directory "<path>.content/"
 *      holding one file per message body larger than cfg.inline_max (64 KiB by default;
 *      smaller bodies live in the message row, where the COMMIT's fsync covers them).
 *      Content is streamed in and out by chunks, never held whole in memory. The queue never reads
 * the clock: every call that needs the time takes uint64_t unix milliseconds (now_ms), so tests
 * control time. Durability: WAL; a COMMIT that inserted a message (or removes content
 *      files) returns only after one fsync of the WAL; a COMMIT of state marks only is atomic
 *      and survives the process at once, and a power loss at worst takes it back (every mark
 *      can be repeated without a duplicate; see queue.c). Content files are written,
 *      fsynced, renamed into place and their directory fsynced before the row that refers to
 *      them commits. Group commit: ox_queue_batch_begin, any number of inserts and updates,
 *      ox_queue_batch_commit = at most one fsync for all of them. Outside a batch every call
 *      is its own transaction.
 * Recipient states (every transition is one call; anything else is OX_E_STATE):
 *
 *        insert         mark_in_transfer           mark_transferred
 *      ---------> PENDING ------------> IN_TRANSFER ---------------> TRANSFERRED (final)
 *                  ^  |  ^                |  |  |
 *        retry     +--+  +-- retry/recover+  |  +--> DELIVERED ------+
 *                     |                      |                       +--> REPORTED (final)
 *                     +--> DELIVERED         +--> NON_DELIVERED -----+
 *                     +--> NON_DELIVERED
 *
 *      DELIVERED and NON_DELIVERED wait for the report step (a DR/NDR generated, or none
 *      needed): ox_queue_mark_reported moves them to REPORTED. A message whose recipients are
 *      all TRANSFERRED or REPORTED is finished and ox_queue_purge removes it and its content.
 * Recovery (cfg.recover, the daemon at start-up): content files with no row are removed (a
 *      crash between writing the file and committing its row), rows whose content file is
 *      missing or short move to the quarantine tables (never silently deleted), and IN_TRANSFER
 *      recipients go back to PENDING (the transfer in flight is retried; the receiver's MTS-id
 *      dedup makes that exactly-once).
 * Errors: OX_E_IO (SQLite or the OS failed; ox_queue_errmsg says what), OX_E_ARG, OX_E_STATE,
 *      OX_E_NOTFOUND, OX_E_LIMIT, OX_E_UNSUPPORTED (a database of a newer format), OX_E_NOMEM.
 *      A known MTS identifier on insert is not an error: OX_QUEUE_DUPLICATE (positive).
 * Threads: an ox_queue is used by one thread. Other processes (the CLI) may open the same
 *      database read-only at the same time (WAL readers do not block the writer). */
#ifndef OPENX400_QUEUE_H
#define OPENX400_QUEUE_H

#include "openx400/common.h"

/* Format of the database this code writes; a database with a larger number is refused. */
#define OX_QUEUE_FORMAT_VERSION 1

/* Positive outcome of ox_queue_insert: the MTS identifier is already known. */
#define OX_QUEUE_DUPLICATE 1

/* Text limits (bytes, without the NUL). Longer input is OX_E_LIMIT. */
#define OX_QUEUE_MTS_ID_MAX    256  /* X.411 MTSIdentifier: GlobalDomainIdentifier + 32-octet id */
#define OX_QUEUE_ADDR_MAX      2048 /* O/R address text; X.411 upper bounds sum to well below */
#define OX_QUEUE_NAME_MAX      256  /* connector / source names (config names are <= 64) */
#define OX_QUEUE_ERRTEXT_MAX   512  /* last-error and history text is cut here, not refused */
#define OX_QUEUE_RCPTS_MAX     4096 /* recipients per message; X.411 ub-recipients is 32767 */
#define OX_QUEUE_ENVELOPE_MAX  (4u << 20)          /* stored envelope bytes; a P1 envelope is KBs */
#define OX_QUEUE_CONTENT_LIMIT ((uint64_t)2 << 30) /* default cfg.max_content: 2 GiB */
/* Contents up to cfg.inline_max bytes are kept in the message row instead of a file: a new
 * file costs an inode, a file fsync and a directory fsync; a row costs nothing beyond the
 * WAL fsync the COMMIT does anyway. Most X.400 messages are a few KB. */
#define OX_QUEUE_INLINE_DEFAULT (64u * 1024)
#define OX_QUEUE_INLINE_LIMIT   (1u << 20) /* cfg.inline_max is capped here: memory per writer */

typedef struct ox_queue ox_queue;

typedef enum ox_queue_kind {
    OX_QUEUE_KIND_MESSAGE = 0,
    OX_QUEUE_KIND_REPORT = 1,
    OX_QUEUE_KIND_PROBE = 2,
} ox_queue_kind;

/* X.411 Priority ::= [APPLICATION 7] ENUMERATED { normal(0), non-urgent(1), urgent(2) } is mapped
 * so that the natural order is the scheduling order: lower value goes first. */
typedef enum ox_queue_priority {
    OX_QUEUE_PRIO_URGENT = 0,
    OX_QUEUE_PRIO_NORMAL = 1,
    OX_QUEUE_PRIO_NON_URGENT = 2,
} ox_queue_priority;

typedef enum ox_queue_rcpt_state {
    OX_QUEUE_PENDING = 0,       /* waiting for next_attempt */
    OX_QUEUE_IN_TRANSFER = 1,   /* handed to an association or to local delivery */
    OX_QUEUE_TRANSFERRED = 2,   /* the next MTA confirmed it: responsibility passed on */
    OX_QUEUE_DELIVERED = 3,     /* delivered locally; report step pending */
    OX_QUEUE_NON_DELIVERED = 4, /* given up (reason, diagnostic); report step pending */
    OX_QUEUE_REPORTED = 5,      /* report generated or none needed */
} ox_queue_rcpt_state;
#define OX_QUEUE_STATE_COUNT 6

/* Which attempt counter ox_queue_retry increments. */
typedef enum ox_queue_attempt {
    OX_QUEUE_ATTEMPT_OPEN = 0,     /* could not open an association (Max Open Retries) */
    OX_QUEUE_ATTEMPT_TRANSFER = 1, /* the transfer failed on an open one (Max Transfer Retries) */
} ox_queue_attempt;

typedef struct ox_queue_config {
    const char *path;      /* database file; content lives in "<path>.content/" */
    bool read_only;        /* the CLI: no schema creation, no recovery, no writes */
    bool recover;          /* run recovery at open (the daemon; never with read_only) */
    bool no_sync;          /* tests and benchmarks of CPU cost only: no fsync at all */
    uint64_t max_content;  /* bytes per content; 0 = OX_QUEUE_CONTENT_LIMIT */
    int32_t inline_max;    /* 0 = OX_QUEUE_INLINE_DEFAULT; < 0 = always a file (tests) */
    const ox_alloc *alloc; /* for the ox_queue object; NULL = libc */
} ox_queue_config;

/* What recovery found (all zero when cfg.recover is false). */
typedef struct ox_queue_recovery {
    uint32_t orphans_removed; /* content files with no row, and unfinished temporaries */
    uint32_t quarantined;     /* messages moved to quarantine (content missing or short) */
    uint32_t transfers_reset; /* IN_TRANSFER recipients put back to PENDING */
    uint32_t rcpts_removed;   /* recipient rows whose message row is gone (none unless a bug or
                               * a hand edit: the schema no longer checks it, see queue.c) */
} ox_queue_recovery;

/* Opens (creating on first use, unless read_only) the queue at cfg->path. With cfg->recover
 * runs recovery at |now_ms| and fills |rec| (may be NULL). On failure *out is NULL and |err|
 * (may be NULL, |err_cap| bytes) holds a sentence saying what and what to do. Borrows cfg.
 * Returns 0, OX_E_ARG, OX_E_IO (cannot open / create / not a queue database),
 * OX_E_UNSUPPORTED (database format newer than OX_QUEUE_FORMAT_VERSION) or OX_E_NOMEM. */
int ox_queue_open(const ox_queue_config *cfg, uint64_t now_ms, ox_queue **out,
                  ox_queue_recovery *rec, char *err, size_t err_cap);

/* Closes the database. An open batch is rolled back. NULL is allowed. */
void ox_queue_close(ox_queue *q);

/* The last error's text ("insert: UNIQUE constraint failed ..."); "" if none. View valid
 * until the next call on |q|. */
const char *ox_queue_errmsg(const ox_queue *q);

/* ---- Group commit ---- */

/* Starts a batch: every following call joins one transaction. Returns 0, OX_E_STATE (a batch
 * is already open; read_only) or OX_E_IO. */
int ox_queue_batch_begin(ox_queue *q);
/* Makes the batch durable: fsyncs the content directory if files were added, then COMMIT
 * (one WAL fsync if the batch inserted a message or purged a content file). Acknowledge the batch's
 * messages only after this returns 0; then removes the content files of messages purged in the
 * batch. On OX_E_IO the batch is rolled back and its new content files removed: acknowledge
 * nothing. Returns 0, OX_E_STATE (no batch) or OX_E_IO. */
int ox_queue_batch_commit(ox_queue *q);
/* Rolls the batch back and removes its new content files. Returns 0 or OX_E_STATE. */
int ox_queue_batch_abort(ox_queue *q);

/* A hold is a batch that outlives the batches inside it: while it is open, batch_begin/
 * commit/abort are savepoints and nothing is durable until ox_queue_hold_commit (one fsync
 * for all of them). The daemon holds the queue for one turn of its event loop, so the stores
 * of concurrent transfers share one fsync; it acknowledges them only after hold_commit.
 * Returns as ox_queue_batch_begin / ox_queue_batch_commit (OX_E_STATE also when a batch
 * inside is still open); ox_queue_batch_abort with no batch inside rolls back the hold. */
int ox_queue_hold_begin(ox_queue *q);
int ox_queue_hold_commit(ox_queue *q);
bool ox_queue_holding(const ox_queue *q);
/* The open hold (or batch) added a message or will unlink content files: its commit syncs
 * and should not wait. A hold of state marks only may be kept open a while (see queue.c). */
bool ox_queue_needs_sync(const ox_queue *q);

/* ---- Content streaming ---- */

/* A content being written. Caller storage; fields are private. Up to cfg.inline_max bytes
 * are buffered in memory (they will be stored in the row); past that the buffer goes to a
 * file and the rest streams straight to it. */
typedef struct ox_queue_writer {
    ox_queue *q;
    int fd; /* -1 while the content is inline */
    ox_buf inl;
    uint64_t size;
    bool finished;
    int err; /* sticky */
    char name[32];
} ox_queue_writer;

/* Starts a content (in memory up to cfg.inline_max, then a temporary file in the content
 * directory). Returns 0, OX_E_STATE (read_only) or OX_E_IO. On success the writer must end in
 * ox_queue_insert (which takes it) or ox_queue_content_discard. */
int ox_queue_content_begin(ox_queue *q, ox_queue_writer *w);
/* Appends |data| (borrowed). Sticky: after an error every call returns it again.
 * Returns 0, OX_E_LIMIT (past cfg.max_content), OX_E_STATE (already finished), OX_E_NOMEM
 * or OX_E_IO. */
int ox_queue_content_write(ox_queue_writer *w, ox_span data);
/* Frees the buffer, removes the file and releases the writer (any state). NULL-safe,
 * idempotent. */
void ox_queue_content_discard(ox_queue_writer *w);
/* The content written so far, if it is all in memory (not past cfg.inline_max, no error):
 * true and *out set (valid until the next write or the discard); false otherwise. */
bool ox_queue_content_in_memory(const ox_queue_writer *w, ox_span *out);

/* A content being read. Caller storage; fields are private. */
typedef struct ox_queue_reader {
    ox_queue *q;
    int64_t msg_id;
    bool in_db; /* inline content: read by ranges from the row */
    int fd;
    uint64_t size;
    uint64_t off;
} ox_queue_reader;

/* Opens the content of message |msg_id|. Borrows |q|: use the reader only while the queue is
 * open. Returns 0, OX_E_NOTFOUND (no such message, or it has no content), OX_E_IO (the file
 * is gone or unreadable: a bug or outside interference). */
int ox_queue_content_open(ox_queue *q, int64_t msg_id, ox_queue_reader *r);
/* Reads up to |cap| bytes at the current offset into |buf|; *n = 0 at the end.
 * Returns 0, OX_E_ARG or OX_E_IO (also when the message was purged meanwhile). */
int ox_queue_content_read(ox_queue_reader *r, void *buf, size_t cap, size_t *n);
/* Moves the offset (RTSE recovery resumes at a checkpoint). Returns 0 or OX_E_ARG (past the
 * end). */
int ox_queue_content_seek(ox_queue_reader *r, uint64_t off);
void ox_queue_content_close(ox_queue_reader *r); /* idempotent */

/* ---- Insert ---- */

typedef struct ox_queue_rcpt_in {
    const char *address;      /* O/R address text, required */
    const char *connector;    /* chosen connector name; NULL = not routed yet */
    uint64_t next_attempt_ms; /* first attempt; usually the arrival time */
    uint32_t report_flags;    /* per-recipient report request bits, opaque to the queue */
} ox_queue_rcpt_in;

typedef struct ox_queue_msg_in {
    const char *mts_id; /* MTS identifier text, unique; required */
    ox_queue_kind kind;
    ox_queue_priority priority;
    const char *originator; /* O/R address text; required */
    const char *source;     /* "local", the peer MTA's name, or a connector; required */
    uint64_t arrival_ms;
    uint64_t expiry_ms;       /* absolute; 0 = never */
    ox_span envelope;         /* encoded P1 envelope, opaque (borrowed, copied) */
    ox_queue_writer *content; /* NULL for a probe; else taken (see ox_queue_insert) */
    const ox_queue_rcpt_in *rcpts;
    size_t n_rcpts; /* 1..OX_QUEUE_RCPTS_MAX */
} ox_queue_msg_in;

/* Stores a message and its recipients (index = position in m->rcpts), and adds a history
 * line. Finishes m->content (fsync, rename into place; the directory fsync happens at commit)
 * and takes it: on return the writer is released whatever the outcome. Borrows |m|.
 * Returns 0 (*id = new message id), OX_QUEUE_DUPLICATE (*id = the message already stored
 * under this MTS identifier, or that was stored and purged; the new content is removed and
 * nothing is stored: acknowledge without storing again), OX_E_ARG (missing field, bad enum,
 * no recipients), OX_E_LIMIT (a text or count above the OX_QUEUE_*_MAX limits), OX_E_STATE
 * (read_only; writer failed earlier), OX_E_IO. Outside a batch, 0 means durable. */
int ox_queue_insert(ox_queue *q, const ox_queue_msg_in *m, uint64_t now_ms, int64_t *id);

/* Looks an MTS identifier up (also among recently purged messages). Returns 0 (*id set),
 * OX_E_NOTFOUND or OX_E_IO. */
int ox_queue_find_mts_id(ox_queue *q, const char *mts_id, int64_t *id);

/* ---- Recipient transitions (each checks the diagram above; adds a history line) ---- */

/* PENDING -> IN_TRANSFER. Returns 0, OX_E_NOTFOUND (no such recipient), OX_E_STATE, OX_E_IO
 * (the same codes for every transition below). */
int ox_queue_mark_in_transfer(ox_queue *q, int64_t rcpt_id, uint64_t now_ms);
/* After a hold was rolled back (its commit failed), which took back the marks that ended
 * transfers (transferred, retry) and began them: every recipient in transfer that is not in
 * |busy| goes back to PENDING (no transfer will end it; until now only a restart did), and
 * each pending one in |busy| (transfers still in flight) back to IN_TRANSFER. *n_reset (may
 * be NULL) gets how many went back to pending. */
int ox_queue_reset_transfers(ox_queue *q, uint64_t now_ms, const int64_t *busy, size_t n_busy,
                             uint32_t *n_reset);
/* IN_TRANSFER -> TRANSFERRED. */
int ox_queue_mark_transferred(ox_queue *q, int64_t rcpt_id, uint64_t now_ms);
/* PENDING or IN_TRANSFER -> DELIVERED. */
int ox_queue_mark_delivered(ox_queue *q, int64_t rcpt_id, uint64_t now_ms);
/* PENDING or IN_TRANSFER -> NON_DELIVERED with the X.411 NonDeliveryReasonCode and
 * NonDeliveryDiagnosticCode (-1 = absent) and a text (borrowed, may be NULL, cut at
 * OX_QUEUE_ERRTEXT_MAX). */
int ox_queue_mark_non_delivered(ox_queue *q, int64_t rcpt_id, uint64_t now_ms, int reason,
                                int diagnostic, const char *text);
/* DELIVERED or NON_DELIVERED -> REPORTED. */
int ox_queue_mark_reported(ox_queue *q, int64_t rcpt_id, uint64_t now_ms);
/* PENDING or IN_TRANSFER -> PENDING at |at_ms|, the |kind| attempt counter + 1, last error =
 * |error| (borrowed, may be NULL, cut at OX_QUEUE_ERRTEXT_MAX). */
int ox_queue_retry(ox_queue *q, int64_t rcpt_id, uint64_t now_ms, uint64_t at_ms,
                   ox_queue_attempt kind, const char *error);
/* Sets the chosen connector of a PENDING recipient (routing, or the next-cost route after a
 * failure); |connector| borrowed, NULL = unrouted. Attempts are kept. */
int ox_queue_route(ox_queue *q, int64_t rcpt_id, const char *connector, uint64_t now_ms);

/* Every PENDING recipient routed to |connector| (borrowed) that waits for a later attempt
 * becomes due at |now_ms| (x400mta retry); attempts are kept. *n = how many. Returns 0,
 * OX_E_ARG or OX_E_IO. */
int ox_queue_retry_now(ox_queue *q, const char *connector, uint64_t now_ms, size_t *n);

/* ---- Scheduling queries ---- */

/* One schedulable recipient. */
typedef struct ox_queue_due {
    int64_t rcpt_id;
    int64_t msg_id;
    uint32_t index; /* recipient index in its message */
    ox_queue_priority priority;
    uint64_t arrival_ms;
    uint64_t next_attempt_ms;
    uint32_t report_flags; /* as given at insert */
} ox_queue_due;

/* Up to |max| PENDING recipients routed to |connector| (borrowed) with next_attempt <= now,
 * in order priority, arrival, message id, index. Expired messages are included: check
 * ox_queue_expired first. *n = how many were written. Returns 0 or OX_E_IO. */
int ox_queue_due_for(ox_queue *q, const char *connector, uint64_t now_ms, ox_queue_due *out,
                     size_t max, size_t *n);
/* The same, but only the recipients of the first message in that order (index order): what
 * one transfer takes, without reading the due recipients of the messages behind it. */
int ox_queue_due_message(ox_queue *q, const char *connector, uint64_t now_ms, ox_queue_due *out,
                         size_t max, size_t *n);
/* Up to |max| PENDING recipients of messages whose expiry is <= now (same order).
 * Returns 0 or OX_E_IO. */
int ox_queue_expired(ox_queue *q, uint64_t now_ms, ox_queue_due *out, size_t max, size_t *n);
/* The earliest time something needs doing: the smallest next_attempt of a PENDING recipient
 * and the smallest expiry of a message with a PENDING recipient (for the event loop's
 * timer). Returns 0 (*when_ms set), OX_E_NOTFOUND (nothing pending) or OX_E_IO. */
int ox_queue_next_due(ox_queue *q, uint64_t *when_ms);
/* PENDING and IN_TRANSFER recipients routed to |connector| and the oldest arrival among
 * them (0 if none). Returns 0 or OX_E_IO. */
int ox_queue_connector_stats(ox_queue *q, const char *connector, uint64_t *count,
                             uint64_t *oldest_arrival_ms);
/* PENDING and IN_TRANSFER recipients routed to |connector|, counted up to |cap|: *count is
 * min(their number, cap). The scheduler asks this on every pass; a full count walks the whole
 * backlog (20,000 rows in the bench). Returns 0 or OX_E_IO. */
int ox_queue_connector_backlog(ox_queue *q, const char *connector, uint64_t cap, uint64_t *count);

/* ---- Reading rows (CLI, reports, tests) ---- */

/* Views valid until the next call on the queue. */
typedef struct ox_queue_msg_info {
    int64_t id;
    const char *mts_id;
    ox_queue_kind kind;
    ox_queue_priority priority;
    const char *originator;
    const char *source;
    uint64_t arrival_ms, expiry_ms;
    uint64_t content_size;
    bool has_content;
    uint32_t n_rcpts;
} ox_queue_msg_info;

typedef struct ox_queue_rcpt_info {
    int64_t id;
    int64_t msg_id;
    uint32_t index;
    const char *address;
    ox_queue_rcpt_state state;
    const char *connector; /* "" when unrouted */
    uint64_t next_attempt_ms;
    uint32_t open_attempts, transfer_attempts;
    const char *last_error; /* "" when none */
    uint32_t report_flags;
    int reason, diagnostic; /* NON_DELIVERED; -1 otherwise / absent */
} ox_queue_rcpt_info;

/* Fills |out| for message |msg_id|. Returns 0, OX_E_NOTFOUND or OX_E_IO. */
int ox_queue_get_msg(ox_queue *q, int64_t msg_id, ox_queue_msg_info *out);
/* Appends the stored envelope to |out| (borrowed). Returns 0, OX_E_NOTFOUND, OX_E_IO or the
 * buffer's error. */
int ox_queue_get_envelope(ox_queue *q, int64_t msg_id, ox_buf *out);
/* Fills |out| for recipient |rcpt_id|. Returns 0, OX_E_NOTFOUND or OX_E_IO. */
int ox_queue_get_rcpt(ox_queue *q, int64_t rcpt_id, ox_queue_rcpt_info *out);

/* Calls |fn| for every message in id order (views valid during the call); a non-zero return
 * from |fn| stops and is returned. Do not call the queue from |fn|. Returns 0, fn's value
 * or OX_E_IO. */
int ox_queue_foreach_msg(ox_queue *q, int (*fn)(void *ctx, const ox_queue_msg_info *m), void *ctx);
/* Calls |fn| for every recipient of |msg_id| (0 = of all messages) in (message, index)
 * order; same rules as ox_queue_foreach_msg. */
int ox_queue_foreach_rcpt(ox_queue *q, int64_t msg_id,
                          int (*fn)(void *ctx, const ox_queue_rcpt_info *r), void *ctx);

/* ---- History (x400mta track) ---- */

/* Adds a history line for |msg_id| (event id from events.h; text borrowed, cut at
 * OX_QUEUE_ERRTEXT_MAX). Transitions add their own lines with event id 0.
 * Returns 0, OX_E_NOTFOUND, OX_E_STATE (read_only) or OX_E_IO. */
int ox_queue_history_add(ox_queue *q, int64_t msg_id, uint64_t now_ms, int event_id,
                         const char *text);
/* Calls |fn| for each history line of the message stored under |mts_id| (kept after the
 * message is purged, until ox_queue_purge forgets it), oldest first; views valid during the
 * call. Returns 0, fn's non-zero value, OX_E_NOTFOUND (no line) or OX_E_IO. */
int ox_queue_history_foreach(ox_queue *q, const char *mts_id,
                             int (*fn)(void *ctx, uint64_t time_ms, int event_id, const char *text),
                             void *ctx);

/* One history line of a message that never entered the queue. */
typedef struct ox_queue_line {
    int event_id;
    const char *text; /* cut at OX_QUEUE_ERRTEXT_MAX */
} ox_queue_line;

/* Remembers a message that was delivered as it arrived and so never entered the queue (see
 * ox_mta_store_decoded): its MTS identifier joins those of purged messages, so a resend is
 * recognised and dropped, and its |n| history lines are kept for track (both forgotten like a
 * purged message's). Its durability is the caller's: the deliveries it records must be on
 * disk before this commits; the commit itself needs no fsync (a lost row means a resend that
 * rewrites the same mailbox file). Returns 0, OX_QUEUE_DUPLICATE (the identifier is known:
 * nothing written), OX_E_ARG, OX_E_LIMIT, OX_E_STATE (read_only) or OX_E_IO. */
int ox_queue_note_delivered(ox_queue *q, const char *mts_id, uint64_t now_ms,
                            const ox_queue_line *lines, size_t n);

/* The transfer of |n| recipients (|rcpt_ids|) of |msg_id| was confirmed: each that is
 * IN_TRANSFER becomes TRANSFERRED (others are left as they are), one history line |text| (event
 * |event_id|) is added, and the message is removed as ox_queue_purge_msg would if that
 * finished it (*removed, may be NULL). One operation: what a sender does per message in one
 * savepoint instead of five. Returns 0, OX_E_ARG, OX_E_NOTFOUND (no such message), OX_E_STATE
 * (read_only) or OX_E_IO. */
int ox_queue_transferred(ox_queue *q, int64_t msg_id, const int64_t *rcpt_ids, size_t n,
                         uint64_t now_ms, int event_id, const char *text, bool *removed);
/* One confirmed transfer, for ox_queue_transferred_many. */
typedef struct ox_queue_transfer {
    int64_t msg_id;
    const int64_t *rcpt_ids;
    size_t n;
    const char *text;
} ox_queue_transfer;
/* ox_queue_transferred for each of |items| (event |event_id|) in one operation: what the
 * confirms of one loop turn share (each alone journalled the same index and history pages
 * again). If the operation fails, each is tried alone, so one bad item costs only itself.
 * Returns 0, OX_E_ARG, or the first error of an item tried alone. */
int ox_queue_transferred_many(ox_queue *q, const ox_queue_transfer *items, size_t n,
                              uint64_t now_ms, int event_id);

/* ---- Removal and quarantine ---- */

/* Removes every finished message (all recipients TRANSFERRED or REPORTED) with its rows;
 * its MTS identifier and history are kept so a late resend is still recognised and track
 * still works; those older than |forget_before_ms| (purge time) are forgotten. Content files
 * are removed after the commit. *n_removed (may be NULL) = messages removed.
 * Returns 0, OX_E_STATE (read_only) or OX_E_IO. */
int ox_queue_purge(ox_queue *q, uint64_t now_ms, uint64_t forget_before_ms, size_t *n_removed);
/* Removes message |msg_id| as ox_queue_purge would, if it is finished; *removed (may be
 * NULL) says whether it was. The engine calls it where a message's last recipient ends, so
 * the periodic ox_queue_purge, which scans every queued message, can run seldom.
 * Returns 0, OX_E_STATE (read_only), OX_E_NOMEM or OX_E_IO. */
int ox_queue_purge_msg(ox_queue *q, int64_t msg_id, uint64_t now_ms, bool *removed);

/* Messages in the quarantine tables. Returns 0 or OX_E_IO. */
int ox_queue_quarantine_count(ox_queue *q, uint64_t *n);

/* "pending", "in-transfer", ... ; "?" for an unknown value. */
const char *ox_queue_state_name(ox_queue_rcpt_state s);

#endif
