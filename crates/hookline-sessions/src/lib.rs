//! hookline-sessions
