/* cmd_peer.c - x400mta test-peer and retry: the operator's tools for one connector */
#include "cli.h"

#include <stdio.h>
#include <string.h>

/* The first argument that is not an option or an option's value. */
static const char *connector_arg(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") || !strcmp(argv[i], "-c")) {
            i++;
            continue;
        }
        if (argv[i][0] != '-')
            return argv[i];
    }
    return NULL;
}

int cmd_test_peer(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: x400mta test-peer [--config FILE] CONNECTOR\n\n"
               "Asks the running MTA to try one association to CONNECTOR's peer: bring an\n"
               "on-demand link up (link-up), resolve the peer's name, connect to each address\n"
               "in turn, bind with this side's name and password (the peer may bind back),\n"
               "release, and take the link down again. Each step is printed with its time;\n"
               "on failure the step, the peer's answer and the fix. No mail is sent and the\n"
               "connector's Open Interval is not touched.\n"
               "Exit status: 0 the peer binds, 1 a step failed, 2 no MTA or bad config.\n");
        return 0;
    }
    const char *name = connector_arg(argc, argv);
    if (!name) {
        fprintf(stderr, "x400mta test-peer: which connector? (x400mta test-peer --help)\n");
        return 2;
    }
    char request[200];
    snprintf(request, sizeof(request), "test-peer %.150s", name);
    /* link-up (up to an hour) plus connect and bind; the daemon bounds each step. */
    return cli_control(argc, argv, request, 3700 * 1000);
}

int cmd_retry(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: x400mta retry [--config FILE] CONNECTOR\n\n"
               "Makes every message waiting for CONNECTOR due now and clears its Open\n"
               "Interval, so the running MTA opens an association at once (the Exchange\n"
               "MTA's 'retry now'). Attempt counts are kept.\n");
        return 0;
    }
    const char *name = connector_arg(argc, argv);
    if (!name) {
        fprintf(stderr, "x400mta retry: which connector? (x400mta retry --help)\n");
        return 2;
    }
    char request[200];
    snprintf(request, sizeof(request), "retry %.150s", name);
    return cli_control(argc, argv, request, 30000);
}
