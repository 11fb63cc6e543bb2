//! A TCP proxy between the client and the server that a test can cut: every open connection
//! is shut down at once (as a dropped network or a restarted load balancer would), while new
//! connections keep being accepted.

use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A running proxy.
pub struct Proxy {
    /// `http://127.0.0.1:PORT` of the proxy.
    pub url: String,
    live: Arc<Mutex<Vec<TcpStream>>>,
    accepted: Arc<AtomicUsize>,
}

impl Proxy {
    /// Proxies to the server at `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> Self {
        let target = upstream.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let live: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let accepted = Arc::new(AtomicUsize::new(0));
        let (conns, count) = (live.clone(), accepted.clone());
        std::thread::spawn(move || {
            for down in listener.incoming() {
                let Ok(down) = down else { continue };
                let Ok(up) = TcpStream::connect(&target) else {
                    continue;
                };
                count.fetch_add(1, Ordering::SeqCst);
                let mut l = conns.lock().unwrap();
                l.push(down.try_clone().unwrap());
                l.push(up.try_clone().unwrap());
                drop(l);
                pipe(down.try_clone().unwrap(), up.try_clone().unwrap());
                pipe(up, down);
            }
        });
        Self {
            url,
            live,
            accepted,
        }
    }

    /// Shuts down every open connection, both ways.
    pub fn cut(&self) {
        for s in self.live.lock().unwrap().drain(..) {
            // Already closed by one side is fine.
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// Copies `from` → `to` on a thread until either side closes.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _: io::Result<u64> = io::copy(&mut from, &mut to);
        // The other direction notices on its own; closing ours ends the peer's reads.
        let _ = to.shutdown(Shutdown::Write);
    });
}
