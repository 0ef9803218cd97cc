//! The namespace test matrix (issue #4): the real `vantage controller` and three
//! `vantage probe --remote` processes, each in its own network namespace (separate
//! hosts behind one router), driven through the mux by `vantage_client::MuxClient`:
//!
//! 1. the mux lists all three VPs with their `--vp-meta` metadata and each carries a
//!    ping to a target host (plaintext and TLS with client certificates; the controller
//!    listens on IPv4 and IPv6, the third VP dials it over IPv6); SIGHUP reloads the
//!    metadata and re-announces the VP that changed;
//! 2. a VP's link is cut (TCP resets, or its interface down) and restored while its
//!    tasks run, and more commands are sent meanwhile: every result arrives exactly
//!    once;
//! 3. a probe is killed: its pending tasks fail within the grace period and its
//!    departure is announced, the other VPs carry on; started again, it is a new VP;
//!    a link cut for longer than the grace period ends the VP the same way, and the
//!    probe returns as a new VP;
//! 4. the controller is killed and restarted on the same address and mux path: old
//!    clients see every VP depart and every pending task fail, the probes come back;
//!    stopped cleanly (SIGTERM), it ends every VP and task, exits with success and
//!    removes its mux socket;
//! 5. 3 VPs x 500 pings through one mux client: every result arrives once; two
//!    clients at once each get only their own results, and one leaving with tasks
//!    pending does not disturb the other.
//!
//! Timing figures go to stderr for the lead's notes; assertions are on behaviour only,
//! with generous timeouts. Skips (passes with a note) when not root.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "matrix/support.rs"]
mod support;

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use support::{
    Matrix, Security, VPS, WAIT, assert_exactly_once, can_run, collect, connect, drain_vp_events,
    ping_of, try_wait_all, wait_all,
};
use vantage_client::{ChannelEnd, Outcome, TaskError, VpEvent};

/// Test 1: every VP listed with its metadata and its own address; a ping through each.
fn listed_and_each_pings(security: Security) {
    let m = Matrix::start(security, "60s");
    let t0 = Instant::now();
    let client = connect(&m.mux(), WAIT);
    let vps = wait_all(&client, WAIT);
    eprintln!(
        "matrix[{security:?}]: all 3 VPs listed {} ms after start",
        t0.elapsed().as_millis()
    );
    let ids: HashSet<_> = vps.values().map(|v| v.id).collect();
    assert_eq!(ids.len(), 3, "three distinct VP ids: {vps:?}");
    for (i, (_, name)) in VPS.iter().enumerate() {
        let vp = &vps[*name];
        let (cc, place, asn, tags) = support::META[i];
        assert_eq!(vp.cc.as_deref(), Some(cc), "{name}: {vp:?}");
        assert_eq!(vp.place.as_deref(), Some(place), "{name}: {vp:?}");
        assert_eq!(vp.asn4.as_deref(), Some(asn), "{name}: {vp:?}");
        assert_eq!(vp.tags, tags.to_vec(), "{name}: {vp:?}");
        assert!(vp.arrival.is_some(), "{name}: {vp:?}");
        // Each VP comes from its own host (the last one over IPv6).
        let seen = vp
            .ipv4
            .as_deref()
            .or(vp.ipv6.as_deref())
            .and_then(|a| a.parse::<IpAddr>().ok());
        assert_eq!(seen, Some(m.vp_source(i)), "{name}: {vp:?}");
    }
    let target = m.target();
    for (i, (_, name)) in VPS.iter().enumerate() {
        let chan = client.open(vps[*name].id).unwrap();
        let t = Instant::now();
        chan.send(&format!("ping -c 2 -i 0.2 -W 3 -U {i} {target}"))
            .unwrap();
        let out = chan
            .next_result(Some(WAIT))
            .unwrap_or_else(|| panic!("no result through {name}"));
        let p = ping_of(out);
        eprintln!(
            "matrix[{security:?}]: ping through {name} took {} ms",
            t.elapsed().as_millis()
        );
        assert_eq!(p.dst.to_string(), target.to_string());
        assert_eq!(p.user_id, u32::try_from(i).unwrap());
        assert_eq!(p.replies.len(), 2, "{name}: the target answers: {p:?}");
        chan.done().unwrap();
    }
}

