//! One module per command of `vend`.

pub mod bench;
pub mod coldstart;
pub mod local;
pub mod proof;
pub mod render;
pub mod serve;
pub mod states;
pub mod tenants;
