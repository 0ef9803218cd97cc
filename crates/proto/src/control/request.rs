//! Client → probe requests: their text form, parsing with scamper's exact error
//! replies, and encoding.

use super::{Error, Format, TaskId};
use std::fmt;
use std::fmt::Write as _;

/// The measurement commands the control protocol accepts in attached mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MeasurementKind {
    /// `trace`
    Trace,
    /// `ping`
    Ping,
    /// `tracelb`
    Tracelb,
    /// `dealias`
    Dealias,
    /// `neighbourdisc`
    Neighbourdisc,
    /// `tbit`
    Tbit,
    /// `sting`
    Sting,
    /// `sniff`
    Sniff,
    /// `host`
    Host,
    /// `http`
    Http,
    /// `udpprobe`
    Udpprobe,
    /// `owamp`
    Owamp,
}

impl MeasurementKind {
    /// Every kind, in the order the spec lists them.
    pub const ALL: [Self; 12] = [
        Self::Trace,
        Self::Ping,
        Self::Tracelb,
        Self::Dealias,
        Self::Neighbourdisc,
        Self::Tbit,
        Self::Sting,
        Self::Sniff,
        Self::Host,
        Self::Http,
        Self::Udpprobe,
        Self::Owamp,
    ];

    /// The command word.
    pub const fn word(self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Ping => "ping",
            Self::Tracelb => "tracelb",
            Self::Dealias => "dealias",
            Self::Neighbourdisc => "neighbourdisc",
            Self::Tbit => "tbit",
            Self::Sting => "sting",
            Self::Sniff => "sniff",
            Self::Host => "host",
            Self::Http => "http",
            Self::Udpprobe => "udpprobe",
            Self::Owamp => "owamp",
        }
    }

    /// The kind named by `word` (case-insensitive).
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.word().eq_ignore_ascii_case(word))
    }
}

/// One measurement command line as sent in attached mode, e.g.
/// `ping -c 1 192.0.2.1`. Only its first word is checked here; the options and
/// target are for `vantage-command` to parse.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CommandLine {
    kind: MeasurementKind,
    text: String,
}

impl CommandLine {
    /// Checks that `text` is one printable-ASCII line whose first word is a
    /// measurement command followed by a space.
    pub fn new(text: impl Into<String>) -> Result<Self, Error> {
        let text = text.into();
        if !is_printable(&text) {
            return Err(Error::Unencodable {
                what: "measurement command",
                why: "only printable ASCII (0x20-0x7e) is allowed on a control line",
            });
        }
        match measurement_kind(&text) {
            Some(kind) => Ok(Self { kind, text }),
            None => Err(Error::Unencodable {
                what: "measurement command",
                why: "the line must start with a measurement command word followed by a space",
            }),
        }
    }

    /// Which measurement this is.
    pub const fn kind(&self) -> MeasurementKind {
        self.kind
    }

    /// The whole line (without newline).
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for CommandLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn measurement_kind(line: &str) -> Option<MeasurementKind> {
    let (word, _) = line.split_once(' ')?;
    MeasurementKind::from_word(word)
}

/// Parameters of `attach` (control-protocol.md §4.1). `None` means "not given"
/// (the probe's default applies).
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct AttachParams {
    /// `cycle_id`: human cycle id stored in the cycle records (default 1).
    pub cycle_id: Option<u32>,
    /// `descr`: list description.
    pub descr: Option<String>,
    /// `format`: `warts` (default) or `json`.
    pub format: Option<Format>,
    /// `list_id`: human list id in the list record (default 0).
    pub list_id: Option<u32>,
    /// `monitor`: monitor name in the list record.
    pub monitor: Option<String>,
    /// `name`: list name (default derived from the socket).
    pub name: Option<String>,
    /// `priority`: mixing weight, 1..=100000 (default 1).
    pub priority: Option<u32>,
}

/// Largest accepted `priority`.
pub const MAX_PRIORITY: u32 = 100_000;
/// At most this many words may follow `attach`.
pub const MAX_ATTACH_WORDS: usize = 14;

impl AttachParams {
    /// The output format, defaulting to warts.
    pub fn format(&self) -> Format {
        self.format.unwrap_or_default()
    }

