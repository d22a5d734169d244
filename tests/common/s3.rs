//! An S3-compatible server (moto, from PyPI) on a free loopback port, that the real
//! binary talks to over HTTP exactly as to AWS.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A moto server on a free loopback port, stopped when dropped.
pub struct S3Server {
    child: Child,
    pub port: u16,
}

impl S3Server {
    pub fn start() -> S3Server {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        S3Server::start_on(port)
    }

    pub fn start_on(port: u16) -> S3Server {
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server (python3 -m pip install 'moto[server]', as README.md's test command does)");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "moto_server did not start on port {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        S3Server { child, port }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs `statement` in Python with `s3`, a boto3 client of this server, and `args`
    /// as sys.argv[1:]; returns what it printed.
    pub fn boto3(&self, statement: &str, args: &[&str]) -> String {
        let script = format!(
            "import sys, boto3\ns3 = boto3.client('s3', endpoint_url={:?}, region_name='us-east-1', \
             aws_access_key_id='test', aws_secret_access_key='test')\n{statement}",
            self.endpoint()
        );
        let result = Command::new("python3").arg("-c").arg(script).args(args).output().expect("python3");
        assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
        String::from_utf8(result.stdout).unwrap()
    }

    pub fn create_bucket(&self, bucket: &str) {
        self.boto3("s3.create_bucket(Bucket=sys.argv[1])", &[bucket]);
    }

    /// The keys in `bucket`.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let list = "for o in s3.list_objects_v2(Bucket=sys.argv[1]).get('Contents', []): print(o['Key'])";
        self.boto3(list, &[bucket]).lines().map(str::to_string).collect()
    }

    /// The binary with the environment the AWS CLI would take for this server.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_halake"));
        command
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", self.endpoint())
            .env("AWS_ALLOW_HTTP", "true");
        command
    }

    /// halake run to its end against this server.
    pub fn halake(&self, args: &[&str]) -> Output {
        self.halake_with(args, &[])
    }

    pub fn halake_with(&self, args: &[&str], environment: &[(&str, &str)]) -> Output {
        let mut command = self.command(args);
        for (key, value) in environment {
            command.env(key, value);
        }
        command.output().expect("run halake")
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
