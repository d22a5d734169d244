//! A fault-injecting HTTP proxy in front of the real S3 server: requests go through to
//! it unchanged, except those the fault picks, which get S3's throttling answer (503
//! SlowDown) without reaching it, or the server's answer cut short (the headers and half
//! the body, then the connection closed). One request per connection, so every request
//! is counted.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;

#[derive(Debug, Clone, Copy)]
/// Each fault strikes every n-th request of its kind.
pub enum Fault {
    /// Every n-th request is answered 503 SlowDown.
    SlowDown(u64),
    /// Every n-th GET of an object gets half of its body.
    CutObjects(u64),
    /// Every n-th listing (a GET with `list-type=`) gets half of its body.
    CutListings(u64),
}

pub struct FaultyProxy {
    pub port: u16,
    requests: Arc<AtomicU64>,
    faults: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

const SLOW_DOWN: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>\
    <Message>Please reduce your request rate.</Message></Error>";

impl FaultyProxy {
    pub fn start(upstream: u16, fault: Fault) -> FaultyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (requests, faults, stop) =
            (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let (counted, faulted, stopping) = (requests.clone(), faults.clone(), stop.clone());
        let gets = Arc::new(AtomicU64::new(0));
        thread::spawn(move || {
            for client in listener.incoming() {
                if stopping.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(client) = client else { continue };
                let (counted, faulted, gets) = (counted.clone(), faulted.clone(), gets.clone());
                thread::spawn(move || {
                    let _ = serve(client, upstream, fault, &counted, &faulted, &gets);
                });
            }
        });
        FaultyProxy { port, requests, faults, stop }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Requests seen, and how many of them the fault answered.
    pub fn counts(&self) -> (u64, u64) {
        (self.requests.load(Ordering::Relaxed), self.faults.load(Ordering::Relaxed))
    }
}

impl Drop for FaultyProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(
    client: TcpStream,
    upstream: u16,
    fault: Fault,
    requests: &AtomicU64,
    faults: &AtomicU64,
    gets: &AtomicU64,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let head = read_head(&mut reader)?;
    let length = content_length(&head);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let number = requests.fetch_add(1, Ordering::Relaxed) + 1;
    let mut client = client;
    if let Fault::SlowDown(n) = fault
        && number.is_multiple_of(n)
    {
        faults.fetch_add(1, Ordering::Relaxed);
        write!(
            client,
            "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{SLOW_DOWN}",
            SLOW_DOWN.len()
        )?;
        return client.shutdown(Shutdown::Both);
    }
    let mut server = TcpStream::connect(("127.0.0.1", upstream))?;
    server.write_all(&close_after(&head))?;
    server.write_all(&body)?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer)?;
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").map_or(answer.len(), |p| p + 4);
    let (answer_head, answer_body) = answer.split_at(split);
    let listing = head.lines().next().unwrap_or("").contains("list-type=");
    let cut_every = match fault {
        Fault::CutObjects(n) if !listing => Some(n),
        Fault::CutListings(n) if listing => Some(n),
        _ => None,
    };
    if let Some(n) = cut_every
        && head.starts_with("GET ")
        && answer_body.len() > 1
        && (gets.fetch_add(1, Ordering::Relaxed) + 1).is_multiple_of(n)
    {
        faults.fetch_add(1, Ordering::Relaxed);
        client.write_all(answer_head)?;
        client.write_all(&answer_body[..answer_body.len() / 2])?;
        return client.shutdown(Shutdown::Both);
    }
    client.write_all(answer_head)?;
    client.write_all(answer_body)?;
    client.shutdown(Shutdown::Both)
}

/// The request line and headers, up to the blank line.
fn read_head(reader: &mut impl BufRead) -> std::io::Result<String> {
    let mut head = String::new();
    loop {
        let before = head.len();
        if reader.read_line(&mut head)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if &head[before..] == "\r\n" {
            return Ok(head);
        }
    }
}

fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0)
}

/// The head with `Connection: close`, so that the server's answer ends with its
/// connection.
fn close_after(head: &str) -> Vec<u8> {
    let mut out = String::new();
    for line in head.trim_end().lines() {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    out.into_bytes()
}
