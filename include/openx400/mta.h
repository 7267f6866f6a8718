/* mta.h - the MTA engine: store, route, deliver locally, expire and report
 *
 * Why: everything a message goes through between "bytes arrived" and "bytes leave" that is
 *      not protocol: one place that owns the queue, the routing table and the event log, so
 *      the daemon's loop only moves bytes and time. Time is always passed in.
 * Durability: ox_mta_store returns 0 only when the message is durably queued (or was already,
 *      OX_QUEUE_DUPLICATE): only then may the caller acknowledge it (RTSE transfer confirm,
 *      submit reply).
 * Reports: a recipient non-delivered here gets a non-delivery report, one delivered here
 *      gets a delivery report when its originator asked for one; both go back to the
 *      originator as ordinary messages. A report about a report is never made. */
#ifndef OPENX400_MTA_H
#define OPENX400_MTA_H

#include "openx400/config.h"
#include "openx400/events.h"
#include "openx400/p1.h"
#include "openx400/queue.h"
#include "openx400/routing.h"

/* Connector name under which local recipients wait in the queue ('@' is not allowed in a
 * connector's name, so it never clashes). */
#define OX_MTA_LOCAL "@local"
/* A queued recipient's report_flags: its X.411 PerRecipientIndicators in the low 16 bits and
 * its position in the stored envelope above them (the queue keeps only the recipients this
 * MTA is responsible for, so the two indexes differ). */
#define OX_MTA_RCPT_FLAGS(indicators, env_index)                                                   \
    (((uint32_t)(indicators)&0xffffu) | ((uint32_t)(env_index) << 16))
#define OX_MTA_RCPT_INDICATORS(flags) ((uint16_t)((flags)&0xffffu))
#define OX_MTA_RCPT_ENV_INDEX(flags)  ((uint32_t)(flags) >> 16)

/* Recipients no address space matched when they arrived (they are non-delivered). */
#define OX_MTA_UNROUTED "@unrouted"

typedef struct ox_mta {
    const ox_mta_cfg *cfg; /* borrowed; the daemon swaps it on reload (ox_mta_reconfigure) */
    ox_routing routing;
    ox_queue *q;
    ox_eventlog *log;
    ox_p1_gdi gdi;   /* from cfg->global_domain */
    uint64_t serial; /* for local identifiers */
    uint32_t nonce;  /* drawn at open, part of every local identifier */
    uint64_t delivered, received, submitted, reports;
    bool busy;              /* the last ox_mta_run left local work undone: call again at once */
    uint64_t next_purge_ms; /* wall clock of ox_mta_run's next whole-queue purge */
    /* Files were written into the mailbox since the last sync: ox_mta_run makes them
     * durable with one syncfs before its commit, not an fsync per file and directory. */
    bool mailbox_dirty;
    bool last_queued; /* the last store put a message into the queue (not delivered at arrival) */
    char known_dir[OX_CFG_PATH_MAX + 200]; /* exists: no mkdir for the next file there */
    int known_fd;                          /* known_dir, open; -1 when none */
    bool no_unnamed;   /* mailbox files as named temporaries: unnamed ones failed here */
    bool link_by_proc; /* unnamed files are linked through /proc/self/fd (no privilege) */
    /* Queue rows of deliveries at arrival whose files may not be durable yet (delivery_notes.c) */
    struct ox_mta_note *notes_head, *notes_tail;
    uint64_t notes_added; /* notes ever added; the last one's number */
    /* Their MTS identifiers' hashes in the same order, side by side: every arrival looks for
     * a resend among them, and walking the notes themselves was 1.7% of a receiver's time. */
    uint64_t *note_hashes;
    size_t hashes_first, hashes_len, hashes_cap;
} ox_mta;

/* Opens the queue (with recovery), builds routing. |err| receives a sentence on failure.
 * Returns 0, OX_E_ARG (routing or domain errors, in |err|), OX_E_IO, OX_E_UNSUPPORTED. */
