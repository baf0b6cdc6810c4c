//! A znode's data: bytes, or null.
//!
//! ZooKeeper keeps "no data" apart from "empty data": `create(path, null)` stores null (a jute buffer of
//! length -1), `getData` hands null back, and the node's `dataLength` is 0 either way. Code that tests
//! `data == null` relies on it, so rzk keeps the third state through the tree, the log, snapshots and Zab.
//!
//! Read as a byte slice (`Deref<Target = [u8]>`), null is empty: lengths, quotas and sizes count it as 0.

use std::ops::Deref;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// A znode's data (see the module docs). `Default` is empty, not null.
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
pub struct Data(Option<Bytes>);

/// As derived, except that a redacting serialization ([`crate::redact`]) writes zeros of the same length.
impl Serialize for Data {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if crate::redact::zero_data() {
            let zeros = self.0.as_ref().map(|b| crate::redact::Zeros(b.len()));
            return s.serialize_newtype_struct("Data", &zeros);
        }
        s.serialize_newtype_struct("Data", &self.0)
    }
}

impl Data {
    /// No data (written as length -1).
    pub const fn null() -> Data {
        Data(None)
    }

    pub const fn from_static(bytes: &'static [u8]) -> Data {
        Data(Some(Bytes::from_static(bytes)))
    }

    pub fn copy_from_slice(bytes: &[u8]) -> Data {
        Data(Some(Bytes::copy_from_slice(bytes)))
    }

    pub fn is_null(&self) -> bool {
        self.0.is_none()
    }

    /// The bytes, `None` for null.
    pub fn as_option(&self) -> Option<&Bytes> {
        self.0.as_ref()
    }

    /// A copy in an allocation of its own: data decoded from a frame or read from a log slices a much larger
    /// buffer, which a long-lived znode or queued txn must not keep alive whole.
    pub fn detached(&self) -> Data {
        match &self.0 {
            Some(b) if !b.is_empty() => Data(Some(Bytes::copy_from_slice(b))),
            Some(_) => Data::default(),
            None => Data::null(),
        }
    }

    /// The bytes, null as empty (for code that only wants the content).
    pub fn bytes(&self) -> Bytes {
        self.0.clone().unwrap_or_default()
    }
}

impl Default for Data {
    fn default() -> Data {
        Data(Some(Bytes::new()))
    }
}

impl Deref for Data {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.0.as_deref().unwrap_or(&[])
    }
}

impl AsRef<[u8]> for Data {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl From<Bytes> for Data {
    fn from(bytes: Bytes) -> Data {
        Data(Some(bytes))
    }
}

impl From<Vec<u8>> for Data {
    fn from(bytes: Vec<u8>) -> Data {
        Data(Some(Bytes::from(bytes)))
    }
}

impl From<String> for Data {
    fn from(text: String) -> Data {
        Data(Some(Bytes::from(text)))
    }
}

impl From<Option<Bytes>> for Data {
    fn from(bytes: Option<Bytes>) -> Data {
        Data(bytes)
    }
}

impl std::fmt::Debug for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            None => f.write_str("null"),
            Some(b) => b.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_reads_as_empty_but_stays_apart_from_it() {
        let null = Data::null();
        let empty = Data::default();
        assert!(null.is_null() && !empty.is_null());
        assert_eq!((null.len(), empty.len()), (0, 0));
        assert_ne!(null, empty);
        assert_eq!(null.as_option(), None);
        assert_eq!(
            Data::from_static(b"ab").as_option(),
            Some(&Bytes::from_static(b"ab"))
        );
    }
}
