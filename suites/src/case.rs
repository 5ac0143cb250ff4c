//! The case model: ids, levels, verdicts, outcomes and the context a case runs in.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use protocols::engineio::EioVersion;
use protocols::Protocol;
use serde::{Deserialize, Serialize};

use crate::driver::engineio::Endpoint;
use crate::driver::socketio::{SioClient, Transport};
use crate::driver::stock::StockClient;
use crate::driver::DriverError;
use crate::target::{SocketioTarget, Targets};
use crate::transcript::Transcript;
use crate::wire::Link;

/// How strongly the document asks for the behaviour a case checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// The document says so.
    Must,
    /// The document implies it, or the public implementation does it.
    Should,
    /// The reference server's own choice where the document is silent.
    Info,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::Info => "INFO",
        })
    }
}

/// What a run says of a case (the Autobahn testsuite's verdicts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The target behaves as the document says.
    Pass,
    /// A SHOULD is broken (a failure under `--strict`).
    NonStrict,
    /// An INFO case where the target chose differently from the reference server.
    Informational,
    /// The target lacks an optional feature or a trigger the case needs.
    Unimplemented,
    /// A MUST is broken.
    Fail,
    /// The harness or the network broke: never counted against the target.
    Error,
    /// The case did not finish within its time limit.
    Timeout,
}

impl Verdict {
    /// Every verdict, in report order.
    pub const ALL: [Verdict; 7] = [
        Verdict::Pass,
        Verdict::NonStrict,
        Verdict::Informational,
        Verdict::Unimplemented,
        Verdict::Fail,
        Verdict::Error,
        Verdict::Timeout,
    ];

    /// The kebab-case name used in reports and expectation files.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::NonStrict => "non-strict",
            Verdict::Informational => "informational",
            Verdict::Unimplemented => "unimplemented",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
            Verdict::Timeout => "timeout",
        }
    }

    /// Whether this verdict makes a run fail (`strict` turns non-strict into a failure).
    pub fn is_failure(self, strict: bool) -> bool {
        match self {
            Verdict::Fail | Verdict::Error | Verdict::Timeout => true,
            Verdict::NonStrict => strict,
            Verdict::Pass | Verdict::Informational | Verdict::Unimplemented => false,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Verdict {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Verdict::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown verdict `{s}`; expected one of {}",
                    Verdict::ALL.map(Verdict::name).join(", ")
                )
            })
    }
}

/// Why a case did not pass. The runner turns it into a verdict using the case's level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The target broke the rule the case checks.
    Broken(String),
    /// The target lacks an optional feature or a trigger the case needs.
    Unimplemented(String),
    /// The harness or the network broke.
    Harness(String),
}

impl Failure {
    /// The reason, for people.
    pub fn reason(&self) -> &str {
        match self {
            Failure::Broken(r) | Failure::Unimplemented(r) | Failure::Harness(r) => r,
        }
    }

