//! Debian's haproxy on loopback, answering by path: `/ok` 200, `/no` 403, anything else
//! 404, each request logged with `option httplog`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts haproxy with its log going to `log` (a `log` line of the global section) and
/// returns once it accepts connections on `port`. `option dontlognull`: the probe that
/// waits for it is not logged.
pub fn start(dir: &Path, log: &str, port: u16, stdout: Stdio) -> Child {
    let config = dir.join("haproxy.cfg");
    std::fs::write(
        &config,
        format!(
            "global\n    nbthread 1\n    {log}\n\
             defaults\n    mode http\n    log global\n    option httplog\n    option dontlognull\n\
             \x20   timeout client 5s\n    timeout server 5s\n    timeout connect 5s\n\
             frontend fe\n    bind 127.0.0.1:{port}\n\
             \x20   http-request return status 200 if {{ path /ok }}\n\
             \x20   http-request deny deny_status 403 if {{ path /no }}\n\
             \x20   http-request return status 404\n"
        ),
    )
    .unwrap();
    let binary = ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"]
        .into_iter()
        .find(|path| Path::new(path).exists())
        .expect("haproxy (apt-get install haproxy, as .ci/run does)");
    let proxy = Command::new(binary)
        .args(["-db", "-f", config.to_str().unwrap()])
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "haproxy did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    proxy
}

/// One HTTP/1.0 request, read to the end.
pub fn get(port: u16, path: &str) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").unwrap();
    stream.read_to_end(&mut Vec::new()).unwrap();
}
