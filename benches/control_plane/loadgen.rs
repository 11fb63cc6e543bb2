//! The API rows' load generator (session 9): keep-alive HTTP/1.1 GETs on one OS thread with
//! plain `epoll`, the request's bytes built once, the answer parsed only as far as the status
//! line and `Content-Length`, no allocation per request (the latency vectors are allocated
//! before the run). It shares the machine's two cores with the server, as the target says, so
//! what it costs per request is taken from the server: the tokio generator it replaces
//! (`http.rs` on a 2-thread runtime, one pacer thread sleeping to each send time and a channel
//! per connection) took 30–52 µs of CPU per request in the open loop, which at 15,000 req/s is
//! most of a core. Each row prints this one's (`cpu_us`).
//!
//! Two modes, as wrk and wrk2 load:
//! - [`Mode::Closed`]: each connection sends its next request in the wake-up that read the
//!   answer to the previous one, until the time is up. Latency = answer − send.
//! - [`Mode::Open`]: request `k` is *intended* at `start + k / rate` on connection
//!   `k % connections`, whatever happened to the earlier ones (wrk2's schedule). A connection
//!   sends its next request at the first wake-up at or after that time, or, when its previous
//!   answer is late, as soon as that answer arrives; its latency is measured from the intended
//!   time (answer − intended), so a stall counts for every request it delayed, those not yet
//!   sent included. Requests are never sent early. A request still unanswered `grace` after
//!   the end of the schedule is counted (`unanswered`) and the row fails.
//!
//! The pacer is the event loop itself: between two wake-ups it blocks in `epoll_pwait2` (a
//! nanosecond timeout; `epoll_wait`'s milliseconds would add up to 1 ms of lateness) until
//! an answer arrives or the earliest due request's time (+ `batch`), then reads every answer
//! that arrived and sends every request that is due. The kernel may end the wait up to the
//! thread's timer slack late (50 µs by default on Linux, `prctl(2)` `PR_SET_TIMERSLACK`), and
//! that lateness is counted as latency, as is `batch`; `lags_us` records it (actual − intended
//! send) together with any wait behind a late answer on the same connection.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// How the connections send.
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    /// Next request when the answer arrives, for `duration`.
    Closed { duration: Duration },
    /// `rate` requests a second on a fixed schedule for `duration`; a wake-up is put off by
    /// up to `batch` past the earliest due request, so that more requests are sent per
    /// wake-up (the delay counts as latency).
    Open {
        rate: f64,
        duration: Duration,
        batch: Duration,
    },
}

/// What a run gives.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Answers with status 200.
    pub answered: usize,
    /// Other statuses and broken connections (the request in flight is counted).
    pub errors: usize,
    /// Open loop: scheduled requests neither answered nor failed when the run gave up.
    pub unanswered: usize,
    /// Requests the open loop's schedule held.
    pub scheduled: usize,
    /// Closed loop: start → last answer; open loop: first intended send → last answer.
    pub elapsed: Duration,
    /// Per 200 answer, µs: from the send (closed) or the intended send (open).
    pub latencies_us: Vec<i64>,
    /// Open loop, per request: actual − intended send, µs.
    pub lags_us: Vec<i64>,
    /// This process's CPU time (user + system, every thread) during the run.
    pub cpu: Duration,
    /// The generator thread's own CPU time during the run.
    pub thread_cpu: Duration,
    /// Returns from `epoll_pwait2`.
    pub wakeups: u64,
}

impl Outcome {
    /// Requests that got an answer (200 or not) or failed.
    pub fn completed(&self) -> usize {
        self.answered + self.errors
    }