#[test]
fn plaintext_vps_listed_with_metadata_and_each_pings() {
    if can_run() {
        listed_and_each_pings(Security::Plaintext);
    }
}

#[test]
fn tls_vps_listed_with_metadata_and_each_pings() {
    if can_run() {
        listed_and_each_pings(Security::Tls);
    }
}

/// Test 2: links cut and restored while tasks run. vp1's TCP link to the controller is
/// reset in both directions (the probe must resume its session), vp2's interface goes
/// down (the link stalls; routes are put back afterwards), vp3 is untouched.
#[test]
fn link_cut_and_resumed_delivers_every_result_once() {
    if !can_run() {
        return;
    }
    const N: u32 = 24;
    const LATE: u32 = 4;
    let m = Matrix::start(Security::Tls, "60s");
    let client = connect(&m.mux(), WAIT);
    let vps = wait_all(&client, WAIT);
    let target = m.target();
    let mut chans = Vec::new();
    for (_, name) in VPS {
        let chan = client.open(vps[name].id).unwrap();
        // Tasks end one after another over ~15 s, so some end during the cut.
        for k in 0..N {
            chan.submit(&format!("ping -c {} -i 0.5 -W 1 -U {k} {target}", 2 + k))
                .unwrap();
        }
        chans.push(chan);
    }
    // Wait for each VP's first result: tasks are running.
    let mut outcomes: Vec<Vec<Outcome>> = Vec::new();
    for (chan, (_, name)) in chans.iter().zip(VPS) {
        let first = chan
            .next_result(Some(WAIT))
            .unwrap_or_else(|| panic!("{name}: no first result"));
        outcomes.push(vec![first]);
    }

    m.reset_link(0, true);
    let ifname = m
        .topo
        .node("vp2")
        .unwrap()
        .interface_toward("r")
        .unwrap()
        .name
        .clone();
    let gw = m
        .topo
        .node("r")
        .unwrap()
        .interface_toward("vp2")
        .unwrap()
        .v4
        .to_string();
    m.exec_ok("vp2", &["ip", "link", "set", &ifname, "down"]);
    let cut = Instant::now();
    // Commands sent while the links are down are queued and run after they return.
    std::thread::sleep(Duration::from_secs(1));
    for chan in &chans[..2] {
        for k in N..N + LATE {
            chan.submit(&format!("ping -c 2 -i 0.2 -W 1 -U {k} {target}"))
                .unwrap();
        }
    }
    std::thread::sleep(Duration::from_secs(4));
    m.reset_link(0, false);
    m.exec_ok("vp2", &["ip", "link", "set", &ifname, "up"]);
    // Bringing the link down removed its routes; put the default route back.
    m.exec_ok("vp2", &["ip", "route", "replace", "default", "via", &gw]);
    eprintln!(
        "matrix: links of vp1 (TCP reset) and vp2 (interface down) cut for {} ms",
        cut.elapsed().as_millis()
    );

    let all: Vec<u32> = (0..N + LATE).collect();
    let ids = |i: usize| if i < 2 { &all[..] } else { &all[..N as usize] };
    let deadline = Instant::now() + Duration::from_secs(120);
    for (i, chan) in chans.iter().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        let more = collect(chan, ids(i).len() - outcomes[i].len(), left);
        outcomes[i].extend(more);
    }
    eprintln!(
        "matrix: every result back {} ms after the cut began",
        cut.elapsed().as_millis()
    );
    // Nothing more may come (a duplicate would show up here).
    std::thread::sleep(Duration::from_secs(1));
    for (i, chan) in chans.iter().enumerate() {
        while let Some(o) = chan.poll() {
            outcomes[i].push(o);
        }
    }
    for (i, ((_, name), outs)) in VPS.iter().zip(outcomes).enumerate() {
        assert_exactly_once(name, outs, ids(i), target);
    }
    // The links resumed: same VPs, nobody departed, and the controller saw vp1 resume.
    let events = drain_vp_events(&client);
    assert!(
        !events.iter().any(|e| matches!(e, VpEvent::Departed { .. })),
        "no VP may depart: {events:?}"
    );
    let now = wait_all(&client, WAIT);
    for (_, name) in VPS {
        assert_eq!(now[name].id, vps[name].id, "{name} kept its VP id");
    }
    for who in ["controller", "vp1", "vp2"] {
        for l in m.log(who).lines() {
            if l.contains("resumed") || l.contains("lost") || l.contains("reconnect") {
                eprintln!("matrix: {who}: {l}");
            }
        }
    }
    let log = m.log("controller");
    assert!(
        log.contains("VP resumed"),
        "vp1's reset link should have been resumed; controller log:\n{log}"
    );
}

