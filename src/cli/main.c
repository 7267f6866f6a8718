/* main.c - x400mta: the one command operators run (serve, submit, queue, assoc, events, ...)
 *
 * Why: one binary with subcommands reads naturally to an operator; each subcommand has its
 *      own --help. Only this folder and src/daemon may end the process. */
#include "openx400/common.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: x400mta [--version] [--help] <command> [options]\n"
            "\n"
            "openx400 %s - an X.400 Message Transfer Agent (P1 over RFC 1006).\n"
            "\n"
            "commands:\n"
            "  version     print the version and the protocol stack built in\n"
            "\n"
            "Run 'x400mta <command> --help' for a command's options.\n",
            OX_VERSION);
}

static int cmd_version(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
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
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version"))
        return cmd_version(argc - 1, argv + 1);
    fprintf(stderr, "x400mta: unknown command '%s'; run 'x400mta --help' for the list\n", cmd);
    return 2;
}
