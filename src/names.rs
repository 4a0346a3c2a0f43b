//! Naming a world after the fact: a world written without names (as the Python
//! prototype's `DatasetWriter` writes them) has generated ones (`p0..`, `s0..`, `y0..`);
//! its manifest supplies the real ones later. [`name_world`] replaces generated names
//! in the world's group attributes, so the manifest and the disk agree. Names chosen at
//! creation are never replaced.

use std::path::Path;

use serde_json::json;
use zarrs::group::Group;

use crate::error::{from_storage, Error, ErrorKind, Result};
use crate::storage::dataset::World;
use crate::world::WorldDesc;

/// Replaces the generated parameter, shock and observable names of world `world_id` by
/// the given ones (`None` leaves a list as it is). A list equal to the stored one is a
/// no-op; replacing names that are not the generated ones is an error naming both, as
/// are a wrong count, an invalid or repeated name, and a Zarr v2 world. The group
/// metadata is rewritten atomically (the data arrays are not touched).
pub fn name_world(
    dataset: &Path,
    world_id: &str,
    param_names: Option<Vec<String>>,
    shock_names: Option<Vec<String>>,
    obs_names: Option<Vec<String>>,
) -> Result<()> {
    let world = World::open(dataset, world_id)?;
    let old = world.desc.clone();
    let gen = WorldDesc::new(
        world_id,
        old.n_samples,
        old.t,
        old.h,
        old.n_params,
        old.n_shocks,
        old.n_obs,
    );
    let mut desc = old.clone();
    for (field, given, cur, generated) in [
        (
            "param_names",
            param_names,
            &mut desc.param_names,
            &gen.param_names,
        ),
        (
            "shock_names",
            shock_names,
            &mut desc.shock_names,
            &gen.shock_names,
        ),
        ("obs_names", obs_names, &mut desc.obs_names, &gen.obs_names),
    ] {
        let Some(given) = given else { continue };
        if *cur == given {
            continue;
        }
        if cur != generated {
            return Err(Error::invalid(format!(
                "{field} of world '{world_id}' are {cur:?} on disk, given {given:?}: names set when the world was created are not replaced"
            )));
        }
        *cur = given;
    }
    if desc == old {
        return Ok(());
    }
    desc.validate()?;
    if world.zarr_format() != 3 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "world '{world_id}' is a Zarr v2 world: its names cannot be set afterwards (give them to the writer)"
            ),
        ));
    }
    let path = format!("/{world_id}");
    let mut group = Group::open(world.store.clone(), &path).map_err(|e| {
        Error::new(
            ErrorKind::Format,
            format!("world '{world_id}': group metadata unreadable: {e}"),
        )
    })?;
    let attrs = group.attributes_mut();
    let Some(w) = attrs
        .get_mut("umedata_world")
        .and_then(|v| v.as_object_mut())
    else {
        return Err(Error::new(
            ErrorKind::Format,
            format!("world '{world_id}': group attribute 'umedata_world' is missing"),
        ));
    };
    w.insert("param_names".into(), json!(desc.param_names));
    w.insert("shock_names".into(), json!(desc.shock_names));
    w.insert("obs_names".into(), json!(desc.obs_names));
    group
        .store_metadata()
        .map_err(|e| from_storage(&format!("writing metadata of group '{path}'"), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::Layout;
    use crate::reader::Reader;
    use crate::writer::{SampleRef, Writer, WriterOptions};

    /// Issue 16: a world written without names takes the manifest's names; names given
    /// at creation are kept; bad names are refused and change nothing.
    #[test]
    fn generated_names_are_replaced_once() {
        let dir = std::env::temp_dir().join(format!("ume-names-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let desc = WorldDesc::new("w", 2, 3, 1, 2, 1, 2);
        let w = Writer::create(&dir, &desc, &WriterOptions::default()).unwrap();
        let v = |n: usize| vec![0.5f64; n];
        for i in 0..2 {
            let s = SampleRef {
                theta: &v(2),
                trajectories: &v(6),
                irfs: &v(4),
                shocks: &v(3),
            };
            w.write_sample(i, Layout::C, s).unwrap();
        }
        w.finalize().unwrap();
        let names = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        // wrong count and repeated names: refused, nothing changes
        let e = name_world(&dir, "w", names(&["a"]), None, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{}", e.message());
        let e = name_world(&dir, "w", names(&["a", "a"]), None, None).unwrap_err();
        assert!(e.message().contains("repeats"), "{}", e.message());
        assert_eq!(
            Reader::open(&dir, "w").unwrap().desc().param_names,
            ["p0", "p1"]
        );
        name_world(&dir, "w", names(&["beta", "rho"]), names(&["m"]), None).unwrap();
        let r = Reader::open(&dir, "w").unwrap();
        assert_eq!(r.desc().param_names, ["beta", "rho"]);
        assert_eq!(r.desc().shock_names, ["m"]);
        assert_eq!(r.desc().obs_names, ["y0", "y1"]);
        assert_eq!(r.samples_written().unwrap(), 2);
        // the same names again: fine; other names: refused
        name_world(&dir, "w", names(&["beta", "rho"]), None, None).unwrap();
        let e = name_world(&dir, "w", names(&["x", "y"]), None, None).unwrap_err();
        assert!(e.message().contains("not replaced"), "{}", e.message());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
