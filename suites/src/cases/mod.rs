//! Every case chatspec knows, one module per protocol's suite, and the
//! macros every suite declares its cases with.
//!
//! A case is declared with `case!` beside its body (refusal-style cases
//! sharing a body: rows of a `table!`) and registered into the distributed
//! slice [`CASES`]; [`crate::registry::SUITES`] lists the suites, and a
//! suite's cases are those of its protocol. A suite module
//! `cases::<protocol id>` provides:
//!
//! - `pub const PROTOCOL: Protocol`;
//! - if its cases come in variants (socketio: one per Engine.IO version), a
//!   `variant!` macro: `variant!(v3)` is the value handed to the body,
//!   `variant!(@pick v3, X)` picks v3's value when `X` is a per-variant map
//!   `{ v3: .., v4: .. }` and is `X` otherwise.

use crate::case::Case;
use crate::registry::SUITES;

/// Declares a case beside its body and registers it in its suite.
///
/// ```text
/// case! {
///     suite: socketio,                        // the suite module (and id prefix)
///     name: "handshake.bad-eio-400",          // the id after the prefix (and variant)
///     level: { v3: Info, v4: Must },          // or one level for every variant
///     spec: { v3: "engine.io-protocol v3 §URLs", v4: "engine.io-protocol v4 §Query parameters" },
///     title: { v3: "...", v4: "..." },        // or one title
///     run: bad_eio,                           // async fn(Ctx, variant) -> Outcome
/// }
/// ```
///
/// A `spec` map names the variants: `{ v4: "..." }` declares the v4 case
/// only (`socketio.v4.handshake...`), `{ v3 | v4: "..." }` both with one
/// section. With a plain `spec: "..."` there is one case, `<suite>.<name>`,
/// and `run` is called as `run(ctx)`. `run` is anything callable, a
/// closure included.
macro_rules! case {
    (
        suite: $suite:ident,
        name: $name:literal,
        level: $level:tt,
        spec: { $( $($v:ident)|+ : $spec:literal ),+ $(,)? },
        title: $title:tt,
        run: $run:expr $(,)?
    ) => {
        $( $(
            case!(@register $suite,
                concat!(stringify!($suite), ".", stringify!($v), ".", $name),
                $crate::cases::$suite::variant!(@pick $v, $level),
                $spec,
                $crate::cases::$suite::variant!(@pick $v, $title),
                |ctx| Box::pin(($run)(ctx, $crate::cases::$suite::variant!($v)))
            );
        )+ )+
    };
    (
        suite: $suite:ident,
        name: $name:literal,
        level: $level:ident,
        spec: $spec:literal,
        title: $title:literal,
        run: $run:expr $(,)?
    ) => {
        case!(@register $suite,
            concat!(stringify!($suite), ".", $name),
            $level,
            $spec,
            $title,
            |ctx| Box::pin(($run)(ctx))
        );
    };
    (@register $suite:ident, $id:expr, $level:expr, $spec:expr, $title:expr, $run:expr) => {
        const _: () = {
            use $crate::case::Level::*;
            #[linkme::distributed_slice($crate::cases::CASES)]
            static CASE: $crate::case::Case = $crate::case::Case {
                id: $id,
                protocol: $crate::cases::$suite::PROTOCOL,
                level: $level,
                spec: $spec,
                title: $title,
                run: $run,
            };
        };
    };
}

/// Declares one case per row, all with the same body, level and sections:
/// each row gives the name, the title and the body's arguments after the
/// context (and the variant).
///
/// ```text
/// table! {
///     suite: socketio,
///     level: Must,
///     spec: { v3 | v4: "socket.io-protocol v5 §Test suite" },
///     run: malformed,
///     cases: [
///         ("malformed.unknown-packet-type", "A Socket.IO packet of unknown type ...", "abc", true),
///     ],
/// }
/// ```
macro_rules! table {
    (
        suite: $suite:ident,
        level: $level:tt,
        spec: $spec:literal,
        run: $run:path,
        cases: [ $( ($name:literal, $title:literal $(, $arg:expr)* $(,)?) ),+ $(,)? ] $(,)?
    ) => {
        $(
            case! {
                suite: $suite,
                name: $name,
                level: $level,
                spec: $spec,
                title: $title,
                run: |ctx| $run(ctx $(, $arg)*),
            }
        )+
    };
    (
        suite: $suite:ident,
        level: $level:tt,
        spec: $spec:tt,
        run: $run:path,
        cases: [ $( ($name:literal, $title:literal $(, $arg:expr)* $(,)?) ),+ $(,)? ] $(,)?
    ) => {
        $(
            case! {
                suite: $suite,
                name: $name,
                level: $level,
                spec: $spec,
                title: $title,
                run: |ctx, v| $run(ctx, v $(, $arg)*),
            }
        )+
    };
}