    /// The process's CPU per completed request, µs.
    pub fn cpu_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.completed().max(1) as f64
    }

    /// Answers per second over `elapsed`.
    pub fn rate(&self) -> f64 {
        self.answered as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Loads `addr` with `request` on `connections` keep-alive connections; blocks this thread
/// for the run.
pub fn run(
    addr: SocketAddr,
    request: &[u8],
    connections: usize,
    mode: Mode,
) -> io::Result<Outcome> {
    let ep = Epoll::new()?;
    let mut conns = (0..connections)
        .map(|i| Conn::open(addr, &ep, i))
        .collect::<io::Result<Vec<_>>>()?;
    let n = connections as u64;
    let (total, period_ns, duration, batch) = match mode {
        Mode::Closed { duration } => (u64::MAX, 0.0, duration, Duration::ZERO),
        Mode::Open {
            rate,
            duration,
            batch,
        } => (
            (rate * duration.as_secs_f64()).round() as u64,
            1e9 / rate,
            duration,
            batch,
        ),
    };
    let open = matches!(mode, Mode::Open { .. });
    // Enough for 100,000 answers a second closed, the whole schedule open: no reallocation
    // during the run in practice.
    let capacity = if open {
        total as usize
    } else {
        100_000 * duration.as_secs().max(1) as usize
    };
    let mut out = Outcome {
        latencies_us: Vec::with_capacity(capacity),
        lags_us: Vec::with_capacity(if open { capacity } else { 0 }),
        scheduled: if open { total as usize } else { 0 },
        ..Outcome::default()
    };
    for (i, c) in conns.iter_mut().enumerate() {
        c.next = i as u64;
    }
    let (cpu0, thread0) = (cpu(libc::RUSAGE_SELF), cpu(libc::RUSAGE_THREAD));
    // Open: the schedule starts a moment after the last connection is up.
    let start = Instant::now()
        + if open {
            Duration::from_millis(1)
        } else {
            Duration::ZERO
        };
    let intended = |k: u64| start + Duration::from_nanos((k as f64 * period_ns) as u64);
    // Closed: no new request after this. Open: the schedule's end.
    let end = start + duration;
    // Past this, answers still missing are counted as such and the run stops.
    let give_up = end + duration.max(Duration::from_secs(5));
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; 64];
    let mut last = start;
    loop {
        let now = Instant::now();
        let mut next_due: Option<Instant> = None;
        let mut pending = false;
        for c in &mut conns {
            if c.busy {
                pending = true;
                continue;
            }
            if open {
                if c.next >= total {
                    continue;
                }
                pending = true;
                let due = intended(c.next);
                if due <= now {
                    c.send(request)?;
                    out.lags_us.push(micros(now - due));
                    c.since = due;
                    c.next += n;
                } else if next_due.is_none_or(|d| due < d) {
                    next_due = Some(due);
                }
            } else if now < end {
                c.send(request)?;
                c.since = now;
                pending = true;
            }
        }
        if !pending || now >= give_up {
            break;
        }
        let wait = match next_due {
            Some(due) => (due + batch).min(give_up) - now,
            None => give_up - now,
        };
        let k = ep.wait(&mut events, wait)?;
        out.wakeups += 1;
        let now = Instant::now();
        for ev in &events[..k] {
            let i = ev.u64 as usize;
            let c = &mut conns[i];
            match c.receive() {
                Ok(None) => {}
                Ok(Some(status)) => {
                    c.busy = false;
                    last = now;
                    if status == 200 {
                        out.answered += 1;
                        out.latencies_us.push(micros(now - c.since));
                    } else {
                        out.errors += 1;
                    }
                }
                Err(_) => {
                    out.errors += 1;
                    *c = Conn::open(addr, &ep, i)?;
                    if open {
                        // The rest of this connection's share of the schedule is not sent
                        // (counted as unanswered: the row fails) rather than guessed at.
                        c.next = total;
                    }
                }
            }
        }
    }
    out.cpu = cpu(libc::RUSAGE_SELF) - cpu0;
    out.thread_cpu = cpu(libc::RUSAGE_THREAD) - thread0;
    out.elapsed = last.saturating_duration_since(start);
    if open {
        out.unanswered = (total as usize).saturating_sub(out.completed());
    }
    Ok(out)
}

fn micros(d: Duration) -> i64 {
    d.as_micros() as i64
}

/// CPU time (user + system) of this process (`RUSAGE_SELF`) or thread (`RUSAGE_THREAD`).
fn cpu(who: libc::c_int) -> Duration {
    // SAFETY: `getrusage` only writes the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut u) };
    let t = |v: libc::timeval| Duration::new(v.tv_sec as u64, v.tv_usec as u32 * 1000);
    t(u.ru_utime) + t(u.ru_stime)
}

/// One keep-alive connection, at most one request in flight (no pipelining, as wrk2).
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    filled: usize,
    /// Head + body length of the answer being read, once its head is in.
    total: Option<usize>,
    status: u16,
    busy: bool,
    /// When the request in flight was sent (closed) or intended (open).
    since: Instant,
    /// Open loop: the schedule index of this connection's next request.
    next: u64,
}