    /// Parses the words after `attach`.
    pub fn parse(args: &str) -> Result<Self, Rejection> {
        let words = tokenize_params(args).ok_or(Rejection::ParamsGet)?;
        if words.len() > MAX_ATTACH_WORDS {
            return Err(Rejection::ParamsGet);
        }
        let mut p = Self::default();
        let mut it = words.into_iter();
        while let Some(name) = it.next() {
            let fail = || Rejection::AttachParam(name.to_owned());
            let value = it.next().ok_or_else(fail)?;
            let lname = name.to_ascii_lowercase();
            let already = match lname.as_str() {
                "cycle_id" => p.cycle_id.is_some(),
                "descr" => p.descr.is_some(),
                "format" => p.format.is_some(),
                "list_id" => p.list_id.is_some(),
                "monitor" => p.monitor.is_some(),
                "name" => p.name.is_some(),
                "priority" => p.priority.is_some(),
                _ => return Err(fail()),
            };
            if already {
                return Err(fail());
            }
            match lname.as_str() {
                "cycle_id" => p.cycle_id = Some(parse_u32(value).ok_or(Rejection::InvalidCycleId)?),
                "list_id" => p.list_id = Some(parse_u32(value).ok_or(Rejection::InvalidListId)?),
                "priority" => {
                    let v = parse_u32(value)
                        .filter(|v| (1..=MAX_PRIORITY).contains(v))
                        .ok_or(Rejection::InvalidPriority)?;
                    p.priority = Some(v);
                }
                "format" => {
                    p.format = Some(if value.eq_ignore_ascii_case("warts") {
                        Format::Warts
                    } else if value.eq_ignore_ascii_case("json") {
                        Format::Json
                    } else {
                        return Err(Rejection::InvalidFormat);
                    });
                }
                "descr" => p.descr = Some(value.to_owned()),
                "monitor" => p.monitor = Some(value.to_owned()),
                _ => p.name = Some(value.to_owned()),
            }
        }
        Ok(p)
    }

    /// Appends ` param value` pairs in libscamperctrl's order (cycle_id, descr,
    /// format, list_id, monitor, name, priority); string values are quoted.
    fn encode_into(&self, out: &mut String) -> Result<(), Error> {
        let quoted = |out: &mut String, what: &'static str, v: &str| -> Result<(), Error> {
            if !is_printable(v) || v.contains('"') {
                return Err(Error::Unencodable {
                    what,
                    why: "attach values are quoted and cannot contain '\"' or non-printable bytes",
                });
            }
            let _ = write!(out, " {what} \"{v}\"");
            Ok(())
        };
        if let Some(v) = self.cycle_id {
            let _ = write!(out, " cycle_id {v}");
        }
        if let Some(v) = &self.descr {
            quoted(out, "descr", v)?;
        }
        if let Some(v) = self.format {
            let _ = write!(out, " format {}", v.keyword());
        }
        if let Some(v) = self.list_id {
            let _ = write!(out, " list_id {v}");
        }
        if let Some(v) = &self.monitor {
            quoted(out, "monitor", v)?;
        }
        if let Some(v) = &self.name {
            quoted(out, "name", v)?;
        }
        if let Some(v) = self.priority {
            if !(1..=MAX_PRIORITY).contains(&v) {
                return Err(Error::Unencodable {
                    what: "priority",
                    why: "priority must be within 1..=100000",
                });
            }
            let _ = write!(out, " priority {v}");
        }
        Ok(())
    }
}

/// Splits attach parameters into words: separated by spaces; a word that starts
/// with `"` runs to the next `"` (which must end the word). `None` when the
/// quoting is broken.
fn tokenize_params(s: &str) -> Option<Vec<&str>> {
    let mut words = Vec::new();
    let mut rest = s.trim_start_matches(' ');
    while !rest.is_empty() {
        if let Some(q) = rest.strip_prefix('"') {
            let end = q.find('"')?;
            words.push(&q[..end]);
            rest = &q[end + 1..];
            if !rest.is_empty() && !rest.starts_with(' ') {
                return None;
            }
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            words.push(&rest[..end]);
            rest = &rest[end..];
        }
        rest = rest.trim_start_matches(' ');
    }
    Some(words)
}

fn parse_u32(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// What `get` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GetItem {
    /// Default command for address-only input.
    Command,
    /// Monitor name.
    MonitorName,
    /// DNS nameserver.
    Nameserver,
    /// Process id.
    Pid,
    /// Packets per second.
    Pps,
    /// Release string.
    Version,
    /// Active/maximum concurrent tasks.
    Window,
}

impl GetItem {
    const ALL: [Self; 7] = [
        Self::Command,
        Self::MonitorName,
        Self::Nameserver,
        Self::Pid,
        Self::Pps,
        Self::Version,
        Self::Window,
    ];

    /// The keyword after `get`.
    pub const fn keyword(self) -> &'static str {
        match self {
            Self::Command => "command",
            Self::MonitorName => "monitorname",
            Self::Nameserver => "nameserver",
            Self::Pid => "pid",
            Self::Pps => "pps",
            Self::Version => "version",
            Self::Window => "window",
        }
    }
}

/// What `set` changes, with its value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SetItem {
    /// `set command <str>`: default command for address-only input (non-empty).
    Command(String),
    /// `set monitorname [<str>]`: empty clears the name.
    MonitorName(String),
    /// `set nameserver <ip>` (non-empty; the probe validates the address).
    Nameserver(String),
    /// `set pps <n>` (the probe checks the range).
    Pps(i64),
    /// `set window <n>` (the probe checks the range; 0 = unlimited).
    Window(i64),
}

