//! rzk-io-mio: drives an rzk-core `Node` with mio (in progress).
