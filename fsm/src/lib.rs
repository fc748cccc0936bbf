//! The intersync state machine.