/// `shutdown` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShutdownMode {
    /// Exit when current work completes.
    Done,
    /// Drop queued commands of all sources, then as `done`.
    Flush,
    /// Also drop active tasks.
    Now,
    /// Undo a pending shutdown.
    Cancel,
}

impl ShutdownMode {
    const ALL: [Self; 4] = [Self::Done, Self::Flush, Self::Now, Self::Cancel];

    /// The keyword after `shutdown`.
    pub const fn keyword(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Flush => "flush",
            Self::Now => "now",
            Self::Cancel => "cancel",
        }
    }
}

/// One client → probe request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Request {
    /// `attach [param value]...` (interactive): switch to attached mode.
    Attach(AttachParams),
    /// `get <what>` (interactive).
    Get(GetItem),
    /// `set <what> <value>` (interactive).
    Set(SetItem),
    /// `source list [name]` (interactive).
    SourceList(Option<String>),
    /// `shutdown done|flush|now|cancel` (interactive).
    Shutdown(ShutdownMode),
    /// `remote add server <name:port> [ssl on|off]` (interactive).
    RemoteAdd {
        /// `name:port` of the controller.
        server: String,
        /// Explicit TLS choice, if given.
        ssl: Option<bool>,
    },
    /// `remote delete <name:port>` (interactive).
    RemoteDelete(String),
    /// `remote list` (interactive).
    RemoteList,
    /// `lss-clear <name>` (interactive).
    LssClear(String),
    /// `exit` (interactive): the probe closes the connection without a reply.
    Exit,
    /// `done` (attached): no more commands will follow.
    Done,
    /// `halt <id>` (attached).
    Halt(TaskId),
    /// A measurement command (attached).
    Command(CommandLine),
}

impl Request {
    /// The request's keyword, for messages.
    pub const fn keyword(&self) -> &'static str {
        match self {
            Self::Attach(_) => "attach",
            Self::Get(_) => "get",
            Self::Set(_) => "set",
            Self::SourceList(_) => "source",
            Self::Shutdown(_) => "shutdown",
            Self::RemoteAdd { .. } | Self::RemoteDelete(_) | Self::RemoteList => "remote",
            Self::LssClear(_) => "lss-clear",
            Self::Exit => "exit",
            Self::Done => "done",
            Self::Halt(_) => "halt",
            Self::Command(_) => "measurement command",
        }
    }

    /// Whether the request is only valid in attached mode.
    pub const fn is_attached_mode(&self) -> bool {
        matches!(self, Self::Done | Self::Halt(_) | Self::Command(_))
    }

    /// Parses one line received in interactive mode (already checked to be
    /// printable ASCII and stripped of its line ending).
    pub fn parse_interactive(line: &str) -> Result<Self, Rejection> {
        let (word, rest) = split_word(line);
        match word.to_ascii_lowercase().as_str() {
            "attach" => AttachParams::parse(rest).map(Self::Attach),
            "get" => parse_get(rest),
            "set" => parse_set(rest),
            "source" => parse_source(rest),
            "shutdown" => parse_shutdown(rest),
            "remote" => parse_remote(rest),
            "lss-clear" => {
                if rest.is_empty() {
                    Err(Rejection::LssClearUsage)
                } else {
                    Ok(Self::LssClear(rest.to_owned()))
                }
            }
            "help" => Err(Rejection::Help),
            "exit" => Ok(Self::Exit),
            _ => Err(Rejection::UnhandledCommand(word.to_owned())),
        }
    }

    /// Parses one line received in attached mode.
    pub fn parse_attached(line: &str) -> Result<Self, Rejection> {
        if line.eq_ignore_ascii_case("done") {
            return Ok(Self::Done);
        }
        if let Some((word, rest)) = line.split_once(' ') {
            if word.eq_ignore_ascii_case("halt") {
                return parse_halt(rest.trim_start_matches(' ')).map(Self::Halt);
            }
            if let Some(kind) = MeasurementKind::from_word(word) {
                return Ok(Self::Command(CommandLine {
                    kind,
                    text: line.to_owned(),
                }));
            }
        }
        Err(Rejection::CommandNotAccepted(Some(
            "could not determine command type".to_owned(),
        )))
    }

    /// Appends the request as one `\n`-terminated line.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let mut s = String::new();
        match self {
            Self::Attach(p) => {
                s.push_str("attach");
                p.encode_into(&mut s)?;
            }
            Self::Get(item) => {
                s.push_str("get ");
                s.push_str(item.keyword());
            }
            Self::Set(item) => match item {
                SetItem::Command(v) => {
                    check_arg("set command value", v)?;
                    s.push_str("set command ");
                    s.push_str(v);
                }
                SetItem::MonitorName(v) => {
                    s.push_str("set monitorname");
                    if !v.is_empty() {
                        check_arg("set monitorname value", v)?;
                        s.push(' ');
                        s.push_str(v);
                    }
                }
                SetItem::Nameserver(v) => {
                    check_arg("set nameserver value", v)?;
                    s.push_str("set nameserver ");
                    s.push_str(v);
                }
                SetItem::Pps(n) => {
                    let _ = write!(s, "set pps {n}");
                }
                SetItem::Window(n) => {
                    let _ = write!(s, "set window {n}");
                }
            },
            Self::SourceList(name) => {
                s.push_str("source list");
                if let Some(n) = name {
                    check_arg("source name", n)?;
                    s.push(' ');
                    s.push_str(n);
                }
            }
            Self::Shutdown(m) => {
                s.push_str("shutdown ");
                s.push_str(m.keyword());
            }
            Self::RemoteAdd { server, ssl } => {
                check_word("remote server", server)?;
                s.push_str("remote add server ");
                s.push_str(server);
                match ssl {
                    Some(true) => s.push_str(" ssl on"),
                    Some(false) => s.push_str(" ssl off"),
                    None => {}
                }
            }
            Self::RemoteDelete(server) => {
                check_word("remote server", server)?;
                s.push_str("remote delete ");
                s.push_str(server);
            }
            Self::RemoteList => s.push_str("remote list"),
            Self::LssClear(name) => {
                check_arg("lss-clear name", name)?;
                s.push_str("lss-clear ");
                s.push_str(name);
            }
            Self::Exit => s.push_str("exit"),
            Self::Done => s.push_str("done"),
            Self::Halt(id) => {
                let _ = write!(s, "halt {id}");
            }
            Self::Command(c) => s.push_str(c.text()),
        }
        out.extend_from_slice(s.as_bytes());
        out.push(b'\n');
        Ok(())
    }

    /// The request as one `\n`-terminated line.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.encode_into(&mut out)?;
        Ok(out)
    }
}