int ox_mta_open(ox_mta *m, const ox_mta_cfg *cfg, ox_eventlog *log, uint64_t now_ms, char *err,
                size_t cap);
void ox_mta_close(ox_mta *m);
/* Rebuilds routing for a new configuration (reload). Returns 0 or OX_E_ARG (keeps the old). */
int ox_mta_reconfigure(ox_mta *m, const ox_mta_cfg *cfg, char *err, size_t cap);

/* Makes a new MTS identifier in this MTA's domain (unique per MTA: time and a counter). */
void ox_mta_new_id(ox_mta *m, uint64_t now_ms, ox_p1_mtsid *id);
/* "C=GB;A= ;P=SiteA;L=1234" - the text form the queue and the events use. */
void ox_mta_id_text(const ox_p1_mtsid *id, char *dst, size_t cap);

/* Stores one MTS-APDU (message, report or probe) that arrived from |source| ("local" for a
 * submission, else the peer MTA's name), whole in |apdu|. Checks the trace for a loop, adds
 * this MTA's trace element, routes every recipient this MTA is responsible for, and queues it
 * in one transaction. |mtsid| (may be NULL) receives the identifier text.
 * Returns 0, OX_QUEUE_DUPLICATE (already held: acknowledge, store nothing), OX_E_PEER (not a
 * valid APDU: refuse it; the text in |err|), OX_E_IO or OX_E_NOMEM. */
int ox_mta_store(ox_mta *m, ox_span apdu, const char *source, uint64_t now_ms, char *mtsid,
                 size_t mtsid_cap, char *err, size_t err_cap);

/* ox_mta_store for an APDU already decoded (|a| is taken: freed whatever happens). For a
 * message whose content was streamed into |content| (ox_queue_content_begin/write; taken
 * too), |content| holds the content octets and a->msg.content is ignored; NULL otherwise.
 * |apdu_len| is for the event text. Same returns as ox_mta_store. */
int ox_mta_store_decoded(ox_mta *m, ox_p1_apdu *a, ox_queue_writer *content, uint64_t apdu_len,
                         const char *source, uint64_t now_ms, char *mtsid, size_t mtsid_cap,
                         char *err, size_t err_cap);

/* Storing a message as it arrives (an inbound RTSE transfer): only the heading is held in
 * memory; the content goes to the queue as it comes, so a 100 MB message never sits whole in
 * memory. begin at the transfer's start, feed each piece (any split), end when the transfer
 * is complete (stores durably, then the caller confirms), cancel when it is abandoned. A
 * report, a probe or a message whose content is not a primitive definite OCTET STRING is
 * held whole up to OX_MTA_RX_WHOLE_MAX and stored by ox_mta_store. */
#define OX_MTA_RX_HEAD_MAX  ((size_t)1 << 20)  /* envelope and heading: 1 MiB is ~1000 recipients */
#define OX_MTA_RX_WHOLE_MAX ((size_t)64 << 20) /* the fall-back for unusual encodings */
typedef struct ox_mta_rx ox_mta_rx;
/* Returns 0 or OX_E_NOMEM. */
int ox_mta_rx_begin(ox_mta *m, ox_mta_rx **out);
/* Returns 0, OX_E_LIMIT (heading or whole APDU too large), OX_E_PEER (not an MTS-APDU, or
 * octets after its end), OX_E_IO or OX_E_NOMEM; |err| says which. After an error only
 * ox_mta_rx_cancel is valid. */
int ox_mta_rx_feed(ox_mta_rx *rx, ox_span data, char *err, size_t cap);
/* Stores what was fed and frees |rx|. Returns as ox_mta_store (OX_E_PEER also for an APDU
 * that ended early). */
int ox_mta_rx_end(ox_mta_rx *rx, const char *source, uint64_t now_ms, char *mtsid, size_t mtsid_cap,
                  char *err, size_t err_cap);
