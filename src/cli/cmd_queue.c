/* cmd_queue.c - x400mta queue and x400mta track: read the queue database directly
 *
 * Why: the queue is SQLite in WAL mode, so the CLI reads it while the daemon writes, without
 *      asking the daemon: the view works even when the daemon is stuck. */
#include "cli.h"

#include "daemon/daemon.h"

#include "openx400/config.h"
#include "openx400/events.h"
#include "openx400/mta.h"
#include "openx400/queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static ox_mta_cfg *load_cfg(int argc, char **argv)
{
    const char *path = cli_config_path(argc, argv);
    ox_mta_cfg *cfg = malloc(sizeof(*cfg));
    ox_config_diag *diag = malloc(sizeof(*diag));
    if (cfg && diag && ox_config_load(cfg, path, diag) == 0) {
        free(diag);
        return cfg;
    }
    fprintf(stderr, "%sx400mta: cannot use the configuration %s\n", diag ? diag->text : "", path);
    free(cfg);
    free(diag);
    return NULL;
}

static ox_queue *open_ro(const ox_mta_cfg *cfg)
{
    ox_queue_config qc = {.path = cfg->queue_path, .read_only = true};
    ox_queue *q;
    char err[512];
    /* A running daemon keeps state marks uncommitted for up to 50 ms (daemon.c): ask it to
     * commit them, so what we show is the state of now. No daemon, nothing to ask. */
    (void)ox_control_request_wait(cfg->control_path, "commit", err, sizeof(err), 2000);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ox_queue_open(&qc, (uint64_t)ts.tv_sec * 1000, &q, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "x400mta: %s\n", err);
        return NULL;
    }
    return q;
}