/// A free-text argument: printable, non-empty, no leading or trailing space.
fn check_arg(what: &'static str, v: &str) -> Result<(), Error> {
    if v.is_empty() || v.starts_with(' ') || v.ends_with(' ') || !is_printable(v) {
        return Err(Error::Unencodable {
            what,
            why: "must be non-empty printable ASCII without leading or trailing spaces",
        });
    }
    Ok(())
}

/// A one-word argument: printable, non-empty, no spaces.
fn check_word(what: &'static str, v: &str) -> Result<(), Error> {
    if v.is_empty() || v.contains(' ') || !is_printable(v) {
        return Err(Error::Unencodable {
            what,
            why: "must be one word of printable ASCII",
        });
    }
    Ok(())
}

pub(crate) fn is_printable(s: &str) -> bool {
    s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// Splits off the first word (up to the first space); the rest starts after all
/// following spaces. A leading space yields an empty first word, as in scamper.
fn split_word(s: &str) -> (&str, &str) {
    match s.split_once(' ') {
        Some((w, rest)) => (w, rest.trim_start_matches(' ')),
        None => (s, ""),
    }
}

fn parse_get(rest: &str) -> Result<Request, Rejection> {
    if rest.is_empty() {
        return Err(Rejection::GetUsage);
    }
    GetItem::ALL
        .into_iter()
        .find(|g| g.keyword().eq_ignore_ascii_case(rest))
        .map(Request::Get)
        .ok_or_else(|| Rejection::UnhandledGet(rest.to_owned()))
}

fn parse_set(rest: &str) -> Result<Request, Rejection> {
    if rest.is_empty() {
        return Err(Rejection::SetUsage);
    }
    let (what, value) = split_word(rest);
    let integer = |name: &'static str| -> Result<i64, Rejection> {
        let v = value.trim_end_matches(' ');
        if v.is_empty() {
            return Err(Rejection::SetRequiresArgument(name));
        }
        v.parse().map_err(|_| Rejection::SetNotInteger(name))
    };
    let item = match what.to_ascii_lowercase().as_str() {
        "command" if value.is_empty() => return Err(Rejection::CouldNotSet("command")),
        "command" => SetItem::Command(value.to_owned()),
        "monitorname" => SetItem::MonitorName(value.to_owned()),
        "nameserver" if value.is_empty() => return Err(Rejection::CouldNotSet("nameserver")),
        "nameserver" => SetItem::Nameserver(value.to_owned()),
        "pps" => SetItem::Pps(integer("pps")?),
        "window" => SetItem::Window(integer("window")?),
        _ => return Err(Rejection::UnhandledSet(what.to_owned())),
    };
    Ok(Request::Set(item))
}

fn parse_source(rest: &str) -> Result<Request, Rejection> {
    if rest.is_empty() {
        return Err(Rejection::SourceUsage);
    }
    let (sub, arg) = split_word(rest);
    if sub.eq_ignore_ascii_case("list") {
        let name = arg.trim_end_matches(' ');
        Ok(Request::SourceList(
            (!name.is_empty()).then(|| name.to_owned()),
        ))
    } else {
        Err(Rejection::UnhandledCommand(sub.to_owned()))
    }
}

