//! umedata: write machine-learning training datasets from scientific simulators straight
//! into Zarr, from Rust or (through the C ABI in [`ffi`]) C, C++, Fortran and Julia.
//!
//! The layers, bottom up (docs/ARCHITECTURE.md draws them; `tests/architecture.rs`
//! enforces who may import whom):
//! - foundation: [`error`], [`world`] (shapes and names), `convert` (caller buffers),
//!   [`seeds`] (per-sample streams), [`digest`];
//! - `storage` (crate-internal): the on-disk layout, the atomic store, codecs, shards;
//! - [`writer`] and [`reader`]: samples in and out;
//! - [`splits`], [`manifest`]: what a dataset claims about itself; [`names`]: naming a
//!   world written without names;
//! - [`reference`](mod@reference): the built-in simulators (configured from manifests);
//! - [`engine`]: generation for any simulator (draws, redraws, threads, resume, parts,
//!   manifest);
//! - [`validate`]: every check of a dataset on disk, as a report;
//! - [`ffi`]: the C face, and nothing else.

#![deny(unsafe_op_in_unsafe_fn)]
// `unsafe` only where it must be: the C face (`ffi`), the SIMD byte shuffle and LZ4 call
// (`storage::blosc`) and the one system call std lacks (`sync_file_range` in
// `storage::store`), each block with a SAFETY comment; the compiler refuses it elsewhere.
#![deny(unsafe_code)]

pub(crate) mod convert;
pub mod digest;
pub mod engine;
pub mod error;
pub mod manifest;
pub mod names;
pub mod reader;
pub mod reference;
pub mod seeds;
pub mod splits;
pub(crate) mod storage;
pub mod validate;
pub mod world;
pub mod writer;

pub mod ffi;

pub use convert::{Float, Layout};
pub use error::{Error, ErrorKind, Result};
pub use manifest::Manifest;
pub use reader::{Reader, Stored};
pub use seeds::{SampleRng, SeedDerivation};
pub use splits::{SplitRule, Splits};
pub use storage::codec::Codec;
pub use storage::dataset::{StorageOptions, World};
pub use world::{ArrayKind, WorldDesc};
pub use writer::{SampleRef, Summary, Writer, WriterOptions};