/// Test 3: a probe killed with SIGKILL; the grace period is 2 s.
#[test]
fn killed_probe_fails_its_tasks_and_departs() {
    if !can_run() {
        return;
    }
    const PENDING: u32 = 5;
    let mut m = Matrix::start(Security::Tls, "2s");
    let client = connect(&m.mux(), WAIT);
    let vps = wait_all(&client, WAIT);
    let target = m.target();
    let victim = &vps[VPS[1].1];
    let chan = client.open(victim.id).unwrap();
    let mut tasks = HashSet::new();
    for k in 0..PENDING {
        // 50 s each: still pending when the probe dies.
        let id = chan
            .send(&format!("ping -c 100 -i 0.5 -U {k} {target}"))
            .unwrap();
        tasks.insert(id);
    }
    let other = client.open(vps[VPS[0].1].id).unwrap();
    drain_vp_events(&client);

    m.kill_probe(1);
    let killed = Instant::now();
    let outs = collect(&chan, tasks.len(), WAIT);
    eprintln!(
        "matrix: {} tasks of the killed probe failed {} ms after SIGKILL (grace 2 s)",
        outs.len(),
        killed.elapsed().as_millis()
    );
    assert_eq!(outs.len(), tasks.len(), "every pending task ends: {outs:?}");
    for o in outs {
        match o {
            Outcome::Failed(f) => {
                assert_eq!(f.error, TaskError::Ended(ChannelEnd::VpDeparted), "{f:?}");
                let id = f.task.expect("accepted tasks have ids");
                assert!(tasks.remove(&id), "task {id:?} failed twice or is unknown");
            }
            Outcome::Result(r) => panic!("a dead probe's task has a result: {r:?}"),
        }
    }
    assert_eq!(chan.end_reason(), Some(ChannelEnd::VpDeparted));

    // The departure is announced.
    let deadline = Instant::now() + WAIT;
    loop {
        match client.next_vp_event(Some(deadline.saturating_duration_since(Instant::now()))) {
            Some(VpEvent::Departed {
                id,
                controller_gone,
            }) if id == victim.id => {
                assert!(!controller_gone);
                break;
            }
            Some(_) => {}
            None => panic!("no departure announced for {victim:?}"),
        }
    }
    assert!(
        client.vp(victim.id).is_none(),
        "a departed VP is not listed"
    );
    eprintln!(
        "matrix: departure of the killed probe announced {} ms after SIGKILL",
        killed.elapsed().as_millis()
    );

    // The others carry on.
    for (_, name) in [VPS[0], VPS[2]] {
        assert!(client.vp(vps[name].id).is_some(), "{name} still listed");
    }
    other
        .send(&format!("ping -c 1 -W 5 -U 7 {target}"))
        .unwrap();
    let p = ping_of(other.next_result(Some(WAIT)).expect("vp1 still measures"));
    assert_eq!(p.user_id, 7);
    assert_eq!(p.replies.len(), 1);

    // Started again, the probe is a new VP (a new session, a new id).
    m.restart_probe(1);
    let restarted = Instant::now();
    let back = wait_new_vp(&client, VPS[1].1, victim.id);
    eprintln!(
        "matrix: restarted probe listed again {} ms after its start",
        restarted.elapsed().as_millis()
    );
    assert_eq!(back.cc.as_deref(), Some(support::META[1].0), "{back:?}");
    let chan = client.open(back.id).unwrap();
    chan.send(&format!("ping -c 1 -W 5 -U 8 {target}")).unwrap();
    let p = ping_of(
        chan.next_result(Some(WAIT))
            .expect("the restarted probe measures"),
    );
    assert_eq!(p.user_id, 8);
}

