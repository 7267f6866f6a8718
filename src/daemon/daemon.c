/* daemon.c - start-up, the listener, signals, reload and orderly stop
 *
 * Why: start-up refuses to run with a bad configuration (printing every file:line problem),
 *      reload never drops queued mail (the queue is on disk; only the configuration object is
 *      swapped), and SIGTERM stops after the current step, never in the middle of a commit. */
#define _GNU_SOURCE /* syncfs */
#include "daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t ox_daemon_wall_ms(void)
{
    uv_timeval64_t tv;
    if (uv_gettimeofday(&tv) != 0)
        return 0;
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static ox_mta_cfg *load_config(const char *path, ox_config_diag *diag)
{
    ox_mta_cfg *cfg = malloc(sizeof(*cfg));
    if (!cfg)
        return NULL;
    if (ox_config_load(cfg, path, diag) != 0) {
        free(cfg);
        return NULL;
    }
    return cfg;
}

/* Selected-times windows are in the MTA's time zone. */
static void set_timezone(const ox_mta_cfg *cfg)
{
    if (cfg->timezone[0])
        setenv("TZ", cfg->timezone, 1);
    tzset();
}

int ox_daemon_reload(ox_daemon *d, char *reply, size_t cap)
{
    ox_config_diag *diag = malloc(sizeof(*diag));
    if (!diag)
        return OX_E_NOMEM;
    ox_mta_cfg *cfg = load_config(d->cfg_path, diag);
    if (!cfg) {
        ox_event_emit(&d->log, ox_daemon_wall_ms(), OX_EV_CONFIG_RELOAD_FAILED, NULL,
                      "reload of %s refused with %u error(s); the previous configuration stays "
                      "in force: %.600s",
                      d->cfg_path, diag->errors, diag->text);
        snprintf(reply, cap, "error: reload refused, previous configuration kept\n%s", diag->text);
        free(diag);
        return OX_E_ARG;
    }
    if (strcmp(cfg->name, d->cfg->name) || strcmp(cfg->listen_host, d->cfg->listen_host) ||
        cfg->listen_port != d->cfg->listen_port || strcmp(cfg->queue_path, d->cfg->queue_path))
        snprintf(reply, cap,
                 "ok: reloaded; name, listen address and queue path changes need a restart\n%s",
                 diag->text);
    else
        snprintf(reply, cap, "ok: reloaded (%zu connectors)\n%s", cfg->n_connectors, diag->text);
    char err[2048];
    if (d->mta_open && ox_mta_reconfigure(&d->mta, cfg, err, sizeof(err)) != 0) {
        snprintf(reply, cap, "error: reload refused, previous configuration kept\n%s", err);
        ox_event_emit(&d->log, ox_daemon_wall_ms(), OX_EV_CONFIG_RELOAD_FAILED, NULL,
                      "reload of %s refused: %.600s", d->cfg_path, err);
        free(cfg);
        free(diag);
        return OX_E_ARG;
    }
    ox_eventlog_set_levels(&d->log, cfg->log_level);
    /* Keep what cannot change without a restart. */
    snprintf(cfg->name, sizeof(cfg->name), "%s", d->cfg->name);
    ox_daemon_connectors_remap(d, cfg);
    free(d->cfg);
    d->cfg = cfg;
    ox_event_emit(&d->log, ox_daemon_wall_ms(), OX_EV_CONFIG_LOADED, NULL,
                  "configuration %s reloaded: %zu connector(s), %u warning(s)", d->cfg_path,
                  cfg->n_connectors, diag->warnings);
    free(diag);
    set_timezone(cfg);
    ox_daemon_kick(d);
    return 0;
}

static void on_close_noop(uv_handle_t *h)
{
    (void)h;
}

void ox_daemon_stop(ox_daemon *d)
{
    if (d->stopping)
        return;
    d->stopping = true;
    ox_event_emit(&d->log, ox_daemon_wall_ms(), OX_EV_MTA_STOPPING, NULL,
                  "MTA %s stopping; queued mail stays queued", d->cfg->name);
    ox_daemon_commit_now(d);
    ox_daemon_assoc_stop_all(d);
    if (d->listener_open)
        uv_close((uv_handle_t *)&d->listener, on_close_noop);
    if (d->mta_open) {
        uv_close((uv_handle_t *)&d->run_timer, on_close_noop);
        uv_close((uv_handle_t *)&d->watch_timer, on_close_noop);
        uv_close((uv_handle_t *)&d->turn_end, on_close_noop);
        uv_close((uv_handle_t *)&d->lazy_commit, on_close_noop);
        uv_close((uv_handle_t *)&d->before_wait, on_close_noop);
    }
    if (d->control_open)
        uv_close((uv_handle_t *)&d->control, on_close_noop);
    uv_close((uv_handle_t *)&d->sighup, on_close_noop);
    uv_close((uv_handle_t *)&d->sigterm, on_close_noop);
    uv_close((uv_handle_t *)&d->sigint, on_close_noop);
}

/* Longest sleep between engine runs: a wall-clock jump or a missed wake-up costs at most
 * this much delay. */
#define RUN_MAX_SLEEP_MS 30000

/* How long a hold of state marks only (in transfer, transferred, delivered) may stay open
 * across turns. Such marks need no fsync and lose nothing if a crash takes them (every step
 * repeats without a duplicate: queue.c), so many turns share one commit: at 1,000 messages
 * a second a commit per turn rewrote the same index and history pages hundreds of times a
 * second. A hold that stores a message is committed at the end of its turn, as before. */
#define LAZY_COMMIT_MS 50

bool ox_daemon_hold(ox_daemon *d)
{
    if (d->holding)
        return true;
    if (!d->mta_open || d->stopping || ox_queue_hold_begin(d->mta.q) != 0)
        return false;
    d->holding = true;
    d->hold_since = uv_now(d->loop);
    return true;
}

static void run_acks(struct ox_after_commit *list, size_t n, bool ok)
{
    for (size_t i = 0; i < n; i++)
        list[i].fn(list[i].ctx, ok);
    free(list);
}

/* Runs the acknowledgements waiting for this moment's work to be durable. */
static void acknowledge(ox_daemon *d, bool ok)
{
    size_t n = d->n_after;
    struct ox_after_commit *list = d->after;
    d->after = NULL;
    d->n_after = d->cap_after = 0;
    run_acks(list, n, ok);
}

/* The hold is rolled back: what it acknowledges will be sent again by its senders. */
static void commit_failed(ox_daemon *d, const char *what, const char *why)
{
    ox_event_emit(&d->log, ox_daemon_wall_ms(), OX_EV_QUEUE_RECOVERED, NULL,
                  "%s failed (%s); the transfers and submissions of this moment are not "
                  "acknowledged and their senders will send them again; check the disk",
                  what, why);
    ox_queue_batch_abort(d->mta.q);
    ox_daemon_reset_transfers(d); /* the marks that ended transfers went with it */
}

/* Closes the hold: committed if the mailbox was synced (|synced|) and the commit works, else
 * rolled back. Returns whether it committed. */
static bool close_hold(ox_daemon *d, bool synced)
{
    d->holding = false;
    uv_timer_stop(&d->lazy_commit);
    bool ok = synced;
    if (!ok)
        commit_failed(d, "making the mailbox durable", "syncfs");
    else if (!(ok = ox_queue_hold_commit(d->mta.q) == 0))
        commit_failed(d, "queue commit", ox_queue_errmsg(d->mta.q));
    return ok;
}

/* Ends the hold (close_hold), then its acknowledgements, which go out only once what they
 * acknowledge is on disk. */
static void end_hold(ox_daemon *d, bool synced)
{
    acknowledge(d, close_hold(d, synced));
}

/* Room for one more confirmed transfer; false when there is none to be had. */
static bool confirmed_room(ox_daemon *d)
{
    if (d->n_confirmed < d->cap_confirmed)
        return true;
    size_t cap = d->cap_confirmed ? d->cap_confirmed * 2 : 16;
    struct ox_confirmed_tx *p = realloc(d->confirmed, cap * sizeof(*p));
    if (!p)
        return false;
    d->confirmed = p;
    d->cap_confirmed = cap;
    return true;
}

void ox_daemon_note_transferred(ox_daemon *d, int64_t msg, const int64_t *rcpts, size_t n,
                                const char *text)
{
    if (n > OX_DAEMON_TX_RCPTS || !confirmed_room(d)) {
        ox_daemon_hold(d);
        ox_queue_transferred(d->mta.q, msg, rcpts, n, ox_daemon_wall_ms(), OX_EV_MSG_TRANSFERRED,
                             text, NULL);
        return;
    }
    struct ox_confirmed_tx *t = &d->confirmed[d->n_confirmed++];
    t->msg = msg;
    t->n = n;
    memcpy(t->rcpts, rcpts, n * sizeof(*rcpts));
    snprintf(t->text, sizeof(t->text), "%s", text);
}

/* The turn's confirmed transfers, marked in one operation: each alone journalled the same
 * index and history pages again (docs/BENCH.md). A lost mark means one resend, which the peer
 * drops, so they join the hold of marks. */
static void mark_transferred(ox_daemon *d)
{
    ox_queue_transfer items[64];
    const size_t max = sizeof(items) / sizeof(items[0]);
    if (!d->n_confirmed)
        return;
    ox_daemon_hold(d);
    for (size_t i = 0; i < d->n_confirmed; i += max) {
        size_t k = 0;
        for (; k < max && i + k < d->n_confirmed; k++) {
            const struct ox_confirmed_tx *t = &d->confirmed[i + k];
            items[k] = (ox_queue_transfer){t->msg, t->rcpts, t->n, t->text};
        }
        ox_queue_transferred_many(d->mta.q, items, k, ox_daemon_wall_ms(), OX_EV_MSG_TRANSFERRED);
    }
    d->n_confirmed = 0;
}

int ox_daemon_sync_mailboxes(ox_daemon *d)
{
    if (d->n_syncing) /* its files may not be on disk yet: a syncfs that starts now covers them */
        d->mta.mailbox_dirty = true;
    return ox_mta_sync_mailboxes(&d->mta);
}

void ox_daemon_commit_now(ox_daemon *d)
{
    mark_transferred(d);
    /* Rows of deliveries at arrival still waiting for a worker's sync: the sync below covers
     * their files and writes them, so a reader (track) sees every delivery it was told of. */
    if (ox_mta_notes_pending(&d->mta))
        ox_daemon_hold(d);
    if (d->holding) /* mailbox files before the rows that record their deliveries */
        end_hold(d, ox_daemon_sync_mailboxes(d) == 0);
}

/* Acknowledgements of messages delivered at arrival wait only for their mailbox files. The
 * syncfs that makes them durable runs on a worker thread while the loop takes the next
 * messages, whose acknowledgements wait for a sync that starts after their files are written:
 * in the loop, the receiver waited in syncfs about half of a drain and its senders waited
 * with it (docs/BENCH.md). A syncfs writes out and waits for everything dirty when it starts,
 * including what a sync already running is writing, so two may run at once. */
static void sync_on_worker(uv_work_t *w)
{
    struct ox_mailbox_sync *s = w->data;
    s->err = syncfs(s->fd) == 0 ? 0 : errno;
}

static void sync_done(uv_work_t *w, int status)
{
    struct ox_mailbox_sync *s = w->data;
    ox_daemon *d = s->d;
    bool ok = status == 0 && s->err == 0;
    struct ox_after_commit *list = s->after;
    size_t n = s->n_after;
    s->busy = false;
    d->n_syncing--;
    s->after = NULL;
    s->n_after = 0;
    ox_mta_mailbox_sync_end(&d->mta, s->fd, ok);
    if (!ok) {
        if (d->holding)
            end_hold(d, false); /* not retried: a second syncfs may not report the error */
        ox_mta_notes_end(&d->mta, s->notes_upto, false); /* its transfers come again */
        run_acks(list, n, false);
        return;
    }
    /* The rows of the deliveries it made durable join the hold, but none of those an earlier
     * sync still running is for: if that one fails, its transfers come again and must not be
     * recorded as delivered (delivery_notes.c). */
    if (s->notes_upto > d->notes_ok)
        d->notes_ok = s->notes_upto;
    uint64_t upto = d->notes_ok;
    for (unsigned i = 0; i < OX_DAEMON_SYNCS; i++)
        if (d->syncs[i].busy && d->syncs[i].notes_from < upto)
            upto = d->syncs[i].notes_from;
    ox_daemon_hold(d);
    if (ox_mta_notes_end(&d->mta, upto, true) != 0)
        ox_event_emit(&d->log, ox_daemon_wall_ms(), OX_EV_QUEUE_RECOVERED, NULL,
                      "recording deliveries at arrival in the queue failed (%s); the messages "
                      "are in the mailbox, but a resend of one would be delivered again",
                      ox_queue_errmsg(d->mta.q));
    run_acks(list, n, true);
}

static void start_mailbox_sync(ox_daemon *d)
{
    if (d->n_syncing == OX_DAEMON_SYNCS || !d->n_after ||
        (d->n_syncing && d->n_after < OX_DAEMON_SYNC_COHORT))
        return; /* the acknowledgements wait for the next one */
    int fd;
    if (ox_mta_mailbox_sync_begin(&d->mta, &fd) != 0) {
        if (d->holding)
            end_hold(d, false);
        else
            acknowledge(d, false);
        return;
    }
    if (fd < 0) { /* nothing written since the last sync began: durable when those end */
        if (!d->n_syncing)
            acknowledge(d, true);
        return;
    }
    struct ox_mailbox_sync *s = d->syncs;
    while (s->busy)
        s++;
    s->busy = true;
    d->n_syncing++;
    s->fd = fd;
    s->notes_from = d->notes_last_mark;
    s->notes_upto = d->notes_last_mark = ox_mta_notes_mark(&d->mta); /* their files are written */
    s->after = d->after;
    s->n_after = d->n_after;
    d->after = NULL;
    d->n_after = d->cap_after = 0;
    s->work.data = s;
    s->d = d;
    if (uv_queue_work(d->loop, &s->work, sync_on_worker, sync_done) != 0) {
        sync_on_worker(&s->work); /* no worker: here, as before */
        sync_done(&s->work, 0);
    }
}

bool ox_daemon_after_commit(ox_daemon *d, ox_commit_cb fn, void *ctx)
{
    if (!d->holding)
        return false;
    if (d->n_after == d->cap_after) {
        size_t cap = d->cap_after ? d->cap_after * 2 : 16;
        struct ox_after_commit *p = realloc(d->after, cap * sizeof(*p));
        if (!p) {
            ox_daemon_commit_now(d); /* commit now and let the caller acknowledge at once */
            return false;
        }
        d->after = p;
        d->cap_after = cap;
    }
    d->after[d->n_after++] = (struct ox_after_commit){fn, ctx};
    return true;
}

static void on_before_wait(uv_prepare_t *h)
{
    ox_daemon *d = h->data;
    ox_eventlog_flush(&d->log);
}

/* Commits a hold of marks without a mailbox sync: no row in it waits for a mailbox file
 * (deliveries at arrival join it only after their sync, delivery_notes.c), and the
 * acknowledgements waiting for a sync stay for it. A mailbox sync here, on the loop, held
 * every association up for its duration (docs/BENCH.md). */
static void commit_marks(ox_daemon *d)
{
    mark_transferred(d);
    if (d->holding)
        close_hold(d, true);
}

static void on_lazy_commit(uv_timer_t *t)
{
    commit_marks(t->data);
}

static void on_turn_end(uv_check_t *h)
{
    ox_daemon *d = h->data;
    mark_transferred(d);
    if (!d->holding) {
        start_mailbox_sync(d); /* acknowledgements left by a commit of marks */
        return;
    }
    uint64_t age = uv_now(d->loop) - d->hold_since;
    if (d->stopping || ox_queue_needs_sync(d->mta.q)) {
        ox_daemon_commit_now(d);
        return;
    }
    /* Nothing stored in the queue waits for them: the acknowledgements are of messages
     * delivered at arrival (durable once their mailbox files are) or of resends already held;
     * the hold of marks may stay open. */
    start_mailbox_sync(d);
    if (age >= LAZY_COMMIT_MS)
        commit_marks(d);
    if (!d->holding)
        return;
    if (!uv_is_active((uv_handle_t *)&d->lazy_commit))
        uv_timer_start(&d->lazy_commit, on_lazy_commit, LAZY_COMMIT_MS - age, 0);
}

static void on_watch_timer(uv_timer_t *t)
{
    ox_daemon_watch(t->data);
}

static void run_now(ox_daemon *d);

static void on_run_timer(uv_timer_t *t)
{
    run_now(t->data);
}

/* Many events of one turn (each stored message, each closed association) ask for a run: they
 * share one, at the next turn, instead of each querying the queue again. (Spacing the runs
 * 5 ms apart, so each delivers more, made the receiver slower: a larger run grows SQLite's
 * savepoint journal, which each statement walks; docs/BENCH.md.) */
void ox_daemon_kick(ox_daemon *d)
{
    if (d->stopping || !d->mta_open)
        return;
    uv_timer_start(&d->run_timer, on_run_timer, 0, 0);
}

static void run_now(ox_daemon *d)
{
    if (d->stopping || !d->mta_open)
        return;
    uint64_t now = ox_daemon_wall_ms(), next = UINT64_MAX;
    ox_daemon_hold(d); /* the run's reads and marks join the turn's transaction */
    int rc = ox_mta_run(&d->mta, now, &next);
    if (rc == 0)
        ox_daemon_assoc_schedule(d, now, &next);
    uint64_t wait = RUN_MAX_SLEEP_MS;
    if (rc) {
        ox_event_emit(&d->log, now, OX_EV_QUEUE_RECOVERED, NULL,
                      "queue work failed (%s: %s); retrying in %d s", ox_strerror(rc),
                      ox_queue_errmsg(d->mta.q), RUN_MAX_SLEEP_MS / 1000);
    } else if (next <= now) {
        /* Due recipients may only be waiting for an association, which moves by itself;
         * look again soon rather than spin. */
        wait = d->mta.busy ? 0 : 500;
    } else if (next - now < wait) {
        wait = next - now;
    }
    uv_timer_start(&d->run_timer, on_run_timer, wait, 0);
}

static void on_signal(uv_signal_t *s, int signum)
{
    ox_daemon *d = s->data;
    if (signum == SIGHUP) {
        char reply[4096];
        ox_daemon_reload(d, reply, sizeof(reply));
        fprintf(stderr, "x400mta: SIGHUP: %s", reply);
        return;
    }
    ox_daemon_stop(d);
}

static void on_inbound(uv_stream_t *server, int status)
{
    ox_daemon *d = server->data;
    if (status < 0)
        return;
    if (!d->stopping)
        ox_daemon_assoc_accept(d, server);
}

static int listen_tcp(ox_daemon *d)
{
    struct sockaddr_storage ss;
    const char *h = d->cfg->listen_host;
    int rc = strchr(h, ':') ? uv_ip6_addr(h, d->cfg->listen_port, (struct sockaddr_in6 *)&ss)
                            : uv_ip4_addr(h, d->cfg->listen_port, (struct sockaddr_in *)&ss);
    if (rc) {
        fprintf(stderr, "x400mta: %s: listen address '%s' is not an IP address\n", d->cfg_path, h);
        return rc;
    }
    uv_tcp_init(d->loop, &d->listener);
    d->listener.data = d;
    d->listener_open = true;
    if ((rc = uv_tcp_bind(&d->listener, (struct sockaddr *)&ss, 0)) == 0)
        rc = uv_listen((uv_stream_t *)&d->listener, 64, on_inbound);
    if (rc)
        fprintf(stderr,
                "x400mta: cannot listen on %s:%u: %s (another MTA running? port < 1024 "
                "needs root or CAP_NET_BIND_SERVICE)\n",
                h, d->cfg->listen_port, uv_strerror(rc));
    return rc;
}

int ox_daemon_run(const char *cfg_path)
{
    static ox_daemon daemon;
    ox_daemon *d = &daemon;
    memset(d, 0, sizeof(*d));
    snprintf(d->cfg_path, sizeof(d->cfg_path), "%s", cfg_path);
    ox_config_diag *diag = malloc(sizeof(*diag));
    if (!diag)
        return 2;
    d->cfg = load_config(cfg_path, diag);
    fputs(diag->text, stderr);
    free(diag);
    if (!d->cfg) {
        fprintf(stderr,
                "x400mta: %s is not valid; not starting (x400mta check-config shows the "
                "same)\n",
                cfg_path);
        return 1;
    }
    if (ox_eventlog_open(&d->log, d->cfg->event_log_path, d->cfg) != 0) {
        fprintf(stderr, "x400mta: cannot open the event log %s: %m\n", d->cfg->event_log_path);
        return 2;
    }
    /* Events go out once per loop turn, just before the loop waits (on_before_wait): one
     * write for all of a turn's lines instead of one per line. */
    d->log.defer_flush = true;
    set_timezone(d->cfg);
    d->loop = uv_default_loop();
    d->started_ms = uv_now(d->loop);
    char err[2048];
    if (ox_mta_open(&d->mta, d->cfg, &d->log, ox_daemon_wall_ms(), err, sizeof(err)) != 0) {
        fprintf(stderr, "x400mta: %s\n", err);
        ox_eventlog_close(&d->log);
        return 2;
    }
    d->mta_open = true;
    uv_timer_init(d->loop, &d->run_timer);
    d->run_timer.data = d;
    uv_timer_init(d->loop, &d->watch_timer);
    d->watch_timer.data = d;
    uv_prepare_init(d->loop, &d->before_wait);
    d->before_wait.data = d;
    uv_prepare_start(&d->before_wait, on_before_wait);
    uv_unref((uv_handle_t *)&d->before_wait);
    uv_timer_init(d->loop, &d->lazy_commit);
    d->lazy_commit.data = d;
    uv_check_init(d->loop, &d->turn_end);
    d->turn_end.data = d;
    uv_check_start(&d->turn_end, on_turn_end);
    uv_unref((uv_handle_t *)&d->turn_end);
    uv_timer_start(&d->watch_timer, on_watch_timer, 1000, 1000);
    uv_signal_t *sigs[] = {&d->sighup, &d->sigterm, &d->sigint};
    int nums[] = {SIGHUP, SIGTERM, SIGINT};
    for (int i = 0; i < 3; i++) {
        uv_signal_init(d->loop, sigs[i]);
        sigs[i]->data = d;
        uv_signal_start(sigs[i], on_signal, nums[i]);
    }
    if (listen_tcp(d) != 0 || ox_control_listen(d) != 0) {
        ox_daemon_stop(d);
        uv_run(d->loop, UV_RUN_DEFAULT);
        ox_mta_close(&d->mta);
        ox_eventlog_close(&d->log);
        return 2;
    }
    ox_event_emit(&d->log, ox_daemon_wall_ms(), OX_EV_MTA_STARTED, NULL,
                  "MTA %s listening on %s:%u, control socket %s", d->cfg->name, d->cfg->listen_host,
                  d->cfg->listen_port, d->cfg->control_path);
    fprintf(stderr, "x400mta: MTA %s listening on %s:%u\n", d->cfg->name, d->cfg->listen_host,
            d->cfg->listen_port);
    ox_daemon_kick(d);
    uv_run(d->loop, UV_RUN_DEFAULT);
    ox_daemon_commit_now(d);
    free(d->confirmed);
    ox_mta_close(&d->mta);
    uv_loop_close(d->loop);
    ox_eventlog_close(&d->log);
    free(d->cfg);
    return 0;
}