fn parse_shutdown(rest: &str) -> Result<Request, Rejection> {
    if rest.is_empty() {
        return Err(Rejection::ShutdownUsage);
    }
    let (word, _) = split_word(rest);
    ShutdownMode::ALL
        .into_iter()
        .find(|m| m.keyword().eq_ignore_ascii_case(word))
        .map(Request::Shutdown)
        .ok_or_else(|| Rejection::UnhandledCommand(word.to_owned()))
}

fn parse_remote(rest: &str) -> Result<Request, Rejection> {
    if rest.is_empty() {
        return Err(Rejection::RemoteUsage);
    }
    let (sub, arg) = split_word(rest);
    let arg = arg.trim_end_matches(' ');
    match sub.to_ascii_lowercase().as_str() {
        "add" => {
            let words: Vec<&str> = arg.split(' ').filter(|w| !w.is_empty()).collect();
            let mut server = None;
            let mut ssl = None;
            for pair in words.chunks(2) {
                match (pair[0].to_ascii_lowercase().as_str(), pair.get(1)) {
                    ("server", Some(v)) if server.is_none() => server = Some((*v).to_owned()),
                    ("ssl", Some(v)) if ssl.is_none() && v.eq_ignore_ascii_case("on") => {
                        ssl = Some(true);
                    }
                    ("ssl", Some(v)) if ssl.is_none() && v.eq_ignore_ascii_case("off") => {
                        ssl = Some(false);
                    }
                    _ => return Err(Rejection::RemoteAddUsage),
                }
            }
            let server = server.ok_or(Rejection::RemoteAddUsage)?;
            Ok(Request::RemoteAdd { server, ssl })
        }
        "delete" if !arg.is_empty() && !arg.contains(' ') => {
            Ok(Request::RemoteDelete(arg.to_owned()))
        }
        "delete" => Err(Rejection::RemoteDeleteUsage),
        "list" => Ok(Request::RemoteList),
        _ => Err(Rejection::UnhandledRemote(sub.to_owned())),
    }
}

fn parse_halt(arg: &str) -> Result<TaskId, Rejection> {
    if arg.is_empty() || !arg.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Rejection::HaltUsage);
    }
    arg.parse::<u32>()
        .ok()
        .and_then(TaskId::new)
        .ok_or(Rejection::HaltNumberInvalid)
}

