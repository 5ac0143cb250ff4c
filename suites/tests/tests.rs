//! The suites crate's one integration test binary: every test module is declared here.

mod cases;
mod coverage;
mod embedded;
mod expect;
mod fuzz;
mod invariants;
mod killmatrix;
mod output;
