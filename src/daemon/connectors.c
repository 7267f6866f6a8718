/* connectors.c - when a connector opens associations: schedule, Open Interval, threshold and
 * the on-demand link
 *
 * Why: this is the Exchange MTA's connector logic, and where seeds 002 and 003 went wrong.
 *      Any failed open (link-up command, TCP, bind) waits exactly the Open Interval and counts
 *      one attempt against each waiting recipient (Max Open Retries, then non-delivery);
 *      never an immediate re-dial. One association opens at a time; another is added only
 *      when the queued mail passes Threshold per association (up to the maximum), so load
 *      adds associations and failures never multiply attempts. An on-demand link comes up
 *      by its link-up command before the first association and goes down by its link-down
 *      command after the last one. Selected-times connectors open only inside a window and
 *      release at its end after the current message. */
#include "conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OPEN_FAIL_BATCH 256

typedef struct link_job {
    ox_daemon *d;
    char connector[OX_CFG_NAME_MAX];
    uint64_t started_ms;
} link_job;

int ox_daemon_connector_index(const ox_mta_cfg *cfg, const char *name)
{
    const ox_connector_cfg *k = ox_config_connector(cfg, name);
    return k ? (int)(k - cfg->connectors) : -1;
}

/* Seconds since Monday 00:00 in the MTA's time zone (TZ is set from the configuration). */
static uint32_t week_second(uint64_t wall_ms)
{
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    return (uint32_t)((tm.tm_wday + 6) % 7) * 86400u + (uint32_t)tm.tm_hour * 3600u +
           (uint32_t)tm.tm_min * 60u + (uint32_t)tm.tm_sec;
}

void ox_daemon_open_failed(ox_daemon *d, int cidx, uint64_t now, const char *why)
{
    const ox_connector_cfg *k = &d->cfg->connectors[cidx];
    ox_connector_open_failed(&d->cstate[cidx], k, now, why);
    /* Each waiting recipient counts the attempt; past Max Open Retries it is non-delivered
     * with a report. A counted recipient waits the Open Interval, so the loop ends. */
    for (int round = 0; round < 1000; round++) {
        ox_queue_due due[OPEN_FAIL_BATCH];
        size_t n = 0;
        ox_queue_batch_begin(d->mta.q);
        if (ox_queue_due_for(d->mta.q, k->name, now, due, OPEN_FAIL_BATCH, &n) == 0)
            for (size_t i = 0; i < n; i++)
                ox_mta_transfer_failed(&d->mta, due[i].rcpt_id, k, OX_QUEUE_ATTEMPT_OPEN, why, now);
        ox_queue_batch_commit(d->mta.q);
        if (n < OPEN_FAIL_BATCH)
            break;
    }
}

/* ---- the on-demand link ---- */

static void on_link_down_done(void *ctx, int status, const char *err, bool timed_out)
{
    link_job *j = ctx;
    ox_daemon *d = j->d;
    int i = ox_daemon_connector_index(d->cfg, j->connector);
    uint64_t now = ox_daemon_wall_ms();
    ox_event_ctx x = {.connector = j->connector};
    if (i >= 0) {
        d->cstate[i].link = OX_LINK_DOWN;
        x.peer = d->cfg->connectors[i].peer_mta;
    }
    if (status == 0)
        ox_event_emit(&d->log, now, OX_EV_LINK_DOWN, &x,
                      "link of connector %s is down (link-down took %llu ms)", j->connector,
                      (unsigned long long)(now - j->started_ms));
    else
        ox_event_emit(&d->log, now, OX_EV_LINK_DOWN, &x,
                      "link-down command of connector %s %s%d%s%s; the link may still be up: run "
                      "the command by hand and check it",
                      j->connector,
                      timed_out ? "was killed after the link timeout, status "
                                : "exited with code ",
                      status, err[0] ? ": " : "", err);
    free(j);
    ox_daemon_kick(d);
}

