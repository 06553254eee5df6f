/* cmd_prepare.c - placeholder: 'sessrec prepare' is being written and is not available yet. */
#include "cli.h"

int cmd_prepare(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail("prepare", "not implemented yet");
}
