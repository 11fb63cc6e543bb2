//! The vfork-style clone that starts the CLI: the child shares the worker's memory (nothing
//! is copied), sets its parent-death signal, checks that its parent is still the worker,
//! and execs. The same steps Go's runtime takes for `SysProcAttr.Pdeathsig`
//! (go/src/syscall/exec_linux.go, `forkAndExecInChild1`), with glibc's `posix_spawn` care
//! for signals (sysdeps/unix/sysv/linux/spawni.c).
//!
//! The child runs on a stack of its own in the parent's address space, so it may only make
//! raw system calls: no allocation, no locks, nothing that could panic. Everything it needs
//! is prepared by the parent before the clone ([`Prepared`]).

use std::ffi::{CString, c_char, c_int, c_void};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};

use super::SpawnStep;

/// The child's own stack. 64 KiB is far more than the child's few frames need (glibc's
/// `posix_spawn` maps 32 KiB plus the argv); a guard page below it turns an overflow into a
/// fault instead of a write into whatever the worker mapped there.
const STACK_BYTES: usize = 64 * 1024;

/// Exit code of a child that failed before its exec (the parent reaps it and reports the
/// step and errno instead; 127 as in glibc's `posix_spawn`, `SPAWN_ERROR`).
const EXEC_FAILED: c_int = 127;

/// The kernel's signal set is 64 bits on Linux (`_NSIG` = 64); the raw `rt_sig*` calls take
/// its size in bytes.
const KERNEL_SIGSET_BYTES: usize = 8;

/// `CLONE_VM | CLONE_VFORK`: the child borrows the parent's memory and the calling thread is
/// suspended until the child execs or exits (clone(2)), so nothing is copied and the
/// arguments stay alive. `CLONE_PIDFD` (Linux ≥ 5.2) returns a pidfd for the child in the
/// `parent_tid` argument (clone(2), pidfd_open(2)): waits and signals then name this exact
/// process, never a later one that reused its pid. `SIGCHLD` as for any forked child.
const FLAGS: c_int = libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PIDFD | libc::SIGCHLD;

/// What the child needs, as raw pointers into memory the parent keeps alive for the whole
/// clone (the calling thread is suspended until the child has exec'd or exited).
#[repr(C)]
struct ChildArgs {
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    cwd: *const c_char,
    /// Descriptors to install as 0, 1, 2; all ≥ 3, so no `dup2` overwrites a later source.
    stdio: [RawFd; 3],
    /// The worker's pid, read before the clone (Go: `ppid, _ = rawSyscallNoError(SYS_GETPID…)`).
    ppid: libc::pid_t,
    /// Set by a child that failed: which step (`SpawnStep as i32`) and its errno.
    failed_step: AtomicI32,
    errno: AtomicI32,
}

/// A command turned into C strings, ready for the child: built before the clone because the
/// child may not allocate.
pub(super) struct Prepared {
    pub path: CString,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
    pub cwd: CString,
}

/// Why the clone path did not start the program.
#[derive(Debug)]
pub(super) enum CloneError {
    /// The child ran and failed at `step` (a missing program: `Exec` with `ENOENT`).
    Child(SpawnStep, io::Error),
    /// Before or at the clone itself (no memory for the stack, `clone` refused).
    Parent(SpawnStep, io::Error),
}

/// Starts `prepared` with `stdio` as its fds 0–2 (all ≥ 3, close-on-exec; the child's
/// `dup2` clears that flag on the copies). Returns the child's pid and its pidfd.
pub(super) fn spawn(
    prepared: &Prepared,
    stdio: [RawFd; 3],
) -> Result<(libc::pid_t, OwnedFd), CloneError> {
    let argv = nul_terminated(&prepared.argv);
    let envp = nul_terminated(&prepared.envp);
    let args = ChildArgs {
        path: prepared.path.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        cwd: prepared.cwd.as_ptr(),
        stdio,
        // SAFETY: getpid(2) has no preconditions.
        ppid: unsafe { libc::getpid() },
        failed_step: AtomicI32::new(0),
        errno: AtomicI32::new(0),
    };
    let (pid, pidfd) =
        clone_with(child_main, &args).map_err(|e| CloneError::Parent(SpawnStep::Clone, e))?;
    let step = args.failed_step.load(Ordering::Relaxed);
    if step != 0 {
        let errno = args.errno.load(Ordering::Relaxed);
        // The child is exiting (the vfork wait ended at its `_exit`); reap it now so no
        // zombie is left, as glibc's posix_spawn does (`__waitpid (new_pid, NULL, 0)`).
        let _ = reap_blocking(&pidfd);
        return Err(CloneError::Child(
            SpawnStep::from_raw(step),
            io::Error::from_raw_os_error(errno),
        ));
    }
    Ok((pid, pidfd))
}