/// Waits for VP `name` to be listed under an id other than `old`.
fn wait_new_vp(
    client: &vantage_client::MuxClient,
    name: &str,
    old: vantage_client::VpId,
) -> vantage_client::VpInfo {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = client
            .vps()
            .into_iter()
            .find(|v| v.name.as_deref() == Some(name) && v.id != old)
        {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{name} not back under a new id; listed: {:?}",
            client.vps()
        );
        let _ = client.next_vp_event(Some(Duration::from_millis(100)));
    }
}

/// A link cut for longer than the grace period (2 s): the VP departs and its tasks
/// fail; when the link returns, the controller refuses to resume the old session and
/// the probe comes back as a new VP.
#[test]
fn link_cut_longer_than_grace_ends_the_vp_and_it_returns_as_new() {
    if !can_run() {
        return;
    }
    let m = Matrix::start(Security::Tls, "2s");
    let client = connect(&m.mux(), WAIT);
    let vps = wait_all(&client, WAIT);
    let target = m.target();
    let old = vps[VPS[0].1].id;
    let chan = client.open(old).unwrap();
    // Ends ~4 s from now, inside the cut: the probe then writes and hears the reset.
    chan.send(&format!("ping -c 6 -i 0.5 -W 1 -U 0 {target}"))
        .unwrap();
    m.reset_link(0, true);
    let cut = Instant::now();
    // The controller forwards this command, hears the reset and starts the grace period.
    chan.submit(&format!("ping -c 1 -U 1 {target}")).unwrap();
    let outs = collect(&chan, 2, WAIT);
    eprintln!(
        "matrix: tasks of the cut-off VP failed {} ms after the cut (grace 2 s)",
        cut.elapsed().as_millis()
    );
    assert_eq!(outs.len(), 2, "both tasks end: {outs:?}");
    for o in outs {
        match o {
            Outcome::Failed(f) => {
                assert_eq!(f.error, TaskError::Ended(ChannelEnd::VpDeparted), "{f:?}");
            }
            Outcome::Result(r) => panic!("a departed VP's task has a result: {r:?}"),
        }
    }
    let deadline = Instant::now() + WAIT;
    loop {
        match client.next_vp_event(Some(deadline.saturating_duration_since(Instant::now()))) {
            Some(VpEvent::Departed { id, .. }) if id == old => break,
            Some(_) => {}
            None => panic!("no departure announced for VP {old:?}"),
        }
    }
    // Keep the link cut until the probe itself has noticed (its first task's result).
    while cut.elapsed() < Duration::from_secs(6) {
        std::thread::sleep(Duration::from_millis(100));
    }
    m.reset_link(0, false);
    let restored = Instant::now();
    let back = wait_new_vp(&client, VPS[0].1, old);
    eprintln!(
        "matrix: cut-off VP back under a new id {} ms after the link returned",
        restored.elapsed().as_millis()
    );
    for l in m.log("vp1").lines() {
        eprintln!("matrix: vp1: {l}");
    }
    let chan = client.open(back.id).unwrap();
    chan.send(&format!("ping -c 1 -W 5 -U 2 {target}")).unwrap();
    let p = ping_of(
        chan.next_result(Some(WAIT))
            .expect("the returned VP measures"),
    );
    assert_eq!(p.user_id, 2);
    // The other VPs never noticed.
    for (_, name) in &VPS[1..] {
        assert_eq!(client.find_vp(name).map(|v| v.id), Some(vps[*name].id));
    }
}

