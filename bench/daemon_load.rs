//! Load generator for `bench/daemon.sh`: THREADS threads send `credentials` requests to the awsenv
//! daemon over its Unix socket, one connection per request as `awsenv-credential-process` makes,
//! until TOTAL requests have been answered. Prints one JSON line: requests per second, latency
//! percentiles (connect to end of reply), failures. Standard library only; the script builds it with
//! `rustc -O`.
//!
//! Usage: `daemon_load SOCKET THREADS TOTAL REQUEST_JSON`

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [socket, threads, total, request] = &args[..] else {
        eprintln!("usage: daemon_load SOCKET THREADS TOTAL REQUEST_JSON");
        std::process::exit(2);
    };
    let threads: usize = threads.parse().expect("THREADS is a number");
    let total: usize = total.parse().expect("TOTAL is a number");
    let line = Arc::new(format!("{request}\n"));
    let socket = Arc::new(socket.clone());
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (line, socket, next, failures) =
                (line.clone(), socket.clone(), next.clone(), failures.clone());
            std::thread::spawn(move || {
                let mut latencies = Vec::with_capacity(total / threads + 1);
                let mut reply = Vec::with_capacity(4096);
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    let t = Instant::now();
                    let ok = (|| -> std::io::Result<bool> {
                        let mut s = UnixStream::connect(socket.as_str())?;
                        s.set_read_timeout(Some(Duration::from_secs(30)))?;
                        s.write_all(line.as_bytes())?;
                        reply.clear();
                        s.read_to_end(&mut reply)?;
                        let ok = b"\"ok\":true";
                        Ok(reply.windows(ok.len()).any(|w| w == ok))
                    })()
                    .unwrap_or(false);
                    latencies.push(t.elapsed());
                    if !ok {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("a worker panicked"))
        .collect();
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    println!(
        "{{\"requests\":{},\"threads\":{threads},\"seconds\":{seconds:.3},\"per_second\":{:.0},\"p50_us\":{:.0},\"p99_us\":{:.0},\"failures\":{}}}",
        latencies.len(),
        latencies.len() as f64 / seconds,
        pct(0.50),
        pct(0.99),
        failures.load(Ordering::Relaxed)
    );
}
