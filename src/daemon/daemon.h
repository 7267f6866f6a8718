/* daemon.h - the MTA process: one libuv loop that owns every socket, timer and child
 *
 * Why: the protocol layers and the MTA core are sans-I/O; this is the only place that reads
 *      the network, the clocks and the signals, and hands bytes and time to them. */
#ifndef OX_DAEMON_H
#define OX_DAEMON_H

#include "openx400/config.h"
#include "openx400/events.h"
#include "openx400/ltab.h"
#include "openx400/mta.h"

#include <uv.h>

/* An acknowledgement that waits for the hold's commit (ox_daemon_after_commit). */
typedef void (*ox_commit_cb)(void *ctx, bool ok);
struct ox_after_commit {
    ox_commit_cb fn;
    void *ctx;
};

/* Mailbox syncs in flight at once: a sync that starts while another runs covers the files
 * written since, so acknowledgements wait about one sync rather than the rest of the running
 * one and then the next. Another starts only for at least OX_DAEMON_SYNC_COHORT of them: with
 * few messages in flight (the connector defaults) each sync flushed a handful of files and
 * the receiver's CPU a message rose by a fifth (docs/BENCH.md). */
#ifndef OX_DAEMON_SYNCS
#define OX_DAEMON_SYNCS 2
#endif
#ifndef OX_DAEMON_SYNC_COHORT
#define OX_DAEMON_SYNC_COHORT 16
#endif

/* A transfer confirmed in this loop turn, whose queue marks wait for the turn's end
 * (ox_daemon_note_transferred). */
#define OX_DAEMON_TX_RCPTS 64
struct ox_confirmed_tx {
    int64_t msg;
    size_t n;
    int64_t rcpts[OX_DAEMON_TX_RCPTS];
    char text[OX_CFG_NAME_MAX + 64];
};

typedef struct ox_daemon {
    uv_loop_t *loop;
    char cfg_path[OX_CFG_PATH_MAX];
    ox_mta_cfg *cfg; /* owned; replaced whole on reload */
    ox_eventlog log;
    uv_tcp_t listener;
    uv_pipe_t control;
    uv_signal_t sighup, sigterm, sigint;
    bool control_open, listener_open;
    bool stopping;
    uint64_t started_ms; /* loop time at start */
    ox_mta mta;          /* the engine: queue, routing, delivery, reports */
    bool mta_open;
    uv_timer_t run_timer;                            /* fires when the queue has work due */
    uv_timer_t watch_timer;                          /* once a second: stuck associations */
    ox_ltab ltab;                                    /* every association, in and out */
    ox_connector_state cstate[OX_CFG_CONNECTOR_MAX]; /* by connector index in cfg */
    uint32_t assoc_serial;                           /* makes activity identifiers unique */
    uv_check_t turn_end;                             /* after each turn's I/O: group commit */
    uv_prepare_t before_wait;                        /* before the loop waits: event log flush */
    bool holding;                                    /* the queue is held (ox_daemon_hold) */
    uint64_t hold_since;                             /* loop time the hold began */
    uv_timer_t lazy_commit;                          /* ends a hold of state marks only */
    struct ox_after_commit *after;                   /* acknowledgements waiting */
    size_t n_after, cap_after;
    struct ox_mailbox_sync {
        uv_work_t work; /* the mailbox's syncfs, on a worker thread */
        struct ox_daemon *d;
        bool busy;                       /* in flight */
        int fd, err;                     /* what it syncs, and how that went */
        uint64_t notes_from, notes_upto; /* the deliveries whose rows wait for it: after the
                                          * previous sync's mark, up to its own */
        struct ox_after_commit *after;   /* acknowledgements waiting for it */
        size_t n_after;
    } syncs[OX_DAEMON_SYNCS];
    unsigned n_syncing;                /* syncs busy */
    uint64_t notes_last_mark;          /* the mark of the last sync started */
    uint64_t notes_ok;                 /* the highest mark of a sync that ended well */
    struct ox_confirmed_tx *confirmed; /* transfers confirmed this turn, marked at its end */
    size_t n_confirmed, cap_confirmed;
} ox_daemon;

/* Runs |command| with /bin/sh -c (link.c); calls |cb| once with its exit status (128+signal
 * when killed), the first KB of its stderr, and whether the timeout killed it. Returns 0,
 * OX_E_IO (cannot start it: |cb| is not called) or OX_E_NOMEM. */
typedef void (*ox_link_cb)(void *ctx, int status, const char *stderr_text, bool timed_out);
int ox_link_run(ox_daemon *d, const char *command, uint32_t timeout_s, ox_link_cb cb, void *ctx);

/* test-peer (probe.c): one association to |connector|'s peer, step by step; |done| gets the
 * whole report once (ok or not). Returns 0, or OX_E_ARG with |err| (no such connector). */