/// The controller stopped cleanly (SIGTERM): clients see every VP depart and every
/// pending task fail, the controller exits with success and removes its mux socket;
/// started again, it gets its probes back.
#[test]
fn cleanly_stopped_controller_ends_every_task_and_vp() {
    if !can_run() {
        return;
    }
    let mut m = Matrix::start(Security::Plaintext, "60s");
    let old = connect(&m.mux(), WAIT);
    let vps = wait_all(&old, WAIT);
    let target = m.target();
    let mut chans = Vec::new();
    for (_, name) in VPS {
        let chan = old.open(vps[name].id).unwrap();
        chan.send(&format!("ping -c 100 -i 0.5 -U 0 {target}"))
            .unwrap();
        chans.push(chan);
    }
    drain_vp_events(&old);
    let stopping = Instant::now();
    let status = m.stop_controller(Duration::from_secs(20));
    eprintln!(
        "matrix: controller stopped cleanly in {} ms",
        stopping.elapsed().as_millis()
    );
    assert!(
        status.success(),
        "the controller exits with success: {status}"
    );
    assert!(!m.mux().exists(), "the mux socket is removed at exit");
    for (chan, (_, name)) in chans.iter().zip(VPS) {
        let outs = collect(chan, 1, WAIT);
        assert_eq!(outs.len(), 1, "{name}: the task ends");
        match &outs[0] {
            Outcome::Failed(f) => assert!(
                matches!(
                    f.error,
                    TaskError::Ended(ChannelEnd::VpDeparted | ChannelEnd::ConnectionLost(_))
                ),
                "{name}: {f:?}"
            ),
            Outcome::Result(r) => panic!("{name}: unexpected result {r:?}"),
        }
    }
    let mut departed = HashSet::new();
    while departed.len() < VPS.len() {
        match old.next_vp_event(Some(WAIT)) {
            Some(VpEvent::Departed { id, .. }) => {
                departed.insert(id);
            }
            Some(_) => {}
            None => panic!("old client saw only {departed:?} depart"),
        }
    }
    let want: HashSet<_> = vps.values().map(|v| v.id).collect();
    assert_eq!(departed, want);
    let deadline = Instant::now() + WAIT;
    while old.is_connected() {
        assert!(
            Instant::now() < deadline,
            "the controller never disconnected us"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    m.start_controller();
    let started = Instant::now();
    let new = connect(&m.mux(), WAIT);
    assert!(
        try_wait_all(&new, Duration::from_secs(60)).is_some(),
        "probes not back 60 s after the restart; listed: {:?}",
        new.vps()
    );
    eprintln!(
        "matrix: probes back {} ms after the cleanly stopped controller started again",
        started.elapsed().as_millis()
    );
}

/// Test 4: the controller killed and restarted on the same address and mux path.
#[test]
fn restarted_controller_gets_its_probes_back() {
    if !can_run() {
        return;
    }
    let mut m = Matrix::start(Security::Tls, "60s");
    let old = connect(&m.mux(), WAIT);
    let vps = wait_all(&old, WAIT);
    let target = m.target();
    let mut chans = Vec::new();
    for (_, name) in VPS {
        let chan = old.open(vps[name].id).unwrap();
        for k in 0..2 {
            chan.send(&format!("ping -c 100 -i 0.5 -U {k} {target}"))
                .unwrap();
        }
        chans.push(chan);
    }
    drain_vp_events(&old);

    m.kill_controller();
    let killed = Instant::now();
    // The old client sees every pending task fail and every VP depart.
    for (chan, (_, name)) in chans.iter().zip(VPS) {
        let outs = collect(chan, 2, WAIT);
        assert_eq!(outs.len(), 2, "{name}: both tasks end: {outs:?}");
        for o in outs {
            match o {
                Outcome::Failed(f) => assert!(
                    matches!(f.error, TaskError::Ended(ChannelEnd::ConnectionLost(_))),
                    "{name}: {f:?}"
                ),
                Outcome::Result(r) => panic!("{name}: unexpected result {r:?}"),
            }
        }
    }
    let mut departed = HashSet::new();
    while departed.len() < VPS.len() {
        match old.next_vp_event(Some(WAIT)) {
            Some(VpEvent::Departed {
                id,
                controller_gone,
            }) => {
                assert!(controller_gone, "departure of {id:?}");
                departed.insert(id);
            }
            Some(_) => {}
            None => panic!("old client saw only {departed:?} depart"),
        }
    }
    let want: HashSet<_> = vps.values().map(|v| v.id).collect();
    assert_eq!(departed, want);
    assert!(!old.is_connected());
    eprintln!(
        "matrix: old client saw 3 departures and 6 failed tasks {} ms after SIGKILL",
        killed.elapsed().as_millis()
    );

    m.start_controller();
    let started = Instant::now();
    let new = connect(&m.mux(), WAIT);
    let back = try_wait_all(&new, Duration::from_secs(60));
    let took = started.elapsed();
    let Some(back) = back else {
        panic!(
            "probes not back 60 s after the restart; listed: {:?}",
            new.vps()
        );
    };
    eprintln!(
        "matrix: probes back {} ms after the controller restarted (target: 5000 ms)",
        took.as_millis()
    );
    for (i, (_, name)) in VPS.iter().enumerate() {
        let chan = new.open(back[*name].id).unwrap();
        chan.send(&format!("ping -c 1 -W 5 -U {i} {target}"))
            .unwrap();
        let p = ping_of(
            chan.next_result(Some(WAIT))
                .unwrap_or_else(|| panic!("no result through {name} after the restart")),
        );
        assert_eq!(p.replies.len(), 1, "{name}: {p:?}");
    }
}

/// Test 5: 3 VPs x 500 pings through one mux client.
#[test]
fn many_commands_every_result_once() {
    if !can_run() {
        return;
    }
    const N: u32 = 500;
    let m = Matrix::start(Security::Tls, "60s");
    let client = connect(&m.mux(), WAIT);
    let vps = wait_all(&client, WAIT);
    let target = m.target();
    let t0 = Instant::now();
    let mut chans = Vec::new();
    for (_, name) in VPS {
        let chan = client.open(vps[name].id).unwrap();
        for k in 0..N {
            chan.submit(&format!("ping -c 1 -W 1 -U {k} {target}"))
                .unwrap();
        }
        chans.push(chan);
    }
    let handles: Vec<_> = chans
        .iter()
        .map(|c| {
            let c = c.clone();
            std::thread::spawn(move || {
                let mut outs = collect(&c, N as usize, Duration::from_secs(300));
                let done = t0.elapsed();
                // A duplicate would come right behind.
                std::thread::sleep(Duration::from_millis(500));
                while let Some(o) = c.poll() {
                    outs.push(o);
                }
                (outs, done)
            })
        })
        .collect();
    let ids: Vec<u32> = (0..N).collect();
    let mut answered = HashMap::new();
    for (h, (_, name)) in handles.into_iter().zip(VPS) {
        let (outs, done) = h.join().unwrap();
        let replies: usize = outs
            .iter()
            .filter_map(|o| match o {
                Outcome::Result(r) => match &r.record {
                    vantage_client::Record::Ping(p) => Some(p.replies.len()),
                    _ => None,
                },
                Outcome::Failed(_) => None,
            })
            .sum();
        answered.insert(name, replies);
        eprintln!(
            "matrix: {name}: {} results in {} ms ({:.0} pings/s), {replies} with a reply",
            outs.len(),
            done.as_millis(),
            outs.len() as f64 / done.as_secs_f64()
        );
        assert_exactly_once(name, outs, &ids, target);
    }
    eprintln!(
        "matrix: 3 x {N} pings through one mux client in {} ms",
        t0.elapsed().as_millis()
    );
}

/// Two mux clients at once, each with a channel to every VP: each gets exactly its
/// own results. Then one closes with tasks pending; the other carries on.
#[test]
fn two_clients_get_only_their_own_results() {
    if !can_run() {
        return;
    }
    const N: u32 = 50;
    let m = Matrix::start(Security::Plaintext, "60s");
    let target = m.target();
    let a = connect(&m.mux(), WAIT);
    let b = connect(&m.mux(), WAIT);
    let vps = wait_all(&a, WAIT);
    wait_all(&b, WAIT);
    // Client a uses user ids 0..N, client b N..2N, on every VP.
    let mut work = Vec::new();
    for (client, base) in [(&a, 0), (&b, N)] {
        for (_, name) in VPS {
            let chan = client.open(vps[name].id).unwrap();
            for k in base..base + N {
                chan.submit(&format!("ping -c 1 -W 1 -U {k} {target}"))
                    .unwrap();
            }
            work.push((chan, base, name));
        }
    }
    for (chan, base, name) in &work {
        let mut outs = collect(chan, N as usize, Duration::from_secs(120));
        std::thread::sleep(Duration::from_millis(300));
        while let Some(o) = chan.poll() {
            outs.push(o);
        }
        let ids: Vec<u32> = (*base..*base + N).collect();
        assert_exactly_once(&format!("{name} (ids from {base})"), outs, &ids, target);
    }

    // Client a leaves with long tasks pending on every VP.
    for (_, name) in VPS {
        let chan = a.open(vps[name].id).unwrap();
        chan.send(&format!("ping -c 100 -i 0.5 -U 999 {target}"))
            .unwrap();
    }
    a.close();
    let mut last = Vec::new();
    for (i, (_, name)) in VPS.iter().enumerate() {
        let chan = b.open(vps[*name].id).unwrap();
        let id = 1000 + u32::try_from(i).unwrap();
        chan.send(&format!("ping -c 1 -W 5 -U {id} {target}"))
            .unwrap();
        last.push((chan, id, name));
    }
    for (chan, id, name) in last {
        let p = ping_of(
            chan.next_result(Some(WAIT))
                .unwrap_or_else(|| panic!("{name}: no result for the remaining client")),
        );
        assert_eq!(p.user_id, id, "{name}: only this client's result");
        assert_eq!(p.replies.len(), 1, "{name}: {p:?}");
    }
    assert!(b.is_connected());
    assert_eq!(b.vps().len(), 3, "{:?}", b.vps());
}

/// SIGHUP makes the controller reload `--vp-meta`: a VP whose metadata changed is
/// announced again (same id, new attributes), to clients connected before and after.
#[test]
fn metadata_reload_reannounces_changed_vps() {
    if !can_run() {
        return;
    }
    let m = Matrix::start(Security::Plaintext, "60s");
    let client = connect(&m.mux(), WAIT);
    let vps = wait_all(&client, WAIT);
    let name = VPS[1].1;
    drain_vp_events(&client);
    // Replace the file atomically, as docs/controller.md asks: vp2 moves country.
    let file = m.dir.path().join("vp-meta.txt");
    let text = std::fs::read_to_string(&file).unwrap();
    let changed = text.replace(&format!("{name} cc de"), &format!("{name} cc at"));
    assert_ne!(text, changed);
    let tmp = m.dir.path().join("vp-meta.txt.new");
    std::fs::write(&tmp, changed).unwrap();
    std::fs::rename(&tmp, &file).unwrap();
    m.hup_controller();
    let updated = match client.next_vp_event(Some(WAIT)) {
        Some(VpEvent::Updated(v)) if v.name.as_deref() == Some(name) => v,
        other => panic!("expected an update of {name} only, got {other:?}"),
    };
    assert_eq!(updated.id, vps[name].id, "an update keeps the VP's id");
    assert_eq!(updated.cc.as_deref(), Some("at"));
    assert_eq!(updated.place.as_deref(), vps[name].place.as_deref());
    assert_eq!(client.vp(updated.id).and_then(|v| v.cc), Some("at".into()));
    let later = connect(&m.mux(), WAIT);
    let listed = wait_all(&later, WAIT);
    assert_eq!(listed[name].cc.as_deref(), Some("at"));
    assert_eq!(listed[VPS[0].1].cc.as_deref(), Some(support::META[0].0));
    // Nothing else was re-announced.
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        drain_vp_events(&client).is_empty(),
        "one update only for one changed VP"
    );
}
