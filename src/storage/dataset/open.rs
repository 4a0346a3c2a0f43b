//! Opening an existing world: its group and attributes, its five arrays checked against
//! the shapes the attributes imply, and "not found" told apart from "found but unreadable".
//! How each array is stored is then read from its own metadata ([`super::layout`]).

use std::path::Path;

use serde_json::Value;
use zarrs::array::Array;
use zarrs::group::Group;
use zarrs::storage::{ReadableStorageTraits, StoreKey};

use super::layout::{array_layouts, inner_layouts, mask_chunk_samples, plain_layouts};
use super::{init_zarrs_config, DataArray, World};
use crate::error::{Error, ErrorKind, Result};
use crate::storage::store::AtomicFsStore;
use crate::world::{ArrayKind, WorldDesc, WRITTEN};

impl World {
    /// Opens an existing world for reading (or resuming).
    pub(crate) fn open(root: &Path, world_id: &str) -> Result<World> {
        init_zarrs_config();
        if !root.is_dir() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "dataset '{}' does not exist or is not a directory",
                    root.display()
                ),
            ));
        }
        let store = AtomicFsStore::open(root, true)?;
        let world_path = format!("/{world_id}");
        let kind_of = |prefix: String| {
            // Missing metadata is "not found"; metadata that exists but does not parse is a
            // format problem the user must hear about differently.
            let present = ["zarr.json", ".zgroup", ".zarray"].iter().any(|leaf| {
                matches!(
                    StoreKey::new(format!("{prefix}/{leaf}")).map(|k| store.get(&k)),
                    Ok(Ok(Some(_)))
                )
            });
            if present {
                ErrorKind::Format
            } else {
                ErrorKind::NotFound
            }
        };
        let group = Group::open(store.clone(), &world_path).map_err(|e| {
            Error::new(
                kind_of(world_id.to_string()),
                format!(
                    "world '{world_id}' cannot be opened in dataset '{}': {e}",
                    root.display()
                ),
            )
        })?;
        let attrs = Value::Object(group.attributes().clone());
        let (desc, chunk_samples) = WorldDesc::from_attributes(&attrs)?;
        let codec = attrs
            .pointer("/umedata_world/codec")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string();
        if desc.world_id != world_id {
            return Err(Error::new(
                ErrorKind::Format,
                format!(
                    "world group '{world_id}' says its world_id is '{}'",
                    desc.world_id
                ),
            ));
        }
        let open = |name: &str, dims: Vec<usize>| -> Result<DataArray> {
            let path = format!("{world_path}/{name}");
            let array = Array::open(store.clone(), &path).map_err(|e| {
                Error::new(
                    kind_of(format!("{world_id}/{name}")),
                    format!("array '{world_id}/{name}' cannot be opened: {e}"),
                )
            })?;
            let mut shape = vec![desc.n_samples];
            shape.extend(dims.iter().map(|&d| d as u64));
            if array.shape() != shape.as_slice() {
                return Err(Error::new(
                    ErrorKind::Format,
                    format!(
                        "array '{world_id}/{name}' has shape {:?}, the world attributes imply {:?}",
                        array.shape(),
                        shape
                    ),
                ));
            }
            Ok(array)
        };
        let arrays = [
            open("theta", desc.sample_dims(ArrayKind::Theta))?,
            open("trajectories", desc.sample_dims(ArrayKind::Trajectories))?,
            open("irfs", desc.sample_dims(ArrayKind::Irfs))?,
            open("shocks", desc.sample_dims(ArrayKind::Shocks))?,
        ];
        let written = open(WRITTEN, vec![])?;
        let inner = inner_layouts(&arrays)?;
        let plain = plain_layouts(&arrays, &inner)?;
        let layouts = array_layouts(&arrays, &inner)?;
        let mask_chunk = mask_chunk_samples(&written)?;
        Ok(World {
            root: root.to_path_buf(),
            desc,
            chunk_samples,
            inner,
            plain,
            layouts,
            mask_chunk,
            codec,
            arrays,
            written,
            store,
        })
    }
}
