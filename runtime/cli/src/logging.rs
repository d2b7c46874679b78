//! The `ztnic` command's logs: a `tracing` subscriber writing to standard error
//! (standard output stays for tables and `--json`), filtered by `RUST_LOG`
//! (default `info`), as text or one JSON object a line.

use std::io::IsTerminal;

use anyhow::{Context, Result};
use clap::ValueEnum;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

/// How log records are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One line per record for people: time, level, spans, message.
    Text,
    /// One JSON object per line (`timestamp`, `level`, `message` and the
    /// record's fields, `target`, `span` and `spans`) for a log collector.
    Json,
}

/// Installs the process's subscriber. Fails on a `RUST_LOG` it cannot parse.
pub fn init(format: LogFormat) -> Result<()> {
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .from_env()
        .context("RUST_LOG")?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("installing the log subscriber: {e}"))
}
