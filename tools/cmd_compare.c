/* cmd_compare.c - placeholder: 'sessrec compare' is being written and is not available yet. */
#include "cli.h"

int cmd_compare(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail("compare", "not implemented yet");
}
