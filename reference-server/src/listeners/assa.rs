//! The `assa` and `assa-limits` listeners: ASSA over TCP
//! (`004_636ae579ed5d2364.txt`), thin wrappers of the ASSA contexts the
//! shared services hold (`crate::assa`). `assa-limits` is a second server
//! of its own with small limits (`[assa-limits]`), for the limit cases.

use std::io;

use protocols::Protocol;
use tokio::net::TcpListener;

use super::{BoxFuture, Listener, Shutdown};
use crate::{
    assa::AssaFault,
    config::{Config, ListenerName},
    fault::Fault,
    services::Services,
};

/// ASSA over TCP, port 12345 by default.
pub struct Assa;

impl Listener for Assa {
    fn name(&self) -> ListenerName {
        ListenerName::Assa
    }

    fn protocol(&self) -> Protocol {
        Protocol::Assa
    }

    fn faults(&self) -> Vec<Fault> {
        AssaFault::ALL.map(Fault::Assa).to_vec()
    }

    fn serve(
        &self,
        tcp: TcpListener,
        _config: &Config,
        services: &Services,
        shutdown: Shutdown,
    ) -> BoxFuture<'static, io::Result<()>> {
        match services.assa() {
            Ok(ctx) => Box::pin(crate::assa::serve(tcp, ctx, shutdown.receiver())),
            Err(e) => Box::pin(async move { Err(e) }),
        }
    }
}

/// A second ASSA server with small limits (`[assa-limits]`), port 12346 by
/// default, off unless enabled. The `assa:` faults break it too; they are
/// the `assa` listener's.
pub struct AssaLimits;

impl Listener for AssaLimits {
    fn name(&self) -> ListenerName {
        ListenerName::AssaLimits
    }

    fn protocol(&self) -> Protocol {
        Protocol::Assa
    }

    fn faults(&self) -> Vec<Fault> {
        Vec::new()
    }

    fn serve(
        &self,
        tcp: TcpListener,
        _config: &Config,
        services: &Services,
        shutdown: Shutdown,
    ) -> BoxFuture<'static, io::Result<()>> {
        match services.assa_limits() {
            Ok(ctx) => Box::pin(crate::assa::serve(tcp, ctx, shutdown.receiver())),
            Err(e) => Box::pin(async move { Err(e) }),
        }
    }
}
