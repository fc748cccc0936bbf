//! The `intersync` command line: parses arguments and hands over to the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use intersync::telemetry::{self, LogFormat};

#[derive(Parser)]
#[command(
    name = "intersync",
    version,
    about = "Two-way sync of people between Intercom and Salesforce"
)]
struct Cli {
    /// Format of the log lines on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the sync server against real Intercom and Salesforce accounts.
    #[command(
        after_help = "Secrets come from the environment, never from the config file:\n  \
        INTERSYNC_SALESFORCE_CLIENT_SECRET  the connected app's consumer secret\n  \
        INTERSYNC_INTERCOM_ACCESS_TOKEN     the Intercom access token\n  \
        INTERSYNC_INTERCOM_WEBHOOK_SECRET   the Intercom app's client secret (signs webhooks)"
    )]
    Serve(ServeArgs),
    /// Run the server against both simulators, seeded with sample people.
    Demo(DemoArgs),
    /// Run only the Salesforce and Intercom simulators, as a local sandbox of both APIs.
    Sim(SimArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// TOML configuration file; see intersync.example.toml.
    #[arg(long, default_value = "intersync.toml")]
    config: PathBuf,
    /// Folder of the store file intersync.redb; overrides data_dir in the config file.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Args)]
struct DemoArgs {
    /// Address of the server's HTTP endpoints.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// People generated for the simulators: about half exist on both sides and the rest on
    /// one side only, so each side gets about three quarters of them.
    #[arg(long, default_value_t = 2000)]
    people: usize,
    /// Seconds between two Salesforce polls.
    #[arg(long, default_value_t = 10)]
    poll_interval: u64,
    /// Folder of the store file; a fresh temporary folder when omitted.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Args)]
struct SimArgs {
    /// Address of the Salesforce simulator.
    #[arg(long, default_value = "127.0.0.1:8081")]
    salesforce_listen: SocketAddr,
    /// Address of the Intercom simulator.
    #[arg(long, default_value = "127.0.0.1:8082")]
    intercom_listen: SocketAddr,
    /// People generated at start: about half on both sides, the rest on one side only; 0
    /// starts both simulators empty.
    #[arg(long, default_value_t = 0)]
    people: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    let result = match cli.command {
        Command::Serve(args) => intersync::commands::serve(args.config, args.data_dir),
        Command::Demo(args) => intersync::commands::demo(intersync::commands::DemoOptions {
            listen: args.listen,
            people: args.people,
            poll_interval_secs: args.poll_interval,
            data_dir: args.data_dir,
        }),
        Command::Sim(args) => {
            intersync::commands::sim(args.salesforce_listen, args.intercom_listen, args.people)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
