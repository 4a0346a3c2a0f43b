//! Everything on disk: the dataset hierarchy ([`dataset`]), the atomic filesystem store
//! under it ([`store`]), the compression codecs ([`codec`], [`blosc`]) and the Zarr v3
//! shards ([`shard`]), and the files by which processes share a dataset: holds on worlds
//! and claims on chunks ([`claims`]). Nothing here knows about writers, readers or
//! manifests.

pub mod blosc;
pub mod claims;
pub mod codec;
#[cfg(test)]
mod crashsim;
pub mod dataset;
pub mod shard;
pub mod store;
