//! Time zone and time formatting for the file tools.

use std::sync::Arc;

use jiff::tz::TimeZone;
use vantage_warts::json::UtcOffsetFn;

/// The process's local time zone (`TZ`, else `/etc/localtime`) as a UTC
/// offset function, as scamper uses `localtime()` for `ftime` strings.
pub fn local_offset() -> Arc<UtcOffsetFn> {
    let tz = TimeZone::try_system().unwrap_or(TimeZone::UTC);
    Arc::new(move |secs| {
        jiff::Timestamp::from_second(secs).map_or(0, |t| tz.to_offset(t).seconds())
    })
}

/// `YYYY-MM-DD HH:MM:SS.uuuuuu UTC` for seconds and microseconds since the
/// epoch.
pub fn utc(sec: u32, usec: u32) -> String {
    match jiff::Timestamp::from_second(i64::from(sec)) {
        Ok(t) => format!(
            "{} UTC",
            t.strftime(&format!("%Y-%m-%d %H:%M:%S.{usec:06}"))
        ),
        Err(_) => format!("{sec}.{usec:06}"),
    }
}
