//! hookline-core