typedef struct ox_probe ox_probe;
typedef void (*ox_probe_done_cb)(void *ctx, bool ok, const char *text);
int ox_probe_start(ox_daemon *d, const char *connector, ox_probe_done_cb done, void *ctx, char *err,
                   size_t cap, ox_probe **out);
/* The requester went away: the probe finishes on its own and reports to nobody. */
void ox_probe_detach(ox_probe *p);

/* Associations (associations.c). */
void ox_daemon_assoc_accept(ox_daemon *d, uv_stream_t *server);
int ox_daemon_assoc_open(ox_daemon *d, int connector_index);
/* Opens associations where mail waits and the Open Interval allows; moves the open ones on.
 * Lowers *next_ms to the next time an open becomes allowed. */
void ox_daemon_assoc_schedule(ox_daemon *d, uint64_t now, uint64_t *next_ms);
/* Index of connector |name| in |cfg| (ox_config_connector), -1 if there is none. */
int ox_daemon_connector_index(const ox_mta_cfg *cfg, const char *name);
/* Once a second (connectors.c): aborts associations stuck past their timers. */
void ox_daemon_watch(ox_daemon *d);
/* Before a reload swaps in |next|: carries each connector's run state over by name. */
void ox_daemon_connectors_remap(ox_daemon *d, const ox_mta_cfg *next);
/* After a rolled-back hold: recipients marked in transfer that no association is sending go
 * back to pending, and those it is sending back to in transfer (ox_queue_reset_transfers). */
void ox_daemon_reset_transfers(ox_daemon *d);
/* Releases what can be released, aborts the rest (stop). */
void ox_daemon_assoc_stop_all(ox_daemon *d);

/* Writes the LTAB as a table (or JSON lines) into |out|. */
void ox_daemon_ltab_text(ox_daemon *d, bool json, char *out, size_t cap);
/* Writes each connector's run state, one line each: name, link, next open, failed opens, why. */
void ox_daemon_connectors_text(ox_daemon *d, char *out, size_t cap);

/* Group commit for one turn of the loop (daemon.c): the first store or queue update of a
 * turn holds the queue; after the turn's I/O one commit makes everything durable, then the
 * transfers and submissions stored in it are acknowledged. A hold of state marks only may
 * stay open up to LAZY_COMMIT_MS across turns. ox_daemon_hold returns false when the queue
 * cannot be held (then each call commits by itself). ox_daemon_commit_now ends the hold at
 * once. */
bool ox_daemon_hold(ox_daemon *d);
void ox_daemon_commit_now(ox_daemon *d);
/* Calls |fn|(|ctx|, ok) once what the turn did is durable (ok) or failed: at the turn's end,
 * after the hold's commit if it stored a message, else after the mailbox's sync alone
 * (messages delivered at arrival, resends; the hold of marks stays open). The place to
 * acknowledge. Returns false when nothing is held (the store already committed by itself):
 * sync the mailbox (ox_daemon_sync_mailboxes) and acknowledge at once. */
bool ox_daemon_after_commit(ox_daemon *d, ox_commit_cb fn, void *ctx);
/* ox_mta_sync_mailboxes, and a real syncfs while one runs on the worker (whose files the
 * caller may depend on). Returns 0 or OX_E_IO. */
int ox_daemon_sync_mailboxes(ox_daemon *d);
/* Marks a confirmed transfer (ox_queue_transferred) at the turn's end, with the others of
 * the turn in one operation (ox_queue_transferred_many), or at once if it cannot wait. */
void ox_daemon_note_transferred(ox_daemon *d, int64_t msg, const int64_t *rcpts, size_t n,
                                const char *text);
/* associations.c: the hold was committed (ok) or failed: confirm or abort. */
void ox_conn_confirm_held(void *held, bool ok);

/* Runs the engine now and re-arms the timer for its next due time. */
void ox_daemon_kick(ox_daemon *d);

/* Loads the configuration, opens the event log, listens, and runs until stopped. Returns the
 * process exit status: 0 after an orderly stop, 1 on a configuration error, 2 when a resource
 * (port, socket path, log file) cannot be had. */
int ox_daemon_run(const char *cfg_path);

/* Wall-clock milliseconds for event timestamps. */
uint64_t ox_daemon_wall_ms(void);

/* Control socket (control.c). */
int ox_control_listen(ox_daemon *d);
/* Re-reads the configuration; on errors keeps the old one. Writes what happened to |reply|. */
int ox_daemon_reload(ox_daemon *d, char *reply, size_t cap);
void ox_daemon_stop(ox_daemon *d);

/* CLI side: sends |request| and reads the whole reply (NUL-terminated). Returns 0, OX_E_IO
 * (no daemon there, or it did not answer within 30 s) or OX_E_ARG. */
int ox_control_request(const char *path, const char *request, char *reply, size_t cap);
/* The same, waiting up to |timeout_ms| for the reply (test-peer). */
int ox_control_request_wait(const char *path, const char *request, char *reply, size_t cap,
                            int timeout_ms);

#endif
