//! One module per command of `vend`.

pub mod coldstart;
pub mod local;
pub mod render;
pub mod states;