/// Whether this kernel (and any seccomp filter) lets the clone path work: `clone` with
/// `CLONE_PIDFD` (Linux 5.2; older kernels ignore the unknown flag and return no pidfd),
/// `waitid(P_PIDFD)` (5.4) and `pidfd_send_signal` (5.1). Runs a child that exits at once.
/// Go probes the same way before relying on pidfds (go/src/os/pidfd_linux.go, `checkPidfd`).
pub(super) fn probe() -> io::Result<()> {
    let args = ChildArgs {
        path: ptr::null(),
        argv: ptr::null(),
        envp: ptr::null(),
        cwd: ptr::null(),
        stdio: [-1; 3],
        ppid: 0,
        failed_step: AtomicI32::new(0),
        errno: AtomicI32::new(0),
    };
    let (_pid, pidfd) = clone_with(probe_main, &args)?;
    // SAFETY: pidfd_send_signal(2) with signal 0 only checks that the process exists; the
    // pidfd is ours and open. (A zombie may answer ESRCH: the call itself is what is probed.)
    let sent = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd_raw(&pidfd),
            0,
            ptr::null::<c_void>(),
            0,
        )
    };
    let send_error = (sent < 0).then(io::Error::last_os_error);
    reap_blocking(&pidfd)?;
    match send_error {
        Some(e) if e.raw_os_error() != Some(libc::ESRCH) => Err(e),
        _ => Ok(()),
    }
}

/// The clone itself, with every signal blocked around it so that no handler of the worker
/// can run in the child while it shares the worker's memory (spawni.c blocks all signals,
/// glibc's internal ones included, with `__libc_signal_block_all`; the raw call here does
/// the same — glibc's `pthread_sigmask` would quietly leave its internal signals out).
fn clone_with(
    main: extern "C" fn(*mut c_void) -> c_int,
    args: &ChildArgs,
) -> io::Result<(libc::pid_t, OwnedFd)> {
    let stack = Stack::new()?;
    let all: u64 = !0;
    let mut old: u64 = 0;
    let mut pidfd: c_int = -1;
    // SAFETY: rt_sigprocmask(2) with pointers to valid 8-byte sets of this frame.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &all,
            &mut old,
            KERNEL_SIGSET_BYTES,
        );
    }
    // SAFETY: `main` only makes raw system calls and never returns into Rust code that
    // would unwind; `stack` is a private mapping that outlives the child's use of it (with
    // CLONE_VFORK this thread resumes only once the child exec'd or exited, clone(2));
    // `args` lives in the caller's frame for the same reason; the kernel writes the pidfd
    // through the `parent_tid` pointer (clone(2): CLONE_PIDFD); `tls` and `child_tid` are
    // unused with these flags.
    let pid = unsafe {
        libc::clone(
            main,
            stack.top(),
            FLAGS,
            ptr::from_ref(args).cast_mut().cast::<c_void>(),
            &mut pidfd as *mut c_int,
            ptr::null_mut::<c_void>(),
            ptr::null_mut::<c_int>(),
        )
    };
    let clone_error = io::Error::last_os_error();
    // SAFETY: as above; restores the mask this thread had.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &old,
            ptr::null_mut::<u64>(),
            KERNEL_SIGSET_BYTES,
        );
    }
    drop(stack);
    if pid < 0 {
        return Err(clone_error);
    }
    if pidfd < 0 {
        // A kernel before 5.2 ignores CLONE_PIDFD: the child ran, but there is no pidfd.
        // SAFETY: `pid` is our unreaped child; kill(2) and waitpid(2) on it are sound.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, ptr::null_mut(), 0);
        }
        return Err(io::Error::from_raw_os_error(libc::ENOSYS));
    }
    // SAFETY: the kernel just created this descriptor for us and nothing else owns it.
    Ok((pid, unsafe { OwnedFd::from_raw_fd(pidfd) }))
}

