//! Everything on disk: the dataset hierarchy ([`dataset`]), the atomic filesystem store
//! under it ([`store`]), the compression codecs ([`codec`], [`blosc`]) and the Zarr v3
//! shards ([`shard`]). Nothing here knows about writers, readers or manifests.

pub mod blosc;
pub mod codec;
pub mod dataset;
pub mod shard;
pub mod store;
