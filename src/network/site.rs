//! Where a layer is being built ([`Site`]) and how its keys are read from the description
//! ([`keys`], [`take`]): shared by the ops and the conv2d/linear arithmetic they build on.

use super::{Range, Shape};
use anyhow::{anyhow, Result};
use serde::de::DeserializeOwned;

/// Where a layer is built: its place for messages (`file:line:col: layer "x" (op)`), its
/// input's shape and the range its input values can take (an op of several inputs: the
/// first's, and every input's in `inputs`).
pub(crate) struct Site<'a> {
    pub wh: &'a str,
    pub input: Shape,
    pub range: Range,
    pub inputs: &'a [(Shape, Range)],
    /// The names of the inputs when the description gave them.
    pub names: Option<&'a [String]>,
}

/// An op's keys from `table`, its error one line naming the key (`toml` puts it on a line of
/// its own after the message).
pub(crate) fn keys<T: DeserializeOwned>(site: &Site, table: toml::Table) -> Result<T> {
    toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| {
        let msg = e.to_string();
        let msg = msg.trim();
        match msg.rsplit_once("\nin `") {
            Some((what, key)) => {
                anyhow!("{}: key `{}`: {}", site.wh, key.trim_end_matches('`'), what.trim())
            }
            None => anyhow!("{}: {}", site.wh, msg.replace('\n', " ")),
        }
    })
}

/// Moves the entries of `table` named in `names` into a table of their own.
pub(crate) fn take(table: &mut toml::Table, names: &[&str]) -> toml::Table {
    let mut out = toml::Table::new();
    for n in names {
        if let Some(v) = table.remove(*n) {
            out.insert((*n).to_string(), v);
        }
    }
    out
}
