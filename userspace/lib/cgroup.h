/* SPDX-License-Identifier: GPL-2.0 */
/* The cgroup of a process as the kernel's programs see it (bpf_get_current_cgroup_id()). */
#ifndef EMBARGO_CGROUP_H
#define EMBARGO_CGROUP_H

#include <stdint.h>
#include <sys/types.h>

/*
 * The cgroup v2 id of process pid: the file handle of its cgroup's directory on the cgroup2 mount (the
 * number bpf_get_current_cgroup_id() returns, and the directory's inode number). -ENOENT when the
 * process is gone, has no cgroup v2 path or no cgroup2 file system is mounted; -errno otherwise.
 */
int embargo_cgroup_id(pid_t pid, uint64_t *id);

#endif
