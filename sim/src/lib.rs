//! rzk-sim: the seeded deterministic simulator (in progress, see issue 3).
