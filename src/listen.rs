//! `halake listen`: a syslog receiver for HAProxy's `log 127.0.0.1:5140 local0`, into a
//! dataset in rolls, as `convert --follow` writes them.
//!
//! UDP datagrams and TCP frames (RFC 6587: octet-counted `LEN SP MSG`, or one message
//! per line) are taken by tasks on a small tokio runtime and queued, at most `queue`
//! messages, for the thread that parses and writes. What cannot be kept is counted,
//! never buffered without bound: a full queue drops the message (`dropped`), a full
//! socket buffer drops in the kernel (read from /proc/net/udp), a frame longer than
//! `max_message` or with a malformed count closes its connection (`malformed`), a
//! connection past `max_connections` is refused and one idle for `idle_timeout` is
//! closed. Delivery is at most once: a crash loses the open roll.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use crate::convert::ConvertError;
use crate::dataset::{self, InputIdentity, Manifest, ManifestEntry};
use crate::framing::{Frame, next_frame};
use crate::input;
use crate::parse::value::{StaticText, leak_text};
use crate::roll::{Counts, Roll, RollSettings, Target};
use crate::signals;

/// The listener's manifest, beside the dataset's.
pub const MANIFEST: &str = "_halake_manifest.listen.json";
/// How often the writer looks at the clock and the signals when nothing arrives.
const TICK: Duration = Duration::from_millis(200);

pub struct ListenOptions {
    /// `udp://HOST:PORT` or `tcp://HOST:PORT`.
    pub addresses: Vec<String>,
    pub roll: RollSettings,
    /// Messages waiting to be parsed, at most.
    pub queue: usize,
    pub max_connections: usize,
    pub idle_timeout: Duration,
    /// Bytes of one message, at most (a longer datagram is cut, a longer frame refused).
    pub max_message: usize,
    pub verbose: bool,
}

/// What arrived, and what became of it.
#[derive(Debug, Default)]
pub struct Stats {
    /// Messages taken off the sockets.
    pub received: AtomicU64,
    /// Messages that found the queue full.
    pub dropped: AtomicU64,
    /// Datagrams longer than the largest message, cut to it.
    pub cut: AtomicU64,
    /// TCP frames refused (a bad count, too long), each closing its connection.
    pub malformed: AtomicU64,
    pub connections: AtomicU64,
    pub refused_connections: AtomicU64,
    pub idle_closed: AtomicU64,
}

/// The counts at the end of a run.
#[derive(Debug, Default, Clone)]
pub struct ListenSummary {
    pub counts: Counts,
    pub received: u64,
    pub dropped: u64,
    /// Datagrams the kernel dropped, its socket buffer full.
    pub dropped_by_socket: u64,
    pub cut: u64,
    pub malformed: u64,
    pub connections: u64,
    pub refused_connections: u64,
    pub idle_closed: u64,
}

impl ListenSummary {
    pub fn line(&self) -> String {
        format!(
            "received {} messages, dropped {} (queue full) + {} (socket buffer full); {}; {} cut, {} malformed \
             frames; {} connections, {} refused, {} closed idle",
            self.received,
            self.dropped,
            self.dropped_by_socket,
            self.counts.reconciliation(),
            self.cut,
            self.malformed,
            self.connections,
            self.refused_connections,
            self.idle_closed
        )
    }
}

/// One message and the index of the address it came to.
type Message = (usize, Vec<u8>);

/// A bound socket, and for UDP the inode the kernel counts its drops under.
enum Bound {
    Udp(UdpSocket, u64),
    Tcp(TcpListener),
}

