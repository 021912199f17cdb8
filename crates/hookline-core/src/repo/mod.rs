//! The SQL of Hookline, one module per table family. Functions take an executor so that a
//! handler can run several of them in one transaction; every query names its organization.

pub mod api_keys;
pub mod organizations;
pub mod signing_secrets;
