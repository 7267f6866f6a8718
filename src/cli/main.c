/* main.c - x400mta: the one command operators run (serve, submit, queue, assoc, events, ...)
 *
 * Why: one binary with subcommands reads naturally to an operator; each subcommand has its
 *      own --help. Only this folder and src/daemon may end the process. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static int cmd_version(int argc, char **argv);

static const command commands[] = {
    {"demo", cmd_demo, "two MTAs on loopback exchange mail, shown step by step, then stop"},
    {"serve", cmd_serve, "run the MTA (foreground; SIGHUP reloads, SIGTERM stops)"},
    {"status", cmd_status, "ask the running MTA whether it is up"},
    {"reload", cmd_reload, "make the running MTA re-read its configuration"},
    {"stop", cmd_stop, "stop the running MTA in order"},
    {"submit", cmd_submit, "submit an interpersonal message to the running MTA"},
    {"queue", cmd_queue, "show the queue per connector: messages, oldest, next retry, errors"},
    {"assoc", cmd_assoc, "show the association table (LTAB) of the running MTA"},
    {"track", cmd_track, "show every step of one message through this MTA"},
    {"show", cmd_show, "print a delivered message file (envelope, heading, body)"},
    {"test-peer", cmd_test_peer, "open, bind and release one association to a connector's peer"},
    {"retry", cmd_retry, "make a connector's waiting mail due now (clears its Open Interval)"},
    {"check-config", cmd_check_config, "validate a configuration file and print what is wrong"},
    {"events", cmd_events, "show the event log, filtered by ID, category or time"},
    {"version", cmd_version, "print the version"},
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: x400mta [--help] [--version] <command> [options]\n"
            "\n"
            "openx400 %s - an X.400 Message Transfer Agent (P1 over RFC 1006).\n"
            "\n"
            "commands:\n",
            OX_VERSION);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'x400mta <command> --help' for a command's options.\n");
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return true;
    return false;
}

const char *cli_config_path(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--config") || !strcmp(argv[i], "-c"))
            return argv[i + 1];
    const char *env = getenv("OX_CONFIG");
    return env && *env ? env : "/etc/openx400/x400mta.ini";
}

static int cmd_version(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: x400mta version\n\nPrints the openx400 version.\n");
        return 0;
    }
    printf("openx400 %s\n", OX_VERSION);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version"))
        return cmd_version(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "x400mta: unknown command '%s'; run 'x400mta --help' for the list\n", cmd);
    return 2;
}
