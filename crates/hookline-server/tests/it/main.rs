//! Integration tests: the real application on 127.0.0.1:0 with a fresh Postgres database per
//! test, and the real binary for the command line.

mod call_hardening;
mod cli;
mod connections;
mod contract;
mod conversations;
mod delivery;
mod engine;
mod fake_llm;
mod followups;
mod hardening;
mod harness;
mod isolation;
mod knowledge;
mod knowledge_tool;
mod lab;
mod lab_browser;
mod lab_connections;
mod lab_knowledge;
mod lab_talk;
mod llms;
mod mcp;
mod ops;
mod outages;
mod personas;
mod readme;
mod retention;
mod sessions;
mod stream_heads;
mod third_party_llm;
mod tool_power;
mod tools;
mod tools_import;
mod turn_bounds;
mod typed_state;
mod webdriver;
