//! The library half of `vend`: what the command line and the end-to-end tests share.

pub mod bench;
pub mod local;
pub mod proof;
pub mod runtime_api;
pub mod sandbox;
pub mod template;