/// A reason to answer a request with `ERR`. [`fmt::Display`] gives scamper's text
/// (without the `ERR ` prefix); `Reply::from(rejection)` makes the reply.
///
/// The parser produces the input-syntax variants; the probe builds the others
/// (e.g. [`Rejection::NoTask`]) when it acts on a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// `unhandled command '<word>'` (also unknown `source`/`shutdown` subcommands).
    UnhandledCommand(String),
    /// `could not params_get`: broken quoting or too many words after `attach`.
    ParamsGet,
    /// `command attach param '<p>' failed`: unknown, repeated or value-less parameter.
    AttachParam(String),
    /// `invalid cycle_id`
    InvalidCycleId,
    /// `invalid list_id`
    InvalidListId,
    /// `invalid priority`
    InvalidPriority,
    /// `format must be warts or json`
    InvalidFormat,
    /// `internal error` (the probe then closes the connection).
    InternalError,
    /// `usage: get [...]`
    GetUsage,
    /// `unhandled get command '<what>'`
    UnhandledGet(String),
    /// `usage: set [...]`
    SetUsage,
    /// `unhandled set command '<what>'`
    UnhandledSet(String),
    /// `set <what> requires argument`
    SetRequiresArgument(&'static str),
    /// `set <what> argument is not an integer`
    SetNotInteger(&'static str),
    /// `<what>: <n> out of range (<min>, <max>)` (built by the probe).
    OutOfRange {
        /// `pps` or `window`.
        what: &'static str,
        /// The value given.
        value: i64,
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
    },
    /// `could not set <what>`
    CouldNotSet(&'static str),
    /// `usage: source [cycle | list]`
    SourceUsage,
    /// `no source '<name>'` (built by the probe).
    NoSource(String),
    /// `usage: [cancel | done | flush | now]` (scamper's text for a bare `shutdown`).
    ShutdownUsage,
    /// `usage: remote [add | delete | list]`
    RemoteUsage,
    /// `usage: remote add server <name:port> [ssl on|off]`
    RemoteAddUsage,
    /// `usage: remote delete <name:port>`
    RemoteDeleteUsage,
    /// `unhandled remote command '<word>'`
    UnhandledRemote(String),
    /// `usage: lss-clear [lss-name]`
    LssClearUsage,
    /// `lss-clear <name> failed` (built by the probe).
    LssClearFailed(String),
    /// `XXX: todo`, scamper's answer to `help`.
    Help,
    /// `usage: halt [id]`
    HaltUsage,
    /// `halt number invalid`
    HaltNumberInvalid,
    /// `no task id-<n>` (built by the probe).
    NoTask(TaskId),
    /// `command not accepted[: <reason>]`
    CommandNotAccepted(Option<String>),
    /// `invalid character in line` (the probe then flushes and closes).
    InvalidCharacter,
    /// `line too long` (Vantage only; scamper has no limit). The probe then closes.
    LineTooLong,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnhandledCommand(w) => write!(f, "unhandled command '{w}'"),
            Self::ParamsGet => f.write_str("could not params_get"),
            Self::AttachParam(p) => write!(f, "command attach param '{p}' failed"),
            Self::InvalidCycleId => f.write_str("invalid cycle_id"),
            Self::InvalidListId => f.write_str("invalid list_id"),
            Self::InvalidPriority => f.write_str("invalid priority"),
            Self::InvalidFormat => f.write_str("format must be warts or json"),
            Self::InternalError => f.write_str("internal error"),
            Self::GetUsage => f.write_str(
                "usage: get [command | monitorname | nameserver | pid | pps | version | window]",
            ),
            Self::UnhandledGet(w) => write!(f, "unhandled get command '{w}'"),
            Self::SetUsage => f.write_str("usage: set [command | monitorname | pps | window]"),
            Self::UnhandledSet(w) => write!(f, "unhandled set command '{w}'"),
            Self::SetRequiresArgument(w) => write!(f, "set {w} requires argument"),
            Self::SetNotInteger(w) => write!(f, "set {w} argument is not an integer"),
            Self::OutOfRange {
                what,
                value,
                min,
                max,
            } => write!(f, "{what}: {value} out of range ({min}, {max})"),
            Self::CouldNotSet(w) => write!(f, "could not set {w}"),
            Self::SourceUsage => f.write_str("usage: source [cycle | list]"),
            Self::NoSource(n) => write!(f, "no source '{n}'"),
            Self::ShutdownUsage => f.write_str("usage: [cancel | done | flush | now]"),
            Self::RemoteUsage => f.write_str("usage: remote [add | delete | list]"),
            Self::RemoteAddUsage => {
                f.write_str("usage: remote add server <name:port> [ssl on|off]")
            }
            Self::RemoteDeleteUsage => f.write_str("usage: remote delete <name:port>"),
            Self::UnhandledRemote(w) => write!(f, "unhandled remote command '{w}'"),
            Self::LssClearUsage => f.write_str("usage: lss-clear [lss-name]"),
            Self::LssClearFailed(n) => write!(f, "lss-clear {n} failed"),
            Self::Help => f.write_str("XXX: todo"),
            Self::HaltUsage => f.write_str("usage: halt [id]"),
            Self::HaltNumberInvalid => f.write_str("halt number invalid"),
            Self::NoTask(id) => write!(f, "no task id-{id}"),
            Self::CommandNotAccepted(None) => f.write_str("command not accepted"),
            Self::CommandNotAccepted(Some(r)) => write!(f, "command not accepted: {r}"),
            Self::InvalidCharacter => f.write_str("invalid character in line"),
            Self::LineTooLong => f.write_str("line too long"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rej_i(line: &str) -> String {
        Request::parse_interactive(line).unwrap_err().to_string()
    }

    #[test]
    fn interactive_error_texts_match_scamper() {
        // Observed from Debian's scamper 20211212 where the spec is silent.
        assert_eq!(
            rej_i("get"),
            "usage: get [command | monitorname | nameserver | pid | pps | version | window]"
        );
        assert_eq!(rej_i("get foo"), "unhandled get command 'foo'");
        assert_eq!(rej_i("get version  "), "unhandled get command 'version  '");
        assert_eq!(
            rej_i("set"),
            "usage: set [command | monitorname | pps | window]"
        );
        assert_eq!(rej_i("set foo"), "unhandled set command 'foo'");
        assert_eq!(rej_i("set pps"), "set pps requires argument");
        assert_eq!(rej_i("set pps x"), "set pps argument is not an integer");
        assert_eq!(
            rej_i("set window 5x"),
            "set window argument is not an integer"
        );
        assert_eq!(rej_i("set command"), "could not set command");
        assert_eq!(rej_i("source"), "usage: source [cycle | list]");
        assert_eq!(rej_i("source foo"), "unhandled command 'foo'");
        assert_eq!(rej_i("shutdown"), "usage: [cancel | done | flush | now]");
        assert_eq!(rej_i("shutdown foo"), "unhandled command 'foo'");
        assert_eq!(rej_i("help"), "XXX: todo");
        assert_eq!(rej_i("lss-clear"), "usage: lss-clear [lss-name]");
        assert_eq!(rej_i("foo bar"), "unhandled command 'foo'");
        assert_eq!(rej_i("detach"), "unhandled command 'detach'");
        assert_eq!(rej_i("version"), "unhandled command 'version'");
        assert_eq!(rej_i(" get version"), "unhandled command ''");
    }

    #[test]
    fn interactive_parses() {
        let p = |l: &str| Request::parse_interactive(l).unwrap();
        assert_eq!(p("GET VERSION"), Request::Get(GetItem::Version));
        assert_eq!(p("get  pid"), Request::Get(GetItem::Pid));
        assert_eq!(p("set pps  5"), Request::Set(SetItem::Pps(5)));
        assert_eq!(p("set pps 5 "), Request::Set(SetItem::Pps(5)));
        assert_eq!(p("set window -1"), Request::Set(SetItem::Window(-1)));
        assert_eq!(
            p("set command  ping -c 1"),
            Request::Set(SetItem::Command("ping -c 1".into()))
        );
        assert_eq!(
            p("set monitorname"),
            Request::Set(SetItem::MonitorName(String::new()))
        );
        assert_eq!(p("source list"), Request::SourceList(None));
        assert_eq!(p("source list "), Request::SourceList(None));
        assert_eq!(p("source list x"), Request::SourceList(Some("x".into())));
        assert_eq!(
            p("shutdown CANCEL"),
            Request::Shutdown(ShutdownMode::Cancel)
        );
        assert_eq!(p("remote list"), Request::RemoteList);
        assert_eq!(
            p("remote add server r.example:4000 ssl off"),
            Request::RemoteAdd {
                server: "r.example:4000".into(),
                ssl: Some(false)
            }
        );
        assert_eq!(p("exit"), Request::Exit);
        assert_eq!(p("lss-clear a b"), Request::LssClear("a b".into()));
    }

    #[test]
    fn attach_params() {
        let p = |l: &str| Request::parse_interactive(l);
        assert_eq!(p("attach"), Ok(Request::Attach(AttachParams::default())));
        let full = p("attach cycle_id 7 descr \"a b\" format JSON list_id 4294967295 monitor m name \"x:0\" priority 100000").unwrap();
        assert_eq!(
            full,
            Request::Attach(AttachParams {
                cycle_id: Some(7),
                descr: Some("a b".into()),
                format: Some(Format::Json),
                list_id: Some(u32::MAX),
                monitor: Some("m".into()),
                name: Some("x:0".into()),
                priority: Some(100_000),
            })
        );
        assert_eq!(
            p("attach  format  json "),
            Ok(Request::Attach(AttachParams {
                format: Some(Format::Json),
                ..Default::default()
            }))
        );
        assert_eq!(
            p("attach descr \"\""),
            Ok(Request::Attach(AttachParams {
                descr: Some(String::new()),
                ..Default::default()
            }))
        );
        let e = |l: &str| p(l).unwrap_err().to_string();
        assert_eq!(e("attach foo"), "command attach param 'foo' failed");
        assert_eq!(
            e("attach cycle_id"),
            "command attach param 'cycle_id' failed"
        );
        assert_eq!(
            e("attach cycle_id 1 cycle_id 2"),
            "command attach param 'cycle_id' failed"
        );
        assert_eq!(e("attach cycle_id x"), "invalid cycle_id");
        assert_eq!(e("attach cycle_id -1"), "invalid cycle_id");
        assert_eq!(e("attach cycle_id 4294967296"), "invalid cycle_id");
        assert_eq!(e("attach list_id +5"), "invalid list_id");
        assert_eq!(e("attach priority 0"), "invalid priority");
        assert_eq!(e("attach priority 100001"), "invalid priority");
        assert_eq!(e("attach format xml"), "format must be warts or json");
        assert_eq!(e("attach descr \"a b"), "could not params_get");
        assert_eq!(e("attach descr \"a b\"x"), "could not params_get");
        assert_eq!(
            e("attach a b c d e f g h i j k l m n o"),
            "could not params_get"
        );
    }

    #[test]
    fn attached_mode() {
        let p = Request::parse_attached;
        assert_eq!(p("done"), Ok(Request::Done));
        assert_eq!(p("DONE"), Ok(Request::Done));
        assert_eq!(p("halt 5"), Ok(Request::Halt(TaskId::new(5).unwrap())));
        assert_eq!(p("halt  01"), Ok(Request::Halt(TaskId::new(1).unwrap())));
        assert_eq!(
            p("HALT 4294967295"),
            Ok(Request::Halt(TaskId::new(u32::MAX).unwrap()))
        );
        let e = |l: &str| p(l).unwrap_err().to_string();
        assert_eq!(e("halt x"), "usage: halt [id]");
        assert_eq!(e("halt 1 2"), "usage: halt [id]");
        assert_eq!(e("halt -1"), "usage: halt [id]");
        assert_eq!(e("halt 0"), "halt number invalid");
        assert_eq!(e("halt 4294967296"), "halt number invalid");
        assert_eq!(e("halt 99999999999999999999999"), "halt number invalid");
        for bad in [
            "done ", " done", "halt", "ping", "pingx 1", "foo 1", "attach", "",
        ] {
            assert_eq!(
                e(bad),
                "command not accepted: could not determine command type",
                "{bad:?}"
            );
        }
        let Ok(Request::Command(c)) = p("PING -c 1 192.0.2.1") else {
            panic!()
        };
        assert_eq!(c.kind(), MeasurementKind::Ping);
        assert_eq!(c.text(), "PING -c 1 192.0.2.1");
        let Ok(Request::Command(c)) = p("tracelb 192.0.2.1") else {
            panic!()
        };
        assert_eq!(c.kind(), MeasurementKind::Tracelb);
    }

    #[test]
    fn encoding_in_libscamperctrl_order() {
        let r = Request::Attach(AttachParams {
            cycle_id: Some(3),
            descr: Some("d".into()),
            list_id: Some(2),
            monitor: Some("m".into()),
            name: Some("n".into()),
            priority: Some(4),
            format: None,
        });
        assert_eq!(
            r.encode().unwrap(),
            b"attach cycle_id 3 descr \"d\" list_id 2 monitor \"m\" name \"n\" priority 4\n"
        );
        assert!(
            Request::Attach(AttachParams {
                descr: Some("a\"b".into()),
                ..Default::default()
            })
            .encode()
            .is_err()
        );
        assert!(
            Request::Set(SetItem::Command(" x".into()))
                .encode()
                .is_err()
        );
        assert!(CommandLine::new("ping\t1").is_err());
        assert!(CommandLine::new("ping").is_err());
        assert!(CommandLine::new("bogus 1").is_err());
    }

    fn text() -> impl Strategy<Value = String> {
        "[!-~]([ -~]{0,20}[!-~])?"
    }
    fn quotable() -> impl Strategy<Value = String> {
        "[ !#-~]{0,20}"
    }

    pub(crate) fn any_request() -> impl Strategy<Value = Request> {
        let attach = (
            proptest::option::of(any::<u32>()),
            proptest::option::of(quotable()),
            proptest::option::of(prop_oneof![Just(Format::Warts), Just(Format::Json)]),
            proptest::option::of(any::<u32>()),
            proptest::option::of(quotable()),
            proptest::option::of(quotable()),
            proptest::option::of(1..=MAX_PRIORITY),
        )
            .prop_map(
                |(cycle_id, descr, format, list_id, monitor, name, priority)| {
                    Request::Attach(AttachParams {
                        cycle_id,
                        descr,
                        format,
                        list_id,
                        monitor,
                        name,
                        priority,
                    })
                },
            );
        let set = prop_oneof![
            text().prop_map(SetItem::Command),
            prop_oneof![Just(String::new()), text()].prop_map(SetItem::MonitorName),
            text().prop_map(SetItem::Nameserver),
            any::<i64>().prop_map(SetItem::Pps),
            any::<i64>().prop_map(SetItem::Window),
        ];
        let word = "[!-~]{1,20}";
        prop_oneof![
            attach,
            proptest::sample::select(GetItem::ALL.to_vec()).prop_map(Request::Get),
            set.prop_map(Request::Set),
            proptest::option::of(text()).prop_map(Request::SourceList),
            proptest::sample::select(ShutdownMode::ALL.to_vec()).prop_map(Request::Shutdown),
            (word, proptest::option::of(any::<bool>()))
                .prop_map(|(server, ssl)| Request::RemoteAdd { server, ssl }),
            word.prop_map(Request::RemoteDelete),
            Just(Request::RemoteList),
            text().prop_map(Request::LssClear),
            Just(Request::Exit),
            Just(Request::Done),
            (1..=u32::MAX).prop_map(|n| Request::Halt(TaskId::new(n).unwrap())),
            (
                proptest::sample::select(MeasurementKind::ALL.to_vec()),
                "[ -~]{0,40}"
            )
                .prop_map(|(k, rest)| Request::Command(
                    CommandLine::new(format!("{} {rest}", k.word())).unwrap()
                )),
        ]
    }

    proptest! {
        #[test]
        fn encode_parse_round_trip(req in any_request()) {
            let bytes = req.encode().unwrap();
            prop_assert_eq!(bytes.last(), Some(&b'\n'));
            let line = std::str::from_utf8(&bytes[..bytes.len() - 1]).unwrap();
            prop_assert!(is_printable(line));
            let back = if req.is_attached_mode() {
                Request::parse_attached(line)
            } else {
                Request::parse_interactive(line)
            };
            prop_assert_eq!(back, Ok(req));
        }

        #[test]
        fn parsers_never_panic(line in "[ -~]{0,80}") {
            let _ = Request::parse_interactive(&line);
            let _ = Request::parse_attached(&line);
        }
    }
}
