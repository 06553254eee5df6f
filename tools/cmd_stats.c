/* cmd_stats.c - placeholder: 'sessrec stats' is being written and is not available yet. */
#include "cli.h"

int cmd_stats(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail("stats", "not implemented yet");
}
