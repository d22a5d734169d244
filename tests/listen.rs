//! `halake listen` with real senders: Debian's haproxy logging its requests over UDP
//! syslog, TCP clients framing messages as RFC 6587 says (and as it does not), and a
//! flood larger than the queue. Every message is a row, or counted as dropped.
#![cfg(feature = "listen")]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

fn free_port() -> u16 {
    // A TCP and a UDP socket may share the number: both are tried free.
    loop {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn listener(lake: &Path, args: &[&str]) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_halake"))
        .arg("listen")
        .args(args)
        .args(["-o", lake.to_str().unwrap(), "--roll", "500ms"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // It binds before it says anything; give it a moment.
    std::thread::sleep(Duration::from_millis(500));
    child
}

/// SIGTERM, then the final counts it printed.
fn stop(child: Child) -> (Output, Counts) {
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    (output, Counts::of(&text))
}

/// The numbers of `listened: received R messages, dropped Q (...) + S (...); lines L =
/// rows W + events E + rejects J; C cut, M malformed frames; N connections, F refused, I closed idle`.
#[derive(Debug, Default)]
struct Counts {
    received: u64,
    dropped: u64,
    dropped_by_socket: u64,
    rows: u64,
    rejects: u64,
    malformed: u64,
    refused: u64,
    idle: u64,
}

impl Counts {
    fn of(text: &str) -> Counts {
        let line = text.lines().find(|l| l.starts_with("listened: ")).expect("a final line");
        let numbers: Vec<u64> =
            line.split(|c: char| !c.is_ascii_digit()).filter(|w| !w.is_empty()).map(|w| w.parse().unwrap()).collect();
        let [received, dropped, dropped_by_socket, _lines, rows, _events, rejects, _cut, malformed, _, refused, idle] =
            numbers[..]
        else {
            panic!("unexpected counts: {line}")
        };
        Counts { received, dropped, dropped_by_socket, rows, rejects, malformed, refused, idle }
    }
}

fn rows_per_status(lake: &Path) -> Vec<String> {
    let output = common::halake(&[
        "sql",
        "SELECT status, count(*) FROM logs GROUP BY 1 ORDER BY 1",
        lake.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().lines().skip(1).map(str::to_string).collect()
}

#[test]
fn haproxy_logging_over_udp_gives_a_row_per_request() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake/");
    let (syslog, http) = (free_port(), free_port());
    let halake = listener(&lake, &[&format!("udp://127.0.0.1:{syslog}")]);
    let log = format!("log 127.0.0.1:{syslog} local0");
    let mut proxy = common::haproxy::start(dir.path(), &log, http, Stdio::null());
    for (path, times) in [("/ok", 50), ("/no", 20), ("/other", 10)] {
        for _ in 0..times {
            common::haproxy::get(http, path);
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    let _ = proxy.kill();
    let _ = proxy.wait();
    let (_, counts) = stop(halake);
    // The probe connection above made no request: HAProxy logs it too (a 400 or a
    // "<BADREQ>" line with status -1), so only the requests' statuses are compared.
    let statuses: Vec<String> = rows_per_status(&lake)
        .into_iter()
        .filter(|row| ["200,", "403,", "404,"].iter().any(|s| row.starts_with(s)))
        .collect();
    assert_eq!(statuses, ["200,50", "403,20", "404,10"]);
    assert_eq!((counts.dropped, counts.dropped_by_socket, counts.rejects), (0, 0, 0), "{counts:?}");
    assert_eq!(counts.rows, counts.received, "{counts:?}");
    let verified = common::halake(&["verify", lake.to_str().unwrap()]);
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stdout));
}

#[test]
fn tcp_frames_bad_frames_idle_clients_and_a_flood_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake/");
    let port = free_port();
    let halake = listener(
        &lake,
        &[
            &format!("udp://127.0.0.1:{port}"),
            &format!("tcp://127.0.0.1:{port}"),
            "--queue",
            "64",
            "--max-connections",
            "3",
            "--idle-timeout",
            "1s",
            "--max-message",
            "4KiB",
        ],
    );
    let sample = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/httplog.rsyslog.log")).unwrap();
    let lines: Vec<&[u8]> = sample.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();

    // Octet-counted frames, cut at arbitrary places by the network, then newline frames.
    let mut framed = Vec::new();
    for line in &lines {
        framed.extend_from_slice(format!("{} ", line.len()).as_bytes());
        framed.extend_from_slice(line);
    }
    for line in &lines {
        framed.extend_from_slice(line);
        framed.push(b'\n');
    }
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    for piece in framed.chunks(777) {
        client.write_all(piece).unwrap();
        client.flush().unwrap();
    }
    drop(client);
    // A malformed count, a frame longer than --max-message: each closes its connection.
    for bad in [b"12x <134>oops".to_vec(), format!("5000 {}", "a".repeat(5000)).into_bytes()] {
        let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
        client.write_all(&bad).unwrap();
        let mut rest = Vec::new();
        let _ = client.read_to_end(&mut rest);
    }
    // Clients that never finish a frame hold the 3 connections until the idle timeout;
    // a fourth is refused meanwhile.
    let idle: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
            client.write_all(b"100 <134>never finished").unwrap();
            client
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut refused = TcpStream::connect(("127.0.0.1", port)).unwrap();
    refused.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut nothing = Vec::new();
    let _ = refused.read_to_end(&mut nothing);
    std::thread::sleep(Duration::from_millis(1500));
    drop(idle);

    // A flood of datagrams far beyond the queue of 64.
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let flood = 20_000;
    for n in 0..flood {
        sender.send_to(lines[n % lines.len()], ("127.0.0.1", port)).unwrap();
    }
    // Stopped while the queue may still hold messages: they are written, not lost.
    std::thread::sleep(Duration::from_millis(300));
    let peak = peak_rss_mib(&halake);
    let (_, counts) = stop(halake);
    assert!(peak < RSS_LIMIT_MIB, "peak RSS {peak} MiB under the flood");

    let tcp_messages = 2 * lines.len() as u64;
    assert_eq!((counts.malformed, counts.refused, counts.idle), (2, 1, 3), "{counts:?}");
    // Every datagram was received or dropped by the kernel; every received message is
    // a row or was dropped from the full queue; nothing else went missing.
    assert_eq!(counts.received + counts.dropped_by_socket, tcp_messages + flood as u64, "{counts:?}");
    assert_eq!(counts.rows + counts.dropped, counts.received, "{counts:?}");
    assert_eq!(counts.rejects, 0, "{counts:?}");
    let rows: u64 =
        rows_per_status(&lake).iter().map(|row| row.rsplit(',').next().unwrap().parse::<u64>().unwrap()).sum();
    assert_eq!(rows, counts.rows);
}

/// The listener's peak resident memory so far (VmHWM), in MiB.
fn peak_rss_mib(child: &Child) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024
}

/// What the README promises: the listener stays under this whatever its clients do.
const RSS_LIMIT_MIB: u64 = 200;

#[test]
fn thousands_of_idle_connections_meet_the_limit_and_memory_stays_bounded() {
    // Enough descriptors for the clients, as far as the hard limit allows.
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    limit.rlim_cur = limit.rlim_max.min(8192);
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    let clients = (limit.rlim_cur as usize).saturating_sub(200).min(3000);
    assert!(clients >= 500, "only {clients} descriptors for clients");

    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake/");
    let port = free_port();
    let halake =
        listener(&lake, &[&format!("tcp://127.0.0.1:{port}"), "--max-connections", "100", "--idle-timeout", "60s"]);
    // Each sends the start of a frame it never finishes, and stays.
    let mut open = Vec::with_capacity(clients);
    for _ in 0..clients {
        let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let _ = client.write_all(b"1000 <134>Nov 23 20:36:02 host haproxy[1]: never finished");
        open.push(client);
    }
    std::thread::sleep(Duration::from_secs(1));
    // A client within the limit still gets its messages through once others leave.
    drop(open.drain(..200));
    std::thread::sleep(Duration::from_millis(300));
    let sample = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/httplog.rsyslog.log")).unwrap();
    let mut late = TcpStream::connect(("127.0.0.1", port)).unwrap();
    late.write_all(&sample).unwrap();
    drop(late);
    std::thread::sleep(Duration::from_millis(500));
    let peak = peak_rss_mib(&halake);
    drop(open);
    let (_, counts) = stop(halake);
    assert!(peak < RSS_LIMIT_MIB, "peak RSS {peak} MiB with {clients} clients");
    assert!(counts.refused >= (clients - 100) as u64, "{counts:?}");
    let lines = sample.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count() as u64;
    assert_eq!(counts.rows + counts.dropped, counts.received, "{counts:?}");
    assert_eq!(counts.received, lines, "the late client's lines, and only them: {counts:?}");
    eprintln!("{clients} idle clients: peak RSS {peak} MiB, {counts:?}");
}