/// Waits (blocking) until the child is reaped. Only for a child known to be exiting.
fn reap_blocking(pidfd: &OwnedFd) -> io::Result<()> {
    loop {
        // SAFETY: waitid(2) with P_PIDFD on our open pidfd and a zeroed siginfo to fill.
        let rc = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(
                libc::P_PIDFD,
                fd_raw(pidfd) as libc::id_t,
                &mut info,
                libc::WEXITED,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn fd_raw(fd: &OwnedFd) -> RawFd {
    use std::os::fd::AsRawFd;
    fd.as_raw_fd()
}

fn nul_terminated(strings: &[CString]) -> Vec<*const c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(ptr::null()))
        .collect()
}

/// The probe's child: exits at once (its mask still blocks every signal, so no handler runs).
extern "C" fn probe_main(_: *mut c_void) -> c_int {
    // SAFETY: _exit(2) is async-signal-safe and does not return.
    unsafe { libc::_exit(0) }
}

/// The child: runs in the worker's memory on its own stack, every signal blocked.
extern "C" fn child_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the `ChildArgs` the parent keeps alive until we exec or exit; every
    // call below is a raw, async-signal-safe system call on pointers it prepared.
    unsafe {
        let args = &*arg.cast::<ChildArgs>();
        // First, as in Go's forkAndExecInChild1: die with the parent from now on…
        if libc::syscall(
            libc::SYS_prctl,
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL,
            0,
            0,
            0,
        ) < 0
        {
            fail(args, SpawnStep::DeathSignal);
        }
        // …and if the parent died before the prctl (the signal is not sent retroactively,
        // prctl(2)), we were re-parented already: kill ourselves as Go does. getppid
        // returns the parent's process id, the one the worker read with getpid.
        if libc::syscall(libc::SYS_getppid) as libc::pid_t != args.ppid {
            libc::syscall(
                libc::SYS_kill,
                libc::syscall(libc::SYS_getpid),
                libc::SIGKILL,
            );
            libc::_exit(EXEC_FAILED);
        }
        reset_signal_dispositions();
        // Own process group: a terminal ^C aimed at byoc does not reach the CLI, and the
        // runner can SIGKILL the CLI with its plugins (killpg).
        if libc::syscall(libc::SYS_setpgid, 0, 0) < 0 {
            fail(args, SpawnStep::ProcessGroup);
        }
        for (target, source) in args.stdio.iter().enumerate() {
            // dup2(2): the copy does not inherit FD_CLOEXEC, so it survives the exec.
            if libc::syscall(libc::SYS_dup2, *source, target as c_int) < 0 {
                fail(args, SpawnStep::Stdio);
            }
        }
        if libc::syscall(libc::SYS_chdir, args.cwd) < 0 {
            fail(args, SpawnStep::Chdir);
        }
        // The CLI starts with no signal blocked, whatever the worker's thread blocks (glibc
        // restores the caller's mask here; std asks posix_spawn for an empty one).
        let empty: u64 = 0;
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &empty,
            ptr::null_mut::<u64>(),
            KERNEL_SIGSET_BYTES,
        );
        libc::syscall(libc::SYS_execve, args.path, args.argv, args.envp);
        fail(args, SpawnStep::Exec)
    }
}

/// Reports `step` and errno to the parent through the shared `ChildArgs`, then exits.
///
/// # Safety
/// Only in the child, after a failed system call (errno is the parent thread's TLS slot,
/// which the suspended parent does not read before it resumes).
unsafe fn fail(args: &ChildArgs, step: SpawnStep) -> ! {
    // SAFETY: __errno_location returns this thread's errno slot, always valid.
    let errno = unsafe { *libc::__errno_location() };
    args.errno.store(errno, Ordering::Relaxed);
    args.failed_step.store(step as i32, Ordering::Relaxed);
    // SAFETY: _exit(2) runs no atexit handlers and does not return.
    unsafe { libc::_exit(EXEC_FAILED) }
}

/// Sets every signal's disposition to SIG_DFL in the calling process. In the clone child
/// this is what makes the shared memory safe: its handler table is a copy (no
/// CLONE_SIGHAND, clone(2)), and a handler of the worker's must never run in it once the
/// mask is lifted (spawni.c resets every handler for the same reason). Ignored signals are
/// reset too — exec keeps SIG_IGN (execve(2)) — so the CLI starts the same however the
/// worker was started (std resets only SIGPIPE, which Rust ignores). Also used by the fork
/// fallback, for the same start.
///
/// # Safety
/// Async-signal-safe (raw rt_sigaction(2) only); changes the caller's handlers, so only in
/// a child before exec.
pub(super) unsafe fn reset_signal_dispositions() {
    // The kernel's `struct sigaction` all zero: SIG_DFL (0), no flags, empty mask. Four
    // words cover its layout with and without `sa_restorer`.
    let default = [0u64; 4];
    for signal in 1..=64 {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        // SAFETY: rt_sigaction(2) with a valid action and no old-action pointer.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                signal,
                default.as_ptr(),
                ptr::null_mut::<u64>(),
                KERNEL_SIGSET_BYTES,
            );
        }
    }
}

/// A private anonymous mapping for the child's stack, with a guard page at its low end.
struct Stack {
    base: *mut c_void,
    len: usize,
}

impl Stack {
    fn new() -> io::Result<Self> {
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
        let len = STACK_BYTES + page;
        // SAFETY: a fresh anonymous mapping, owned by the returned value.
        let base = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let stack = Self { base, len };
        // SAFETY: the lowest page of the mapping just made (stacks grow down on every
        // architecture Linux/glibc `clone` supports here).
        if unsafe { libc::mprotect(base, page, libc::PROT_NONE) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(stack)
    }

    fn top(&self) -> *mut c_void {
        // SAFETY: one past the end of the mapping, page-aligned (16-byte alignment holds).
        unsafe { self.base.cast::<u8>().add(self.len).cast() }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`; the child no longer runs on it (see clone_with).
        unsafe {
            libc::munmap(self.base, self.len);
        }
    }
}
