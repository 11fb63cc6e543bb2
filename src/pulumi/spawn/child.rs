//! A running CLI: waits on it without a thread, signals it, kills and reaps it when dropped.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::ptr;

use nix::sys::signal::Signal;
use tokio::io::unix::AsyncFd;
use tokio::net::unix::pipe;

/// A started CLI with the parent's ends of its pipes. Dropped before it was reaped, it is
/// SIGKILLed and reaped (no zombie), like tokio's `kill_on_drop`.
#[derive(Debug)]
pub struct Child {
    pid: i32,
    process: Process,
    /// Its stdin, when one was asked for (otherwise it reads `/dev/null`).
    pub stdin: Option<pipe::Sender>,
    /// Its stdout.
    pub stdout: Option<pipe::Receiver>,
    /// Its stderr.
    pub stderr: Option<pipe::Receiver>,
}

#[derive(Debug)]
enum Process {
    /// Started by the clone path: watched through its pidfd. `None` once moved out on drop.
    Pidfd {
        fd: Option<AsyncFd<OwnedFd>>,
        status: Option<ExitStatus>,
    },
    /// Started by the fork fallback: tokio reaps it (`kill_on_drop` is set).
    Forked(tokio::process::Child),
}

impl Child {
    pub(super) fn with_pidfd(
        pid: i32,
        pidfd: AsyncFd<OwnedFd>,
        stdio: (Option<pipe::Sender>, pipe::Receiver, pipe::Receiver),
    ) -> Self {
        Self::new(
            pid,
            Process::Pidfd {
                fd: Some(pidfd),
                status: None,
            },
            stdio,
        )
    }

    pub(super) fn forked(
        pid: i32,
        child: tokio::process::Child,
        stdio: (Option<pipe::Sender>, pipe::Receiver, pipe::Receiver),
    ) -> Self {
        Self::new(pid, Process::Forked(child), stdio)
    }

    fn new(
        pid: i32,
        process: Process,
        (stdin, stdout, stderr): (Option<pipe::Sender>, pipe::Receiver, pipe::Receiver),
    ) -> Self {
        Self {
            pid,
            process,
            stdin,
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    /// Its pid, which is also its process group id. Valid for signalling its group only
    /// until it was reaped ([`Child::wait`] returned).
    pub fn id(&self) -> i32 {
        self.pid
    }

    /// Waits for it to exit and reaps it; cancel-safe, and returns the same status again
    /// once reaped.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        match &mut self.process {
            Process::Forked(child) => child.wait().await,
            Process::Pidfd { fd, status } => {
                if let Some(done) = status {
                    return Ok(*done);
                }
                let Some(fd) = fd else {
                    return Err(io::Error::other("child already released"));
                };
                loop {
                    // pidfd_open(2): a pidfd polls readable once its process has exited.
                    let mut ready = fd.readable().await?;
                    if let Some(done) = reap(fd.get_ref(), libc::WNOHANG)? {
                        *status = Some(done);
                        return Ok(done);
                    }
                    ready.clear_ready();
                }
            }
        }
    }

    /// Sends `signal` to the CLI itself (not its group). Through the pidfd on the clone path,
    /// so a pid reused after an exit we have not seen yet cannot be hit (pidfd_send_signal(2)).
    pub fn signal(&self, signal: Signal) -> io::Result<()> {
        match &self.process {
            Process::Pidfd {
                fd: Some(fd),
                status: None,
            } => send(fd.get_ref(), signal as i32),
            Process::Pidfd { .. } => Err(io::Error::from_raw_os_error(libc::ESRCH)),
            Process::Forked(child) => match child.id() {
                Some(pid) => nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal)
                    .map_err(io::Error::from),
                None => Err(io::Error::from_raw_os_error(libc::ESRCH)),
            },
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let Process::Pidfd { fd, status: None } = &mut self.process else {
            return;
        };
        let Some(fd) = fd.take() else { return };
        // Already gone is fine; the point is that it does not outlive its handle.
        let _ = send(fd.get_ref(), libc::SIGKILL);
        if let Ok(Some(_)) = reap(fd.get_ref(), libc::WNOHANG) {
            return;
        }
        // Not dead yet (SIGKILL is acted on when the process next leaves the kernel): reap
        // it from a task when its pidfd says so, rather than block this thread.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    loop {
                        let Ok(mut ready) = fd.readable().await else {
                            return;
                        };
                        if !matches!(reap(fd.get_ref(), libc::WNOHANG), Ok(None)) {
                            return;
                        }
                        ready.clear_ready();
                    }
                });
            }
            Err(_) => {
                let _ = reap(fd.get_ref(), 0);
            }
        }
    }
}

/// SIGKILLs and reaps (blocking) a child that was never handed out.
pub(super) fn kill_and_reap(pidfd: &OwnedFd) {
    let _ = send(pidfd, libc::SIGKILL);
    let _ = reap(pidfd, 0);
}

fn send(pidfd: &OwnedFd, signal: i32) -> io::Result<()> {
    // SAFETY: pidfd_send_signal(2) on an open pidfd of ours, no siginfo, no flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `waitid(P_PIDFD, …, WEXITED | flags)`: the exit status once the child has exited (and is
/// now reaped), `None` under WNOHANG while it still runs.
fn reap(pidfd: &OwnedFd, flags: libc::c_int) -> io::Result<Option<ExitStatus>> {
    loop {
        // SAFETY: a zeroed siginfo for waitid(2) to fill; `si_pid` stays 0 under WNOHANG
        // when the child has not exited (waitid(2)).
        let (rc, info) = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let rc = libc::waitid(
                libc::P_PIDFD,
                pidfd.as_raw_fd() as libc::id_t,
                &mut info,
                libc::WEXITED | flags,
            );
            (rc, info)
        };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        // SAFETY: waitid filled a SIGCHLD siginfo, whose pid and status fields are valid.
        let (pid, code) = unsafe { (info.si_pid(), info.si_status()) };
        if pid == 0 {
            return Ok(None);
        }
        // Back to the wait(2) encoding ExitStatus expects: exit code in bits 8–15, or the
        // signal number (0x80 when it dumped core).
        let raw = match info.si_code {
            libc::CLD_EXITED => (code & 0xff) << 8,
            libc::CLD_DUMPED => code | 0x80,
            _ => code,
        };
        return Ok(Some(ExitStatus::from_raw(raw)));
    }
}
