//! Client sessions: ids, passwords, timeout negotiation and expiry in tick-sized buckets
//! (ZooKeeper's SessionTrackerImpl).

mod password;
mod tracker;

pub use password::password_for;
pub use tracker::SessionTracker;

/// The first session id a server hands out (SessionTrackerImpl.initializeNextSessionId): the server id in
/// the top byte and the start time below, so ids of different servers and different runs do not collide.
pub fn initial_session_id(server_id: u64, now_ms: u64) -> i64 {
    let mut next = (((now_ms as i64) << 24) as u64 >> 8) as i64;
    next |= (server_id as i64) << 56;
    if next == i64::MIN {
        // That value marks container nodes in ephemeralOwner.
        next += 1;
    }
    next
}

/// Clamps a client's requested timeout into [min, max] (ms).
pub fn negotiate_timeout(requested: i32, min: u32, max: u32) -> i32 {
    (requested.max(0) as u32).clamp(min, max.max(min)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_is_clamped() {
        assert_eq!(negotiate_timeout(100, 4000, 40000), 4000);
        assert_eq!(negotiate_timeout(100_000, 4000, 40000), 40000);
        assert_eq!(negotiate_timeout(10_000, 4000, 40000), 10_000);
        assert_eq!(negotiate_timeout(-5, 4000, 40000), 4000);
    }

    #[test]
    fn session_ids_carry_the_server_id() {
        let id = initial_session_id(3, 1_700_000_000_000);
        assert_eq!((id as u64) >> 56, 3);
        assert_ne!(initial_session_id(0, 1), initial_session_id(0, 2));
    }
}