pub(crate) mod apps;
pub mod assa;
pub mod chatpot;
pub mod circles;
pub(crate) mod http;
pub mod socketcluster;
pub mod socketio;
pub mod sockets;

/// Every declared case, in no particular order (see [`all`]).
#[linkme::distributed_slice]
pub static CASES: [Case];

/// The cases of every registered suite, in id order.
pub fn all() -> Vec<Case> {
    let mut cases: Vec<Case> = SUITES.iter().flat_map(|s| s.cases()).cloned().collect();
    cases.sort_by_key(|c| c.id);
    cases
}

/// A suite of its own for the declaration macros' tests, in no registry (its
/// module name, the ids' prefix, is not its protocol's id: the registry test
/// in `tests/cases.rs` would refuse it). It borrows a protocol that has a
/// suite of its own, and tells its cases apart by their `demo.` ids.
#[cfg(test)]
mod demo {
    use std::sync::Arc;
    use std::time::Duration;

    use protocols::Protocol;

    use crate::case::{Ctx, Failure, Level, Outcome};
    use crate::target::Targets;

    pub const PROTOCOL: Protocol = Protocol::Chatpot;

    macro_rules! variant {
        (a) => {
            1u8
        };
        (b) => {
            2u8
        };
        (@pick a, { a: $x:tt, b: $_:tt }) => {
            $x
        };
        (@pick b, { a: $_:tt, b: $x:tt }) => {
            $x
        };
        (@pick $v:ident, $x:tt) => {
            $x
        };
    }
    pub(crate) use variant;

    case! {
        suite: demo,
        name: "area.plain",
        level: Should,
        spec: "004_636ae579ed5d2364.txt §4.2",
        title: "one case",
        run: plain,
    }
    async fn plain(_: Ctx) -> Outcome {
        Ok(())
    }

    case! {
        suite: demo,
        name: "area.varied",
        level: { a: Info, b: Must },
        spec: { a: "spec a", b: "spec b" },
        title: { a: "title a", b: "title b" },
        run: varied,
    }
    async fn varied(_: Ctx, n: u8) -> Outcome {
        number(n)
    }

    table! {
        suite: demo,
        level: Must,
        spec: "rows",
        run: row,
        cases: [("rows.one", "row one", 1), ("rows.two", "row two", 2)],
    }
    table! {
        suite: demo,
        level: Should,
        spec: { a | b: "varied rows" },
        run: varied_row,
        cases: [("rows.varied", "a varied row", 1)],
    }
    async fn row(_: Ctx, n: u8) -> Outcome {
        number(n)
    }
    async fn varied_row(_: Ctx, v: u8, n: u8) -> Outcome {
        number(v + n)
    }

    /// Odd numbers pass.
    fn number(n: u8) -> Outcome {
        match n % 2 {
            1 => Ok(()),
            _ => Err(Failure::Broken(format!("{n} is even"))),
        }
    }

    #[test]
    fn declarations_make_every_case_with_its_fields_and_body() {
        let mut seen: Vec<_> = super::CASES
            .iter()
            // The demo borrows chatpot's protocol; its ids tell its cases from chatpot's own.
            .filter(|c| c.id.starts_with("demo."))
            .map(|c| {
                let ctx = Ctx::new(Arc::new(Targets::default()), Duration::from_secs(1));
                let passed = futures::executor::block_on((c.run)(ctx)).is_ok();
                assert_eq!(c.protocol, Protocol::Chatpot);
                (c.id, c.level, c.spec, c.title, passed)
            })
            .collect();
        seen.sort();
        use Level::*;
        assert_eq!(
            seen,
            [
                ("demo.a.area.varied", Info, "spec a", "title a", true),
                (
                    "demo.a.rows.varied",
                    Should,
                    "varied rows",
                    "a varied row",
                    false
                ),
                (
                    "demo.area.plain",
                    Should,
                    "004_636ae579ed5d2364.txt §4.2",
                    "one case",
                    true
                ),
                ("demo.b.area.varied", Must, "spec b", "title b", false),
                (
                    "demo.b.rows.varied",
                    Should,
                    "varied rows",
                    "a varied row",
                    true
                ),
                ("demo.rows.one", Must, "rows", "row one", true),
                ("demo.rows.two", Must, "rows", "row two", false),
            ]
        );
    }
}
