//! Starting a CLI process, and only that: a [`Command`] (program, argv, the environment
//! exactly as given, working directory) becomes a [`Child`] in its own process group, with
//! piped stdio, that dies with the worker (`PR_SET_PDEATHSIG` SIGKILL).
//!
//! The normal path is a vfork-style clone of our own (`clone.rs`): no copy of the worker,
//! one exec, and no window in which a killed worker leaves the CLI without its death signal
//! (the child checks its parent after the `prctl`, as Go's runtime does). Where the kernel
//! or a seccomp filter refuses it (Linux < 5.4, no pidfds), std's fork with a `pre_exec`
//! hook does the same steps, slower (the fork copies the worker's page tables).
//! Which one is probed once per process ([`death_signal`]).

mod child;
mod clone;

use std::collections::BTreeMap;
use std::ffi::{CString, OsStr, OsString};
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::net::unix::pipe;

pub use child::Child;

/// A program to start: built by the runner, spawned as often as needed.
#[derive(Debug, Clone)]
pub struct Command {
    program: PathBuf,
    args: Vec<OsString>,
    env: BTreeMap<OsString, OsString>,
    cwd: PathBuf,
    piped_stdin: bool,
}

impl Command {
    /// `program` run in `cwd` with no arguments and an empty environment; stdin reads
    /// `/dev/null`, stdout and stderr are pipes.
    pub fn new(program: impl Into<PathBuf>, cwd: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            env: BTreeMap::new(),
            cwd: cwd.into(),
            piped_stdin: false,
        }
    }

    /// Appends arguments (after `argv[0]`, which is the program path).
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets a variable; a later value for the same name replaces an earlier one.
    pub fn env(&mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        self.env
            .insert(name.as_ref().to_owned(), value.as_ref().to_owned());
        self
    }

    /// Sets several variables, in order (see [`Command::env`]).
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        for (k, v) in vars {
            self.env(k, v);
        }
        self
    }

    /// Gives the child a stdin pipe ([`Child::stdin`]) instead of `/dev/null`.
    pub fn piped_stdin(&mut self) -> &mut Self {
        self.piped_stdin = true;
        self
    }

    /// The program.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Starts it. Must be called within a tokio runtime (the pipes and the pidfd are
    /// registered with its reactor) from a thread that outlives the child: the death signal
    /// fires when the spawning *thread* exits (prctl(2)).
    pub fn spawn(&self) -> Result<Child, SpawnError> {
        let stdio = Stdio::new(self.piped_stdin).map_err(SpawnStep::Prepare.with())?;
        match death_signal() {
            DeathSignal::Clone => self.spawn_clone(stdio),
            DeathSignal::PreExec => self.spawn_forked(stdio),
        }
    }

    fn spawn_clone(&self, stdio: Stdio) -> Result<Child, SpawnError> {
        let prepared = self.prepare().map_err(SpawnStep::Prepare.with())?;
        let raw = stdio.child.each_ref().map(AsRawFd::as_raw_fd);
        let (pid, pidfd) = clone::spawn(&prepared, raw).map_err(|e| match e {
            clone::CloneError::Child(step, source) | clone::CloneError::Parent(step, source) => {
                SpawnError { step, source }
            }
        })?;
        drop(stdio.child);
        // SAFETY: an OwnedFd is a valid descriptor that stays open, and the same, for as long
        // as it is owned (here by the AsyncFd).
        let pidfd = match unsafe { AsyncFd::register_with_interest(pidfd, Interest::READABLE) } {
            Ok(fd) => fd,
            Err(e) => {
                // Not expected (a reactor that refuses a pidfd); the child must not run on.
                let (pidfd, cause) = e.into_parts();
                child::kill_and_reap(&pidfd);
                return Err(SpawnStep::Prepare.with()(cause));
            }
        };
        Ok(Child::with_pidfd(pid, pidfd, stdio.parent))
    }

    /// The fallback: std forks the worker and runs the same child steps in a `pre_exec` hook.
    fn spawn_forked(&self, stdio: Stdio) -> Result<Child, SpawnError> {
        let [stdin, stdout, stderr] = stdio.child;
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(&self.args)
            .env_clear()
            .envs(&self.env)
            .current_dir(&self.cwd)
            .stdin(std::process::Stdio::from(stdin))
            .stdout(std::process::Stdio::from(stdout))
            .stderr(std::process::Stdio::from(stderr))
            .kill_on_drop(true)
            .process_group(0);
        // SAFETY: getpid(2) has no preconditions.
        let ppid = unsafe { libc::getpid() };
        // SAFETY: the hook makes raw, async-signal-safe system calls only and allocates
        // nothing (it runs in the forked child, before exec).
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) < 0 {
                    return Err(io::Error::last_os_error());
                }
                // As on the clone path: a parent that died before the prctl is caught here.
                if libc::getppid() != ppid {
                    libc::kill(libc::getpid(), libc::SIGKILL);
                }
                clone::reset_signal_dispositions();
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(SpawnStep::Fork.with())?;
        let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
        Ok(Child::forked(pid, child, stdio.parent))
    }

    fn prepare(&self) -> io::Result<clone::Prepared> {
        // An absolute path: a relative one would be resolved after the chdir otherwise.
        let program = std::path::absolute(&self.program)?;
        let path = c_string(program.as_os_str())?;
        let mut argv = Vec::with_capacity(self.args.len() + 1);
        argv.push(c_string(self.program.as_os_str())?);
        for a in &self.args {
            argv.push(c_string(a)?);
        }
        let mut envp = Vec::with_capacity(self.env.len());
        for (k, v) in &self.env {
            let mut entry = Vec::with_capacity(k.len() + v.len() + 1);
            entry.extend_from_slice(k.as_bytes());
            entry.push(b'=');
            entry.extend_from_slice(v.as_bytes());
            envp.push(CString::new(entry).map_err(|_| nul_error())?);
        }
        Ok(clone::Prepared {
            path,
            argv,
            envp,
            cwd: c_string(self.cwd.as_os_str())?,
        })
    }
}

