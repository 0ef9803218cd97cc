//! Cycle-start and cycle-stop objects (json.md §1.6).

use vantage_model::Cycle;

use super::out::Out;

pub(crate) fn write(o: &mut Out<'_>, c: &Cycle, start: bool) {
    o.s(if start {
        "{\"type\":\"cycle-start\", \"list_name\":"
    } else {
        "{\"type\":\"cycle-stop\", \"list_name\":"
    });
    o.raw_str(&c.list.name);
    o.ku(", \"id\":", c.id);
    if let Some(h) = &c.hostname {
        o.s(", \"hostname\":");
        o.raw_str(h);
    }
    if start {
        o.ku(", \"start_time\":", c.start_time);
    } else {
        o.ku(", \"stop_time\":", c.stop_time.unwrap_or(0));
    }
    o.s("}");
}
