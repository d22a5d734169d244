//! SQL on a Ballista cluster: the scheduler and executor processes with halake's
//! functions and object stores, and the session a client plans its queries in.
//!
//! A query goes as a logical plan from `halake sql --cluster` to the scheduler, which
//! cuts it into stages; the executors run them and read the lake themselves. Every
//! process must therefore know halake's SQL functions (plans name them) and reach the
//! lake's storage: each builds its `s3://` stores from its own environment, as
//! `halake convert` does, so credentials stay on the machines that have them and are
//! never sent with a plan.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use ballista_core::RuntimeProducer;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::{FunctionRegistry, SessionState, SessionStateBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};
use object_store::ObjectStore;
use url::Url;

use crate::sql::{SqlError, functions};
use crate::store;

/// Object stores as halake opens them: files from the local disk, buckets through
/// [`store::remote::store_for`] from this process's environment, one client per bucket.
#[derive(Debug, Default)]
pub struct ObjectStores {
    local: DefaultObjectStoreRegistry,
}

impl ObjectStoreRegistry for ObjectStores {
    fn register_store(&self, url: &Url, store: Arc<dyn ObjectStore>) -> Option<Arc<dyn ObjectStore>> {
        self.local.register_store(url, store)
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        if url.scheme() == "file" {
            return self.local.get_store(url);
        }
        store::remote::store_for(url.as_str())
            .map(|(_, store)| store)
            .map_err(|error| DataFusionError::External(Box::new(error)))
    }
}

/// Ballista's scheduler port, when a URL gives none.
const SCHEDULER_PORT: u16 = 50050;

fn runtime_env(temp_directory: Option<&str>) -> Result<Arc<RuntimeEnv>> {
    let builder = RuntimeEnvBuilder::new().with_object_store_registry(Arc::new(ObjectStores::default()));
    match temp_directory {
        Some(directory) => builder.with_temp_file_path(directory).build_arc(),
        None => builder.build_arc(),
    }
}

/// The scheduler's session for a client's session: it plans with halake's functions
/// and lists the lake through halake's stores.
fn scheduler_session(config: SessionConfig) -> Result<SessionState> {
    let mut state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime_env(None)?)
        .with_default_features()
        .build();
    for udf in functions::all() {
        state.register_udf(Arc::new(udf))?;
    }
    Ok(state)
}

/// DataFusion's functions, as Ballista's executors know them, and halake's.
fn function_registry() -> BallistaFunctionRegistry {
    let mut registry = BallistaFunctionRegistry::default();
    for udf in functions::all() {
        registry.scalar_functions.insert(udf.name().to_string(), Arc::new(udf));
    }
    registry
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().thread_name("halake-cluster").enable_all().build()
}

/// Runs a scheduler on `bind` until the process is stopped.
pub fn run_scheduler(bind: SocketAddr) -> anyhow::Result<()> {
    let config = SchedulerConfig::default()
        .with_hostname(bind.ip().to_string())
        .with_port(bind.port())
        .with_override_session_builder(Arc::new(scheduler_session));
    runtime()?.block_on(async move {
        let cluster = BallistaCluster::new_from_config(&config).await?;
        eprintln!("halake scheduler: listening on {bind}");
        start_server(cluster, bind, Arc::new(config)).await?;
        Ok(())
    })
}

/// Where an executor listens and which scheduler it serves.
#[derive(Debug, Clone)]
pub struct ExecutorSettings {
    pub scheduler: SocketAddr,
    /// The address the executor binds; its flight (results) and gRPC ports.
    pub bind: SocketAddr,
    pub grpc_port: u16,
    /// The host other processes reach it at, when not the bound address.
    pub external_host: Option<String>,
    pub vcores: usize,
    /// Where shuffle files go; a fresh temporary directory when `None`.
    pub work_directory: Option<String>,
}

/// Runs an executor until the process is stopped.
pub fn run_executor(settings: ExecutorSettings) -> anyhow::Result<()> {
    let work_directory = settings.work_directory.clone();
    let runtime_producer: RuntimeProducer = Arc::new(move |_| runtime_env(work_directory.as_deref()));
    let config = ExecutorProcessConfig {
        bind_host: settings.bind.ip().to_string(),
        external_host: settings.external_host.clone(),
        port: settings.bind.port(),
        grpc_port: settings.grpc_port,
        scheduler_host: settings.scheduler.ip().to_string(),
        scheduler_port: settings.scheduler.port(),
        vcores: settings.vcores,
        work_dir: settings.work_directory.clone(),
        override_function_registry: Some(Arc::new(function_registry())),
        override_runtime_producer: Some(runtime_producer),
        ..ExecutorProcessConfig::default()
    };
    runtime()?.block_on(async move {
        eprintln!(
            "halake executor: flight on {}, serving the scheduler at {}, {} task slots",
            settings.bind, settings.scheduler, settings.vcores
        );
        start_executor_process(Arc::new(config)).await?;
        Ok(())
    })
}

/// A client context whose queries run on the scheduler at `url` (`df://host:port`):
/// planned here, executed by the cluster. Ballista's upgrade resets the functions to
/// DataFusion's: the caller registers halake's on the context it gets.
pub fn client_context(
    url: &str,
    config: SessionConfig,
    runtime: &tokio::runtime::Runtime,
) -> Result<SessionContext, SqlError> {
    use ballista::prelude::SessionContextExt;
    reach_scheduler(url)?;
    let state = SessionStateBuilder::new().with_config(config).with_default_features().build();
    Ok(runtime.block_on(SessionContext::remote_with_state(url, state))?)
}

/// Ballista connects at the first query and reports a refused connection as a gRPC
/// transport error; this says it plainly, before any planning.
fn reach_scheduler(url: &str) -> Result<(), SqlError> {
    let unreachable = |why: String| SqlError::Cluster(format!("cannot reach the Ballista scheduler at {url}: {why}"));
    let parsed = Url::parse(url).ok().filter(|parsed| parsed.scheme() == "df" && parsed.host_str().is_some());
    let parsed = parsed.ok_or_else(|| unreachable("give its URL as df://HOST:PORT".into()))?;
    let host = parsed.host_str().unwrap_or_default().trim_matches(['[', ']']);
    let port = parsed.port().unwrap_or(SCHEDULER_PORT);
    let addresses: Vec<_> = (host, port).to_socket_addrs().map_err(|error| unreachable(error.to_string()))?.collect();
    let mut last = None;
    for address in addresses {
        match TcpStream::connect_timeout(&address, Duration::from_secs(10)) {
            Ok(_) => return Ok(()),
            Err(error) => last = Some(error),
        }
    }
    Err(unreachable(last.map_or("the host has no address".into(), |error| error.to_string())))
}