fn c_string(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| nul_error())
}

fn nul_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "an argument, variable or path contains a NUL byte",
    )
}

/// Which step of starting a program failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnStep {
    /// In the worker, before the clone: pipes, `/dev/null`, the child's stack, C strings.
    Prepare = 1,
    /// The clone itself.
    Clone,
    /// `prctl(PR_SET_PDEATHSIG)` in the child.
    DeathSignal,
    /// `setpgid(0, 0)` in the child.
    ProcessGroup,
    /// `dup2` of stdin, stdout, stderr in the child.
    Stdio,
    /// `chdir` to the working directory in the child.
    Chdir,
    /// `execve` of the program (e.g. missing, not executable, a bad interpreter line).
    Exec,
    /// The fork fallback (std does not say which of its child steps failed).
    Fork,
}

impl SpawnStep {
    fn from_raw(raw: i32) -> Self {
        match raw {
            2 => Self::Clone,
            3 => Self::DeathSignal,
            4 => Self::ProcessGroup,
            5 => Self::Stdio,
            6 => Self::Chdir,
            7 => Self::Exec,
            8 => Self::Fork,
            _ => Self::Prepare,
        }
    }

    fn with(self) -> impl Fn(io::Error) -> SpawnError {
        move |source| SpawnError { step: self, source }
    }
}

impl fmt::Display for SpawnStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Prepare => "preparing its pipes and arguments",
            Self::Clone => "clone",
            Self::DeathSignal => "setting its parent-death signal",
            Self::ProcessGroup => "creating its process group",
            Self::Stdio => "setting up its stdin, stdout and stderr",
            Self::Chdir => "entering its working directory",
            Self::Exec => "exec",
            Self::Fork => "fork and exec",
        })
    }
}

/// A program that could not be started.
#[derive(Debug, thiserror::Error)]
#[error("{step}: {source}")]
pub struct SpawnError {
    /// Where it failed.
    pub step: SpawnStep,
    /// The errno.
    #[source]
    pub source: io::Error,
}

