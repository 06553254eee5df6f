/*
 * fileio.h - the one narrow layer through which the library's output side
 * touches the file system (open, write, fsync, rename, mkdir, link). Every
 * writer goes through these wrappers, so a test build (make's sessrec-fault,
 * compiled with -DSR_FAULT_INJECTION) can make the k-th call fail with EIO or
 * ENOSPC and check that nothing is lost or left behind. In the normal build
 * they are the plain system calls: no counter, no environment lookup.
 *
 * The fault build reads, once, from the environment:
 *   SR_FAULT_AT=k        the k-th wrapped call (counting from 1) fails
 *   SR_FAULT_ERRNO=n     with this errno (default EIO)
 *   SR_FAULT_COUNT=FILE  at exit, the number of wrapped calls is written there
 */
#ifndef SR_FILEIO_H
#define SR_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

int sr_io_openat(int dirfd, const char *path, int flags, mode_t mode);
ssize_t sr_io_write(int fd, const void *p, size_t n);
int sr_io_fsync(int fd);
/* renameat2 where the kernel and file system have it (flags 0,
 * RENAME_NOREPLACE = 1, RENAME_EXCHANGE = 2); with flags 0 a plain renameat. */
int sr_io_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                    unsigned flags);
int sr_io_mkdirat(int dirfd, const char *path, mode_t mode);
int sr_io_linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);

#define SR_RENAME_NOREPLACE 1u
#define SR_RENAME_EXCHANGE 2u

#endif
