//! The library half of `vend`: what the command line and the end-to-end tests share.

pub mod sandbox;
