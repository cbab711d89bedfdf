//! The one integration-test binary: it runs the real `datagenie` executable against real SQLite files and a scripted
//! LLM server over real HTTP.

mod harness;
mod scripted_llm;

mod ask;
mod attacks;
mod commands;
mod doctor;
mod eval;
mod promises;
mod servers;
mod sources;
mod templates;
