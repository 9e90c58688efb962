//! `heartlink-tui`: parses the arguments, sends logs to a file, and hands
//! over to the library.

use clap::Parser;
use color_eyre::eyre::WrapErr;
use heartlink_client::cli::Cli;
use heartlink_client::config::ConfigDir;

fn main() -> color_eyre::Result<()> {
    color_eyre::install()?;
    let cli = Cli::parse();
    let config = ConfigDir::resolve(cli.global.config_dir.clone())?;
    // Private before anything (the log first of all) is written into it.
    if let Err(err) = config.prepare() {
        eprintln!("heartlink-tui: {err}");
        std::process::exit(1);
    }
    let log_path = cli.global.log_file.clone().unwrap_or_else(|| config.default_log_path());
    let log_guard = heartlink_client::logging::init(&log_path, &cli.global.log)?;
    if let Err(err) = heartlink_client::tls::trust(cli.global.ca_file.as_deref()) {
        eprintln!("heartlink-tui: {err}");
        std::process::exit(1);
    }
    // One thread for the terminal loop and the network task: with a worker
    // thread per core, every message arriving woke a second thread and
    // handed the event over through a futex (B7's profile: a quarter of the
    // client's CPU was the kernel switching between the two). Blocking work
    // (decoding images and audio) goes to tokio's blocking pool as before.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().wrap_err("starting the async runtime")?;
    // A refusal or a bad argument is the user's business, said in one line;
    // only failures to start at all get color-eyre's full report.
    let result = runtime.block_on(heartlink_client::commands::run(cli.command, config));
    if let Err(err) = &result {
        tracing::error!(cause = %heartlink_client::sanitize::for_log(&err.to_string()), "heartlink-tui failed");
    }
    drop(runtime);
    drop(log_guard); // flushes the log before a possible exit
    if let Err(err) = result {
        // The error may quote the server (a refusal): sanitized like everything else.
        eprintln!("heartlink-tui: {}", heartlink_client::sanitize::sanitize_line(&err.to_string()));
        std::process::exit(1);
    }
    Ok(())
}