static void link_down(ox_daemon *d, int i)
{
    const ox_connector_cfg *k = &d->cfg->connectors[i];
    ox_connector_state *cs = &d->cstate[i];
    uint64_t now = ox_daemon_wall_ms();
    cs->link = OX_LINK_GOING_DOWN;
    if (k->link_down[0]) {
        link_job *j = calloc(1, sizeof(*j));
        if (j) {
            j->d = d;
            j->started_ms = now;
            ox_strlcpy(j->connector, k->name, sizeof(j->connector));
            if (ox_link_run(d, k->link_down, k->link_timeout_s, on_link_down_done, j) == 0)
                return;
            free(j);
        }
    }
    cs->link = OX_LINK_DOWN;
    ox_event_ctx x = {.connector = k->name, .peer = k->peer_mta};
    if (k->link_down[0])
        ox_event_emit(&d->log, now, OX_EV_LINK_DOWN, &x,
                      "link-down command of connector %s could not be started; the link may "
                      "still be up: run '%s' by hand",
                      k->name, k->link_down);
    else
        ox_event_emit(&d->log, now, OX_EV_LINK_DOWN, &x,
                      "link of connector %s released (no link-down command)", k->name);
}

static void on_link_up_done(void *ctx, int status, const char *err, bool timed_out)
{
    link_job *j = ctx;
    ox_daemon *d = j->d;
    int i = ox_daemon_connector_index(d->cfg, j->connector);
    uint64_t now = ox_daemon_wall_ms();
    uint64_t took = now - j->started_ms;
    free(j);
    if (i < 0)
        return; /* removed by a reload */
    const ox_connector_cfg *k = &d->cfg->connectors[i];
    ox_connector_state *cs = &d->cstate[i];
    ox_event_ctx x = {.connector = k->name, .peer = k->peer_mta};
    if (status == 0 && !timed_out) {
        cs->link = OX_LINK_UP;
        cs->link_fresh = true;
        ox_event_emit(&d->log, now, OX_EV_LINK_UP, &x,
                      "link of connector %s is up (link-up took %llu ms); opening an association "
                      "to %s",
                      k->name, (unsigned long long)took, k->peer_mta);
        if (d->stopping)
            link_down(d, i);
        else
            ox_daemon_kick(d);
        return;
    }
    cs->link = OX_LINK_DOWN;
    char why[1400];
    if (timed_out) {
        ox_event_emit(&d->log, now, OX_EV_LINK_TIMEOUT, &x,
                      "link-up command of connector %s (to %s) did not finish within the link "
                      "timeout (%u s) and was killed with its children%s%s; check the dialler, "
                      "or raise link-timeout if the link is slow to come up",
                      k->name, k->peer_mta, k->link_timeout_s, err[0] ? "; its stderr: " : "", err);
        snprintf(why, sizeof(why), "link-up timed out after %u s", k->link_timeout_s);
    } else {
        snprintf(why, sizeof(why), "link-up exited with code %d%s%.1100s", status,
                 err[0] ? ": " : "", err);
    }
    ox_event_emit(&d->log, now, OX_EV_LINK_ERROR, &x,
                  "link error on connector %s to %s: %s (command: %s). It counts as a failed "
                  "open: the next attempt comes after the open interval (%u s), never at once; "
                  "after %u failed opens the waiting mail is non-delivered. Run the command by "
                  "hand to see why it fails",
                  k->name, k->peer_mta, why, k->link_up, k->values.open_interval_s,
                  k->values.max_open_retries);
    ox_daemon_open_failed(d, i, now, why);
    ox_daemon_kick(d);
}