    /// The verdict this failure gives a case of `level`.
    pub fn verdict(&self, level: Level) -> Verdict {
        match (self, level) {
            (Failure::Broken(_), Level::Must) => Verdict::Fail,
            (Failure::Broken(_), Level::Should) => Verdict::NonStrict,
            (Failure::Broken(_), Level::Info) => Verdict::Informational,
            (Failure::Unimplemented(_), _) => Verdict::Unimplemented,
            (Failure::Harness(_), _) => Verdict::Error,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

/// What a case body returns.
pub type Outcome = Result<(), Failure>;

/// A boxed case body.
pub type CaseFuture = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// One documented behaviour and the code that checks it.
#[derive(Clone)]
pub struct Case {
    /// `<protocol>.<area>.<name>`, e.g. `socketio.v4.heartbeat.server-pings`.
    pub id: &'static str,
    /// The protocol the case belongs to.
    pub protocol: Protocol,
    /// How strongly the document asks for it.
    pub level: Level,
    /// The document and section it checks, e.g. `engine.io-protocol v4 §Heartbeat`.
    pub spec: &'static str,
    /// One sentence: the behaviour expected.
    pub title: &'static str,
    /// The body.
    pub run: fn(Ctx) -> CaseFuture,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case")
            .field("id", &self.id)
            .field("level", &self.level)
            .field("spec", &self.spec)
            .finish()
    }
}

/// Everything a case may use: the target, its transcript, its waiting budget
/// and the mutation (if any) that the drivers' wire applies to what the target sends.
#[derive(Clone)]
pub struct Ctx {
    /// Where the target is and what it speaks.
    pub targets: Arc<Targets>,
    /// The case's transcript; the drivers' wire records into it.
    pub transcript: Transcript,
    /// How long a driver waits for one expected frame before the case fails.
    pub wait: Duration,
    /// The mutation applied to server messages, in a kill-matrix run.
    pub mutator: Option<Arc<crate::mutate::Mutator>>,
}

impl Ctx {
    /// A context for one case run.
    pub fn new(targets: Arc<Targets>, wait: Duration) -> Self {
        Ctx {
            targets,
            transcript: Transcript::new(),
            wait,
            mutator: None,
        }
    }
}

// The glue between a case's context and the drivers, which know neither:
// a context is a link, a driver's error is a failure, and the constructors
// cases call with their context find the endpoint in the context's targets.

impl From<&Ctx> for Link {
    fn from(ctx: &Ctx) -> Link {
        Link {
            wait: ctx.wait,
            transcript: Some(ctx.transcript.clone()),
            mutator: ctx.mutator.clone(),
        }
    }
}

impl From<DriverError> for Failure {
    /// An unreachable target or a broken driver is the harness's failure; a
    /// driver that cannot serve the target makes the case unimplemented;
    /// everything else is what the target did.
    fn from(e: DriverError) -> Failure {
        let reason = e.reason().to_owned();
        match e {
            DriverError::Unreachable(_) | DriverError::Internal(_) => Failure::Harness(reason),
            DriverError::Unsupported(_) => Failure::Unimplemented(reason),
            DriverError::Closed(_) | DriverError::Timeout(_) | DriverError::Protocol(_) => {
                Failure::Broken(reason)
            }
        }
    }
}

impl Endpoint {
    /// The endpoint of a target for `version`; `unimplemented` when the target does not speak it.
    pub fn of(target: Option<&SocketioTarget>, version: EioVersion) -> Result<Endpoint, Failure> {
        let target = target.ok_or_else(|| Failure::Unimplemented("no socketio target".into()))?;
        crate::cases::apps::endpoint(
            "socketio",
            &target.url,
            &target.path,
            &target.engineio,
            version,
        )
    }
}

impl SioClient {
    /// Opens an Engine.IO session of `version` to the context's socketio target.
    pub async fn open(
        ctx: &Ctx,
        version: EioVersion,
        transport: Transport,
    ) -> Result<SioClient, Failure> {
        let endpoint = Endpoint::of(ctx.targets.get::<SocketioTarget>(), version)?;
        Ok(SioClient::open_at(ctx, endpoint, transport).await?)
    }

    /// Opens a session to the context's socketio target and connects to
    /// `namespace` (see [`SioClient::connected_at`]).
    pub async fn connected(
        ctx: &Ctx,
        version: EioVersion,
        transport: Transport,
        namespace: &str,
    ) -> Result<SioClient, Failure> {
        let endpoint = Endpoint::of(ctx.targets.get::<SocketioTarget>(), version)?;
        Ok(SioClient::connected_at(ctx, endpoint, transport, namespace).await?)
    }
}

impl StockClient {
    /// Connects the stock client to the context's socketio target (Engine.IO
    /// 4) in `namespace`, listening for `events`.
    pub async fn connect(
        ctx: &Ctx,
        namespace: &str,
        events: &[&str],
    ) -> Result<StockClient, Failure> {
        let target = ctx
            .targets
            .get::<SocketioTarget>()
            .ok_or_else(|| Failure::Unimplemented("no socketio target".into()))?;
        if !target.engineio.contains(&4) {
            return Err(Failure::Unimplemented(
                "the stock client speaks Engine.IO 4 only".into(),
            ));
        }
        let endpoint = Endpoint {
            base: target.url.clone(),
            path: target.path.clone(),
            version: EioVersion::V4,
        };
        Ok(StockClient::connect_at(ctx, endpoint, namespace, events).await?)
    }
}

/// Fails the case with [`Failure::Broken`] unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err($crate::case::Failure::Broken(format!($($fmt)+)));
        }
    };
}

/// Fails the case with [`Failure::Broken`] unless both sides are equal.
#[macro_export]
macro_rules! ensure_eq {
    ($left:expr, $right:expr, $($fmt:tt)+) => {
        match (&$left, &$right) {
            (l, r) => {
                if l != r {
                    return Err($crate::case::Failure::Broken(format!(
                        "{}: expected {:?}, got {:?}",
                        format!($($fmt)+),
                        r,
                        l
                    )));
                }
            }
        }
    };
}

/// Returns [`Failure::Broken`] with a formatted reason.
#[macro_export]
macro_rules! broken {
    ($($fmt:tt)+) => {
        $crate::case::Failure::Broken(format!($($fmt)+))
    };
}
