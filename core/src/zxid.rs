//! Transaction ids: the high 32 bits are the leader epoch, the low 32 bits a counter within the epoch.

pub use crate::ids::Zxid;

/// Builds a zxid from an epoch and a counter.
pub fn make(epoch: u32, counter: u32) -> Zxid {
    ((epoch as i64) << 32) | counter as i64
}

/// The epoch half of a zxid.
pub fn epoch(zxid: Zxid) -> u32 {
    (zxid >> 32) as u32
}

/// The counter half of a zxid.
pub fn counter(zxid: Zxid) -> u32 {
    zxid as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_counter_round_trip() {
        let z = make(7, 0xffff_fffe);
        assert_eq!(epoch(z), 7);
        assert_eq!(counter(z), 0xffff_fffe);
    }
}