impl Conn {
    fn open(addr: SocketAddr, ep: &Epoll, token: usize) -> io::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        ep.add(stream.as_raw_fd(), token as u64)?;
        Ok(Self {
            stream,
            buf: vec![0; 64 * 1024],
            filled: 0,
            total: None,
            status: 0,
            busy: false,
            since: Instant::now(),
            next: 0,
        })
    }

    fn send(&mut self, request: &[u8]) -> io::Result<()> {
        // The previous answer was read whole, so the server has read the previous request:
        // the socket's send buffer is empty and a request of a few hundred bytes goes in one
        // `write`. Should it not, the rest is written blocking (never seen).
        let n = match self.stream.write(request) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(e) => return Err(e),
        };
        if n < request.len() {
            self.stream.set_nonblocking(false)?;
            self.stream.write_all(&request[n..])?;
            self.stream.set_nonblocking(true)?;
        }
        self.busy = true;
        Ok(())
    }

    /// Reads what arrived; the status once the whole answer is in.
    fn receive(&mut self) -> io::Result<Option<u16>> {
        match self.stream.read(&mut self.buf[self.filled..]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(k) => self.filled += k,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(e),
        }
        let total = match self.total {
            Some(t) => t,
            None => match head(&self.buf[..self.filled]).map_err(io::Error::other)? {
                Some((status, total)) => {
                    self.status = status;
                    self.total = Some(total);
                    if total > self.buf.len() {
                        // A body larger than the buffer: grown once for this connection.
                        self.buf.resize(total, 0);
                    }
                    total
                }
                None if self.filled == self.buf.len() => {
                    return Err(io::Error::other("an answer's head over 64 KiB"));
                }
                None => return Ok(None),
            },
        };
        if self.filled < total {
            return Ok(None);
        }
        if self.filled > total {
            return Err(io::Error::other(
                "bytes after the answer (nothing else was asked)",
            ));
        }
        self.filled = 0;
        self.total = None;
        self.busy = false;
        Ok(Some(self.status))
    }
}

/// The status and the whole answer's length (head + `Content-Length`) once the head is in
/// `buf`; `Ok(None)` before.
fn head(buf: &[u8]) -> Result<Option<(u16, usize)>, String> {
    let Some(end) = memchr::memmem::find(buf, b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = &buf[..end];
    let status = head
        .strip_prefix(b"HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| std::str::from_utf8(code).ok()?.parse().ok())
        .ok_or_else(|| format!("bad status line in {:?}", String::from_utf8_lossy(head)))?;
    let mut length = 0;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if name.eq_ignore_ascii_case(b"content-length") {
            length = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .ok_or("bad Content-Length")?;
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Err("a chunked answer: this generator reads Content-Length bodies only".into());
        }
    }
    Ok(Some((status, end + 4 + length)))
}

/// An epoll instance (level-triggered, readable events only).
struct Epoll(libc::c_int);

impl Epoll {
    fn new() -> io::Result<Self> {
        // SAFETY: no pointers.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Self(fd))
    }

    fn add(&self, fd: libc::c_int, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: `ev` outlives the call. A closed socket leaves the set by itself
        // (epoll(7): the last file descriptor referring to it closed).
        if unsafe { libc::epoll_ctl(self.0, libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits up to `timeout` (nanosecond resolution, `epoll_pwait2(2)`, Linux ≥ 5.11) for
    /// readable connections; how many events were written.
    fn wait(&self, events: &mut [libc::epoll_event], timeout: Duration) -> io::Result<usize> {
        let ts = libc::timespec {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        };
        // SAFETY: `events` and `ts` outlive the call; no signal mask.
        let k = unsafe {
            libc::epoll_pwait2(
                self.0,
                events.as_mut_ptr(),
                events.len() as libc::c_int,
                &ts,
                std::ptr::null(),
            )
        };
        if k < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(0)
            } else {
                Err(e)
            };
        }
        Ok(k as usize)
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: this value owns the descriptor.
        unsafe { libc::close(self.0) };
    }
}

/// The head parser against answers of each kind (run at the start of every API section: the
/// bench has no test harness).
pub fn self_check() {
    let a = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx: y\r\n\r\nhello";
    assert_eq!(head(a), Ok(Some((200, a.len()))));
    assert_eq!(head(&a[..20]), Ok(None));
    let b = b"HTTP/1.1 404 Not Found\r\nContent-Length:0\r\n\r\n";
    assert_eq!(head(b), Ok(Some((404, b.len()))));
    assert!(head(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n").is_err());
}