/// Listens until Ctrl-C or SIGTERM, then stops receiving and writes what it holds as a
/// last roll. SIGUSR1 prints the counts.
pub fn listen(options: &ListenOptions) -> Result<ListenSummary, ConvertError> {
    let mut target = Target::open(&options.roll)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("halake-listen")
        .enable_all()
        .build()
        .map_err(|e| ConvertError::InputFailed(format!("cannot start the listener's runtime: {e}")))?;
    let bound: Vec<Bound> = options
        .addresses
        .iter()
        .map(|address| runtime.block_on(bind(address)))
        .collect::<Result<_, _>>()
        .map_err(ConvertError::InputFailed)?;
    let stats = Arc::new(Stats::default());
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Message>(options.queue.max(1));
    let mut udp_inodes = Vec::new();
    for (index, socket) in bound.into_iter().enumerate() {
        let (stats, sender) = (stats.clone(), sender.clone());
        match socket {
            Bound::Udp(socket, inode) => {
                udp_inodes.push(inode);
                runtime.spawn(receive_datagrams(socket, index, sender, stats, options.max_message));
            }
            Bound::Tcp(listener) => {
                let limits = Limits {
                    connections: Arc::new(tokio::sync::Semaphore::new(options.max_connections.max(1))),
                    idle: options.idle_timeout,
                    max_message: options.max_message,
                };
                runtime.spawn(accept_connections(listener, index, sender, stats, limits));
            }
        }
    }
    drop(sender);
    let sources: Vec<StaticText> = options.addresses.iter().map(|a| leak_text(a.clone())).collect();
    let mut writer = Writer::new(options, &mut target, sources)?;
    let result = writer.run(&receiver, &stats, &udp_inodes);
    // Counted while the sockets are open: the kernel forgets a closed one's drops.
    let dropped_by_socket = kernel_drops(&udp_inodes);
    // No message arrives after this: what is queued is written, and the counts agree.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result?;
    while let Ok((index, message)) = receiver.try_recv() {
        writer.take(index, &message);
    }
    writer.parse_pending()?;
    writer.roll(&stats, &udp_inodes)?;
    Ok(ListenSummary { dropped_by_socket, ..writer.summary(&stats, &[]) })
}

async fn bind(address: &str) -> Result<Bound, String> {
    let (scheme, rest) =
        address.split_once("://").ok_or_else(|| format!("{address}: give udp://HOST:PORT or tcp://HOST:PORT"))?;
    let socket: SocketAddr = tokio::net::lookup_host(rest)
        .await
        .ok()
        .and_then(|mut found| found.next())
        .ok_or_else(|| format!("{address}: not a HOST:PORT this machine can bind"))?;
    let cannot = |e: std::io::Error| format!("cannot listen on {address}: {e}");
    match scheme {
        "udp" => {
            let socket = UdpSocket::bind(socket).await.map_err(cannot)?;
            enlarge_receive_buffer(&socket);
            let inode = socket_inode(&socket).unwrap_or(0);
            Ok(Bound::Udp(socket, inode))
        }
        "tcp" => Ok(Bound::Tcp(TcpListener::bind(socket).await.map_err(cannot)?)),
        _ => Err(format!("{address}: give udp://HOST:PORT or tcp://HOST:PORT")),
    }
}

/// Asks for a socket buffer of [`SOCKET_BUFFER`]: the kernel's default (208 KiB) holds
/// a fraction of a second of a busy HAProxy, and drops the rest while a roll is encoded.
/// The kernel caps it at net.core.rmem_max.
fn enlarge_receive_buffer(socket: &UdpSocket) {
    use std::os::fd::AsRawFd;
    let size: libc::c_int = SOCKET_BUFFER;
    // SAFETY: setsockopt on a socket this process owns, with a c_int of the size given.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// The socket buffer asked for: 16 MiB.
const SOCKET_BUFFER: libc::c_int = 16 << 20;

/// The inode /proc/net/udp lists the socket under.
fn socket_inode(socket: &UdpSocket) -> Option<u64> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/self/fd/{}", socket.as_raw_fd())).ok().map(|m| m.ino())
}

/// Datagrams the kernel dropped for these sockets: the last column of /proc/net/udp(6).
fn kernel_drops(inodes: &[u64]) -> u64 {
    let mut drops = 0;
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let inode = fields.get(9).and_then(|f| f.parse::<u64>().ok());
            if inode.is_some_and(|inode| inodes.contains(&inode)) {
                drops += fields.last().and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
            }
        }
    }
    drops
}