static void link_up(ox_daemon *d, int i, uint64_t now)
{
    const ox_connector_cfg *k = &d->cfg->connectors[i];
    ox_connector_state *cs = &d->cstate[i];
    link_job *j = calloc(1, sizeof(*j));
    if (!j)
        return;
    j->d = d;
    j->started_ms = now;
    ox_strlcpy(j->connector, k->name, sizeof(j->connector));
    cs->link = OX_LINK_COMING_UP;
    snprintf(cs->why_waiting, sizeof(cs->why_waiting), "link-up command running");
    if (ox_link_run(d, k->link_up, k->link_timeout_s, on_link_up_done, j) != 0) {
        free(j);
        cs->link = OX_LINK_DOWN;
        ox_event_ctx x = {.connector = k->name, .peer = k->peer_mta};
        ox_event_emit(&d->log, now, OX_EV_LINK_ERROR, &x,
                      "link-up command of connector %s could not be started (%s); next attempt "
                      "after the open interval (%u s)",
                      k->name, k->link_up, k->values.open_interval_s);
        ox_daemon_open_failed(d, i, now, "link-up command could not be started");
    }
}

void ox_daemon_conn_gone(ox_daemon *d, int cidx)
{
    if (cidx < 0 || (size_t)cidx >= d->cfg->n_connectors)
        return;
    const ox_connector_cfg *k = &d->cfg->connectors[cidx];
    ox_connector_state *cs = &d->cstate[cidx];
    if (k->kind != OX_CONN_ONDEMAND || cs->link != OX_LINK_UP ||
        ox_ltab_count(&d->ltab, k->name, false) > 0)
        return;
    /* Mail that may go now keeps the link for the next association. */
    uint64_t now = ox_daemon_wall_ms();
    ox_queue_due due[1];
    size_t n = 0;
    if (!d->stopping && ox_connector_may_open(cs, now) &&
        ox_queue_due_for(d->mta.q, k->name, now, due, 1, &n) == 0 && n > 0)
        return;
    link_down(d, cidx);
}

/* ---- opening ---- */

static void release_connector(ox_daemon *d, const char *name)
{
    for (int i = 0; i < OX_LTAB_MAX; i++) {
        ox_ltab_entry *e = &d->ltab.e[i];
        if (e->state != OX_LTAB_FREE && e->owner && !e->inbound && !strcmp(e->connector, name))
            ox_conn_release_soon(e->owner);
    }
}

