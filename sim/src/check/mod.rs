//! Checkers, run on every seed. Each returns human-readable violations; an empty list means the run is
//! correct. They read the clients' history and the durable txn record, never the servers' word alone.

mod durability;
mod ephemerals;
mod expiry;
pub mod linearizable;
pub mod liveness;
mod replay;
mod sessions;
mod state;
mod trees;
mod watches;

pub use linearizable::check_register;
pub use replay::Replay;

use crate::world::World;

/// Runs every checker over a finished run.
pub fn check_all(world: &World) -> Vec<String> {
    let mut v = world.violations.clone();
    v.extend(world.history.protocol.iter().cloned());
    let replay = match Replay::build(&world.durable) {
        Ok(r) => r,
        Err(e) => {
            v.push(e);
            return v;
        }
    };
    v.extend(replay.errors.iter().cloned());
    v.extend(durability::check(world));
    v.extend(state::check(world, &replay));
    v.extend(sessions::check(world));
    v.extend(linearizable::check(world));
    v.extend(watches::check(world, &replay));
    v.extend(ephemerals::check(world));
    v.extend(expiry::check(world));
    v.extend(liveness::check(world));
    v.extend(trees::check(world));
    v
}
