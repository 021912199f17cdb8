//! hookline-server
