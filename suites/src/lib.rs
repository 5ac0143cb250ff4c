//! Everything that points at a target: the case model, drivers, cases, the
//! runner and its reports.
//!
//! Architecture invariant: a case talks to a target only through a driver,
//! so the same case runs against the embedded reference server and against
//! any URL. This crate never depends on the reference server (only its tests
//! and the CLI's embedded mode do).

pub mod case;
pub mod cases;
pub mod coverage;
pub mod driver;
pub mod expect;
pub mod fuzz;
pub mod killmatrix;
pub mod mutate;
pub mod output;
pub mod registry;
pub mod report;
pub mod runner;
pub mod target;
pub mod transcript;
pub mod wire;
