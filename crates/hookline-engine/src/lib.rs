//! hookline-engine
