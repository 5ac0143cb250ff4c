//! Binding the listeners, running them, and shutting them down gracefully.

use std::{net::SocketAddr, time::Duration};

use anyhow::Context;
use socketioxide::SocketIo;
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

use crate::{
    cli::ServeArgs,
    config::{Config, ListenerName},
    echo,
};

/// How long shutdown waits for open connections before cutting them.
const GRACE: Duration = Duration::from_secs(5);

/// The bound address of every listener that runs (`None`: disabled or not served yet).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Addrs {
    /// `chatpot` (not served yet).
    pub chatpot: Option<SocketAddr>,
    /// `sockets` (not served yet).
    pub sockets: Option<SocketAddr>,
    /// `circles` (not served yet).
    pub circles: Option<SocketAddr>,
    /// `socketcluster` (not served yet).
    pub socketcluster: Option<SocketAddr>,
    /// `assa` (not served yet).
    pub assa: Option<SocketAddr>,
    /// The socket.io echo app; its socket.io path is `/socket.io/`.
    pub echo: Option<SocketAddr>,
}

impl Addrs {
    /// The address of the listener `name`, if it runs.
    pub fn get(&self, name: ListenerName) -> Option<SocketAddr> {
        match name {
            ListenerName::Chatpot => self.chatpot,
            ListenerName::Sockets => self.sockets,
            ListenerName::Circles => self.circles,
            ListenerName::Socketcluster => self.socketcluster,
            ListenerName::Assa => self.assa,
            ListenerName::Echo => self.echo,
        }
    }
}

/// A running reference server. Dropping it without [`Running::shutdown`]
/// leaves its tasks running until the runtime stops.
#[derive(Debug)]
pub struct Running {
    /// Where each listener is bound.
    pub addrs: Addrs,
    stop: watch::Sender<bool>,
    tasks: Vec<(ListenerName, JoinHandle<std::io::Result<()>>)>,
    echo_io: Option<SocketIo>,
}

/// Binds every enabled listener that is implemented (port 0: a free port)
/// and starts serving. Returns once every listener accepts connections.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let (stop, stopped) = watch::channel(false);
    let mut running = Running {
        addrs: Addrs::default(),
        stop,
        tasks: Vec::new(),
        echo_io: None,
    };

    for name in ListenerName::ALL {
        let listener = config.listeners.get(name);
        if !listener.enabled {
            continue;
        }
        if name != ListenerName::Echo {
            tracing::debug!(listener = %name, "not served yet; skipped");
            continue;
        }
        let tcp = TcpListener::bind((config.bind, listener.port))
            .await
            .with_context(|| {
                format!(
                    "binding the {name} listener to {}",
                    SocketAddr::new(config.bind, listener.port)
                )
            })?;
        let addr = tcp.local_addr()?;
        let (router, io) = echo::app(config.echo.profile, &config.faults);
        let mut stopped = stopped.clone();
        let task = tokio::spawn(async move {
            axum::serve(tcp, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await
        });
        tracing::info!(listener = %name, %addr, faults = ?config.faults, "listening");
        running.addrs.echo = Some(addr);
        running.echo_io = Some(io);
        running.tasks.push((name, task));
    }
    Ok(running)
}

impl Running {
    /// Closes every session, stops accepting, waits for open connections
    /// (at most a few seconds, then cuts them) and releases the ports.
    pub async fn shutdown(self) {
        if let Some(io) = &self.echo_io {
            if tokio::time::timeout(GRACE, io.close()).await.is_err() {
                tracing::warn!("socket.io sessions did not close in time");
            }
        }
        let _ = self.stop.send(true);
        for (name, mut task) in self.tasks {
            match tokio::time::timeout(GRACE, &mut task).await {
                Ok(Ok(Ok(()))) => tracing::debug!(listener = %name, "stopped"),
                Ok(Ok(Err(e))) => tracing::error!(listener = %name, "server error: {e}"),
                Ok(Err(e)) => tracing::error!(listener = %name, "server task failed: {e}"),
                Err(_) => {
                    tracing::warn!(listener = %name, "connections still open; cutting them");
                    task.abort();
                    let _ = task.await;
                }
            }
        }
    }
}

/// `chatspec serve`: runs the reference server until SIGINT or SIGTERM,
/// then shuts it down gracefully.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.to_config()?;
    let running = start(config).await?;
    if running.tasks.is_empty() {
        anyhow::bail!("nothing to serve: every implemented listener is disabled");
    }
    shutdown_signal().await?;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("installing a SIGTERM handler")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("waiting for SIGINT")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}