void ox_daemon_assoc_schedule(ox_daemon *d, uint64_t now, uint64_t *next_ms)
{
    for (size_t i = 0; i < d->cfg->n_connectors; i++) {
        const ox_connector_cfg *k = &d->cfg->connectors[i];
        ox_connector_state *cs = &d->cstate[i];
        bool in_window = true;
        uint32_t wait_s = 0;
        if (k->schedule == OX_SCHED_SELECTED_TIMES) {
            uint32_t ws = week_second(now);
            in_window = ox_schedule_open_at(k, ws);
            if (in_window && !strncmp(cs->why_waiting, "outside", 7))
                cs->why_waiting[0] = '\0';
            if (!in_window) {
                wait_s = ox_schedule_next_open(k, ws);
                uint64_t wake = now - now % 1000 + (uint64_t)wait_s * 1000;
                if (wait_s != UINT32_MAX && wake < *next_ms)
                    *next_ms = wake;
                snprintf(cs->why_waiting, sizeof(cs->why_waiting),
                         "outside the schedule window; the next opens in %u s", wait_s);
            }
        }
        if (k->schedule == OX_SCHED_NEVER) {
            snprintf(cs->why_waiting, sizeof(cs->why_waiting), "schedule is never");
            continue;
        }
        if (k->schedule == OX_SCHED_REMOTE_INITIATED) {
            snprintf(cs->why_waiting, sizeof(cs->why_waiting),
                     "remote-initiated: mail waits for %s to connect", k->peer_mta);
            continue;
        }
        ox_queue_due due[1];
        size_t n = 0;
        if (ox_queue_due_for(d->mta.q, k->name, now, due, 1, &n) != 0 || n == 0)
            continue;
        if (!in_window) {
            if (!cs->schedule_noted) {
                ox_event_ctx x = {.connector = k->name, .peer = k->peer_mta};
                ox_event_emit(&d->log, now, OX_EV_SCHEDULE_WAIT, &x,
                              "mail for %s waits for the next schedule window of connector %s "
                              "(in %u s)",
                              k->peer_mta, k->name, wait_s);
                cs->schedule_noted = true;
            }
            continue;
        }
        cs->schedule_noted = false;
        size_t live = ox_ltab_count(&d->ltab, k->name, false);
        size_t bound = ox_ltab_count(&d->ltab, k->name, true);
        /* One open at a time: a second one waits until the first is bound, so a peer that is
         * down costs one attempt per Open Interval, not one per association. */
        if (live >= k->values.max_associations || live > bound)
            continue;
        /* Another association once the backlog exceeds |threshold| for each live one: the
         * count stops there, as a full one walks the whole backlog on every pass. */
        uint64_t carried = (uint64_t)live * k->values.threshold, queued = 0;
        if (live > 0 && (ox_queue_connector_backlog(d->mta.q, k->name, carried + 1, &queued) != 0 ||
                         queued <= carried))
            continue;
        if (!ox_connector_may_open(cs, now)) {
            if (cs->next_open_ms < *next_ms)
                *next_ms = cs->next_open_ms;
            continue;
        }
        if (k->kind == OX_CONN_ONDEMAND && cs->link != OX_LINK_UP) {
            if (cs->link == OX_LINK_DOWN && !d->stopping)
                link_up(d, (int)i, now);
            continue;
        }
        ox_daemon_assoc_open(d, (int)i);
    }
    for (int i = 0; i < OX_LTAB_MAX; i++) {
        ox_ltab_entry *e = &d->ltab.e[i];
        if (e->state != OX_LTAB_FREE && e->owner)
            ox_conn_pump(e->owner);
    }
}

void ox_daemon_watch(ox_daemon *d)
{
    uint64_t loop_now = uv_now(d->loop);
    uint32_t ws = week_second(ox_daemon_wall_ms());
    /* A window that closed releases its associations after their current message; one that
     * opened gets its mail moving now rather than at the engine's next wake-up. */
    for (size_t i = 0; i < d->cfg->n_connectors; i++) {
        const ox_connector_cfg *k = &d->cfg->connectors[i];
        ox_connector_state *cs = &d->cstate[i];
        if (k->schedule != OX_SCHED_SELECTED_TIMES)
            continue;
        bool open = ox_schedule_open_at(k, ws);
        if (cs->window_was_open && !open)
            release_connector(d, k->name);
        else if (!cs->window_was_open && open && !d->stopping)
            ox_daemon_kick(d);
        cs->window_was_open = open;
    }
    for (int i = 0; i < OX_LTAB_MAX; i++) {
        ox_ltab_entry *e = &d->ltab.e[i];
        if (e->state != OX_LTAB_FREE && e->owner)
            ox_conn_watch(e->owner, loop_now);
    }
}

void ox_daemon_connectors_remap(ox_daemon *d, const ox_mta_cfg *next)
{
    ox_connector_state old[OX_CFG_CONNECTOR_MAX];
    memcpy(old, d->cstate, sizeof(old));
    memset(d->cstate, 0, sizeof(d->cstate));
    for (size_t j = 0; j < next->n_connectors; j++) {
        int i = ox_daemon_connector_index(d->cfg, next->connectors[j].name);
        if (i >= 0)
            d->cstate[j] = old[i];
    }
    for (int e = 0; e < OX_LTAB_MAX; e++) {
        ox_ltab_entry *t = &d->ltab.e[e];
        conn *c = t->state != OX_LTAB_FREE ? t->owner : NULL;
        if (!c || c->cidx < 0)
            continue;
        c->cidx = ox_daemon_connector_index(next, d->cfg->connectors[c->cidx].name);
    }
}