/// How a child is made to die with the worker (`PR_SET_PDEATHSIG` SIGKILL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeathSignal {
    /// Set by our vfork-style clone child before its exec; the normal path.
    Clone,
    /// Set from a `pre_exec` hook after std forks the whole worker (the clone path was
    /// refused: a kernel before 5.4 or a seccomp filter).
    PreExec,
}

/// Which path this process uses; probed once (a clone of a child that exits at once) and
/// logged when it has to fall back.
pub fn death_signal() -> DeathSignal {
    static PROBED: OnceLock<DeathSignal> = OnceLock::new();
    *PROBED.get_or_init(|| match clone::probe() {
        Ok(()) => DeathSignal::Clone,
        Err(e) => {
            tracing::warn!(
                error = %e,
                "clone with CLONE_PIDFD unavailable; every CLI spawn forks the worker instead \
                 (slower)"
            );
            DeathSignal::PreExec
        }
    })
}

/// The parent's ends of the pipes, registered with the reactor: stdin, stdout, stderr.
type ParentEnds = (Option<pipe::Sender>, pipe::Receiver, pipe::Receiver);

/// The child's stdio and the parent's ends of its pipes.
struct Stdio {
    /// stdin, stdout, stderr for the child: close-on-exec, all ≥ 3.
    child: [OwnedFd; 3],
    parent: ParentEnds,
}

impl Stdio {
    fn new(piped_stdin: bool) -> io::Result<Self> {
        let (stdin_child, stdin_parent) = if piped_stdin {
            let (read, write) = pipe2()?;
            (read, Some(write))
        } else {
            // std opens files close-on-exec.
            (std::fs::File::open("/dev/null")?.into(), None)
        };
        let (stdout_parent, stdout_child) = pipe2()?;
        let (stderr_parent, stderr_child) = pipe2()?;
        Ok(Self {
            child: [
                above_stdio(stdin_child)?,
                above_stdio(stdout_child)?,
                above_stdio(stderr_child)?,
            ],
            parent: (
                stdin_parent.map(sender).transpose()?,
                receiver(stdout_parent)?,
                receiver(stderr_parent)?,
            ),
        })
    }
}

/// A parent's write end, nonblocking (O_NONBLOCK is per open file description: the child's
/// read end of the same pipe stays blocking, pipe(7)), registered with the reactor.
fn sender(fd: OwnedFd) -> io::Result<pipe::Sender> {
    nonblocking(&fd)?;
    pipe::Sender::from_owned_fd_unchecked(fd)
}

/// A parent's read end, likewise.
fn receiver(fd: OwnedFd) -> io::Result<pipe::Receiver> {
    nonblocking(&fd)?;
    pipe::Receiver::from_owned_fd_unchecked(fd)
}

/// `pipe2(O_CLOEXEC)`: (read end, write end). Both blocking: the child's end must be (a
/// nonblocking stdout would hand EAGAIN to the CLI); the parent's end is switched after.
fn pipe2() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1; 2];
    // SAFETY: pipe2(2) writes two descriptors into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both were just created and are owned by nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Moves a descriptor to ≥ 3 (when the worker's own 0–2 are closed the kernel hands those
/// numbers out): the child's `dup2` into 0, 1, 2 must never overwrite a later source, nor
/// be a no-op that keeps the close-on-exec flag.
fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    // SAFETY: fcntl(2) F_DUPFD_CLOEXEC on an open descriptor; the copy is new and ours.
    let copy = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    if copy < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    Ok(unsafe { OwnedFd::from_raw_fd(copy) })
}

fn nonblocking(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: fcntl(2) F_GETFL/F_SETFL on an open descriptor.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::SpawnStep;

    /// The child reports its failed step as `step as i32` through shared memory.
    #[test]
    fn every_step_survives_the_trip_through_its_number() {
        for step in [
            SpawnStep::Prepare,
            SpawnStep::Clone,
            SpawnStep::DeathSignal,
            SpawnStep::ProcessGroup,
            SpawnStep::Stdio,
            SpawnStep::Chdir,
            SpawnStep::Exec,
            SpawnStep::Fork,
        ] {
            assert_eq!(SpawnStep::from_raw(step as i32), step);
        }
    }
}