fn enqueue(sender: &SyncSender<Message>, stats: &Stats, index: usize, message: &[u8]) {
    stats.received.fetch_add(1, Ordering::Relaxed);
    let message = message.strip_suffix(b"\n").unwrap_or(message);
    let message = message.strip_suffix(b"\r").unwrap_or(message);
    if let Err(TrySendError::Full(_)) = sender.try_send((index, message.to_vec())) {
        stats.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

async fn receive_datagrams(
    socket: UdpSocket,
    index: usize,
    sender: SyncSender<Message>,
    stats: Arc<Stats>,
    max_message: usize,
) {
    // One byte more than a message: a datagram that fills it was longer and is cut.
    let mut buffer = vec![0; max_message + 1];
    while let Ok((length, _)) = socket.recv_from(&mut buffer).await {
        let length = if length > max_message {
            stats.cut.fetch_add(1, Ordering::Relaxed);
            max_message
        } else {
            length
        };
        enqueue(&sender, &stats, index, &buffer[..length]);
    }
}

#[derive(Clone)]
struct Limits {
    connections: Arc<tokio::sync::Semaphore>,
    idle: Duration,
    max_message: usize,
}

async fn accept_connections(
    listener: TcpListener,
    index: usize,
    sender: SyncSender<Message>,
    stats: Arc<Stats>,
    limits: Limits,
) {
    while let Ok((stream, _)) = listener.accept().await {
        let Ok(permit) = limits.connections.clone().try_acquire_owned() else {
            stats.refused_connections.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        stats.connections.fetch_add(1, Ordering::Relaxed);
        let (sender, stats, limits) = (sender.clone(), stats.clone(), limits.clone());
        tokio::spawn(async move {
            read_frames(stream, index, &sender, &stats, &limits).await;
            drop(permit);
        });
    }
}

/// Reads RFC 6587 frames until the peer closes, stays idle too long or sends a frame
/// that cannot be one. Each frame is octet-counted when it starts with a digit, else
/// it ends at a newline (or a NUL, as some senders use).
async fn read_frames(
    mut stream: TcpStream,
    index: usize,
    sender: &SyncSender<Message>,
    stats: &Stats,
    limits: &Limits,
) {
    let mut pending: Vec<u8> = Vec::new();
    let mut buffer = vec![0; 64 << 10];
    loop {
        loop {
            match next_frame(&pending, limits.max_message) {
                Frame::Message { start, end, consumed } => {
                    enqueue(sender, stats, index, &pending[start..end]);
                    pending.drain(..consumed);
                }
                Frame::Incomplete => break,
                Frame::Malformed => {
                    stats.malformed.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
        match tokio::time::timeout(limits.idle, stream.read(&mut buffer)).await {
            Err(_) => {
                stats.idle_closed.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(read)) => pending.extend_from_slice(&buffer[..read]),
        }
    }
}

/// The thread that parses queued messages and writes them in rolls.
struct Writer<'a> {
    options: &'a ListenOptions,
    target: &'a mut Target,
    sources: Vec<StaticText>,
    /// Per address: the manifest entry, the open roll, lines so far.
    entries: Vec<ManifestEntry>,
    rolls: Vec<Roll>,
    lines: Vec<u64>,
    /// Messages of each address waiting to be parsed, a line each.
    pending: Vec<Vec<u8>>,
    /// Parts are named by the run and the roll, so no run replaces another's.
    run_key: String,
    roll_started: Option<Instant>,
    counts: Counts,
}

impl<'a> Writer<'a> {
    fn new(
        options: &'a ListenOptions,
        target: &'a mut Target,
        sources: Vec<StaticText>,
    ) -> Result<Writer<'a>, ConvertError> {
        let previous: HashMap<String, ManifestEntry> = match target.store.read(MANIFEST)? {
            Some(bytes) => Manifest::parse(&bytes)
                .map_err(|message| dataset::DatasetError::Manifest { path: target.store.display(MANIFEST), message })?
                .into_iter()
                .map(|entry| (entry.identity.path.clone(), entry))
                .collect(),
            None => HashMap::new(),
        };
        let mut entries: Vec<ManifestEntry> =
            previous.values().filter(|e| !options.addresses.contains(&e.identity.path)).cloned().collect();
        let start = entries.len();
        for address in &options.addresses {
            entries.push(previous.get(address).cloned().unwrap_or_else(|| ManifestEntry {
                identity: InputIdentity { path: address.clone(), size: 0, modified_ms: input::now_ms(), head_hash: 0 },
                parts: Vec::new(),
                rows: 0,
                complete: true,
                follow: None,
            }));
        }
        let count = options.addresses.len();
        let lines = entries[start..].iter().map(|e| e.identity.size).collect();
        let mut writer = Writer {
            options,
            target,
            sources,
            entries,
            rolls: (0..count).map(|_| Roll::default()).collect(),
            lines,
            pending: vec![Vec::new(); count],
            run_key: format!("{:x}{:x}", input::now_ms(), std::process::id()),
            roll_started: None,
            counts: Counts::default(),
        };
        writer.entries.rotate_left(start);
        Ok(writer)
    }

    fn run(&mut self, receiver: &Receiver<Message>, stats: &Stats, udp_inodes: &[u64]) -> Result<(), ConvertError> {
        let batch_bytes = self.options.roll.chunk_size * self.options.roll.threads.max(1);
        let mut last_parse = Instant::now();
        loop {
            let stopping = signals::stop_requested();
            match receiver.recv_timeout(TICK) {
                Ok((index, message)) => self.take(index, &message),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(ConvertError::InputFailed("the listener stopped".into()));
                }
            }
            let queued: usize = self.pending.iter().map(Vec::len).sum();
            if queued >= batch_bytes || (queued > 0 && last_parse.elapsed() >= TICK) {
                self.parse_pending()?;
                last_parse = Instant::now();
            }
            let due = self.roll_started.is_some_and(|at| at.elapsed() >= self.options.roll.roll_every)
                || self.rolls.iter().map(|r| r.rows).sum::<u64>() >= self.options.roll.roll_rows;
            if due {
                self.roll(stats, udp_inodes)?;
            }
            if signals::take_stats_request() {
                eprintln!("halake listen: {}", self.summary(stats, udp_inodes).line());
            }
            if stopping {
                return Ok(());
            }
        }
    }

    fn take(&mut self, index: usize, message: &[u8]) {
        self.pending[index].extend_from_slice(message);
        self.pending[index].push(b'\n');
        self.roll_started.get_or_insert_with(Instant::now);
    }

    fn parse_pending(&mut self) -> Result<(), ConvertError> {
        for index in 0..self.pending.len() {
            if self.pending[index].is_empty() {
                continue;
            }
            let bytes = std::mem::take(&mut self.pending[index]);
            let results = self.target.parse(&bytes, self.sources[index], self.lines[index] + 1)?;
            let key = format!("{:016x}", dataset::fnv1a(self.entries[index].identity.path.as_bytes()));
            let (run, roll_number) = (&self.run_key, self.counts.rolls);
            let name = |n: usize| format!("part-listen-{key}-{run}-{roll_number:06}-{n:02}.parquet");
            for result in &results {
                self.lines[index] += result.lines;
                self.counts.add(result);
                for batch in &result.traffic {
                    self.rolls[index].write(self.target, batch, name)?;
                }
            }
        }
        Ok(())
    }

    fn roll(&mut self, stats: &Stats, udp_inodes: &[u64]) -> Result<(), ConvertError> {
        self.roll_started = None;
        if self.rolls.iter().all(|r| r.rows == 0) {
            return Ok(());
        }
        let mut rows = 0;
        for (index, roll) in self.rolls.iter_mut().enumerate() {
            let (parts, roll_rows) = roll.finish()?;
            self.counts.parts += parts.len() as u64;
            let entry = &mut self.entries[index];
            entry.parts.extend(parts);
            entry.rows += roll_rows;
            entry.identity.size = self.lines[index];
            rows += roll_rows;
        }
        self.target.save_manifest(MANIFEST, self.entries.iter())?;
        self.counts.rolls += 1;
        if self.options.verbose {
            eprintln!(
                "halake listen: roll {}: {rows} rows; {}",
                self.counts.rolls,
                self.summary(stats, udp_inodes).line()
            );
        }
        Ok(())
    }

    fn summary(&self, stats: &Stats, udp_inodes: &[u64]) -> ListenSummary {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        ListenSummary {
            counts: self.counts.clone(),
            received: load(&stats.received),
            dropped: load(&stats.dropped),
            dropped_by_socket: kernel_drops(udp_inodes),
            cut: load(&stats.cut),
            malformed: load(&stats.malformed),
            connections: load(&stats.connections),
            refused_connections: load(&stats.refused_connections),
            idle_closed: load(&stats.idle_closed),
        }
    }
}
