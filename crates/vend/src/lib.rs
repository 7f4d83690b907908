//! The library half of `vend`: what the command line and the end-to-end tests share.

pub mod bench;
pub mod cli;
pub mod client;
pub mod local;
pub mod proof;
pub mod runtime_api;
pub mod sandbox;
pub mod serve;
pub mod template;
pub mod trace;
