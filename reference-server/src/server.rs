//! Binding the listeners of the registry, running them, and shutting them down gracefully.

use std::{collections::BTreeMap, net::SocketAddr};

use anyhow::Context;
use tokio::{sync::watch, task::JoinHandle};

use crate::{
    cli::ServeArgs,
    config::{Config, ListenerName},
    listeners::{self, Shutdown, GRACE},
    services::Services,
};

/// The bound address of every listener that runs (not disabled, and implemented).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Addrs(BTreeMap<ListenerName, SocketAddr>);

impl Addrs {
    /// The address of the listener `name`, if it runs.
    pub fn get(&self, name: ListenerName) -> Option<SocketAddr> {
        self.0.get(&name).copied()
    }

    /// Every listener that runs and its address, in the order of [`ListenerName::ALL`].
    pub fn iter(&self) -> impl Iterator<Item = (ListenerName, SocketAddr)> + '_ {
        self.0.iter().map(|(&name, &addr)| (name, addr))
    }

    /// Every listener that runs as a `(name, address)` pair: the form the
    /// suites build their embedded targets from.
    pub fn named(&self) -> Vec<(String, SocketAddr)> {
        self.iter()
            .map(|(name, addr)| (name.as_str().to_owned(), addr))
            .collect()
    }
}

/// The secrets a running server is using, for clients that must mint its
/// tokens or call its admin API (the suites' embedded targets).
#[derive(Clone, PartialEq, Eq)]
pub struct Secrets {
    /// The HS256 secret its tokens are signed with.
    pub jwt: String,
    /// The bearer secret of its admin API.
    pub admin: String,
    /// The secret its Circles listener shares with the TURN servers.
    pub turn: String,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets { .. }")
    }
}

/// A running reference server. Dropping it without [`Running::shutdown`]
/// leaves its tasks running until the runtime stops.
#[derive(Debug)]
pub struct Running {
    /// Where each listener is bound.
    pub addrs: Addrs,
    /// The secrets in force (configured, from the environment, or the development ones).
    pub secrets: Secrets,
    stop: watch::Sender<bool>,
    tasks: Vec<(ListenerName, JoinHandle<std::io::Result<()>>)>,
    services: Services,
}

/// Binds every enabled listener that is implemented (port 0: a free port)
/// and starts serving. Returns once every listener accepts connections; if
/// one cannot bind, the others are stopped again and the error names it.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let (stop, shutdown) = Shutdown::channel();
    let services = Services::open(&config)?;
    let secrets = Secrets {
        jwt: config.auth.secret_in_force()?,
        admin: config.admin.resolve_secret().0,
        turn: config.circles.turn_secret.clone(),
    };
    let mut running = Running {
        addrs: Addrs::default(),
        secrets,
        stop,
        tasks: Vec::new(),
        services: services.clone(),
    };
    for listener in listeners::listeners() {
        let name = listener.name();
        let settings = config.listeners.get(name);
        if !settings.enabled {
            continue;
        }
        let at = SocketAddr::new(config.bind, settings.port);
        let bound = match listener.bind(at).await {
            Ok(tcp) => tcp.local_addr().map(|addr| (tcp, addr)),
            Err(e) => Err(e),
        };
        let (tcp, addr) = match bound {
            Ok(bound) => bound,
            Err(e) => {
                running.shutdown().await;
                return Err(e).with_context(|| format!("binding the {name} listener to {at}"));
            }
        };
        let faults: Vec<&str> = (config.faults.iter())
            .filter(|f| f.listener() == name)
            .map(|f| f.as_str())
            .collect();
        tracing::info!(listener = %name, %addr, ?faults, "listening");
        let task = tokio::spawn(listener.serve(tcp, &config, &services, shutdown.clone()));
        running.addrs.0.insert(name, addr);
        running.tasks.push((name, task));
    }
    Ok(running)
}

impl Running {
    /// Closes every session, stops accepting, waits for open connections
    /// (at most a few seconds, then cuts them) and releases the ports.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for (name, mut task) in self.tasks {
            // GRACE to close its sessions, GRACE more for connections to end.
            match tokio::time::timeout(2 * GRACE, &mut task).await {
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
        if let Err(e) = self.services.flush() {
            tracing::error!("storage did not flush: {e:#}");
        }
    }
}

/// `chatspec serve`: runs the reference server until SIGINT or SIGTERM,
/// then shuts it down gracefully. Says which listeners are not implemented yet.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.to_config()?;
    let names = |implemented: bool| {
        ListenerName::ALL
            .into_iter()
            .filter(|&name| listeners::listener(name).is_some() == implemented)
            .map(ListenerName::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (served, not_served) = (names(true), names(false));
    if !not_served.is_empty() {
        tracing::info!("implemented listeners: {served}; not implemented yet: {not_served}");
    }
    let enabled = listeners::listeners()
        .iter()
        .any(|l| config.listeners.get(l.name()).enabled);
    if !enabled {
        let missing = if not_served.is_empty() {
            String::new()
        } else {
            format!(" (not implemented yet: {not_served})")
        };
        anyhow::bail!(
            "nothing to serve: every implemented listener ({served}) is disabled{missing}"
        );
    }
    let running = start(config).await?;
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
