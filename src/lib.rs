//! umedata: write machine-learning training datasets from scientific simulators straight
//! into Zarr, from Rust or (through the C ABI in [`ffi`]) C, C++, Fortran and Julia.
//!
//! The safe core lives in the modules below; `ffi` only converts arguments, guards the
//! panic boundary and maps errors to status codes.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod blosc;
pub mod claims;
pub mod codec;
#[cfg(test)]
mod crashsim;
pub mod dataset;
pub mod error;
pub mod layout;
pub mod manifest;
pub mod provenance;
pub mod reader;
pub mod reference;
pub mod schema;
pub mod seeds;
pub mod shard;
pub mod splits;
pub mod store;
pub mod world;
pub mod writer;

pub mod ffi;

pub use codec::Codec;
pub use dataset::StorageOptions;
pub use error::{Error, ErrorKind, Result};
pub use layout::Layout;
pub use manifest::Manifest;
pub use reader::Reader;
pub use seeds::{SampleRng, SeedDerivation};
pub use splits::{SplitRule, Splits};
pub use world::{ArrayKind, WorldDesc};
pub use writer::{SampleRef, Summary, Writer, WriterOptions};
