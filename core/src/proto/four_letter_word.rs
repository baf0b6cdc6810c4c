//! The four-letter words a client may send instead of a handshake (`ruok`, `stat`, ...): which exist and
//! how they are spelled on the wire. What each answers is `crate::four_letter`'s business.

/// A four-letter word command.
#[derive(
    serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord,
)]
pub enum FourLetterWord {
    Conf,
    Cons,
    Crst,
    Dirs,
    Dump,
    Envi,
    Gtmk,
    Hash,
    Isro,
    Mntr,
    Ruok,
    Srst,
    Srvr,
    Stat,
    Stmk,
    Wchc,
    Wchp,
    Wchs,
}

impl FourLetterWord {
    /// Every word, in alphabetical order.
    pub const ALL: [FourLetterWord; 18] = [
        FourLetterWord::Conf,
        FourLetterWord::Cons,
        FourLetterWord::Crst,
        FourLetterWord::Dirs,
        FourLetterWord::Dump,
        FourLetterWord::Envi,
        FourLetterWord::Gtmk,
        FourLetterWord::Hash,
        FourLetterWord::Isro,
        FourLetterWord::Mntr,
        FourLetterWord::Ruok,
        FourLetterWord::Srst,
        FourLetterWord::Srvr,
        FourLetterWord::Stat,
        FourLetterWord::Stmk,
        FourLetterWord::Wchc,
        FourLetterWord::Wchp,
        FourLetterWord::Wchs,
    ];

    /// Recognizes a command: exactly four bytes spelling a word (lower case, as ZooKeeper compares the
    /// bytes as an int). Use it on the first four bytes of a new connection.
    pub fn from_bytes(bytes: &[u8]) -> Option<FourLetterWord> {
        if bytes.len() != 4 {
            return None;
        }
        FourLetterWord::ALL
            .into_iter()
            .find(|w| w.name().as_bytes() == bytes)
    }

    pub fn name(self) -> &'static str {
        match self {
            FourLetterWord::Conf => "conf",
            FourLetterWord::Cons => "cons",
            FourLetterWord::Crst => "crst",
            FourLetterWord::Dirs => "dirs",
            FourLetterWord::Dump => "dump",
            FourLetterWord::Envi => "envi",
            FourLetterWord::Gtmk => "gtmk",
            FourLetterWord::Hash => "hash",
            FourLetterWord::Isro => "isro",
            FourLetterWord::Mntr => "mntr",
            FourLetterWord::Ruok => "ruok",
            FourLetterWord::Srst => "srst",
            FourLetterWord::Srvr => "srvr",
            FourLetterWord::Stat => "stat",
            FourLetterWord::Stmk => "stmk",
            FourLetterWord::Wchc => "wchc",
            FourLetterWord::Wchp => "wchp",
            FourLetterWord::Wchs => "wchs",
        }
    }

    /// Bytes ZooKeeper reads after the word before answering: `stmk` is followed by the new trace mask as
    /// an 8-byte big-endian long (and it is read only if `stmk` is allowed).
    pub fn argument_len(self) -> usize {
        if self == FourLetterWord::Stmk {
            8
        } else {
            0
        }
    }
}
