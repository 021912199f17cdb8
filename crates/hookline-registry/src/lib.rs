//! hookline-registry
