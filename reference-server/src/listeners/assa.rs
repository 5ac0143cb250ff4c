//! The `assa` listener: ASSA over TCP (`004_636ae579ed5d2364.txt`), a thin
//! wrapper of the ASSA context the shared services hold (`crate::assa`).

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
