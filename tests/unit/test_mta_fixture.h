/* test_mta_fixture.h - an MTA engine on a real queue in a temporary directory (SITEA, with a
 * connector b to SITEB), for the engine's unit tests */
#ifndef TEST_MTA_FIXTURE_H
#define TEST_MTA_FIXTURE_H

#include "openx400/mta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 1790000000000ull /* some time in 2026, ms */

typedef struct fixture {
    char dir[64];
    ox_mta_cfg cfg;
    ox_eventlog log;
    ox_mta mta;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/ox-engine-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char text[2048];
    snprintf(text, sizeof(text),
             "[mta]\nname = SITEA\npassword = pa\nlisten = 127.0.0.1:1\n"
             "global-domain = /C=GB/A= /P=SiteA/\n"
             "local-address-space = /C=GB/A= /P=SiteA/\n"
             "queue = %s/q.db\nmailbox = %s/mbox\n"
             "[connector b]\npeer-mta = SITEB\npeer-address = 127.0.0.1:2\n"
             "address-space = /C=GB/A= /P=SiteB/\nmax-open-retries = 2\n",
             f->dir, f->dir);
    ox_config_diag d;
    assert_int_equal(ox_config_load_string(&f->cfg, "e.ini", text, &d), 0);
    char path[128];
    snprintf(path, sizeof(path), "%s/events.jsonl", f->dir);
    assert_int_equal(ox_eventlog_open(&f->log, path, &f->cfg), 0);
    char err[512];
    int rc = ox_mta_open(&f->mta, &f->cfg, &f->log, T0, err, sizeof(err));
    if (rc)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ox_mta_close(&f->mta);
    ox_eventlog_close(&f->log);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "%s%s", getenv("OX_KEEP") ? "echo " : "rm -rf ", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

#endif
