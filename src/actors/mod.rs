//! Actors: one per identity mapping, plus the supervisors that feed them.
