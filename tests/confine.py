"""Run a command as another kind of machine would: the environments the isolation policy names.

Run as root (the tests are):

    python tests/confine.py [--reach PATH]... [--drop-sys-admin] [--user NAME] [--refuse CALLS] -- COMMAND...

- ``--reach PATH``: in a mount namespace of the command's own, make PATH reachable to other users (a
  folder on its way that others may not enter, such as /root for pyenv's Python, is covered by one
  holding only the way to it); the host is untouched. This is how a Python is "given" to a user.
- ``--drop-sys-admin``: CAP_SYS_ADMIN leaves the bounding set, so the command runs as root without it
  (Docker's default, what ``capsh --drop=cap_sys_admin`` does);
- ``--user NAME``: the command runs as that ordinary user (no capability at all);
- ``--refuse unshare,landlock``: a seccomp filter refuses new namespaces (a kernel or container that
  allows no unprivileged user namespaces) and/or Landlock (a kernel without it), for the command and
  everything it starts.
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import os
import pwd
import sys

CAP_SYS_ADMIN, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 21, 24, 38
CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
MS_REC, MS_PRIVATE = 16384, 1 << 18


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reach", action="append", default=[])
    parser.add_argument("--drop-sys-admin", action="store_true")
    parser.add_argument("--user")
    parser.add_argument("--refuse", default="")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    libc = ctypes.CDLL(None, use_errno=True)

    if args.reach:
        from autograder import sandbox

        if libc.unshare(CLONE_NEWNS) != 0 or not sandbox.mount("none", "/", None, MS_REC | MS_PRIVATE):
            sys.exit("confine: no mount namespace for --reach")
        sandbox.open_the_way([os.path.realpath(p) for p in args.reach])
    if args.drop_sys_admin and libc.prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0) != 0:
        sys.exit("confine: cannot drop CAP_SYS_ADMIN")
    if args.user:
        user = pwd.getpwnam(args.user)
        os.setgroups([])
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)
        os.environ.update(HOME=user.pw_dir, USER=user.pw_name, LOGNAME=user.pw_name)
    refused = [name for name in args.refuse.split(",") if name]
    if refused:
        import pyseccomp as seccomp

        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        rules = seccomp.SyscallFilter(seccomp.ALLOW)
        if "unshare" in refused:        # as a kernel that allows no unprivileged user namespace answers
            rules.add_rule(seccomp.ERRNO(errno.EPERM), "unshare", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_NEWUSER,
                                                                              CLONE_NEWUSER))
            rules.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_NEWUSER,
                                                                            CLONE_NEWUSER))
            rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
        if "landlock" in refused:       # as a kernel built without Landlock answers
            rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "landlock_create_ruleset")
        rules.load()
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
