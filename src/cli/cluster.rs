//! `halake cluster scheduler|executor`: Ballista's processes with halake's functions
//! and object stores, for `halake sql --cluster`.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use super::threads_or_all_cores;
use crate::cluster::{self, ExecutorSettings};

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Plan queries into stages and hand their tasks to executors.
    Scheduler {
        /// The address to listen on (gRPC, for clients and executors).
        #[arg(long, default_value = "127.0.0.1:50050", value_name = "HOST:PORT")]
        bind: SocketAddr,
    },
    /// Run the tasks of a scheduler's queries; read the lake, shuffle, return results.
    Executor {
        /// The scheduler to serve.
        #[arg(long, default_value = "127.0.0.1:50050", value_name = "HOST:PORT")]
        scheduler: SocketAddr,
        /// The address of the flight service, from which results and shuffles are read.
        #[arg(long, default_value = "127.0.0.1:50051", value_name = "HOST:PORT")]
        bind: SocketAddr,
        /// The port of the executor's gRPC service.
        #[arg(long, default_value_t = 50052, value_name = "PORT")]
        grpc_port: u16,
        /// The host name others reach this executor at, when not the bound address.
        #[arg(long, value_name = "HOST")]
        external_host: Option<String>,
        /// Tasks run at once [default: all cores].
        #[arg(long, value_parser = super::parse_threads)]
        task_slots: Option<usize>,
        /// Where shuffle files go [default: a new temporary directory].
        #[arg(long, value_name = "DIR")]
        work_dir: Option<String>,
    },
}

pub fn run_cluster(command: ClusterCommand) -> Result<ExitCode> {
    start_logging();
    match command {
        ClusterCommand::Scheduler { bind } => cluster::run_scheduler(bind)?,
        ClusterCommand::Executor { scheduler, bind, grpc_port, external_host, task_slots, work_dir } => {
            cluster::run_executor(ExecutorSettings {
                scheduler,
                bind,
                grpc_port,
                external_host,
                vcores: threads_or_all_cores(task_slots),
                work_directory: work_dir,
            })?
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Ballista reports what its processes do through `log`: its warnings and its
/// progress (jobs, stages, tasks) go to standard error. RUST_LOG changes the filter.
fn start_logging() {
    env_logger::Builder::new()
        .parse_filters("warn,ballista_scheduler=info,ballista_executor=info")
        .parse_env("RUST_LOG")
        .format_timestamp_millis()
        .init();
}