/* Discards what was fed (no file, no row) and frees |rx|. NULL-safe. */
void ox_mta_rx_cancel(ox_mta_rx *rx);

/* Makes every mailbox file written since the last call durable (data, inode, directory
 * entry): one syncfs of the mailbox's file system. Whoever commits the queue rows that record
 * deliveries, or acknowledges a message delivered at arrival, calls it first. The rows of
 * deliveries at arrival it made durable then join the queue's open transaction
 * (ox_mta_notes_end). Returns 0 or OX_E_IO (the files stay; their deliveries must not be
 * acknowledged). */
int ox_mta_sync_mailboxes(ox_mta *m);
/* The same in two steps, for a syncfs(fd) on another thread between them: begin gives the
 * file descriptor to sync (-1: nothing was written since the last sync) and counts what was
 * written so far as in this sync; end closes it and reports whether it was |synced|. Returns
 * 0 or OX_E_IO. */
int ox_mta_mailbox_sync_begin(ox_mta *m, int *fd);
int ox_mta_mailbox_sync_end(ox_mta *m, int fd, bool synced);
/* Files were written since the last ox_mta_sync_mailboxes (or its begin). */
bool ox_mta_mailbox_dirty(const ox_mta *m);

/* Deliveries at arrival are recorded in the queue (MTS identifier, history) only once their
 * files are durable, so a commit never needs a sync (delivery_notes.c). A sync that begins
 * takes the mark (the number of the last delivery noted); when it ends, ox_mta_notes_end
 * writes the rows up to that mark into the queue (|synced|: in the open transaction, if any)
 * or forgets them (not synced: their transfers are not acknowledged and come again). Returns
 * 0 or the queue's error (the files are durable; only the rows are missing). */
uint64_t ox_mta_notes_mark(const ox_mta *m);
int ox_mta_notes_end(ox_mta *m, uint64_t upto, bool synced);
/* Some delivery's rows still wait for a sync. */
bool ox_mta_notes_pending(const ox_mta *m);

/* Does the work that is due at |now_ms|: local deliveries, expiries, non-routable recipients,
 * reports, purging. *next_ms receives the earliest time anything in the queue is due
 * (UINT64_MAX: nothing pending); it may be in the past when recipients wait for an
 * association, which the caller moves on by itself - m->busy says whether the engine itself
 * has more to do at once.
 * Returns 0 or OX_E_IO. */
int ox_mta_run(ox_mta *m, uint64_t now_ms, uint64_t *next_ms);

/* A recipient on connector |c| failed its transfer or open: retry after the connector's
 * interval, or give up (non-delivery with |reason|/|diagnostic|) once the retry limit of
 * |kind| is reached. Returns 0 or OX_E_IO. */
int ox_mta_transfer_failed(ox_mta *m, int64_t rcpt_id, const ox_connector_cfg *c,
                           ox_queue_attempt kind, const char *why, uint64_t now_ms);

/* What `x400mta submit` asks for: an IPM from an originator to recipients. */
typedef struct ox_mta_submission {
    const char *originator; /* O/R address text */
    const char *const *to;  /* primary recipients, O/R address text */
    size_t n_to;
    const char *const *cc; /* copy recipients */
    size_t n_cc;
    const char *subject;  /* may be NULL */
    ox_span body;         /* IA5 text */
    int priority;         /* OX_P1_PRIO_* */
    int importance;       /* 0 low, 1 normal, 2 high */
    bool delivery_report; /* ask for delivery reports */
    const char *ipm_id;   /* this-IPM local identifier; NULL = made up from |now_ms| */
} ox_mta_submission;

/* Builds the MTS-APDU (message with an X.420 IPM content) for |s| into |out|; the MTS
 * identifier is a placeholder the MTA replaces on submission. |err| says which field is
 * wrong. Returns 0, OX_E_ARG or OX_E_NOMEM. */
int ox_mta_build_submission(const ox_mta_submission *s, uint64_t now_ms, ox_buf *out, char *err,
                            size_t cap);

#endif