static void fmt_time(uint64_t ms, char *dst, size_t cap)
{
    if (!ms) {
        snprintf(dst, cap, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(dst, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

typedef struct conn_row {
    char name[OX_QUEUE_NAME_MAX];
    uint64_t messages, in_transfer, oldest, next_retry;
    uint32_t attempts;
    char last_error[OX_QUEUE_ERRTEXT_MAX + 1];
} conn_row;

typedef struct queue_view {
    conn_row rows[OX_CFG_CONNECTOR_MAX + 4];
    size_t n;
    ox_queue *q;
} queue_view;

static conn_row *row_for(queue_view *v, const char *name)
{
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->rows[i].name, name))
            return &v->rows[i];
    if (v->n == OX_ARRAY_LEN(v->rows))
        return NULL;
    conn_row *r = &v->rows[v->n++];
    memset(r, 0, sizeof(*r));
    snprintf(r->name, sizeof(r->name), "%s", name);
    return r;
}

static int on_rcpt(void *ctx, const ox_queue_rcpt_info *ri)
{
    queue_view *v = ctx;
    if (ri->state != OX_QUEUE_PENDING && ri->state != OX_QUEUE_IN_TRANSFER)
        return 0;
    conn_row *r = row_for(v, ri->connector[0] ? ri->connector : OX_MTA_UNROUTED);
    if (!r)
        return 0;
    r->messages++;
    r->in_transfer += ri->state == OX_QUEUE_IN_TRANSFER;
    if (ri->state == OX_QUEUE_PENDING && (!r->next_retry || ri->next_attempt_ms < r->next_retry))
        r->next_retry = ri->next_attempt_ms;
    uint32_t att = ri->open_attempts + ri->transfer_attempts;
    if (att >= r->attempts) {
        r->attempts = att;
        if (ri->last_error[0])
            snprintf(r->last_error, sizeof(r->last_error), "%s", ri->last_error);
    }
    return 0;
}

/* The running MTA's view of each connector: link, next allowed open and why it waits. */
static void print_run_state(const ox_mta_cfg *cfg)
{
    static char out[65536];
    if (ox_control_request(cfg->control_path, "connectors", out, sizeof(out)) != 0 ||
        strncmp(out, "ok\n", 3) != 0) {
        printf("\n(the MTA is not running: no link or retry state)\n");
        return;
    }
    printf("\n%-16s %-10s %-20s %6s %6s  %s\n", "CONNECTOR", "LINK", "NEXT-OPEN", "FAILED",
           "ASSOCS", "WAITING-BECAUSE");
    char *save = NULL;
    for (char *line = strtok_r(out + 3, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[6] = {0};
        char *fs = NULL;
        int n = 0;
        for (char *t = strtok_r(line, "\t", &fs); t && n < 6; t = strtok_r(NULL, "\t", &fs))
            f[n++] = t;
        if (n < 6)
            continue;
        char next[32];
        fmt_time(strtoull(f[2], NULL, 10), next, sizeof(next));
        printf("%-16s %-10s %-20s %6s %6s  %s\n", f[0], f[1], next, f[3], f[4], f[5]);
    }
}

int cmd_queue(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: x400mta queue [--config FILE] [--json]\n\n"
               "Shows, per connector (and @local for local delivery), the recipients waiting,\n"
               "those in transfer, the oldest arrival, the next retry, the most attempts and\n"
               "the last error. Reads the queue database directly; the MTA need not run.\n"
               "When the MTA runs, a second table shows each connector's link state, the\n"
               "next allowed open (Open Interval), failed opens, associations and why mail\n"
               "waits (schedule window, open interval, remote-initiated, link-up running).\n");
        return 0;
    }
    bool json = false;
    for (int i = 1; i < argc; i++)
        json |= !strcmp(argv[i], "--json");
    ox_mta_cfg *cfg = load_cfg(argc, argv);
    if (!cfg)
        return 2;
    ox_queue *q = open_ro(cfg);
    if (!q) {
        free(cfg);
        return 2;
    }
    queue_view *v = calloc(1, sizeof(*v));
    v->q = q;
    row_for(v, OX_MTA_LOCAL);
    for (size_t i = 0; i < cfg->n_connectors; i++)
        row_for(v, cfg->connectors[i].name);
    int rc = ox_queue_foreach_rcpt(q, 0, on_rcpt, v);
    for (size_t i = 0; i < v->n; i++) {
        ox_queue_connector_stats(q, v->rows[i].name, &(uint64_t){0}, &v->rows[i].oldest);
    }
    if (json)
        printf("[");
    else
        printf("%-16s %8s %8s %-20s %-20s %8s  %s\n", "CONNECTOR", "WAITING", "SENDING", "OLDEST",
               "NEXT-RETRY", "ATTEMPTS", "LAST-ERROR");
    for (size_t i = 0; i < v->n; i++) {
        conn_row *r = &v->rows[i];
        char oldest[32], next[32];
        fmt_time(r->oldest, oldest, sizeof(oldest));
        fmt_time(r->next_retry, next, sizeof(next));
        if (json)
            printf("%s{\"connector\":\"%s\",\"waiting\":%llu,\"in_transfer\":%llu,"
                   "\"oldest\":\"%s\",\"next_retry\":\"%s\",\"attempts\":%u,\"last_error\":\"%s\"}",
                   i ? "," : "", r->name, (unsigned long long)(r->messages - r->in_transfer),
                   (unsigned long long)r->in_transfer, oldest, next, r->attempts, r->last_error);
        else
            printf("%-16s %8llu %8llu %-20s %-20s %8u  %s\n", r->name,
                   (unsigned long long)(r->messages - r->in_transfer),
                   (unsigned long long)r->in_transfer, oldest, next, r->attempts,
                   r->last_error[0] ? r->last_error : "-");
    }
    if (json)
        printf("]\n");
    if (!json)
        print_run_state(cfg);
    free(v);
    ox_queue_close(q);
    free(cfg);
    return rc ? 2 : 0;
}

static int on_history(void *ctx, uint64_t time_ms, int event_id, const char *text)
{
    (void)ctx;
    char t[32];
    fmt_time(time_ms, t, sizeof(t));
    const ox_event_def *d = event_id ? ox_event_lookup((uint32_t)event_id) : NULL;
    printf("%-20s %5d %-22s %s\n", t, event_id, d ? d->name : "-", text);
    return 0;
}

int cmd_track(int argc, char **argv)
{
    if (cli_wants_help(argc, argv) || argc < 2) {
        printf("usage: x400mta track [--config FILE] MSGID\n\n"
               "Shows every step of one message through this MTA (queued, routed, attempts,\n"
               "transferred, delivered, reported), oldest first. MSGID is the identifier\n"
               "'x400mta submit' printed, e.g. 'C=GB;A= ;P=SiteA;L=1790000000000-0'.\n");
        return argc < 2 ? 2 : 0;
    }
    const char *id = argv[argc - 1];
    ox_mta_cfg *cfg = load_cfg(argc, argv);
    if (!cfg)
        return 2;
    ox_queue *q = open_ro(cfg);
    if (!q) {
        free(cfg);
        return 2;
    }
    int rc = ox_queue_history_foreach(q, id, on_history, NULL);
    if (rc == OX_E_NOTFOUND)
        fprintf(stderr, "x400mta track: no message '%s' in this MTA's queue or history\n", id);
    ox_queue_close(q);
    free(cfg);
    return rc ? 1 : 0;
}
